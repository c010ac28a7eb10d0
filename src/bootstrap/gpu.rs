//! The bootstrap on the device (`shaders/resample.wgsl` + `sums.wgsl`, `quantile.wgsl`,
//! `draws.wgsl`).
//!
//! A job uploads its data once, then runs in batches of replicates: one submit and one readback
//! per batch (a batch may hold several dispatches, in order). Batches are sized so the output
//! stays within one binding and a dispatch within 65 535 workgroups per dimension. Large inputs
//! are chunked rather than refused: the feature table is split into pages of at most one binding
//! each, four bound at a time, and a table of more pages is summed in several passes over unit
//! ranges (each pass regenerates the same draws and adds those whose unit its pages hold); more
//! than 65 535 chunks of draws per replicate (~1.07e9 draws) run as several dispatches; quantiles
//! count resampled rows exactly in u32 (Bayesian weights in f32). Quantiles of the iid-contract
//! and weight schemes count each unit's weight once per replicate (an iid block's draws in
//! workgroup memory) and then locate the ranks (four dispatches per batch); those of the block
//! schemes search ranks by bisection in short dispatches, one workgroup per chunk of draws.
//! Strata plans whose blocks are not whole strata bind each batch's block totals (drawn on the
//! host, `plan::iid_words`) as the `strata` input.
//!
//! What still refuses (`Error::Gpu { kind: "limits" }`): segments/ranks of a quantile job larger
//! than one binding (more than `max_binding / 4` rows), Bayesian-weight quantiles of 2^24 − 2^16
//! rows or more (f32 sums no longer resolve one rank), integer-weight resamples of 2^31 rows or
//! more, and an output batch of one replicate larger than one binding (e.g. `draws` of more than
//! `max_binding / 4` positions). A sum-based job whose predicted f32 error exceeds 1e-3
//! jackknife standard errors ([`check_conditioning`], run by `mod.rs` before dispatch) is an
//! `Error::Gpu { kind: "numerics" }`, which `Engine::auto` reruns on the CPU.

use super::jobs::{QuantileJob, QuantilePick, SumsJob};
use super::plan::{iid_words, PlanKind, ResamplePlan, RUN};
use super::statistic::SumKind;
use crate::engine::ProgressFn;
use crate::error::Result;
use crate::gpu::dispatch::RawStep;
use crate::gpu::{
    gpu_err, kernels, philox, Context, InFlight, Kernel, Shader, Slot, ITEMS_PER_SUBMIT,
};
use crate::rng::iid_segments;
use std::ops::Range;

/// Threads per workgroup of the bootstrap kernels (`WG` in `shaders/resample.wgsl`).
const WG: u32 = 256;
/// Largest feature count the sums shader accumulates (`MAXK` in `shaders/sums.wgsl`).
pub(crate) const MAX_K: usize = 32;
/// Feature pages bound per pass (bindings 1–4).
const PAGES: usize = 4;

const RESAMPLE: &str = include_str!("../../shaders/resample.wgsl");

/// The layout of every bootstrap kernel: the uniform, seven read-only inputs (four feature
/// pages, strata, segments, ranks) and the output.
pub(super) const LAYOUT: &[Slot] = &[
    Slot::Uniform(0),
    Slot::Read(1),
    Slot::Read(2),
    Slot::Read(3),
    Slot::Read(4),
    Slot::Read(5),
    Slot::Read(6),
    Slot::Read(7),
    Slot::ReadWrite(8),
];

/// Philox + the shared generator (`resample.wgsl`) + `body`.
pub(super) fn resample_source(body: &str) -> String {
    format!("{}\n{RESAMPLE}\n{body}", philox::wgsl())
}

pub(crate) static SUMS_SHADER: Shader = Shader {
    name: "sums",
    source: || resample_source(include_str!("../../shaders/sums.wgsl")),
};
pub(crate) static QUANTILE_SHADER: Shader = Shader {
    name: "quantile",
    source: || resample_source(include_str!("../../shaders/quantile.wgsl")),
};
pub(crate) static DRAWS_SHADER: Shader = Shader {
    name: "draws",
    source: || resample_source(include_str!("../../shaders/draws.wgsl")),
};

