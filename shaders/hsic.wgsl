// HSIC permutation null: for permutation p (workgroup y) the cross moments
// C_p[a, b] = sum_t Lx[t, a] * Ly[perm_p(t), b] of the centred low-rank Gram factors, every (a, b)
// of a 64 x 64 output window (workgroup x) at once, from row tiles staged in workgroup memory
// (hsic_cross below); the host squares and sums C_p in f64. The permutations are generated on the device
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

// hsic_cross stages a tile of rows in workgroup memory: the workgroup's (at most 64) columns of
// lx and of the permuted ly rows, TILE_W floats each (rows = TILE_W / padded width).
const TILE_W: u32 = 1024u;
var<workgroup> sx: array<f32, 1024>;
var<workgroup> sy: array<f32, 1024>;

// One workgroup per (permutation p = workgroup y, output window = workgroup x): the window is up
// to 64 columns a of lx by up to 64 columns b of ly. Each active thread owns a 4 x 4 register block
// of the window's outputs and a row lane: with nb blocks in the window, 256 / nb lanes split the
// rows of each staged tile; the lanes' partial sums are then added in a fixed order. The factors
// are read once per permutation (lx rows coalesced, ly rows gathered through the permutation),
// against once per (pair, permutation) before.
@compute @workgroup_size(256)
fn hsic_cross(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let p = wid.y;
    let wy = (H.ry + 63u) / 64u;
    let a0 = (wid.x / wy) * 64u;
    let b0 = (wid.x % wy) * 64u;
    let aw = min(64u, H.rx - a0);
    let bw = min(64u, H.ry - b0);
    // padded widths (multiples of 4), 4 x 4 blocks and row lanes
    let awp = (aw + 3u) & ~3u;
    let bwp = (bw + 3u) & ~3u;
    let nby = bwp / 4u;
    let nb = (awp / 4u) * nby;
    let lanes = 256u / nb;
    let rows = TILE_W / max(awp, bwp);
    let blk = lid % nb;
    let lane = lid / nb;
    let busy = lane < lanes;
    let ba = (blk / nby) * 4u;
    let bb = (blk % nby) * 4u;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    let pbase = p * H.n;
    for (var t0 = 0u; t0 < H.n; t0 = t0 + rows) {
        let tr = min(rows, H.n - t0);
        // stage the tile: columns beyond the window (padding) and rows beyond n are zero
        for (var i = lid; i < rows * awp; i = i + 256u) {
            let r = i / awp;
            let c = i - r * awp;
            var v = 0.0;
            if (r < tr && c < aw) { v = lx[(t0 + r) * H.rx + a0 + c]; }
            sx[i] = v;
        }
        for (var i = lid; i < rows * bwp; i = i + 256u) {
            let r = i / bwp;
            let c = i - r * bwp;
            var v = 0.0;
            if (r < tr && c < bw) { v = ly[perm[pbase + t0 + r] * H.ry + b0 + c]; }
            sy[i] = v;
        }
        workgroupBarrier();
        if (busy) {
            for (var r = lane; r < tr; r = r + lanes) {
                let xo = r * awp + ba;
                let yo = r * bwp + bb;
                let y = vec4<f32>(sy[yo], sy[yo + 1u], sy[yo + 2u], sy[yo + 3u]);
                acc0 = acc0 + sx[xo] * y;
                acc1 = acc1 + sx[xo + 1u] * y;
                acc2 = acc2 + sx[xo + 2u] * y;
                acc3 = acc3 + sx[xo + 3u] * y;
            }
        }
        workgroupBarrier();
    }
    // add the lanes' partial sums, one of the 16 block entries at a time
    let out = p * H.rx * H.ry;
    for (var e = 0u; e < 16u; e = e + 1u) {
        let i = e / 4u;
        let j = e % 4u;
        var v = acc0[j];
        if (i == 1u) { v = acc1[j]; }
        if (i == 2u) { v = acc2[j]; }
        if (i == 3u) { v = acc3[j]; }
        part[lid] = v;
        workgroupBarrier();
        if (lid < nb) {
            var s = 0.0;
            for (var l = 0u; l < lanes; l = l + 1u) { s = s + part[l * nb + lid]; }
            let a = a0 + ba + i;
            let b = b0 + bb + j;
            if (ba + i < aw && bb + j < bw) { cross[out + a * H.ry + b] = s; }
        }
        workgroupBarrier();
    }
}

// Permutation first + q of 0..n into perm_out[q * n ..]: step s (i = n - 1 - s down to 1) swaps i
// with j in [0, i] from word s mod 4 of block s / 4 (Lemire's method; on rejection the fallback
// block of position s, counter word 3 = 1, through uniform_index). The Fisher-Yates chain is
// sequential per permutation (the CPU's contract), so permutations run one per thread in
// workgroups of 16: 1000 permutations spread over 63 workgroups (compute units), not 16.
@compute @workgroup_size(16)
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
        // Lemire: the threshold (2^32 - range) mod range (< range) only when the low word is below
        // range, so the divide is rare; the same rejections as always testing it
        let lo = w * range;
        if (lo < range && lo < (0u - range) % range) {
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
