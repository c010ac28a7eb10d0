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
//   hadamard  per conditional test, the gamma mean sum_t A_tt B_tt and sum_st (A_st B_st)^2
//             (A = Va Va^T, B = Vb Vb^T), per workgroup, by the cheaper route for the test:
//             columns (the sums of the entries of G = sum_t u_t v_t^T, u_t the symmetric pair
//             products of row t of Va, v_t of Vb: ||Wa^T Wb||_F^2 with pair multiplicities) or
//             rows (hadamard_rows: 32 x 32 blocks of A and B, s <= t)
//   finish    per conditional test, the tree sum of the hadamard partials
// Every sum over rows (or over the inner dimension of affine) is taken 8 terms at a time and
// the 8-term sums compensated (Kahan: error about 10 eps of the sum of the terms' magnitudes,
// in registers), except in finish (a pairwise binary-counter stack over the partials), and
// every sum over threads a tree in workgroup memory.

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

// Compensated (Kahan) addition of x to the running sum s with its compensation c.
fn kahan1(s: ptr<function, f32>, c: ptr<function, f32>, x: f32) {
    let y = x - *c;
    let t = *s + y;
    *c = (t - *s) - y;
    *s = t;
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
    var sum = 0.0;
    var comp = 0.0;
    for (var r0 = 0u; r0 < P.n; r0 = r0 + 8u) {
        var c = 0.0;
        for (var r = r0; r < min(r0 + 8u, P.n); r = r + 1u) {
            c = c + mats[a0 + r * ac] * mats[b0 + r * bc];
        }
        kahan1(&sum, &comp, c);
    }
    out[task(t, 4u) + e] = sum;
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
    var sum = 0.0;
    var comp = 0.0;
    for (var k0 = 0u; k0 < ac; k0 = k0 + 8u) {
        var c = 0.0;
        for (var k = k0; k < min(k0 + 8u, ac); k = k + 1u) {
            c = c + mats[a0 + k] * out[w0 + k * wc];
        }
        kahan1(&sum, &comp, c);
    }
    var v = bitcast<f32>(task(t, 6u)) * sum;
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

// The Hadamard sums of one conditional test, by either of two exact routes (the host picks the
// one with fewer multiply-adds per test, as the CPU does). Task [va_off, ra, vb_off, rb,
// part_off] = wid.z; each workgroup's two sums (sum_t A_tt B_tt, sum_st (A_st B_st)^2 over its
// share) go to part[part_off + 2 group + {0, 1}].
//
// hadamard (columns): entry (p, q) of the symmetric pair products (pa = ra (ra + 1) / 2 pairs of
// Va's columns, pb of Vb's) is g = sum_t Va[t, a] Va[t, a'] Vb[t, b] Vb[t, b'], adding w g^2 (w:
// 1 or 2 per pair, for the symmetric entries it stands for) and, for diagonal pairs, g. One
// workgroup per 32 x 32 block of entries: rows are staged 32 at a time as the block's pair
// products in workgroup memory, each thread keeps a 4 x 4 block of entries in registers (static
// indices), summed 8 rows at a time and the 8-row sums compensated (Kahan): error about
// 10 eps of the sum of the terms' magnitudes.
//
// hadamard_rows (rows): sum over row blocks s <= t of 32 x 32 blocks of A = Va Va^T and
// B = Vb Vb^T, each thread a 4 x 4 block of (s, t) in registers, the columns staged 16 at a
// time; entries s < t count twice, the diagonal adds A_tt B_tt to the mean. The workgroups of a
// test stride over its block pairs (at most HROWS groups per test).
const HT: u32 = 32u;      // rows per staged tile (columns route), block edge (rows route)
const HK: u32 = 16u;      // columns per staged chunk (rows route)
const HROWS: u32 = 1024u; // workgroups per test (rows route)

var<workgroup> hu: array<f32, 1024>;   // columns: HT rows x 32 pair products of Va; rows: Va/Vb chunks
var<workgroup> hv: array<f32, 1024>;   // columns: the same for Vb

fn kahan(s: ptr<function, vec4<f32>>, c: ptr<function, vec4<f32>>, x: vec4<f32>) {
    let y = x - *c;
    let t = *s + y;
    *c = (t - *s) - y;
    *s = t;
}

// weight (1, or 2 for an off-diagonal pair) and diagonal flag of pair p of r columns, 0 when
// p is past the last pair
fn pair_weight(p: u32, r: u32) -> vec2<f32> {
    if (p >= r * (r + 1u) / 2u) { return vec2<f32>(0.0, 0.0); }
    let ij = pair(p, r);
    if (ij.x == ij.y) { return vec2<f32>(1.0, 1.0); }
    return vec2<f32>(2.0, 0.0);
}

@compute @workgroup_size(64)
fn hadamard(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let t = wid.z;
    let g = wid.y * P.row + wid.x;
    let ra = task(t, 1u);
    let rb = task(t, 3u);
    let pa = ra * (ra + 1u) / 2u;
    let pb = rb * (rb + 1u) / 2u;
    let nbb = (pb + 31u) / 32u;
    if (g >= ((pa + 31u) / 32u) * nbb) { return; }
    let ba = g / nbb;
    let bb = g % nbb;
    // staging role: side 0 stages pair ba 32 + j of Va, side 1 pair bb 32 + j of Vb
    let side = lid / 32u;
    let j = lid % 32u;
    var p = ba * 32u + j;
    var r = ra;
    var base = task(t, 0u);
    if (side == 1u) {
        p = bb * 32u + j;
        r = rb;
        base = task(t, 2u);
    }
    let ok = p < r * (r + 1u) / 2u;
    var ij = vec2<u32>(0u, 0u);
    if (ok) { ij = pair(p, r); }
    // compute role: a 4 x 4 block of entries
    let ta = (lid / 8u) * 4u;
    let tb = (lid % 8u) * 4u;
    var s0 = vec4<f32>(0.0); var s1 = vec4<f32>(0.0); var s2 = vec4<f32>(0.0); var s3 = vec4<f32>(0.0);
    var c0 = vec4<f32>(0.0); var c1 = vec4<f32>(0.0); var c2 = vec4<f32>(0.0); var c3 = vec4<f32>(0.0);
    for (var r0 = 0u; r0 < P.n; r0 = r0 + HT) {
        for (var i = 0u; i < HT; i = i + 1u) {
            let row = r0 + i;
            var v = 0.0;
            if (ok && row < P.n) {
                let o = base + row * r;
                v = mats[o + ij.x] * mats[o + ij.y];
            }
            if (side == 0u) { hu[i * 32u + j] = v; } else { hv[i * 32u + j] = v; }
        }
        workgroupBarrier();
        for (var q = 0u; q < HT; q = q + 8u) {
            var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
            for (var i = q; i < q + 8u; i = i + 1u) {
                let u = vec4<f32>(hu[i * 32u + ta], hu[i * 32u + ta + 1u], hu[i * 32u + ta + 2u], hu[i * 32u + ta + 3u]);
                let w = vec4<f32>(hv[i * 32u + tb], hv[i * 32u + tb + 1u], hv[i * 32u + tb + 2u], hv[i * 32u + tb + 3u]);
                a0 = a0 + u.x * w;
                a1 = a1 + u.y * w;
                a2 = a2 + u.z * w;
                a3 = a3 + u.w * w;
            }
            kahan(&s0, &c0, a0);
            kahan(&s1, &c1, a1);
            kahan(&s2, &c2, a2);
            kahan(&s3, &c3, a3);
        }
        workgroupBarrier();
    }
    let wa0 = pair_weight(ba * 32u + ta, ra);
    let wa1 = pair_weight(ba * 32u + ta + 1u, ra);
    let wa2 = pair_weight(ba * 32u + ta + 2u, ra);
    let wa3 = pair_weight(ba * 32u + ta + 3u, ra);
    let wb0 = pair_weight(bb * 32u + tb, rb);
    let wb1 = pair_weight(bb * 32u + tb + 1u, rb);
    let wb2 = pair_weight(bb * 32u + tb + 2u, rb);
    let wb3 = pair_weight(bb * 32u + tb + 3u, rb);
    let wb = vec4<f32>(wb0.x, wb1.x, wb2.x, wb3.x);
    let db = vec4<f32>(wb0.y, wb1.y, wb2.y, wb3.y);
    let v2 = wa0.x * dot(wb, s0 * s0) + wa1.x * dot(wb, s1 * s1)
        + wa2.x * dot(wb, s2 * s2) + wa3.x * dot(wb, s3 * s3);
    let vm = wa0.y * dot(db, s0) + wa1.y * dot(db, s1) + wa2.y * dot(db, s2) + wa3.y * dot(db, s3);
    red0[lid] = vm;
    red1[lid] = v2;
    tree2(lid);
    if (lid == 0u) {
        let o = task(t, 4u) + 2u * g;
        out[o] = red0[0];
        out[o + 1u] = red1[0];
    }
}

// 4 x 4 block of C = V V^T (rows s0 + {0..3} against t0 + {0..3} of the staged 32-row blocks),
// V (n x r) at `base`: columns staged HK at a time, hu the s rows, hv the t rows.
fn gram_block(base: u32, r: u32, sb: u32, tb: u32, lid: u32, out4: ptr<function, array<vec4<f32>, 4>>) {
    let ts = (lid / 8u) * 4u;
    let tt = (lid % 8u) * 4u;
    var g0 = vec4<f32>(0.0); var g1 = vec4<f32>(0.0); var g2 = vec4<f32>(0.0); var g3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < r; k0 = k0 + HK) {
        for (var e = lid; e < HT * HK; e = e + 64u) {
            let i = e / HK;
            let k = k0 + e % HK;
            let rs = sb * HT + i;
            let rt = tb * HT + i;
            var a = 0.0;
            var b = 0.0;
            if (k < r) {
                if (rs < P.n) { a = mats[base + rs * r + k]; }
                if (rt < P.n) { b = mats[base + rt * r + k]; }
            }
            hu[e] = a;
            hv[e] = b;
        }
        workgroupBarrier();
        for (var k = 0u; k < HK; k = k + 1u) {
            let u = vec4<f32>(hu[ts * HK + k], hu[(ts + 1u) * HK + k], hu[(ts + 2u) * HK + k], hu[(ts + 3u) * HK + k]);
            let w = vec4<f32>(hv[tt * HK + k], hv[(tt + 1u) * HK + k], hv[(tt + 2u) * HK + k], hv[(tt + 3u) * HK + k]);
            g0 = g0 + u.x * w;
            g1 = g1 + u.y * w;
            g2 = g2 + u.z * w;
            g3 = g3 + u.w * w;
        }
        workgroupBarrier();
    }
    (*out4)[0] = g0;
    (*out4)[1] = g1;
    (*out4)[2] = g2;
    (*out4)[3] = g3;
}

