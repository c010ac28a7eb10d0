//! Batched refits of the nuisance models of an [`EffectBootstrap`](super::EffectBootstrap)
//! (no trimming, no cross-fitting): `R` replicates at a time, every pass over the rows a dense
//! product for all of them.
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
//! * the estimators as in the module docs of `effect.rs`, sums over the sorted rows.
//!
//! The products run single-threaded (faer, `Par::Seq`); batches run in parallel (rayon).

use super::effect::Estimator;
use super::nuisance::Columns;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

/// Steps of the fixed-point iteration before a replicate goes to the exact Newton fit.
const MAX_STEPS: usize = 100;
/// Rows per block of the outcome models' products.
const BLOCK: usize = 1024;

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

/// One replicate's propensity `e = σ(η)` of every sorted row into `e` and its gradient terms
/// `w (t − e)` over `η` in `b` (`t = 0` on the first `n0` rows, 1 after).
#[inline(always)]
fn residuals_body(b: &mut [f64], e: &mut [f64], w: &[f64], n0: usize) {
    let (b0, b1) = b.split_at_mut(n0);
    let (e0, e1) = e.split_at_mut(n0);
    let (w0, w1) = w.split_at(n0);
    for ((bv, ev), &wv) in b0.iter_mut().zip(e0).zip(w0) {
        let p = sigmoid(*bv);
        *ev = p;
        *bv = -wv * p;
    }
    for ((bv, ev), &wv) in b1.iter_mut().zip(e1).zip(w1) {
        let p = sigmoid(*bv);
        *ev = p;
        *bv = wv * (1.0 - p);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
unsafe fn residuals_avx512(b: &mut [f64], e: &mut [f64], w: &[f64], n0: usize) {
    residuals_body(b, e, w, n0)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn residuals_avx2(b: &mut [f64], e: &mut [f64], w: &[f64], n0: usize) {
    residuals_body(b, e, w, n0)
}

/// [`residuals_body`], compiled for the widest vector unit the CPU has.
fn residuals(b: &mut [f64], e: &mut [f64], w: &[f64], n0: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
        {
            // SAFETY: the features are present (checked just above).
            return unsafe { residuals_avx512(b, e, w, n0) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { residuals_avx2(b, e, w, n0) };
        }
    }
    residuals_body(b, e, w, n0)
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
        let x = Mat::from_fn(n, k, |s, a| cols.x[order[s] * k + a]);
        let y = order.iter().map(|&i| cols.y[i]).collect();
        let ones = vec![1.0; n];
        let e0: Vec<f64> = (0..n)
            .map(|i| {
                let eta: f64 = cols
                    .row(i)
                    .iter()
                    .zip(&cols.start)
                    .map(|(a, b)| a * b)
                    .sum();
                sigmoid(eta)
            })
            .collect();
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
        }
    }

    /// How many replicates one batch holds: its `n × R` buffers stay near 32 MiB each.
    pub(crate) fn batch_size(n: usize) -> usize {
        (4_000_000 / n.max(1)).clamp(1, 32)
    }

    fn n(&self) -> usize {
        self.order.len()
    }

    /// The replicates' weights (original row order, one vector each) sorted into an `n × R`
    /// matrix.
    fn sorted_weights(&self, ws: &[Vec<f64>]) -> Mat<f64> {
        let mut w = Mat::<f64>::zeros(self.n(), ws.len());
        for (c, wc) in ws.iter().enumerate() {
            let col = w.col_as_slice_mut(c);
            for (s, &i) in self.order.iter().enumerate() {
                col[s] = wc[i];
            }
        }
        w
    }

    /// The logistic fits of the batch: coefficients (`k × R`), the fitted propensity of every
    /// sorted row (`n × R`) and which replicates fit (`false`: separation or no convergence).
    fn propensity(&self, ws: &[Vec<f64>], w: &Mat<f64>) -> (Mat<f64>, Mat<f64>, Vec<bool>) {
        let (n, k, r) = (self.n(), self.cols.k, w.ncols());
        let (n0, lambda) = (self.n0, self.penalty);
        let mut beta = Mat::from_fn(k, r, |a, _| self.cols.start[a]);
        let mut e = Mat::<f64>::zeros(n, r);
        let mut buf = Mat::<f64>::zeros(n, r);
        let mut grad = Mat::<f64>::zeros(k, r);
        // per replicate: the preconditioner's factor
        let factors: Vec<Option<Vec<f64>>> = (0..r)
            .map(|c| {
                let scale = w.col_as_slice(c).iter().sum::<f64>() / n as f64;
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
            if !state.contains(&State::Active) {
                break;
            }
            if it == 0 {
                // every replicate starts at β̂, whose propensity is known
                for c in 0..r {
                    let (b, ec, wc) = (
                        buf.col_as_slice_mut(c),
                        e.col_as_slice_mut(c),
                        w.col_as_slice(c),
                    );
                    ec.copy_from_slice(&self.e0);
                    for s in 0..n {
                        let t = if s < n0 { 0.0 } else { 1.0 };
                        b[s] = wc[s] * (t - self.e0[s]);
                    }
                }
            } else {
                matmul(
                    buf.as_mut(),
                    Accum::Replace,
                    self.x.as_ref(),
                    beta.as_ref(),
                    1.0,
                    Par::Seq,
                );
                for (c, _) in state.iter().enumerate().filter(|s| *s.1 == State::Active) {
                    let (b, ec) = (buf.col_as_slice_mut(c), e.col_as_slice_mut(c));
                    residuals(b, ec, w.col_as_slice(c), n0);
                }
            }
            matmul(
                grad.as_mut(),
                Accum::Replace,
                self.x.as_ref().transpose(),
                buf.as_ref(),
                1.0,
                Par::Seq,
            );
            for c in 0..r {
                if state[c] != State::Active {
                    continue;
                }
                for a in 0..k {
                    step[a] = grad[(a, c)] - if a > 0 { lambda * beta[(a, c)] } else { 0.0 };
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
        let mut ok = vec![false; r];
        for c in 0..r {
            match state[c] {
                State::Done => {
                    // separation: a row the replicate uses fitted at 0 or 1
                    let ec = e.col_as_slice(c);
                    ok[c] =
                        (0..n).all(|s| w[(s, c)] == 0.0 || (1e-12..=1.0 - 1e-12).contains(&ec[s]));
                }
                State::Active | State::Newton => {
                    if let Some((b, full)) = self.cols.propensity(&ws[c], lambda) {
                        for a in 0..k {
                            beta[(a, c)] = b[a];
                        }
                        let ec = e.col_as_slice_mut(c);
                        for (s, &i) in self.order.iter().enumerate() {
                            ec[s] = full[i];
                        }
                        ok[c] = true;
                    }
                }
            }
        }
        (beta, e, ok)
    }

    /// Weighted least squares within the sorted rows `lo..hi` (one arm) for every replicate:
    /// coefficients (`k × R`; a column of NaN where the Gram matrix is singular or the arm has
    /// no more weighted rows than coefficients) and `Σ w x` over the arm (`k × R`).
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
            let rows = (lo..hi).filter(|&s| w[(s, c)] > 0.0).count();
            for a in 0..k {
                for b in 0..=a {
                    let v = acc[(a * (a + 1) / 2 + b, c)];
                    g[a * k + b] = v;
                    g[b * k + a] = v;
                }
                rhs[a] = acc[(q + a, c)];
            }
            let fits = rows > k && cholesky(&mut g, k);
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
        let w = self.sorted_weights(ws);
        let (beta, _, ok) = self.propensity(ws, &w);
        (0..ws.len())
            .map(|c| ok[c].then(|| (0..self.cols.k).map(|a| beta[(a, c)]).collect()))
            .collect()
    }

    /// The estimates of a batch of replicates (weights in the original row order, one vector
    /// each); NaN where a fit fails or an arm is empty.
    pub(crate) fn estimates(&self, ws: &[Vec<f64>]) -> Vec<f64> {
        let (n, n0, k) = (self.n(), self.n0, self.cols.k);
        let w = self.sorted_weights(ws);
        let r = ws.len();
        let (_, mut e, ok) = self.propensity(ws, &w);
        if let Some(a) = self.clip {
            for c in 0..r {
                e.col_as_slice_mut(c)
                    .iter_mut()
                    .for_each(|v| *v = v.clamp(a, 1.0 - a));
            }
        }
        let y = &self.y;
        // the outcome models and their predictions on their own arm's rows
        let att = self.estimator == Estimator::AipwAtt;
        let models = matches!(self.estimator, Estimator::Aipw | Estimator::AipwAtt).then(|| {
            let (c0, sx0) = self.outcome(w.as_ref(), 0, n0);
            // AIPW-ATT: no treated model; `sx1` (Σ w x over the treated) from the same product
            let (c1, sx1) = if att {
                let mut sx1 = Mat::<f64>::zeros(k, r);
                matmul(
                    sx1.as_mut(),
                    Accum::Replace,
                    self.x.as_ref().subrows(n0, n - n0).transpose(),
                    w.as_ref().subrows(n0, n - n0),
                    1.0,
                    Par::Seq,
                );
                (Mat::<f64>::zeros(k, r), sx1)
            } else {
                self.outcome(w.as_ref(), n0, n)
            };
            let mut m = Mat::<f64>::zeros(n, r);
            matmul(
                m.as_mut().subrows_mut(0, n0),
                Accum::Replace,
                self.x.as_ref().subrows(0, n0),
                c0.as_ref(),
                1.0,
                Par::Seq,
            );
            matmul(
                m.as_mut().subrows_mut(n0, n - n0),
                Accum::Replace,
                self.x.as_ref().subrows(n0, n - n0),
                c1.as_ref(),
                1.0,
                Par::Seq,
            );
            (c0, c1, sx0, sx1, m)
        });
        (0..r)
            .map(|c| {
                let (wc, ec) = (w.col_as_slice(c), e.col_as_slice(c));
                let drawn = |rows: std::ops::Range<usize>| rows.filter(|&s| wc[s] > 0.0).count();
                if !ok[c] || drawn(0..n0) == 0 || drawn(n0..n) == 0 {
                    return f64::NAN;
                }
                let total: f64 = wc.iter().sum();
                // Σ over the control rows and over the treated rows of w·f(s)
                let sum0 = |f: &dyn Fn(usize) -> f64| (0..n0).map(|s| wc[s] * f(s)).sum::<f64>();
                let sum1 = |f: &dyn Fn(usize) -> f64| (n0..n).map(|s| wc[s] * f(s)).sum::<f64>();
                let v = match self.estimator {
                    Estimator::Ipw => {
                        (sum1(&|s| y[s] / ec[s]) - sum0(&|s| y[s] / (1.0 - ec[s]))) / total
                    }
                    Estimator::Hajek => {
                        sum1(&|s| y[s] / ec[s]) / sum1(&|s| 1.0 / ec[s])
                            - sum0(&|s| y[s] / (1.0 - ec[s])) / sum0(&|s| 1.0 / (1.0 - ec[s]))
                    }
                    Estimator::Att => {
                        let odds = |s: usize| ec[s] / (1.0 - ec[s]);
                        sum1(&|_| 1.0).recip() * sum1(&|s| y[s])
                            - sum0(&|s| y[s] * odds(s)) / sum0(&odds)
                    }
                    Estimator::Aipw => {
                        let (c0, c1, sx0, sx1, m) = models.as_ref().unwrap();
                        let mc = m.col_as_slice(c);
                        // Σ w (m₁ − m₀) over every row = (Σ w x)ᵀ (c₁ − c₀)
                        let lin: f64 = (0..k)
                            .map(|a| (sx0[(a, c)] + sx1[(a, c)]) * (c1[(a, c)] - c0[(a, c)]))
                            .sum();
                        (lin + sum1(&|s| (y[s] - mc[s]) / ec[s])
                            - sum0(&|s| (y[s] - mc[s]) / (1.0 - ec[s])))
                            / total
                    }
                    Estimator::AipwAtt => {
                        let (c0, _, _, sx1, m) = models.as_ref().unwrap();
                        let mc = m.col_as_slice(c);
                        // Σ over the treated of w (y − m₀) = Σ w y − (Σ w x)ᵀ c₀
                        let fit1: f64 = (0..k).map(|a| sx1[(a, c)] * c0[(a, c)]).sum();
                        let odds = |s: usize| ec[s] / (1.0 - ec[s]);
                        (sum1(&|s| y[s]) - fit1 - sum0(&|s| odds(s) * (y[s] - mc[s])))
                            / sum1(&|_| 1.0)
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
