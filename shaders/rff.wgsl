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
//   proj + reduce_cols    per distinct (set, Z) pair of the conditional tests: P = B^T F (a
//                         batch of 1000 |Z| = 1 tests on 16 columns has at most 16 x 15 such
//                         pairs, against 2000 projections when done per test)
//   resid                 per distinct (set, Z) pair: residuals R = F - B P (the basis rows of
//                         a tile staged in workgroup memory 16 columns at a time by consecutive
//                         threads: coalesced, not read row by row)
//   cov + reduce_cols     per test: M = Fx^T Fy and the sums of the products of the residual
//                         products (upper triangle; R = F itself without Z)
// Every sum over rows is a tree: 256-row tiles in workgroup memory (features) or 64-row tiles as
// a tree of eight sequential 8-row sums in registers (one output entry per thread), then a tree
// over the tiles' partials.
// The host forms Cxy|z = (M - Px^T Py) / (n - 1) and the covariance in f64.

struct RffParams {
    n: u32,       // rows
    nf: u32,      // features per set (X and Y alike)
    r: u32,       // Z features (columns of B)
    tiles: u32,   // row tiles of the partials being written or reduced
    count: u32,   // reduce, reduce_cols: entries; proj, cov: entries of the partials per tile
    row: u32,     // workgroups per dispatch row of 2-D grids
    mode: u32,    // feat_moment: 0 raw sums, 1 centred squares; reduce: 0 sum, 1 mean, 2 sd
    per: u32,     // reduce: entries per destination block
    stride: u32,  // reduce: destination block stride
    out0: u32,    // reduce: first destination
    tot0: u32,    // first word of the test blocks in `tot` (2 x feature columns)
    tout: u32,    // words per test block (e2)
    e1: u32,      // entries per projection: nf r
    e2: u32,      // moment entries per test: pp + pp (pp + 1) / 2, pp = nf^2
    sets: u32,    // feature sets
    pinfo: u32,   // first word of the projection records in `info`
}

@group(0) @binding(0) var<uniform> P: RffParams;
// info: sets [d, first word in `cols`, first word in `fw`] each; then tests: [x set, y set, first
// word of the test's basis in `basis` or NONE, its X and Y projections (indices) or NONE]; then
// from pinfo projections: [set, first word of the basis]
@group(0) @binding(1) var<storage, read> info: array<u32>;
@group(0) @binding(2) var<storage, read> cols: array<f32>;    // per set n x d, row-major
@group(0) @binding(3) var<storage, read> fw: array<f32>;      // per set W (nf x d), then b (nf)
@group(0) @binding(4) var<storage, read> basis: array<f32>;   // per Z set n x r, row-major
@group(0) @binding(5) var<storage, read_write> feats: array<f32>;  // column c = set * nf + k: feats[c * n + row]; then the residual columns
@group(0) @binding(6) var<storage, read_write> part: array<f32>;   // entry j, tile t: part[j * tiles + t]
@group(0) @binding(7) var<storage, read_write> tot: array<f32>;    // means, sds, test blocks, projections

const NONE: u32 = 0xffffffffu;
const MAXF: u32 = 8u;      // features per set the moment kernel holds (pp <= 64)
const T64: u32 = 64u;

var<workgroup> red: array<f32, 256>;
var<workgroup> raw: array<f32, 1024>;   // T64 x 2 MAXF: the tile's standardised Fx | Fy
var<workgroup> res: array<f32, 1024>;   // T64 x 2 MAXF: their residuals
var<workgroup> bt: array<f32, 1024>;    // T64 x BK: a chunk of the tile's basis rows
const BK: u32 = 16u;

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

// Thread per entry j (of proj's or cov's tile partials, laid out part[tile * count + j], so
// that both the writers' and this kernel's neighbouring threads touch neighbouring words): the
// sum over the tiles, 8 at a time with the 8-tile sums compensated (Kahan), stored at
// out0 + (j / per) * stride + j % per.
@compute @workgroup_size(64)
fn reduce_cols(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let j = (wid.y * P.row + wid.x) * 64u + lid3.x;
    if (j >= P.count) { return; }
    var sum = 0.0;
    var comp = 0.0;
    for (var t0 = 0u; t0 < P.tiles; t0 = t0 + 8u) {
        var c = 0.0;
        for (var t = t0; t < min(t0 + 8u, P.tiles); t = t + 1u) {
            c = c + part[t * P.count + j];
        }
        let y = c - comp;
        let u = sum + y;
        comp = (u - sum) - y;
        sum = u;
    }
    tot[P.out0 + (j / P.per) * P.stride + j % P.per] = sum;
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
    return info[3u * P.sets + 5u * t + w];
}

// Row sums over a 64-row tile: eight sequential sums of 8 rows, added as a tree (error about
// 10 eps of the sum of the terms' magnitudes), in registers (no dynamically indexed array).

// sum over rows r0 .. r0 + 8 (below n) of basis[b + row r] feats[f0 + row]
fn proj8(r0: u32, b: u32, f0: u32) -> f32 {
    var s = 0.0;
    for (var row = r0; row < min(r0 + 8u, P.n); row = row + 1u) {
        s = s + basis[b + row * P.r] * feats[f0 + row];
    }
    return s;
}

