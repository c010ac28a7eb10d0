// Per-replicate weighted feature sums. Workgroup (chunk, replicate): 256 threads, each summing the
// features of RUN consecutive positions, then a tree reduction; the host adds the chunk partials
// in f64. With implicit_count the total weight is sum number k. A feature table too large for the
// four bound pages runs as several passes over unit ranges: every pass regenerates the same draws
// and adds only those whose unit lies in [unit_lo, unit_hi), so each draw counts in exactly one
// pass; a pass's chunks may be split over several dispatches (chunk_offset). Output
// (kk = k + implicit_count): out[out_base + (replicate_in_dispatch * chunks_in_dispatch + chunk)
// * kk + j] as f32 bits.

const MAXK: u32 = 32u;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let rep = P.rep_offset + wid.y;
    let t0 = ((P.chunk_offset + wid.x) * WG + lid.x) * RUN;
    // k <= 4 (every built-in statistic but OLS with covariates): a vec4 and a scalar in
    // registers, and with one page bound the features read straight from f0 (no page divide);
    // larger k: the dynamically indexed array (local memory)
    let small = P.k <= 4u;
    let one_page = P.unit_hi - P.unit_lo <= P.page_units;
    var a4 = vec4<f32>(0.0);
    var wsum = 0.0;
    var acc: array<f32, MAXK>;
    if (!small) {
        for (var j = 0u; j < MAXK; j = j + 1u) { acc[j] = 0.0; }
    }
    if (t0 < P.draws) {
        var g = gen_begin(rep, t0);
        // t0 + RUN may wrap when draws is within RUN of 2^32
        let t1 = t0 + min(RUN, P.draws - t0);
        for (var t = t0; t < t1; t = t + 1u) {
            let d = gen_next(&g);
            if (d.weight != 0.0 && d.unit >= P.unit_lo && d.unit < P.unit_hi) {
                if (small) {
                    var f = vec4<f32>(0.0);
                    if (one_page) {
                        let o = (d.unit - P.unit_lo) * P.k;
                        f.x = f0[o];
                        if (P.k > 1u) { f.y = f0[o + 1u]; }
                        if (P.k > 2u) { f.z = f0[o + 2u]; }
                        if (P.k > 3u) { f.w = f0[o + 3u]; }
                    } else {
                        f.x = feat(d.unit, 0u);
                        if (P.k > 1u) { f.y = feat(d.unit, 1u); }
                        if (P.k > 2u) { f.z = feat(d.unit, 2u); }
                        if (P.k > 3u) { f.w = feat(d.unit, 3u); }
                    }
                    a4 = a4 + d.weight * f;
                    wsum = wsum + d.weight;
                } else if (one_page) {
                    let o = (d.unit - P.unit_lo) * P.k;
                    for (var j = 0u; j < P.k; j = j + 1u) {
                        acc[j] = acc[j] + d.weight * f0[o + j];
                    }
                    acc[P.k] = acc[P.k] + d.weight;
                } else {
                    for (var j = 0u; j < P.k; j = j + 1u) {
                        acc[j] = acc[j] + d.weight * feat(d.unit, j);
                    }
                    acc[P.k] = acc[P.k] + d.weight;
                }
            }
        }
    }
    let kk = P.k + P.implicit_count;
    let base = P.out_base + (wid.y * nwg.x + wid.x) * kk;
    for (var j = 0u; j < kk; j = j + 1u) {
        var v = 0.0;
        if (!small) {
            v = acc[j];
        } else if (j == P.k) {
            v = wsum;
        } else {
            v = a4[j];
        }
        red[lid.x] = v;
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s = s >> 1u) {
            if (lid.x < s) { red[lid.x] = red[lid.x] + red[lid.x + s]; }
            workgroupBarrier();
        }
        if (lid.x == 0u) { out[base + j] = bitcast<u32>(red[0]); }
        workgroupBarrier();
    }
}
