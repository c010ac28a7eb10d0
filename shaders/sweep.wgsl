// Intervention sweeps and joint samples of a structural causal model (src/scm/program.rs builds
// the program). Prepended with philox.wgsl. One thread per sample: the nodes are evaluated in
// topological order with the noise contract of src/scm/mod.rs (sample i of setting s reads
// Philox blocks s' * nb + k of replicate i, s' = 0 under common random numbers: a pair p of normal
// nodes shares one Box-Muller transform of words 2 (p mod 2), 2 (p mod 2) + 1 of block k = p / 2;
// any other pair reads block k = ceil(n_nodes / 4) + p, where node j owns words 2 (j mod 2) and
// 2 (j mod 2) + 1).
//
// Node values live in value slots (the program maps each needed node to one; a slot is reused
// once the last node that reads its value has read it). As written here the slots are a private
// array of MAXN; the `sweep-wide` variant (src/scm/gpu.rs rewrites every access to that
// array into one to the storage buffer `scratch`, P.slots words per thread from `vbase`) serves
// programs that need more slots.
//
// A submit holds many dispatches (tiles of settings x workgroups of samples): each writes `out`
// from P.out_base and reads its settings' plans from `plan` row P.plan_row. A workgroup
// evaluates P.tile settings (dispatch rows wg.y P.tile ..) over its 256 samples, one after the
// other.
//
// Common random numbers (P.crn; the host then binds a shared program, src/scm/program.rs): every
// setting reads setting 0's noise, so each thread draws its sample's noise once (`shared_pass`:
// the noise terms of the nodes that vary between settings go to noise slots, the needed nodes
// that vary in no setting are evaluated once) and then evaluates only the varying nodes per
// setting of its tile (`varying_pass`), with the same arithmetic per node as `eval_sample`. With
// own noise per setting each (sample, setting) draws its own (`eval_sample`; the host sets
// P.tile = 1).
//
// `sweep` reduces the outcome of each workgroup of 256 samples to (count of finite values,
// sum and sum of squares of y - pivot) by a tree in workgroup memory; the host sums the partials
// of a setting in f64. `sweep_values` writes every outcome sample (for quantiles). Under `contrast`
// (average causal effects) each thread evaluates both plans of a pair and reduces the difference.
// `sample_rows` writes every node of samples first .. first + rows (plan row 0, setting 0's
// noise) column-major: node j of sample first + i at j * rows + i.

struct SweepParams {
    n_nodes: u32,
    outcome: u32,         // the outcome's value slot
    samples: u32,
    nb: u32,              // Philox blocks per setting: ceil(n_nodes / 4) + ceil(n_nodes / 2)
    key0: u32,
    key1: u32,
    tag: u32,
    crn: u32,             // common random numbers: every setting reads setting 0's noise
    setting_offset: u32,  // global index of row 0 of this dispatch
    group_offset: u32,    // first workgroup of samples of this dispatch
    plan_words: u32,      // words per setting in `plan`: 1 + 3 n_nodes
    contrast: u32,        // rows are pairs of plans (2r, 2r + 1): outcome = y(2r) - y(2r + 1)
    slots: u32,           // value slots per thread (the stride of `scratch`)
    first: u32,           // sample_rows: the first sample of the dispatch
    rows: u32,            // sample_rows: samples of the dispatch (the column stride of `out`)
    tile: u32,            // sweep, sweep_values: settings (dispatch rows) per workgroup
    out_base: u32,        // sweep, sweep_values: this dispatch's first word of `out`
    plan_row: u32,        // sweep, sweep_values: the `plan` row (pair under `contrast`) of row 0
    settings: u32,        // sweep, sweep_values: dispatch rows (workgroups: ceil(settings / tile))
    pad2: u32,
}

@group(0) @binding(0) var<uniform> P: SweepParams;
// per node (NODE_WORDS words from 9 j, read through `node`): flags, p0, p1, intercept, coef offset,
// coef count, term offset, term count, value slot (flags: bit 0 logistic, 1 needed, 2-3 noise
// law, 4 shared Box-Muller pair; in shared programs bit 5 varies between settings, bit 6 noisy,
// bits 8.. the noise slot). A uniform buffer (64 KiB: models of up to 1820
// nodes), which every thread reads at the same address; the `-large` variants
// (src/scm/gpu.rs) make it a storage buffer for larger models.
@group(0) @binding(1) var<uniform> nodes: array<vec4<u32>, 4096>;
// coefficients (parent, weight); terms (fn, weight, inner scale, inner shift, parent | offset, count)
@group(0) @binding(2) var<storage, read> prog: array<u32>;
// per setting of the dispatch: pivot, then per node (atomic?, value, shift)
@group(0) @binding(3) var<storage, read> plan: array<u32>;
// value slots of the `sweep-wide` variant (P.slots per thread of the dispatch)
@group(0) @binding(4) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;
const MAXN: u32 = 256u;
const NODE_WORDS: u32 = 9u;
const NO_ROW: u32 = 0xffffffffu;
const PI: f32 = 3.14159265358979;
const TWO_PI: f32 = 6.28318530717959;

