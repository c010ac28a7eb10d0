//! Bootstrap inference: resampling schemes, statistics, confidence intervals, shards.
//!
//! **This folder owns the bootstrap**, kernels included: `mod.rs` (the [`Bootstrap`] builder,
//! validation, `run`, shards and their merge), `scheme.rs` (the [`Scheme`]s and the plan each
//! makes of a data set), `plan.rs` (a resampling plan's counter-based draws), `summary.rs`
//! (replicates to standard error, bias and intervals), `statistic.rs` (each [`Statistic`] as per-unit features whose
//! weighted sums, or a type-7 quantile, give a replicate), `custom.rs` ([`CustomBootstrap`]: any
//! estimator as a closure over per-row weights, on the CPU), `effect.rs` ([`EffectBootstrap`]:
//! IPW, Hájek, AIPW, ATT and AIPW-ATT with their nuisance models refit in every resample, through
//! `custom.rs`), `overlap.rs` (the IPW family's overlap diagnostics), `intervals.rs` (the five
//! interval methods, public), `jobs.rs` (what one kernel call computes), `cpu.rs` with `pages.rs`
//! (the kernels on rayon, f64) and `gpu.rs` (the same kernels on the device,
//! `shaders/{resample,sums,quantile,draws}.wgsl`); `options.rs` ([`BootstrapOptions`]: a run
//! from named options, the refit rules the CLI and the Python binding share).
//!
//! **It imports** the engine (`run_on!` picks `cpu::` or `gpu::`), the device context (from
//! `gpu.rs` only) and the leaves (`data`, `rng`, `stats`, `error`); no other capability.
//!
//! ```
//! use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Scheme, Statistic};
//! let x: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 / 10.0).collect();
//! let data = Dataset::new().with_column("x", x).unwrap();
//! let result = Bootstrap::new(Statistic::Mean { column: "x".into() })
//!     .resamples(2000)
//!     .seed(7)
//!     .methods(&[IntervalMethod::Percentile, IntervalMethod::Bca])
//!     .run(&Engine::cpu(), &data)
//!     .unwrap();
//! let [lo, hi] = result.intervals["bca"];
//! assert!(lo < result.estimate && result.estimate < hi);
//! // the bootstrap SE of a mean is close to sd / sqrt(n)
//! assert!((result.std_error - 0.206).abs() < 0.02, "{}", result.std_error);
//! ```

mod cpu;
mod custom;
mod effect;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
pub mod intervals;
mod jobs;
mod nuisance;
mod options;
mod overlap;
mod pages;
pub(crate) mod plan;
mod refit;
#[cfg(feature = "gpu")]
mod refit_gpu;
mod scheme;
pub(crate) mod statistic;
mod summary;

pub use custom::CustomBootstrap;
pub use effect::{EffectBootstrap, Estimator, Nuisance};
pub use intervals::{BcaDetails, IntervalMethod};
pub use options::{BootstrapOptions, BootstrapRun};
pub use overlap::{ArmOverlap, Overlap};
pub use scheme::Scheme;
pub(crate) use scheme::{check_rows, scheme_plan};
pub use statistic::{Roles, Statistic};
pub(crate) use summary::{drawn_rows, summarize, Replicates};

use crate::data::Dataset;
use crate::engine::{run_on, Engine, ProgressFn};
use crate::error::{Error, Result};
use jobs::{QuantileJob, SumsJob};
use plan::{PlanKind, ResamplePlan};
use serde::Serialize;
use statistic::{interpolate, Prepared, SumKind};
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Instant;

