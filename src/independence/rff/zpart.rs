//! The part of RCoT/RCIT that depends on Z alone ([`ZPart`]): the Z features, held as a basis
//! and a map (the per-row cosines, or a one-column Z's Chebyshev expansions), and the ridge.

use super::{advise_huge_pages, constant_feature, feature_columns, gram, mirror_lower, Features};
use crate::error::{Error, Result};
use crate::memory::{Pooled, Scratch};
use crate::simd::multiversion;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use rayon::prelude::*;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

/// The parts of RCoT/RCIT that depend on Z alone, shared by every test with the same Z (and
/// features): the standardised Z features `F_z` and `(Czz + 1e-10 I)⁻¹`; for the GPU path, also
/// the ridge basis (see [`ZPart::basis`]).
///
/// `F_z` is held as `U A`: a column-major `n × q` basis `U` and a `q × nf_z` map `A`. For most Z
/// sets `U` is `F_z` itself and there is no map. For a one-column Z whose features have a short
/// Chebyshev expansion over the data's range (see [`chebyshev_part`]), `U` holds the centred
/// Chebyshev polynomials `T_1 … T_q` of the scaled column and `A` the features' coefficients
/// (divided by their standard deviations): every n-row product then runs over `q` (about 40)
/// columns instead of 100, and no cosine is taken per row.
pub(crate) struct ZPart {
    /// `U`, column-major `n × q`, in a buffer of the engine's workspace (80 MB for the 100
    /// features at n = 10⁵: reused by the next test on the engine, no fresh pages to fault in
    /// and zero).
    pub(super) u: Pooled,
    n: usize,
    /// `A` (`q × nf_z`); none when `U = F_z`.
    map: Option<Mat<f64>>,
    pub(super) icz: Mat<f64>,
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
        self.icz.nrows()
    }

    /// The basis `U` as an `n × q` matrix.
    pub(super) fn u(&self) -> faer::MatRef<'_, f64> {
        faer::MatRef::from_column_major_slice(&self.u, self.n, self.u.len() / self.n)
    }

    /// `A m` for a `nf_z × p` matrix `m`: its rows in `U`'s basis (so `F_z m = U (A m)`).
    pub(super) fn to_basis(&self, m: Mat<f64>) -> Mat<f64> {
        match &self.map {
            Some(a) => a * m,
            None => m,
        }
    }

    /// `Aᵀ m` for a `q × p` matrix `m` (so `F_zᵀ M = Aᵀ (UᵀM)`).
    pub(super) fn features_t(&self, m: Mat<f64>) -> Mat<f64> {
        match &self.map {
            Some(a) => a.transpose() * m,
            None => m,
        }
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
    /// [`ZPart::basis`] in f64 (`n × nf_z`): `U (L⁻¹ Aᵀ)ᵀ`, scaled (`A = I` without a map).
    fn basis_f64(&self) -> Mat<f64> {
        let n = self.n;
        let mut at = match &self.map {
            Some(a) => a.transpose().to_owned(),
            None => Mat::identity(self.features(), self.features()),
        };
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(
            self.chol.as_ref(),
            at.as_mut(),
            faer::Par::Seq,
        );
        self.u() * at.transpose() * (1.0 / ((n as f64) - 1.0).sqrt())
    }

    /// The standardised Z features `F_z = U A` as an `n × nf_z` matrix (tests).
    #[cfg(test)]
    fn f_z(&self) -> Mat<f64> {
        self.u() * self.to_basis(Mat::identity(self.features(), self.features()))
    }
}

/// [`ZPart`] of row-major standardised `z` (n × dz) with features `fz`, its basis buffer from
/// `scratch` (and handed back to it when the Z part is dropped): the Chebyshev route of
/// [`chebyshev_part`] where it applies, else the features themselves ([`dense_part`]).
pub(crate) fn z_part(z: &[f64], dz: usize, fz: &Features, scratch: &Scratch) -> Result<ZPart> {
    let cheb = if dz == 1 {
        chebyshev_part(z, fz, scratch)?
    } else {
        None
    };
    let parts = match cheb {
        Some(parts) => parts,
        None => dense_part(z, dz, fz, scratch)?,
    };
    ridge(z.len() / dz, parts)
}

