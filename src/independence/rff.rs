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
//! Both backends return the same [`Moments`] (`Cxy|z` and the residual-product covariance);
//! [`finish`] turns them into the statistic and p-value in f64. The CPU computes them in f64 as
//! RCIT does (explicit `(Czz + 1e-10 I)⁻¹`). The GPU (`src/independence/gpu/rff.rs`) never applies
//! that inverse to f32 data: it uses the ridge basis [`ZPart::basis`], whose `B Bᵀ` is the same
//! ridge hat matrix but whose entries are bounded, so the f32 rounding of bounded features and
//! projections stays ~1e-7 per entry of `Cxy|z`, below the ~1e-5 that the explicit inverse's
//! conditioning already costs the CPU route (unit test below).

use super::chi2mix;
use super::kci::frob2;
use crate::error::{Error, Result};
use crate::rng::{normal, open_unit, Stream};
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::sync::OnceLock;

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

/// Standardised features `√2 cos(W u + b)` of row-major `rows` (n × d) as an n × nf matrix.
pub(crate) fn feature_matrix(rows: &[f64], d: usize, f: &Features) -> Result<Mat<f64>> {
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
            return Err(constant_feature());
        }
        for i in 0..n {
            m[(i, k)] = (m[(i, k)] - mean) / sd;
        }
    }
    Ok(m)
}

/// The error of a random Fourier feature that does not vary (either backend).
pub(crate) fn constant_feature() -> Error {
    Error::param(
        "features",
        "a random Fourier feature is constant on these data",
    )
}

/// The parts of RCoT/RCIT that depend on Z alone, shared by every test with the same Z (and
/// features): the standardised Z features, `(Czz + 1e-10 I)⁻¹` and their product; for the GPU
/// path, also the ridge basis (see [`ZPart::basis`]).
pub(crate) struct ZPart {
    mz: Mat<f64>,
    icz: Mat<f64>,
    /// `F_z (Czz + 1e-10 I)⁻¹`, built on first use (the CPU route; the GPU uses the basis).
    z_icz: OnceLock<Mat<f64>>,
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    /// Lower Cholesky factor `L` of `Czz + 1e-10 I`.
    chol: Mat<f64>,
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    basis: OnceLock<Vec<f32>>,
}

impl ZPart {
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    /// Number of Z features.
    pub(crate) fn features(&self) -> usize {
        self.mz.ncols()
    }

    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    /// The ridge basis `B = F_z L⁻ᵀ / √(n − 1)` (row-major `n × nf_z`, computed once in f64 on
    /// the host, rounded to f32 for the device), where `L Lᵀ = Czz + 1e-10 I`. It carries the
    /// whole ill-conditioned ridge: `B Bᵀ = F_z (Czz + 1e-10 I)⁻¹ F_zᵀ / (n − 1)` is the ridge
    /// hat matrix, so the residual of a feature matrix `F` is `F − B (Bᵀ F)` and
    /// `Czx ᵀ (Czz + 1e-10 I)⁻¹ Czy = (Bᵀ F_x)ᵀ (Bᵀ F_y) / (n − 1)`. Unlike the ridge
    /// coefficients (entries up to ~1e6 with condition numbers ~1e12), `B` is bounded:
    /// `BᵀB = I − 1e-10 (Czz + 1e-10 I)⁻¹ ≼ I`, so every column has norm at most 1 and
    /// products with it cannot cancel catastrophically in f32.
    pub(crate) fn basis(&self) -> &[f32] {
        self.basis.get_or_init(|| {
            let b = self.basis_f64();
            let mut out = Vec::with_capacity(b.nrows() * b.ncols());
            for i in 0..b.nrows() {
                for k in 0..b.ncols() {
                    out.push(b[(i, k)] as f32);
                }
            }
            out
        })
    }

    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    /// [`ZPart::basis`] in f64 (`n × nf_z`).
    fn basis_f64(&self) -> Mat<f64> {
        let n = self.mz.nrows();
        // L Bᵀ = F_zᵀ, then scaled
        let mut bt = self.mz.transpose().to_owned();
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            self.chol.as_ref(),
            bt.as_mut(),
            faer::Par::Seq,
        );
        bt.transpose() * (1.0 / ((n as f64) - 1.0).sqrt())
    }
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
    let llt = czz
        .llt(Side::Lower)
        .map_err(|_| Error::param("z", "the Z feature covariance is singular"))?;
    let icz = llt.inverse();
    let chol = llt.L().to_owned();
    Ok(ZPart {
        mz,
        icz,
        z_icz: OnceLock::new(),
        chol,
        basis: OnceLock::new(),
    })
}

/// What the null of one test needs from the data: `Cxy|z` (`px × py`, ddof = 1) and the
/// covariance (divisor n) of the residual products (`px·py × px·py`, product `(i, j)` at
/// `i·py + j`). Both backends return this; the p-value is then computed in f64 on the host.
pub(crate) struct Moments {
    pub cxy: Mat<f64>,
    pub cov: Mat<f64>,
}

