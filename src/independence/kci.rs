//! KCI/HSIC statistics and gamma moments evaluated on low-rank factors.
//!
//! Unconditional (causal-learn `KCI_UInd`): with centred factors `Kxc = Lx Lxᵀ`, `Kyc = Ly Lyᵀ`,
//! * statistic `Σ Kxc∘Kyc = ‖Lxᵀ Ly‖²_F`;
//! * gamma mean `tr Kxc · tr Kyc / n`, variance `2 ‖Kxc‖²_F ‖Kyc‖²_F / n²`, with
//!   `tr K = ‖L‖²_F` and `‖K‖²_F = ‖LᵀL‖²_F`.
//!
//! Conditional (causal-learn `KCI_CInd`): `Rz = ε (Kzc + εI)⁻¹ = I − Lz (εI + LzᵀLz)⁻¹ Lzᵀ`
//! (Woodbury; computed in f64 on r_z × r_z systems), `Mx = Rz Lx`, `KxR = Mx Mxᵀ`, likewise `My`;
//! * statistic `Σ KxR∘KyR = ‖Mxᵀ My‖²_F`;
//! * the eigenpairs of `KxR` with eigenvalue above `threshold · max` come from the small matrix
//!   `MxᵀMx = Q Λ Qᵀ`: `Va = Mx Q_kept` gives the truncated `A = Va Vaᵀ` (likewise `B`);
//! * causal-learn's `uu_prod` has `tr = Σ_t A_tt B_tt` and `tr(uu_prod²) = Σ_st (A_st B_st)²`, so
//!   the gamma mean and variance need traces and Hadamard products only, never the
//!   `n × r_a r_b` eigenvector products.

use super::lowrank::Factor;
use crate::error::{Error, Result};
use faer::linalg::solvers::Solve;
use faer::{Mat, Side};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Squared Frobenius norm.
pub(crate) fn frob2(m: &Mat<f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            s += m[(i, j)] * m[(i, j)];
        }
    }
    s
}

/// Statistic and gamma moments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Moments {
    pub statistic: f64,
    pub mean: f64,
    pub var: f64,
}

/// Unconditional HSIC V-statistic and KCI_UInd gamma moments from centred factors.
pub(crate) fn unconditional(lx: &Mat<f64>, ly: &Mat<f64>) -> Moments {
    let n = lx.nrows() as f64;
    let cross = lx.transpose() * ly;
    let gx = lx.transpose() * lx;
    let gy = ly.transpose() * ly;
    let (trx, try_) = (frob2(lx), frob2(ly));
    Moments {
        statistic: frob2(&cross),
        mean: trx * try_ / n,
        var: 2.0 * frob2(&gx) * frob2(&gy) / (n * n),
    }
}

/// The U-centred inner product `Σ_{i≠j} Ũ(K)_ij Ũ(L)_ij` of `K = F Fᵀ`, `L = G Gᵀ` (uncentred
/// factors): `tr(K̄L̄) + 1ᵀK̄1 · 1ᵀL̄1 / ((n−1)(n−2)) − 2 · 1ᵀK̄L̄1 / (n−2)` with `K̄`, `L̄` the
/// matrices with zeroed diagonals (Song et al. 2012), in O(n r²).
fn u_inner(f: &Mat<f64>, g: &Mat<f64>) -> f64 {
    let n = f.nrows();
    let nn = n as f64;
    let row2 = |m: &Mat<f64>, i: usize| (0..m.ncols()).map(|k| m[(i, k)] * m[(i, k)]).sum::<f64>();
    let (df, dg): (Vec<f64>, Vec<f64>) = (0..n).map(|i| (row2(f, i), row2(g, i))).unzip();
    let tr = frob2(&(f.transpose() * g)) - df.iter().zip(&dg).map(|(a, b)| a * b).sum::<f64>();
    let ones = Mat::<f64>::from_fn(n, 1, |_, _| 1.0);
    let kf1 = f * (f.transpose() * &ones);
    let kg1 = g * (g.transpose() * &ones);
    let (mut sf, mut sg, mut cross) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let (a, b) = (kf1[(i, 0)] - df[i], kg1[(i, 0)] - dg[i]);
        sf += a;
        sg += b;
        cross += a * b;
    }
    tr + sf * sg / ((nn - 1.0) * (nn - 2.0)) - 2.0 * cross / (nn - 2.0)
}

