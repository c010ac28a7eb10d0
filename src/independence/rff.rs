//! RCIT and RCoT (Strobl, Zhang & Visweswaran 2019): random Fourier features, as causal-learn
//! 0.1.4.8's `RCIT` / `RIT` (a port of the R package RCIT):
//! * columns standardised (ddof = 1); RCIT appends the standardised Z to Y, RCoT does not;
//! * per variable set, σ = median of the non-zero pairwise distances among the first ≤ 500 rows;
//! * features `√2 cos(W u + b)` with `W = N(0,1)/σ`, `b = U(0, 2π)`: 100 for Z, 5 for X and Y
//!   (RIT, the unconditional test: 5 each); features standardised (ddof = 1);
//! * `Cxy|z = Cxy − Cxz (Czz + 1e-10 I)⁻¹ Czy` (covariances with ddof = 1), statistic
//!   `n ‖Cxy|z‖²_F`; residuals `f − f_z (Czz + 1e-10 I)⁻¹ Cz·`; null: the eigenvalues of the
//!   covariance (divisor n) of the residual products, through LPB4 (falling back to HBE), HBE,
//!   Satterthwaite–Welch, or the normalised χ² statistic.
//!
//! W and b come from Philox (stream tag 3; replicate 0/1/2 for X/Y/Z), so a test is reproducible
//! from its seed; causal-learn draws them from numpy's global generator.

use super::chi2mix;
use super::kci::frob2;
use crate::error::{Error, Result};
use crate::rng::{normal, open_unit, Stream};
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Stream tag of random-feature draws.
pub(crate) const STREAM_FEATURES: u32 = 3;

/// Null approximation of RCIT/RCoT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approx {
    /// Lindsay–Pilla–Basak, 4 moments (falls back to HBE when degenerate), the default.
    Lpb4,
    /// Hall–Buckley–Eagleson.
    Hbe,
    /// Satterthwaite–Welch gamma.
    Gamma,
    /// Normalised χ² statistic.
    Chi2,
}

/// Random Fourier features of one variable set: `w` is `nf × d` row-major, `b` has `nf` entries.
pub struct Features {
    /// Frequencies (already divided by σ), row-major `nf × d`.
    pub w: Vec<f64>,
    /// Phases.
    pub b: Vec<f64>,
}

/// σ: median of the non-zero pairwise distances among the first ≤ 500 rows (row-major `n × d`),
/// or 1 when there is none (as RCIT).
pub(crate) fn median_sigma(rows: &[f64], d: usize) -> f64 {
    super::median_distance(rows, d, 500).unwrap_or(1.0)
}

/// Draws `nf` features for `d` columns with bandwidth `sigma` from the Philox feature stream.
pub(crate) fn draw_features(seed: u64, role: u32, nf: usize, d: usize, sigma: f64) -> Features {
    let s = Stream::new(seed, STREAM_FEATURES);
    let mut w = Vec::with_capacity(nf * d);
    for k in 0..nf * d {
        let words = s.block(role, k as u32);
        w.push(normal(words[0], words[1]) / sigma);
    }
    let b = (0..nf)
        .map(|k| {
            let words = s.block(role, (1 << 30) + k as u32);
            2.0 * std::f64::consts::PI * open_unit(words[0])
        })
        .collect();
    Features { w, b }
}

