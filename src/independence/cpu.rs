//! The independence tests' kernels on the CPU: rayon over tests and permutations, f64.

use super::jobs::{HsicJob, KciJob, PcorJob, RffJob};
use super::{kci, rff};
use crate::error::Result;
use rayon::prelude::*;
use std::ops::Range;

/// The permuted HSIC statistics of permutations `perms`.
pub(crate) fn hsic_permutations(job: &HsicJob, perms: Range<u32>) -> Result<Vec<f64>> {
    let lx = faer::Mat::from_fn(job.n, job.rx, |i, j| job.lx[i * job.rx + j]);
    Ok(perms
        .into_par_iter()
        .map(|p| {
            let perm = super::permutation(job.seed, p, job.n);
            let lyp =
                faer::Mat::from_fn(job.n, job.ry, |i, j| job.ly[perm[i] as usize * job.ry + j]);
            super::frob2(&(lx.transpose() * &lyp))
        })
        .collect())
}

/// The Fisher–Yates permutations `perms` of `0..n` of the HSIC permutation null (seed
/// `seed`), concatenated (`perms.len() × n` indices; [`super::permutation`]).
pub(crate) fn permutations(seed: u64, n: usize, perms: Range<u32>) -> Result<Vec<u32>> {
    Ok(perms.flat_map(|p| super::permutation(seed, p, n)).collect())
}

/// Draws `draws` of the spectral null `Σ_k w_k g_k²` (draw `d`, weight `k`: the Box–Muller
/// normal of words 0 and 1 of Philox block `(k, d)` of `stream`), in draw order.
pub(crate) fn chi2mix_draws(
    weights: &[f64],
    stream: crate::rng::Stream,
    draws: Range<u32>,
) -> Result<Vec<f64>> {
    Ok(draws
        .into_par_iter()
        .map(|d| {
            let mut total = 0.0;
            for (k, w) in weights.iter().enumerate() {
                let words = stream.block(d, k as u32);
                let g = crate::rng::normal(words[0], words[1]);
                total += w * g * g;
            }
            total
        })
        .collect())
}

/// One partial correlation per test (NaN where the correlation matrix is singular).
pub(crate) fn partial_correlations(job: &PcorJob) -> Result<Vec<f64>> {
    Ok((0..job.tests())
        .into_par_iter()
        .map(|t| super::partial_correlation(&job.submatrix(t)).unwrap_or(f64::NAN))
        .collect())
}

/// The moments of every RCoT/RCIT/RIT test of the job, in test order (outer error: the whole
/// job; inner: its test, e.g. a constant feature).
pub(crate) fn rff_moments(job: &RffJob) -> Result<Vec<Result<rff::Moments>>> {
    // each set's features once (f64), then the tests in parallel
    let mats: Vec<Result<faer::Mat<f64>>> = job
        .sets
        .par_iter()
        .map(|s| rff::feature_matrix(&s.rows, s.d, &s.features))
        .collect();
    Ok(job
        .tests
        .par_iter()
        .map(|t| {
            let mx = mats[t.x].as_ref().map_err(|_| rff::constant_feature())?;
            let my = mats[t.y].as_ref().map_err(|_| rff::constant_feature())?;
            Ok(rff::moments(mx, my, t.z.map(|z| job.zparts[z].as_ref())))
        })
        .collect())
}

/// The statistic and gamma moments of every KCI test of the job, in test order (outer error:
/// the whole job; inner: its test, e.g. a Z kernel that is not positive definite).
pub(crate) fn kci_moments(job: &KciJob) -> Result<Vec<Result<kci::Moments>>> {
    // the f64 route of `kci.rs`; Z-regressions cached in the Z parts, tests in parallel
    Ok(job
        .tests
        .par_iter()
        .map(|t| {
            let (kx, lx) = &job.factors[t.x];
            let (ky, ly) = &job.factors[t.y];
            match t.z {
                None => Ok(kci::unconditional(lx, ly)),
                Some(z) => {
                    let zp = &job.zparts[z];
                    let mx = zp.regressed(kx, lx)?;
                    let my = zp.regressed(ky, ly)?;
                    kci::conditional(&mx, &my, job.threshold)
                }
            }
        })
        .collect())
}