kernels!(LAYOUT;
    SUMS = SUMS_SHADER."sums";
    QUANTILE = QUANTILE_SHADER."quantile";
    DRAWS = DRAWS_SHADER."draws";
);

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(super) struct Params {
    pub(super) units: u32,
    pub(super) draws: u32,
    pub(super) k: u32,
    pub(super) scheme: u32,
    pub(super) block_len: u32,
    pub(super) coin_thr: u32,
    pub(super) key0: u32,
    pub(super) key1: u32,
    pub(super) tag: u32,
    pub(super) rep_offset: u32,
    pub(super) n_strata: u32,
    pub(super) page_units: u32,
    pub(super) n_ranks: u32,
    pub(super) normalize: u32,
    pub(super) q: f32,
    pub(super) implicit_count: u32,
    pub(super) unit_lo: u32,
    pub(super) unit_hi: u32,
    pub(super) chunk_offset: u32,
    pub(super) out_base: u32,
    pub(super) phase: u32,
    pub(super) strata_rep0: u32,
    pub(super) _pad: [u32; 2],
}

/// A resampling job's inputs on the device: the feature pages (each within one binding; [`PAGES`]
/// of them are bound per pass), strata, unit segments and ranks, and the job's parameters.
pub(super) struct Upload {
    pub(super) pages: Vec<wgpu::Buffer>,
    /// Bound in place of the pages a pass lacks.
    pub(super) empty: wgpu::Buffer,
    pub(super) strata: wgpu::Buffer,
    /// Blocks of the iid contract (`n_strata` of them), when they are not all whole strata:
    /// their position starts then differ per replicate and are bound per batch
    /// ([`Upload::bind_reps`]).
    blocked: bool,
    /// The largest block total of the last [`Upload::bind_reps`] (the largest stratum block
    /// otherwise).
    max_block_total: u32,
    pub(super) seg: wgpu::Buffer,
    pub(super) ranks: wgpu::Buffer,
    pub(super) params: Params,
}

impl Upload {
    /// Passes over the feature table: one per [`PAGES`] pages (at least one).
    fn passes(&self) -> usize {
        self.pages.len().div_ceil(PAGES).max(1)
    }

    /// The units whose features pass `p` binds.
    fn units(&self, p: usize) -> Range<u32> {
        let span = PAGES as u64 * self.params.page_units as u64;
        let units = self.params.units as u64;
        (units.min(p as u64 * span) as u32)..(units.min((p as u64 + 1) * span) as u32)
    }

    /// Binds the iid block starts of replicates `reps` (a strata plan with blocks; nothing to do
    /// otherwise): `plan::iid_words`, with `strata_rep0 = reps.start`.
    pub(super) fn bind_reps(
        &mut self,
        ctx: &Context,
        plan: &ResamplePlan,
        reps: Range<u32>,
    ) -> Result<()> {
        if self.blocked {
            self.params.strata_rep0 = reps.start;
            let words = iid_words(plan, reps);
            let per = self.params.n_strata as usize + 1;
            self.max_block_total = words[per..]
                .chunks_exact(per)
                .flat_map(|st| st.windows(2).map(|w| w[1] - w[0]))
                .max()
                .unwrap_or(0);
            self.strata = ctx.storage("strata", bytemuck::cast_slice(&words))?;
        }
        Ok(())
    }

    /// The most replicates one batch may bind ([`Upload::bind_reps`] within one binding).
    pub(super) fn max_reps(&self, ctx: &Context) -> u64 {
        if self.blocked {
            let per = self.params.n_strata as u64 + 1;
            (ctx.max_binding / 4 / per).saturating_sub(1).max(1)
        } else {
            u64::MAX
        }
    }

    /// Bindings 1–7 of pass `p`: its four pages, strata, segments, ranks.
    fn inputs(&self, p: usize) -> Vec<&wgpu::Buffer> {
        let mut v: Vec<&wgpu::Buffer> = (0..PAGES)
            .map(|i| self.pages.get(p * PAGES + i).unwrap_or(&self.empty))
            .collect();
        v.extend([&self.strata, &self.seg, &self.ranks]);
        v
    }
}

/// One dispatch of a batch: its parameters, bindings 1..=7 and workgroup grid.
pub(super) type Step<'a> = (Params, Vec<&'a wgpu::Buffer>, (u32, u32));