/// The setters every bootstrap builder shares ([`Bootstrap`], [`CustomBootstrap`],
/// [`EffectBootstrap`]: types with the fields `scheme, resamples, seed, level, methods,
/// keep_replicates`); `$new` is a constructor expression for the doc examples.
macro_rules! run_setters {
    ($new:literal) => {
        /// Resampling scheme (every [`Scheme`](crate::Scheme)).
        ///
        #[doc = concat!("```\nuse ceteris::bootstrap::*;\nuse ceteris::*;\nlet b = ", $new, ".scheme(Scheme::Bayesian);\n# let _ = b;\n```")]
        pub fn scheme(mut self, scheme: Scheme) -> Self {
            self.scheme = scheme;
            self
        }

        /// Number of resamples `B`.
        ///
        #[doc = concat!("```\nuse ceteris::bootstrap::*;\nuse ceteris::*;\nlet b = ", $new, ".resamples(1999);\n# let _ = b;\n```")]
        pub fn resamples(mut self, b: u64) -> Self {
            self.resamples = b;
            self
        }

        /// Seed of the Philox streams: the same seed draws the same replicates in every kind of
        /// bootstrap.
        ///
        #[doc = concat!("```\nuse ceteris::bootstrap::*;\nuse ceteris::*;\nlet b = ", $new, ".seed(42);\n# let _ = b;\n```")]
        pub fn seed(mut self, seed: u64) -> Self {
            self.seed = seed;
            self
        }

        /// Confidence level in (0, 1).
        ///
        #[doc = concat!("```\nuse ceteris::bootstrap::*;\nuse ceteris::*;\nlet b = ", $new, ".level(0.9);\n# let _ = b;\n```")]
        pub fn level(mut self, level: f64) -> Self {
            self.level = level;
            self
        }

        /// Interval methods to compute.
        ///
        #[doc = concat!("```\nuse ceteris::bootstrap::*;\nuse ceteris::*;\nlet b = ", $new, ".methods(&[IntervalMethod::Percentile]);\n# let _ = b;\n```")]
        pub fn methods(mut self, methods: &[IntervalMethod]) -> Self {
            self.methods = methods.to_vec();
            self
        }

        /// Keep the replicates (all of them, non-finite ones included) in the result.
        ///
        #[doc = concat!("```\nuse ceteris::bootstrap::*;\nuse ceteris::*;\nlet b = ", $new, ".keep_replicates(true);\n# let _ = b;\n```")]
        pub fn keep_replicates(mut self, keep: bool) -> Self {
            self.keep_replicates = keep;
            self
        }
    };
}
pub(crate) use run_setters;

/// A bootstrap run: statistic, scheme, number of resamples, seed, level and interval methods.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    statistic: Statistic,
    scheme: Scheme,
    resamples: u64,
    seed: u64,
    level: f64,
    methods: Vec<IntervalMethod>,
    keep_replicates: bool,
    clip: Option<f64>,
    cancel: Option<crate::Cancel>,
}

/// The replicates of one shard `[start, start + values.len())` of a run.
///
/// ```
/// use ceteris::{Bootstrap, Dataset, Engine, Statistic};
/// let data = Dataset::new().with_column("x", (0..50).map(|i| i as f64).collect()).unwrap();
/// let boot = Bootstrap::new(Statistic::Mean { column: "x".into() }).resamples(100);
/// let e = Engine::cpu();
/// let a = boot.shard(&e, &data, 0..60).unwrap();
/// let b = boot.shard(&e, &data, 60..100).unwrap();
/// let merged = boot.combine(&data, &[a, b]).unwrap();
/// let whole = boot.run(&e, &data).unwrap();
/// assert_eq!(merged.std_error, whole.std_error);
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct Shard {
    /// First replicate index.
    pub start: u64,
    /// Replicate statistics (NaN where a resample left the statistic undefined).
    pub values: Vec<f64>,
    /// Analytic standard error of each replicate (NaN when the statistic has none).
    pub std_errors: Vec<f64>,
    /// Backend that computed the shard.
    pub backend: String,
    /// Why the GPU was not used, when `auto` fell back to the CPU.
    pub fallback: Option<String>,
    /// The run's seed.
    pub seed: u64,
    /// The run's number of resamples `B` (the shards of one run cover `0..B`).
    pub resamples: u64,
    /// A hash of everything else the replicates depend on: the statistic, the scheme, the clip
    /// and the data (names and values). Shards merge only with equal fingerprints; the hash is
    /// stable for one build of ceteris (not across Rust releases).
    pub fingerprint: String,
}

