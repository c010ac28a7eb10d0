//! Effect estimators whose nuisance models are refit in every resample: the propensity by
//! weighted logistic regression and, for AIPW, the outcome by weighted least squares per arm.
//!
//! With per-row replicate weights `w` (see [`CustomBootstrap`]), covariates `X = [1, x₁ … x_p]`:
//! * **propensity**: the weighted logistic MLE `β̂ = argmax Σ wᵢ (tᵢ xᵢβ − log(1 + e^{xᵢβ}))`
//!   (minus `λ/2 ‖β₁..p‖²` with an L2 penalty; the intercept is never penalised), by Newton/IRLS
//!   in f64 (from `β = 0` on the data, from the data's `β̂` in a resample) until the step
//!   `max|Δβ| ≤ 1e-10 · (1 + max|β|)`, at most 100 steps;
//!   `eᵢ = 1/(1 + e^{−xᵢβ̂})`. Without trimming or cross-fitting the resamples are fit in
//!   batches of up to 32 (every pass over the rows dense products for the whole batch): from
//!   the data's `β̂`, the fixed-point iteration `β ← β + P⁻¹ ∇ℓ_w(β)` with `P` the data's Hessian
//!   at `β̂` (scaled by `Σ w / n`, plus the penalty), which contracts at a rate of order `1/√n`
//!   and costs `O(n p)` per step instead of Newton's `O(n p²)`; it stops when the estimated
//!   distance to the solution, `|step| / (1 − ρ)` (`ρ` the ratio of the last two steps), is at
//!   most the same `1e-10 · (1 + max|β|)`; a resample whose steps do not shrink at least by half
//!   falls back to the Newton fit above (same failure rules). The estimates agree with the
//!   per-resample Newton fits to about 1e-10 relative;
//! * **outcome models** (AIPW): weighted least squares of `y` on `X` within each arm, by Cholesky
//!   of `XᵀWX` (batched: the Gram matrices of the batch from one product); `m₀ᵢ`, `m₁ᵢ` their
//!   predictions for every row;
//! * the estimators, sums over rows weighted by `w`:
//!   * `ipw = Σ w (t y/e − (1−t) y/(1−e)) / Σ w`,
//!   * `hajek = Σ w t y/e / Σ w t/e − Σ w (1−t) y/(1−e) / Σ w (1−t)/(1−e)`,
//!   * `aipw = Σ w (m₁ − m₀ + t (y − m₁)/e − (1−t)(y − m₀)/(1−e)) / Σ w`,
//!   * `att = Σ w t y / Σ w t − Σ w (1−t) y e/(1−e) / Σ w (1−t) e/(1−e)` (the Hájek ATT),
//!   * `aipw-att = [Σ w t (y − m₀) − Σ w (1−t) e/(1−e) (y − m₀)] / Σ w t`, the doubly robust
//!     ATT of Moodie, Saarela & Stephens (2018, *Stat* 7:e205, eq. for `τ̂_DR-ATT`): both terms
//!     normalised by the treated arm's weight `Σ w t`, the control term **not** by its own weight
//!     sum `Σ w (1−t) e/(1−e)` (Sant'Anna & Zhao 2020's `τ̂^dr` normalises it by that sum
//!     instead; the two agree in expectation and both are doubly robust). Only the control
//!     arm's outcome model `m₀` is fit, so only the control arm must hold more rows than
//!     coefficients (the treated arm at least one).
//!
//! Overlap: with [`EffectBootstrap::trim`] a first propensity fit drops the units outside
//! `[a, 1 − a]` and every model is fit again on the rest; with [`EffectBootstrap::clip`] the
//! fitted propensity is clipped to `[a, 1 − a]`. Both act in the estimate and inside every
//! resample. The result's `overlap` describes the propensity fitted on the data (clipped when
//! clipping).
//!
//! The estimate is the same fit on the original data (`w = 1`). A replicate whose fit fails —
//! an arm empty or too small for its regression, quasi-complete separation (a fitted propensity
//! within 1e-12 of 0 or 1), no convergence, a singular design — is a failed resample: counted in
//! `failed_resamples`, left out of the intervals and explained in `warnings`, never dropped
//! silently. The result says `"nuisance": "refit"`.
//!
//! **Cross-fitting** ([`EffectBootstrap::crossfit`], AIPW and AIPW-ATT; DML-style, Chernozhukov et al.
//! 2018): the units are split into `K` folds once, by [`crate::rng::crossfit_fold`]
//! (`fold(i)` a pure function of `(seed, i)`: Philox stream [`crate::rng::STREAM_CROSSFIT`] keyed
//! by the bootstrap's seed, so the same on every backend and thread count and in every replicate).
//! The units are the rows, or under [`Scheme::Cluster`] the clusters: `i` is then the cluster's
//! index in ascending order of its value (as the scheme numbers them), and every row of a
//! cluster goes to its cluster's fold, so no cluster is split between training and prediction.
//! Under replicate weights `w`, for each fold `j` the propensity and both outcome models are fit
//! with the weights `w·[fold ≠ j]` (the replicate's weights restricted to the other `K − 1` folds)
//! and predicted on the rows of fold `j`; the AIPW sum above then runs over every row with the
//! cross-fitted `e`, `m₀`, `m₁` and the replicate's weights `w`. The folds are over units, not
//! over draws: the copies of a unit drawn several times in a replicate share its fold, so a unit
//! never sits in its own training set. Clipping clips the cross-fitted propensity; trimming drops
//! the units whose cross-fitted propensity lies outside `[a, 1 − a]` and cross-fits again on the
//! rest. The estimate is the same cross-fit on the data (`w = 1`): it depends on the seed through
//! the folds. A replicate in which any fold's training set fails a fit is a failed resample. The
//! result says `"nuisance": "crossfit"` (the fold count is the caller's `K`; it is not echoed).