/// Uploads the job's shared inputs (feature pages, strata, segments, ranks). The feature table
/// is split into pages of whole units, each within one binding; a table of more than
/// [`PAGES`] pages is summed in several passes ([`Upload::passes`]).
pub(super) fn upload(
    ctx: &Context,
    plan: &ResamplePlan,
    k: usize,
    features: Option<&[f64]>,
    seg: &[u32],
    ranks: &[u32],
) -> Result<Upload> {
    let units = plan.units as usize;
    let page_units = if k == 0 {
        units.max(1)
    } else {
        ((ctx.max_binding / (4 * k as u64)) as usize).clamp(1, units.max(1))
    };
    let n_pages = units.div_ceil(page_units).max(1);
    let mut pages = Vec::with_capacity(n_pages);
    if let Some(f) = features {
        for p in 0..n_pages {
            let lo = (p * page_units * k).min(f.len());
            let hi = ((p + 1) * page_units * k).min(f.len());
            let data: Vec<f32> = f[lo..hi].iter().map(|&v| v as f32).collect();
            pages.push(ctx.storage("features", bytemuck::cast_slice(&data))?);
        }
    }
    let (strata, n_strata, blocked) = match &plan.kind {
        PlanKind::Strata { offsets } => {
            let seg = iid_segments(offsets);
            let blocked = seg != *offsets;
            let n = seg.len() as u32 - 1;
            (seg, n, blocked)
        }
        _ => (Vec::new(), 0, false),
    };
    let (block_len, coin_thr) = match plan.kind {
        PlanKind::MovingBlock { len } | PlanKind::CircularBlock { len } => (len, 0),
        PlanKind::Stationary { coin_thr } => (1, coin_thr),
        _ => (1, 0),
    };
    let key = plan.stream.key();
    let params = Params {
        units: plan.units,
        draws: plan.draws(),
        k: k as u32,
        scheme: plan.code(),
        block_len,
        coin_thr,
        key0: key[0],
        key1: key[1],
        tag: plan.stream.tag(),
        rep_offset: 0,
        n_strata,
        page_units: page_units as u32,
        n_ranks: 0,
        normalize: 0,
        q: 0.0,
        implicit_count: 0,
        unit_lo: 0,
        unit_hi: plan.units,
        chunk_offset: 0,
        out_base: 0,
        phase: 0,
        strata_rep0: u32::MAX,
        _pad: [0; 2],
    };
    Ok(Upload {
        pages,
        empty: ctx.storage("features", &[])?,
        strata: ctx.storage("strata", bytemuck::cast_slice(&strata))?,
        blocked,
        max_block_total: strata.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0),
        seg: ctx.storage("segments", bytemuck::cast_slice(seg))?,
        ranks: ctx.storage("ranks", bytemuck::cast_slice(ranks))?,
        params,
    })
}

/// Runs one batch of resampling dispatches (`steps`, in order, sharing one output buffer):
/// one submit, one readback of `out_words`.
pub(super) fn run_steps(
    ctx: &Context,
    kernel: &'static Kernel,
    steps: &[Step],
    out_words: usize,
) -> Result<Vec<u32>> {
    run_steps_read(ctx, kernel, steps, out_words, out_words)
}

/// A submitted batch of replicates and the output offsets of its steps.
type BatchBases = (Range<u32>, Vec<usize>);

/// [`run_steps`] up to the submit ([`Context::wait`] reads the batch back), reading back the
/// first `read_words` of the `out_words`.
fn submit_steps(
    ctx: &Context,
    kernel: &'static Kernel,
    steps: &[Step],
    out_words: usize,
    read_words: usize,
) -> Result<InFlight> {
    let pipe = ctx.pipeline(kernel)?;
    let steps: Vec<RawStep> = steps
        .iter()
        .map(|(params, inputs, groups)| (bytemuck::bytes_of(params), &inputs[..], *groups))
        .collect();
    ctx.dispatch_steps_submit(&pipe, &steps, out_words, read_words)
}

/// [`run_steps`] reading back only the first `read_words` words (the results; the rest of the
/// `out_words` is scratch the steps share on the device).
fn run_steps_read(
    ctx: &Context,
    kernel: &'static Kernel,
    steps: &[Step],
    out_words: usize,
    read_words: usize,
) -> Result<Vec<u32>> {
    ctx.wait(submit_steps(ctx, kernel, steps, out_words, read_words)?)
}