/// The shards of one run sorted by their first replicate, after checking that they come from
/// the run (`seed`, `resamples`, `fingerprint`) and cover replicates `0..resamples` once each.
pub(crate) fn check_shards<'s>(
    shards: &'s [Shard],
    seed: u64,
    resamples: u64,
    fingerprint: &str,
) -> Result<Vec<&'s Shard>> {
    if shards.is_empty() {
        return Err(Error::param("shards", "no shards to combine"));
    }
    let mut sorted: Vec<&Shard> = shards.iter().collect();
    sorted.sort_by_key(|s| s.start);
    let mut next = 0u64;
    for s in &sorted {
        let range = s.start..s.start + s.values.len() as u64;
        let bad = |why: String| Err(Error::param("shards", format!("shard {range:?}: {why}")));
        if s.seed != seed {
            return bad(format!("seed {}, but this run has seed {seed}", s.seed));
        }
        if s.resamples != resamples {
            return bad(format!(
                "from a run of {} resamples, but this run has {resamples}",
                s.resamples
            ));
        }
        if s.fingerprint != fingerprint {
            return bad(
                "computed for another statistic, scheme, clip or data set (its fingerprint \
                 differs)"
                    .into(),
            );
        }
        if s.values.is_empty() || s.std_errors.len() != s.values.len() {
            return bad("empty, or its standard errors do not match its values".into());
        }
        if s.start < next {
            return bad(format!("overlaps replicates before {next}"));
        }
        if s.start > next {
            return Err(Error::param(
                "shards",
                format!("replicates {next}..{} are in no shard", s.start),
            ));
        }
        next = range.end;
    }
    if next != resamples {
        return Err(Error::param(
            "shards",
            format!("replicates {next}..{resamples} are in no shard"),
        ));
    }
    Ok(sorted)
}

/// The outcome of a bootstrap run.
#[derive(Clone, Debug, Serialize)]
pub struct BootstrapResult {
    /// Statistic (CLI spelling).
    pub statistic: String,
    /// The statistic on the original data.
    pub estimate: f64,
    /// Standard deviation of the valid replicates (ddof = 1).
    pub std_error: f64,
    /// Mean of the valid replicates minus the estimate.
    pub bias: f64,
    /// Resamples drawn.
    pub resamples: u64,
    /// Resamples whose statistic was defined (e.g. both arms present).
    pub valid_resamples: u64,
    /// Scheme (CLI spelling).
    pub scheme: String,
    /// Confidence level.
    pub level: f64,
    /// Seed.
    pub seed: u64,
    /// `method -> [low, high]`.
    pub intervals: BTreeMap<String, [f64; 2]>,
    /// BCa's z0, acceleration and levels, when BCa was asked for.
    pub bca: Option<BcaDetails>,
    /// The statistic's analytic standard error on the original data, by which the studentized
    /// interval scales the quantiles of `t* = (θ* − θ̂)/se*`: present only when that interval
    /// was computed (absent from the JSON otherwise).
    ///
    /// ```
    /// use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Statistic};
    /// let x: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64).collect();
    /// let data = Dataset::new().with_column("x", x.clone()).unwrap();
    /// let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
    ///     .resamples(499)
    ///     .methods(&[IntervalMethod::Studentized])
    ///     .run(&Engine::cpu(), &data)
    ///     .unwrap();
    /// // the mean's analytic standard error: s / √n
    /// let n = x.len() as f64;
    /// let m = x.iter().sum::<f64>() / n;
    /// let s = (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    /// assert!((r.analytic_std_error.unwrap() - s / n.sqrt()).abs() < 1e-12);
    /// ```
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytic_std_error: Option<f64>,
    /// Backend that ran.
    pub backend: String,
    /// Why `auto` fell back to the CPU, if it did: a GPU failure, or a statistic too
    /// ill-conditioned for the device's f32 sums (`GPU error (numerics): … ill-conditioned …`;
    /// see the README's "GPU precision").
    pub fallback: Option<String>,
    /// Compute time in seconds (preparing data, resampling, intervals; not reading input).
    pub seconds: f64,
    /// Degenerate cases and dropped replicates, explained; fixed nuisance models and poor
    /// overlap, flagged.
    pub warnings: Vec<String>,
    /// How the nuisance models of `ipw`, `hajek`, `aipw`, `att` and `aipw-att` enter: `fixed` (the propensity and
    /// outcome-model columns are taken as given in every resample) or `refit` (fit again in every
    /// resample, [`EffectBootstrap`]). Absent for other statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nuisance: Option<String>,
    /// The number of folds K when the nuisance models are cross-fitted (`nuisance` is
    /// `crossfit`, [`EffectBootstrap::crossfit`]); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crossfit_folds: Option<u64>,
    /// Resamples whose nuisance fit failed (separation, an empty arm, no convergence), left out
    /// of the intervals ([`EffectBootstrap`] only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_resamples: Option<u64>,
    /// Overlap diagnostics of `ipw`, `hajek`, `aipw`, `att` and `aipw-att` (of the clipped propensity when
    /// clipping). Absent for other statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap: Option<Overlap>,
    /// The replicates, when kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicates: Option<Vec<f64>>,
}

