// Shared resampling generator: which unit (row or cluster) position t of replicate `rep` draws, and
// with what weight. Bit-identical to backend/cpu.rs `Gen` for every integer draw. Prepended with
// philox.wgsl; kernels (sums.wgsl, quantile.wgsl, draws.wgsl) are appended.

struct Params {
    units: u32,          // resampling units (rows, or clusters)
    draws: u32,          // positions per replicate (index schemes) or units (weight schemes)
    k: u32,              // features per unit (sums kernel)
    scheme: u32,         // 0 strata/iid, 1 moving block, 2 circular block, 3 stationary, 4 poisson, 5 bayesian
    block_len: u32,
    coin_thr: u32,       // stationary: a new block starts at t when word.z < coin_thr
    key0: u32,
    key1: u32,
    tag: u32,
    rep_offset: u32,     // first replicate of this dispatch
    n_strata: u32,
    page_units: u32,     // units per feature page
    n_ranks: u32,        // quantile: number of sorted values
    normalize: u32,      // quantile: scale weights to sum to n_ranks (Bayesian)
    q: f32,              // quantile probability
    implicit_count: u32, // sums: append the total weight as sum k
    unit_lo: u32,        // sums: this pass adds only draws of units in [unit_lo, unit_hi);
    unit_hi: u32,        //   f0..f3 hold the features of those units, from unit_lo on
    chunk_offset: u32,   // sums, draws: chunk of workgroup x = 0 (dispatches split in x)
    out_base: u32,       // sums: first output word of this dispatch
    phase: u32,          // quantile: which step of the rank search this dispatch runs
    strata_rep0: u32,    // scheme 0: first replicate whose block starts `strata` holds, or
                         //   0xffffffff when every block is a whole stratum (positions = units)
}

@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> f0: array<f32>;
@group(0) @binding(2) var<storage, read> f1: array<f32>;
@group(0) @binding(3) var<storage, read> f2: array<f32>;
@group(0) @binding(4) var<storage, read> f3: array<f32>;
// scheme 0 (the iid contract of rng.rs): n_strata blocks; strata[0..=n_strata] are their unit
// starts (then the end), followed, unless strata_rep0 = 0xffffffff, by n_strata + 1 position
// starts per replicate from strata_rep0 on (the block totals, drawn on the host)
@group(0) @binding(5) var<storage, read> strata: array<u32>;
@group(0) @binding(6) var<storage, read> seg: array<u32>;      // units + 1 offsets into ranks
@group(0) @binding(7) var<storage, read> ranks: array<u32>;    // per unit, its rows' ranks, ascending
@group(0) @binding(8) var<storage, read_write> out: array<u32>;

const WG: u32 = 256u;
const RUN: u32 = 64u;    // consecutive positions handled by one thread

fn feat(unit: u32, j: u32) -> f32 {
    let u = unit - P.unit_lo;
    let page = u / P.page_units;
    let off = (u - page * P.page_units) * P.k + j;
    switch page {
        case 0u: { return f0[off]; }
        case 1u: { return f1[off]; }
        case 2u: { return f2[off]; }
        default: { return f3[off]; }
    }
}

fn draw_block(rep: u32, block: u32) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(block, rep, P.tag, 0u), vec2<u32>(P.key0, P.key1));
}

// The block with counter (c, rep, tag, word3).
fn words_block(rep: u32, c: u32, word3: u32) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(c, rep, P.tag, word3), vec2<u32>(P.key0, P.key1));
}

// Rejection fallback of position t (counter word 3 = 1), as rng::Stream::fallback_block.
fn fallback_block(rep: u32, t: u32) -> vec4<u32> {
    return philox4x32_10(vec4<u32>(t, rep, P.tag, 1u), vec2<u32>(P.key0, P.key1));
}

struct Gen {
    rep: u32,
    t: u32,
    fresh: bool,
    words: vec4<u32>,
    wkey: vec2<u32>,   // scheme 0: the counter (x) and word 3 (y) of words
    cur: u32,
    stratum: u32,
    s0: u32,
    size: u32,
    thr: u32,     // Lemire rejection threshold 2^32 mod size
}

// First position of iid block s in replicate rep (s = n_strata: the draws).
fn block_pos(rep: u32, s: u32) -> u32 {
    if (P.strata_rep0 == 0xffffffffu) { return strata[s]; }
    return strata[(P.n_strata + 1u) * (1u + rep - P.strata_rep0) + s];
}

fn enter_stratum(g: ptr<function, Gen>, s: u32) {
    (*g).stratum = s;
    (*g).s0 = strata[s];
    (*g).size = strata[s + 1u] - strata[s];
    (*g).thr = (0u - (*g).size) % (*g).size;
}