/// Sums of more than [`MAX_K`] features per row (e.g. OLS with many covariates): the features
/// are split into column groups of at most `MAX_K` (the implicit count goes with the last
/// group), each group is one sums job over the same replicates (the same draws, regenerated
/// from their counters), and the groups' sums are interleaved back into feature order.
fn sums_in_groups(
    ctx: &Context,
    job: &SumsJob,
    reps: Range<u32>,
    progress: Option<ProgressFn>,
) -> Result<Vec<f64>> {
    let (k, kk) = (job.k, job.outputs());
    let units = job.features.len() / k.max(1);
    let groups: Vec<Range<usize>> = (0..k)
        .step_by(MAX_K - 1)
        .map(|a| a..(a + MAX_K - 1).min(k))
        .collect();
    let mut out = vec![0.0; reps.len() * kk];
    for (g, cols) in groups.iter().enumerate() {
        let last = g + 1 == groups.len();
        let features: Vec<f64> = job
            .features
            .chunks_exact(k)
            .flat_map(|row| row[cols.clone()].iter().copied())
            .collect();
        debug_assert_eq!(features.len(), units * cols.len());
        let part = SumsJob {
            plan: job.plan,
            k: cols.len(),
            features: &features,
            implicit_count: last && job.implicit_count,
        };
        let width = part.outputs();
        let sums = sums(ctx, &part, reps.clone(), if last { progress } else { None })?;
        for (r, row) in sums.chunks_exact(width).enumerate() {
            out[r * kk + cols.start..r * kk + cols.end].copy_from_slice(&row[..cols.len()]);
            if part.implicit_count {
                out[r * kk + k] = row[cols.len()];
            }
        }
    }
    Ok(out)
}

/// Words of per-replicate state of the quantile kernel (`STATE` in `shaders/quantile.wgsl`).
const QUANTILE_STATE: usize = 10;

/// Positions per chunk (one workgroup of the sums and draws kernels).
pub(super) const CHUNK: u32 = WG * RUN;

/// The chunks covering positions `lo..hi` (at least one).
pub(super) fn chunk_range(lo: u32, hi: u32) -> Range<u32> {
    let a = lo / CHUNK;
    a..hi.div_ceil(CHUNK).max(a + 1)
}

/// `reps.len() × job.outputs()` sums, replicate-major (the device twin of
/// `bootstrap::cpu::sums`).
pub(crate) fn sums(
    ctx: &Context,
    job: &SumsJob,
    reps: Range<u32>,
    progress: Option<ProgressFn>,
) -> Result<Vec<f64>> {
    let k = job.k;
    let kk = job.outputs();
    if kk > MAX_K {
        return sums_in_groups(ctx, job, reps, progress);
    }
    let mut up = upload(ctx, job.plan, k, Some(job.features), &[], &[])?;
    up.params.implicit_count = job.implicit_count as u32;
    let draws = job.plan.draws();
    // One pass per PAGES pages of features, each over the units its pages hold: index schemes
    // draw any unit at any position, so every pass regenerates all the draws; weight schemes
    // draw unit t at position t, so a pass runs only the chunks of its units. Each pass's
    // chunks are split into dispatches within the dispatch limit.
    let weighted = job.plan.is_weighted();
    let mut steps: Vec<(usize, Range<u32>, Range<u32>)> = Vec::new();
    for p in 0..up.passes() {
        let units = up.units(p);
        let chunks = if weighted {
            chunk_range(units.start, units.end)
        } else {
            chunk_range(0, draws)
        };
        steps.extend(ctx.split(chunks).map(|c| (p, units.clone(), c)));
    }
    let chunks_per_rep: u64 = steps.iter().map(|s| s.2.len() as u64).sum();
    let per_rep_words = chunks_per_rep * kk as u64;
    // draws generated per replicate, over all passes
    let generated = (chunks_per_rep * CHUNK as u64).min(draws.max(1) as u64 * up.passes() as u64);
    let per_batch = (ctx.max_binding / 4 / per_rep_words)
        .min(ITEMS_PER_SUBMIT / generated)
        .min(up.max_reps(ctx))
        .max(1);
    let total = reps.len() as u64;
    let mut out = Vec::with_capacity(reps.len() * kk);
    // double-buffered: batch k + 1 is submitted before batch k is read and added up
    let submit = |batch: Range<u32>| -> Result<(BatchBases, InFlight)> {
        let n = batch.len();
        up.bind_reps(ctx, job.plan, batch.clone())?;
        let mut base = 0usize;
        let mut bases = Vec::with_capacity(steps.len());
        let grid: Vec<Step> = steps
            .iter()
            .map(|(p, units, chunks)| {
                let params = Params {
                    rep_offset: batch.start,
                    unit_lo: units.start,
                    unit_hi: units.end,
                    chunk_offset: chunks.start,
                    out_base: base as u32,
                    ..up.params
                };
                bases.push(base);
                base += n * chunks.len() * kk;
                (params, up.inputs(*p), (chunks.len() as u32, n as u32))
            })
            .collect();
        Ok(((batch, bases), submit_steps(ctx, &SUMS, &grid, base, base)?))
    };
    let consume = |(batch, bases): BatchBases, words: Vec<u32>| -> Result<()> {
        let n = batch.len();
        // chunk partials added in f64, in position order within a pass, passes in order
        for r in 0..n {
            for j in 0..kk {
                let mut s = 0.0f64;
                for ((_, _, chunks), &b) in steps.iter().zip(&bases) {
                    let c = chunks.len();
                    for part in words[b + r * c * kk..][..c * kk].chunks_exact(kk) {
                        s += f32::from_bits(part[j]) as f64;
                    }
                }
                out.push(s);
            }
        }
        if let Some(p) = progress {
            p((batch.end - reps.start) as u64, total);
        }
        Ok(())
    };
    ctx.pipelined(ctx.batches(reps.clone(), per_batch), submit, consume)?;
    Ok(out)
}

