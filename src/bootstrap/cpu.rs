//! The bootstrap on the CPU: rayon over replicates (tiles of a few replicates for the sums, see
//! [`sums`]), f64 arithmetic; each replicate's values are computed in its own order, so results
//! do not depend on the number of threads or the tiling.

use super::jobs::{QuantileJob, QuantilePick, SumsJob};
use super::pages;
use super::plan::{Gen, PlanKind, ResamplePlan};
use crate::engine::ProgressFn;
use crate::error::Result;
use crate::rng::IID_BLOCK;
use rayon::prelude::*;
use std::ops::Range;

/// Draws generated ahead of the gathers (keeps many cache misses in flight).
const BUF: usize = 1024;

/// Draws generated (and their rows prefetched) one step ahead of their gathers.
const AHEAD: usize = 128;

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch(features: &[f64], at: usize) {
    if at < features.len() {
        // SAFETY: the pointer is in bounds; a prefetch has no architectural effect.
        unsafe {
            std::arch::x86_64::_mm_prefetch(
                features.as_ptr().add(at) as *const i8,
                std::arch::x86_64::_MM_HINT_T0,
            )
        };
    }
}

/// `acc[j] += Σ_u features[u·k + j]` over the next `draws` units of `gen` (an index scheme).
///
/// The gathers are latency-bound, so the draws come in chunks of [`AHEAD`]: chunk `c + 1` is
/// drawn and its rows prefetched before chunk `c` is summed. Two accumulators (even and odd
/// draws) are flushed into `acc` every [`BUF`] draws; the sums do not depend on the chunking.
fn gather_sums(features: &[f64], k: usize, gen: &mut Gen, draws: usize, acc: &mut [f64]) {
    fn fixed<const K: usize>(features: &[f64], gen: &mut Gen, draws: usize, acc: &mut [f64]) {
        let row = |u: u32| -> &[f64; K] {
            features[u as usize * K..u as usize * K + K]
                .try_into()
                .expect("row of K features")
        };
        let fetch = |units: &[u32]| {
            #[cfg(target_arch = "x86_64")]
            for &u in units {
                prefetch(features, u as usize * K);
            }
            let _ = units;
        };
        let (mut a0, mut a1) = ([0.0f64; K], [0.0f64; K]);
        let mut bufs = [[0u32; AHEAD]; 2];
        let chunks = draws.div_ceil(AHEAD);
        let len_of = |c: usize| AHEAD.min(draws - c * AHEAD);
        if chunks > 0 {
            gen.fill_units(&mut bufs[0][..len_of(0)]);
            fetch(&bufs[0][..len_of(0)]);
        }
        for c in 0..chunks {
            let [b0, b1] = &mut bufs;
            let (cur, next) = if c % 2 == 0 { (b0, b1) } else { (b1, b0) };
            if c + 1 < chunks {
                let n = len_of(c + 1);
                gen.fill_units(&mut next[..n]);
                fetch(&next[..n]);
            }
            let units = &cur[..len_of(c)];
            let pairs = units.chunks_exact(2);
            let last = pairs.remainder();
            for pair in pairs {
                let (r0, r1) = (row(pair[0]), row(pair[1]));
                for j in 0..K {
                    a0[j] += r0[j];
                    a1[j] += r1[j];
                }
            }
            if let [u] = *last {
                let r = row(u);
                for j in 0..K {
                    a0[j] += r[j];
                }
            }
            if ((c + 1) * AHEAD).is_multiple_of(BUF) || c + 1 == chunks {
                for j in 0..K {
                    acc[j] += a0[j] + a1[j];
                }
                (a0, a1) = ([0.0; K], [0.0; K]);
            }
        }
    }
    match k {
        1 => fixed::<1>(features, gen, draws, acc),
        2 => fixed::<2>(features, gen, draws, acc),
        3 => fixed::<3>(features, gen, draws, acc),
        4 => fixed::<4>(features, gen, draws, acc),
        5 => fixed::<5>(features, gen, draws, acc),
        6 => fixed::<6>(features, gen, draws, acc),
        7 => fixed::<7>(features, gen, draws, acc),
        _ => {
            let mut buf = [0u32; BUF];
            let mut t = 0;
            while t < draws {
                let m = BUF.min(draws - t);
                gen.fill_units(&mut buf[..m]);
                for &u in &buf[..m] {
                    let row = &features[u as usize * k..(u as usize + 1) * k];
                    for (a, &f) in acc.iter_mut().zip(row) {
                        *a += f;
                    }
                }
                t += m;
            }
        }
    }
}