var<workgroup> red_n: array<f32, 256>;
var<workgroup> red_s1: array<f32, 256>;
var<workgroup> red_s2: array<f32, 256>;
// this thread's first word of `scratch` (the `sweep-wide` variant)
var<private> vbase: u32;
// this thread's value slots (and, in shared programs, noise slots)
var<private> vals: array<f32, MAXN>;

// Word i of the node records.
fn node(i: u32) -> u32 {
    return nodes[i >> 2u][i & 3u];
}

fn fbits(w: u32) -> f32 {
    return bitcast<f32>(w);
}

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

// x reduced to [-pi, pi], where WGSL bounds the error of sin and cos.
fn reduce_angle(x: f32) -> f32 {
    return x - TWO_PI * round(x / TWO_PI);
}

// The noise transforms below never round a uniform above 1/2: they work from the exact
// half-integer offsets (ln_unit, centred_unit in philox.wgsl), so they read the same numbers as
// the CPU's f64.

// A Laplace(0, b) draw from word w: -b sign(u - 1/2) ln(1 - 2 |u - 1/2|), where
// 1 - 2 |u - 1/2| = (j + 1/2) 2^-23 with j = 2^23 - 1 - (k - 2^23) above 1/2 and j = k below:
// exact in f32 (j < 2^23), so only the log rounds.
fn laplace(w: u32, b: f32) -> f32 {
    let k = w >> 8u;
    let above = k >= 0x800000u;
    let j = select(k, 0xffffffu - k, above);
    let l = log((f32(j) + 0.5) * (1.0 / 8388608.0));
    return select(b * l, -b * l, above);
}

// (r cos 2 pi u1, r sin 2 pi u1), r = sqrt(-2 ln u0): the angle is taken as a + pi with
// a = 2 pi (u1 - 1/2) in (-pi, pi), so cos = -cos a and sin = -sin a.
fn box_muller(w0: u32, w1: u32) -> vec2<f32> {
    let r = sqrt(-2.0 * ln_unit(w0));
    let a = TWO_PI * centred_unit(w1);
    return vec2<f32>(-r * cos(a), -r * sin(a));
}

// Unary functions in the order of scm::FUNCS.
fn apply(code: u32, x: f32) -> f32 {
    switch code {
        case 0u: { return x; }
        case 1u: { return tanh(clamp(x, -20.0, 20.0)); }
        case 2u: { return x * x; }
        case 3u: { return x * x * x; }
        case 4u: { return sin(reduce_angle(x)); }
        case 5u: { return cos(reduce_angle(x)); }
        case 6u: { return exp(x); }
        case 7u: { return 1.0 / (1.0 + exp(-x)); }
        case 8u: { return max(x, 0.0); }
        case 9u: { return abs(x); }
        default: { return max(x, 0.0) + log(1.0 + exp(-abs(x))); }
    }
}

// The noise state of the node being evaluated: the Philox words of block `nz_block`, and the
// Box-Muller pair of pair `nz_pair` (noise_reset before each sample).
var<private> nz_words: vec4<u32>;
var<private> nz_pair: u32;
var<private> nz_block: u32;
var<private> nz_bm: vec2<f32>;

fn noise_reset() {
    nz_pair = 0xffffffffu;
    nz_block = 0xffffffffu;
}