impl BootstrapResult {
    /// The kept replicate statistics as an ndarray view (`None` unless
    /// [`Bootstrap::keep_replicates`] was set).
    ///
    /// ```
    /// use ceteris::{Bootstrap, Dataset, Engine, Statistic};
    /// let data = Dataset::new().with_column("x", (0..50).map(f64::from).collect()).unwrap();
    /// let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
    ///     .resamples(99).seed(1).keep_replicates(true)
    ///     .run(&Engine::cpu(), &data).unwrap();
    /// assert_eq!(r.replicates_view().unwrap().len(), 99);
    /// ```
    pub fn replicates_view(&self) -> Option<ndarray::ArrayView1<'_, f64>> {
        self.replicates.as_deref().map(ndarray::ArrayView1::from)
    }
}

/// Everything derived from (statistic, scheme, data) once per run.
struct Setup {
    plan: ResamplePlan,
    body: Body,
    estimate: f64,
    se0: f64,
    /// Overlap diagnostics (IPW-family statistics).
    overlap: Option<Overlap>,
    /// The unit of each row, when units are not rows (stratified, cluster).
    unit_of_row: Option<Vec<u32>>,
}

enum Body {
    Sums {
        kind: SumKind,
        k: usize,
        /// Per unit (row or cluster), `k` features.
        features: Vec<f64>,
        /// Whether the backends append the total weight (single-row units); otherwise the
        /// last stored feature is the unit's row count (clusters).
        implicit_count: bool,
    },
    Quantile {
        q: f64,
        sorted: Vec<f64>,
        seg: Vec<u32>,
        ranks: Vec<u32>,
    },
}

impl Bootstrap {
    /// Defaults: iid, 9999 resamples, seed 0, level 0.95, percentile and BCa intervals.
    pub fn new(statistic: Statistic) -> Self {
        Bootstrap {
            statistic,
            scheme: Scheme::Iid,
            resamples: 9999,
            seed: 0,
            level: 0.95,
            methods: vec![IntervalMethod::Percentile, IntervalMethod::Bca],
            keep_replicates: false,
            clip: None,
            cancel: None,
        }
    }

    run_setters!("Bootstrap::new(Statistic::Mean { column: \"x\".into() })");

    /// A [`Cancel`](crate::Cancel) token checked between slices of the replicates (up to 128 per
    /// run, at least 1024 replicates each, 2^18 on a GPU; each computed as a shard would be, so
    /// the result is the same as without a token);
    /// once cancelled the run returns [`Error::Cancelled`].
    ///
    /// ```
    /// use ceteris::{Bootstrap, Cancel, Statistic};
    /// let b = Bootstrap::new(Statistic::Mean { column: "x".into() }).cancel(&Cancel::new());
    /// # let _ = b;
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// Clip the propensity of `ipw`, `hajek` and `aipw` to `[a, 1 − a]` (`0 < a < 0.5`) before
    /// estimating, in the estimate and in every replicate alike (the propensity column may then
    /// hold 0 or 1). Any other statistic refuses it.
    ///
    /// ```
    /// use ceteris::{Bootstrap, Dataset, Engine, Statistic};
    /// let n = 200;
    /// let t: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    /// let e: Vec<f64> = (0..n).map(|i| if i == 1 { 0.001 } else { 0.5 }).collect();
    /// let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
    /// let data = Dataset::new().with_column("t", t).unwrap().with_column("e", e).unwrap()
    ///     .with_column("y", y).unwrap();
    /// let ipw = Statistic::Ipw { treatment: "t".into(), outcome: "y".into(), propensity: "e".into() };
    /// let r = Bootstrap::new(ipw).clip_propensity(0.05).resamples(200)
    ///     .run(&Engine::cpu(), &data).unwrap();
    /// assert_eq!(r.overlap.unwrap().treated.min_propensity, 0.05);
    /// ```
    pub fn clip_propensity(mut self, a: f64) -> Self {
        self.clip = Some(a);
        self
    }