/// hyppo's `Hsic` statistic: the unbiased HSIC of `F Fᵀ` and `G Gᵀ` normalised to a
/// correlation, 0 when either self-term is not positive.
pub(crate) fn unbiased_correlation(f: &Mat<f64>, g: &Mat<f64>) -> f64 {
    let (xx, yy) = (u_inner(f, f), u_inner(g, g));
    if xx <= 0.0 || yy <= 0.0 {
        return 0.0;
    }
    u_inner(f, g) / (xx * yy).sqrt()
}

/// `Rz · L` for every factor `L` in `ls`, with `Rz = ε (Lz Lzᵀ + εI)⁻¹` (Lz centred).
pub(crate) fn regress_out(lz: &Mat<f64>, ls: &[&Mat<f64>], epsilon: f64) -> Result<Vec<Mat<f64>>> {
    let rz = lz.ncols();
    let mut g = lz.transpose() * lz;
    for i in 0..rz {
        g[(i, i)] += epsilon;
    }
    let llt = g
        .llt(Side::Lower)
        .map_err(|_| Error::param("z", "the regularised Z kernel is not positive definite"))?;
    Ok(ls
        .iter()
        .map(|l| {
            let proj = lz.transpose() * *l;
            let coef = llt.solve(&proj);
            *l - lz * &coef
        })
        .collect())
}

/// The parts of conditional KCI that depend on Z alone, shared by every test with the same Z:
/// the centred Z factor, the regressions `Rz L` of the factors tested against it (CPU route,
/// built on first use, keyed by the factor's key) and the bounded basis `B` (GPU route).
pub(crate) struct ZPart {
    lz: Arc<Mat<f64>>,
    epsilon: f64,
    regressed: Mutex<HashMap<String, Arc<Mat<f64>>>>,
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    basis: OnceLock<std::result::Result<Vec<f32>, String>>,
}

impl ZPart {
    pub(crate) fn new(lz: Arc<Mat<f64>>, epsilon: f64) -> Self {
        ZPart {
            lz,
            epsilon,
            regressed: Mutex::new(HashMap::new()),
            basis: OnceLock::new(),
        }
    }

    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    /// Columns of the Z factor (and of the basis).
    pub(crate) fn rank(&self) -> usize {
        self.lz.ncols()
    }

    /// `Rz · l` ([`regress_out`], f64), computed once per factor key.
    pub(crate) fn regressed(&self, key: &str, l: &Mat<f64>) -> Result<Arc<Mat<f64>>> {
        if let Some(m) = self.regressed.lock().expect("cache lock").get(key) {
            return Ok(m.clone());
        }
        let m = Arc::new(regress_out(&self.lz, &[l], self.epsilon)?.remove(0));
        self.regressed
            .lock()
            .expect("cache lock")
            .insert(key.to_string(), m.clone());
        Ok(m)
    }

    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    /// The basis `B = Lz U⁻ᵀ` (row-major `n × r_z`, computed once in f64 on the host, rounded
    /// to f32 for the device), where `U Uᵀ = εI + LzᵀLz` (lower Cholesky factor). Then
    /// `B Bᵀ = Lz (εI + LzᵀLz)⁻¹ Lzᵀ`, so `Rz = I − B Bᵀ` (Woodbury), and
    /// `BᵀB = I − ε (εI + LzᵀLz)⁻¹ ≼ I`: every singular value of `B` is at most 1, so the
    /// device's products with it (`BᵀL`, `L − B (BᵀL)`) involve bounded, well-conditioned f32
    /// data only; the ε-regularised inverse, whose condition number reaches `‖Kz‖/ε`, never
    /// leaves f64.
    pub(crate) fn basis(&self) -> Result<&[f32]> {
        self.basis
            .get_or_init(|| {
                let b = self.basis_f64().map_err(|e| e.to_string())?;
                let mut out = Vec::with_capacity(b.nrows() * b.ncols());
                for i in 0..b.nrows() {
                    for k in 0..b.ncols() {
                        out.push(b[(i, k)] as f32);
                    }
                }
                Ok(out)
            })
            .as_deref()
            .map_err(|e| Error::param("z", e.clone()))
    }