use super::nuisance::Columns;
use super::refit::Batched;
use super::{
    check_shard_range, BootstrapResult, CustomBootstrap, IntervalMethod, Overlap, Scheme, Shard,
};
use crate::data::Dataset;
use crate::engine::Engine;
use crate::error::{Error, Result};

use std::ops::Range;

/// Which effect a refit bootstrap estimates (formulas in the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Estimator {
    /// Horvitz–Thompson inverse-probability weighting (ATE).
    Ipw,
    /// Normalised (Hájek) inverse-probability weighting (ATE).
    Hajek,
    /// Augmented IPW, doubly robust (ATE).
    Aipw,
    /// Hájek-weighted effect on the treated (ATT).
    Att,
    /// Augmented IPW effect on the treated, doubly robust (ATT; control outcome model only;
    /// Moodie, Saarela & Stephens 2018, both terms normalised by the treated weight).
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::Dataset;
    /// let x: Vec<f64> = (0..40).map(|i| (i % 9) as f64).collect();
    /// let t: Vec<f64> = (0..40).map(|i| ((i * 7) % 5 < 2) as u8 as f64).collect();
    /// let y: Vec<f64> = (0..40).map(|i| x[i] + 3.0 * t[i]).collect();
    /// let d = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
    ///     .with_column("x", x).unwrap();
    /// let att = EffectBootstrap::new(Estimator::AipwAtt, "t", "y", &["x"]);
    /// assert_eq!(Estimator::AipwAtt.name(), "aipw-att");
    /// assert!((att.estimate(&d, &vec![1.0; 40]).unwrap() - 3.0).abs() < 1e-9);
    /// ```
    AipwAtt,
}

impl Estimator {
    /// The CLI spelling: `ipw`, `hajek`, `aipw`, `att`, `aipw-att`.
    ///
    /// ```
    /// assert_eq!(ceteris::bootstrap::Estimator::Att.name(), "att");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Estimator::Ipw => "ipw",
            Estimator::Hajek => "hajek",
            Estimator::Aipw => "aipw",
            Estimator::Att => "att",
            Estimator::AipwAtt => "aipw-att",
        }
    }
}

/// A bootstrap of an effect estimator with its nuisance models refit in every resample (see the
/// module docs), on the CPU or (batched refits) the device ([`run`](Self::run)), with every
/// scheme and the percentile, basic, normal and BCa intervals (BCa's jackknife refits once per unit: use it on a few thousand units at most).
///
/// ```
/// use ceteris::bootstrap::{EffectBootstrap, Estimator};
/// use ceteris::{Dataset, Engine, IntervalMethod};
/// let n = 300;
/// let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
/// let t: Vec<f64> = (0..n).map(|i| ((i * 7919 % 13) as f64 / 13.0 < 0.4 + 0.3 * x[i]) as u8 as f64).collect();
/// let y: Vec<f64> = (0..n).map(|i| 1.0 + 2.0 * t[i] + x[i] + ((i * 11) % 7) as f64 / 7.0).collect();
/// let data = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
///     .with_column("x", x).unwrap();
/// let r = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x"])
///     .resamples(200).seed(1).methods(&[IntervalMethod::Percentile])
///     .run(&Engine::cpu(), &data).unwrap();
/// assert_eq!(r.nuisance.as_deref(), Some("refit"));
/// assert!((r.estimate - 2.0).abs() < 0.5);
/// ```
#[derive(Clone, Debug)]
pub struct EffectBootstrap {
    estimator: Estimator,
    treatment: String,
    outcome: String,
    covariates: Vec<String>,
    penalty: f64,
    trim: Option<f64>,
    clip: Option<f64>,
    scheme: Scheme,
    resamples: u64,
    seed: u64,
    level: f64,
    methods: Vec<IntervalMethod>,
    keep_replicates: bool,
    crossfit: Option<u32>,
    cancel: Option<crate::Cancel>,
}

