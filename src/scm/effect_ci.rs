//! Bootstrap intervals of the average causal effect of a model fitted to data ([`EffectInterval`]):
//! resample the data, refit the SCM on the graph, recompute the effect.
//!
//! This is the one file of the SCM capability that uses another capability: the bootstrap's
//! public API ([`CustomBootstrap`], [`Scheme`], [`IntervalMethod`]), as `discovery` uses the
//! independence tests' (ARCHITECTURE.md).
//!
//! Per replicate `b` with per-row weights `w` (those [`CustomBootstrap`] draws for the scheme and
//! seed): the estimate's model is refitted with those weights ([`Scm::refit_weighted`]: the same
//! node types and terms, weighted least squares and maximum likelihood; whole-number weights are
//! the resampled rows, and the Bayesian bootstrap's weights work as well), and the effect
//! `E[Y | do(alternative)] − E[Y | do(reference)]` of that model is
//! * exact ([`Scm::exact`], the difference of the two interventional means) when every node of
//!   the fitted model is linear, as every [`FitKind::Linear`] fit is;
//! * otherwise the Monte-Carlo [`Scm::effect`] on the CPU with the same `samples` and the same
//!   Monte-Carlo seed in every replicate (common random numbers: replicate models differ, their
//!   noise draws do not).
//!
//! The estimate is the effect of the model fitted on all the data; `std_error`, `bias` and the
//! intervals come from the replicates as for any [`CustomBootstrap`]. `mc_error` is the
//! Monte-Carlo standard error of the estimate's own sampling (0 when exact), reported apart from
//! `std_error`, which is the sampling error of the estimate over data sets.

use super::{FitKind, Intervention, NodeType, Scm};
use crate::bootstrap::{BcaDetails, CustomBootstrap, IntervalMethod, Scheme};
use crate::data::Dataset;
use crate::engine::{Engine, ProgressFn};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A bootstrap confidence interval for the average causal effect of an SCM estimated from data:
/// every replicate refits the model on resampled data and recomputes the effect (module docs).
///
/// Schemes: every scheme of the bootstrap (index schemes and Poisson give whole-number weights,
/// a replicate's rows repeated; the Bayesian bootstrap's weights are continuous), through a
/// weighted refit of the estimate's structure ([`Scm::refit_weighted`]). Runs on the CPU whatever the engine (rayon over replicates; a GPU engine's result
/// says so in `backend`). BCa's jackknife refits the model once per unit (per cluster): keep it
/// to a few thousand units.
///
/// ```
/// use ceteris::scm::{parse_graph, EffectInterval, FitKind, Intervention, Node, Noise, Scm};
/// use ceteris::{Engine, IntervalMethod};
/// let truth = Scm::new(vec![
///     Node::linear("Z", 0.0, &[], Noise::Normal { scale: 1.0 }),
///     Node::linear("X", 0.0, &[("Z", 1.0)], Noise::Normal { scale: 1.0 }),
///     Node::linear("Y", 1.0, &[("X", 2.0), ("Z", -1.0)], Noise::Normal { scale: 1.0 }),
/// ]).unwrap();
/// let data = truth.sample(&Engine::cpu(), &[], 1000, 7).unwrap().data;
/// let graph = parse_graph("Z->X->Y,Z->Y").unwrap();
/// let r = EffectInterval::new(&graph, FitKind::Linear, "Y")
///     .alternative(&[Intervention::atomic("X", 1.0)])
///     .reference(&[Intervention::atomic("X", 0.0)])
///     .resamples(200)
///     .seed(3)
///     .methods(&[IntervalMethod::Percentile])
///     .run(&Engine::cpu(), &data)
///     .unwrap();
/// let [lo, hi] = r.intervals["percentile"];
/// assert!(lo < 2.0 && 2.0 < hi);
/// assert!(r.exact && r.mc_error == 0.0);
/// ```
#[derive(Clone, Debug)]
pub struct EffectInterval {
    graph: Vec<(String, Vec<String>)>,
    kind: FitKind,
    outcome: String,
    alternative: Vec<Intervention>,
    reference: Vec<Intervention>,
    samples: u64,
    scheme: Scheme,
    resamples: u64,
    seed: u64,
    level: f64,
    methods: Vec<IntervalMethod>,
    keep_replicates: bool,
    cancel: Option<crate::Cancel>,
}

