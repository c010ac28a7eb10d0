// Type-7 quantile of each resample. The iid, stratified, cluster, Poisson and Bayesian schemes
// count each unit's weight once per replicate and then locate the ranks (the counting path,
// phases 10-13 below). The block schemes search by bisection over the ranks of the sorted data:
// one workgroup per replicate; every pass regenerates the replicate's draws (counter-based, so no
// index array is stored) and counts the resampled rows whose rank is <= mid. The search runs as a sequence of
// dispatches, one pass each (see `quantile` below), its state kept in `out`. Integer weights
// (index schemes, Poisson) are counted exactly in u32, saturating at 2^32 - 1 (resamples of 2^31
// rows or more are not searched, and the host refuses them); Bayesian weights are summed in f32.
// Output per replicate (STATE words): [rank1, rank2, bits(h), m, search state...], rank1 =
// 0xffffffff when the resample is empty (or too large); m is the resample size as a u32 for
// integer weights and the f32 bits of the normalised total weight for Bayesian ones.

var<workgroup> red: array<u32, 256>;

const BIG: u32 = 0x80000000u;

fn sat_add(a: u32, b: u32) -> u32 {
    let s = a + b;
    return select(s, 0xffffffffu, s < a);
}

fn count_le(unit: u32, mid: u32) -> u32 {
    var lo = seg[unit];
    var hi = seg[unit + 1u];
    let start = lo;
    while (lo < hi) {
        let m = (lo + hi) / 2u;
        if (ranks[m] <= mid) { lo = m + 1u; } else { hi = m; }
    }
    return lo - start;
}

// Number of chunks (workgroups of WG runs of RUN positions) of a replicate's draws.
fn chunks() -> u32 {
    let c = WG * RUN;
    return P.draws / c + select(0u, 1u, P.draws % c != 0u);
}

// Rows with rank <= mid drawn in one chunk of positions (one workgroup: each thread one run of
// RUN positions, then a tree), as a u32 for integer weights (saturating; the host keeps
// weight × unit size below 2^31, so one product never wraps) or as f32 bits for Bayesian ones.
fn chunk_weight_le(rep: u32, lid: u32, chunk: u32, mid: u32) -> u32 {
    let t0 = (chunk * WG + lid) * RUN;
    var c = 0u;
    var cf = 0.0;
    if (t0 < P.draws) {
        var g = gen_begin(rep, t0);
        // t0 + RUN may wrap when draws is within RUN of 2^32
        let t1 = t0 + min(RUN, P.draws - t0);
        for (var t = t0; t < t1; t = t + 1u) {
            let d = gen_next(&g);
            if (P.scheme != 5u) {
                if (d.wbits != 0u) {
                    c = sat_add(c, d.wbits * count_le(d.unit, mid));
                }
            } else if (d.weight != 0.0) {
                cf = cf + d.weight * f32(count_le(d.unit, mid));
            }
        }
    }
    return reduce(lid, select(bitcast<u32>(cf), c, P.scheme != 5u));
}

// Workgroup sum of one word per thread: saturating u32 for integer weights, f32 (bits) for
// Bayesian ones. Every thread gets the sum.
fn reduce(lid: u32, v: u32) -> u32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) {
            if (P.scheme != 5u) {
                red[lid] = sat_add(red[lid], red[lid + s]);
            } else {
                red[lid] = bitcast<u32>(bitcast<f32>(red[lid]) + bitcast<f32>(red[lid + s]));
            }
        }
        workgroupBarrier();
    }
    let total = workgroupUniformLoad(&red[0]);
    workgroupBarrier();
    return total;
}

// x rounded to 24 significant bits, ties to even: the value of the host's `x as f32`, as an
// integer (x < 2^31, so the rounding never wraps).
fn round24(x: u32) -> u32 {
    let bits = 32u - countLeadingZeros(x);
    if (bits <= 24u) { return x; }
    let s = bits - 24u;
    let low = x & ((1u << s) - 1u);
    let half = 1u << (s - 1u);
    var hi = x >> s;
    if (low > half || (low == half && (hi & 1u) == 1u)) { hi = hi + 1u; }
    return hi << s;
}

// f32 of an integer that has at most 24 significant bits (exact: no rounding mode involved).
fn exact_f32(x: u32) -> f32 {
    let bits = 32u - countLeadingZeros(x);
    if (bits <= 24u) { return f32(x); }
    let s = bits - 24u;
    return f32(x >> s) * f32(1u << s);
}

