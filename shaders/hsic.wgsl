// HSIC permutation null: for permutation p (workgroup y) and factor-column pair (a, b)
// (workgroup x = a * ry + b), the cross moment  C_p[a, b] = sum_t Lx[t, a] * Ly[perm_p(t), b]
// of the centred low-rank Gram factors. Each of 256 threads sums a strided slice, then a tree
// reduction; the host squares and sums C_p in f64. The permutations are generated on the device
// by hsic_perm (one thread per permutation): Fisher-Yates from the Philox permutation stream,
// bit-identical to independence::permutation (the indices the CPU backend uses). Prepended with
// philox.wgsl. chi2mix draws the spectral null (a weighted chi-square mixture).

struct HsicParams {
    n: u32,
    rx: u32,
    ry: u32,
    perms: u32,
    first: u32,   // hsic_perm: index of the first permutation of this batch
    key0: u32,
    key1: u32,
    tag: u32,
}

@group(0) @binding(0) var<uniform> H: HsicParams;
@group(0) @binding(1) var<storage, read> lx: array<f32>;     // n x rx, row-major
@group(0) @binding(2) var<storage, read> ly: array<f32>;     // n x ry, row-major
@group(0) @binding(3) var<storage, read> perm: array<u32>;   // perms x n
@group(0) @binding(4) var<storage, read_write> cross: array<f32>;  // perms x rx x ry
@group(0) @binding(5) var<storage, read_write> perm_out: array<u32>;  // hsic_perm: perms x n

var<workgroup> part: array<f32, 256>;

@compute @workgroup_size(256)
fn hsic_cross(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let pair = wid.x;
    let p = wid.y;
    let a = pair / H.ry;
    let b = pair % H.ry;
    var s = 0.0;
    for (var t = lid; t < H.n; t = t + 256u) {
        let u = perm[p * H.n + t];
        s = s + lx[t * H.rx + a] * ly[u * H.ry + b];
    }
    part[lid] = s;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w = w >> 1u) {
        if (lid < w) { part[lid] = part[lid] + part[lid + w]; }
        workgroupBarrier();
    }
    if (lid == 0u) {
        cross[p * H.rx * H.ry + pair] = part[0];
    }
}

// Permutation first + q of 0..n into perm_out[q * n ..]: step s (i = n - 1 - s down to 1) swaps i
// with j in [0, i] from word s mod 4 of block s / 4 (Lemire's method; on rejection the fallback
// block of position s, counter word 3 = 1, through uniform_index).
@compute @workgroup_size(64)
fn hsic_perm(@builtin(global_invocation_id) gid: vec3<u32>) {
    let q = gid.x;
    if (q >= H.perms) { return; }
    let p = H.first + q;
    let base = q * H.n;
    for (var t = 0u; t < H.n; t = t + 1u) { perm_out[base + t] = t; }
    let key = vec2<u32>(H.key0, H.key1);
    var words = vec4<u32>(0u);
    for (var step = 0u; step + 1u < H.n; step = step + 1u) {
        let i = H.n - 1u - step;
        if (step % 4u == 0u) {
            words = philox4x32_10(vec4<u32>(step / 4u, p, H.tag, 0u), key);
        }
        let range = i + 1u;
        let w = words[step % 4u];
        var j = mulhi32(w, range);
        if (w * range < (0u - range) % range) {
            let f = philox4x32_10(vec4<u32>(step, p, H.tag, 1u), key);
            j = uniform_index(f.x, f.y, range);
        }
        let a = perm_out[base + i];
        perm_out[base + i] = perm_out[base + j];
        perm_out[base + j] = a;
    }
}

const CHI_TWO_PI: f32 = 6.28318530717959;

// Spectral null: workgroup q of this batch draws the weighted chi-square mixture
// sum_k w_k g_k^2 for Monte-Carlo draw d = first + q, where g_k is the Box-Muller normal of Philox
// block (k, d) (words x, y; ln u and the angle 2 pi (u - 1/2) in (-pi, pi), where WGSL bounds cos,
// from the exact offsets of philox.wgsl; cos at 2 pi u - pi squares to its value at 2 pi u). Weights come in lx (n = their count); 256 threads take strided
// weights, then a tree reduction; the total goes to cross[q].
@compute @workgroup_size(256)
fn chi2mix(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let q = wid.x;
    let live = q < H.perms;
    let d = H.first + q;
    let key = vec2<u32>(H.key0, H.key1);
    var s = 0.0;
    if (live) {
        for (var k = lid; k < H.n; k = k + 256u) {
            let w = philox4x32_10(vec4<u32>(k, d, H.tag, 0u), key);
            let r2 = -2.0 * ln_unit(w.x);
            let c = cos(CHI_TWO_PI * centred_unit(w.y));
            s = s + lx[k] * (r2 * c * c);
        }
    }
    part[lid] = s;
    workgroupBarrier();
    for (var w = 128u; w > 0u; w = w >> 1u) {
        if (lid < w) { part[lid] = part[lid] + part[lid + w]; }
        workgroupBarrier();
    }
    if (live && lid == 0u) {
        cross[q] = part[0];
    }
}
