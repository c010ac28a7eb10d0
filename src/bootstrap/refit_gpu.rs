//! The batched refit of [`refit.rs`](super::refit) on the device (`shaders/refit.wgsl`), for a
//! GPU engine (no trimming, no cross-fitting).
//!
//! Each dispatch covers a batch of up to 256 replicates; the kernel regenerates every
//! replicate's draws from its Philox counters through the shared generator
//! (`shaders/resample.wgsl`), so no per-row weights are stored, and sums in f32 per workgroup;
//! the host adds the workgroups' partials in f64. Per batch:
//! * the propensity: the same preconditioned fixed-point iteration as on the CPU, one dispatch
//!   per step giving every replicate's gradient `Σ w x (t − σ(xβ))`, its total weight and how
//!   much weight sits on rows fitted within 1e-12 of 0 or 1 (separation); the step
//!   `P_r⁻¹ g_r` (`k × k`, Cholesky) runs on the host in f64: it is `O(k³)` per replicate
//!   against the kernel's `O(n k)`, so the device would gain nothing, and f64 keeps the solve
//!   exact for the ill-conditioned designs where f32 would fail. The tolerance is f32's: the
//!   iteration stops when the estimated distance to the solution is at most
//!   `1e-6 · (1 + max|β|)` (f32 gradients resolve about 1e-7 of their terms), and a replicate
//!   whose steps stop shrinking by half is fit by the exact Newton fit on the host in f64
//!   (with the CPU's failure rules);
//! * AIPW's outcome models (AIPW-ATT: the control arm's only): one dispatch per arm gives every replicate's Gram matrix,
//!   right-hand side and arm weight (an arm of weight 0 fails the replicate, as does a Gram
//!   matrix that is not positive definite), solved on the host in f64. **Not matched to the
//!   CPU's rule**: the CPU fails an arm with no more *distinct* drawn rows than coefficients
//!   (`k`); the device sees only sums over draws, which cannot count distinct rows. Counting
//!   them needs a per-row flag per replicate (`n/32` words per replicate, 256 replicates a
//!   batch, set with atomics in a read-write binding the shared resample layout does not have,
//!   then a pass to count them per arm), and the usual shortcut, Cauchy–Schwarz
//!   `distinct ≥ (Σ w)² / Σ W²` with `W` a row's total weight, needs `Σ W²` per row, not the
//!   per-draw `Σ w²` the kernel could sum (a row drawn twice as two draws of weight 1 counts 2,
//!   not 4). Fewer than `k` distinct rows make the Gram matrix singular in exact arithmetic,
//!   but its f32 sums can round it to positive definite; exactly `k` distinct rows (least
//!   squares an interpolation) pass. In both cases the device gives a value where the CPU
//!   reports a failed resample. This needs an arm of a handful of rows; on data whose smaller
//!   arm holds a few dozen rows or more it does not occur in practice (`tests/gpu/refit.rs`
//!   checks the failed counts agree);
//! * one dispatch gives the sums every estimator needs (module docs of `effect.rs`).
//!
//! Replicates agree with the CPU's to f32 accuracy (`tests/gpu/refit.rs` states the bound).
//! Refused with `Error::Gpu { kind: "limits" }` (so that `Engine::auto` reruns on the CPU): more
//! than 13 covariates (the kernel's 128 accumulators), a row table or unit map larger than one
//! binding.

use super::effect::Estimator;
use super::gpu::{chunk_range, resample_source, run_steps, upload, Params, Step, Upload, LAYOUT};
use super::plan::{PlanKind, ResamplePlan};
use super::refit::Batched;
use crate::error::Result;
use crate::gpu::{gpu_err, kernels, Context, Shader};

static REFIT_SHADER: Shader = Shader {
    name: "refit",
    source: || resample_source(include_str!("../../shaders/refit.wgsl")),
};

kernels!(LAYOUT;
    REFIT = REFIT_SHADER."refit";
);

/// Accumulators per thread (`MAXACC` in `shaders/refit.wgsl`).
const MAX_ACC: usize = 128;
/// Replicates per batch (the grid's y dimension).
const BATCH: u32 = 256;
/// Steps of the fixed-point iteration before a replicate goes to the host's Newton fit.
const MAX_STEPS: usize = 100;
/// The f32 path's tolerance on the estimated distance to the solution (module docs).
const TOL: f64 = 1e-6;

