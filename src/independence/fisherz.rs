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

/// `(statistic, p-value)` from the `k × k` correlation matrix of `(X, Y, Z…)` (X first, Y second)
/// and the row count.
pub(crate) fn test(corr: &Mat<f64>, n: usize) -> Result<(f64, f64)> {
    let k = corr.nrows();
    let dof = n as f64 - (k - 2) as f64 - 3.0;
    if dof <= 0.0 {
        return Err(Error::TooFewRows {
            what: format!("a Fisher-z test with {} conditioning columns", k - 2),
            need: k + 2,
            got: n,
        });
    }
    let llt = corr.llt(Side::Lower).map_err(|_| {
        Error::param(
            "z",
            "the correlation matrix of X, Y and Z is singular (a column is a linear combination of others)",
        )
    })?;
    // a correlation matrix has unit diagonal, so a pivot² below 1e-12 means a column is (to
    // within 1e-12 of its variance) a linear combination of the ones before it
    let l = llt.L();
    if (0..k).any(|i| l[(i, i)] * l[(i, i)] < 1e-12) {
        return Err(Error::param(
            "z",
            "the correlation matrix of X, Y and Z is singular (a column is a linear combination of others)",
        ));
    }
    // columns 0 and 1 of P = R⁻¹
    let e = Mat::from_fn(k, 2, |i, j| if i == j { 1.0 } else { 0.0 });
    let p = llt.solve(&e);
    let (p00, p01, p11) = (p[(0, 0)], p[(0, 1)], p[(1, 1)]);
    if !(p00 > 0.0 && p11 > 0.0 && p01.is_finite()) {
        return Err(Error::param(
            "z",
            "the correlation matrix of X, Y and Z is numerically singular",
        ));
    }
    let mut r = -p01 / (p00 * p11).sqrt();
    if r.abs() >= 1.0 {
        r = (1.0 - f64::EPSILON) * r.signum();
    }
    let stat = dof.sqrt() * r.atanh().abs();
    let p = statrs::function::erf::erfc(stat / std::f64::consts::SQRT_2);
    Ok((stat, p))
}
