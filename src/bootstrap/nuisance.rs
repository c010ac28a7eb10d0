//! The nuisance fits of the refit effect estimators ([`super::EffectBootstrap`]) on the columns
//! they read once: the logistic propensity by Newton (warm-started, optionally L2-penalised),
//! the per-arm weighted least-squares outcome models, cross-fitting and trimming, and the
//! estimators computed from them under one resample's weights.

use super::effect::Estimator;
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};

/// The columns a fit reads, once: treatment, outcome and the design `[1, x…]` (row-major).
pub(crate) struct Columns {
    pub(crate) t: Vec<f64>,
    pub(crate) y: Vec<f64>,
    pub(crate) x: Vec<f64>,
    pub(crate) k: usize,
    /// Where Newton starts: zeros for the fit on the data, then that fit's coefficients for the
    /// resamples (they converge to the same tolerance in fewer steps).
    pub(crate) start: Vec<f64>,
    /// Trim or clip the propensity at `a` ([`EffectBootstrap::trim`](super::EffectBootstrap::trim), [`EffectBootstrap::clip`](super::EffectBootstrap::clip)).
    pub(crate) trim: Option<f64>,
    pub(crate) clip: Option<f64>,
    /// Cross-fitting: the fold of every row and the fold count ([`EffectBootstrap::crossfit`](super::EffectBootstrap::crossfit)).
    pub(crate) folds: Option<(Vec<u32>, u32)>,
}

/// Per-row nuisance predictions: propensity, control and treated outcome models.
type Fits = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Newton steps before a fit counts as not converged.
const MAX_STEPS: usize = 100;

impl Columns {
    /// A copy with clipping at `clip` and neither trimming nor folds (for the batched fits'
    /// tests).
    #[cfg(test)]
    pub(crate) fn clone_fits(&self, clip: Option<f64>) -> Columns {
        Columns {
            t: self.t.clone(),
            y: self.y.clone(),
            x: self.x.clone(),
            k: self.k,
            start: self.start.clone(),
            trim: None,
            clip,
            folds: None,
        }
    }

    pub(crate) fn n(&self) -> usize {
        self.t.len()
    }