/// A Z basis `U`, its map `A` (none for `U = F_z`) and the features' Gram `F_zᵀF_z`.
type ZBasis = (Pooled, Option<Mat<f64>>, Mat<f64>);

/// The per-row route of [`z_part`]: `U = F_z`, the standardised cosines.
fn dense_part(z: &[f64], dz: usize, fz: &Features, scratch: &Scratch) -> Result<ZBasis> {
    let n = z.len() / dz;
    let u = Pooled::new(
        feature_columns(z, dz, fz, scratch.take(n * fz.b.len()))?,
        scratch,
    );
    let g = gram(faer::MatRef::from_column_major_slice(&u, n, fz.b.len()));
    Ok((u, None, g))
}

/// The [`ZPart`] of a Z basis on `n` rows: `Czz = F_zᵀF_z / (n − 1)`, its ridge inverse and
/// Cholesky factor.
fn ridge(n: usize, (u, map, gram): ZBasis) -> Result<ZPart> {
    let mut czz = gram * (1.0 / (n as f64 - 1.0));
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
        u,
        n,
        map,
        icz,
        chol,
        basis: OnceLock::new(),
    })
}

/// Truncation bound of the Chebyshev route: every feature's expansion, as evaluated, is within
/// this of `√2 cos(w z + b)` (below the 3.5e-16 of `features::cos_reduced`).
const CHEB_TOL: f64 = 1e-16;

/// Smallest degree `D ≥ 1` whose Chebyshev interpolant at `D + 1` nodes is within [`CHEB_TOL`]
/// of `√2 cos(α s + β)` on `[−1, 1]` for every phase `β`, or none above `max`. By Jacobi–Anger,
/// `cos(α s + β) = Σ_j c_j T_j(s)` with `|c_j| ≤ 2 |J_j(α)| ≤ 2 (α/2)ʲ / j!`; truncating after `D`
/// loses at most the tail, and interpolating instead of truncating at most as much again
/// (aliasing), so the bound is `4√2 Σ_{j>D} (α/2)ʲ / j!`, each term bounding the rest of the
/// tail geometrically once `α/2 < j + 1`.
fn chebyshev_degree(alpha: f64, max: usize) -> Option<usize> {
    let h = alpha.abs() / 2.0;
    let mut t = 1.0; // (α/2)ʲ / j! at j = d
    for d in 0..=max {
        let next = t * h / (d + 1) as f64;
        let ratio = h / (d + 2) as f64;
        if ratio < 1.0 && 4.0 * std::f64::consts::SQRT_2 * next / (1.0 - ratio) < CHEB_TOL {
            return Some(d.max(1));
        }
        t = next;
    }
    None
}