/// `acc[j] += Σ features[u·k + j]` over the next `m` units of `gen` (an index scheme), all of
/// them in one block of the iid contract: drawn in one run (so the Philox words come 64 at a
/// time from aligned positions), then summed with four accumulators from a block of the table
/// that is in L1 (no prefetching).
fn block_sums(
    features: &[f64],
    k: usize,
    gen: &mut Gen,
    m: usize,
    buf: &mut Vec<u32>,
    acc: &mut [f64],
) {
    fn fixed<const K: usize>(features: &[f64], units: &[u32], acc: &mut [f64]) {
        let row = |u: u32| -> &[f64; K] {
            features[u as usize * K..u as usize * K + K]
                .try_into()
                .expect("row of K features")
        };
        let mut a = [[0.0f64; K]; 4];
        let quads = units.chunks_exact(4);
        let rest = quads.remainder();
        for q in quads {
            let (r0, r1, r2, r3) = (row(q[0]), row(q[1]), row(q[2]), row(q[3]));
            for j in 0..K {
                a[0][j] += r0[j];
                a[1][j] += r1[j];
                a[2][j] += r2[j];
                a[3][j] += r3[j];
            }
        }
        for (l, &u) in rest.iter().enumerate() {
            let r = row(u);
            for j in 0..K {
                a[l][j] += r[j];
            }
        }
        for j in 0..K {
            acc[j] += (a[0][j] + a[1][j]) + (a[2][j] + a[3][j]);
        }
    }
    if buf.len() < m {
        buf.resize(m, 0);
    }
    let units = &mut buf[..m];
    gen.fill_units(units);
    match k {
        1 => acc[0] += sum1(features, units),
        2 => fixed::<2>(features, units, acc),
        3 => fixed::<3>(features, units, acc),
        4 => fixed::<4>(features, units, acc),
        5 => fixed::<5>(features, units, acc),
        6 => fixed::<6>(features, units, acc),
        7 => fixed::<7>(features, units, acc),
        _ => {
            for &u in units.iter() {
                let row = &features[u as usize * k..(u as usize + 1) * k];
                for (a, &f) in acc.iter_mut().zip(row) {
                    *a += f;
                }
            }
        }
    }
}

/// `Σ features[u]` over `units` (one feature per unit), in a fixed order whatever the CPU:
/// draw `i` of each run of 32 goes to accumulator `i mod 32`; the accumulators are added as
/// eight lanes of four vectors, `(v0 + v1) + (v2 + v3)`, the lanes pairwise
/// (`((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))`), then the last `len mod 32` draws in
/// order. AVX-512 gathers eight features at a time where the CPU has them, else AVX2 four.
fn sum1(features: &[f64], units: &[u32]) -> f64 {
    let runs = units.chunks_exact(32);
    let rest = runs.remainder();
    let mut lanes = [0.0f64; 8];
    let mut done = false;
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && !features.is_empty()
            && features.len() <= i32::MAX as usize
        {
            // SAFETY: AVX-512F is present (checked just above); `features` is not empty and
            // its indices fit the gathers' signed 32-bit offsets.
            lanes = unsafe { gather_lanes_avx512(features, &units[..units.len() - rest.len()]) };
            done = true;
        } else if std::arch::is_x86_feature_detected!("avx2") && !features.is_empty() {
            // SAFETY: AVX2 is present (checked just above); `features` is not empty.
            lanes = unsafe { gather_lanes_avx2(features, &units[..units.len() - rest.len()]) };
            done = true;
        }
    }
    if !done {
        let mut a = [0.0f64; 32];
        for run in runs {
            for (a, &u) in a.iter_mut().zip(run) {
                *a += features[u as usize];
            }
        }
        for (l, v) in lanes.iter_mut().enumerate() {
            *v = (a[l] + a[8 + l]) + (a[16 + l] + a[24 + l]);
        }
    }
    let mut s = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    for &u in rest {
        s += features[u as usize];
    }
    s
}