/// Standardised features `√2 cos(W u + b)` of row-major `rows` (n × d) as an n × nf matrix.
fn feature_matrix(rows: &[f64], d: usize, f: &Features) -> Result<Mat<f64>> {
    let n = rows.len() / d;
    let nf = f.b.len();
    let mut m = Mat::from_fn(n, nf, |i, k| {
        let dot: f64 = (0..d).map(|j| f.w[k * d + j] * rows[i * d + j]).sum();
        std::f64::consts::SQRT_2 * (dot + f.b[k]).cos()
    });
    for k in 0..nf {
        let mean = (0..n).map(|i| m[(i, k)]).sum::<f64>() / n as f64;
        let sd =
            ((0..n).map(|i| (m[(i, k)] - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
        if sd.is_nan() || sd <= 0.0 {
            return Err(Error::param(
                "features",
                "a random Fourier feature is constant on these data",
            ));
        }
        for i in 0..n {
            m[(i, k)] = (m[(i, k)] - mean) / sd;
        }
    }
    Ok(m)
}

/// Statistic and p-value of RCoT/RCIT (`z` given) or RIT (`z` empty) on standardised row-major
/// data with the given features (`fz` unused when unconditional).
/// The parts of RCoT/RCIT that depend on Z alone, shared by every test with the same Z (and
/// features): the standardised Z features, `(Czz + 1e-10 I)⁻¹` and their product.
pub(crate) struct ZPart {
    mz: Mat<f64>,
    icz: Mat<f64>,
    z_icz: Mat<f64>,
}

/// [`ZPart`] of row-major standardised `z` (n × dz) with features `fz`.
pub(crate) fn z_part(z: &[f64], dz: usize, fz: &Features) -> Result<ZPart> {
    let nn = (z.len() / dz) as f64;
    let mz = feature_matrix(z, dz, fz)?;
    let mut czz = mz.transpose() * &mz * (1.0 / (nn - 1.0));
    for k in 0..czz.nrows() {
        czz[(k, k)] += 1e-10;
    }
    // explicit (Czz + 1e-10 I)⁻¹ from its Cholesky factor, products in RCIT's order: the Z
    // features are nearly collinear, so the ridge solve is ill-conditioned and the order of
    // operations shows in the last digits that matter
    let icz = czz
        .llt(Side::Lower)
        .map_err(|_| Error::param("z", "the Z feature covariance is singular"))?
        .inverse();
    let z_icz = &mz * &icz;
    Ok(ZPart { mz, icz, z_icz })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn test(
    x: &[f64],
    dx: usize,
    y: &[f64],
    dy: usize,
    z: Option<&ZPart>,
    fx: &Features,
    fy: &Features,
    approx: Approx,
) -> Result<(f64, f64)> {
    let n = x.len() / dx;
    let nn = n as f64;
    let mx = feature_matrix(x, dx, fx)?;
    let my = feature_matrix(y, dy, fy)?;
    let (cxy, rx, ry) = match z {
        Some(ZPart { mz, icz, z_icz }) => {
            let czx = mz.transpose() * &mx * (1.0 / (nn - 1.0));
            let czy = mz.transpose() * &my * (1.0 / (nn - 1.0));
            let rx = &mx - z_icz * &czx;
            let ry = &my - z_icz * &czy;
            let cxy = mx.transpose() * &my * (1.0 / (nn - 1.0)) - czx.transpose() * icz * &czy;
            (cxy, rx, ry)
        }
        None => {
            let cxy = mx.transpose() * &my * (1.0 / (nn - 1.0));
            (cxy, mx, my)
        }
    };
    let statistic = nn * frob2(&cxy);
    let (px, py) = (rx.ncols(), ry.ncols());
    // products of residual features, (i, j) in row-major order of Cxy|z
    let prod = Mat::from_fn(n, px * py, |t, c| rx[(t, c / py)] * ry[(t, c % py)]);
    let cov = prod.transpose() * &prod * (1.0 / nn);
    let p = match approx {
        Approx::Chi2 => {
            let v = Mat::from_fn(px * py, 1, |c, _| cxy[(c / py, c % py)]);
            let evd = cov
                .self_adjoint_eigen(Side::Lower)
                .map_err(|e| Error::param("rcot", format!("eigendecomposition failed: {e:?}")))?;
            // pseudo-inverse quadratic form with scipy.linalg.pinv's cut-off (max(M, N)·eps·max)
            let s = evd.S().column_vector();
            let u = evd.U();
            let smax = (0..s.nrows()).map(|i| s[i].abs()).fold(0.0, f64::max);
            let mut q = 0.0;
            for k in 0..s.nrows() {
                if s[k].abs() > (px * py) as f64 * f64::EPSILON * smax {
                    let proj: f64 = (0..v.nrows()).map(|r| u[(r, k)] * v[(r, 0)]).sum();
                    q += proj * proj / s[k];
                }
            }
            let stat = nn * q;
            let chi = ChiSquared::new((px * py) as f64)
                .map_err(|e| Error::param("rcot", format!("{e}")))?;
            return Ok((stat, chi.sf(stat).max(0.0)));
        }
        _ => {
            let ev = cov
                .self_adjoint_eigenvalues(Side::Lower)
                .map_err(|e| Error::param("rcot", format!("eigendecomposition failed: {e:?}")))?;
            let lambda: Vec<f64> = ev.into_iter().filter(|&l| l > 0.0).collect();
            if lambda.is_empty() {
                return Err(Error::param(
                    "rcot",
                    "the residual product covariance vanishes",
                ));
            }
            match approx {
                Approx::Gamma => chi2mix::sw(&lambda, statistic),
                Approx::Hbe => chi2mix::hbe(&lambda, statistic),
                _ => chi2mix::lpb4(&lambda, statistic)
                    .filter(|p| !p.is_nan())
                    .unwrap_or_else(|| chi2mix::hbe(&lambda, statistic)),
            }
        }
    };
    Ok((statistic, p.max(0.0)))
}
