// Contingency counts of chisq/gsq tests, one workgroup per test. Test t reads its descriptor
// (stride STRIDE words): x column, y column, |X|, |Y|, output offset, |S|, then MAXZ conditioning
// columns and MAXZ cardinalities. Each of the 64 threads walks the rows r = lid, lid + 64, ...,
// forms the mixed-radix cell index ((s * |X| + x) * |Y| + y) of the row, s the stratum of the
// conditioning codes, and adds 1 to that cell of the test's table with an integer atomic.
// Counts are exact (u32), so the device's tables equal the CPU's bit for bit.

struct CountParams {
    n: u32,
    tests: u32,
    row: u32,    // workgroups per dispatch row
    pad: u32,
}

const MAXZ: u32 = 8u;
const STRIDE: u32 = 22u;   // 6 + 2 * MAXZ

@group(0) @binding(0) var<uniform> P: CountParams;
@group(0) @binding(1) var<storage, read> codes: array<u32>;   // columns x n
@group(0) @binding(2) var<storage, read> desc: array<u32>;    // tests x STRIDE
@group(0) @binding(3) var<storage, read_write> out: array<atomic<u32>>;

@compute @workgroup_size(64)
fn counts(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = wg.y * P.row + wg.x;
    if (t >= P.tests) { return; }
    let b = t * STRIDE;
    let xc = desc[b] * P.n;
    let yc = desc[b + 1u] * P.n;
    let cx = desc[b + 2u];
    let cy = desc[b + 3u];
    let off = desc[b + 4u];
    let nz = desc[b + 5u];
    for (var r = lid.x; r < P.n; r = r + 64u) {
        var s = 0u;
        for (var k = 0u; k < nz; k = k + 1u) {
            s = s * desc[b + 6u + MAXZ + k] + codes[desc[b + 6u + k] * P.n + r];
        }
        let cell = (s * cx + codes[xc + r]) * cy + codes[yc + r];
        atomicAdd(&out[off + cell], 1u);
    }
}