/// The eight lanes of [`sum1`]'s `(v0 + v1) + (v2 + v3)` over `units` (a multiple of 32 long),
/// by AVX-512 gathers; indices are clamped to the table, so a bad index cannot read outside it
/// (`features` must be non-empty and at most `i32::MAX` long).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn gather_lanes_avx512(features: &[f64], units: &[u32]) -> [f64; 8] {
    use std::arch::x86_64::*;
    let limit = _mm256_set1_epi32((features.len() - 1) as i32);
    let base = features.as_ptr();
    let mut v = [_mm512_setzero_pd(); 4];
    for run in units.chunks_exact(32) {
        for (j, vj) in v.iter_mut().enumerate() {
            let idx = _mm256_loadu_si256(run.as_ptr().add(8 * j) as *const __m256i);
            let idx = _mm256_min_epu32(idx, limit);
            *vj = _mm512_add_pd(*vj, _mm512_i32gather_pd::<8>(idx, base));
        }
    }
    let sum = _mm512_add_pd(_mm512_add_pd(v[0], v[1]), _mm512_add_pd(v[2], v[3]));
    let mut out = [0.0f64; 8];
    _mm512_storeu_pd(out.as_mut_ptr(), sum);
    out
}

/// [`gather_lanes_avx512`] on AVX2: the 32 accumulators as eight vectors of four (vector `j`
/// holds accumulators `4j .. 4j + 4`), so lane `l < 4` of the result is `(v0 + v2) + (v4 + v6)`
/// and lane `4 + l` is `(v1 + v3) + (v5 + v7)`: the same sums in the same order. (Thirty-two
/// scalar accumulators do not fit the sixteen vector registers, and spilled they make every add
/// a load and a store.) Each vector is filled by four scalar loads (indices clamped to the
/// table), which ran the n = 10⁶, B = 10⁴ mean in 4.5–5.1 s on a Zen 3 core pair against
/// 5.4–6.0 s with `vgatherdpd`. `features` must be non-empty.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gather_lanes_avx2(features: &[f64], units: &[u32]) -> [f64; 8] {
    use std::arch::x86_64::*;
    let last = features.len() - 1;
    let mut v = [_mm256_setzero_pd(); 8];
    for run in units.chunks_exact(32) {
        for (j, vj) in v.iter_mut().enumerate() {
            // SAFETY: the index is clamped to the table, so it is in bounds.
            let g = |k: usize| *features.get_unchecked((run[4 * j + k] as usize).min(last));
            *vj = _mm256_add_pd(*vj, _mm256_set_pd(g(3), g(2), g(1), g(0)));
        }
    }
    let lo = _mm256_add_pd(_mm256_add_pd(v[0], v[2]), _mm256_add_pd(v[4], v[6]));
    let hi = _mm256_add_pd(_mm256_add_pd(v[1], v[3]), _mm256_add_pd(v[5], v[7]));
    let mut out = [0.0f64; 8];
    _mm256_storeu_pd(out.as_mut_ptr(), lo);
    _mm256_storeu_pd(out.as_mut_ptr().add(4), hi);
    out
}

