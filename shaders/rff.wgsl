// RCoT / RCIT / RIT (random Fourier feature CI tests): the O(n) work of a batch of tests.
//
// The host (f64) standardises the data columns, draws W and b, and, per Z set, builds the ridge
// basis B = F_z L^-T / sqrt(n - 1) with L L^T = Czz + 1e-10 I (every ill-conditioned step stays
// on the host). B is bounded (B^T B <= I), so nothing below multiplies f32 data by a large
// coefficient. The device, in order (one submit):
//   feat_moment (mode 0)  raw features sqrt(2) cos(W u + b) of every set, per-tile sums
//   reduce (mode 1)       column means
//   feat_moment (mode 1)  per-tile sums of centred squares
//   reduce (mode 2)       column standard deviations (ddof = 1)
//   feat_std              standardised features, in place
//   proj + reduce         per conditional test: Px = B^T Fx, Py = B^T Fy
//   cov + reduce          per test: M = Fx^T Fy and the sums of the products of the residual
//                         products (upper triangle), residuals R = F - B P (F itself without Z)
// Every sum over rows is a tree: 256-row tiles in workgroup memory (features) or 64-row tiles as
// a private pairwise tree (one output entry per thread), then a tree over the tiles' partials.
// The host forms Cxy|z = (M - Px^T Py) / (n - 1) and the covariance in f64.

struct RffParams {
    n: u32,       // rows
    nf: u32,      // features per set (X and Y alike)
    r: u32,       // Z features (columns of B)
    tiles: u32,   // row tiles of the partials being written or reduced
    count: u32,   // reduce: entries
    row: u32,     // workgroups per dispatch row of 2-D grids
    mode: u32,    // feat_moment: 0 raw sums, 1 centred squares; reduce: 0 sum, 1 mean, 2 sd
    per: u32,     // reduce: entries per destination block
    stride: u32,  // reduce: destination block stride
    out0: u32,    // reduce: first destination
    tot0: u32,    // first word of the test blocks in `tot` (2 x feature columns)
    tout: u32,    // words per test block (e1 + e2)
    e1: u32,      // projection entries per test: 2 nf r
    e2: u32,      // moment entries per test: pp + pp (pp + 1) / 2, pp = nf^2
    sets: u32,    // feature sets
    pad: u32,
}

@group(0) @binding(0) var<uniform> P: RffParams;
// info: sets [d, first word in `cols`, first word in `fw`] each; then tests: [x set, y set, first
// word of the test's basis in `basis` or NONE]
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> cols: array<f32>;    // per set n x d, row-major
@group(0) @binding(3) var<storage, read> fw: array<f32>;      // per set W (nf x d), then b (nf)
@group(0) @binding(4) var<storage, read> basis: array<f32>;   // per Z set n x r, row-major
@group(0) @binding(5) var<storage, read_write> feats: array<f32>;  // column c = set * nf + k: feats[c * n + row]
@group(0) @binding(6) var<storage, read_write> part: array<f32>;   // entry j, tile t: part[j * tiles + t]
@group(0) @binding(7) var<storage, read_write> tot: array<f32>;    // means, sds, then test blocks

const NONE: u32 = 0xffffffffu;
const MAXF: u32 = 8u;      // features per set the moment kernel holds (pp <= 64)
const T64: u32 = 64u;

var<workgroup> red: array<f32, 256>;
var<workgroup> raw: array<f32, 1024>;   // T64 x 2 MAXF: the tile's standardised Fx | Fy
var<workgroup> res: array<f32, 1024>;   // T64 x 2 MAXF: their residuals

