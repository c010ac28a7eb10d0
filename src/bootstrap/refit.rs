//! Batched refits of the nuisance models of an [`EffectBootstrap`](super::EffectBootstrap)
//! (no trimming, no cross-fitting): `R` replicates at a time, every pass over the rows dense
//! products for all of them.
//!
//! With the rows sorted by arm (controls first), `X` the `n × k` design `[1, x…]`, `W` the
//! `n × R` weights of `R` replicates (one column each) and `β̂` the logistic fit on the data:
//!
//! * **propensity**: a preconditioned fixed-point iteration from `β = β̂` for every replicate
//!   at once: `η = X B` (one product, `n × k` by `k × R`), `e = 1/(1 + e^{−η})`, the gradients
//!   `G = Xᵀ (W ∘ (t − e))` (a second product) minus `λ β` on the slopes, and
//!   `β ← β + P_r⁻¹ g_r` with `P_r = (Σ w_r / n) H₀ + λ I_slopes`, `H₀ = Xᵀ diag(ê(1 − ê)) X` the
//!   Hessian of the fit on the data, factored per replicate (`k × k`, on the host in f64). A
//!   replicate's Hessian differs from `P_r` by `O(1/√n)` (relative), so the iteration contracts
//!   at about that rate and each step costs `O(n k)` per replicate instead of Newton's
//!   `O(n k²)`. It stops when the estimated distance to the fixed point, `|s|/(1 − ρ)` (`|s|`
//!   the largest component of the step, `ρ` the ratio of the last two steps, taken as 1/2 at the
//!   first step), is at most `1e-10 · (1 + max|β|)`, the tolerance of the exact Newton fit. A
//!   replicate whose steps do not shrink by half from the third step on, or that has not
//!   converged in 100 steps, is fit by the exact Newton iteration instead
//!   (`Columns::propensity`), with the same separation and failure rules;
//! * **outcome models** (AIPW; AIPW-ATT the control arm's only): exact weighted least squares per arm; the Gram matrices and
//!   right-hand sides of all `R` replicates come from one product `Zᵀ W` per arm, `Z` the
//!   `k(k+1)/2 + k` products `x_a x_b` and `x_a y` of each row (built for blocks of rows, never
//!   stored whole), then a `k × k` Cholesky per replicate;
//! * the estimators as in the module docs of `effect.rs`, sums over the sorted rows, in one
//!   last pass at every replicate's final `β` (`η = X B` again, and the outcome models'
//!   predictions `X C`), which also counts the rows drawn per arm and checks separation (a row
//!   drawn with a fitted propensity within 1e-12 of 0 or 1).
//!
//! Every pass over the rows runs a block of `ROWS` rows (within one arm) at a time, fused: the
//! block's `η` for the replicates still iterating, their gradient terms, and their addition to
//! `G`, so that the block stays in cache and no `n × R` array but the weights is ever formed
//! (the weights' buffer and the blocks' are kept per thread from one batch to the next: no fresh
//! pages per batch). The sums over a block run in eight lanes of partial sums, `exp` through
//! the vectorised `sigmoid` (AVX-512 or AVX2, chosen at run time). The products run
//! single-threaded (faer, `Par::Seq`); batches run in parallel (rayon).

use super::effect::Estimator;
use super::nuisance::Columns;
use crate::simd::multiversion;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};

/// Steps of the fixed-point iteration before a replicate goes to the exact Newton fit.
const MAX_STEPS: usize = 100;
/// Rows per block of the outcome models' products.
const BLOCK: usize = 1024;
/// Rows per block of the fused passes of the propensity iteration and the final sums.
const ROWS: usize = 1024;

/// The data sorted by arm and what the batched fits share.
pub(crate) struct Batched<'a> {
    pub(super) cols: &'a Columns,
    pub(super) estimator: Estimator,
    pub(super) penalty: f64,
    pub(super) clip: Option<f64>,
    /// `order[s]`: the original row of sorted row `s` (controls first).
    order: Vec<usize>,
    /// Number of control rows (the first `n0` sorted rows).
    n0: usize,
    /// The sorted design, `n × k`, column-major.
    x: Mat<f64>,
    y: Vec<f64>,
    /// `β̂`'s propensity of every sorted row.
    e0: Vec<f64>,
    /// `H₀` (unpenalised), row-major `k × k`.
    pub(super) h0: Vec<f64>,
    /// Buffers of finished batches, for the next ones (at most one per thread; freed with
    /// the run).
    scratch: std::sync::Mutex<Vec<Scratch>>,
}

/// Cholesky factor of the symmetric `k × k` row-major `h` in place (lower triangle); `false`
/// when it is not positive definite.
pub(super) fn cholesky(h: &mut [f64], k: usize) -> bool {
    for j in 0..k {
        let mut d = h[j * k + j];
        for p in 0..j {
            d -= h[j * k + p] * h[j * k + p];
        }
        if !(d > 0.0 && d.is_finite()) {
            return false;
        }
        let d = d.sqrt();
        h[j * k + j] = d;
        for i in j + 1..k {
            let mut s = h[i * k + j];
            for p in 0..j {
                s -= h[i * k + p] * h[j * k + p];
            }
            h[i * k + j] = s / d;
        }
    }
    true
}