// Per-replicate state in `out` (STATE words, replicate r of the batch at r * STATE):
// [r1, r2, bits(h), m, lo, hi, goal1, goal2, bits(scale), searching]. Goals are u32 for integer
// weights, f32 bits for Bayesian ones. The chunk partials of the last count follow the states of
// the batch, from out_base: replicate r's chunk c at out_base + r * chunks() + c.
const STATE: u32 = 10u;
var<workgroup> st: array<u32, 10>;

// The sum of replicate r's chunk partials (chunks in a fixed order: deterministic).
fn partials(lid: u32, r: u32) -> u32 {
    let n = chunks();
    let first = P.out_base + r * n;
    var c = 0u;
    var cf = 0.0;
    for (var i = lid; i < n; i = i + WG) {
        let w = out[first + i];
        c = sat_add(c, w);
        cf = cf + bitcast<f32>(w);
    }
    return reduce(lid, select(bitcast<u32>(cf), c, P.scheme != 5u));
}

// From the total weight: the resample size m, h = (m - 1) q, the goals k1 = floor(h) + 1 and
// k2 (k1 + 1 when that is at most m), and the first search interval [0, n_ranks - 1].
fn init(lid: u32, base: u32, total: u32) {
    var h = 0.0;
    var m_word = 0u;
    var k1 = 0u;
    var k2 = 0u;
    var scale = 1.0;
    var searching = 0u;
    if (P.scheme != 5u) {
        // integer weights: m exactly; h = (f32(m) - 1) q as the host computes it, with both
        // roundings to f32 done in integers
        let m = total;
        m_word = m;
        if (m != 0u && m < BIG) {
            h = exact_f32(round24(round24(m) - 1u)) * P.q;
            k1 = u32(h) + 1u;
            k2 = select(k1, k1 + 1u, k1 + 1u <= m);
            searching = 1u;
        }
    } else {
        let tf = bitcast<f32>(total);
        var m = tf;
        if (P.normalize != 0u && tf > 0.0) {
            // normalised weights sum to n_ranks by construction; total * scale would carry f32
            // rounding (e.g. 199.99998), and through h = (m - 1) q a different interpolation
            // weight from the CPU's
            scale = f32(P.n_ranks) / tf;
            m = f32(P.n_ranks);
        }
        if (m >= 0.5) {
            h = (m - 1.0) * P.q;
            let g1 = floor(h) + 1.0;
            k1 = bitcast<u32>(g1);
            k2 = bitcast<u32>(select(g1, g1 + 1.0, g1 + 1.0 <= m));
            m_word = bitcast<u32>(m);
            searching = 1u;
        }
    }
    if (lid == 0u) {
        out[base] = 0xffffffffu;
        out[base + 1u] = 0xffffffffu;
        out[base + 2u] = bitcast<u32>(h);
        out[base + 3u] = m_word;
        out[base + 4u] = 0u;
        out[base + 5u] = select(0u, P.n_ranks - 1u, searching != 0u);
        out[base + 6u] = k1;
        out[base + 7u] = k2;
        out[base + 8u] = bitcast<u32>(scale);
        out[base + 9u] = searching;
    }
}

// ---- Counting path (schemes 0, 4, 5: iid/stratified/cluster, Poisson, Bayesian) ----
// One weight per unit and replicate is counted once (phase 10), then the ranks are summed in
// chunks (11), the goals set (12) and both ranks located by walking the chunk, run and rank
// sums (13): four dispatches in place of the bisection's 4⌈log₂ n⌉ + 3 (the bisection below
// stays for the block schemes, whose draws are not block-local). Layout of `out` after the
// states: rank-chunk partials from out_base (replicate r's chunk c at out_base + r ·
// rank_chunks() + c), then the weights (replicate r's unit u at wbase + r · units + u, wbase =
// out_base + replicates · rank_chunks()).

const QBLOCK: u32 = 4096u;   // units per block: rng::IID_BLOCK
// 16-bit counters, two per word (8 KB): a block's total is at most 65 535 (the host checks)
var<workgroup> cnt: array<atomic<u32>, 2048>;

fn rank_chunks() -> u32 {
    let c = WG * RUN;
    return P.n_ranks / c + select(0u, 1u, P.n_ranks % c != 0u);
}