/// The Chebyshev route of [`z_part`] for a one-column Z: `(U, A, Aᵀ UᵀU A)`, or none where the
/// features need a degree above 3/5 of their number (the n-row work would not shrink enough;
/// a column with far outliers needs high degrees, as do high frequencies).
///
/// With `s = (z − m)/h` mapping the data's range onto `[−1, 1]`, feature `k` is
/// `√2 cos(α_k s + β_k)` (`α_k = w_k h`, `β_k = w_k m + b_k`), a smooth function of `s` whose
/// Chebyshev coefficients are Bessel values that vanish fast past `|α_k|`
/// ([`chebyshev_degree`]: about 40 for standardised Gaussian data at n = 10⁵ and RCIT's
/// bandwidth). Each feature's interpolant at `D + 1` Chebyshev nodes (coefficients `c_jk` from
/// `f64::cos` at the nodes) is within [`CHEB_TOL`] of the feature at every row. Centring is
/// linear, so the centred features are `Σ_{j≥1} c_jk (T_j − mean T_j)`: `U` holds the centred
/// `T_1 … T_D` (the constant `T_0` centres to zero), `G = UᵀU`, feature `k`'s variance is
/// `c_kᵀ G c_k / (n − 1)` (centred exactly, so no cancellation against a mean), and `A` is `c`
/// with each column divided by its feature's standard deviation.
///
/// The statistic then differs from the per-row cosines' by as much as a relative change of 1e-15
/// in the features moves it: RCIT's ridge (`Czz + 1e-10 I`, condition numbers near 1e12) makes
/// the last digits of either route rounding noise at about 1e-3 relative (test
/// `chebyshev_route_matches_the_cosines`).
fn chebyshev_part(z: &[f64], f: &Features, scratch: &Scratch) -> Result<Option<ZBasis>> {
    let n = z.len();
    let nf = f.b.len();
    let (lo, hi) = z
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let (m, h) = ((lo + hi) / 2.0, (hi - lo) / 2.0);
    let wmax = f.w.iter().fold(0.0f64, |a, w| a.max(w.abs()));
    if !(h > 0.0 && h.is_finite()) || n < 2 {
        return Ok(None);
    }
    let Some(d) = chebyshev_degree(wmax * h, nf * 3 / 5) else {
        return Ok(None);
    };
    // coefficients c (d + 1 × nf) of the interpolant at the nodes cos θ_i, θ_i = (i + ½)π/N
    let c = chebyshev_interpolate(d, nf, |x, k| {
        std::f64::consts::SQRT_2 * (f.w[k] * h * x + (f.w[k] * m + f.b[k])).cos()
    });
    let s: Vec<f64> = z.iter().map(|&v| (v - m) / h).collect();
    let u = Pooled::new(chebyshev_basis(&s, d, scratch.take(n * d)), scratch);
    let g = gram(faer::MatRef::from_column_major_slice(&u, n, d));
    // A: the coefficients of T_1 … T_D over each feature's standard deviation
    let cc = c.subrows(1, d);
    let gc = &g * cc;
    let mut a = cc.to_owned();
    for k in 0..nf {
        let var = (0..d).map(|j| cc[(j, k)] * gc[(j, k)]).sum::<f64>() / (n as f64 - 1.0);
        let sd = var.sqrt();
        if sd.is_nan() || sd <= 0.0 {
            return Err(constant_feature());
        }
        for j in 0..d {
            a[(j, k)] /= sd;
        }
    }
    let mut czz = a.transpose() * (&g * &a);
    mirror_lower(&mut czz);
    Ok(Some((u, Some(a), czz)))
}

/// `Σ t` in eight running sums (so it vectorises), a fixed order for a given length.
fn lanes8_sum(t: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let mut it = t.chunks_exact(8);
    for q in &mut it {
        for (a, v) in acc.iter_mut().zip(q) {
            *a += v;
        }
    }
    acc.iter().sum::<f64>() + it.remainder().iter().sum::<f64>()
}

/// The Chebyshev coefficients (`d + 1 × cols`) of the degree-`d` interpolants of `cols`
/// functions `g(x, k)` on `[−1, 1]` at the `d + 1` nodes `x_i = cos θ_i`, `θ_i = (i + ½)π/(d + 1)`:
/// `c_jk = (2 − [j = 0]) / (d + 1) · Σ_i g(x_i, k) cos(j θ_i)`.
fn chebyshev_interpolate(d: usize, cols: usize, g: impl Fn(f64, usize) -> f64) -> Mat<f64> {
    let nodes = d + 1;
    let theta: Vec<f64> = (0..nodes)
        .map(|i| (i as f64 + 0.5) * std::f64::consts::PI / nodes as f64)
        .collect();
    let at_nodes = Mat::from_fn(nodes, cols, |i, k| g(theta[i].cos(), k));
    let t = Mat::from_fn(d + 1, nodes, |j, i| {
        (j as f64 * theta[i]).cos() * if j == 0 { 1.0 } else { 2.0 } / nodes as f64
    });
    t * at_nodes
}

/// Rows per chunk of [`chebyshev_basis`].
const CHEB_ROWS: usize = 256;