/// Replicates per tile, at most: a tile walks the feature table once, block by block, and
/// every replicate of the tile draws (or weighs) that block's rows while it is in L1/L2.
const TILE: usize = 16;

/// Rows per tile step of the weight schemes (a multiple of [`BUF`], so every replicate's sums
/// are added in the same order as row by row).
const WEIGHT_BLOCK: usize = 4 * BUF;

/// `reps.len() × job.outputs()` sums, replicate-major.
///
/// Replicates run in tiles of at most [`TILE`] (fewer when there are few replicates per
/// thread). Index schemes with blocks (the iid contract of [`crate::rng`], strata of more than
/// `IID_BLOCK` units) walk the blocks in order and let every replicate of the tile draw its
/// block total from the block, whose rows are then in L1; weight schemes walk the rows in
/// blocks of [`WEIGHT_BLOCK`] the same way. Each replicate's sums are added in its own position
/// order whatever the tiling, so the results do not depend on tiles or threads.
pub(crate) fn sums(
    job: &SumsJob,
    reps: Range<u32>,
    progress: Option<ProgressFn>,
) -> Result<Vec<f64>> {
    let k = job.k;
    let kk = job.outputs();
    let draws = job.plan.draws();
    let total = reps.len() as u64;
    let ticks = crate::engine::Ticks::new(progress, total, 64);
    let blocked = match &job.plan.kind {
        PlanKind::Strata { offsets } => offsets.windows(2).any(|w| w[1] - w[0] > IID_BLOCK),
        _ => false,
    };
    // Random gathers from a table of several MB go to huge pages when the draws outnumber
    // the rows (the copy then costs far less than the TLB misses it saves); blocked draws
    // stay within one block at a time and need no copy.
    let huge = (!job.plan.is_weighted()
        && !blocked
        && std::mem::size_of_val(job.features) >= pages::MIN_BYTES
        && draws as u64 * total >= 4 * (job.features.len() / k) as u64)
        .then(|| pages::PagedBuf::copy_of(job.features));
    let features = huge.as_ref().map_or(job.features, |t| t.as_slice());
    let mut out = vec![0.0; reps.len() * kk];
    let tile = (reps.len() / (4 * rayon::current_num_threads()).max(1)).clamp(1, TILE);
    let first = reps.start;
    out.par_chunks_mut(kk * tile)
        .enumerate()
        .for_each(|(i, accs)| {
            let r0 = first + (i * tile) as u32;
            let mut gens: Vec<Gen> = (0..accs.len() / kk)
                .map(|r| Gen::new(job.plan, r0 + r as u32, 0))
                .collect();
            if job.plan.is_weighted() {
                // weight schemes stream the rows in order: no gathers
                let mut wbuf = [0.0f64; BUF];
                let mut weight = vec![0.0; gens.len()];
                for b in (0..draws as usize).step_by(WEIGHT_BLOCK) {
                    let b1 = (b + WEIGHT_BLOCK).min(draws as usize);
                    for ((gen, acc), wt) in
                        gens.iter_mut().zip(accs.chunks_mut(kk)).zip(&mut weight)
                    {
                        let mut t = b;
                        while t < b1 {
                            let m = BUF.min(b1 - t);
                            gen.fill_weights(&mut wbuf[..m]);
                            *wt += wbuf[..m].iter().sum::<f64>();
                            let rows = &job.features[t * k..(t + m) * k];
                            for (j, a) in acc[..k].iter_mut().enumerate() {
                                *a += rows
                                    .iter()
                                    .skip(j)
                                    .step_by(k)
                                    .zip(&wbuf[..m])
                                    .map(|(f, w)| f * w)
                                    .sum::<f64>();
                            }
                            t += m;
                        }
                    }
                }
                if job.implicit_count {
                    for (acc, wt) in accs.chunks_mut(kk).zip(&weight) {
                        acc[k] = *wt;
                    }
                }
            } else if blocked {
                // the replicates' block totals, then block by block
                let starts: Vec<Vec<u32>> = gens.iter().map(|g| g.blocks().1.to_vec()).collect();
                let mut buf = Vec::new();
                for s in 0..starts[0].len() - 1 {
                    for ((gen, acc), st) in gens.iter_mut().zip(accs.chunks_mut(kk)).zip(&starts) {
                        let m = (st[s + 1] - st[s]) as usize;
                        block_sums(features, k, gen, m, &mut buf, &mut acc[..k]);
                    }
                }
            } else {
                for (gen, acc) in gens.iter_mut().zip(accs.chunks_mut(kk)) {
                    gather_sums(features, k, gen, draws as usize, &mut acc[..k]);
                }
            }
            for acc in accs.chunks_mut(kk) {
                if job.implicit_count && !job.plan.is_weighted() {
                    acc[k] = draws as f64;
                }
                ticks.tick();
            }
        });
    Ok(out)
}