/// The result of [`EffectInterval::run`]; the fields shared with
/// [`BootstrapResult`](crate::BootstrapResult) mean the same.
#[derive(Clone, Debug, Serialize)]
pub struct EffectIntervalResult {
    /// Outcome node.
    pub outcome: String,
    /// The alternative set, `NODE=value` (atomic) and `NODE+=delta` (shift), comma separated.
    pub alternative: String,
    /// The reference set, as `alternative`.
    pub reference: String,
    /// The kind of fit (`linear` or `additive`).
    pub kind: String,
    /// The effect of the model fitted on all the data.
    pub estimate: f64,
    /// Standard deviation of the valid replicates (ddof = 1): the bootstrap standard error of
    /// the estimate.
    pub std_error: f64,
    /// Mean of the valid replicates minus the estimate.
    pub bias: f64,
    /// Monte-Carlo standard error of the estimate's own sampling (0 when `exact`).
    pub mc_error: f64,
    /// Whether the effects are closed forms (every fitted node linear) rather than Monte-Carlo.
    pub exact: bool,
    /// Monte-Carlo samples per effect (0 when `exact`).
    pub samples: u64,
    /// Resamples drawn.
    pub resamples: u64,
    /// Resamples whose refit and effect succeeded.
    pub valid_resamples: u64,
    /// Resamples whose refit failed (e.g. a column constant in the resample), left out of the
    /// intervals and explained in `warnings`.
    pub failed_resamples: u64,
    /// Scheme (CLI spelling).
    pub scheme: String,
    /// Confidence level.
    pub level: f64,
    /// Seed of the resampling (and of the Monte-Carlo effects).
    pub seed: u64,
    /// `method -> [low, high]`.
    pub intervals: BTreeMap<String, [f64; 2]>,
    /// BCa's z0, acceleration and levels, when BCa was asked for.
    pub bca: Option<BcaDetails>,
    /// Backend that ran.
    pub backend: String,
    /// Compute time in seconds (fits, effects, intervals; not reading input).
    pub seconds: f64,
    /// Dropped replicates and degenerate cases, explained.
    pub warnings: Vec<String>,
    /// The replicates, when kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicates: Option<Vec<f64>>,
}