// cos with its own range reduction and polynomial, so the features do not depend on the
// driver's cos (Vulkan only promises 2^-11 absolute error on [-pi, pi]): Cody-Waite reduction
// by 2 pi (6.28125 has 8 significant bits, so k * 6.28125 is exact), folding to [0, pi/2], and
// the Taylor polynomial to degree 14 (truncation < 7e-11): about 1 ulp of the reduced argument.
fn cos_f32(x: f32) -> f32 {
    let k = round(x * 0.15915494309189535);
    var y = abs((x - k * 6.28125) - k * 1.9353071795864769e-3);
    var sg = 1.0;
    if (y > 1.5707963267948966) {
        y = 3.141592653589793 - y;
        sg = -1.0;
    }
    let y2 = y * y;
    var p = -1.0 / 87178291200.0;
    p = p * y2 + 1.0 / 479001600.0;
    p = p * y2 - 1.0 / 3628800.0;
    p = p * y2 + 1.0 / 40320.0;
    p = p * y2 - 1.0 / 720.0;
    p = p * y2 + 1.0 / 24.0;
    p = p * y2 - 0.5;
    p = p * y2 + 1.0;
    return sg * p;
}

fn tree256(lid: u32) {
    workgroupBarrier();
    for (var w = 128u; w > 0u; w = w >> 1u) {
        if (lid < w) { red[lid] = red[lid] + red[lid + w]; }
        workgroupBarrier();
    }
}

// Workgroup (tile of 256 rows, feature column c): mode 0 writes the raw features of the tile and
// their sum; mode 1 sums the squares of the features centred on the column mean tot[c].
@compute @workgroup_size(256)
fn feat_moment(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let c = wid.y;
    let row = wid.x * 256u + lid;
    var v = 0.0;
    if (row < P.n) {
        let at = c * P.n + row;
        if (P.mode == 0u) {
            let s = c / P.nf;
            let k = c % P.nf;
            let d = info[3u * s];
            let c0 = info[3u * s + 1u];
            let w0 = info[3u * s + 2u];
            var arg = fw[w0 + P.nf * d + k];
            for (var j = 0u; j < d; j = j + 1u) {
                arg = arg + fw[w0 + k * d + j] * cols[c0 + row * d + j];
            }
            let f = 1.4142135623730951 * cos_f32(arg);
            feats[at] = f;
            v = f;
        } else {
            let e = feats[at] - tot[c];
            v = e * e;
        }
    }
    red[lid] = v;
    tree256(lid);
    if (lid == 0u) {
        part[c * P.tiles + wid.x] = red[0];
    }
}

// Workgroup per entry j: the tree sum of its tile partials, transformed (mode 1: / n, mode 2:
// sqrt(. / (n - 1))), stored at out0 + (j / per) * stride + j % per.
@compute @workgroup_size(256)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let j = wid.y * P.row + wid.x;
    var s = 0.0;
    if (j < P.count) {
        // one partial per thread up to 256 tiles (n <= 16 384 rows of 64, 65 536 of 256);
        // beyond, runs of ceil(tiles / 256) partials
        for (var t = lid; t < P.tiles; t = t + 256u) {
            s = s + part[j * P.tiles + t];
        }
    }
    red[lid] = s;
    tree256(lid);
    if (lid == 0u && j < P.count) {
        var v = red[0];
        if (P.mode == 1u) {
            v = v / f32(P.n);
        } else if (P.mode == 2u) {
            v = sqrt(v / f32(P.n - 1u));
        }
        tot[P.out0 + (j / P.per) * P.stride + j % P.per] = v;
    }
}

// Standardises every feature in place: (f - mean) / sd, one element per thread.
@compute @workgroup_size(256)
fn feat_std(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let idx = (wid.y * P.row + wid.x) * 256u + lid3.x;
    let columns = P.sets * P.nf;
    if (idx >= columns * P.n) { return; }
    let c = idx / P.n;
    feats[idx] = (feats[idx] - tot[c]) / tot[columns + c];
}

fn test_word(t: u32, w: u32) -> u32 {
    return info[3u * P.sets + 3u * t + w];
}