/// The centred Chebyshev polynomials `T_1 … T_d` of `s` (all `|s| ≤ 1`), column-major
/// `n × d` in `v` (emptied; its capacity reused or grown). Two passes over the rows by chunks of
/// [`CHEB_ROWS`] (in parallel): the column sums by the three-term recurrence
/// ([`chebyshev_chunk`]), summed in chunk order, then the
/// recurrence again, each value written once, centred.
fn chebyshev_basis(s: &[f64], d: usize, mut v: Vec<f64>) -> Vec<f64> {
    let n = s.len();
    let sums: Vec<Vec<f64>> = s
        .par_chunks(CHEB_ROWS)
        .map(|rows| {
            let mut sum = vec![0.0; d];
            chebyshev_sums(rows, &mut sum);
            sum
        })
        .collect();
    let mut mean = vec![0.0; d];
    for part in &sums {
        for (m, p) in mean.iter_mut().zip(part) {
            *m += p;
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    v.clear();
    v.reserve(n * d);
    advise_huge_pages(&v);
    let out = Columns(v.spare_capacity_mut().as_mut_ptr().cast::<f64>());
    s.par_chunks(CHEB_ROWS)
        .enumerate()
        .for_each(|(c, rows)| chebyshev_columns(rows, &mean, out, n, c * CHEB_ROWS));
    // SAFETY: the chunks cover rows 0..n and each wrote its rows of all d columns.
    unsafe { v.set_len(n * d) };
    v
}

multiversion! {
    /// The sums of `T_1 … T_d` (`d = sums.len()`) over the values `rows` (a chunk of
    /// [`chebyshev_basis`]), on AVX-512 or AVX2 lanes where present (the same bits either way).
    fn chebyshev_sums(rows: &[f64], sums: &mut [f64]) = chebyshev_sums_body;
    wide: "avx512f,avx2,fma" if ["avx512f", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

#[inline(always)]
fn chebyshev_sums_body(rows: &[f64], sums: &mut [f64]) {
    chebyshev_chunk(rows, sums.len(), |j, t| sums[j] = lanes8_sum(t));
}

multiversion! {
    /// `T_1 … T_d` (`d = mean.len()`) of the values `rows`, rows `lo..` of a chunk of
    /// [`chebyshev_basis`], less `mean`, into rows `lo..` of the `n`-row columns of `out`
    /// (AVX-512 or AVX2 lanes where present; the same bits either way).
    fn chebyshev_columns(rows: &[f64], mean: &[f64], out: Columns, n: usize, lo: usize) = chebyshev_columns_body;
    wide: "avx512f,avx2,fma" if ["avx512f", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

#[inline(always)]
fn chebyshev_columns_body(rows: &[f64], mean: &[f64], out: Columns, n: usize, lo: usize) {
    chebyshev_chunk(rows, mean.len(), |j, t| {
        // SAFETY: rows lo..lo + len of column j lie inside the n · d values of `out`, and each
        // chunk writes only its own rows, so no two threads touch a value
        let dst = unsafe { out.rows(j * n + lo, t.len()) };
        for (o, x) in dst.iter_mut().zip(t) {
            o.write(x - mean[j]);
        }
    });
}

/// `T_1 … T_d` of the values `rows` (at most [`CHEB_ROWS`]) by the three-term recurrence
/// `T_{j+1} = 2 s T_j − T_{j−1}` (stable on `[−1, 1]`; a product and a difference, no fused
/// multiply-add, so every CPU gives the same bits), each column handed to `out(j − 1, values)`.
#[inline(always)]
fn chebyshev_chunk(rows: &[f64], d: usize, mut out: impl FnMut(usize, &[f64])) {
    let len = rows.len();
    let mut prev = [1.0f64; CHEB_ROWS];
    let mut cur = [0.0f64; CHEB_ROWS];
    cur[..len].copy_from_slice(rows);
    out(0, &cur[..len]);
    for j in 1..d {
        for ((p, c), &s) in prev[..len].iter_mut().zip(&mut cur[..len]).zip(rows) {
            let next = 2.0 * s * *c - *p;
            *p = *c;
            *c = next;
        }
        out(j, &cur[..len]);
    }
}

/// A column-major buffer that the chunks of [`chebyshev_basis`] fill, each its own rows.
#[derive(Clone, Copy)]
struct Columns(*mut f64);

// SAFETY: the threads write disjoint values (the callers' rows), and nothing reads them until
// every write is done.
unsafe impl Send for Columns {}
unsafe impl Sync for Columns {}

impl Columns {
    /// The `len` values from index `at` on, to be written.
    ///
    /// # Safety
    /// They lie inside the buffer, and no other thread touches them while the slice lives.
    #[inline(always)]
    unsafe fn rows<'a>(self, at: usize, len: usize) -> &'a mut [MaybeUninit<f64>] {
        // SAFETY: the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(at).cast::<MaybeUninit<f64>>(), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testdata::{normals, standardised};
    use super::super::{draw_features, feature_matrix, finish, median_sigma, moments, Approx};
    use super::*;

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
        let zp = z_part(&a, 1, &fz, &Scratch::default()).unwrap();
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
        let fz_m = zp.f_z();
        let czz = fz_m.transpose() * &fz_m * (1.0 / (nn - 1.0));
        let evd = czz.self_adjoint_eigen(Side::Lower).unwrap();
        let s = evd.S().column_vector();
        let g = Mat::from_fn(s.nrows(), s.nrows(), |i, k| {
            evd.U()[(i, k)] / ((s[k] + 1e-10) * (nn - 1.0)).sqrt()
        });
        let b2 = &fz_m * g;
        let px2 = b2.transpose() * &mx;
        let cxy2 = (mx.transpose() * &mx - px2.transpose() * &px2) * (1.0 / (nn - 1.0));
        assert!(worst(&cxy, &cxy2) < 1e-8, "{}", worst(&cxy, &cxy2));
        assert!(worst(&rx, &(&mx - &b2 * &px2)) < 1e-5);
        // the CPU's explicit inverse: the same numbers up to its own conditioning noise
        let cpu = moments(&mx, &mx, Some(&zp));
        assert!(worst(&cxy, &cpu.cxy) < 1e-4, "{}", worst(&cxy, &cpu.cxy));
        let czx = fz_m.transpose() * &mx * (1.0 / (nn - 1.0));
        let rx_cpu = &mx - &fz_m * (&zp.icz * czx);
        assert!(worst(&rx, &rx_cpu) < 1e-3, "{}", worst(&rx, &rx_cpu));
    }

    /// The Chebyshev route of a one-column Z against the per-row cosines, same data and
    /// features (n = 3000, 100 Z features):
    /// * every feature `U A` within 1e-13 of the cosines', in the raw features' units (the
    ///   interpolant is within 1e-16 of `√2 cos`; the arguments `w z + b` up to ~20 round at
    ///   ~4e-15 at the nodes and rows, times the interpolation's Lebesgue constant, below 4,
    ///   and the recurrence adds ~j ε per `T_j`);
    /// * `Czz` correspondingly (see the bound in the test);
    /// * the statistic and p-value of an RCoT test within the reference test's tolerance for
    ///   100-Z-feature cases (2e-3 relative, 1e-3 absolute): the ridge's conditioning (~1e12)
    ///   makes a 1e-15 change of the features move the statistic by ~1e-3 relative, so neither
    ///   route is closer to exact than that.
    ///
    /// A far outlier leaves the cosines to the per-row route.
    #[test]
    fn chebyshev_route_matches_the_cosines() {
        let n = 3000;
        let a = standardised(&normals(n, 4));
        let e = normals(n, 5);
        let x = standardised(&(0..n).map(|i| a[i].tanh() + 0.5 * e[i]).collect::<Vec<_>>());
        let y = standardised(
            &(0..n)
                .map(|i| (1.5 * a[i]).sin() + normals(n, 6)[i] * 0.5)
                .collect::<Vec<_>>(),
        );
        let fz = draw_features(11, 2, 100, 1, median_sigma(&a, 1));
        let (fx, fy) = (
            draw_features(11, 0, 5, 1, median_sigma(&x, 1)),
            draw_features(11, 1, 5, 1, median_sigma(&y, 1)),
        );
        let cheb = z_part(&a, 1, &fz, &Scratch::default()).unwrap();
        assert!(cheb.map.is_some(), "the Chebyshev route applies");
        let q = cheb.u().ncols();
        assert!((20..=60).contains(&q), "degree {q}");
        let cos = feature_matrix(&a, 1, &fz).unwrap();
        let fz_cheb = cheb.f_z();
        // standard deviations of the raw features √2 cos(w z + b), to compare in their units
        let sd: Vec<f64> = (0..100)
            .map(|k| {
                let raw: Vec<f64> = a
                    .iter()
                    .map(|v| std::f64::consts::SQRT_2 * (fz.w[k] * v + fz.b[k]).cos())
                    .collect();
                let mean = raw.iter().sum::<f64>() / n as f64;
                (raw.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt()
            })
            .collect();
        let mut worst = 0.0f64;
        for k in 0..100 {
            for i in 0..n {
                worst = worst.max((fz_cheb[(i, k)] - cos[(i, k)]).abs() * sd[k]);
            }
        }
        assert!(worst < 1e-13, "features differ by {worst:e}");
        // Czz = L Lᵀ − 1e-10 I: entry (k, l) averages f_k f_l, so it moves by at most
        // |δf_k| |f_l| + |f_k| |δf_l| with |f| ≤ 3 here: 6e-13 over the smaller sd
        let dense = ridge(n, dense_part(&a, 1, &fz, &Scratch::default()).unwrap()).unwrap();
        let (cz1, cz0) = (
            &cheb.chol * cheb.chol.transpose(),
            &dense.chol * dense.chol.transpose(),
        );
        let mut worst = 0.0f64;
        for k in 0..100 {
            for l in 0..=k {
                worst = worst.max((cz1[(k, l)] - cz0[(k, l)]).abs() * sd[k].min(sd[l]));
            }
        }
        assert!(worst < 6e-13, "Czz differs by {worst:e}");
        let (mx, my) = (
            feature_matrix(&x, 1, &fx).unwrap(),
            feature_matrix(&y, 1, &fy).unwrap(),
        );
        let (s1, p1) = finish(n, &moments(&mx, &my, Some(&cheb)), Approx::Lpb4).unwrap();
        let (s0, p0) = finish(n, &moments(&mx, &my, Some(&dense)), Approx::Lpb4).unwrap();
        assert!((s1 - s0).abs() <= 2e-3 * s0, "statistics {s1} and {s0}");
        assert!((p1 - p0).abs() <= 1e-3, "p-values {p1} and {p0}");
        // a far outlier stretches the range past any useful degree
        let mut far = a.clone();
        far[7] = 400.0;
        assert!(chebyshev_part(&far, &fz, &Scratch::default())
            .unwrap()
            .is_none());
    }

    /// The Chebyshev interpolant ([`chebyshev_interpolate`], as the route computes it) at the
    /// degree [`chebyshev_degree`] picks agrees with
    /// `√2 cos(α s + β)` on a fine grid, from a nearly flat to a fast feature, to rounding: its
    /// truncation bound is 1e-16, and each node value and the reference carry
    /// `√2 ε (1 + |α s + β|)` (the argument's rounding and the cosine's), which interpolation
    /// multiplies by its Lebesgue constant (below 4 for these ≤ 70 nodes): tolerance
    /// `16 √2 ε (1 + α + β)`.
    #[test]
    fn chebyshev_degree_bounds_the_interpolation_error() {
        for (alpha, beta) in [
            (0.01, 0.3),
            (0.7, 2.0),
            (5.0, 4.1),
            (12.0, 0.9),
            (30.0, 5.5),
        ] {
            let d = chebyshev_degree(alpha, 200).unwrap();
            let c = chebyshev_interpolate(d, 1, |x, _| {
                std::f64::consts::SQRT_2 * (alpha * x + beta).cos()
            });
            let c: Vec<f64> = c.col_as_slice(0).to_vec();
            for g in 0..=2000 {
                let s = -1.0 + g as f64 / 1000.0;
                let (mut t0, mut t1, mut v) = (1.0, s, c[0] + c[1] * s);
                for cj in &c[2..] {
                    let t2 = 2.0 * s * t1 - t0;
                    v += cj * t2;
                    (t0, t1) = (t1, t2);
                }
                let exact = std::f64::consts::SQRT_2 * (alpha * s + beta).cos();
                let tol = 16.0 * std::f64::consts::SQRT_2 * f64::EPSILON * (1.0 + alpha + beta);
                assert!((v - exact).abs() < tol, "α {alpha}, s {s}: {v} vs {exact}");
            }
            assert!(d as f64 >= alpha, "degree {d} below α {alpha}");
        }
        assert!(chebyshev_degree(1e6, 60).is_none());
    }
}
