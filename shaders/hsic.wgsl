// HSIC permutation null: for permutation p (workgroup y) and factor-column pair (a, b)
// (workgroup x = a * ry + b), the cross moment  C_p[a, b] = sum_t Lx[t, a] * Ly[perm_p(t), b]
// of the centred low-rank Gram factors. Each of 256 threads sums a strided slice, then a tree
// reduction; the host squares and sums C_p in f64. Permutations are Fisher-Yates from the Philox
// permutation stream, generated on the host (the same indices the CPU backend uses).

struct HsicParams {
    n: u32,
    rx: u32,
    ry: u32,
    perms: u32,
}

@group(0) @binding(0) var<uniform> H: HsicParams;
@group(0) @binding(1) var<storage, read> lx: array<f32>;     // n x rx, row-major
@group(0) @binding(2) var<storage, read> ly: array<f32>;     // n x ry, row-major
@group(0) @binding(3) var<storage, read> perm: array<u32>;   // perms x n
@group(0) @binding(4) var<storage, read_write> cross: array<f32>;  // perms x rx x ry

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