// Node j's noise term (record at `rec`) for sample `sample` of noise setting `ns`, nodes taken in
// topological order: a normal node's scale times its standard normal, a uniform or Laplace
// node's draw, a logistic node's uniform (the contract in the header).
fn noise_of(j: u32, rec: u32, flags: u32, ns: u32, sample: u32) -> f32 {
    let k = j / 2u;
    if (k != nz_pair) {
        nz_pair = k;
        let paired = (flags & 16u) != 0u;
        let quads = (P.n_nodes + 3u) / 4u;
        let b = ns * P.nb + select(quads + k, k / 2u, paired);
        if (b != nz_block) {
            nz_block = b;
            nz_words = philox4x32_10(vec4<u32>(b, sample, P.tag, 0u), vec2<u32>(P.key0, P.key1));
        }
        if (paired) {
            let o = 2u * (k & 1u);
            nz_bm = box_muller(nz_words[o], nz_words[o + 1u]);
        }
    }
    let own = 2u * (j & 1u);
    if ((flags & 1u) != 0u) {
        return open_unit(nz_words[own]);
    }
    let dist = (flags >> 2u) & 3u;
    let p0 = fbits(node(rec + 1u));
    if (dist == 0u) {
        var g: f32;
        if ((flags & 16u) != 0u) {
            g = select(nz_bm.x, nz_bm.y, (j & 1u) == 1u);
        } else {
            g = box_muller(nz_words[own], nz_words[own + 1u]).x;
        }
        return p0 * g;
    } else if (dist == 1u) {
        return p0 + (fbits(node(rec + 2u)) - p0) * open_unit(nz_words[own]);
    }
    return laplace(nz_words[own], p0);
}

// The linear predictor and terms of the node whose record is at `rec` (parents read from their
// value slots).
fn predictor(rec: u32) -> f32 {
    var eta = fbits(node(rec + 3u));
    let co = node(rec + 4u);
    for (var c = 0u; c < node(rec + 5u); c = c + 1u) {
        let at = co + 2u * c;
        eta = eta + fbits(prog[at + 1u]) * vals[prog[at]];
    }
    let to = node(rec + 6u);
    for (var t = 0u; t < node(rec + 7u); t = t + 1u) {
        let at = to + 6u * t;
        let code = prog[at];
        let w = fbits(prog[at + 1u]);
        if (code == 11u) {
            var prod = 1.0;
            let off = prog[at + 4u];
            for (var q = 0u; q < prog[at + 5u]; q = q + 1u) {
                prod = prod * vals[prog[off + q]];
            }
            eta = eta + w * prod;
        } else {
            let inner = fbits(prog[at + 2u]) * vals[prog[at + 4u]] + fbits(prog[at + 3u]);
            eta = eta + w * apply(code, inner);
        }
    }
    return eta;
}

// A sampled node's value from its predictor and noise term (a logistic node's uniform).
fn finish(flags: u32, eta: f32, e: f32) -> f32 {
    if ((flags & 1u) != 0u) {
        let p = 1.0 / (1.0 + exp(-eta));
        return select(0.0, 1.0, e < p);
    }
    return eta + e;
}

// The outcome of sample `sample` of global setting `setting` (row `row` of `plan`), drawing the
// noise as it goes (own noise per setting, and `sample_rows`). With `write` != NO_ROW every
// node's value also goes to `out` at j * P.rows + write.
fn eval_sample(setting: u32, row: u32, sample: u32, write: u32) -> f32 {
    let noise_setting = select(setting, 0u, P.crn != 0u);
    let base = row * P.plan_words + 1u;
    noise_reset();
    for (var j = 0u; j < P.n_nodes; j = j + 1u) {
        let rec = j * NODE_WORDS;
        let flags = node(rec);
        if ((flags & 2u) == 0u) {
            continue;   // not needed (the outcome does not depend on this node)
        }
        let pl = base + 3u * j;
        var v: f32;
        if (plan[pl] != 0u) {
            v = fbits(plan[pl + 1u]);
        } else {
            let eta = predictor(rec);
            v = finish(flags, eta, noise_of(j, rec, flags, noise_setting, sample));
            v = v + fbits(plan[pl + 2u]);
        }
        // every parent has been read: the node may take over a parent's slot
        vals[node(rec + 8u)] = v;
        if (write != NO_ROW) {
            out[j * P.rows + write] = v;
        }
    }
    return vals[P.outcome];
}

// The noise slot of a varying noisy node (shared programs: flags bits 8..).
fn noise_slot(flags: u32) -> u32 {
    return flags >> 8u;
}

// Common random numbers, once per sample (shared programs, src/scm/program.rs): setting 0's noise
// of every noisy node (flags bit 6) is drawn; a node that varies between settings (bit 5) keeps
// its noise term in its noise slot, any other needed node is evaluated (it has the same value in
// every setting, and its slot is never reused while a varying node may read it).
fn shared_pass(sample: u32) {
    noise_reset();
    for (var j = 0u; j < P.n_nodes; j = j + 1u) {
        let rec = j * NODE_WORDS;
        let flags = node(rec);
        if ((flags & 2u) == 0u) {
            continue;
        }
        var e = 0.0;
        if ((flags & 64u) != 0u) {
            e = noise_of(j, rec, flags, 0u, sample);
        }
        if ((flags & 32u) != 0u) {
            if ((flags & 64u) != 0u) {
                vals[noise_slot(flags)] = e;
            }
        } else {
            let eta = predictor(rec);
            vals[node(rec + 8u)] = finish(flags, eta, e);
        }
    }
}

