// Materialises the draws of replicates (for parity tests and inspection): for index schemes the
// unit drawn at each position, for weight schemes the weight bits (Poisson count or f32 bits).
// out[replicate_in_dispatch * draws + t]. Chunk = chunk_offset + workgroup x (dispatches split in x).

@compute @workgroup_size(256)
fn draws(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let rep = P.rep_offset + wid.y;
    let t0 = ((P.chunk_offset + wid.x) * WG + lid.x) * RUN;
    if (t0 < P.draws) {
        var g = gen_begin(rep, t0);
        let t1 = t0 + min(RUN, P.draws - t0);
        for (var t = t0; t < t1; t = t + 1u) {
            let d = gen_next(&g);
            if (P.scheme >= 4u) {
                out[wid.y * P.draws + t] = d.wbits;
            } else {
                out[wid.y * P.draws + t] = d.unit;
            }
        }
    }
}