/// The nuisance models fit on the data ([`EffectBootstrap::nuisance`]), one value per row.
#[derive(Clone, Debug, PartialEq)]
pub struct Nuisance {
    /// The fitted propensity.
    pub propensity: Vec<f64>,
    /// The control arm's outcome model, predicted for every row.
    pub mu0: Vec<f64>,
    /// The treated arm's outcome model, predicted for every row.
    pub mu1: Vec<f64>,
}

impl EffectBootstrap {
    /// The estimator of the effect of `treatment` (0/1) on `outcome`, adjusting for `covariates`.
    pub fn new(estimator: Estimator, treatment: &str, outcome: &str, covariates: &[&str]) -> Self {
        EffectBootstrap {
            estimator,
            treatment: treatment.into(),
            outcome: outcome.into(),
            covariates: covariates.iter().map(|c| c.to_string()).collect(),
            penalty: 0.0,
            trim: None,
            clip: None,
            scheme: Scheme::Iid,
            resamples: 9999,
            seed: 0,
            level: 0.95,
            methods: vec![IntervalMethod::Percentile, IntervalMethod::Bca],
            keep_replicates: false,
            crossfit: None,
            cancel: None,
        }
    }

    /// Stops the run between batches of replicates once `token` is cancelled (as
    /// [`Bootstrap::cancel`](super::Bootstrap::cancel); the same replicates with or without a
    /// token); once cancelled the run returns [`Error::Cancelled`]. The device path
    /// (`Engine::gpu`) checks the token before and after its batches only.
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::{Cancel, Dataset, Engine, Error};
    /// let n = 200;
    /// let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
    /// let t: Vec<f64> = (0..n).map(|i| ((i * 7919 % 13) as f64 / 13.0 < 0.5) as u8 as f64).collect();
    /// let y: Vec<f64> = (0..n).map(|i| t[i] + x[i]).collect();
    /// let data = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
    ///     .with_column("x", x).unwrap();
    /// let token = Cancel::new();
    /// token.cancel();
    /// let r = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"]).cancel(&token)
    ///     .run(&Engine::cpu(), &data);
    /// assert!(matches!(r, Err(Error::Cancelled)));
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// Cross-fit the nuisance models over `k ≥ 2` folds (AIPW and AIPW-ATT; see the module docs for the
    /// fold rule and how folds meet the replicate weights). The result says
    /// `"nuisance": "crossfit"`.
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::{Dataset, Engine, IntervalMethod};
    /// let n = 400;
    /// let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
    /// let t: Vec<f64> = (0..n).map(|i| ((i * 7919 % 13) as f64 / 13.0 < 0.4 + 0.3 * x[i]) as u8 as f64).collect();
    /// let y: Vec<f64> = (0..n).map(|i| 1.0 + 2.0 * t[i] + x[i] + ((i * 11) % 7) as f64 / 7.0).collect();
    /// let data = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
    ///     .with_column("x", x).unwrap();
    /// let r = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x"])
    ///     .crossfit(5).resamples(100).seed(3).methods(&[IntervalMethod::Percentile])
    ///     .run(&Engine::cpu(), &data).unwrap();
    /// assert_eq!(r.nuisance.as_deref(), Some("crossfit"));
    /// assert!((r.estimate - 2.0).abs() < 0.5);
    /// ```
    pub fn crossfit(mut self, k: u32) -> Self {
        self.crossfit = Some(k);
        self
    }

    /// An L2 penalty `λ/2 ‖β‖²` on the propensity's slopes (`λ ≥ 0`; 0, unpenalised, by default).
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::Scheme;
    /// let b = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["age", "income"])
    ///     .penalty(0.1).scheme(Scheme::Stratified { column: "t".into() }).resamples(999).seed(3);
    /// # let _ = b;
    /// ```
    pub fn penalty(mut self, lambda: f64) -> Self {
        self.penalty = lambda;
        self
    }

    /// Trim: in the estimate and in every resample, after the propensity fit, drop the units whose
    /// propensity lies outside `[a, 1 − a]` (`0 < a < 0.5`) and fit the nuisance models again on
    /// the rest. Exclusive with [`clip`](Self::clip).
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// let b = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"]).trim(0.05);
    /// # let _ = b;
    /// ```
    pub fn trim(mut self, a: f64) -> Self {
        self.trim = Some(a);
        self
    }