/// [`Moments`] of standardised feature matrices `mx`, `my` (f64, the CPU path).
pub(crate) fn moments(mx: &Mat<f64>, my: &Mat<f64>, z: Option<&ZPart>) -> Moments {
    let n = mx.nrows();
    let nn = n as f64;
    let (cxy, rx, ry) = match z {
        Some(zp @ ZPart { mz, icz, .. }) => {
            let z_icz = zp.z_icz.get_or_init(|| mz * icz);
            let czx = mz.transpose() * mx * (1.0 / (nn - 1.0));
            let czy = mz.transpose() * my * (1.0 / (nn - 1.0));
            let rx = mx - z_icz * &czx;
            let ry = my - z_icz * &czy;
            let cxy = mx.transpose() * my * (1.0 / (nn - 1.0)) - czx.transpose() * icz * &czy;
            (cxy, rx, ry)
        }
        None => {
            let cxy = mx.transpose() * my * (1.0 / (nn - 1.0));
            (cxy, mx.to_owned(), my.to_owned())
        }
    };
    let (px, py) = (rx.ncols(), ry.ncols());
    // products of residual features, (i, j) in row-major order of Cxy|z
    let prod = Mat::from_fn(n, px * py, |t, c| rx[(t, c / py)] * ry[(t, c % py)]);
    let cov = prod.transpose() * &prod * (1.0 / nn);
    Moments { cxy, cov }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{open_unit, Stream};

    fn normals(n: usize, tag: u32) -> Vec<f64> {
        let s = Stream::new(21, 90 + tag);
        (0..n)
            .map(|i| {
                let w = s.block(i as u32, 0);
                let (u1, u2) = (open_unit(w[0]), open_unit(w[1]));
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
            .collect()
    }

    fn standardised(c: &[f64]) -> Vec<f64> {
        let n = c.len() as f64;
        let m = c.iter().sum::<f64>() / n;
        let sd = (c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0)).sqrt();
        c.iter().map(|v| (v - m) / sd).collect()
    }

    /// The device's algebra (the ridge basis B = F_z L⁻ᵀ/√(n−1)) against two f64 references on
    /// a Z set whose `Czz + 1e-10 I` has condition number ~6e11: an independent route through
    /// the eigenvectors of Czz (`F_z V (S + λ)^(−½)/√(n−1)`) agrees to ~3e-10 in Cxy|z, while
    /// the CPU's explicit inverse in RCIT's order (kept to match causal-learn) differs from both
    /// by ~1e-5: the CPU route's own rounding, amplified by the conditioning. B stays bounded
    /// (BᵀB = I − λ(Czz + λI)⁻¹ ≼ I), which is what makes its f32 copy safe on the device.
    #[test]
    fn ridge_basis_reproduces_the_ridge_inverse() {
        let n = 600;
        let nn = n as f64;
        let a = standardised(&normals(n, 0));
        let e = normals(n, 1);
        let x: Vec<f64> = (0..n).map(|i| (1.3 * a[i]).sin() + 0.5 * e[i]).collect();
        let x = standardised(&x);
        let fz = draw_features(3, 2, 100, 1, median_sigma(&a, 1));
        let fx = draw_features(3, 0, 5, 1, median_sigma(&x, 1));
        let zp = z_part(&a, 1, &fz).unwrap();
        let icz_ev = zp.icz.self_adjoint_eigenvalues(Side::Lower).unwrap();
        assert!(
            icz_ev[icz_ev.len() - 1] / icz_ev[0] > 1e11,
            "not ill-conditioned"
        );
        let mx = feature_matrix(&x, 1, &fx).unwrap();
        let worst = |a: &Mat<f64>, b: &Mat<f64>| {
            let mut w = 0.0f64;
            for i in 0..a.nrows() {
                for j in 0..a.ncols() {
                    w = w.max((a[(i, j)] - b[(i, j)]).abs());
                }
            }
            w
        };
        // route of the device (in f64 here)
        let b = zp.basis_f64();
        let btb = b.transpose() * &b;
        for k in 0..btb.nrows() {
            assert!(btb[(k, k)] <= 1.0 + 1e-9, "{}", btb[(k, k)]);
        }
        let px = b.transpose() * &mx;
        let cxy = (mx.transpose() * &mx - px.transpose() * &px) * (1.0 / (nn - 1.0));
        let rx = &mx - &b * &px;
        // independent route: eigenvectors of Czz
        let czz = zp.mz.transpose() * &zp.mz * (1.0 / (nn - 1.0));
        let evd = czz.self_adjoint_eigen(Side::Lower).unwrap();
        let s = evd.S().column_vector();
        let g = Mat::from_fn(s.nrows(), s.nrows(), |i, k| {
            evd.U()[(i, k)] / ((s[k] + 1e-10) * (nn - 1.0)).sqrt()
        });
        let b2 = &zp.mz * g;
        let px2 = b2.transpose() * &mx;
        let cxy2 = (mx.transpose() * &mx - px2.transpose() * &px2) * (1.0 / (nn - 1.0));
        assert!(worst(&cxy, &cxy2) < 1e-8, "{}", worst(&cxy, &cxy2));
        assert!(worst(&rx, &(&mx - &b2 * &px2)) < 1e-5);
        // the CPU's explicit inverse: the same numbers up to its own conditioning noise
        let cpu = moments(&mx, &mx, Some(&zp));
        assert!(worst(&cxy, &cpu.cxy) < 1e-4, "{}", worst(&cxy, &cpu.cxy));
        let czx = zp.mz.transpose() * &mx * (1.0 / (nn - 1.0));
        let rx_cpu = &mx - zp.z_icz.get().expect("built by moments") * czx;
        assert!(worst(&rx, &rx_cpu) < 1e-3, "{}", worst(&rx, &rx_cpu));
    }
}