/// `NODE=value` and `NODE+=delta`, comma separated (the CLI's spelling of a set).
fn spell(set: &[Intervention]) -> String {
    set.iter()
        .map(|iv| match iv {
            Intervention::Atomic { node, value } => format!("{node}={value}"),
            Intervention::Shift { node, delta } => format!("{node}+={delta}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl EffectInterval {
    /// The effect on `outcome` of a model of kind `kind` fitted on `graph` (each node with its
    /// parents, as [`parse_graph`](super::parse_graph) returns it). Defaults: empty alternative
    /// and reference sets (set them), 100 000 Monte-Carlo samples, iid, 999 resamples, seed 0,
    /// level 0.95, the percentile interval.
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, EffectInterval, FitKind};
    /// let e = EffectInterval::new(&parse_graph("X->Y").unwrap(), FitKind::Linear, "Y");
    /// # let _ = e;
    /// ```
    pub fn new(graph: &[(String, Vec<String>)], kind: FitKind, outcome: &str) -> Self {
        EffectInterval {
            graph: graph.to_vec(),
            kind,
            outcome: outcome.to_string(),
            alternative: Vec::new(),
            reference: Vec::new(),
            samples: 100_000,
            scheme: Scheme::Iid,
            resamples: 999,
            seed: 0,
            level: 0.95,
            methods: vec![IntervalMethod::Percentile],
            keep_replicates: false,
            cancel: None,
        }
    }

    /// A [`Cancel`](crate::Cancel) token checked between slices of the resamples
    /// ([`CustomBootstrap::cancel`]); once cancelled the run returns
    /// [`Error::Cancelled`](crate::Error::Cancelled).
    ///
    /// ```
    /// use ceteris::scm::{EffectInterval, FitKind};
    /// let parents = vec![("X".to_string(), vec![]), ("Y".to_string(), vec!["X".to_string()])];
    /// let ei = EffectInterval::new(&parents, FitKind::Linear, "Y").cancel(&ceteris::Cancel::new());
    /// # let _ = ei;
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// The alternative intervention set.
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, EffectInterval, FitKind, Intervention};
    /// let e = EffectInterval::new(&parse_graph("X->Y").unwrap(), FitKind::Linear, "Y")
    ///     .alternative(&[Intervention::shift("X", 1.0)]);
    /// # let _ = e;
    /// ```
    pub fn alternative(mut self, set: &[Intervention]) -> Self {
        self.alternative = set.to_vec();
        self
    }

    /// The reference intervention set.
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, EffectInterval, FitKind, Intervention};
    /// let e = EffectInterval::new(&parse_graph("X->Y").unwrap(), FitKind::Linear, "Y")
    ///     .reference(&[Intervention::atomic("X", 0.0)]);
    /// # let _ = e;
    /// ```
    pub fn reference(mut self, set: &[Intervention]) -> Self {
        self.reference = set.to_vec();
        self
    }

    /// Monte-Carlo samples of each effect of a model that is not all linear (2 to 2³² − 1;
    /// unused when the effects are exact).
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, EffectInterval, FitKind};
    /// let e = EffectInterval::new(&parse_graph("X->Y").unwrap(), FitKind::Additive, "Y")
    ///     .samples(20_000);
    /// # let _ = e;
    /// ```
    pub fn samples(mut self, samples: u64) -> Self {
        self.samples = samples;
        self
    }

    crate::bootstrap::run_setters!(
        "ceteris::scm::EffectInterval::new(&ceteris::scm::parse_graph(\"X->Y\").unwrap(), ceteris::scm::FitKind::Linear, \"Y\")"
    );

    /// Fits the model on the data, computes its effect, then refits and recomputes it in every
    /// resample and forms the intervals.
    ///
    /// Errors: samples outside 2..2³², and everything [`Scm::fit`], [`Scm::exact`], [`Scm::effect`] and
    /// [`CustomBootstrap::run`] reject on the full data (unknown or constant columns, a cyclic
    /// graph, an unknown outcome or intervened node, bad resamples or level, a bad scheme column).
    /// A replicate whose refit fails is left out and counted in `failed_resamples`.
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, EffectInterval, FitKind};
    /// use ceteris::{Dataset, Engine, Error, Scheme};
    /// let data = Dataset::new().with_column("X", vec![0.0, 1.0, 2.0, 4.0]).unwrap()
    ///     .with_column("Y", vec![1.0, 0.0, 3.0, 2.0]).unwrap();
    /// // an unknown outcome is refused before any resample
    /// let e = EffectInterval::new(&parse_graph("X->Y").unwrap(), FitKind::Linear, "Q");
    /// assert!(matches!(e.run(&Engine::cpu(), &data), Err(Error::InvalidParameter { .. })));
    /// // the Bayesian bootstrap: continuous weights, a weighted refit
    /// let r = EffectInterval::new(&parse_graph("X->Y").unwrap(), FitKind::Linear, "Y")
    ///     .scheme(Scheme::Bayesian).resamples(50).run(&Engine::cpu(), &data).unwrap();
    /// assert_eq!(r.scheme, "bayesian");
    /// ```
    pub fn run(&self, engine: &Engine, data: &Dataset) -> Result<EffectIntervalResult> {
        self.run_with_progress(engine, data, None)
    }

    /// [`EffectInterval::run`] with a progress callback `(done, total)` counted in resamples
    /// (called from worker threads; BCa's jackknife refits after the last resample are not
    /// counted).
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, EffectInterval, FitKind, Intervention};
    /// use ceteris::{Dataset, Engine};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let x: Vec<f64> = (0..100).map(|i| (i % 10) as f64).collect();
    /// let y: Vec<f64> = x.iter().enumerate().map(|(i, x)| 2.0 * x + (i % 7) as f64).collect();
    /// let data = Dataset::new().with_column("X", x).unwrap().with_column("Y", y).unwrap();
    /// let last = AtomicU64::new(0);
    /// let tick = |done: u64, _total: u64| { last.fetch_max(done, Ordering::Relaxed); };
    /// EffectInterval::new(&ceteris::scm::parse_graph("X->Y").unwrap(), FitKind::Linear, "Y")
    ///     .alternative(&[Intervention::shift("X", 1.0)])
    ///     .resamples(50)
    ///     .run_with_progress(&Engine::cpu(), &data, Some(&tick))
    ///     .unwrap();
    /// assert_eq!(last.into_inner(), 50);
    /// ```
    pub fn run_with_progress(
        &self,
        engine: &Engine,
        data: &Dataset,
        progress: Option<ProgressFn>,
    ) -> Result<EffectIntervalResult> {
        let start = Instant::now();
        if self.samples < 2 || self.samples > u32::MAX as u64 {
            return Err(Error::param("samples", "must be between 2 and 2^32 − 1"));
        }
        // the estimate: the model fitted on all the data (its errors are the caller's)
        let model = Scm::fit(data, &self.graph, self.kind)?;
        let exact = model.nodes().iter().all(|n| n.kind == NodeType::Linear);
        let (estimate, mc_error) = self.effect_of(&model, exact)?;
        let done = AtomicU64::new(0);
        let failed = AtomicU64::new(0);
        let first_failure: Mutex<Option<String>> = Mutex::new(None);
        // one replicate's effect, or why it failed
        let replicate = |w: &[f64]| -> std::result::Result<f64, String> {
            // the estimate's structure, refitted with the replicate's weights (whole-number
            // counts are the resampled rows; the Bayesian bootstrap's weights work too): node
            // types and terms do not change with the resample
            let m = model
                .refit_weighted(data, Some(w))
                .map_err(|e| e.to_string())?;
            let exact = m.nodes().iter().all(|n| n.kind == NodeType::Linear);
            match self.effect_of(&m, exact) {
                Ok((v, _)) if v.is_finite() => Ok(v),
                Ok((v, _)) => Err(format!("the effect of a refit model is {v}")),
                Err(e) => Err(e.to_string()),
            }
        };
        let statistic = |_: &Dataset, w: &[f64]| -> f64 {
            if w.iter().all(|&w| w == 1.0) {
                return estimate; // the data itself: the fit above
            }
            let value = replicate(w);
            // the resamples run before BCa's jackknife: the first B calls are the resamples
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            if d <= self.resamples {
                if let Err(reason) = &value {
                    failed.fetch_add(1, Ordering::Relaxed);
                    let mut first = first_failure.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert_with(|| reason.clone());
                }
                if let Some(p) = progress {
                    p(d, self.resamples);
                }
            }
            value.unwrap_or(f64::NAN)
        };
        let r = {
            let mut boot = CustomBootstrap::new(statistic)
                .name("effect")
                .scheme(self.scheme.clone())
                .resamples(self.resamples)
                .seed(self.seed)
                .level(self.level)
                .methods(&self.methods)
                .keep_replicates(self.keep_replicates);
            if let Some(c) = &self.cancel {
                boot = boot.cancel(c);
            }
            boot.run(engine, data)?
        };
        let failed_resamples = failed.into_inner();
        let mut warnings = r.warnings;
        if let Some(reason) = first_failure
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
        {
            warnings.insert(
                0,
                format!(
                    "{failed_resamples} of {} refits failed and were left out (the first: \
                     {reason})",
                    self.resamples
                ),
            );
        }
        Ok(EffectIntervalResult {
            outcome: self.outcome.clone(),
            alternative: spell(&self.alternative),
            reference: spell(&self.reference),
            kind: match self.kind {
                FitKind::Linear => "linear",
                FitKind::Additive => "additive",
            }
            .to_string(),
            estimate,
            std_error: r.std_error,
            bias: r.bias,
            mc_error,
            exact,
            samples: if exact { 0 } else { self.samples },
            resamples: r.resamples,
            valid_resamples: r.valid_resamples,
            failed_resamples,
            scheme: r.scheme,
            level: r.level,
            seed: r.seed,
            intervals: r.intervals,
            bca: r.bca,
            backend: r.backend,
            seconds: start.elapsed().as_secs_f64(),
            warnings,
            replicates: r.replicates,
        })
    }

    /// The effect of the model fitted to all of `data` (no resampling): `(effect, mc_error,
    /// exact)`.
    pub(super) fn point(&self, data: &Dataset) -> Result<(f64, f64, bool)> {
        if self.samples < 2 || self.samples > u32::MAX as u64 {
            return Err(Error::param("samples", "must be between 2 and 2^32 − 1"));
        }
        let model = Scm::fit(data, &self.graph, self.kind)?;
        let exact = model.nodes().iter().all(|n| n.kind == NodeType::Linear);
        let (effect, mc) = self.effect_of(&model, exact)?;
        Ok((effect, mc, exact))
    }

    /// The alternative and reference sets as the result spells them.
    pub(super) fn spelled(&self) -> (String, String) {
        (spell(&self.alternative), spell(&self.reference))
    }

    /// The effect of one fitted model and its Monte-Carlo error (0 when exact).
    fn effect_of(&self, model: &Scm, exact: bool) -> Result<(f64, f64)> {
        if exact {
            let alt = model.exact(&self.alternative, &self.outcome)?;
            let refr = model.exact(&self.reference, &self.outcome)?;
            Ok((alt.mean - refr.mean, 0.0))
        } else {
            let e = model.effect(
                &Engine::cpu(),
                &self.alternative,
                &self.reference,
                &self.outcome,
                self.samples,
                self.seed,
            )?;
            Ok((e.ace, e.mc_error))
        }
    }
}