    #[cfg_attr(not(feature = "gpu"), allow(dead_code))] // read by the device path only
    /// [`ZPart::basis`] in f64 (`n × r_z`).
    pub(crate) fn basis_f64(&self) -> Result<Mat<f64>> {
        let lz = &*self.lz;
        let mut g = lz.transpose() * lz;
        for i in 0..lz.ncols() {
            g[(i, i)] += self.epsilon;
        }
        let llt = g
            .llt(Side::Lower)
            .map_err(|_| Error::param("z", "the regularised Z kernel is not positive definite"))?;
        // U Bᵀ = Lzᵀ
        let mut bt = lz.transpose().to_owned();
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            llt.L(),
            bt.as_mut(),
            faer::Par::Seq,
        );
        Ok(bt.transpose().to_owned())
    }
}

/// The kept eigenvectors `Q_kept` (`r × r_a`) of a symmetric `r × r` Gram matrix `MᵀM`:
/// eigenvalues above `threshold · λ_max` (the truncation of [`conditional`]).
pub(crate) fn kept_eigenvectors(g: &Mat<f64>, threshold: f64) -> Result<Mat<f64>> {
    let evd = g
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::param("kernel", format!("eigendecomposition failed: {e:?}")))?;
    let s = evd.S().column_vector();
    let r = s.nrows();
    let max = (0..r).map(|i| s[i]).fold(f64::NEG_INFINITY, f64::max);
    let keep: Vec<usize> = (0..r).filter(|&i| s[i] > max * threshold).collect();
    let u = evd.U();
    Ok(Mat::from_fn(r, keep.len(), |i, j| u[(i, keep[j])]))
}

/// `M Q_kept`: the eigenvectors (scaled by √λ) of `M Mᵀ` with `λ > threshold · λ_max`.
fn truncated(m: &Mat<f64>, threshold: f64) -> Result<Mat<f64>> {
    let q = kept_eigenvectors(&(m.transpose() * m), threshold)?;
    Ok(m * &q)
}

/// KCI_CInd statistic and gamma moments from `Mx = Rz Lx`, `My = Rz Ly`.
pub(crate) fn conditional(mx: &Mat<f64>, my: &Mat<f64>, threshold: f64) -> Result<Moments> {
    let n = mx.nrows();
    let statistic = frob2(&(mx.transpose() * my));
    let va = truncated(mx, threshold)?;
    let vb = truncated(my, threshold)?;
    let (ra, rb) = (va.ncols(), vb.ncols());
    let row2 = |v: &Mat<f64>, t: usize| (0..v.ncols()).map(|j| v[(t, j)] * v[(t, j)]).sum::<f64>();
    let mean: f64 = (0..n).map(|t| row2(&va, t) * row2(&vb, t)).sum();
    // tr(uu_prod²) = Σ_st (A_st B_st)², by the cheaper of two exact routes
    let cost_rows = (n * n * (ra + rb)) as f64;
    let cost_cols = (n * (ra * rb) * (ra * rb)) as f64;
    let tr2 = if cost_cols <= cost_rows {
        let w = Mat::from_fn(n, ra * rb, |t, c| va[(t, c / rb)] * vb[(t, c % rb)]);
        frob2(&(w.transpose() * &w))
    } else {
        // the product is symmetric: blocks of rows against the columns from the block's first
        // row on, off-diagonal entries counted twice
        let block = 256;
        let mut acc = 0.0;
        let mut start = 0;
        while start < n {
            let m = (start + block).min(n) - start;
            let rest = n - start;
            let a = va.subrows(start, m) * va.subrows(start, rest).transpose();
            let b = vb.subrows(start, m) * vb.subrows(start, rest).transpose();
            for j in 0..rest {
                for i in 0..m.min(j + 1) {
                    let p = a[(i, j)] * b[(i, j)];
                    acc += if i == j { p * p } else { 2.0 * p * p };
                }
            }
            start += m;
        }
        acc
    };
    Ok(Moments {
        statistic,
        mean,
        var: 2.0 * tr2,
    })
}