/// One quantile pick per replicate.
pub(crate) fn quantiles(
    job: &QuantileJob,
    reps: Range<u32>,
    progress: Option<ProgressFn>,
) -> Result<Vec<QuantilePick>> {
    let draws = job.plan.draws() as usize;
    let units = job.seg.len() - 1;
    // the unit that holds each rank (every row belongs to one unit), so a replicate keeps
    // one weight per unit and the pick reads rank r's weight as `w[owner[r]]`
    let mut owner = vec![0u32; job.n_ranks as usize];
    for u in 0..units {
        for &r in &job.ranks[job.seg[u] as usize..job.seg[u + 1] as usize] {
            owner[r as usize] = u as u32;
        }
    }
    let total = reps.len() as u64;
    let ticks = crate::engine::Ticks::new(progress, total, 64);
    Ok(reps
        .into_par_iter()
        .map_init(
            || pages::PagedBuf::zeroed(units),
            |w, rep| {
                let w = w.as_mut_slice();
                let mut gen = Gen::new(job.plan, rep, 0);
                if job.plan.is_weighted() {
                    gen.fill_weights(&mut w[..draws]);
                } else {
                    w.fill(0.0);
                    count_units(&mut gen, draws, w);
                }
                ticks.tick();
                pick(w, &owner, job)
            },
        )
        .collect())
}

/// The raw draws of `reps` (`reps.len() × draws`): unit indices for index schemes, integer
/// weights or f32 weight bits for weight schemes.
pub(crate) fn draws(plan: &ResamplePlan, reps: Range<u32>) -> Result<Vec<u32>> {
    let draws = plan.draws() as usize;
    let weighted = plan.is_weighted();
    let mut out = vec![0u32; reps.len() * draws];
    out.par_chunks_mut(draws.max(1))
        .zip(reps.into_par_iter())
        .for_each(|(row, rep)| {
            let mut gen = Gen::new(plan, rep, 0);
            for v in row.iter_mut() {
                let d = gen.next_draw();
                *v = if weighted { d.wbits } else { d.unit };
            }
        });
    Ok(out)
}

/// `w[u] += 1` for the next `draws` units of `gen` (an index scheme), each chunk of [`AHEAD`]
/// draws prefetched one chunk ahead of its increments (as in [`gather_sums`]).
fn count_units(gen: &mut Gen, draws: usize, w: &mut [f64]) {
    let mut bufs = [[0u32; AHEAD]; 2];
    let chunks = draws.div_ceil(AHEAD);
    let len_of = |c: usize| AHEAD.min(draws - c * AHEAD);
    let fetch = |w: &[f64], units: &[u32]| {
        #[cfg(target_arch = "x86_64")]
        for &u in units {
            prefetch(w, u as usize);
        }
        let _ = (w, units);
    };
    if chunks > 0 {
        gen.fill_units(&mut bufs[0][..len_of(0)]);
        fetch(w, &bufs[0][..len_of(0)]);
    }
    for c in 0..chunks {
        let [b0, b1] = &mut bufs;
        let (cur, next) = if c % 2 == 0 { (b0, b1) } else { (b1, b0) };
        if c + 1 < chunks {
            let n = len_of(c + 1);
            gen.fill_units(&mut next[..n]);
            fetch(w, &next[..n]);
        }
        for &u in &cur[..len_of(c)] {
            w[u as usize] += 1.0;
        }
    }
}

