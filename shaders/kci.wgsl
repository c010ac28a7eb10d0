// KCI (kernel conditional independence, gamma null): the O(n r^2) work of a batch of tests.
//
// The host (f64) builds the centred low-rank factors L (n x r) and, per Z set, the bounded basis
// B = Lz U^-T with U U^T = eps I + Lz^T Lz, so that Rz = eps (Kz + eps I)^-1 = I - B B^T and
// B^T B <= I (every ill-conditioned step stays on the host). The device, in f32, on row-major
// matrices packed in `mats`:
//   cross     C = A^T B for listed (A, B) pairs: factor Grams L^T L, cross products Lx^T Ly,
//             projections P = B^T L, residual Grams M^T M, conditional cross products Mx^T My
//   affine    D = [L] + s A W: residuals M = L - B P (W = P, on the device), and, after the host's
//             eigendecomposition of M^T M, the truncated eigenvector products Va = M Q (W = Q)
//   hadamard  per conditional test, the sums of the entries of G = sum_t u_t v_t^T, u_t the
//             symmetric pair products of row t of Va (v_t of Vb): the gamma mean
//             sum_t A_tt B_tt (diagonal pairs) and sum_st (A_st B_st)^2 = ||Wa^T Wb||_F^2 with
//             pair multiplicities, per 64-entry workgroup
//   finish    per conditional test, the tree sum of the hadamard partials
// Every sum over rows is pairwise (a binary-counter stack in private memory: error
// O(eps log2 n)), and every sum over threads a tree in workgroup memory.

struct KciParams {
    n: u32,      // rows
    row: u32,    // workgroups per dispatch row (x) of the 2-D group grid
    base: u32,   // first word of this dispatch's tasks in `tasks`
    tw: u32,     // words per task
    count: u32,  // tasks (finish: one per workgroup)
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> P: KciParams;
@group(0) @binding(1) var<storage, read> tasks: array<u32>;
@group(0) @binding(2) var<storage, read_write> mats: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const NONE: u32 = 0xffffffffu;

var<workgroup> red0: array<f32, 64>;
var<workgroup> red1: array<f32, 64>;

// Pairwise summation: level k of the stack holds the sum of 2^k consecutive terms.
struct Acc {
    s: array<f32, 32>,
    top: u32,
    cnt: u32,
}

fn acc_add(a: ptr<function, Acc>, x: f32) {
    var v = x;
    var c = (*a).cnt;
    loop {
        if ((c & 1u) == 0u) { break; }
        (*a).top = (*a).top - 1u;
        v = (*a).s[(*a).top] + v;
        c = c >> 1u;
    }
    (*a).s[(*a).top] = v;
    (*a).top = (*a).top + 1u;
    (*a).cnt = (*a).cnt + 1u;
}

fn acc_total(a: ptr<function, Acc>) -> f32 {
    // smallest partial sums first
    var t = 0.0;
    var i = (*a).top;
    loop {
        if (i == 0u) { break; }
        i = i - 1u;
        t = t + (*a).s[i];
    }
    return t;
}

fn task(t: u32, w: u32) -> u32 {
    return tasks[P.base + t * P.tw + w];
}

fn tree2(lid: u32) {
    workgroupBarrier();
    for (var w = 32u; w > 0u; w = w >> 1u) {
        if (lid < w) {
            red0[lid] = red0[lid] + red0[lid + w];
            red1[lid] = red1[lid] + red1[lid + w];
        }
        workgroupBarrier();
    }
}

// Task [a_off, ac, b_off, bc, out_off] = wid.z; entry e = i bc + j: out = sum_t A[t, i] B[t, j].
@compute @workgroup_size(64)
fn cross(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let t = wid.z;
    let e = (wid.y * P.row + wid.x) * 64u + lid3.x;
    let ac = task(t, 1u);
    let bc = task(t, 3u);
    if (e >= ac * bc) { return; }
    let a0 = task(t, 0u) + e / bc;
    let b0 = task(t, 2u) + e % bc;
    var acc: Acc;
    acc.top = 0u;
    acc.cnt = 0u;
    for (var r = 0u; r < P.n; r = r + 1u) {
        acc_add(&acc, mats[a0 + r * ac] * mats[b0 + r * bc]);
    }
    out[task(t, 4u) + e] = acc_total(&acc);
}

// Task [l_off or NONE, a_off, ac, w_off, wc, dst_off, sign (bits of an f32)] = wid.z; entry
// e = row wc + j: D[row, j] = L[row, j] + sign sum_k A[row, k] W[k, j] (W: ac x wc in `out`).
@compute @workgroup_size(64)
fn affine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let t = wid.z;
    let e = (wid.y * P.row + wid.x) * 64u + lid3.x;
    let wc = task(t, 4u);
    if (e >= P.n * wc) { return; }
    let row = e / wc;
    let j = e % wc;
    let ac = task(t, 2u);
    let a0 = task(t, 1u) + row * ac;
    let w0 = task(t, 3u) + j;
    var acc: Acc;
    acc.top = 0u;
    acc.cnt = 0u;
    for (var k = 0u; k < ac; k = k + 1u) {
        acc_add(&acc, mats[a0 + k] * out[w0 + k * wc]);
    }
    var v = bitcast<f32>(task(t, 6u)) * acc_total(&acc);
    let l0 = task(t, 0u);
    if (l0 != NONE) {
        v = mats[l0 + e] + v;
    }
    mats[task(t, 5u) + e] = v;
}