// Workgroup (tile of 64 rows, conditional test t): entry e of Px (e < nf r) or Py, laid out
// a * r + k, one entry per thread at a time, as a private pairwise tree over the tile's rows.
@compute @workgroup_size(64)
fn proj(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let t = wid.y;
    let r0 = wid.x * T64;
    let b0 = test_word(t, 2u);
    let half = P.nf * P.r;
    for (var e = lid3.x; e < P.e1; e = e + T64) {
        var fs = test_word(t, 0u);
        var ee = e;
        if (e >= half) {
            fs = test_word(t, 1u);
            ee = e - half;
        }
        let a = ee / P.r;
        let k = ee % P.r;
        let f0 = (fs * P.nf + a) * P.n;
        var v: array<f32, 64>;
        for (var i = 0u; i < T64; i = i + 1u) {
            let row = r0 + i;
            if (row < P.n) {
                v[i] = basis[b0 + row * P.r + k] * feats[f0 + row];
            } else {
                v[i] = 0.0;
            }
        }
        for (var w = 32u; w > 0u; w = w >> 1u) {
            for (var i = 0u; i < w; i = i + 1u) { v[i] = v[i] + v[i + w]; }
        }
        part[(t * P.e1 + e) * P.tiles + wid.x] = v[0];
    }
}

// Workgroup (tile of 64 rows, test t): each thread first forms its row's features Fx | Fy and
// residuals Rx | Ry (R = F - B P with the reduced P of the test; R = F without Z), then the
// entries, one per thread at a time, as private pairwise trees over the tile: e < pp is
// M[a, b] = sum Fx_a Fy_b (e = a nf + b); the others are the upper triangle (c <= d, row-major)
// of sum (Rx Ry)_c (Rx Ry)_d with product c = a nf + b.
@compute @workgroup_size(64)
fn cov(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let t = wid.y;
    let r0 = wid.x * T64;
    let nf = P.nf;
    let w2 = 2u * MAXF;
    let row = r0 + lid;
    let b0 = test_word(t, 2u);
    let p0 = P.tot0 + t * P.tout;
    for (var side = 0u; side < 2u; side = side + 1u) {
        let fs = test_word(t, side);
        for (var a = 0u; a < nf; a = a + 1u) {
            var f = 0.0;
            var rf = 0.0;
            if (row < P.n) {
                f = feats[(fs * nf + a) * P.n + row];
                rf = f;
                if (b0 != NONE) {
                    let q0 = p0 + (side * nf + a) * P.r;
                    var acc = 0.0;
                    for (var k = 0u; k < P.r; k = k + 1u) {
                        acc = acc + basis[b0 + row * P.r + k] * tot[q0 + k];
                    }
                    rf = f - acc;
                }
            }
            raw[lid * w2 + side * MAXF + a] = f;
            res[lid * w2 + side * MAXF + a] = rf;
        }
    }
    workgroupBarrier();
    let pp = nf * nf;
    for (var e = lid; e < P.e2; e = e + T64) {
        var v: array<f32, 64>;
        if (e < pp) {
            let a = e / nf;
            let b = MAXF + e % nf;
            for (var i = 0u; i < T64; i = i + 1u) {
                v[i] = raw[i * w2 + a] * raw[i * w2 + b];
            }
        } else {
            var q = e - pp;
            var c = 0u;
            loop {
                if (q < pp - c) { break; }
                q = q - (pp - c);
                c = c + 1u;
            }
            let d = c + q;
            let ca = c / nf;
            let cb = MAXF + c % nf;
            let da = d / nf;
            let db = MAXF + d % nf;
            for (var i = 0u; i < T64; i = i + 1u) {
                let o = i * w2;
                v[i] = (res[o + ca] * res[o + cb]) * (res[o + da] * res[o + db]);
            }
        }
        for (var w = 32u; w > 0u; w = w >> 1u) {
            for (var i = 0u; i < w; i = i + 1u) { v[i] = v[i] + v[i + w]; }
        }
        part[(t * P.e2 + e) * P.tiles + wid.x] = v[0];
    }
}