    pub(crate) fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.k..(i + 1) * self.k]
    }

    /// `X b`: every row's `xᵢ·b` (one dense product).
    pub(crate) fn linear(&self, b: &[f64]) -> Vec<f64> {
        let n = self.n();
        let mut out = vec![0.0; n];
        matmul(
            MatMut::from_column_major_slice_mut(&mut out, n, 1),
            Accum::Replace,
            MatRef::from_row_major_slice(&self.x, n, self.k),
            MatRef::from_column_major_slice(b, self.k, 1),
            1.0,
            Par::Seq,
        );
        out
    }

    /// `Σ wᵢ sᵢ xᵢ xᵢᵀ` and `Σ wᵢ rᵢ xᵢ` over the rows where `keep(i)`: the Gram matrix as one
    /// dense product per block of rows, `X_blkᵀ (D X_blk)` (`D` the rows' `wᵢ sᵢ`), symmetrised.
    pub(crate) fn normal_equations(
        &self,
        w: &[f64],
        keep: impl Fn(usize) -> bool,
        s: impl Fn(usize) -> f64,
        r: impl Fn(usize) -> f64,
    ) -> (Mat<f64>, Mat<f64>) {
        const ROWS: usize = 2048;
        let (n, k) = (self.n(), self.k);
        let mut h = Mat::<f64>::zeros(k, k);
        let mut g = vec![0.0; k];
        let mut scaled = vec![0.0; ROWS.min(n) * k];
        for lo in (0..n).step_by(ROWS) {
            let hi = (lo + ROWS).min(n);
            let v = &mut scaled[..(hi - lo) * k];
            for (i, vi) in (lo..hi).zip(v.chunks_exact_mut(k)) {
                let wi = w[i];
                if wi == 0.0 || !keep(i) {
                    vi.fill(0.0);
                    continue;
                }
                let (xi, si, ri) = (self.row(i), wi * s(i), wi * r(i));
                for ((va, ga), &xa) in vi.iter_mut().zip(&mut g).zip(xi) {
                    *va = si * xa;
                    *ga += ri * xa;
                }
            }
            matmul(
                h.as_mut(),
                Accum::Add,
                MatRef::from_row_major_slice(&self.x[lo * k..hi * k], hi - lo, k).transpose(),
                MatRef::from_row_major_slice(v, hi - lo, k),
                1.0,
                Par::Seq,
            );
        }
        for a in 0..k {
            for b in a + 1..k {
                h[(a, b)] = h[(b, a)];
            }
        }
        (h, Mat::from_fn(k, 1, |a, _| g[a]))
    }

    /// Checks the weighted Gram matrix of the design is of full rank; `Err(j)`: column `j` is
    /// (to 1e-10 of its scale) a combination of the columns before it.
    pub(crate) fn gram_rank(&self, w: &[f64]) -> std::result::Result<(), usize> {
        let (h, _) = self.normal_equations(w, |_| true, |_| 1.0, |_| 0.0);
        let k = self.k;
        // Cholesky by hand to see which pivot vanishes
        let mut l = Mat::<f64>::zeros(k, k);
        for j in 0..k {
            let mut d = h[(j, j)];
            for p in 0..j {
                d -= l[(j, p)] * l[(j, p)];
            }
            if d <= 1e-10 * h[(j, j)].max(1e-300) {
                return Err(j);
            }
            l[(j, j)] = d.sqrt();
            for i in j + 1..k {
                let mut s = h[(i, j)];
                for p in 0..j {
                    s -= l[(i, p)] * l[(j, p)];
                }
                l[(i, j)] = s / l[(j, j)];
            }
        }
        Ok(())
    }

    /// The weighted logistic fit's coefficients and the propensity of every row, or `None` when
    /// it fails.
    pub(crate) fn propensity(&self, w: &[f64], penalty: f64) -> Option<(Vec<f64>, Vec<f64>)> {
        let k = self.k;
        let mut beta = self.start.clone();
        // every row's σ(xᵢβ) (vectorised, within a few ulp of the library's `exp`)
        let fitted = |beta: &[f64]| -> Vec<f64> {
            let mut p = self.linear(beta);
            super::refit::sigmoid_in_place(&mut p);
            p
        };
        let mut converged = false;
        for _ in 0..MAX_STEPS {
            let p = fitted(&beta);
            let (mut h, mut g) =
                self.normal_equations(w, |_| true, |i| p[i] * (1.0 - p[i]), |i| self.t[i] - p[i]);
            for j in 1..k {
                h[(j, j)] += penalty;
                g[(j, 0)] -= penalty * beta[j];
            }
            let step = h.llt(Side::Lower).ok()?.solve(&g);
            let mut largest = 0.0f64;
            for j in 0..k {
                beta[j] += step[(j, 0)];
                largest = largest.max(step[(j, 0)].abs());
            }
            if !largest.is_finite() {
                return None;
            }
            let scale = beta.iter().fold(0.0f64, |m, b| m.max(b.abs()));
            if largest <= 1e-10 * (1.0 + scale) {
                converged = true;
                break;
            }
        }
        if !converged {
            return None;
        }
        let e = fitted(&beta);
        // separation: a row the replicate uses fitted at 0 or 1
        let separated = (0..self.n()).any(|i| w[i] > 0.0 && !(1e-12..=1.0 - 1e-12).contains(&e[i]));
        (!separated).then_some((beta, e))
    }

    /// Weighted least squares of `y` on the design within arm `arm`: every row's prediction.
    pub(crate) fn outcome_model(&self, w: &[f64], arm: f64) -> Option<Vec<f64>> {
        let (h, g) = self.normal_equations(w, |i| self.t[i] == arm, |_| 1.0, |i| self.y[i]);
        let coef = h.llt(Side::Lower).ok()?.solve(&g);
        let pred = self.linear(coef.col_as_slice(0));
        pred.iter().all(|v| v.is_finite()).then_some(pred)
    }

    /// Cross-fitted predictions under weights `w`: for each fold, the models fit with `w`
    /// restricted to the other folds, predicted on the fold's rows (rows of weight 0 get
    /// predictions too). `None` when a fold's training set fails a fit.
    /// Without `both` (AIPW-ATT) only the control arm's outcome model is fit (`m₁` stays 0).
    pub(crate) fn cross_fits(&self, w: &[f64], penalty: f64, both: bool) -> Option<Fits> {
        let (folds, k) = self.folds.as_ref()?;
        let n = self.n();
        let (mut e, mut m0, mut m1) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut train = vec![0.0; n];
        for j in 0..*k {
            if !(0..n).any(|i| folds[i] == j) {
                continue; // an empty fold: nothing to predict
            }
            for i in 0..n {
                train[i] = if folds[i] == j { 0.0 } else { w[i] };
            }
            for arm in [0.0, 1.0] {
                let rows = (0..n)
                    .filter(|&i| self.t[i] == arm && train[i] > 0.0)
                    .count();
                // the treated arm needs more rows than coefficients only for its outcome model
                if rows <= if arm == 0.0 || both { self.k } else { 0 } {
                    return None;
                }
            }
            let (_, ej) = self.propensity(&train, penalty)?;
            let m0j = self.outcome_model(&train, 0.0)?;
            let m1j = if both {
                self.outcome_model(&train, 1.0)?
            } else {
                vec![0.0; n]
            };
            for i in (0..n).filter(|&i| folds[i] == j) {
                (e[i], m0[i], m1[i]) = (ej[i], m0j[i], m1j[i]);
            }
        }
        Some((e, m0, m1))
    }

    /// Cross-fitted predictions after trimming and clipping, with the weights they apply to
    /// (`w` with the trimmed units set to 0).
    pub(crate) fn trimmed_fits(
        &self,
        w: &[f64],
        penalty: f64,
        both: bool,
    ) -> Option<(Vec<f64>, Fits)> {
        let mut w = w.to_vec();
        if let Some(a) = self.trim {
            let (e, _, _) = self.cross_fits(&w, penalty, both)?;
            for (wi, ei) in w.iter_mut().zip(&e) {
                if !(a..=1.0 - a).contains(ei) {
                    *wi = 0.0;
                }
            }
        }
        let (mut e, m0, m1) = self.cross_fits(&w, penalty, both)?;
        if let Some(a) = self.clip {
            e.iter_mut().for_each(|v| *v = v.clamp(a, 1.0 - a));
        }
        Some((w, (e, m0, m1)))
    }

    /// Cross-fitted AIPW or AIPW-ATT under weights `w` (module docs).
    fn crossfit_estimate(&self, estimator: Estimator, w: &[f64], penalty: f64) -> Option<f64> {
        let att = estimator == Estimator::AipwAtt;
        let (w, (e, m0, m1)) = self.trimmed_fits(w, penalty, !att)?;
        let (t, y) = (&self.t, &self.y);
        let (mut num, mut total) = (0.0, 0.0);
        for i in 0..self.n() {
            if w[i] == 0.0 {
                continue;
            }
            if att {
                // normalised by the treated arm's weight
                total += w[i] * t[i];
                num += w[i]
                    * (t[i] * (y[i] - m0[i]) - (1.0 - t[i]) * e[i] / (1.0 - e[i]) * (y[i] - m0[i]));
                continue;
            }
            total += w[i];
            num += w[i]
                * (m1[i] - m0[i] + t[i] * (y[i] - m1[i]) / e[i]
                    - (1.0 - t[i]) * (y[i] - m0[i]) / (1.0 - e[i]));
        }
        let v = num / total;
        v.is_finite().then_some(v)
    }

    /// One replicate's estimate, or `None` when a fit fails or an arm is empty.
    pub(crate) fn estimate(&self, estimator: Estimator, w: &[f64], penalty: f64) -> Option<f64> {
        self.estimate_with(estimator, w, penalty, None)
    }

    /// [`estimate`](Self::estimate), given the propensity already fit under `w` (`fitted`, as
    /// [`propensity`](Self::propensity) returns it; used without trimming or cross-fitting
    /// only): the run's estimate on the data reuses the fit it starts from.
    pub(crate) fn estimate_with(
        &self,
        estimator: Estimator,
        w: &[f64],
        penalty: f64,
        fitted: Option<Vec<f64>>,
    ) -> Option<f64> {
        if self.folds.is_some() {
            return self.crossfit_estimate(estimator, w, penalty);
        }
        // trimming: a first fit decides which units stay; the models are then fit on those
        let trimmed: Vec<f64>;
        let w = match self.trim {
            Some(a) => {
                let (_, e) = self.propensity(w, penalty)?;
                trimmed = w
                    .iter()
                    .zip(&e)
                    .map(|(&wi, &ei)| if (a..=1.0 - a).contains(&ei) { wi } else { 0.0 })
                    .collect();
                &trimmed
            }
            None => w,
        };
        let (t, y) = (&self.t, &self.y);
        // each arm must hold more weighted rows than the outcome model has coefficients
        let rows = |arm: f64| (0..self.n()).filter(|&i| t[i] == arm && w[i] > 0.0).count();
        let (n1, n0) = (rows(1.0), rows(0.0));
        if n1 == 0 || n0 == 0 {
            return None;
        }
        let mut e = match fitted.filter(|_| self.trim.is_none()) {
            Some(e) => e,
            None => self.propensity(w, penalty)?.1,
        };
        if let Some(a) = self.clip {
            e.iter_mut().for_each(|v| *v = v.clamp(a, 1.0 - a));
        }
        let sum = |f: &dyn Fn(usize) -> f64| -> f64 { (0..self.n()).map(|i| w[i] * f(i)).sum() };
        let total = sum(&|_| 1.0);
        let v = match estimator {
            Estimator::Ipw => {
                sum(&|i| t[i] * y[i] / e[i] - (1.0 - t[i]) * y[i] / (1.0 - e[i])) / total
            }
            Estimator::Hajek => {
                sum(&|i| t[i] * y[i] / e[i]) / sum(&|i| t[i] / e[i])
                    - sum(&|i| (1.0 - t[i]) * y[i] / (1.0 - e[i]))
                        / sum(&|i| (1.0 - t[i]) / (1.0 - e[i]))
            }
            Estimator::Aipw => {
                if n1 <= self.k || n0 <= self.k {
                    return None;
                }
                let m0 = self.outcome_model(w, 0.0)?;
                let m1 = self.outcome_model(w, 1.0)?;
                sum(&|i| {
                    m1[i] - m0[i] + t[i] * (y[i] - m1[i]) / e[i]
                        - (1.0 - t[i]) * (y[i] - m0[i]) / (1.0 - e[i])
                }) / total
            }
            Estimator::Att => {
                let odds = |i: usize| e[i] / (1.0 - e[i]);
                sum(&|i| t[i] * y[i]) / sum(&|i| t[i])
                    - sum(&|i| (1.0 - t[i]) * y[i] * odds(i)) / sum(&|i| (1.0 - t[i]) * odds(i))
            }
            Estimator::AipwAtt => {
                // only the control arm's outcome model is fit
                if n0 <= self.k {
                    return None;
                }
                let m0 = self.outcome_model(w, 0.0)?;
                let odds = |i: usize| e[i] / (1.0 - e[i]);
                sum(&|i| t[i] * (y[i] - m0[i]) - (1.0 - t[i]) * odds(i) * (y[i] - m0[i]))
                    / sum(&|i| t[i])
            }
        };
        v.is_finite().then_some(v)
    }
}