/// One quantile pick per replicate (the device twin of `bootstrap::cpu::quantiles`).
pub(crate) fn quantiles(
    ctx: &Context,
    job: &QuantileJob,
    reps: Range<u32>,
    progress: Option<ProgressFn>,
) -> Result<Vec<QuantilePick>> {
    let bayesian = job.plan.code() == 5;
    if bayesian && job.n_ranks.max(job.plan.draws()) >= (1 << 24) - (1 << 16) {
        // Bayesian weights are real numbers, summed in f32: one rank is resolved only below
        // 2^24 rows (integer weights are counted exactly in u32)
        return Err(gpu_err(
            "limits",
            format!(
                "quantiles of Bayesian-weighted resamples of {} rows: the device sums real \
                 weights in f32, which resolves one rank only below 2^24 − 2^16 rows",
                job.n_ranks.max(job.plan.draws())
            ),
        ));
    }
    // integer weights: one draw adds weight × (rows of its unit) ≤ 12 × the largest unit
    // (Poisson counts stop at 12), which must stay below 2^31 so that one product never wraps
    let largest = job.seg.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0) as u64;
    let max_weight = if job.plan.is_weighted() { 12 } else { 1 };
    if !bayesian && largest * max_weight >= 1 << 31 {
        return Err(gpu_err(
            "limits",
            format!("a resampling unit of {largest} rows: the device counts resampled rows in u32"),
        ));
    }
    if matches!(job.plan.code(), 0 | 4 | 5) {
        return quantiles_by_counting(ctx, job, reps, progress);
    }
    let mut up = upload(ctx, job.plan, 0, None, job.seg, job.ranks)?;
    up.params.n_ranks = job.n_ranks;
    up.params.normalize = job.normalize as u32;
    up.params.q = job.q as f32;
    // The rank search as a sequence of short dispatches (one submit per batch; see
    // `shaders/quantile.wgsl`): count all rows (phase 0, one workgroup per chunk of draws),
    // init (1), then `steps` bisection steps towards r1 (count 2, update 3), the switch to r2
    // (4), `steps` steps towards r2 (2, 5), and r2 (6). Each replicate's state stays in the
    // output buffer between dispatches, followed by the chunk partials of the last count.
    // (Lavapipe stops an invocation after 65 535 loop iterations, so no dispatch may loop
    // over all the draws, let alone all the passes.)
    let steps = 32 - job.n_ranks.saturating_sub(1).leading_zeros();
    let mut phases = vec![0u32, 1];
    for _ in 0..steps {
        phases.extend([2, 3]);
    }
    phases.push(4);
    for _ in 0..steps {
        phases.extend([2, 5]);
    }
    phases.push(6);
    let draws = job.plan.draws();
    let chunks = chunk_range(0, draws);
    let per_rep_words = (QUANTILE_STATE + chunks.len()) as u64;
    let passes = 2 * steps as u64 + 1;
    let per_batch = (ITEMS_PER_SUBMIT / (passes * draws.max(1) as u64))
        .min(ctx.max_binding / 4 / per_rep_words)
        .min(up.max_reps(ctx))
        .max(1);
    let total = reps.len() as u64;
    let mut out = Vec::with_capacity(reps.len());
    for batch in ctx.batches(reps.clone(), per_batch) {
        let n = batch.len();
        up.bind_reps(ctx, job.plan, batch.clone())?;
        let params = Params {
            rep_offset: batch.start,
            out_base: (n * QUANTILE_STATE) as u32,
            ..up.params
        };
        let mut grid: Vec<Step> = Vec::new();
        for &phase in &phases {
            if phase == 0 || phase == 2 {
                for c in ctx.split(chunks.clone()) {
                    let p = Params {
                        phase,
                        chunk_offset: c.start,
                        ..params
                    };
                    grid.push((p, up.inputs(0), (c.len() as u32, n as u32)));
                }
            } else {
                grid.push((Params { phase, ..params }, up.inputs(0), (1, n as u32)));
            }
        }
        out.extend(picks(ctx, &grid, n * per_rep_words as usize, n, bayesian)?);
        if let Some(p) = progress {
            p((batch.end - reps.start) as u64, total);
        }
    }
    Ok(out)
}