    /// Clip: in the estimate and in every resample, use the fitted propensity clipped to
    /// `[a, 1 − a]` (`0 < a < 0.5`). Exclusive with [`trim`](Self::trim).
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// let b = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"]).clip(0.01);
    /// # let _ = b;
    /// ```
    pub fn clip(mut self, a: f64) -> Self {
        self.clip = Some(a);
        self
    }

    super::run_setters!("EffectBootstrap::new(Estimator::Aipw, \"t\", \"y\", &[\"x\"])");

    /// Reads and checks the columns: a 0/1 treatment with both arms, finite outcome and
    /// covariates, no constant or collinear covariate, a nonnegative penalty.
    pub(crate) fn columns(&self, data: &Dataset) -> Result<Columns> {
        if !(self.penalty >= 0.0 && self.penalty.is_finite()) {
            return Err(Error::param(
                "penalty",
                format!("{} is not a finite λ ≥ 0", self.penalty),
            ));
        }
        for (name, v) in [("trim", self.trim), ("clip", self.clip)] {
            if let Some(a) = v {
                if !(a > 0.0 && a < 0.5) {
                    return Err(Error::param(
                        name,
                        format!("{a} is not strictly between 0 and 0.5"),
                    ));
                }
            }
        }
        if self.trim.is_some() && self.clip.is_some() {
            return Err(Error::param("trim", "give --trim or --clip, not both"));
        }
        if let Some(k) = self.crossfit {
            if !matches!(self.estimator, Estimator::Aipw | Estimator::AipwAtt) {
                return Err(Error::param(
                    "crossfit",
                    format!(
                        "cross-fitting is built for aipw and aipw-att; {} would ignore it",
                        self.estimator.name()
                    ),
                ));
            }
            if k < 2 {
                return Err(Error::param(
                    "crossfit",
                    format!("{k} folds: cross-fitting needs at least 2"),
                ));
            }
        }
        if self.covariates.is_empty() {
            return Err(Error::param(
                "covariates",
                "a refit needs at least one covariate",
            ));
        }
        let t = data.finite_column(&self.treatment)?;
        // its distinct values (the first 11 found suffice to tell and to show), sorted
        let mut levels: Vec<f64> = Vec::new();
        for &v in t {
            if levels.len() > 10 {
                break;
            }
            if !levels.contains(&v) {
                levels.push(v);
            }
        }
        levels.sort_by(f64::total_cmp);
        if levels != [0.0, 1.0] {
            return Err(Error::param(
                "treatment",
                format!(
                    "`{}` must hold the two levels 0 and 1; it holds {:?}",
                    self.treatment,
                    &levels[..levels.len().min(10)]
                ),
            ));
        }
        let y = data.finite_column(&self.outcome)?.to_vec();
        let n = t.len();
        let k = self.covariates.len() + 1;
        let cols: Vec<&[f64]> = self
            .covariates
            .iter()
            .map(|c| data.finite_column(c))
            .collect::<Result<_>>()?;
        for (name, c) in self.covariates.iter().zip(&cols) {
            if c.iter().all(|&v| v == c[0]) {
                return Err(Error::param(
                    "covariates",
                    format!("covariate `{name}` is constant"),
                ));
            }
        }
        let mut x = Vec::with_capacity(n * k);
        for i in 0..n {
            x.push(1.0);
            x.extend(cols.iter().map(|c| c[i]));
        }
        // under the cluster scheme the cross-fitting units are the clusters: each row's cluster
        // index (the clusters in ascending order of their value, as the scheme numbers them)
        // and the number of clusters
        let units: Option<(Vec<u32>, usize)> = match (&self.scheme, self.crossfit) {
            (Scheme::Cluster { column }, Some(_)) => {
                let c = data.finite_column(column)?;
                let mut values = c.to_vec();
                values.sort_by(f64::total_cmp);
                values.dedup();
                let unit = c
                    .iter()
                    .map(|v| values.partition_point(|u| u.total_cmp(v).is_lt()) as u32)
                    .collect();
                Some((unit, values.len()))
            }
            _ => None,
        };
        let cols = Columns {
            t: t.to_vec(),
            y,
            x,
            k,
            start: vec![0.0; k],
            trim: self.trim,
            clip: self.clip,
            folds: match (self.crossfit, &units) {
                (Some(k), Some((unit, _))) => Some((
                    unit.iter()
                        .map(|&u| crate::rng::crossfit_fold(self.seed, u, k))
                        .collect(),
                    k,
                )),
                (Some(k), None) => Some((
                    (0..n)
                        .map(|i| crate::rng::crossfit_fold(self.seed, i as u32, k))
                        .collect(),
                    k,
                )),
                (None, _) => None,
            },
        };
        if let Some(k) = self.crossfit {
            match &units {
                Some((_, clusters)) if k as usize > *clusters => {
                    return Err(Error::param(
                        "crossfit",
                        format!("{k} folds for {clusters} clusters: at most one fold per cluster"),
                    ));
                }
                None if k as usize > n => {
                    return Err(Error::param(
                        "crossfit",
                        format!("{k} folds for {n} rows: at most one fold per row"),
                    ));
                }
                _ => {}
            }
        }
        // a collinear design is singular on the full data: name the covariate it stops at
        let ones = vec![1.0; n];
        if let Err(j) = cols.gram_rank(&ones) {
            return Err(Error::param(
                "covariates",
                format!(
                    "covariate `{}` is a linear combination of the intercept and the covariates \
                     before it",
                    self.covariates[j - 1]
                ),
            ));
        }
        Ok(cols)
    }

