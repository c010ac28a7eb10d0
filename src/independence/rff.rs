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
//! cosines; [`chebyshev_part`]), so the Z Gram, `Czx`/`Czy` and the residuals run over ~40
//! columns instead of 100 and no cosine is taken per row (2–2.5× faster at n ≥ 5000).
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
use crate::memory::{Pooled, Scratch};
use crate::rng::{normal, open_unit, Stream};
use crate::simd::multiversion;
use faer::linalg::matmul::triangular::BlockStructure;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, Side};
use rayon::prelude::*;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::mem::MaybeUninit;
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
///
/// One feature column at a time (rayon over columns), each a contiguous loop: the argument
/// `Σ_j w_kj u_ij + b_k` in the same order as before, a branch-free cosine ([`cos_reduced`],
/// within 3.5e-16 of `f64::cos`; arguments beyond ±1e5 take `f64::cos`), then the column's mean and
/// standard deviation (ddof = 1) and the standardisation, all while the column is in cache.
pub(crate) fn feature_matrix(rows: &[f64], d: usize, f: &Features) -> Result<Mat<f64>> {
    let n = rows.len() / d;
    let v = feature_columns(rows, d, f, Vec::with_capacity(n * f.b.len()))?;
    Ok(faer::MatRef::from_column_major_slice(&v, n, f.b.len()).to_owned())
}

/// [`feature_matrix`] as a column-major buffer (`n · nf`) in `v` (emptied; its capacity reused
/// or grown): uninitialised memory that the columns fill in parallel (no zeroing pass over the
/// n × nf matrix first: a memset there cost 7 % of a test at n = 10⁵ and pushed the buffer out
/// of cache).
fn feature_columns(rows: &[f64], d: usize, f: &Features, mut v: Vec<f64>) -> Result<Vec<f64>> {
    let n = rows.len() / d;
    let cols: Vec<Vec<f64>> = (0..d)
        .map(|j| rows.iter().skip(j).step_by(d).copied().collect())
        .collect();
    let len = n * f.b.len();
    v.clear();
    v.reserve(len);
    advise_huge_pages(&v);
    let ok = v.spare_capacity_mut()[..len]
        .par_chunks_mut(n.max(1))
        .enumerate()
        .map(|(k, out)| feature_column(&cols, &f.w[k * d..(k + 1) * d], f.b[k], out))
        .all(|ok| ok);
    if !ok {
        return Err(constant_feature());
    }
    // SAFETY: `all` visited every chunk (it stops early only on a false), and each call wrote
    // every value of its chunk, so the first `len` values are initialised.
    unsafe { v.set_len(len) };
    Ok(v)
}