// Phase 10, workgroup (x, replicate r): scheme 0 counts the draws of iid block x in workgroup
// memory (they all land in the block) and writes the block's counts; weight schemes write the
// weights of units [x · QBLOCK, (x + 1) · QBLOCK).
fn fill_weights(r: u32, rep: u32, lid: u32, x: u32, wbase: u32) {
    let w0 = wbase + r * P.units;
    if (P.scheme == 0u) {
        let u0 = strata[x];
        let size = strata[x + 1u] - u0;
        for (var i = lid; i < QBLOCK / 2u; i = i + WG) { atomicStore(&cnt[i], 0u); }
        workgroupBarrier();
        let p0 = block_pos(rep, x);
        let m = block_pos(rep, x + 1u) - p0;
        let per = (m + WG - 1u) / WG;
        let a = min(m, lid * per);
        let b = min(m, a + per);
        if (a < b) {
            var g = gen_begin(rep, p0 + a);
            for (var t = a; t < b; t = t + 1u) {
                let i = gen_next(&g).unit - u0;
                atomicAdd(&cnt[i >> 1u], 1u << (16u * (i & 1u)));
            }
        }
        workgroupBarrier();
        for (var i = lid; i < size; i = i + WG) {
            out[w0 + u0 + i] = (atomicLoad(&cnt[i >> 1u]) >> (16u * (i & 1u))) & 0xffffu;
        }
    } else {
        let a = x * QBLOCK + lid * (QBLOCK / WG);
        let b = min(P.units, a + QBLOCK / WG);
        if (a < b) {
            var g = gen_begin(rep, a);
            for (var t = a; t < b; t = t + 1u) {
                out[w0 + t] = gen_next(&g).wbits;
            }
        }
    }
}

// Weight of rank k: its unit's (`ranks` holds the rank -> unit map on this path).
fn rank_weight(w0: u32, k: u32) -> u32 {
    return out[w0 + ranks[k]];
}

// Sum of the weights of ranks [a, b) (one thread: b - a <= RUN), saturating / f32 bits.
fn run_sum(w0: u32, a: u32, b: u32) -> u32 {
    var c = 0u;
    var cf = 0.0;
    for (var k = a; k < b; k = k + 1u) {
        let w = rank_weight(w0, k);
        c = sat_add(c, w);
        cf = cf + bitcast<f32>(w);
    }
    return select(bitcast<u32>(cf), c, P.scheme != 5u);
}

fn add_w(a: u32, b: u32) -> u32 {
    if (P.scheme != 5u) { return sat_add(a, b); }
    return bitcast<u32>(bitcast<f32>(a) + bitcast<f32>(b));
}

fn reached(cum: u32, goal: u32, scale: f32) -> bool {
    if (P.scheme != 5u) { return cum >= goal; }
    return bitcast<f32>(cum) * scale >= bitcast<f32>(goal);
}

var<workgroup> runs: array<u32, 256>;

// The first rank whose cumulative weight reaches `goal` (the last rank if none does), by chunk
// partials, then the chunk's run sums, then the run's ranks; every thread gets it.
fn locate(lid: u32, r: u32, w0: u32, goal: u32, scale: f32) -> u32 {
    let nc = rank_chunks();
    let pbase = P.out_base + r * nc;
    if (lid == 0u) {
        var cum = 0u;
        var c = 0u;
        while (c + 1u < nc && !reached(add_w(cum, out[pbase + c]), goal, scale)) {
            cum = add_w(cum, out[pbase + c]);
            c = c + 1u;
        }
        st[0] = c;
        st[1] = cum;
    }
    let c = workgroupUniformLoad(&st[0]);
    let a = min(P.n_ranks, (c * WG + lid) * RUN);
    runs[lid] = run_sum(w0, a, min(P.n_ranks, a + RUN));
    workgroupBarrier();
    if (lid == 0u) {
        var cum = st[1];
        var k = c * WG * RUN;
        var i = 0u;
        while (i + 1u < WG && !reached(add_w(cum, runs[i]), goal, scale)) {
            cum = add_w(cum, runs[i]);
            i = i + 1u;
        }
        k = k + i * RUN;
        let end = min(P.n_ranks, k + RUN);
        var found = P.n_ranks - 1u;
        while (k < end) {
            cum = add_w(cum, rank_weight(w0, k));
            if (reached(cum, goal, scale)) { found = k; break; }
            k = k + 1u;
        }
        st[2] = found;
    }
    return workgroupUniformLoad(&st[2]);
}

