//! Fisher's z test of zero partial correlation, the linear-Gaussian baseline of causal discovery.
//!
//! As causal-learn's `fisherz`: the partial correlation of X and Y given Z is
//! `r = −P₀₁ / √(P₀₀ P₁₁)` with `P` the inverse of the correlation matrix of `(X, Y, Z)`; `|r|` is
//! clipped below 1; the statistic is `√(n − |Z| − 3) · |atanh r|` and the p-value its two-sided
//! standard-normal tail (computed as `erfc`, so tiny p-values keep their digits where causal-learn's
//! `2 (1 − Φ)` rounds to 0).

use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

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