/// Eigenvalues of `M Mᵀ` (from the small `MᵀM`), descending.
fn gram_eigenvalues(m: &Mat<f64>) -> Result<Vec<f64>> {
    let g = m.transpose() * m;
    let mut ev = g
        .self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| Error::param("kernel", format!("eigendecomposition failed: {e:?}")))?;
    ev.sort_by(|a, b| b.total_cmp(a));
    Ok(ev)
}

/// Weights of the unconditional spectral null (causal-learn `KCI_UInd.null_sample_spectral`):
/// products `λx_i λy_j / n` of the top eigenvalues (all, or n/2 when n > 1000), kept above
/// `1e-6 · max`.
pub(crate) fn spectral_weights_uncond(lx: &Mat<f64>, ly: &Mat<f64>) -> Result<Vec<f64>> {
    let n = lx.nrows();
    let keep = if n > 1000 { n / 2 } else { n };
    let ex = gram_eigenvalues(lx)?;
    let ey = gram_eigenvalues(ly)?;
    let mut prods = Vec::new();
    for a in ex.iter().take(keep) {
        for b in ey.iter().take(keep) {
            prods.push(a * b);
        }
    }
    let max = prods.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    Ok(prods
        .into_iter()
        .filter(|&p| p > max * 1e-6)
        .map(|p| p / n as f64)
        .collect())
}

/// Weights of the conditional spectral null (causal-learn `KCI_CInd.null_sample_spectral`): the
/// eigenvalues of `uu_prod`, i.e. of `A∘B` (n × n) or equivalently of `WᵀW`, `W = Va ⊙ Vb`
/// (row-wise products), kept above `threshold · max`.
pub(crate) fn spectral_weights_cond(
    mx: &Mat<f64>,
    my: &Mat<f64>,
    threshold: f64,
) -> Result<Vec<f64>> {
    let n = mx.nrows();
    let va = truncated(mx, threshold)?;
    let vb = truncated(my, threshold)?;
    let (ra, rb) = (va.ncols(), vb.ncols());
    let gram = if ra * rb <= n {
        let w = Mat::from_fn(n, ra * rb, |t, c| va[(t, c / rb)] * vb[(t, c % rb)]);
        w.transpose() * &w
    } else {
        let a = &va * va.transpose();
        let b = &vb * vb.transpose();
        Mat::from_fn(n, n, |i, j| a[(i, j)] * b[(i, j)])
    };
    let mut ev = gram
        .self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| Error::param("kernel", format!("eigendecomposition failed: {e:?}")))?;
    ev.sort_by(|a, b| b.total_cmp(a));
    ev.truncate(n.min(ra * rb));
    let max = ev.first().copied().unwrap_or(0.0);
    Ok(ev.into_iter().filter(|&e| e > max * threshold).collect())
}

/// Centred factor as a faer matrix.
pub(crate) fn centred(mut f: Factor) -> Mat<f64> {
    f.centre();
    f.to_mat()
}