fn gen_begin(rep: u32, t0: u32) -> Gen {
    var g: Gen;
    g.rep = rep;
    g.t = t0;
    g.fresh = true;
    g.words = vec4<u32>(0u);
    g.wkey = vec2<u32>(0xffffffffu);
    g.cur = 0u;
    g.stratum = 0u;
    g.s0 = 0u;
    g.size = 1u;
    g.thr = 0u;
    return g;
}

struct Draw {
    unit: u32,
    weight: f32,
    wbits: u32,   // integer weight (index schemes: 1, poisson: count) or f32 bits (bayesian)
}

fn gen_next(g: ptr<function, Gen>) -> Draw {
    let t = (*g).t;
    let fresh = (*g).fresh;
    (*g).fresh = false;
    (*g).t = t + 1u;
    var d: Draw;
    d.weight = 1.0;
    d.wbits = 1u;
    switch P.scheme {
        case 0u: {
            if (fresh) {
                // binary search: last block s that starts at or before t
                var lo = 0u;
                var hi = P.n_strata - 1u;
                while (lo < hi) {
                    let mid = (lo + hi + 1u) / 2u;
                    if (block_pos((*g).rep, mid) <= t) { lo = mid; } else { hi = mid - 1u; }
                }
                enter_stratum(g, lo);
            }
            while (t >= block_pos((*g).rep, (*g).stratum + 1u)) {
                enter_stratum(g, (*g).stratum + 1u);
            }
            // the iid contract of rng.rs: a full block (IID_BLOCK = 4096 units) draws 12-bit
            // fields of counter (t / 8, rep, tag, 3), eight positions per block; a shorter block
            // draws by Lemire from word t % 4 of counter (t / 4, rep, tag, 0)
            let full = (*g).size == 4096u;
            var key = vec2<u32>(t >> 2u, 0u);
            if (full) { key = vec2<u32>(t >> 3u, 3u); }
            if (fresh || any(key != (*g).wkey)) {
                (*g).words = words_block((*g).rep, key.x, key.y);
                (*g).wkey = key;
            }
            var idx = 0u;
            if (full) {
                // rng::full_block_index: top 12 bits of half t % 2 of word (t / 2) % 4
                idx = ((*g).words[(t >> 1u) & 3u] >> (((t & 1u) << 4u) + 4u)) & 0xfffu;
            } else {
                // Lemire: floor(w * size / 2^32), rejected when the low word is below thr
                let w = (*g).words[t & 3u];
                let lo_word = w * (*g).size;
                idx = mulhi32(w, (*g).size);
                if (lo_word < (*g).thr) {
                    let f = fallback_block((*g).rep, t);
                    idx = uniform_index(f.x, f.y, (*g).size);
                }
            }
            d.unit = (*g).s0 + idx;
        }
        case 1u, 2u: {
            let off = t % P.block_len;
            if (fresh || off == 0u) {
                let w = draw_block((*g).rep, t / P.block_len);
                if (P.scheme == 1u) {
                    (*g).cur = uniform_index(w.x, w.y, P.units - P.block_len + 1u) + off;
                } else {
                    (*g).cur = (uniform_index(w.x, w.y, P.units) + off) % P.units;
                }
            } else {
                (*g).cur = (*g).cur + 1u;
                if ((*g).cur == P.units) { (*g).cur = 0u; }
            }
            d.unit = (*g).cur;
        }
        case 3u: {
            if (fresh) {
                var s = t;
                var w = draw_block((*g).rep, s);
                while (s > 0u && w.z >= P.coin_thr) {
                    s = s - 1u;
                    w = draw_block((*g).rep, s);
                }
                (*g).cur = (uniform_index(w.x, w.y, P.units) + (t - s) % P.units) % P.units;
            } else {
                let w = draw_block((*g).rep, t);
                if (w.z < P.coin_thr) {
                    (*g).cur = uniform_index(w.x, w.y, P.units);
                } else {
                    (*g).cur = (*g).cur + 1u;
                    if ((*g).cur == P.units) { (*g).cur = 0u; }
                }
            }
            d.unit = (*g).cur;
        }
        default: {
            if (fresh || (t & 3u) == 0u) {
                (*g).words = draw_block((*g).rep, t >> 2u);
            }
            let word = (*g).words[t & 3u];
            d.unit = t;
            if (P.scheme == 4u) {
                let c = poisson1(word);
                d.wbits = c;
                d.weight = f32(c);
            } else {
                let e = -ln_unit(word);
                d.weight = e;
                d.wbits = bitcast<u32>(e);
            }
        }
    }
    return d;
}