/// Solves `L Lᵀ x = b` in place, `l` from [`cholesky`].
pub(super) fn cholesky_solve(l: &[f64], k: usize, b: &mut [f64]) {
    for i in 0..k {
        let mut s = b[i];
        for p in 0..i {
            s -= l[i * k + p] * b[p];
        }
        b[i] = s / l[i * k + i];
    }
    for i in (0..k).rev() {
        let mut s = b[i];
        for p in i + 1..k {
            s -= l[p * k + i] * b[p];
        }
        b[i] = s / l[i * k + i];
    }
}

/// `e^x` for `x ≤ 0` (0 below −708), branch-free so that loops over it vectorise: `x = k ln 2 + r`
/// (Cody–Waite, `|r| ≤ ln 2 / 2`), `e^r` by its Taylor polynomial of degree 13 (truncation below
/// 1e-17 relative), scaled by `2^k` through the exponent bits (integer lane arithmetic, no
/// float-to-integer conversion). Within a few ulp of `f64::exp`.
#[inline(always)]
fn exp_nonpositive(x: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const SHIFTER: f64 = 6_755_399_441_055_744.0; // 1.5 · 2^52: adding it rounds to an integer
    let x = x.max(-708.0);
    let kf = x * std::f64::consts::LOG2_E + SHIFTER;
    let k = kf - SHIFTER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0; // 1/13!
    for d in [
        479_001_600.0,
        39_916_800.0,
        3_628_800.0,
        362_880.0,
        40_320.0,
        5_040.0,
        720.0,
        120.0,
        24.0,
        6.0,
        2.0,
        1.0,
        1.0,
    ] {
        p = p * r + 1.0 / d;
    }
    // the low bits of `kf` hold k (two's complement): 2^k's exponent field is k + 1023
    let scale = f64::from_bits(
        kf.to_bits()
            .wrapping_sub(SHIFTER.to_bits())
            .wrapping_add(1023)
            << 52,
    );
    p * scale
}

/// The logistic function, `1/(1 + e^{−η})`, through [`exp_nonpositive`] of `−|η|`.
#[inline(always)]
fn sigmoid(eta: f64) -> f64 {
    let z = exp_nonpositive(-eta.abs());
    let inv = 1.0 / (1.0 + z);
    if eta >= 0.0 {
        inv
    } else {
        z * inv
    }
}

/// One block of one replicate's gradient terms, in place: `η` to `w (t − σ(η))` (`t` the block's
/// arm).
#[inline(always)]
fn residuals_body(b: &mut [f64], w: &[f64], t: f64) {
    for (bv, &wv) in b.iter_mut().zip(w) {
        *bv = wv * (t - sigmoid(*bv));
    }
}