/// Runs a batch's quantile steps (`out_words` words of output) and decodes the `n` replicates'
/// picks; only the picks come back, the counts and rank partials stay on the device.
fn picks(
    ctx: &Context,
    grid: &[Step],
    out_words: usize,
    n: usize,
    bayesian: bool,
) -> Result<Vec<QuantilePick>> {
    let words = run_steps_read(ctx, &QUANTILE, grid, out_words, n * QUANTILE_STATE)?;
    words
        .chunks_exact(QUANTILE_STATE)
        .map(|w| {
            let m = if bayesian {
                f32::from_bits(w[3]) as f64
            } else if w[3] >= 1 << 31 {
                return Err(gpu_err(
                    "limits",
                    format!(
                        "a resample of {} rows or more: the device counts resampled rows in \
                         u32, up to 2^31",
                        w[3]
                    ),
                ));
            } else {
                w[3] as f64
            };
            Ok(QuantilePick {
                r1: w[0],
                r2: w[1],
                h: f32::from_bits(w[2]) as f64,
                m,
            })
        })
        .collect()
}

/// Units per block of the counting path of `shaders/quantile.wgsl` (`QBLOCK`, the iid
/// contract's `IID_BLOCK`).
const QBLOCK: u32 = crate::rng::IID_BLOCK;

/// Quantiles of the iid, stratified, cluster, Poisson and Bayesian schemes (the counting path
/// of `shaders/quantile.wgsl`): each replicate's weight of every unit is counted once (an iid
/// block's draws in workgroup memory), the ranks' weights are summed in chunks, and both ranks
/// are located from the chunk, run and rank sums; four dispatches per batch, as the CPU's
/// `quantiles` counts once and picks.
fn quantiles_by_counting(
    ctx: &Context,
    job: &QuantileJob,
    reps: Range<u32>,
    progress: Option<ProgressFn>,
) -> Result<Vec<QuantilePick>> {
    let bayesian = job.plan.code() == 5;
    let units = job.seg.len() - 1;
    // rank -> unit (bound where the bisection binds the ranks)
    let mut owner = vec![0u32; job.n_ranks as usize];
    for u in 0..units {
        for &r in &job.ranks[job.seg[u] as usize..job.seg[u + 1] as usize] {
            owner[r as usize] = u as u32;
        }
    }
    let mut up = upload(ctx, job.plan, 0, None, job.seg, &owner)?;
    up.params.n_ranks = job.n_ranks;
    up.params.normalize = job.normalize as u32;
    up.params.q = job.q as f32;
    let rank_chunks = job.n_ranks.div_ceil(CHUNK).max(1);
    let fill_groups = if job.plan.code() == 0 {
        up.params.n_strata
    } else {
        job.plan.units.div_ceil(QBLOCK)
    };
    let per_rep_words = QUANTILE_STATE as u64 + rank_chunks as u64 + units as u64;
    let work = job.plan.draws() as u64 + job.n_ranks as u64;
    let per_batch = (ITEMS_PER_SUBMIT / work.max(1))
        .min(ctx.max_binding / 4 / per_rep_words)
        .min(up.max_reps(ctx))
        .max(1);
    let total = reps.len() as u64;
    let mut out = Vec::with_capacity(reps.len());
    for batch in ctx.batches(reps.clone(), per_batch) {
        let n = batch.len();
        up.bind_reps(ctx, job.plan, batch.clone())?;
        if up.max_block_total > 0xffff {
            return Err(gpu_err(
                "limits",
                format!(
                    "a block of {} draws: the device counts a block's draws in 16 bits",
                    up.max_block_total
                ),
            ));
        }
        let params = Params {
            rep_offset: batch.start,
            out_base: (n * QUANTILE_STATE) as u32,
            ..up.params
        };
        let mut grid: Vec<Step> = Vec::new();
        for (phase, groups) in [(10u32, fill_groups), (11, rank_chunks), (12, 1), (13, 1)] {
            for c in ctx.split(0..groups) {
                let p = Params {
                    phase,
                    chunk_offset: c.start,
                    ..params
                };
                grid.push((p, up.inputs(0), (c.len() as u32, n as u32)));
            }
        }
        out.extend(picks(ctx, &grid, n * per_rep_words as usize, n, bayesian)?);
        if let Some(p) = progress {
            p((batch.end - reps.start) as u64, total);
        }
    }
    Ok(out)
}