// The outcome under plan row `row` after `shared_pass`: only the nodes that vary between
// settings are evaluated, with the noise terms kept by `shared_pass` (the same arithmetic as
// `eval_sample`).
fn varying_pass(row: u32) -> f32 {
    let base = row * P.plan_words + 1u;
    for (var j = 0u; j < P.n_nodes; j = j + 1u) {
        let rec = j * NODE_WORDS;
        let flags = node(rec);
        if ((flags & 34u) != 34u) {
            continue;   // not needed, or the same in every setting
        }
        let pl = base + 3u * j;
        var v: f32;
        if (plan[pl] != 0u) {
            v = fbits(plan[pl + 1u]);
        } else {
            let eta = predictor(rec);
            v = finish(flags, eta, vals[noise_slot(flags)]);
            v = v + fbits(plan[pl + 2u]);
        }
        vals[node(rec + 8u)] = v;
    }
    return vals[P.outcome];
}

// The outcome of `sample` for dispatch row `row`: one setting, or under `contrast` the difference
// between the two plans of the pair (both read the pair's noise). Under common random numbers
// `shared_pass` has run for the sample.
fn outcome_of(row: u32, sample: u32) -> f32 {
    let setting = P.setting_offset + row;
    let prow = P.plan_row + row;
    if (P.crn != 0u) {
        if (P.contrast != 0u) {
            let a = varying_pass(2u * prow);
            return a - varying_pass(2u * prow + 1u);
        }
        return varying_pass(prow);
    }
    if (P.contrast != 0u) {
        return eval_sample(setting, 2u * prow, sample, NO_ROW)
            - eval_sample(setting, 2u * prow + 1u, sample, NO_ROW);
    }
    return eval_sample(setting, prow, sample, NO_ROW);
}

@compute @workgroup_size(256)
fn sweep(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let sample = (P.group_offset + wg.x) * WG + lid;
    let live = sample < P.samples;
    vbase = ((wg.y * nwg.x + wg.x) * WG + lid) * P.slots;
    if (P.crn != 0u && live) {
        shared_pass(sample);
    }
    // the workgroup's settings: rows wg.y P.tile .. of the dispatch, each reduced on its own
    for (var t = 0u; t < P.tile; t = t + 1u) {
        let row = wg.y * P.tile + t;
        if (row >= P.settings) {
            break;
        }
        var cnt = 0.0;
        var s1 = 0.0;
        var s2 = 0.0;
        if (live) {
            let y = outcome_of(row, sample);
            let prow = P.plan_row + row;
            let e = y - fbits(plan[select(prow, 2u * prow, P.contrast != 0u) * P.plan_words]);
            if (is_finite(y) && is_finite(e * e)) {
                cnt = 1.0;
                s1 = e;
                s2 = e * e;
            }
        }
        red_n[lid] = cnt;
        red_s1[lid] = s1;
        red_s2[lid] = s2;
        workgroupBarrier();
        for (var half = WG / 2u; half > 0u; half = half / 2u) {
            if (lid < half) {
                red_n[lid] = red_n[lid] + red_n[lid + half];
                red_s1[lid] = red_s1[lid] + red_s1[lid + half];
                red_s2[lid] = red_s2[lid] + red_s2[lid + half];
            }
            workgroupBarrier();
        }
        // (only thread 0 reads slot 0, and only it writes slot 0 in the next row)
        if (lid == 0u) {
            let o = P.out_base + 3u * (row * nwg.x + wg.x);
            out[o] = red_n[0];
            out[o + 1u] = red_s1[0];
            out[o + 2u] = red_s2[0];
        }
    }
}

@compute @workgroup_size(256)
fn sweep_values(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let sample = (P.group_offset + wg.x) * WG + lid;
    if (sample >= P.samples) {
        return;
    }
    vbase = ((wg.y * nwg.x + wg.x) * WG + lid) * P.slots;
    if (P.crn != 0u) {
        shared_pass(sample);
    }
    for (var t = 0u; t < P.tile; t = t + 1u) {
        let row = wg.y * P.tile + t;
        if (row >= P.settings) {
            break;
        }
        out[P.out_base + (row * nwg.x + wg.x) * WG + lid] = outcome_of(row, sample);
    }
}

@compute @workgroup_size(256)
fn sample_rows(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if (i >= P.rows) {
        return;
    }
    vbase = i * P.slots;
    _ = eval_sample(0u, 0u, P.first + i, i);
}