    /// The estimate with the nuisance models fit under per-row `weights` (all 1: the estimate
    /// on the data), or an error when a fit fails.
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::Dataset;
    /// let x: Vec<f64> = (0..40).map(|i| (i % 9) as f64).collect();
    /// let t: Vec<f64> = (0..40).map(|i| ((i * 7) % 5 < 2) as u8 as f64).collect();
    /// let y: Vec<f64> = (0..40).map(|i| x[i] + 3.0 * t[i]).collect();
    /// let d = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
    ///     .with_column("x", x).unwrap();
    /// let aipw = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x"]);
    /// assert!((aipw.estimate(&d, &vec![1.0; 40]).unwrap() - 3.0).abs() < 1e-9);
    /// ```
    pub fn estimate(&self, data: &Dataset, weights: &[f64]) -> Result<f64> {
        let cols = self.columns(data)?;
        if weights.len() != cols.n() || weights.iter().any(|w| !(*w >= 0.0 && w.is_finite())) {
            return Err(Error::param(
                "weights",
                format!("{} finite nonnegative weights are needed", cols.n()),
            ));
        }
        cols.estimate(self.estimator, weights, self.penalty)
            .ok_or_else(|| {
                Error::param(
                    "weights",
                    "a nuisance fit failed under these weights (separation, an empty arm or no \
                     convergence)",
                )
            })
    }

    /// The nuisance models fit on the data (all weights 1, after trimming or clipping when
    /// asked): every row's propensity and both arms' outcome predictions, e.g. to inspect the fits
    /// or to compare with a fixed-nuisance [`Bootstrap`](super::Bootstrap). With
    /// [`crossfit`](Self::crossfit), each row's predictions come from the models fit on the other
    /// folds.
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::Dataset;
    /// let x: Vec<f64> = (0..40).map(|i| (i % 9) as f64).collect();
    /// let t: Vec<f64> = (0..40).map(|i| ((i * 7) % 5 < 2) as u8 as f64).collect();
    /// let y: Vec<f64> = (0..40).map(|i| x[i] + 3.0 * t[i]).collect();
    /// let d = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
    ///     .with_column("x", x).unwrap();
    /// let fits = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x"]).nuisance(&d).unwrap();
    /// assert!(fits.propensity.iter().all(|e| *e > 0.0 && *e < 1.0));
    /// assert!((fits.mu1[0] - fits.mu0[0] - 3.0).abs() < 1e-9);
    /// ```
    pub fn nuisance(&self, data: &Dataset) -> Result<Nuisance> {
        let cols = self.columns(data)?;
        let ones = vec![1.0; cols.n()];
        let failed = || {
            Error::param(
                "covariates",
                "a nuisance model does not fit the data (separation, an empty arm or no \
                 convergence)",
            )
        };
        if cols.folds.is_some() {
            // cross-fitted: every row's predictions from the models fit without its fold
            let (e, mu0, mu1) = cols
                .trimmed_fits(&ones, self.penalty, true)
                .ok_or_else(failed)?
                .1;
            return Ok(Nuisance {
                propensity: e,
                mu0,
                mu1,
            });
        }
        let (_, mut e) = cols.propensity(&ones, self.penalty).ok_or_else(failed)?;
        if let Some(a) = self.clip {
            e.iter_mut().for_each(|v| *v = v.clamp(a, 1.0 - a));
        }
        let w: Vec<f64> = match self.trim {
            Some(a) => e
                .iter()
                .map(|v| if (a..=1.0 - a).contains(v) { 1.0 } else { 0.0 })
                .collect(),
            None => ones,
        };
        if self.trim.is_some() {
            e = cols.propensity(&w, self.penalty).ok_or_else(failed)?.1;
        }
        Ok(Nuisance {
            propensity: e,
            mu0: cols.outcome_model(&w, 0.0).ok_or_else(failed)?,
            mu1: cols.outcome_model(&w, 1.0).ok_or_else(failed)?,
        })
    }

