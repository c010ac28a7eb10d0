// Refit of the effect estimators' nuisance models for a batch of replicates
// (src/bootstrap/refit_gpu.rs). Appended to philox.wgsl + resample.wgsl: the replicates' draws
// come from the shared generator (gen_begin / gen_next), regenerated in every dispatch; no
// per-row weights are stored.
//
// Bindings (resample.wgsl's): f0 the row table, row-major, P.k + 2 values a row
// [x_0 = 1, x_1 .. x_{k-1}, t, y]; f1 the batch's coefficients, 3k a replicate
// [propensity β, control model c0, treated model c1]; seg / ranks the rows of each unit when
// P.n_ranks = 1 (clusters, strata: unit u holds rows ranks[seg[u] .. seg[u + 1]]), else unit u
// is row u. Workgroup (chunk, replicate of the dispatch): 256 threads, each over RUN
// consecutive positions, partial sums reduced in the workgroup; the host adds the chunks' f32
// partials in f64. Output: out[P.out_base + (replicate * chunks + chunk) * width + j].
//
// P.phase: 0 the logistic gradient, width k + 3: Σ w x (t − σ(xβ)) (k), Σ w [|xβ| > 27.631]
//   (rows fitted within 1e-12 of 0 or 1: separation), Σ w over draws, Σ w over rows;
// 1, 2: the control (1) or treated (2) arm's least squares, width k(k+1)/2 + k + 1:
//   Σ w x_a x_b (b ≤ a, row-major lower triangle), Σ w x y, Σ w;
// 3: the estimators' sums, width 14 (src/bootstrap/refit_gpu.rs names them).

const MAXACC: u32 = 128u;
var<workgroup> red: array<f32, 256>;

fn row_of(unit: u32, i: u32) -> u32 {
    if (P.n_ranks == 1u) { return ranks[seg[unit] + i]; }
    return unit;
}

fn rows_of(unit: u32) -> u32 {
    if (P.n_ranks == 1u) { return seg[unit + 1u] - seg[unit]; }
    return 1u;
}

fn x_at(row: u32, a: u32) -> f32 {
    return f0[row * (P.k + 2u) + a];
}

fn coef(rep: u32, which: u32, a: u32) -> f32 {
    return f1[(rep * 3u + which) * P.k + a];
}

fn dot_row(row: u32, rep: u32, which: u32) -> f32 {
    var s = 0.0;
    for (var a = 0u; a < P.k; a = a + 1u) { s = s + x_at(row, a) * coef(rep, which, a); }
    return s;
}

fn width() -> u32 {
    switch P.phase {
        case 0u: { return P.k + 3u; }
        case 1u, 2u: { return P.k * (P.k + 1u) / 2u + P.k + 1u; }
        default: { return 14u; }
    }
}

@compute @workgroup_size(256)
fn refit(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>) {
    let local = wid.y;                   // replicate of this dispatch (row of f1)
    let rep = P.rep_offset + wid.y;      // replicate number (the generator's counter)
    let t0 = ((P.chunk_offset + wid.x) * WG + lid.x) * RUN;
    let k = P.k;
    let q = k * (k + 1u) / 2u;
    var acc: array<f32, MAXACC>;
    for (var j = 0u; j < MAXACC; j = j + 1u) { acc[j] = 0.0; }
    if (t0 < P.draws) {
        var g = gen_begin(rep, t0);
        let t1 = t0 + min(RUN, P.draws - t0);
        for (var t = t0; t < t1; t = t + 1u) {
            let d = gen_next(&g);
            if (d.weight == 0.0) { continue; }
            let w = d.weight;
            if (P.phase == 0u) { acc[k + 1u] = acc[k + 1u] + w; }
            let m = rows_of(d.unit);
            for (var i = 0u; i < m; i = i + 1u) {
                let row = row_of(d.unit, i);
                let tr = x_at(row, k);
                let y = x_at(row, k + 1u);
                switch P.phase {
                    case 0u: {
                        let eta = dot_row(row, local, 0u);
                        let e = 1.0 / (1.0 + exp(-eta));
                        let r = w * (tr - e);
                        for (var a = 0u; a < k; a = a + 1u) {
                            acc[a] = acc[a] + r * x_at(row, a);
                        }
                        if (abs(eta) > 27.631) { acc[k] = acc[k] + w; }
                        acc[k + 2u] = acc[k + 2u] + w;
                    }
                    case 1u, 2u: {
                        if (tr == f32(P.phase - 1u)) {
                            for (var a = 0u; a < k; a = a + 1u) {
                                let wa = w * x_at(row, a);
                                for (var b = 0u; b <= a; b = b + 1u) {
                                    let ab = a * (a + 1u) / 2u + b;
                                    acc[ab] = acc[ab] + wa * x_at(row, b);
                                }
                                acc[q + a] = acc[q + a] + wa * y;
                            }
                            acc[q + k] = acc[q + k] + w;
                        }
                    }
                    default: {
                        // clipped at P.q (0: no clipping)
                        let e = clamp(1.0 / (1.0 + exp(-dot_row(row, local, 0u))), P.q, 1.0 - P.q);
                        let m0 = dot_row(row, local, 1u);
                        let m1 = dot_row(row, local, 2u);
                        acc[0] = acc[0] + w;
                        acc[1] = acc[1] + w * (m1 - m0);
                        if (tr == 1.0) {
                            acc[2] = acc[2] + w;
                            acc[3] = acc[3] + w * y;
                            acc[4] = acc[4] + w / e;
                            acc[5] = acc[5] + w * y / e;
                            acc[6] = acc[6] + w * (y - m1) / e;
                            acc[12] = acc[12] + w * (y - m0);
                        } else {
                            let o = e / (1.0 - e);
                            acc[7] = acc[7] + w / (1.0 - e);
                            acc[8] = acc[8] + w * y / (1.0 - e);
                            acc[9] = acc[9] + w * o;
                            acc[10] = acc[10] + w * y * o;
                            acc[11] = acc[11] + w * (y - m0) / (1.0 - e);
                            acc[13] = acc[13] + w * o * (y - m0);
                        }
                    }
                }
            }
        }
    }
    let kk = width();
    let base = P.out_base + (wid.y * nwg.x + wid.x) * kk;
    for (var j = 0u; j < kk; j = j + 1u) {
        red[lid.x] = acc[j];
        workgroupBarrier();
        for (var s = WG / 2u; s > 0u; s = s >> 1u) {
            if (lid.x < s) { red[lid.x] = red[lid.x] + red[lid.x + s]; }
            workgroupBarrier();
        }
        if (lid.x == 0u) { out[base + j] = bitcast<u32>(red[0]); }
        workgroupBarrier();
    }
}