    fn validate(&self) -> Result<()> {
        if self.resamples == 0 {
            return Err(Error::param("resamples", "must be at least 1"));
        }
        if self.resamples > u32::MAX as u64 {
            return Err(Error::param("resamples", "must be below 2^32"));
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(Error::param(
                "level",
                format!("{} is not strictly between 0 and 1", self.level),
            ));
        }
        if let Some(a) = self.clip {
            if self.statistic.propensity().is_none() {
                return Err(Error::param(
                    "clip",
                    format!(
                        "clipping applies to the propensity of ipw, hajek, aipw and aipw-att, not to `{}` \
                         (it would ignore it)",
                        self.statistic.name()
                    ),
                ));
            }
            if !(a > 0.0 && a < 0.5) {
                return Err(Error::param(
                    "clip",
                    format!("{a} is not strictly between 0 and 0.5"),
                ));
            }
        }
        Ok(())
    }

    /// [`Shard::fingerprint`] of this run on `data`.
    fn fingerprint(&self, data: &Dataset) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        format!(
            "{:?}|{:?}|{:?}",
            self.statistic,
            self.scheme,
            self.clip.map(f64::to_bits)
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

    /// Runs all `B` resamples and computes the intervals.
    pub fn run(&self, engine: &Engine, data: &Dataset) -> Result<BootstrapResult> {
        self.run_with_progress(engine, data, None)
    }

    /// [`Bootstrap::run`] with a progress callback `(done, total)`.
    pub fn run_with_progress(
        &self,
        engine: &Engine,
        data: &Dataset,
        progress: Option<ProgressFn>,
    ) -> Result<BootstrapResult> {
        let start = Instant::now();
        self.validate()?;
        let setup = self.setup(data)?;
        Self::check_memory(&setup, self.resamples)?;
        // with a token, slices of the replicates one at a time (shards of the one run: the same
        // replicates), checked in between
        let mut shards = Vec::new();
        // (a GPU slice is one submit and read-back: large ones only)
        let min = match engine.kind() {
            crate::BackendKind::Gpu => 1 << 18,
            _ => 1024,
        };
        for r in crate::cancel::slices(&self.cancel, self.resamples, min) {
            crate::cancel::check(&self.cancel)?;
            let offset = r.start;
            let tick = progress.map(|p| move |done: u64, _: u64| p(offset + done, self.resamples));
            let tick = tick.as_ref().map(|t| t as ProgressFn);
            shards.push(self.compute(engine, &setup, r.start as u32..r.end as u32, tick)?);
        }
        crate::cancel::check(&self.cancel)?;
        let mut result = self.finish(data, &setup, &shards)?;
        result.seconds = start.elapsed().as_secs_f64();
        Ok(result)
    }

    /// Computes replicates `range` only (to spread `B` across machines); see [`Bootstrap::combine`].
    pub fn shard(&self, engine: &Engine, data: &Dataset, range: Range<u64>) -> Result<Shard> {
        self.validate()?;
        check_shard_range(&range, self.resamples)?;
        let setup = self.setup(data)?;
        Self::check_memory(&setup, range.end - range.start)?;
        let mut shard = self.compute(engine, &setup, range.start as u32..range.end as u32, None)?;
        shard.fingerprint = self.fingerprint(data);
        Ok(shard)
    }

    /// Merges shards (in any order) into a result, exactly as if run at once. The shards must
    /// cover replicates `0..B` once each and come from this run: the same seed, `B`, statistic,
    /// scheme, clip and data ([`Shard::fingerprint`]); anything else is refused with an error
    /// that says which shard and why.
    ///
    /// ```
    /// use ceteris::{Bootstrap, Dataset, Engine, Statistic};
    /// let data = Dataset::new().with_column("x", (0..50).map(f64::from).collect()).unwrap();
    /// let boot = Bootstrap::new(Statistic::Mean { column: "x".into() }).resamples(100);
    /// let e = Engine::cpu();
    /// let (a, c) = (boot.shard(&e, &data, 0..40).unwrap(), boot.shard(&e, &data, 60..100).unwrap());
    /// let gap = boot.combine(&data, &[a, c]).unwrap_err();
    /// assert!(gap.to_string().contains("40..60"), "{gap}");
    /// ```
    pub fn combine(&self, data: &Dataset, shards: &[Shard]) -> Result<BootstrapResult> {
        let start = Instant::now();
        self.validate()?;
        if shards.is_empty() {
            return Err(Error::param("shards", "no shards to combine"));
        }
        let setup = self.setup(data)?;
        let fingerprint = self.fingerprint(data);
        let sorted = check_shards(shards, self.seed, self.resamples, &fingerprint)?;
        let owned: Vec<Shard> = sorted.into_iter().cloned().collect();
        let mut result = self.finish(data, &setup, &owned)?;
        result.seconds = start.elapsed().as_secs_f64();
        Ok(result)
    }

    fn setup(&self, data: &Dataset) -> Result<Setup> {
        check_rows(data)?;
        // IPW-family: the propensity as used (clipped when asked) and its overlap diagnostics
        let clipped;
        let (data, overlap) = match self.statistic.propensity() {
            Some((treatment, propensity)) => {
                let data = match self.clip {
                    Some(a) => {
                        clipped = data.clipped(propensity, a, 1.0 - a)?;
                        &clipped
                    }
                    None => data,
                };
                let (t, e) = (data.column(treatment)?, data.column(propensity)?);
                (data, Some(Overlap::of(t, e)))
            }
            None => (data, None),
        };
        let n = data.n_rows();
        let prepared = self
            .statistic
            .prepare(data, self.methods.contains(&IntervalMethod::Studentized))?;
        let (plan, groups) = scheme_plan(&self.scheme, self.seed, data)?;
        let unit_of_row = groups.as_ref().map(|groups| {
            let mut map = vec![0u32; n];
            for (u, rows) in groups.iter().enumerate() {
                rows.iter().for_each(|&r| map[r] = u as u32);
            }
            map
        });
        let (body, estimate, se0) = match prepared {
            Prepared::Sums(s) => {
                let total = s.total();
                let (estimate, se0) = s.kind.finish(&total);
                // Cluster units carry their row count as a last stored feature; other units are
                // single rows, whose count the backends sum as the total weight.
                let cluster = matches!(self.scheme, Scheme::Cluster { .. });
                let features = match (&groups, cluster) {
                    (Some(groups), true) => {
                        let kc = s.k + 1;
                        let mut f = vec![0.0; groups.len() * kc];
                        for (u, rows) in groups.iter().enumerate() {
                            for &r in rows {
                                for j in 0..s.k {
                                    f[u * kc + j] += s.features[r * s.k + j];
                                }
                            }
                            f[u * kc + s.k] = rows.len() as f64;
                        }
                        f
                    }
                    (Some(groups), false) => groups
                        .iter()
                        .flat_map(|rows| &s.features[rows[0] * s.k..(rows[0] + 1) * s.k])
                        .copied()
                        .collect(),
                    (None, _) => s.features,
                };
                (
                    Body::Sums {
                        kind: s.kind,
                        k: s.k + cluster as usize,
                        features,
                        implicit_count: !cluster,
                    },
                    estimate,
                    se0,
                )
            }
            Prepared::Quantile(qd) => {
                let h = (n - 1) as f64 * qd.q;
                let lo = h.floor() as usize;
                let estimate = interpolate(qd.sorted[lo], qd.sorted[(lo + 1).min(n - 1)], h);
                let (seg, ranks) = match &groups {
                    None => ((0..=n as u32).collect(), qd.rank_of_row.clone()),
                    Some(groups) => {
                        let mut seg = vec![0u32];
                        let mut ranks = Vec::with_capacity(n);
                        for rows in groups {
                            let mut r: Vec<u32> = rows.iter().map(|&i| qd.rank_of_row[i]).collect();
                            r.sort_unstable();
                            ranks.extend(r);
                            seg.push(ranks.len() as u32);
                        }
                        (seg, ranks)
                    }
                };
                (
                    Body::Quantile {
                        q: qd.q,
                        sorted: qd.sorted,
                        seg,
                        ranks,
                    },
                    estimate,
                    f64::NAN,
                )
            }
        };
        Ok(Setup {
            plan,
            body,
            estimate,
            se0,
            overlap,
            unit_of_row,
        })
    }

    fn compute(
        &self,
        engine: &Engine,
        setup: &Setup,
        reps: Range<u32>,
        progress: Option<ProgressFn>,
    ) -> Result<Shard> {
        let start = reps.start as u64;
        let bayesian = matches!(setup.plan.kind, PlanKind::Bayesian);
        let (values, std_errors, ran) = match &setup.body {
            Body::Sums {
                kind,
                k,
                features,
                implicit_count,
            } => {
                let job = SumsJob {
                    plan: &setup.plan,
                    k: *k,
                    features,
                    implicit_count: *implicit_count,
                };
                let k = &(*k + *implicit_count as usize);
                let (sums, ran) = run_on!(engine,
                cpu: cpu::sums(&job, reps.clone(), progress),
                gpu: |ctx| {
                    gpu::check_conditioning(
                        &self.statistic.name(),
                        kind,
                        job.k,
                        features,
                        job.implicit_count,
                        setup.plan.draws() as u64,
                    )?;
                    gpu::sums(ctx, &job, reps.clone(), progress)
                })?;
                let mut values = Vec::with_capacity(reps.len());
                let mut ses = Vec::with_capacity(reps.len());
                let mut s = vec![0.0; *k];
                for chunk in sums.chunks_exact(*k) {
                    s.copy_from_slice(chunk);
                    if bayesian {
                        let scale = setup.plan.units as f64 / s[*k - 1];
                        s.iter_mut().for_each(|v| *v *= scale);
                    }
                    let (v, se) = kind.finish(&s);
                    values.push(v);
                    ses.push(se);
                }
                (values, ses, ran)
            }
            Body::Quantile {
                q,
                sorted,
                seg,
                ranks,
            } => {
                let job = QuantileJob {
                    plan: &setup.plan,
                    q: *q,
                    n_ranks: sorted.len() as u32,
                    seg,
                    ranks,
                    normalize: bayesian,
                };
                let (picks, ran) = run_on!(engine,
                    cpu: cpu::quantiles(&job, reps.clone(), progress),
                    gpu: |ctx| gpu::quantiles(ctx, &job, reps.clone(), progress))?;
                let values = picks
                    .iter()
                    .map(|p| {
                        if p.r1 == u32::MAX {
                            f64::NAN
                        } else {
                            interpolate(sorted[p.r1 as usize], sorted[p.r2 as usize], p.h)
                        }
                    })
                    .collect();
                (values, vec![f64::NAN; reps.len()], ran)
            }
        };
        Ok(Shard {
            start,
            values,
            std_errors,
            backend: ran.backend,
            fallback: ran.fallback,
            seed: self.seed,
            resamples: self.resamples,
            // set by `shard` (a whole run never merges)
            fingerprint: String::new(),
        })
    }

    /// Refuses `reps` replicates that would not fit in memory: per replicate, the kernel's sums
    /// (or quantile pick), its value and standard error, and the summary's copies.
    fn check_memory(setup: &Setup, reps: u64) -> Result<()> {
        let kernel = match &setup.body {
            Body::Sums {
                k, implicit_count, ..
            } => 8 * (k + *implicit_count as usize) as u64,
            Body::Quantile { .. } => std::mem::size_of::<jobs::QuantilePick>() as u64,
        };
        summary::check_memory(reps, kernel + 16)
    }

    /// Leave-one-unit-out jackknife values of the statistic, in O(n) for every statistic.
    fn jackknife(setup: &Setup) -> Vec<f64> {
        match &setup.body {
            Body::Sums {
                kind,
                k,
                features,
                implicit_count,
            } => {
                // full per-unit sums: stored features, plus the unit count when implicit
                let kk = k + *implicit_count as usize;
                let mut total = vec![0.0; kk];
                for row in features.chunks_exact(*k) {
                    for (a, v) in total.iter_mut().zip(row) {
                        *a += v;
                    }
                }
                if *implicit_count {
                    total[*k] = (features.len() / k) as f64;
                }
                let mut s = vec![0.0; kk];
                features
                    .chunks_exact(*k)
                    .map(|row| {
                        for j in 0..*k {
                            s[j] = total[j] - row[j];
                        }
                        if *implicit_count {
                            s[*k] = total[*k] - 1.0;
                        }
                        kind.finish(&s).0
                    })
                    .collect()
            }
            Body::Quantile {
                q,
                sorted,
                seg,
                ranks,
            } => {
                let n = sorted.len();
                (0..seg.len() - 1)
                    .map(|u| {
                        let removed = &ranks[seg[u] as usize..seg[u + 1] as usize];
                        let m = n - removed.len();
                        if m == 0 {
                            return f64::NAN;
                        }
                        // j-th (0-based) remaining value after removing the sorted ranks `removed`
                        let nth = |j: usize| {
                            let mut p = j;
                            for &r in removed {
                                if r as usize <= p {
                                    p += 1;
                                }
                            }
                            sorted[p]
                        };
                        let h = (m - 1) as f64 * q;
                        let lo = h.floor() as usize;
                        interpolate(nth(lo), nth((lo + 1).min(m - 1)), h)
                    })
                    .collect()
            }
        }
    }

    /// Why the statistic is undefined in replicate 0: the statistic's own checks (arms, constant
    /// or collinear columns) on the rows that replicate drew.
    fn why_undefined(&self, data: &Dataset, setup: &Setup) -> Option<String> {
        let w =
            cpu::replicate_row_weights(&setup.plan, setup.unit_of_row.as_deref(), data.n_rows(), 0);
        let rows = drawn_rows(data, &w).ok()?;
        match self.statistic.prepare(&rows, false) {
            Err(e) => Some(format!(
                "on the {} rows resample 0 drew (with repeats), {e}",
                rows.n_rows()
            )),
            Ok(_) => None,
        }
    }

    fn finish(&self, data: &Dataset, setup: &Setup, shards: &[Shard]) -> Result<BootstrapResult> {
        let values: Vec<f64> = shards
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .collect();
        let std_errors: Vec<f64> = shards
            .iter()
            .flat_map(|s| s.std_errors.iter().copied())
            .collect();
        let no_se = format!(
            "studentized: `{}` has no analytic standard error; interval omitted",
            self.statistic.name()
        );
        let mut s = summarize(
            &Replicates {
                values: &values,
                std_errors: &std_errors,
                estimate: setup.estimate,
                se0: setup.se0,
            },
            &self.methods,
            self.level,
            &setup.plan,
            &mut || Self::jackknife(setup),
            &no_se,
            &mut || self.why_undefined(data, setup),
        )?;
        let nuisance = self.statistic.propensity().map(|_| {
            s.warnings.push(format!(
                "{}: the propensity{} columns are held fixed in every resample, so the interval \
                 ignores the estimation of these nuisance models (it is too narrow when they were \
                 fitted on these data)",
                self.statistic.name(),
                if matches!(
                    self.statistic,
                    Statistic::Aipw { .. } | Statistic::AipwAtt { .. }
                ) {
                    " and outcome-model"
                } else {
                    ""
                }
            ));
            "fixed".to_string()
        });
        if let Some(why) = setup.overlap.as_ref().and_then(Overlap::poor) {
            s.warnings.push(why);
        }
        let first = &shards[0];
        Ok(BootstrapResult {
            statistic: self.statistic.name(),
            estimate: setup.estimate,
            std_error: s.std_error,
            bias: s.bias,
            resamples: values.len() as u64,
            valid_resamples: s.valid_resamples,
            scheme: self.scheme.name().to_string(),
            level: self.level,
            seed: self.seed,
            intervals: s.intervals,
            bca: s.bca,
            analytic_std_error: s.analytic_std_error,
            backend: first.backend.clone(),
            fallback: first.fallback.clone(),
            seconds: 0.0,
            warnings: s.warnings,
            nuisance,
            crossfit_folds: None,
            failed_resamples: None,
            overlap: setup.overlap.clone(),
            replicates: self.keep_replicates.then_some(values),
        })
    }

    /// The raw draws of replicates `reps` (unit indices, or weight bits for Poisson/Bayesian) —
    /// what the CPU/GPU parity tests compare bit for bit.
    pub fn draws(&self, engine: &Engine, data: &Dataset, reps: Range<u32>) -> Result<Vec<u32>> {
        self.validate()?;
        let setup = self.setup(data)?;
        crate::memory::check(
            "range",
            &format!("the draws of {} replicates", reps.len()),
            crate::memory::product(&[reps.len() as u64, setup.plan.draws() as u64, 4]),
            "ask for fewer replicates at a time",
        )?;
        Ok(run_on!(engine,
            cpu: cpu::draws(&setup.plan, reps.clone()),
            gpu: |ctx| gpu::draws(ctx, &setup.plan, reps.clone()))?
        .0)
    }
}

/// A shard's replicate range: non-empty, below 2^32 and within the run's `resamples`
/// ([`Bootstrap::shard`], [`EffectBootstrap::shard`]).
fn check_shard_range(range: &Range<u64>, resamples: u64) -> Result<()> {
    if range.start >= range.end || range.end > u32::MAX as u64 {
        return Err(Error::param(
            "range",
            format!("{range:?} is empty or beyond 2^32"),
        ));
    }
    if range.end > resamples {
        return Err(Error::param(
            "range",
            format!("{range:?} goes beyond the {resamples} resamples of this run"),
        ));
    }
    Ok(())
}