// sum over tile rows i0 .. i0 + 8 of raw[a] raw[b] (moment) or (res[c] res[c']) (res[d] res[d'])
fn cov8(i0: u32, k: vec4<u32>, moment: bool) -> f32 {
    let w2 = 2u * MAXF;
    var s = 0.0;
    if (moment) {
        for (var i = i0; i < i0 + 8u; i = i + 1u) {
            s = s + raw[i * w2 + k.x] * raw[i * w2 + k.y];
        }
    } else {
        for (var i = i0; i < i0 + 8u; i = i + 1u) {
            let o = i * w2;
            s = s + (res[o + k.x] * res[o + k.y]) * (res[o + k.z] * res[o + k.w]);
        }
    }
    return s;
}

// Workgroup (tile of 64 rows, projection j): entry e = a r + k of P = B^T F (F the set's nf
// features), one entry per thread at a time, summed over the tile's rows by proj8.
@compute @workgroup_size(64)
fn proj(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let j = wid.y;
    let r0 = wid.x * T64;
    let fs = info[P.pinfo + 2u * j];
    let b0 = info[P.pinfo + 2u * j + 1u];
    for (var e = lid3.x; e < P.e1; e = e + T64) {
        let a = e / P.r;
        let k = e % P.r;
        let f0 = (fs * P.nf + a) * P.n;
        let b = b0 + k;
        let s = ((proj8(r0, b, f0) + proj8(r0 + 8u, b, f0)) + (proj8(r0 + 16u, b, f0) + proj8(r0 + 24u, b, f0)))
            + ((proj8(r0 + 32u, b, f0) + proj8(r0 + 40u, b, f0)) + (proj8(r0 + 48u, b, f0) + proj8(r0 + 56u, b, f0)));
        part[wid.x * P.count + j * P.e1 + e] = s;
    }
}

// Workgroup (tile of 64 rows, projection j of set s): the residuals R = F - B P of the set's
// features, one row per thread, into the residual columns of `feats` (after the feature
// columns: column sets nf + j nf + a). The basis rows of the tile are staged in workgroup memory
// BK columns at a time by consecutive threads (coalesced); P is read from tot[out0 + j e1].
@compute @workgroup_size(64)
fn resid(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let j = wid.y;
    let r0 = wid.x * T64;
    let row = r0 + lid;
    let nf = P.nf;
    let fs = info[P.pinfo + 2u * j];
    let b0 = info[P.pinfo + 2u * j + 1u];
    let q0 = P.out0 + j * P.e1;
    for (var a = 0u; a < nf; a = a + 1u) {
        res[lid * MAXF + a] = 0.0;
    }
    for (var k0 = 0u; k0 < P.r; k0 = k0 + BK) {
        workgroupBarrier();
        for (var m = 0u; m < BK; m = m + 1u) {
            let e = m * T64 + lid;
            let i = e / BK;
            let k = k0 + e % BK;
            var v = 0.0;
            if (r0 + i < P.n && k < P.r) {
                v = basis[b0 + (r0 + i) * P.r + k];
            }
            bt[e] = v;
        }
        workgroupBarrier();
        let kn = min(BK, P.r - k0);
        for (var a = 0u; a < nf; a = a + 1u) {
            var acc = 0.0;
            for (var kk = 0u; kk < kn; kk = kk + 1u) {
                acc = acc + bt[lid * BK + kk] * tot[q0 + a * P.r + k0 + kk];
            }
            res[lid * MAXF + a] = res[lid * MAXF + a] + acc;
        }
    }
    if (row < P.n) {
        let columns = P.sets * nf;
        for (var a = 0u; a < nf; a = a + 1u) {
            feats[(columns + j * nf + a) * P.n + row] = feats[(fs * nf + a) * P.n + row] - res[lid * MAXF + a];
        }
    }
}

// Workgroup (tile of 64 rows, test t): each thread first reads its row's features Fx | Fy and
// residuals Rx | Ry (from resid, per (set, Z) pair; R = F without Z) into workgroup memory, then the
// entries, one per thread at a time, summed over the tile's rows by cov8: e < pp is
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
    let columns = P.sets * nf;
    for (var side = 0u; side < 2u; side = side + 1u) {
        let fs = test_word(t, side);
        let j = test_word(t, 3u + side);
        for (var a = 0u; a < nf; a = a + 1u) {
            var f = 0.0;
            var rf = 0.0;
            if (row < P.n) {
                f = feats[(fs * nf + a) * P.n + row];
                rf = f;
                if (b0 != NONE) {
                    rf = feats[(columns + j * nf + a) * P.n + row];
                }
            }
            raw[lid * w2 + side * MAXF + a] = f;
            res[lid * w2 + side * MAXF + a] = rf;
        }
    }
    workgroupBarrier();
    let pp = nf * nf;
    for (var e = lid; e < P.e2; e = e + T64) {
        var k = vec4<u32>(0u);
        let moment = e < pp;
        if (moment) {
            k = vec4<u32>(e / nf, MAXF + e % nf, 0u, 0u);
        } else {
            var q = e - pp;
            var c = 0u;
            loop {
                if (q < pp - c) { break; }
                q = q - (pp - c);
                c = c + 1u;
            }
            let d = c + q;
            k = vec4<u32>(c / nf, MAXF + c % nf, d / nf, MAXF + d % nf);
        }
        let s = ((cov8(0u, k, moment) + cov8(8u, k, moment)) + (cov8(16u, k, moment) + cov8(24u, k, moment)))
            + ((cov8(32u, k, moment) + cov8(40u, k, moment)) + (cov8(48u, k, moment) + cov8(56u, k, moment)));
        part[wid.x * P.count + t * P.e2 + e] = s;
    }
}