fn counting_phase(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) {
    let r = wid.y;
    let rep = P.rep_offset + r;
    let base = r * STATE;
    let wbase = P.out_base + nwg.y * rank_chunks();
    let w0 = wbase + r * P.units;
    switch P.phase {
        case 10u: {
            fill_weights(r, rep, lid, P.chunk_offset + wid.x, wbase);
        }
        case 11u: {
            let c = P.chunk_offset + wid.x;
            let a = min(P.n_ranks, (c * WG + lid) * RUN);
            let t = reduce(lid, run_sum(w0, a, min(P.n_ranks, a + RUN)));
            if (lid == 0u) { out[P.out_base + r * rank_chunks() + c] = t; }
        }
        case 12u: {
            let nc = rank_chunks();
            var c = 0u;
            var cf = 0.0;
            for (var i = lid; i < nc; i = i + WG) {
                let w = out[P.out_base + r * nc + i];
                c = sat_add(c, w);
                cf = cf + bitcast<f32>(w);
            }
            init(lid, base, reduce(lid, select(bitcast<u32>(cf), c, P.scheme != 5u)));
        }
        default: {
            // 13: both ranks
            if (lid == 0u) {
                for (var i = 0u; i < STATE; i = i + 1u) { st[i] = out[base + i]; }
            }
            let searching = workgroupUniformLoad(&st[9]);
            if (searching == 0u) { return; }
            let g1 = workgroupUniformLoad(&st[6]);
            let g2 = workgroupUniformLoad(&st[7]);
            let scale = bitcast<f32>(workgroupUniformLoad(&st[8]));
            let r1 = locate(lid, r, w0, g1, scale);
            let r2 = locate(lid, r, w0, g2, scale);
            if (lid == 0u) {
                out[base] = r1;
                out[base + 1u] = r2;
            }
        }
    }
}

// The host dispatches the phases in order, in one submit; no dispatch runs long (lavapipe stops
// a shader invocation after 65 535 loop iterations). Workgroup y is the replicate of the batch.
// Count phases run one workgroup per chunk of draws (x = chunk_offset + chunk) and write chunk
// partials; the other phases one workgroup per replicate:
// 0 = count all rows; 1 = init from their total; 2 = count ranks <= mid (mid = (lo + hi) / 2,
// while searching and lo < hi); 3 = bisection step towards r1 (smallest rank whose cumulative
// weight reaches goal1; the last rank if none does); 4 = r1 = lo, then search [r1, last] for r2
// (or r2 = r1 when goal2 = goal1); 5 = step towards r2; 6 = r2 = lo.
@compute @workgroup_size(256)
fn quantile(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    let lid = lid3.x;
    if (P.phase >= 10u) {
        counting_phase(wid, nwg, lid);
        return;
    }
    let r = wid.y;
    let rep = P.rep_offset + r;
    let base = r * STATE;
    if (P.phase == 0u) {
        let chunk = P.chunk_offset + wid.x;
        let w = chunk_weight_le(rep, lid, chunk, P.n_ranks - 1u);
        if (lid == 0u) { out[P.out_base + r * chunks() + chunk] = w; }
        return;
    }
    if (P.phase == 1u) {
        init(lid, base, partials(lid, r));
        return;
    }
    if (lid == 0u) {
        for (var i = 0u; i < STATE; i = i + 1u) { st[i] = out[base + i]; }
    }
    let lo = workgroupUniformLoad(&st[4]);
    let hi = workgroupUniformLoad(&st[5]);
    let searching = workgroupUniformLoad(&st[9]);
    if (searching == 0u) {
        return;
    }
    let mid = (lo + hi) / 2u;
    switch P.phase {
        case 2u: {
            if (lo < hi) {
                let chunk = P.chunk_offset + wid.x;
                let w = chunk_weight_le(rep, lid, chunk, mid);
                if (lid == 0u) { out[P.out_base + r * chunks() + chunk] = w; }
            }
        }
        case 3u, 5u: {
            if (lo < hi) {
                let goal = workgroupUniformLoad(&st[select(7u, 6u, P.phase == 3u)]);
                let total = partials(lid, r);
                var reached: bool;
                if (P.scheme != 5u) {
                    reached = total >= goal;
                } else {
                    let scale = bitcast<f32>(workgroupUniformLoad(&st[8]));
                    reached = bitcast<f32>(total) * scale >= bitcast<f32>(goal);
                }
                if (lid == 0u) {
                    if (reached) { out[base + 5u] = mid; } else { out[base + 4u] = mid + 1u; }
                }
            }
        }
        case 4u: {
            if (lid == 0u) {
                out[base] = lo;
                out[base + 5u] = select(P.n_ranks - 1u, lo, st[6] == st[7]);
            }
        }
        default: {
            if (lid == 0u) { out[base + 1u] = lo; }
        }
    }
}