    /// Runs the bootstrap. Without trimming or cross-fitting the resamples are fit in batches,
    /// on a GPU engine on the device (`shaders/refit.wgsl`; the `p × p` steps and solves on the
    /// host in f64; replicates within f32 accuracy of the CPU's, see `tests/gpu/refit.rs`); an
    /// engine with the CPU fallback (`Engine::auto`) reruns them on the CPU after a device error
    /// and says why in `fallback`. Trimming and cross-fitting run on the CPU on every engine
    /// (the result's `backend` says so).
    pub fn run(&self, engine: &Engine, data: &Dataset) -> Result<BootstrapResult> {
        self.run_or_shard(engine, data, Run::All)
            .map(|r| r.expect_result())
    }

    /// Computes replicates `range` only, on the CPU (to spread `B` across machines); see
    /// [`EffectBootstrap::combine`]. Each replicate's value is a pure function of the seed and its
    /// index (the weights come from the counter-based plan), and the batched fits run in the
    /// run's own batches (counted from replicate 0, whatever the shard's bounds), so the merged
    /// shards equal [`EffectBootstrap::run`] on `Engine::cpu()` bit for bit. A GPU engine is
    /// refused (its f32 replicates would not merge with the CPU's): pass `Engine::cpu()`.
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::{Dataset, Engine};
    /// let n = 200;
    /// let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
    /// let t: Vec<f64> = (0..n).map(|i| ((i * 7919 % 13) as f64 / 13.0 < 0.5 + 0.2 * x[i]) as u8 as f64).collect();
    /// let y: Vec<f64> = (0..n).map(|i| 2.0 * t[i] + x[i]).collect();
    /// let data = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
    ///     .with_column("x", x).unwrap();
    /// let boot = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"]).resamples(100).seed(3);
    /// let e = Engine::cpu();
    /// let shards = [boot.shard(&e, &data, 0..37).unwrap(), boot.shard(&e, &data, 37..100).unwrap()];
    /// let merged = boot.combine(&data, &shards).unwrap();
    /// let whole = boot.run(&e, &data).unwrap();
    /// assert_eq!(merged.intervals, whole.intervals);
    /// assert_eq!(merged.std_error.to_bits(), whole.std_error.to_bits());
    /// ```
    pub fn shard(&self, engine: &Engine, data: &Dataset, range: Range<u64>) -> Result<Shard> {
        check_shard_range(&range, self.resamples)?;
        #[cfg(feature = "gpu")]
        if engine.kind() == crate::engine::BackendKind::Gpu {
            return Err(Error::param(
                "backend",
                "the shards of a refit bootstrap run on the CPU (a device's f32 replicates would \
                 not merge with the CPU's bit for bit): use the cpu backend",
            ));
        }
        let values = match self.run_or_shard(engine, data, Run::Shard(range.clone()))? {
            Ran::Values(v) => v,
            Ran::Result(_) => unreachable!("a shard run returns values"),
        };
        Ok(Shard {
            start: range.start,
            std_errors: vec![f64::NAN; values.len()],
            values,
            backend: engine.cpu_name(),
            fallback: None,
            seed: self.seed,
            resamples: self.resamples,
            fingerprint: self.fingerprint(data),
        })
    }

    /// Merges shards of [`EffectBootstrap::shard`] (in any order) into the result of
    /// [`EffectBootstrap::run`] on the CPU, bit for bit (only `seconds` differs). The shards must
    /// cover replicates `0..B` once each and come from this run (the same seed, `B`, estimator,
    /// columns, options, scheme and data); anything else is refused with an error that says
    /// which shard and why.
    ///
    /// ```
    /// use ceteris::bootstrap::{EffectBootstrap, Estimator};
    /// use ceteris::{Dataset, Engine};
    /// let n = 200;
    /// let x: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0).collect();
    /// let t: Vec<f64> = (0..n).map(|i| ((i * 7919 % 13) as f64 / 13.0 < 0.5) as u8 as f64).collect();
    /// let y: Vec<f64> = (0..n).map(|i| t[i] + x[i]).collect();
    /// let data = Dataset::new().with_column("t", t).unwrap().with_column("y", y).unwrap()
    ///     .with_column("x", x).unwrap();
    /// let boot = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"]).resamples(100);
    /// let a = boot.shard(&Engine::cpu(), &data, 0..40).unwrap();
    /// let gap = boot.combine(&data, &[a]).unwrap_err();
    /// assert!(gap.to_string().contains("40..100"), "{gap}");
    /// ```
    pub fn combine(&self, data: &Dataset, shards: &[Shard]) -> Result<BootstrapResult> {
        let start = std::time::Instant::now();
        let fingerprint = self.fingerprint(data);
        let sorted = super::check_shards(shards, self.seed, self.resamples, &fingerprint)?;
        let values: Vec<f64> = sorted
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .collect();
        let mut r = self
            .run_or_shard(&Engine::cpu(), data, Run::Combine(values))?
            .expect_result();
        r.backend = sorted[0].backend.clone();
        r.seconds = start.elapsed().as_secs_f64();
        Ok(r)
    }