// (sum of the diagonal products, weighted sum of the squared products) of row s against rows
// tt + {0..3}, p = (A_st B_st): weights 2 off the diagonal; in a diagonal block 2 above, 1 on,
// 0 below it.
fn rows_terms(p: vec4<f32>, s: u32, tt: u32, diagonal: bool) -> vec2<f32> {
    if (!diagonal) { return vec2<f32>(0.0, 2.0 * dot(p, p)); }
    let tv = vec4<u32>(tt, tt + 1u, tt + 2u, tt + 3u);
    let d = select(vec4<f32>(0.0), vec4<f32>(1.0), tv == vec4<u32>(s));
    let w = select(vec4<f32>(0.0), vec4<f32>(2.0), tv > vec4<u32>(s)) + d;
    return vec2<f32>(dot(d, p), dot(w, p * p));
}

@compute @workgroup_size(64)
fn hadamard_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let t = wid.z;
    let g = wid.y * P.row + wid.x;
    let nb = (P.n + HT - 1u) / HT;
    let blocks = nb * (nb + 1u) / 2u;
    let groups = min(blocks, HROWS);
    if (g >= groups) { return; }
    let ts = (lid / 8u) * 4u;
    let tt = (lid % 8u) * 4u;
    var vm = 0.0;
    var v2 = 0.0;
    for (var bp = g; bp < blocks; bp = bp + groups) {
        let st = pair(bp, nb);
        var a: array<vec4<f32>, 4>;
        var b: array<vec4<f32>, 4>;
        gram_block(task(t, 0u), task(t, 1u), st.x, st.y, lid, &a);
        gram_block(task(t, 2u), task(t, 3u), st.x, st.y, lid, &b);
        let e0 = rows_terms(a[0] * b[0], ts, tt, st.x == st.y);
        let e1 = rows_terms(a[1] * b[1], ts + 1u, tt, st.x == st.y);
        let e2 = rows_terms(a[2] * b[2], ts + 2u, tt, st.x == st.y);
        let e3 = rows_terms(a[3] * b[3], ts + 3u, tt, st.x == st.y);
        let e = (e0 + e1) + (e2 + e3);
        vm = vm + e.x;
        v2 = v2 + e.y;
    }
    red0[lid] = vm;
    red1[lid] = v2;
    tree2(lid);
    if (lid == 0u) {
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