/// The raw draws of `reps` (`reps.len() × draws`): unit indices for index schemes, integer
/// weights or f32 weight bits for weight schemes.
pub(crate) fn draws(ctx: &Context, plan: &ResamplePlan, reps: Range<u32>) -> Result<Vec<u32>> {
    let mut up = upload(ctx, plan, 0, None, &[], &[])?;
    let draws = plan.draws();
    let per_batch = (ctx.max_binding / 4 / draws.max(1) as u64)
        .min(up.max_reps(ctx))
        .max(1);
    let mut out = Vec::with_capacity(reps.len() * draws as usize);
    for batch in ctx.batches(reps, per_batch) {
        let n = batch.len();
        up.bind_reps(ctx, plan, batch.clone())?;
        let steps: Vec<Step> = ctx
            .split(chunk_range(0, draws))
            .map(|c| {
                let params = Params {
                    rep_offset: batch.start,
                    chunk_offset: c.start,
                    ..up.params
                };
                (params, up.inputs(0), (c.len() as u32, n as u32))
            })
            .collect();
        out.extend(run_steps(ctx, &DRAWS, &steps, n * draws as usize)?);
    }
    Ok(out)
}

/// f32 unit roundoff (2⁻²⁴).
const F32_U: f64 = f32::EPSILON as f64 / 2.0;

/// The largest predicted f32 error of a replicate, in jackknife standard errors, that the device
/// accepts ([`check_conditioning`]): the documented tolerance itself (a GPU replicate within
/// 1e-3 bootstrap standard errors of the CPU's). The model is conservative: on the ill-conditioned
/// cases of issue 19 it predicted 1.2× (`ols:a`, near-collinear) and 3.2× (`corr`, r = 1 − 1.3e-7)
/// the largest replicate error lavapipe showed; on the well-conditioned parity data its
/// predictions stay below 4.2e-4 standard errors (8-covariate OLS the largest).
pub(crate) const MAX_F32_ERROR_SE: f64 = 1e-3;

/// Predicted f32 error of one replicate of a sum-based statistic, from the full-sample f64
/// features: each sum `j` is perturbed, alone and with either sign, by the device's rounding
/// error `δ_j = u · S_j · γ + N · 2⁻¹²⁶` and the changes of the finished statistic are added.
/// `S_j = Σ |f_uj|` (scaled to the draws of a resample); `u = 2⁻²⁴`; the second term allows a
/// flush to zero of each of the `N` drawn terms. `γ = min(RUN + 9, 3 √(2 · 16384 / N))` is a 3σ
/// random-walk bound of the rounding errors of the device's summation order (runs of 64
/// sequential adds, a tree of 256 in a chunk of 16 384 draws, chunks added in f64), capped by the
/// worst case. Infinite when a perturbed statistic is undefined, or a feature overflows f32.
pub(crate) fn f32_error(
    kind: &SumKind,
    k: usize,
    features: &[f64],
    implicit_count: bool,
    draws: u64,
) -> f64 {
    let units = features.len() / k.max(1);
    if units == 0 {
        return 0.0;
    }
    let kk = k + implicit_count as usize;
    let mut total = vec![0.0; kk];
    let mut abs = vec![0.0; k];
    let mut big = 0.0f64;
    for row in features.chunks_exact(k) {
        for j in 0..k {
            total[j] += row[j];
            abs[j] += row[j].abs();
            big = big.max(row[j].abs());
        }
    }
    if implicit_count {
        total[k] = units as f64;
    }
    let n = draws.max(1) as f64;
    let scale = n / units as f64;
    if big > f32::MAX as f64 || abs.iter().any(|s| s * scale > 1e-3 * f32::MAX as f64) {
        return f64::INFINITY;
    }
    let gamma = (RUN as f64 + 9.0).min(3.0 * (2.0 * CHUNK as f64 / n).sqrt());
    let base = kind.finish(&total).0;
    if !base.is_finite() {
        return f64::INFINITY;
    }
    let mut err = 0.0;
    let mut s = total.clone();
    for j in 0..k {
        let delta = (F32_U * abs[j] * gamma + n * f32::MIN_POSITIVE as f64) / scale;
        let mut worst = 0.0f64;
        for sign in [1.0, -1.0] {
            s[j] = total[j] + sign * delta;
            let v = kind.finish(&s).0;
            if !v.is_finite() {
                return f64::INFINITY;
            }
            worst = worst.max((v - base).abs());
        }
        s[j] = total[j];
        err += worst;
    }
    err
}