/// Advises the kernel to back a large buffer with 2 MiB pages (Linux's transparent
/// huge pages in `madvise` mode): the n × 100 Z features are 80 MB at n = 10⁵, and on 4 KiB pages
/// their first writes cost about 20 000 page faults, 10–15 % of a test (`perf`). A hint only:
/// where the kernel declines, or elsewhere, nothing changes (the values are the same either way).
fn advise_huge_pages(v: &Vec<f64>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<f64>();
        let (lo, hi) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if hi >= lo + 2 * HUGE {
            // SAFETY: [lo, hi) lies inside the vector's own allocation; the advice changes
            // only how the kernel backs those pages (already-backed ones keep their values).
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

multiversion! {
    /// One standardised feature column into `out`, every value written (false when it is
    /// constant): [`feature_column_generic`] on AVX-512 or AVX2 + FMA lanes where present, the
    /// same bits either way (the cosine's fused multiply-adds are `f64::mul_add`, exact on every
    /// path; an x86-64 CPU without FMA, older than 2013, gets them from libm, slowly).
    fn feature_column(cols: &[Vec<f64>], w: &[f64], b: f64, out: &mut [MaybeUninit<f64>]) -> bool
        = feature_column_generic;
    wide: "avx512f,avx2,fma" if ["avx512f", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

#[inline(always)]
fn feature_column_generic(
    cols: &[Vec<f64>],
    w: &[f64],
    b: f64,
    out: &mut [MaybeUninit<f64>],
) -> bool {
    let n = out.len();
    assert!(cols.len() == w.len() && !cols.is_empty() && cols.iter().all(|c| c.len() == n));
    // a chunk at a time, in L1: the argument, summed as Σ_j w_j u_j (from 0) and then + b, its
    // cosine, and the chunk's sum; 32 running sums (four 8-lane chains: one or two would make
    // the sums latency-bound, slower than the cosines)
    const CHUNK: usize = 256;
    let mut arg = [0.0f64; CHUNK];
    let mut s = [0.0f64; LANES];
    let mut tail = 0.0f64;
    for (c, chunk) in out.chunks_mut(CHUNK).enumerate() {
        let arg = &mut arg[..chunk.len()];
        let lo = c * CHUNK;
        for (a, &u) in arg.iter_mut().zip(&cols[0][lo..]) {
            *a = w[0] * u;
        }
        for (col, &wj) in cols.iter().zip(w).skip(1) {
            for (a, &u) in arg.iter_mut().zip(&col[lo..]) {
                *a += wj * u;
            }
        }
        // no early exit, so the range check vectorises too
        let inside = arg
            .iter()
            .fold(true, |ok, a| ok & ((a + b).abs() <= COS_LIMIT));
        if inside {
            for (o, a) in chunk.iter_mut().zip(arg.iter()) {
                o.write(std::f64::consts::SQRT_2 * cos_reduced(a + b));
            }
        } else {
            for (o, a) in chunk.iter_mut().zip(arg.iter()) {
                o.write(std::f64::consts::SQRT_2 * (a + b).cos());
            }
        }
        // SAFETY: the loop just above wrote every value of the chunk, and `MaybeUninit<f64>`
        // has the layout of `f64`.
        let chunk = unsafe { &*(chunk as *const [MaybeUninit<f64>] as *const [f64]) };
        let mut it = chunk.chunks_exact(LANES);
        for q in &mut it {
            for (acc, v) in s.iter_mut().zip(q) {
                *acc += v;
            }
        }
        // only the column's last chunk can leave a remainder (CHUNK is a multiple of LANES)
        tail += it.remainder().iter().sum::<f64>();
    }
    // SAFETY: the chunks above wrote all n values.
    let out = unsafe { &mut *(out as *mut [MaybeUninit<f64>] as *mut [f64]) };
    let mean = (lanes_sum(&s) + tail) / n as f64;
    let mut ss = [0.0f64; LANES];
    let mut it = out.chunks_exact(LANES);
    for q in &mut it {
        for (s, v) in ss.iter_mut().zip(q) {
            *s += (v - mean) * (v - mean);
        }
    }
    let tail: f64 = it.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = ((lanes_sum(&ss) + tail) / (n as f64 - 1.0)).sqrt();
    if sd.is_nan() || sd <= 0.0 {
        return false;
    }
    // one division, then products (within an ulp of dividing each value: the 1e-13 test below)
    let inv = 1.0 / sd;
    for v in out.iter_mut() {
        *v = (*v - mean) * inv;
    }
    true
}

/// Running sums per column statistic in [`feature_column`].
const LANES: usize = 32;

/// Σ of the running sums, pairwise.
#[inline(always)]
fn lanes_sum(s: &[f64; LANES]) -> f64 {
    let mut v = *s;
    let mut w = LANES;
    while w > 1 {
        w /= 2;
        for i in 0..w {
            v[i] += v[i + w];
        }
    }
    v[0]
}

/// Largest `|x|` that [`cos_reduced`] takes (so the odd multiple `j` of π/2 nearest `x` stays
/// below 2²⁰ and `j` times the 33-bit leading part of π/2 stays exact).
const COS_LIMIT: f64 = 1e5;

/// `cos x` for `|x| ≤` [`COS_LIMIT`], without branches (so loops over it vectorise), with one
/// polynomial: `x = jπ/2 + r` with `j = 2k + 1` the odd multiple of π/2 nearest `x` (`k` rounded
/// by the 1.5·2⁵² trick) and `|r| ≤ π/2` by Cody–Waite with fdlibm's three-part π/2, then
/// `cos x = (−1)^(k+1) sin r`, `sin r` by its Taylor polynomial to `r²¹` (truncation below
/// 1.2e-18 on `|r| ≤ π/2`), every step a fused multiply-add (`f64::mul_add`: one rounding each,
/// the same bits on every CPU). Within 3.5e-16 of `f64::cos` (unit test; 1.6 ulp of 1).
#[inline(always)]
fn cos_reduced(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 · 2⁵²
    #[allow(clippy::excessive_precision)] // fdlibm's published constants, digit for digit
    const PIO2: [f64; 3] = [
        1.570_796_326_734_125_614_17e0,
        6.077_100_506_303_965_976_6e-11,
        2.022_266_248_795_950_631_54e-21,
    ];
    // (−1)^n / (2n + 1)!, n = 1..10
    const S: [f64; 10] = [
        -0.166_666_666_666_666_66,
        0.008_333_333_333_333_333,
        -0.000_198_412_698_412_698_4,
        2.755_731_922_398_589_3e-6,
        -2.505_210_838_544_172e-8,
        1.605_904_383_682_161_3e-10,
        -7.647_163_731_819_816e-13,
        2.811_457_254_345_520_6e-15,
        -8.220_635_246_624_33e-18,
        1.957_294_106_339_126_3e-20,
    ];
    let t = x.mul_add(std::f64::consts::FRAC_1_PI, -0.5) + MAGIC;
    let q = t.to_bits();
    let j = 2.0 * (t - MAGIC) + 1.0;
    let r = (-j).mul_add(PIO2[2], (-j).mul_add(PIO2[1], (-j).mul_add(PIO2[0], x)));
    let z = r * r;
    let mut p = S[9];
    for &c in S[..9].iter().rev() {
        p = p.mul_add(z, c);
    }
    let sin = (r * z).mul_add(p, r);
    // k even → −sin r, odd → sin r
    let sign = ((q & 1) ^ 1) << 63;
    f64::from_bits(sin.to_bits() ^ sign)
}

/// The error of a random Fourier feature that does not vary (either backend).
pub(crate) fn constant_feature() -> Error {
    Error::param(
        "features",
        "a random Fourier feature is constant on these data",
    )
}

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
    u: Pooled,
    n: usize,
    /// `A` (`q × nf_z`); none when `U = F_z`.
    map: Option<Mat<f64>>,
    icz: Mat<f64>,
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
    fn u(&self) -> faer::MatRef<'_, f64> {
        faer::MatRef::from_column_major_slice(&self.u, self.n, self.u.len() / self.n)
    }

    /// `A m` for a `nf_z × p` matrix `m`: its rows in `U`'s basis (so `F_z m = U (A m)`).
    fn to_basis(&self, m: Mat<f64>) -> Mat<f64> {
        match &self.map {
            Some(a) => a * m,
            None => m,
        }
    }

    /// `Aᵀ m` for a `q × p` matrix `m` (so `F_zᵀ M = Aᵀ (UᵀM)`).
    fn features_t(&self, m: Mat<f64>) -> Mat<f64> {
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
/// this of `√2 cos(w z + b)` (below the 3.5e-16 of [`cos_reduced`]).
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
    let nodes = d + 1;
    let theta: Vec<f64> = (0..nodes)
        .map(|i| (i as f64 + 0.5) * std::f64::consts::PI / nodes as f64)
        .collect();
    let at_nodes = Mat::from_fn(nodes, nf, |i, k| {
        std::f64::consts::SQRT_2 * (f.w[k] * h * theta[i].cos() + (f.w[k] * m + f.b[k])).cos()
    });
    let t = Mat::from_fn(d + 1, nodes, |j, i| {
        (j as f64 * theta[i]).cos() * if j == 0 { 1.0 } else { 2.0 } / nodes as f64
    });
    let c = t * at_nodes;
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

/// What the null of one test needs from the data: `Cxy|z` (`px × py`, ddof = 1) and the
/// covariance (divisor n) of the residual products (`px·py × px·py`, product `(i, j)` at
/// `i·py + j`). Both backends return this; the p-value is then computed in f64 on the host.
pub(crate) struct Moments {
    pub cxy: Mat<f64>,
    pub cov: Mat<f64>,
}

/// [`Moments`] of standardised feature matrices `mx`, `my` (f64, the CPU path).
///
/// The residuals are `f − F_z ((Czz + 1e-10 I)⁻¹ Cz·)`: the ridge coefficients first
/// (nf_z × (px + py)), so the n-row products are n × nf_z × (px + py), not the n × nf_z × nf_z of
/// `F_z (Czz + 1e-10 I)⁻¹` (n × q × (px + py) where the Z part holds `F_z = U A` with `q`
/// basis columns: `Czm = Aᵀ (UᵀM)`, residuals `f − U (A coef)`); X and Y share each pass over
/// the basis. `Cxy|z` keeps RCIT's order of
/// the small products. Every n-row product runs by row blocks ([`ROWS`]); the residuals, their
/// products and the products' covariance are made block by block while the block is in cache
/// (no n-row temporaries: at n = 10⁵ those were 44 MB of fresh, page-faulted memory per test).
pub(crate) fn moments(mx: &Mat<f64>, my: &Mat<f64>, z: Option<&ZPart>) -> Moments {
    let n = mx.nrows();
    let nn = n as f64;
    let (px, py) = (mx.ncols(), my.ncols());
    // rows lo..lo + len of X's and Y's features side by side (column-major `len × (px + py)`),
    // so each pass over the n × nf_z Z features serves both; copied, not zeroed first
    let side_by_side = |lo: usize, len: usize| -> Vec<f64> {
        let mut m = Vec::with_capacity(len * (px + py));
        for c in 0..px {
            m.extend_from_slice(&mx.col_as_slice(c)[lo..lo + len]);
        }
        for c in 0..py {
            m.extend_from_slice(&my.col_as_slice(c)[lo..lo + len]);
        }
        m
    };
    let (cxy, coef) = match z {
        Some(zp @ ZPart { icz, .. }) => {
            // (UᵀM)ᵀ = Mᵀ U: faer then packs the ten-column side, not the Z basis (6.4 ms
            // against 9.6 ms at n = 10⁵, one thread, for U = F_z); then F_zᵀ M = Aᵀ (UᵀM)
            let um = by_blocks(n, px + py, zp.u().ncols(), |lo, len, out| {
                faer::linalg::matmul::matmul(
                    out,
                    faer::Accum::Replace,
                    faer::MatRef::from_column_major_slice(&side_by_side(lo, len), len, px + py)
                        .transpose(),
                    zp.u().subrows(lo, len),
                    1.0,
                    faer::Par::Seq,
                )
            })
            .transpose()
            .to_owned();
            let czm = zp.features_t(um) * (1.0 / (nn - 1.0));
            let (czx, czy) = (czm.subcols(0, px), czm.subcols(px, py));
            // the ridge coefficients, then in U's basis: F_z coef = U (A coef)
            let coef = zp.to_basis(icz * &czm);
            let cxy =
                cross(mx.as_ref(), my.as_ref()) * (1.0 / (nn - 1.0)) - czx.transpose() * icz * czy;
            (cxy, Some(coef))
        }
        None => (cross(mx.as_ref(), my.as_ref()) * (1.0 / (nn - 1.0)), None),
    };
    // per block: residuals, their products ((i, j) in row-major order of Cxy|z), and the lower
    // half of the products' Gram
    let q = px * py;
    let mut cov = by_blocks(n, q, q, |lo, len, out| {
        let mut r = side_by_side(lo, len);
        if let (Some(zp), Some(coef)) = (z, &coef) {
            let mut cols: Vec<&mut [f64]> = r.chunks_mut(len).collect();
            residual_block(&zp.u, n, lo, coef, &mut cols);
        }
        // the products column by column, written once (no zeroing first)
        let mut prod = Vec::with_capacity(len * q);
        for i in 0..px {
            for j in 0..py {
                let (a, b) = (
                    &r[i * len..(i + 1) * len],
                    &r[(px + j) * len..(px + j + 1) * len],
                );
                prod.extend(a.iter().zip(b).map(|(u, v)| u * v));
            }
        }
        lower_gram(faer::MatRef::from_column_major_slice(&prod, len, q), out)
    });
    mirror_lower(&mut cov);
    Moments {
        cxy,
        cov: cov * (1.0 / nn),
    }
}

/// Rows per register tile of [`residual_block`].
const TILE: usize = 8;

/// Asks for the cache line of `f[i]` ahead of its use (a hint: nothing where `i` is out of range
/// or off x86-64). The residual kernel reads 100 columns a tile at a time, 100 interleaved
/// streams that the hardware prefetchers do not follow.
#[inline(always)]
fn prefetch(f: &[f64], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = f.get(i) {
        // SAFETY: a prefetch has no architectural effect; the pointer is in bounds anyway.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                v as *const f64 as *const i8,
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (f, i);
}

multiversion! {
    /// `r[c][t] −= Σ_k f[k·n + lo + t] · coef[(k, c)]` over the block's rows:
    /// [`residual_block_body`] on AVX-512 or AVX2 + FMA lanes where present (the same bits either
    /// way).
    fn residual_block(f: &[f64], n: usize, lo: usize, coef: &Mat<f64>, r: &mut [&mut [f64]]) = residual_block_body;
    wide: "avx512f,avx2,fma" if ["avx512f", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

/// The residuals `R − F coef` of one block of rows (`F` column-major with `n` rows, the block's
/// column `k` at `k·n + lo`; `R`'s columns `r`; `coef` `nf × p`), by [`residual_tiles`] in
/// groups of five output columns (four when there are at most four).
#[inline(always)]
fn residual_block_body(f: &[f64], n: usize, lo: usize, coef: &Mat<f64>, r: &mut [&mut [f64]]) {
    if r.len() <= 4 {
        residual_tiles::<4>(f, n, lo, coef, r)
    } else {
        residual_tiles::<5>(f, n, lo, coef, r)
    }
}

/// [`residual_block_body`] with `G` output columns per group: [`TILE`] rows × `G` outputs at a
/// time, their `TILE·G` sums in registers (ten 4-lane vectors for `G = 5`) over all `nf` columns
/// of `F`, so each `F` vector loaded feeds `G` fused multiply-adds and nothing is packed first.
/// Five, not four: RCoT's 5 + 5 outputs are then two groups with nothing padded (9.1 against
/// 11.3 ms at n = 10⁵, one thread). Each output's sum runs over `k` in order whatever `G`, so
/// the grouping does not change the bits.
#[inline(always)]
fn residual_tiles<const G: usize>(
    f: &[f64],
    n: usize,
    lo: usize,
    coef: &Mat<f64>,
    r: &mut [&mut [f64]],
) {
    let p = r.len();
    let nf = coef.nrows();
    let len = r[0].len();
    let full = len / TILE * TILE;
    let groups = p.div_ceil(G);
    // the coefficients by groups of four output columns, row-major, padded with zeros
    let w: Vec<[f64; G]> = (0..groups)
        .flat_map(|g| {
            (0..nf).map(move |k| {
                std::array::from_fn(|j| {
                    if G * g + j < p {
                        coef[(k, G * g + j)]
                    } else {
                        0.0
                    }
                })
            })
        })
        .collect();
    // a tile of rows at a time, every group over it while its F values are in L1
    for t in (0..full).step_by(TILE) {
        for g in 0..groups {
            let mut acc = [[0.0f64; TILE]; G];
            for (k, wk) in w[g * nf..(g + 1) * nf].iter().enumerate() {
                if g == 0 {
                    prefetch(f, k * n + lo + t + 4 * TILE);
                }
                let fk: &[f64; TILE] = f[k * n + lo + t..k * n + lo + t + TILE]
                    .try_into()
                    .expect("a tile");
                for (a, &wj) in acc.iter_mut().zip(wk) {
                    for (al, &u) in a.iter_mut().zip(fk) {
                        *al = u.mul_add(wj, *al);
                    }
                }
            }
            for (j, a) in acc.iter().enumerate().take(p - G * g) {
                for (rv, av) in r[G * g + j][t..t + TILE].iter_mut().zip(a) {
                    *rv -= av;
                }
            }
        }
    }
    for t in full..len {
        for g in 0..groups {
            let mut acc = [0.0f64; G];
            for (k, wk) in w[g * nf..(g + 1) * nf].iter().enumerate() {
                let u = f[k * n + lo + t];
                for (a, &wj) in acc.iter_mut().zip(wk) {
                    *a = u.mul_add(wj, *a);
                }
            }
            for (j, a) in acc.iter().enumerate().take(p - G * g) {
                r[G * g + j][t] -= a;
            }
        }
    }
}

/// Rows per block of the n-row products: the blocks run in parallel (rayon), each product
/// sequential, and the partial sums are added in block order, so the result does not depend on
/// the thread count. (faer's own parallel product splits the small output instead, which stalls
/// on a loaded machine.) 1024 rows of the 100 Z features are 800 KB, so a block stays in a
/// core's L2 (4096 did not), and n = 2000 already splits over two threads.
const ROWS: usize = 1024;

/// `aᵀ b` over the rows of `a` and `b` (blocks of [`ROWS`] rows).
fn cross(a: faer::MatRef<'_, f64>, b: faer::MatRef<'_, f64>) -> Mat<f64> {
    by_blocks(a.nrows(), a.ncols(), b.ncols(), |lo, len, out| {
        faer::linalg::matmul::matmul(
            out,
            faer::Accum::Replace,
            a.subrows(lo, len).transpose(),
            b.subrows(lo, len),
            1.0,
            faer::Par::Seq,
        )
    })
}

/// `aᵀ a`: per block of rows the lower half by faer's triangular product (half the work of a
/// full one), the blocks summed, then mirrored.
fn gram(a: faer::MatRef<'_, f64>) -> Mat<f64> {
    let p = a.ncols();
    let mut g = by_blocks(a.nrows(), p, p, |lo, len, out| {
        lower_gram(a.subrows(lo, len), out)
    });
    mirror_lower(&mut g);
    g
}

/// The lower half of `rowsᵀ rows` into `out` (faer's triangular product, sequential).
fn lower_gram(rows: faer::MatRef<'_, f64>, out: faer::MatMut<'_, f64>) {
    faer::linalg::matmul::triangular::matmul(
        out,
        BlockStructure::TriangularLower,
        faer::Accum::Replace,
        rows.transpose(),
        BlockStructure::Rectangular,
        rows,
        BlockStructure::Rectangular,
        1.0,
        faer::Par::Seq,
    )
}

/// Copies the lower half of a square matrix onto its upper half.
fn mirror_lower(g: &mut Mat<f64>) {
    for j in 0..g.ncols() {
        for i in 0..j {
            g[(i, j)] = g[(j, i)];
        }
    }
}

/// Σ over blocks of [`ROWS`] of `n` rows of `block(first row, rows, out)` (each a `p × q`
/// product written into a zeroed `out`), blocks in parallel, summed in block order.
fn by_blocks(
    n: usize,
    p: usize,
    q: usize,
    block: impl Fn(usize, usize, faer::MatMut<'_, f64>) + Sync,
) -> Mat<f64> {
    let parts: Vec<Mat<f64>> = (0..n.div_ceil(ROWS))
        .into_par_iter()
        .map(|c| {
            let mut out = Mat::<f64>::zeros(p, q);
            block(c * ROWS, ROWS.min(n - c * ROWS), out.as_mut());
            out
        })
        .collect();
    let mut total = Mat::<f64>::zeros(p, q);
    for part in &parts {
        total += part;
    }
    total
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

    /// The branch-free cosine against `f64::cos` (glibc, correctly rounded in practice) on a
    /// million arguments spread over every scale up to its limit, quadrant boundaries included:
    /// within 3.5e-16 absolute (a feature's rounding), and the feature matrix falls back to
    /// `f64::cos` beyond the limit.
    #[test]
    fn branch_free_cosine_matches_the_library_cosine() {
        let s = Stream::new(5, 77);
        let mut worst = 0.0f64;
        for i in 0..1_000_000u32 {
            let w = s.block(i, 0);
            let scale = 10f64.powf(-3.0 + 8.0 * open_unit(w[0])); // 1e-3 .. 1e5
            let mut x = (2.0 * open_unit(w[1]) - 1.0) * scale.min(COS_LIMIT);
            if i % 4 == 0 {
                // next to a multiple of π/2, where cos is small
                x = (x / std::f64::consts::FRAC_PI_2).round() * std::f64::consts::FRAC_PI_2;
            }
            worst = worst.max((cos_reduced(x) - x.cos()).abs());
        }
        assert!(worst <= 3.5e-16, "{worst:e}");
        let f = Features {
            w: vec![1.0, 3e5],
            b: vec![0.25, 0.5],
        };
        let rows: Vec<f64> = (0..50).map(|i| i as f64 * 0.37 - 9.0).collect();
        let m = feature_matrix(&rows, 1, &f).unwrap();
        for (k, (w, b)) in [(1.0, 0.25), (3e5, 0.5)].into_iter().enumerate() {
            let raw: Vec<f64> = rows
                .iter()
                .map(|u| std::f64::consts::SQRT_2 * (w * u + b).cos())
                .collect();
            let mean = raw.iter().sum::<f64>() / 50.0;
            let sd = (raw.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 49.0).sqrt();
            for (i, v) in raw.iter().enumerate() {
                assert!((m[(i, k)] - (v - mean) / sd).abs() < 1e-13, "{k} {i}");
            }
        }
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

    /// The Chebyshev interpolant at the degree [`chebyshev_degree`] picks agrees with
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
            let nodes = d + 1;
            let theta: Vec<f64> = (0..nodes)
                .map(|i| (i as f64 + 0.5) * std::f64::consts::PI / nodes as f64)
                .collect();
            let c: Vec<f64> = (0..=d)
                .map(|j| {
                    let s: f64 = theta
                        .iter()
                        .map(|&t| {
                            std::f64::consts::SQRT_2
                                * (alpha * t.cos() + beta).cos()
                                * (j as f64 * t).cos()
                        })
                        .sum();
                    s * if j == 0 { 1.0 } else { 2.0 } / nodes as f64
                })
                .collect();
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
