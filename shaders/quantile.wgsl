// Type-7 quantile of each resample, by bisection over the ranks of the sorted data: one workgroup
// per replicate; every pass regenerates the replicate's draws (counter-based, so no index array is
// stored) and counts the resampled rows whose rank is <= mid. Weights are summed in f32: exact for
// integer weights while the resample has fewer than 2^24 rows.
// Output per replicate: [rank1, rank2, bits(h), bits(m)], rank1 = 0xffffffff when the resample is empty.

var<workgroup> red: array<f32, 256>;

fn count_le(unit: u32, mid: u32) -> u32 {
    var lo = seg[unit];
    var hi = seg[unit + 1u];
    let start = lo;
    while (lo < hi) {
        let m = (lo + hi) / 2u;
        if (ranks[m] <= mid) { lo = m + 1u; } else { hi = m; }
    }
    return lo - start;
}

fn weight_le(rep: u32, lid: u32, mid: u32) -> f32 {
    var c = 0.0;
    let nruns = (P.draws + RUN - 1u) / RUN;
    for (var run = lid; run < nruns; run = run + WG) {
        let t0 = run * RUN;
        var g = gen_begin(rep, t0);
        let t1 = min(t0 + RUN, P.draws);
        for (var t = t0; t < t1; t = t + 1u) {
            let d = gen_next(&g);
            if (d.weight != 0.0) {
                c = c + d.weight * f32(count_le(d.unit, mid));
            }
        }
    }
    red[lid] = c;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
        workgroupBarrier();
    }
    let total = workgroupUniformLoad(&red[0]);
    workgroupBarrier();
    return total;
}

// smallest rank r with scale * W(rank <= r) >= goal
fn select_rank(rep: u32, lid: u32, goal: f32, scale: f32) -> u32 {
    var lo = 0u;
    var hi = P.n_ranks - 1u;
    while (lo < hi) {
        let mid = (lo + hi) / 2u;
        let c = weight_le(rep, lid, mid) * scale;
        if (c >= goal) { hi = mid; } else { lo = mid + 1u; }
    }
    return lo;
}

@compute @workgroup_size(256)
fn quantile(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
    let lid = lid3.x;
    let rep = P.rep_offset + wid.x;
    let total = weight_le(rep, lid, P.n_ranks - 1u);
    var scale = 1.0;
    var m = total;
    if (P.normalize != 0u && total > 0.0) {
        // normalised weights sum to n_ranks by construction; total * scale would carry f32
        // rounding (e.g. 199.99998), and through h = (m - 1) q a different interpolation weight
        // from the CPU's
        scale = f32(P.n_ranks) / total;
        m = f32(P.n_ranks);
    }
    let base = wid.x * 4u;
    if (m < 0.5) {
        if (lid == 0u) {
            out[base] = 0xffffffffu;
            out[base + 1u] = 0xffffffffu;
            out[base + 2u] = 0u;
            out[base + 3u] = 0u;
        }
        return;
    }
    let h = (m - 1.0) * P.q;
    let k1 = floor(h) + 1.0;
    let r1 = select_rank(rep, lid, k1, scale);
    var r2 = r1;
    if (k1 + 1.0 <= m) {
        r2 = select_rank(rep, lid, k1 + 1.0, scale);
    }
    if (lid == 0u) {
        out[base] = r1;
        out[base + 1u] = r2;
        out[base + 2u] = bitcast<u32>(h);
        out[base + 3u] = bitcast<u32>(m);
    }
}