    /// A hash of everything the replicates depend on but the seed and `B`: the estimator, the
    /// columns, the options, the scheme and the data (names and values).
    fn fingerprint(&self, data: &Dataset) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        format!(
            "{:?}|{}|{}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
            self.estimator,
            self.treatment,
            self.outcome,
            self.covariates,
            self.penalty.to_bits(),
            self.trim.map(f64::to_bits),
            self.clip.map(f64::to_bits),
            self.crossfit,
            self.scheme,
        )
        .hash(&mut h);
        for name in data.names() {
            name.hash(&mut h);
            for v in data.column(name).expect("a listed column") {
                v.to_bits().hash(&mut h);
            }
        }
        format!("{:016x}", h.finish())
    }

    fn run_or_shard(&self, engine: &Engine, data: &Dataset, what: Run) -> Result<Ran> {
        let start = std::time::Instant::now();
        let mut cols = self.columns(data)?;
        let (estimator, penalty) = (self.estimator, self.penalty);
        let full = vec![1.0; cols.t.len()];
        let (beta, e_full) = cols.propensity(&full, penalty).ok_or_else(|| {
            Error::param(
                "covariates",
                "the propensity model does not fit the full data (separation: a fitted \
                 propensity of 0 or 1, or no convergence)",
            )
        })?;
        cols.start = beta;
        let e_used: Vec<f64> = if cols.folds.is_some() {
            // the cross-fitted propensity (clipped when clipping), as the estimate uses it
            let mut e = cols
                .cross_fits(&full, penalty, estimator != Estimator::AipwAtt)
                .ok_or_else(|| {
                    Error::param(
                        "crossfit",
                        "a fold's nuisance models do not fit the data without that fold \
                         (separation, an arm with fewer rows than coefficients, or no \
                         convergence): use fewer folds",
                    )
                })?
                .0;
            if let Some(a) = self.clip {
                e.iter_mut().for_each(|v| *v = v.clamp(a, 1.0 - a));
            }
            e
        } else {
            match self.clip {
                Some(a) => e_full.iter().map(|v| v.clamp(a, 1.0 - a)).collect(),
                None => e_full.clone(),
            }
        };
        let overlap = Overlap::of(&cols.t, &e_used);
        // without trimming or cross-fitting, the replicates' fits run in batches (refit.rs),
        // and the estimate on the data (all weights 1) reuses the propensity fit above
        let plain = self.trim.is_none() && cols.folds.is_none();
        let on_data = plain.then(|| {
            cols.estimate_with(estimator, &full, penalty, Some(e_full.clone()))
                .unwrap_or(f64::NAN)
        });
        let batched = plain.then(|| Batched::new(&cols, estimator, penalty, self.clip));
        let mut custom = CustomBootstrap::new(|_: &Dataset, w: &[f64]| match on_data {
            Some(v) if w.iter().all(|&wi| wi == 1.0) => v,
            _ => cols.estimate(estimator, w, penalty).unwrap_or(f64::NAN),
        });
        if let Some(c) = &self.cancel {
            crate::cancel::check(&self.cancel)?;
            custom = custom.cancel(c);
        }
        if let Some(b) = &batched {
            custom = custom.batched(Batched::batch_size(cols.n()), |ws| b.estimates(ws));
        }
        let custom = custom
            .scheme(self.scheme.clone())
            .resamples(self.resamples)
            .seed(self.seed)
            .level(self.level)
            .methods(&self.methods);
        // the device path runs whole runs only (shards and their merge are the CPU's)
        #[cfg(feature = "gpu")]
        let all = matches!(what, Run::All);
        #[cfg_attr(not(feature = "gpu"), allow(unused_mut))]
        let mut custom = match what {
            Run::Shard(range) => {
                return custom
                    .replicate_values(data, range.start as u32..range.end as u32)
                    .map(Ran::Values)
            }
            Run::Combine(values) => custom.precomputed(values),
            Run::All => custom,
        };
        // on a GPU engine the batched fits run on the device (refit_gpu.rs); under `auto` a
        // device error reruns them on the CPU, and the result says why
        #[cfg_attr(not(feature = "gpu"), allow(unused_mut))]
        let mut ran: Option<crate::engine::Ran> = None;
        #[cfg(feature = "gpu")]
        if let (Some(b), crate::engine::BackendKind::Gpu, true) = (&batched, engine.kind(), all) {
            let (plan, groups) = super::scheme_plan(&self.scheme, self.seed, data)?;
            let unit_of_row: Option<Vec<u32>> = groups.as_ref().map(|groups| {
                let mut map = vec![0u32; cols.n()];
                for (u, rows) in groups.iter().enumerate() {
                    rows.iter().for_each(|&r| map[r] = u as u32);
                }
                map
            });
            let newton = |rep: u32| {
                let w =
                    super::cpu::replicate_row_weights(&plan, unit_of_row.as_deref(), cols.n(), rep);
                cols.estimate(estimator, &w, penalty).unwrap_or(f64::NAN)
            };
            let resamples = u32::try_from(self.resamples).unwrap_or(u32::MAX);
            let (values, how) = engine.run(
                || Ok(None),
                |ctx| {
                    super::refit_gpu::replicates(
                        ctx,
                        b,
                        &plan,
                        groups.as_deref(),
                        resamples,
                        &newton,
                    )
                    .map(Some)
                },
            )?;
            if let Some(values) = values {
                custom = custom.precomputed(values);
            }
            ran = Some(how);
        }
        let mut result = custom
            .name(estimator.name())
            .keep_replicates(self.keep_replicates)
            .explain_undefined(|_: &Dataset, w: &[f64]| Some(self.why_failed(&cols, w)))
            .run(engine, data)?;
        if let Some(how) = ran {
            result.backend = how.backend;
            result.fallback = how.fallback;
        }
        // the fits on the data and the device's replicates count too
        result.seconds = start.elapsed().as_secs_f64();
        let failed = result.resamples - result.valid_resamples;
        result.failed_resamples = Some(failed);
        result.crossfit_folds = self.crossfit.map(|k| k as u64);
        result.nuisance = Some(
            if self.crossfit.is_some() {
                "crossfit"
            } else {
                "refit"
            }
            .into(),
        );
        if let Some(why) = overlap.poor() {
            result.warnings.push(why);
        }
        result.overlap = Some(overlap);
        Ok(Ran::Result(Box::new(result)))
    }
}