/// The replicates `0..reps` of the batched refit on the device; `newton(rep)` is the host's
/// exact value of replicate `rep` (for the replicates whose iteration does not contract).
pub(crate) fn replicates(
    ctx: &Context,
    b: &Batched,
    plan: &ResamplePlan,
    groups: Option<&[Vec<usize>]>,
    reps: u32,
    newton: &(dyn Fn(u32) -> f64 + Sync),
) -> Result<Vec<f64>> {
    let cols = b.cols;
    let (n, k) = (cols.n(), cols.k);
    let q = k * (k + 1) / 2;
    if q + k + 1 > MAX_ACC {
        return Err(gpu_err(
            "limits",
            format!(
                "{} covariates: the refit kernel holds at most 13 (its {MAX_ACC} accumulators)",
                k - 1
            ),
        ));
    }
    let mut table = Vec::with_capacity(n * (k + 2));
    for i in 0..n {
        table.extend(cols.row(i).iter().map(|&v| v as f32));
        table.push(cols.t[i] as f32);
        table.push(cols.y[i] as f32);
    }
    let (seg, ranks): (Vec<u32>, Vec<u32>) = match groups {
        Some(g) => {
            let mut seg = vec![0u32];
            let mut ranks = Vec::with_capacity(n);
            for rows in g {
                ranks.extend(rows.iter().map(|&r| r as u32));
                seg.push(ranks.len() as u32);
            }
            (seg, ranks)
        }
        None => (Vec::new(), Vec::new()),
    };
    let bytes = (table.len().max(ranks.len()) * 4) as u64;
    if bytes > ctx.max_binding {
        return Err(gpu_err(
            "limits",
            format!("a refit row table of {bytes} bytes is larger than one binding"),
        ));
    }
    let mut up = upload(ctx, plan, k, None, &seg, &ranks)?;
    up.params.n_ranks = groups.is_some() as u32;
    up.params.q = b.clip.unwrap_or(0.0) as f32;
    let rows = ctx.storage("refit rows", bytemuck::cast_slice(&table))?;
    let chunks: Vec<_> = ctx.split(chunk_range(0, plan.draws())).collect();
    let per_rep: usize = chunks.iter().map(|c| c.len()).sum();
    let bayesian = matches!(plan.kind, PlanKind::Bayesian);
    // one dispatch per chunk range; the f64 sums of every replicate's partials
    // `up` is an argument: each batch binds its own iid block totals first (`bind_reps`)
    let run =
        |up: &Upload, phase: u32, batch: std::ops::Range<u32>, coefs: &[f32]| -> Result<Vec<f64>> {
            let width = match phase {
                0 => k + 3,
                1 | 2 => q + k + 1,
                _ => 14,
            };
            let coef = ctx.storage("refit coefficients", bytemuck::cast_slice(coefs))?;
            let r = batch.len();
            let mut base = 0usize;
            let mut bases = Vec::with_capacity(chunks.len());
            let steps: Vec<Step> = chunks
                .iter()
                .map(|c| {
                    let params = Params {
                        rep_offset: batch.start,
                        chunk_offset: c.start,
                        out_base: base as u32,
                        phase,
                        ..up.params
                    };
                    bases.push(base);
                    base += r * c.len() * width;
                    let inputs = vec![
                        &rows, &coef, &up.empty, &up.empty, &up.strata, &up.seg, &up.ranks,
                    ];
                    (params, inputs, (c.len() as u32, r as u32))
                })
                .collect();
            let words = run_steps(ctx, &REFIT, &steps, base)?;
            let mut out = vec![0.0f64; r * width];
            for (c, &b0) in chunks.iter().zip(&bases) {
                for rep in 0..r {
                    for part in
                        words[b0 + rep * c.len() * width..][..c.len() * width].chunks_exact(width)
                    {
                        for (o, &w) in out[rep * width..(rep + 1) * width].iter_mut().zip(part) {
                            *o += f32::from_bits(w) as f64;
                        }
                    }
                }
            }
            Ok(out)
        };
    if (BATCH as usize * per_rep * (q + k + 1).max(14) * 4) as u64 > ctx.max_binding {
        return Err(gpu_err(
            "limits",
            "a refit batch's output is larger than one binding",
        ));
    }
    let lambda = b.penalty;
    let mut values = Vec::with_capacity(reps as usize);
    let mut start = 0u32;
    let batch_len = (BATCH as u64).min(up.max_reps(ctx)) as u32;
    while start < reps {
        let batch = start..(start + batch_len).min(reps);
        start = batch.end;
        up.bind_reps(ctx, plan, batch.clone())?;
        let r = batch.len();
        // per replicate: [β, c0, c1]
        let mut coefs = vec![0.0f64; r * 3 * k];
        for c in 0..r {
            coefs[c * 3 * k..c * 3 * k + k].copy_from_slice(&cols.start);
        }
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            Active,
            Done,
            Failed,
            Newton,
        }
        let mut state = vec![State::Active; r];
        let mut last = vec![f64::INFINITY; r];
        for it in 0..MAX_STEPS {
            if !state.contains(&State::Active) {
                break;
            }
            let g = run(&up, 0, batch.clone(), &f32s(&coefs))?;
            for c in 0..r {
                if state[c] != State::Active {
                    continue;
                }
                let gc = &g[c * (k + 3)..(c + 1) * (k + 3)];
                let (separated, draws_w, rows_w) = (gc[k], gc[k + 1], gc[k + 2]);
                // Bayesian weights: scaled to sum to the number of units, as on the CPU
                let scale = if bayesian {
                    plan.units as f64 / draws_w
                } else {
                    1.0
                };
                let beta = &mut coefs[c * 3 * k..c * 3 * k + k];
                let mut step: Vec<f64> = (0..k)
                    .map(|a| scale * gc[a] - if a > 0 { lambda * beta[a] } else { 0.0 })
                    .collect();
                let mut p: Vec<f64> = b.h0.iter().map(|h| h * scale * rows_w / n as f64).collect();
                for j in 1..k {
                    p[j * k + j] += lambda;
                }
                if !super::refit::cholesky(&mut p, k) {
                    state[c] = State::Newton;
                    continue;
                }
                super::refit::cholesky_solve(&p, k, &mut step);
                let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
                let rho = if it == 0 { 0.5 } else { largest / last[c] };
                if !largest.is_finite() || (it >= 2 && rho > 0.5) {
                    state[c] = State::Newton;
                    continue;
                }
                let size = beta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                if largest / (1.0 - rho.min(0.5)) <= TOL * (1.0 + size) {
                    state[c] = if separated > 0.0 {
                        State::Failed
                    } else {
                        State::Done
                    };
                    continue;
                }
                beta.iter_mut().zip(&step).for_each(|(v, s)| *v += s);
                last[c] = largest;
            }
        }
        let arms = match b.estimator {
            Estimator::Aipw => 2,
            Estimator::AipwAtt => 1,
            _ => 0,
        };
        if arms > 0 {
            for arm in 0..arms {
                let gram = run(&up, 1 + arm as u32, batch.clone(), &f32s(&coefs))?;
                for c in 0..r {
                    if state[c] != State::Done {
                        continue;
                    }
                    let gc = &gram[c * (q + k + 1)..(c + 1) * (q + k + 1)];
                    let mut h = vec![0.0; k * k];
                    for a in 0..k {
                        for bb in 0..=a {
                            h[a * k + bb] = gc[a * (a + 1) / 2 + bb];
                            h[bb * k + a] = gc[a * (a + 1) / 2 + bb];
                        }
                    }
                    let mut rhs = gc[q..q + k].to_vec();
                    if gc[q + k] > 0.0 && super::refit::cholesky(&mut h, k) {
                        super::refit::cholesky_solve(&h, k, &mut rhs);
                        let at = c * 3 * k + (1 + arm) * k;
                        coefs[at..at + k].copy_from_slice(&rhs);
                    } else {
                        state[c] = State::Failed;
                    }
                }
            }
        }
        let s = run(&up, 3, batch.clone(), &f32s(&coefs))?;
        for c in 0..r {
            let v = match state[c] {
                State::Done => {
                    let s = &s[c * 14..(c + 1) * 14];
                    if s[2] <= 0.0 || s[0] - s[2] <= 0.0 {
                        f64::NAN
                    } else {
                        match b.estimator {
                            Estimator::Ipw => (s[5] - s[8]) / s[0],
                            Estimator::Hajek => s[5] / s[4] - s[8] / s[7],
                            Estimator::Att => s[3] / s[2] - s[10] / s[9],
                            Estimator::Aipw => (s[1] + s[6] - s[11]) / s[0],
                            Estimator::AipwAtt => (s[12] - s[13]) / s[2],
                        }
                    }
                }
                State::Failed => f64::NAN,
                State::Active | State::Newton => newton(batch.start + c as u32),
            };
            values.push(if v.is_finite() { v } else { f64::NAN });
        }
    }
    Ok(values)
}