/// Type-7 ranks from per-unit weights `w` (rank `r` weighs `w[owner[r]]`; the CPU twin of
/// `shaders/quantile.wgsl`).
fn pick(w: &[f64], owner: &[u32], job: &QuantileJob) -> QuantilePick {
    // The total weight over ranks: integer weights (index schemes, Poisson) sum exactly in any
    // order, so per unit times its size; Bayesian weights in rank order, as the per-rank counts
    // always were.
    let total: f64 = if job.normalize {
        owner.iter().map(|&u| w[u as usize]).sum()
    } else {
        w.iter()
            .zip(job.seg.windows(2))
            .map(|(&wu, s)| wu * (s[1] - s[0]) as f64)
            .sum()
    };
    // normalised weights sum to n_ranks exactly (as in the shader, not `total * scale`, which
    // carries rounding)
    let (scale, m) = if job.normalize && total > 0.0 {
        (job.n_ranks as f64 / total, job.n_ranks as f64)
    } else {
        (1.0, total)
    };
    if m < 0.5 {
        return QuantilePick {
            r1: u32::MAX,
            r2: u32::MAX,
            h: 0.0,
            m: 0.0,
        };
    }
    // Computed in f32 exactly as the shader does, so both backends pick the same ranks and the
    // same interpolation weight (the weight carries f32 rounding, ~1e-7 of a rank gap).
    let h = ((m as f32 - 1.0) * job.q as f32) as f64;
    let k1 = h.floor() + 1.0;
    let k2 = if k1 + 1.0 <= m { k1 + 1.0 } else { k1 };
    let (mut r1, mut r2) = (None, None);
    let mut cum = 0.0;
    for (r, &u) in owner.iter().enumerate() {
        #[cfg(target_arch = "x86_64")]
        if let Some(&ahead) = owner.get(r + 64) {
            prefetch(w, ahead as usize);
        }
        cum += w[u as usize];
        if r1.is_none() && cum * scale >= k1 {
            r1 = Some(r as u32);
        }
        if cum * scale >= k2 {
            r2 = Some(r as u32);
            break;
        }
    }
    let last = job.n_ranks - 1;
    QuantilePick {
        r1: r1.unwrap_or(last),
        r2: r2.unwrap_or(last),
        h,
        m,
    }
}

/// One replicate's weight of each unit into `w` (`plan.units` long): how often the unit was
/// drawn (index schemes), its Poisson(1) weight, or its Bayesian weight scaled so the weights
/// sum to the number of units (as the sums kernels normalise them).
fn unit_weights(plan: &ResamplePlan, rep: u32, w: &mut [f64]) {
    let mut gen = Gen::new(plan, rep, 0);
    if plan.is_weighted() {
        gen.fill_weights(w);
        if matches!(plan.kind, super::plan::PlanKind::Bayesian) {
            let scale = plan.units as f64 / w.iter().sum::<f64>();
            w.iter_mut().for_each(|v| *v *= scale);
        }
    } else {
        w.fill(0.0);
        count_units(&mut gen, plan.draws() as usize, w);
    }
}

/// Per-row weights from per-unit weights: row `r` gets its unit's weight (`unit_of_row`;
/// `None` when unit `r` is row `r`).
fn row_weights(units: &[f64], unit_of_row: Option<&[u32]>, rows: &mut [f64]) {
    match unit_of_row {
        None => rows.copy_from_slice(units),
        Some(map) => {
            for (r, &u) in rows.iter_mut().zip(map) {
                *r = units[u as usize];
            }
        }
    }
}