/// Leave-one-out values computed for the jackknife scale of [`check_conditioning`]: at most
/// this many units, evenly spaced (the standard error's relative sampling error is then about
/// `√(2 / 20 000)` = 1 % for light tails), so the check costs O(n·k) plus 20 000 finishes.
const JACKKNIFE_UNITS: usize = 20_000;

/// The jackknife standard error of a sum-based statistic, `√((n − 1) · var(θ₍ᵢ₎))`, from the
/// leave-one-unit-out values of at most [`JACKKNIFE_UNITS`] evenly spaced units.
fn jackknife_se(kind: &SumKind, k: usize, features: &[f64], implicit_count: bool) -> f64 {
    let units = features.len() / k.max(1);
    let kk = k + implicit_count as usize;
    let mut total = vec![0.0; kk];
    for row in features.chunks_exact(k) {
        total.iter_mut().zip(row).for_each(|(a, v)| *a += v);
    }
    if implicit_count {
        total[k] = units as f64;
    }
    let m = units.min(JACKKNIFE_UNITS);
    let mut s = vec![0.0; kk];
    let vals: Vec<f64> = (0..m)
        .map(|t| {
            let u = (t as u64 * units as u64 / m as u64) as usize;
            let row = &features[u * k..(u + 1) * k];
            for j in 0..k {
                s[j] = total[j] - row[j];
            }
            if implicit_count {
                s[k] = total[k] - 1.0;
            }
            kind.finish(&s).0
        })
        .filter(|v| v.is_finite())
        .collect();
    if vals.len() < 2 {
        return f64::NAN;
    }
    let c = vals.len() as f64;
    let mean = vals.iter().sum::<f64>() / c;
    let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / c;
    ((units as f64 - 1.0) * var).sqrt()
}

/// Refuses a sum-based job whose predicted f32 error ([`f32_error`]) exceeds
/// [`MAX_F32_ERROR_SE`] jackknife standard errors ([`jackknife_se`]) with
/// `Error::Gpu { kind: "numerics" }`: `Engine::auto` then reruns it on the CPU and records the
/// reason in `fallback`; an explicit GPU engine returns the error. A statistic without spread
/// (zero standard error) is refused unless its predicted error is zero.
pub(crate) fn check_conditioning(
    statistic: &str,
    kind: &SumKind,
    k: usize,
    features: &[f64],
    implicit_count: bool,
    draws: u64,
) -> Result<()> {
    let err = f32_error(kind, k, features, implicit_count, draws);
    if err == 0.0 {
        return Ok(());
    }
    let se = jackknife_se(kind, k, features, implicit_count);
    if err <= MAX_F32_ERROR_SE * se {
        return Ok(());
    }
    Err(gpu_err(
        "numerics",
        format!(
            "`{statistic}` is too ill-conditioned for the device's f32 sums: their predicted \
             rounding error moves a replicate by {err:.3e}, {} jackknife standard errors \
             (se {se:.3e}; the device accepts at most {MAX_F32_ERROR_SE:e}); run it on the CPU \
             (`Engine::auto` does so by itself), or rescale or decorrelate the columns",
            if se > 0.0 {
                format!("{:.3e}", err / se)
            } else {
                "infinitely many".into()
            }
        ),
    ))
}