// Symmetric pair p (row-major upper triangle of an r x r matrix) -> (a, a').
fn pair(p: u32, r: u32) -> vec2<u32> {
    var q = p;
    var a = 0u;
    loop {
        if (q < r - a) { break; }
        q = q - (r - a);
        a = a + 1u;
    }
    return vec2<u32>(a, a + q);
}

// Task [va_off, ra, vb_off, rb, part_off] = wid.z; entry e = p pb + q (pa = ra (ra + 1) / 2
// pairs of Va's columns, pb of Vb's): g = sum_t Va[t, a] Va[t, a'] Vb[t, b] Vb[t, b'] adds
// w g^2 (w: 1 or 2 per pair, for the symmetric entries it stands for) and, for diagonal pairs,
// g; the workgroup's two sums go to part[part_off + 2 group + {0, 1}].
@compute @workgroup_size(64)
fn hadamard(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let t = wid.z;
    let g = wid.y * P.row + wid.x;
    let e = g * 64u + lid;
    let ra = task(t, 1u);
    let rb = task(t, 3u);
    let pa = ra * (ra + 1u) / 2u;
    let pb = rb * (rb + 1u) / 2u;
    var v2 = 0.0;
    var vm = 0.0;
    if (e < pa * pb) {
        let ia = pair(e / pb, ra);
        let ib = pair(e % pb, rb);
        let a0 = task(t, 0u);
        let b0 = task(t, 2u);
        var acc: Acc;
        acc.top = 0u;
        acc.cnt = 0u;
        for (var r = 0u; r < P.n; r = r + 1u) {
            let oa = a0 + r * ra;
            let ob = b0 + r * rb;
            acc_add(&acc, (mats[oa + ia.x] * mats[oa + ia.y]) * (mats[ob + ib.x] * mats[ob + ib.y]));
        }
        let s = acc_total(&acc);
        var w = 1.0;
        if (ia.x != ia.y) { w = 2.0 * w; }
        if (ib.x != ib.y) { w = 2.0 * w; }
        v2 = w * s * s;
        if (ia.x == ia.y && ib.x == ib.y) { vm = s; }
    }
    red0[lid] = vm;
    red1[lid] = v2;
    tree2(lid);
    if (lid == 0u && e - lid < pa * pb) {
        let o = task(t, 4u) + 2u * g;
        out[o] = red0[0];
        out[o + 1u] = red1[0];
    }
}

// Task [part_off, groups, out_off] per workgroup: out[out_off + {0, 1}] = the sums of the
// hadamard partials of one test.
@compute @workgroup_size(64)
fn finish(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let t = wid.y * P.row + wid.x;
    var s0 = 0.0;
    var s1 = 0.0;
    if (t < P.count) {
        let p0 = task(t, 0u);
        let groups = task(t, 1u);
        var a0: Acc;
        a0.top = 0u;
        a0.cnt = 0u;
        var a1: Acc;
        a1.top = 0u;
        a1.cnt = 0u;
        for (var g = lid; g < groups; g = g + 64u) {
            acc_add(&a0, out[p0 + 2u * g]);
            acc_add(&a1, out[p0 + 2u * g + 1u]);
        }
        s0 = acc_total(&a0);
        s1 = acc_total(&a1);
    }
    red0[lid] = s0;
    red1[lid] = s1;
    tree2(lid);
    if (lid == 0u && t < P.count) {
        let o = task(t, 2u);
        out[o] = red0[0];
        out[o + 1u] = red1[0];
    }
}