/// Replicate `rep`'s weight of each of `rows` rows (as [`custom`] hands them to a closure): what
/// explains a statistic that is undefined in every resample.
pub(crate) fn replicate_row_weights(
    plan: &ResamplePlan,
    unit_of_row: Option<&[u32]>,
    rows: usize,
    rep: u32,
) -> Vec<f64> {
    let mut uw = vec![0.0; plan.units as usize];
    let mut rw = vec![0.0; rows];
    unit_weights(plan, rep, &mut uw);
    row_weights(&uw, unit_of_row, &mut rw);
    rw
}

/// A user statistic on replicates `reps`: `f` gets each replicate's per-row weights (`rows`
/// long) and returns what it computes (e.g. `(value, standard error)`). One replicate per rayon task, so the results do
/// not depend on the thread count.
pub(crate) fn custom<F, T>(
    plan: &ResamplePlan,
    unit_of_row: Option<&[u32]>,
    rows: usize,
    reps: Range<u32>,
    f: &F,
) -> Vec<T>
where
    F: Fn(&[f64]) -> T + Sync,
    T: Send,
{
    reps.into_par_iter()
        .map_init(
            || (vec![0.0; plan.units as usize], vec![0.0; rows]),
            |(uw, rw), rep| {
                unit_weights(plan, rep, uw);
                row_weights(uw, unit_of_row, rw);
                f(rw)
            },
        )
        .collect()
}

/// Leave-one-unit-out values of a user statistic, in unit order: weights 1 except 0 on the rows
/// of the left-out unit (`units_rows[u]`, or row `u` when `None`). `units` calls of `f`.
pub(crate) fn custom_jackknife<F, T>(
    units: usize,
    units_rows: Option<&[Vec<usize>]>,
    rows: usize,
    f: &F,
) -> Vec<T>
where
    F: Fn(&[f64]) -> T + Sync,
    T: Send,
{
    (0..units)
        .into_par_iter()
        .map_init(
            || vec![1.0; rows],
            |w, u| {
                let out: &[usize] = match units_rows {
                    Some(g) => &g[u],
                    None => std::slice::from_ref(&u),
                };
                out.iter().for_each(|&r| w[r] = 0.0);
                let v = f(w);
                out.iter().for_each(|&r| w[r] = 1.0);
                v
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sum1;

    /// `sum1`'s documented order, written out with scalars: whichever SIMD path the CPU takes
    /// (AVX-512, AVX2 or none), the bits must be these.
    fn sum1_model(features: &[f64], units: &[u32]) -> f64 {
        let runs = units.len() / 32 * 32;
        let mut a = [0.0f64; 32];
        for (i, &u) in units[..runs].iter().enumerate() {
            a[i % 32] += features[u as usize];
        }
        let l: Vec<f64> = (0..8)
            .map(|l| (a[l] + a[8 + l]) + (a[16 + l] + a[24 + l]))
            .collect();
        let mut s = ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]));
        for &u in &units[runs..] {
            s += features[u as usize];
        }
        s
    }

    #[test]
    fn sum1_adds_in_the_documented_order_on_every_path() {
        // values of very different magnitudes, so that any other order changes the bits
        let features: Vec<f64> = (0..5000u64)
            .map(|i| ((i * 2_654_435_761) % 1000) as f64 * 10f64.powi((i % 13) as i32 - 6))
            .collect();
        for len in [0usize, 1, 31, 32, 33, 100, 4096, 4131] {
            let units: Vec<u32> = (0..len as u64)
                .map(|i| ((i * 40_503 + 17) % 5000) as u32)
                .collect();
            assert_eq!(
                sum1(&features, &units).to_bits(),
                sum1_model(&features, &units).to_bits(),
                "len {len}"
            );
        }
    }
}
