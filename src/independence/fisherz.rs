//! Fisher's z test of zero partial correlation, the linear-Gaussian baseline of causal discovery.
//!
//! As causal-learn's `fisherz`: the partial correlation of X and Y given Z is
//! `r = −P₀₁ / √(P₀₀ P₁₁)` with `P` the inverse of the correlation matrix of `(X, Y, Z)`; `|r|` is
//! clipped below 1; the statistic is `√(n − |Z| − 3) · |atanh r|` and the p-value its two-sided
//! standard-normal tail (computed as `erfc`, so tiny p-values keep their digits where causal-learn's
//! `2 (1 − Φ)` rounds to 0).
//!
//! Also the Fisher-z batch of a [`super::Tester`]: one correlation matrix for every query, the
//! partial correlations on the engine's backend.

use super::cache::Cache;
use super::cpu;
#[cfg(feature = "gpu")]
use super::gpu;
use super::{IndependenceTest, TestResult};
use crate::data::Dataset;
use crate::engine::{run_on, Engine};
use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use std::collections::HashMap;
use std::time::Instant;

/// Pearson correlation of two finite, non-constant columns of equal length.
pub(crate) fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (u, v) = (x - ma, y - mb);
        sab += u * v;
        saa += u * u;
        sbb += v * v;
    }
    (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0)
}

/// Checks that `n` rows leave a positive `n − |Z| − 3`.
pub(crate) fn check_rows(n: usize, conditioning: usize) -> Result<()> {
    if n < conditioning + 4 {
        return Err(Error::TooFewRows {
            what: format!("a Fisher-z test with {conditioning} conditioning columns"),
            need: conditioning + 4,
            got: n,
        });
    }
    Ok(())
}

fn singular() -> Error {
    Error::param(
        "z",
        "the correlation matrix of X, Y and Z is singular (a column is a linear combination of others)",
    )
}

/// The partial correlation of X and Y given Z from the correlation matrix of `(X, Y, Z…)`.
pub(crate) fn partial_correlation(corr: &Mat<f64>) -> Result<f64> {
    let k = corr.nrows();
    let llt = corr.llt(Side::Lower).map_err(|_| singular())?;
    // a correlation matrix has unit diagonal, so a pivot² below 1e-12 means a column is (to
    // within 1e-12 of its variance) a linear combination of the ones before it
    let l = llt.L();
    if (0..k).any(|i| l[(i, i)] * l[(i, i)] < 1e-12) {
        return Err(singular());
    }
    // columns 0 and 1 of P = R⁻¹
    let e = Mat::from_fn(k, 2, |i, j| if i == j { 1.0 } else { 0.0 });
    let p = llt.solve(&e);
    let (p00, p01, p11) = (p[(0, 0)], p[(0, 1)], p[(1, 1)]);
    if !(p00 > 0.0 && p11 > 0.0 && p01.is_finite()) {
        return Err(singular());
    }
    Ok(-p01 / (p00 * p11).sqrt())
}

/// `(statistic, p-value)` of a partial correlation `r` over `n` rows with `conditioning`
/// columns (NaN `r`: a singular matrix, reported as such).
pub(crate) fn finish(r: f64, n: usize, conditioning: usize) -> Result<(f64, f64)> {
    if r.is_nan() {
        return Err(singular());
    }
    check_rows(n, conditioning)?;
    let mut r = r.clamp(-1.0, 1.0);
    if r.abs() >= 1.0 {
        r = (1.0 - f64::EPSILON) * r.signum();
    }
    let dof = (n - conditioning - 3) as f64;
    let stat = dof.sqrt() * r.atanh().abs();
    let p = statrs::function::erf::erfc(stat / std::f64::consts::SQRT_2);
    Ok((stat, p))
}

impl IndependenceTest {
    /// Fisher-z tests of a batch of checked queries: one correlation matrix (f64, host) shared
    /// by all, the partial correlations on the engine's backend (one dispatch per
    /// conditioning-set size), the p-values in f64.
    pub(super) fn fisher_z_batch(
        &self,
        engine: &Engine,
        data: &Dataset,
        queries: &[(&[&str], &[&str], &[&str])],
        cache: &Cache,
    ) -> Vec<Result<TestResult>> {
        let start = Instant::now();
        let n = data.n_rows();
        let mut out: Vec<Option<Result<TestResult>>> = (0..queries.len()).map(|_| None).collect();
        // columns in first-use order, each checked once per batch (a column that passed is not
        // looked up again: no key allocation or cache lock per query)
        let mut cols: Vec<&str> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut ok: Vec<usize> = Vec::new();
        for (q, (x, y, z)) in queries.iter().enumerate() {
            let checked = x
                .iter()
                .chain(y.iter())
                .chain(z.iter())
                .try_for_each(|c| {
                    if index.contains_key(c) {
                        return Ok(());
                    }
                    cache.std_column(data, c)?;
                    index.insert(c, cols.len() as u32);
                    cols.push(c);
                    Ok(())
                })
                .and_then(|_| check_rows(n, z.len()));
            match checked {
                Err(e) => out[q] = Some(Err(e)),
                Ok(()) => ok.push(q),
            }
        }
        let p = cols.len();
        let mut corr = vec![1.0; p * p];
        for i in 0..p {
            for j in 0..i {
                match cache.correlation(data, cols[i], cols[j]) {
                    Ok(r) => {
                        corr[i * p + j] = r;
                        corr[j * p + i] = r;
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        return queries
                            .iter()
                            .map(|_| Err(Error::param("data", msg.clone())))
                            .collect();
                    }
                }
            }
        }
        let idx = |c: &str| index[c];
        let mut depths: Vec<usize> = ok.iter().map(|&q| queries[q].2.len()).collect();
        depths.sort_unstable();
        depths.dedup();
        for depth in depths {
            let group: Vec<usize> = ok
                .iter()
                .copied()
                .filter(|&q| queries[q].2.len() == depth)
                .collect();
            let pairs: Vec<u32> = group
                .iter()
                .flat_map(|&q| [idx(queries[q].0[0]), idx(queries[q].1[0])])
                .collect();
            let sets: Vec<u32> = group
                .iter()
                .flat_map(|&q| queries[q].2.iter().map(|c| idx(c)))
                .collect();
            let job = super::jobs::PcorJob {
                p,
                corr: &corr,
                depth,
                pairs: &pairs,
                sets: &sets,
            };
            match run_on!(engine, cpu: cpu::partial_correlations(&job), gpu: |ctx| gpu::partial_correlations(ctx, &job))
            {
                Err(e) => {
                    for &q in &group {
                        out[q] = Some(Err(match &e {
                            Error::Gpu { kind, message } => Error::Gpu {
                                kind,
                                message: message.clone(),
                            },
                            other => Error::param("test", other.to_string()),
                        }));
                    }
                }
                Ok((rs, ran)) => {
                    for (&q, &r) in group.iter().zip(&rs) {
                        out[q] = Some(finish(r, n, depth).map(|sp| {
                            self.result(queries[q], sp, n, "normal".into(), ran.label(""), start)
                        }));
                    }
                }
            }
        }
        out.into_iter()
            .map(|r| r.expect("every query answered"))
            .collect()
    }
}
