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
//!
//! For a one-column Z the 100 Z features are smooth functions of one variable: the CPU holds
//! them as Chebyshev expansions over the data's range (degree about 40, within 1e-16 of the
//! cosines; `zpart::chebyshev_part`), so the Z Gram, `Czx`/`Czy` and the residuals run over ~40
//! columns instead of 100 and no cosine is taken per row (2–3× faster at n ≥ 5000).
//!
//! Both backends return the same [`Moments`] (`Cxy|z` and the residual-product covariance);
//! [`finish`] turns them into the statistic and p-value in f64. The CPU computes them in f64 as
//! RCIT does (explicit `(Czz + 1e-10 I)⁻¹`). The GPU (`src/independence/gpu/rff.rs`) never applies
//! that inverse to f32 data: it uses the ridge basis [`ZPart::basis`], whose `B Bᵀ` is the same
//! ridge hat matrix but whose entries are bounded, so the f32 rounding of bounded features and
//! projections stays ~1e-7 per entry of `Cxy|z`, below the ~1e-5 that the explicit inverse's
//! conditioning already costs the CPU route (unit test `ridge_basis_reproduces_the_ridge_inverse` in `zpart.rs`).

use super::chi2mix;
use super::kci::frob2;
use crate::error::{Error, Result};
use crate::rng::{normal, open_unit, Stream};
use faer::{Mat, Side};
use statrs::distribution::{ChiSquared, ContinuousCDF};

mod features;
mod moments;
mod zpart;

pub(crate) use features::feature_matrix;
use features::{advise_huge_pages, feature_columns};
use moments::{gram, mirror_lower};
pub(crate) use moments::{moments, Moments};
pub(crate) use zpart::{z_part, ZPart};

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
    /// Normalised χ² statistic `n·vec(Cxy|z)ᵀ Cov⁺ vec(Cxy|z)` against χ² with `px·py` degrees of
    /// freedom (`Cov⁺` with scipy's `pinv` cut-off). It inverts the residual-product covariance,
    /// so it is reproducible only where that covariance and `Czz` are well conditioned: it matches
    /// causal-learn to ~1e-13 with 5 Z features (`tests/independence.rs`), not with the default
    /// 100, whose ridge has condition numbers near 1e12. **Not calibrated for conditional
    /// tests** with the default features: at n = 200 on a null fork it rejects about 9 % (RCoT)
    /// and 50 % (RCIT) at α = 0.05 (`tests/calibration.rs`); use the default `Lpb4`, `Hbe` or
    /// `Gamma` (calibrated there) unless you need R `RCIT`'s `approx = "chi2"` numbers.
    Chi2,
}

/// Random Fourier features of one variable set: `w` is `nf × d` row-major, `b` has `nf` entries.
#[derive(Clone, Debug)]
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

/// The error of a random Fourier feature that does not vary (either backend).
pub(crate) fn constant_feature() -> Error {
    Error::param(
        "features",
        "a random Fourier feature is constant on these data",
    )
}

/// Statistic and p-value of RCoT/RCIT (`z` given) or RIT (`z` empty) on standardised row-major
/// data with the given features (the CPU path in one call: the reference-test hook).
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
    let mx = feature_matrix(x, dx, fx)?;
    let my = feature_matrix(y, dy, fy)?;
    finish(x.len() / dx, &moments(&mx, &my, z), approx)
}

/// Statistic `n ‖Cxy|z‖²_F` and p-value from a test's [`Moments`] on `n` rows (f64, host).
pub(crate) fn finish(n: usize, m: &Moments, approx: Approx) -> Result<(f64, f64)> {
    let nn = n as f64;
    let (cxy, cov) = (&m.cxy, &m.cov);
    let (px, py) = (cxy.nrows(), cxy.ncols());
    let statistic = nn * frob2(cxy);
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

/// Data of the unit tests of the submodules.
#[cfg(test)]
mod testdata {
    use crate::rng::{open_unit, Stream};

    pub(super) fn normals(n: usize, tag: u32) -> Vec<f64> {
        let s = Stream::new(21, 90 + tag);
        (0..n)
            .map(|i| {
                let w = s.block(i as u32, 0);
                let (u1, u2) = (open_unit(w[0]), open_unit(w[1]));
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect()
    }

    pub(super) fn standardised(c: &[f64]) -> Vec<f64> {
        let n = c.len() as f64;
        let m = c.iter().sum::<f64>() / n;
        let sd = (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt();
        c.iter().map(|v| (v - m) / sd).collect()
    }
}
