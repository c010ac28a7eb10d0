// Fisher-z partial correlations, one test per thread. Test t is (x, y | S) with |S| = depth
// (the same for every test of a dispatch, as in one level of PC). With R the correlation matrix
// (computed in f64 on the host, stored as f32), the conditional 2 x 2 covariance of (x, y) given
// S is the Schur complement  C = R_xy - W^T W,  W = L^-1 R_S,xy,  R_SS = L L^T (Cholesky), and
// r = C01 / sqrt(C00 C11). A pivot^2 below 1e-6 (a conditioning column within 1e-6 of a linear
// combination of the others, at f32 precision) or a non-positive C00 / C11 gives NaN: the host
// reports the matrix as singular.

struct PcorParams {
    p: u32,
    depth: u32,
    tests: u32,
    row: u32,   // tests per dispatch row (workgroups.x * 64)
}

@group(0) @binding(0) var<uniform> P: PcorParams;
@group(0) @binding(1) var<storage, read> corr: array<f32>;   // p x p
@group(0) @binding(2) var<storage, read> pairs: array<u32>;  // tests x 2
@group(0) @binding(3) var<storage, read> sets: array<u32>;   // tests x depth
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const MAXD: u32 = 16u;

@compute @workgroup_size(64)
fn pcor(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.y * P.row + gid.x;
    if (t >= P.tests) { return; }
    let d = P.depth;
    let x = pairs[2u * t];
    let y = pairs[2u * t + 1u];
    var l: array<f32, 256>;   // MAXD x MAXD, lower triangle of the Cholesky factor
    var w: array<f32, 32>;    // MAXD x 2
    // Cholesky of R_SS, row by row
    for (var i = 0u; i < d; i = i + 1u) {
        let si = sets[t * d + i];
        for (var j = 0u; j <= i; j = j + 1u) {
            let sj = sets[t * d + j];
            var s = corr[si * P.p + sj];
            for (var k = 0u; k < j; k = k + 1u) {
                s = s - l[i * MAXD + k] * l[j * MAXD + k];
            }
            if (i == j) {
                if (s < 1e-6) {
                    out[t] = bitcast<f32>(0x7fc00000u);
                    return;
                }
                l[i * MAXD + i] = sqrt(s);
            } else {
                l[i * MAXD + j] = s / l[j * MAXD + j];
            }
        }
    }
    // forward substitution L W = R_S,xy
    for (var i = 0u; i < d; i = i + 1u) {
        let si = sets[t * d + i];
        var a = corr[si * P.p + x];
        var b = corr[si * P.p + y];
        for (var k = 0u; k < i; k = k + 1u) {
            a = a - l[i * MAXD + k] * w[2u * k];
            b = b - l[i * MAXD + k] * w[2u * k + 1u];
        }
        w[2u * i] = a / l[i * MAXD + i];
        w[2u * i + 1u] = b / l[i * MAXD + i];
    }
    var c00 = 1.0;
    var c11 = 1.0;
    var c01 = corr[x * P.p + y];
    for (var k = 0u; k < d; k = k + 1u) {
        c00 = c00 - w[2u * k] * w[2u * k];
        c11 = c11 - w[2u * k + 1u] * w[2u * k + 1u];
        c01 = c01 - w[2u * k] * w[2u * k + 1u];
    }
    if (c00 <= 0.0 || c11 <= 0.0) {
        out[t] = bitcast<f32>(0x7fc00000u);
        return;
    }
    out[t] = c01 / sqrt(c00 * c11);
}