/// What [`EffectBootstrap::run_or_shard`] computes: the whole run, the values of some
/// replicates, or the run from replicate values computed elsewhere.
enum Run {
    All,
    Shard(Range<u64>),
    Combine(Vec<f64>),
}

/// What [`EffectBootstrap::run_or_shard`] returns.
enum Ran {
    Result(Box<BootstrapResult>),
    Values(Vec<f64>),
}

impl Ran {
    fn expect_result(self) -> BootstrapResult {
        match self {
            Ran::Result(r) => *r,
            Ran::Values(_) => unreachable!("a whole run returns a result"),
        }
    }
}

impl EffectBootstrap {
    /// Why the nuisance fits fail under the weights `w` of one resample: an empty arm, a
    /// constant or collinear covariate among the rows drawn, or the propensity or outcome fit.
    fn why_failed(&self, cols: &Columns, w: &[f64]) -> String {
        let drawn = |arm: f64| {
            (0..cols.n())
                .filter(|&i| cols.t[i] == arm && w[i] > 0.0)
                .count()
        };
        for arm in [1.0, 0.0] {
            if drawn(arm) == 0 {
                return format!(
                    "resample 0 drew no row of arm {} = {arm} (the arm has {} of the {} rows)",
                    self.treatment,
                    (0..cols.n()).filter(|&i| cols.t[i] == arm).count(),
                    cols.n()
                );
            }
        }
        if let Err(j) = cols.gram_rank(w) {
            return match j {
                0 => "resample 0 has no weight".into(),
                j => format!(
                    "on the rows resample 0 drew, covariate `{}` is constant or a linear \
                     combination of the intercept and the covariates before it",
                    self.covariates[j - 1]
                ),
            };
        }
        format!(
            "in resample 0 the propensity or outcome model of {} did not fit (separation: a \
             fitted propensity of 0 or 1, an arm with fewer rows than coefficients, or no \
             convergence){}",
            self.estimator.name(),
            if self.crossfit.is_some() {
                " on the rows outside one of the cross-fitting folds"
            } else {
                ""
            }
        )
    }
}