multiversion! {
    /// [`residuals_body`], compiled for the widest vector unit the CPU has.
    fn residuals(b: &mut [f64], w: &[f64], t: f64) = residuals_body;
    wide: "avx512f,avx512dq,avx2,fma" if ["avx512f", "avx512dq", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

/// `v ← σ(v)` elementwise.
#[inline(always)]
fn sigmoid_body(v: &mut [f64]) {
    v.iter_mut().for_each(|x| *x = sigmoid(*x));
}

multiversion! {
    /// The logistic function of every element in place, vectorised (within a few ulp of
    /// `1/(1 + e^{−η})` with the library's `exp`); the full-data Newton fits use it too.
    pub(super) fn sigmoid_in_place(v: &mut [f64]) = sigmoid_body;
    wide: "avx512f,avx512dq,avx2,fma" if ["avx512f", "avx512dq", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

/// The per-arm sums of one replicate the estimators are made of ([`arm_sums`]).
const SUMS: usize = 8;

/// One block of one arm of one replicate: with `q = e` on the treated arm and `q = 1 − e` on
/// the controls (`e = σ(η)` clipped to `[lo, hi]`), `r = y − m` (`m` the outcome model's
/// prediction, 0 without one), adds to `out`: `Σ w r/q`, `Σ w/q`, `Σ w y`, `Σ w`,
/// `Σ w r (1 − q)/q`, `Σ w (1 − q)/q`, the number of rows drawn (`w > 0`) and the number of rows
/// drawn whose unclipped `e` lies within 1e-12 of 0 or 1 (separation). Eight lanes of partial
/// sums, so that the loop vectorises.
#[inline(always)]
fn arm_sums_body(
    eta: &[f64],
    w: &[f64],
    y: &[f64],
    m: &[f64],
    treated: bool,
    clip: (f64, f64),
    out: &mut [f64; SUMS],
) {
    let mut acc = [[0.0f64; LANES]; SUMS];
    let whole = eta.len() / LANES * LANES;
    let chunks = eta[..whole]
        .chunks_exact(LANES)
        .zip(w[..whole].chunks_exact(LANES))
        .zip(y[..whole].chunks_exact(LANES))
        .zip(m[..whole].chunks_exact(LANES));
    for (((e, w), y), m) in chunks {
        let lanes = |v: &[f64]| -> [f64; LANES] { v.try_into().unwrap() };
        arm_sums_lanes(
            &lanes(e),
            &lanes(w),
            &lanes(y),
            &lanes(m),
            treated,
            clip,
            &mut acc,
        );
    }
    // the last rows, padded with rows of weight 0 (which add nothing)
    let mut tail = [[0.0f64; LANES]; 4];
    for (t, v) in tail.iter_mut().zip([eta, w, y, m]) {
        t[..v.len() - whole].copy_from_slice(&v[whole..]);
    }
    arm_sums_lanes(
        &tail[0], &tail[1], &tail[2], &tail[3], treated, clip, &mut acc,
    );
    for (o, a) in out.iter_mut().zip(&acc) {
        *o += a.iter().sum::<f64>();
    }
}

/// Lanes of partial sums in [`arm_sums_body`].
const LANES: usize = 8;

/// [`arm_sums_body`]'s terms of `LANES` rows, one per lane.
#[inline(always)]
fn arm_sums_lanes(
    eta: &[f64; LANES],
    w: &[f64; LANES],
    y: &[f64; LANES],
    m: &[f64; LANES],
    treated: bool,
    (lo, hi): (f64, f64),
    acc: &mut [[f64; LANES]; SUMS],
) {
    for l in 0..LANES {
        let (wv, yv) = (w[l], y[l]);
        let e = sigmoid(eta[l]);
        let drawn = wv > 0.0;
        // `|` and `&`, not `contains`: no branches, so the lane loop vectorises
        #[allow(clippy::manual_range_contains)]
        let separated = drawn & ((e < 1e-12) | (e > 1.0 - 1e-12));
        let e = e.clamp(lo, hi);
        let q = if treated { e } else { 1.0 - e };
        let u = 1.0 / q;
        let (wu, r) = (wv * u, yv - m[l]);
        acc[0][l] += wu * r;
        acc[1][l] += wu;
        acc[2][l] += wv * yv;
        acc[3][l] += wv;
        acc[4][l] += wu * r * (1.0 - q);
        acc[5][l] += wu * (1.0 - q);
        acc[6][l] += drawn as u8 as f64;
        acc[7][l] += separated as u8 as f64;
    }
}

multiversion! {
    /// [`arm_sums_body`], compiled for the widest vector unit the CPU has.
    fn arm_sums(
        eta: &[f64],
        w: &[f64],
        y: &[f64],
        m: &[f64],
        treated: bool,
        clip: (f64, f64),
        out: &mut [f64; SUMS],
    ) = arm_sums_body;
    wide: "avx512f,avx512dq,avx2,fma" if ["avx512f", "avx512dq", "avx2", "fma"];
    narrow: "avx2,fma" if ["avx2", "fma"];
}

/// How a replicate's propensity was fit.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Fit {
    /// By the batched iteration (separation is checked on the final pass).
    Batched,
    /// By the exact Newton fallback: whether it fit (its own separation check included).
    Newton(bool),
}

/// A batch's buffers, reused by the run's later batches (no fresh pages, so no page faults, per
/// batch): the sorted weights (`n × R`) and two `ROWS × R` blocks.
#[derive(Default)]
struct Scratch {
    w: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

/// `v` with at least `len` elements (their values are overwritten by the caller).
fn at_least(v: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if v.len() < len {
        v.resize(len, 0.0);
    }
    &mut v[..len]
}

impl<'a> Batched<'a> {
    /// The shared state, from the columns whose `start` is the logistic fit on the data.
    pub(crate) fn new(
        cols: &'a Columns,
        estimator: Estimator,
        penalty: f64,
        clip: Option<f64>,
    ) -> Self {
        let (n, k) = (cols.t.len(), cols.k);
        let mut order: Vec<usize> = (0..n).filter(|&i| cols.t[i] == 0.0).collect();
        let n0 = order.len();
        order.extend((0..n).filter(|&i| cols.t[i] != 0.0));
        let mut x = Mat::<f64>::zeros(n, k);
        for a in 0..k {
            for (v, &i) in x.col_as_slice_mut(a).iter_mut().zip(&order) {
                *v = cols.x[i * k + a];
            }
        }
        let y = order.iter().map(|&i| cols.y[i]).collect();
        let ones = vec![1.0; n];
        let mut e0 = cols.linear(&cols.start);
        sigmoid_in_place(&mut e0);
        let (h, _) = cols.normal_equations(&ones, |_| true, |i| e0[i] * (1.0 - e0[i]), |_| 0.0);
        let h0 = (0..k * k).map(|ab| h[(ab / k, ab % k)]).collect();
        let e0 = order.iter().map(|&i| e0[i]).collect();
        Batched {
            cols,
            estimator,
            penalty,
            clip,
            order,
            n0,
            x,
            y,
            e0,
            h0,
            scratch: Default::default(),
        }
    }

    /// How many replicates one batch holds: its `n × R` weights stay near 32 MiB.
    pub(crate) fn batch_size(n: usize) -> usize {
        (4_000_000 / n.max(1)).clamp(1, 32)
    }

    fn n(&self) -> usize {
        self.order.len()
    }

    /// The row blocks of the fused passes: at most `ROWS` rows, each within one arm, with its
    /// arm (`true`: treated).
    fn blocks(&self) -> impl Iterator<Item = (usize, usize, bool)> + '_ {
        let (n, n0) = (self.n(), self.n0);
        let arm = move |lo: usize, hi: usize, treated: bool| {
            (lo..hi)
                .step_by(ROWS)
                .map(move |s| (s, (s + ROWS).min(hi), treated))
        };
        arm(0, n0, false).chain(arm(n0, n, true))
    }

    /// Sorts the replicates' weights (original row order, one vector each) into `w`, an
    /// `n × R` column-major buffer.
    fn sort_weights(&self, ws: &[Vec<f64>], w: &mut [f64]) {
        let n = self.n();
        for (col, wc) in w.chunks_exact_mut(n).zip(ws) {
            for (v, &i) in col.iter_mut().zip(&self.order) {
                *v = wc[i];
            }
        }
    }

    /// The logistic fits of the batch (`w`: the sorted weights, `n × R` column-major; `buf`: a
    /// scratch of at least `ROWS × R`): coefficients (`k × R`) and how each was fit.
    fn propensity(&self, ws: &[Vec<f64>], w: &[f64], buf: &mut Vec<f64>) -> (Mat<f64>, Vec<Fit>) {
        let (n, k, r) = (self.n(), self.cols.k, ws.len());
        let lambda = self.penalty;
        let mut beta = Mat::from_fn(k, r, |a, _| self.cols.start[a]);
        let mut grad = Mat::<f64>::zeros(k, r);
        let mut active_beta = Mat::<f64>::zeros(k, r);
        let buf = at_least(buf, ROWS * r);
        // per replicate: the preconditioner's factor
        let factors: Vec<Option<Vec<f64>>> = (0..r)
            .map(|c| {
                let scale = w[c * n..(c + 1) * n].iter().sum::<f64>() / n as f64;
                let mut p: Vec<f64> = self.h0.iter().map(|h| h * scale).collect();
                for j in 1..k {
                    p[j * k + j] += lambda;
                }
                cholesky(&mut p, k).then_some(p)
            })
            .collect();
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            Active,
            Done,
            Newton,
        }
        let mut state: Vec<State> = factors
            .iter()
            .map(|f| {
                if f.is_some() {
                    State::Active
                } else {
                    State::Newton
                }
            })
            .collect();
        let mut last = vec![f64::INFINITY; r];
        let mut step = vec![0.0; k];
        for it in 0..MAX_STEPS {
            let active: Vec<usize> = (0..r).filter(|&c| state[c] == State::Active).collect();
            let ra = active.len();
            if ra == 0 {
                break;
            }
            for (j, &c) in active.iter().enumerate() {
                for a in 0..k {
                    active_beta[(a, j)] = beta[(a, c)];
                }
            }
            let mut g = grad.as_mut().subcols_mut(0, ra);
            g.fill(0.0);
            // one fused pass over the rows, a block at a time (it stays in cache): η = X B,
            // the gradient terms w (t − σ(η)), then G += Xᵀ (those terms)
            for (lo, hi, treated) in self.blocks() {
                let len = hi - lo;
                let t = if treated { 1.0 } else { 0.0 };
                let xb = self.x.as_ref().subrows(lo, len);
                let block = &mut buf[..len * ra];
                if it == 0 {
                    // every replicate starts at β̂, whose propensity is known
                    for (bc, &c) in block.chunks_exact_mut(len).zip(&active) {
                        let wc = &w[c * n + lo..c * n + hi];
                        for ((b, &wv), &e) in bc.iter_mut().zip(wc).zip(&self.e0[lo..hi]) {
                            *b = wv * (t - e);
                        }
                    }
                } else {
                    matmul(
                        MatMut::from_column_major_slice_mut(block, len, ra),
                        Accum::Replace,
                        xb,
                        active_beta.as_ref().subcols(0, ra),
                        1.0,
                        Par::Seq,
                    );
                    for (bc, &c) in block.chunks_exact_mut(len).zip(&active) {
                        residuals(bc, &w[c * n + lo..c * n + hi], t);
                    }
                }
                matmul(
                    g.as_mut(),
                    Accum::Add,
                    xb.transpose(),
                    MatRef::from_column_major_slice(block, len, ra),
                    1.0,
                    Par::Seq,
                );
            }
            for (j, &c) in active.iter().enumerate() {
                for a in 0..k {
                    step[a] = grad[(a, j)] - if a > 0 { lambda * beta[(a, c)] } else { 0.0 };
                }
                cholesky_solve(factors[c].as_ref().unwrap(), k, &mut step);
                let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
                if !largest.is_finite() {
                    state[c] = State::Newton;
                    continue;
                }
                let rho = if it == 0 { 0.5 } else { largest / last[c] };
                if it >= 2 && rho > 0.5 {
                    state[c] = State::Newton;
                    continue;
                }
                let scale = (0..k).fold(0.0f64, |m, a| m.max(beta[(a, c)].abs()));
                if largest / (1.0 - rho.min(0.5)) <= 1e-10 * (1.0 + scale) {
                    state[c] = State::Done;
                    continue;
                }
                for a in 0..k {
                    beta[(a, c)] += step[a];
                }
                last[c] = largest;
            }
        }
        let fits = (0..r)
            .map(|c| match state[c] {
                State::Done => Fit::Batched,
                State::Active | State::Newton => match self.cols.propensity(&ws[c], lambda) {
                    Some((b, _)) => {
                        for a in 0..k {
                            beta[(a, c)] = b[a];
                        }
                        Fit::Newton(true)
                    }
                    None => Fit::Newton(false),
                },
            })
            .collect();
        (beta, fits)
    }

    /// The final pass of a batch: for every replicate and arm (0: controls, 1: treated) the
    /// sums of [`arm_sums`] at the propensity of `beta` and the outcome models `models`
    /// (`(c₀, c₁)`, `k × R` each; `None`: no outcome model). `w`: the sorted weights; `buf`,
    /// `mbuf`: scratch of at least `ROWS × R`.
    fn sums(
        &self,
        w: &[f64],
        beta: MatRef<'_, f64>,
        models: Option<(MatRef<'_, f64>, MatRef<'_, f64>)>,
        buf: &mut Vec<f64>,
        mbuf: &mut Vec<f64>,
    ) -> Vec<[[f64; SUMS]; 2]> {
        let (n, r) = (self.n(), beta.ncols());
        let clip = self.clip.map_or((0.0, 1.0), |a| (a, 1.0 - a));
        let mut out = vec![[[0.0; SUMS]; 2]; r];
        let buf = at_least(buf, ROWS * r);
        let mbuf = at_least(mbuf, ROWS * r);
        // the treated arm's model is needed by AIPW only (AIPW-ATT uses Σ w y over the treated)
        let treated_model = self.estimator == Estimator::Aipw;
        for (lo, hi, treated) in self.blocks() {
            let len = hi - lo;
            let xb = self.x.as_ref().subrows(lo, len);
            let eta = &mut buf[..len * r];
            matmul(
                MatMut::from_column_major_slice_mut(eta, len, r),
                Accum::Replace,
                xb,
                beta,
                1.0,
                Par::Seq,
            );
            let m = &mut mbuf[..len * r];
            match models {
                Some((c0, c1)) if !treated || treated_model => matmul(
                    MatMut::from_column_major_slice_mut(m, len, r),
                    Accum::Replace,
                    xb,
                    if treated { c1 } else { c0 },
                    1.0,
                    Par::Seq,
                ),
                _ => m.fill(0.0),
            }
            let y = &self.y[lo..hi];
            for (c, o) in out.iter_mut().enumerate() {
                let cols = c * len..(c + 1) * len;
                arm_sums(
                    &eta[cols.clone()],
                    &w[c * n + lo..c * n + hi],
                    y,
                    &m[cols],
                    treated,
                    clip,
                    &mut o[treated as usize],
                );
            }
        }
        out
    }

    /// Weighted least squares within the sorted rows `lo..hi` (one arm) for every replicate
    /// (`w`: the sorted weights, `n × R`): coefficients (`k × R`; a column of NaN where the Gram
    /// matrix is not positive definite) and `Σ w x` over the arm (`k × R`).
    fn outcome(&self, w: MatRef<'_, f64>, lo: usize, hi: usize) -> (Mat<f64>, Mat<f64>) {
        let (k, r) = (self.cols.k, w.ncols());
        let q = k * (k + 1) / 2;
        let mut acc = Mat::<f64>::zeros(q + k, r);
        let mut z = Mat::<f64>::zeros(BLOCK, q + k);
        let mut start = lo;
        while start < hi {
            let len = (hi - start).min(BLOCK);
            for a in 0..k {
                let xa = &self.x.col_as_slice(a)[start..start + len];
                for b in 0..=a {
                    let xb = &self.x.col_as_slice(b)[start..start + len];
                    let zc = &mut z.col_as_slice_mut(a * (a + 1) / 2 + b)[..len];
                    for ((zv, &u), &v) in zc.iter_mut().zip(xa).zip(xb) {
                        *zv = u * v;
                    }
                }
                let ys = &self.y[start..start + len];
                let zc = &mut z.col_as_slice_mut(q + a)[..len];
                for ((zv, &u), &v) in zc.iter_mut().zip(xa).zip(ys) {
                    *zv = u * v;
                }
            }
            matmul(
                acc.as_mut(),
                Accum::Add,
                z.as_ref().subrows(0, len).transpose(),
                w.subrows(start, len),
                1.0,
                Par::Seq,
            );
            start += len;
        }
        let mut coef = Mat::<f64>::zeros(k, r);
        let sx = Mat::from_fn(k, r, |a, c| acc[(a * (a + 1) / 2, c)]);
        let mut g = vec![0.0; k * k];
        let mut rhs = vec![0.0; k];
        for c in 0..r {
            for a in 0..k {
                for b in 0..=a {
                    let v = acc[(a * (a + 1) / 2 + b, c)];
                    g[a * k + b] = v;
                    g[b * k + a] = v;
                }
                rhs[a] = acc[(q + a, c)];
            }
            let fits = cholesky(&mut g, k);
            if fits {
                cholesky_solve(&g, k, &mut rhs);
            }
            for a in 0..k {
                coef[(a, c)] = if fits { rhs[a] } else { f64::NAN };
            }
        }
        (coef, sx)
    }

    /// The logistic coefficients of a batch (`None` where the fit fails), for the tests.
    #[cfg(test)]
    pub(crate) fn coefficients(&self, ws: &[Vec<f64>]) -> Vec<Option<Vec<f64>>> {
        let (n, r) = (self.n(), ws.len());
        let mut s = Scratch::default();
        let w = at_least(&mut s.w, n * r);
        self.sort_weights(ws, w);
        let (beta, fits) = self.propensity(ws, w, &mut s.a);
        let sums = self.sums(w, beta.as_ref(), None, &mut s.a, &mut s.b);
        (0..r)
            .map(|c| {
                let ok = match fits[c] {
                    Fit::Batched => sums[c][0][7] == 0.0 && sums[c][1][7] == 0.0,
                    Fit::Newton(ok) => ok,
                };
                ok.then(|| (0..self.cols.k).map(|a| beta[(a, c)]).collect())
            })
            .collect()
    }

    /// The estimates of a batch of replicates (weights in the original row order, one vector
    /// each); NaN where a fit fails or an arm is empty.
    pub(crate) fn estimates(&self, ws: &[Vec<f64>]) -> Vec<f64> {
        // a finished batch's buffers, or fresh ones
        let mut s = self
            .scratch
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_default();
        let v = self.estimates_with(ws, &mut s);
        if let Ok(mut p) = self.scratch.lock() {
            p.push(s);
        }
        v
    }

    fn estimates_with(&self, ws: &[Vec<f64>], s: &mut Scratch) -> Vec<f64> {
        let (n, n0, k, r) = (self.n(), self.n0, self.cols.k, ws.len());
        let w = at_least(&mut s.w, n * r);
        self.sort_weights(ws, w);
        let (beta, fits) = self.propensity(ws, w, &mut s.a);
        let wm = MatRef::from_column_major_slice(w, n, r);
        // the outcome models (AIPW: both arms; AIPW-ATT: the controls', and Σ w x over the
        // treated from one product)
        let att = self.estimator == Estimator::AipwAtt;
        let models = matches!(self.estimator, Estimator::Aipw | Estimator::AipwAtt).then(|| {
            let (c0, sx0) = self.outcome(wm, 0, n0);
            let (c1, sx1) = if att {
                let mut sx1 = Mat::<f64>::zeros(k, r);
                matmul(
                    sx1.as_mut(),
                    Accum::Replace,
                    self.x.as_ref().subrows(n0, n - n0).transpose(),
                    wm.subrows(n0, n - n0),
                    1.0,
                    Par::Seq,
                );
                (Mat::<f64>::zeros(k, r), sx1)
            } else {
                self.outcome(wm, n0, n)
            };
            (c0, c1, sx0, sx1)
        });
        let sums = self.sums(
            w,
            beta.as_ref(),
            models
                .as_ref()
                .map(|(c0, c1, _, _)| (c0.as_ref(), c1.as_ref())),
            &mut s.a,
            &mut s.b,
        );
        (0..r)
            .map(|c| {
                let [s0, s1] = &sums[c];
                let ok = match fits[c] {
                    Fit::Batched => s0[7] == 0.0 && s1[7] == 0.0,
                    Fit::Newton(ok) => ok,
                };
                // the rows drawn per arm: both arms at least one, and more than the
                // coefficients where the arm has an outcome model
                let (drawn0, drawn1) = (s0[6], s1[6]);
                let need = k as f64;
                let thin = match self.estimator {
                    Estimator::Aipw => drawn0 <= need || drawn1 <= need,
                    Estimator::AipwAtt => drawn0 <= need,
                    _ => false,
                };
                if !ok || drawn0 == 0.0 || drawn1 == 0.0 || thin {
                    return f64::NAN;
                }
                let total = s0[3] + s1[3];
                let v = match self.estimator {
                    Estimator::Ipw => (s1[0] - s0[0]) / total,
                    Estimator::Hajek => s1[0] / s1[1] - s0[0] / s0[1],
                    Estimator::Att => s1[2] / s1[3] - s0[4] / s0[5],
                    Estimator::Aipw => {
                        let (c0, c1, sx0, sx1) = models.as_ref().unwrap();
                        // Σ w (m₁ − m₀) over every row = (Σ w x)ᵀ (c₁ − c₀)
                        let lin: f64 = (0..k)
                            .map(|a| (sx0[(a, c)] + sx1[(a, c)]) * (c1[(a, c)] - c0[(a, c)]))
                            .sum();
                        (lin + s1[0] - s0[0]) / total
                    }
                    Estimator::AipwAtt => {
                        let (c0, _, _, sx1) = models.as_ref().unwrap();
                        // Σ over the treated of w (y − m₀) = Σ w y − (Σ w x)ᵀ c₀
                        let fit1: f64 = (0..k).map(|a| sx1[(a, c)] * c0[(a, c)]).sum();
                        (s1[2] - fit1 - s0[4]) / s1[3]
                    }
                };
                if v.is_finite() {
                    v
                } else {
                    f64::NAN
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bootstrap::EffectBootstrap;
    use crate::Dataset;

    /// A confounded data set: `t` logistic in three covariates, `y` linear with an effect of 2.
    fn data(n: usize) -> Dataset {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut unif = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut cols: Vec<Vec<f64>> = vec![Vec::new(); 5];
        for _ in 0..n {
            let x: Vec<f64> = (0..3).map(|_| 2.0 * unif() - 1.0 + unif() - 0.5).collect();
            let e = 1.0 / (1.0 + (-(0.3 + x[0] - 0.7 * x[1] + 0.4 * x[2])).exp());
            let t = (unif() < e) as u8 as f64;
            let y = 1.0 + 2.0 * t + x[0] + 0.5 * x[1] * t + unif();
            for (c, v) in cols.iter_mut().zip([t, y, x[0], x[1], x[2]]) {
                c.push(v);
            }
        }
        let mut d = Dataset::new();
        for (name, c) in ["t", "y", "a", "b", "c"].iter().zip(cols) {
            d = d.with_column(name, c).unwrap();
        }
        d
    }

    /// Multinomial counts (iid bootstrap weights) of `n` rows.
    fn counts(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut w = vec![0.0; n];
        for _ in 0..n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            w[(state % n as u64) as usize] += 1.0;
        }
        w
    }

    #[test]
    fn batched_fits_match_newton() {
        for (n, penalty) in [(200, 0.0), (3000, 0.0), (3000, 2.0)] {
            let d = data(n);
            let b =
                EffectBootstrap::new(Estimator::Aipw, "t", "y", &["a", "b", "c"]).penalty(penalty);
            let mut cols = b.columns(&d).unwrap();
            cols.start = cols.propensity(&vec![1.0; n], penalty).unwrap().0;
            let ws: Vec<Vec<f64>> = (0..40).map(|s| counts(n, s + 1)).collect();
            for est in [
                Estimator::Ipw,
                Estimator::Hajek,
                Estimator::Aipw,
                Estimator::Att,
                Estimator::AipwAtt,
            ] {
                for clip in [None, Some(0.1)] {
                    let batched = Batched::new(&cols, est, penalty, clip);
                    if est == Estimator::Aipw && clip.is_none() {
                        // the coefficients: within the fits' tolerance of Newton's
                        for (w, fit) in ws.iter().zip(batched.coefficients(&ws)) {
                            let newton = cols.propensity(w, penalty).map(|f| f.0);
                            let (fit, newton) = (fit.unwrap(), newton.unwrap());
                            let scale = 1.0 + newton.iter().fold(0.0f64, |m, b| m.max(b.abs()));
                            for (a, b) in fit.iter().zip(&newton) {
                                assert!((a - b).abs() <= 2e-10 * scale, "n {n}: {a} vs {b}");
                            }
                        }
                    }
                    let mut one = cols.clone_fits(clip);
                    one.start = cols.start.clone();
                    for (w, v) in ws.iter().zip(batched.estimates(&ws)) {
                        let exact = one.estimate(est, w, penalty).unwrap();
                        assert!(
                            (v - exact).abs() <= 1e-8 * (1.0 + exact.abs()),
                            "{v} vs {exact}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn an_empty_arm_or_a_thin_arm_is_a_failed_replicate() {
        let n = 300;
        let d = data(n);
        let b = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["a", "b", "c"]);
        let mut cols = b.columns(&d).unwrap();
        cols.start = cols.propensity(&vec![1.0; n], 0.0).unwrap().0;
        let batched = Batched::new(&cols, Estimator::Aipw, 0.0, None);
        let treated: Vec<f64> = cols.t.clone();
        // only treated rows, and 3 control rows for 4 coefficients
        let mut thin = treated.clone();
        let controls: Vec<usize> = (0..n).filter(|&i| cols.t[i] == 0.0).collect();
        controls[..3].iter().for_each(|&i| thin[i] = 1.0);
        let v = batched.estimates(&[treated, thin, vec![1.0; n]]);
        assert!(v[0].is_nan() && v[1].is_nan() && v[2].is_finite(), "{v:?}");
    }

    #[test]
    fn aipw_att_needs_a_thick_control_arm_only() {
        let n = 300;
        let d = data(n);
        let b = EffectBootstrap::new(Estimator::AipwAtt, "t", "y", &["a", "b", "c"]);
        let mut cols = b.columns(&d).unwrap();
        cols.start = cols.propensity(&vec![1.0; n], 0.0).unwrap().0;
        let batched = Batched::new(&cols, Estimator::AipwAtt, 0.0, None);
        let (treated, controls): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| cols.t[i] == 1.0);
        // 3 treated rows (fewer than the 4 coefficients): fine, no treated model is fit;
        // 3 control rows: the control model cannot be fit
        let mut thin1 = vec![0.0; n];
        controls.iter().for_each(|&i| thin1[i] = 1.0);
        treated[..3].iter().for_each(|&i| thin1[i] = 1.0);
        let mut thin0 = vec![0.0; n];
        treated.iter().for_each(|&i| thin0[i] = 1.0);
        controls[..3].iter().for_each(|&i| thin0[i] = 1.0);
        let v = batched.estimates(&[thin1.clone(), thin0.clone()]);
        let exact = cols.clone_fits(None);
        let mut one = exact;
        one.start = cols.start.clone();
        let newton1 = one.estimate(Estimator::AipwAtt, &thin1, 0.0);
        assert!(one.estimate(Estimator::AipwAtt, &thin0, 0.0).is_none());
        assert!(v[1].is_nan(), "{v:?}");
        // the propensity may separate on so few treated rows; when Newton fits, they agree
        match newton1 {
            Some(x) => assert!((v[0] - x).abs() <= 1e-8 * (1.0 + x.abs()), "{v:?} vs {x}"),
            None => assert!(v[0].is_nan(), "{v:?}"),
        }
    }

    #[test]
    fn blocked_normal_equations_match_the_row_sums() {
        // n not a multiple of the block, zero weights and a row filter
        let n = 5000;
        let d = data(n);
        let b = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["a", "b", "c"]);
        let cols = b.columns(&d).unwrap();
        let w = counts(n, 9);
        let keep = |i: usize| cols.t[i] == 1.0;
        let s = |i: usize| 0.5 + (i % 7) as f64;
        let r = |i: usize| cols.y[i] - 1.0;
        let (h, g) = cols.normal_equations(&w, keep, s, r);
        let k = cols.k;
        let (mut h1, mut g1) = (vec![0.0; k * k], vec![0.0; k]);
        for i in (0..n).filter(|&i| keep(i)) {
            let x = cols.row(i);
            for a in 0..k {
                g1[a] += w[i] * r(i) * x[a];
                for c in 0..k {
                    h1[a * k + c] += w[i] * s(i) * x[a] * x[c];
                }
            }
        }
        for a in 0..k {
            assert!((g[(a, 0)] - g1[a]).abs() <= 1e-9 * (1.0 + g1[a].abs()));
            for c in 0..k {
                let (u, v) = (h[(a, c)], h1[a * k + c]);
                assert!(
                    (u - v).abs() <= 1e-9 * (1.0 + v.abs()),
                    "h[{a},{c}]: {u} vs {v}"
                );
                assert_eq!(h[(a, c)].to_bits(), h[(c, a)].to_bits());
            }
        }
    }

    #[test]
    fn the_estimate_on_the_data_reuses_the_fit_it_starts_from() {
        let n = 2000;
        let d = data(n);
        for clip in [None, Some(0.2)] {
            let mut b = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["a", "b", "c"]);
            if let Some(a) = clip {
                b = b.clip(a);
            }
            let cols = b.columns(&d).unwrap();
            let ones = vec![1.0; n];
            let (_, e) = cols.propensity(&ones, 0.0).unwrap();
            for est in [
                Estimator::Ipw,
                Estimator::Hajek,
                Estimator::Aipw,
                Estimator::AipwAtt,
            ] {
                let fresh = cols.estimate(est, &ones, 0.0).unwrap();
                let reused = cols
                    .estimate_with(est, &ones, 0.0, Some(e.clone()))
                    .unwrap();
                assert!((fresh - reused).abs() <= 1e-12 * (1.0 + fresh.abs()));
            }
        }
    }

    #[test]
    fn vectorised_sigmoid_matches_the_scalar_one() {
        // lengths around the vector widths, values across the clamp at −708
        for len in [0, 1, 7, 8, 9, 31, 1000] {
            let mut v: Vec<f64> = (0..len).map(|i| (i as f64 - 500.0) * 1.7).collect();
            let want: Vec<f64> = v.iter().map(|&x| sigmoid(x)).collect();
            sigmoid_in_place(&mut v);
            assert_eq!(v, want);
        }
    }

    #[test]
    fn exp_and_sigmoid_match_the_library() {
        for i in 0..=20000 {
            let x = -745.0 * i as f64 / 20000.0;
            let (a, b) = (exp_nonpositive(x), x.exp());
            if x >= -708.0 {
                assert!(
                    (a - b).abs() <= 4.0 * f64::EPSILON * b,
                    "exp({x}): {a} vs {b}"
                );
            }
            let eta = x / 20.0;
            for eta in [eta, -eta] {
                let (s, t) = (sigmoid(eta), 1.0 / (1.0 + (-eta).exp()));
                assert!(
                    (s - t).abs() <= 4.0 * f64::EPSILON * t,
                    "sigmoid({eta}): {s} vs {t}"
                );
            }
        }
    }
}
