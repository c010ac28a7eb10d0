//! A user-defined statistic for the bootstrap: a closure over the data and one replicate's
//! per-row weights, run on the CPU with the same draws, intervals and result as the built-in
//! [`Statistic`](super::Statistic)s.

use super::{cpu, scheme_plan, summarize, BootstrapResult, IntervalMethod, Replicates, Scheme};
use crate::data::Dataset;
use crate::engine::{BackendKind, Engine};
use crate::error::{Error, Result};
use std::ops::Range;
use std::time::Instant;

/// A statistic or standard error of one or several values: the data and one replicate's weight
/// of each row, writing its values into the output slice.
type MultiFn<'a> = Box<dyn Fn(&Dataset, &[f64], &mut [f64]) + Sync + 'a>;

/// A bootstrap of any estimator, given as a closure `f(data, w) -> f64` of the data and one
/// replicate's per-row weights `w` (`w.len() == data.n_rows()`).
///
/// The weights are what replicate `b` of a [`Bootstrap`](super::Bootstrap) with the same scheme
/// and seed draws (the same Philox draws, so a closure computing `Σ w x / Σ w` reproduces
/// [`Statistic::Mean`](super::Statistic::Mean)'s replicates to rounding):
/// * index schemes (iid, stratified, cluster, moving-block, circular-block, stationary): how many
///   times the row's unit was drawn; the rows of a cluster share their cluster's count;
/// * `Poisson`: the row's Poisson(1) weight;
/// * `Bayesian`: the row's Dirichlet(1, …, 1) weight scaled so the weights sum to the number of
///   rows.
///
/// The estimate is `f(data, [1, …, 1])`. A replicate where `f` returns NaN or ±inf (e.g. an empty
/// group) is dropped from the standard error and intervals, counted out of `valid_resamples` and
/// explained in `warnings`, as for the built-in statistics. (Replicates equal the built-in ones to
/// rounding, not bit for bit: where a replicate ties with the estimate, as with discrete data,
/// BCa's `z0` may count it on the other side.) BCa's acceleration comes from the
/// leave-one-unit-out jackknife through the same closure (weights 1, and 0 on the left-out unit's
/// rows: one call per row, or per cluster, so `O(n²)` for an `O(n)` closure); under the stratified
/// scheme the strata are its groups, as for the built-in statistics. The studentized interval needs
/// a standard-error closure ([`CustomBootstrap::std_error`]); without one a studentized request is
/// omitted with a warning.
///
/// It runs on the CPU (rayon over replicates, results independent of the thread count) whatever
/// the engine; on a GPU engine the result's `backend` says so. The closures must be `Sync`: they
/// are called from several threads at once.
///
/// A statistic of several values ([`CustomBootstrap::new_multi`], run by
/// [`CustomBootstrap::run_multi`]) gets one result per component, each with every interval asked
/// for; the replicates, jackknife and standard errors come from the same closure calls, so each
/// component's result equals that of a one-value run of the component with the same seed.
///
/// ```
/// use ceteris::{Bootstrap, CustomBootstrap, Dataset, Engine, IntervalMethod, Statistic};
/// let x: Vec<f64> = (0..200).map(|i| ((i * 37) % 101) as f64 / 10.0).collect();
/// let data = Dataset::new().with_column("x", x).unwrap();
/// // the weighted mean: the built-in mean's replicates, through a closure
/// let mean = |d: &Dataset, w: &[f64]| {
///     let x = d.column("x").unwrap();
///     x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / w.iter().sum::<f64>()
/// };
/// let custom = CustomBootstrap::new(mean)
///     .resamples(999)
///     .seed(7)
///     .methods(&[IntervalMethod::Percentile, IntervalMethod::Bca])
///     .run(&Engine::cpu(), &data)
///     .unwrap();
/// let builtin = Bootstrap::new(Statistic::Mean { column: "x".into() })
///     .resamples(999)
///     .seed(7)
///     .methods(&[IntervalMethod::Percentile, IntervalMethod::Bca])
///     .run(&Engine::cpu(), &data)
///     .unwrap();
/// assert!((custom.std_error - builtin.std_error).abs() < 1e-12);
/// let (c, b) = (custom.intervals["percentile"], builtin.intervals["percentile"]);
/// assert!((c[0] - b[0]).abs() < 1e-12 && (c[1] - b[1]).abs() < 1e-12);
/// ```
pub struct CustomBootstrap<'a> {
    statistic: MultiFn<'a>,
    /// How many values the statistic writes.
    dim: usize,
    /// The standard-error closure and how many values it writes.
    std_error: Option<(MultiFn<'a>, usize)>,
    name: String,
    scheme: Scheme,
    resamples: u64,
    seed: u64,
    level: f64,
    methods: Vec<IntervalMethod>,
    keep_replicates: bool,
    /// Why the statistic is undefined under one replicate's weights (see `explain_undefined`).
    explain: Option<ExplainFn<'a>>,
    cancel: Option<crate::Cancel>,
    /// The statistic of a batch of replicates at once, and the batch size (see `batched`).
    batch: Option<(usize, BatchFn<'a>)>,
    /// Replicate values computed elsewhere (e.g. on the device), one per resample.
    precomputed: Option<Vec<f64>>,
}

/// A one-value statistic of several replicates at once: their per-row weights, one vector each,
/// to one value each.
type BatchFn<'a> = Box<dyn Fn(&[Vec<f64>]) -> Vec<f64> + Sync + 'a>;

/// Why a statistic is undefined under some per-row weights, if it can say.
type ExplainFn<'a> = Box<dyn Fn(&Dataset, &[f64]) -> Option<String> + Sync + 'a>;

impl<'a> CustomBootstrap<'a> {
    /// A bootstrap of `statistic(data, weights)`. Defaults as [`Bootstrap::new`](super::Bootstrap::new):
    /// iid, 9999 resamples, seed 0, level 0.95, percentile and BCa intervals; the result's
    /// `statistic` is `"custom"`.
    ///
    /// ```
    /// use ceteris::{CustomBootstrap, Dataset};
    /// let total = CustomBootstrap::new(|d: &Dataset, w: &[f64]| {
    ///     d.column("x").unwrap().iter().zip(w).map(|(x, w)| x * w).sum::<f64>()
    /// });
    /// # let _ = total;
    /// ```
    pub fn new(statistic: impl Fn(&Dataset, &[f64]) -> f64 + Sync + 'a) -> Self {
        Self::new_multi(1, move |d: &Dataset, w: &[f64], out: &mut [f64]| {
            out[0] = statistic(d, w)
        })
    }

    /// A bootstrap of a statistic of `k` values: `statistic(data, weights, out)` writes them into
    /// `out` (`out.len() == k`, NaN-filled before each call). Run it with
    /// [`run_multi`](Self::run_multi): one result per component, named `"{name}[j]"`.
    ///
    /// ```
    /// use ceteris::{CustomBootstrap, Dataset, Engine, IntervalMethod};
    /// let x: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64 / 10.0).collect();
    /// let data = Dataset::new().with_column("x", x).unwrap();
    /// // the weighted mean and the weighted second moment, from one pass over the rows
    /// let moments = |d: &Dataset, w: &[f64], out: &mut [f64]| {
    ///     let x = d.column("x").unwrap();
    ///     let sw: f64 = w.iter().sum();
    ///     out[0] = x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / sw;
    ///     out[1] = x.iter().zip(w).map(|(x, w)| x * x * w).sum::<f64>() / sw;
    /// };
    /// let rs = CustomBootstrap::new_multi(2, moments)
    ///     .resamples(499)
    ///     .seed(5)
    ///     .methods(&[IntervalMethod::Percentile, IntervalMethod::Bca])
    ///     .run_multi(&Engine::cpu(), &data)
    ///     .unwrap();
    /// assert_eq!(rs.len(), 2);
    /// assert_eq!(rs[1].statistic, "custom[1]");
    /// assert!(rs.iter().all(|r| r.intervals.contains_key("bca")));
    /// ```
    pub fn new_multi(
        k: usize,
        statistic: impl Fn(&Dataset, &[f64], &mut [f64]) + Sync + 'a,
    ) -> Self {
        CustomBootstrap {
            statistic: Box::new(statistic),
            dim: k,
            std_error: None,
            name: "custom".into(),
            scheme: Scheme::Iid,
            resamples: 9999,
            seed: 0,
            level: 0.95,
            methods: vec![IntervalMethod::Percentile, IntervalMethod::Bca],
            keep_replicates: false,
            explain: None,
            cancel: None,
            batch: None,
            precomputed: None,
        }
    }

    /// A [`Cancel`](crate::Cancel) token checked between slices of the replicates (as
    /// [`Bootstrap::cancel`](super::Bootstrap::cancel): the same replicates, in up to 128
    /// slices of at least 64); once cancelled the run returns [`Error::Cancelled`].
    ///
    /// ```
    /// use ceteris::{Cancel, CustomBootstrap, Dataset, Engine, Error};
    /// let data = Dataset::new().with_column("x", vec![1.0, 2.0, 4.0]).unwrap();
    /// let c = Cancel::new();
    /// c.cancel();
    /// let b = CustomBootstrap::new(|_: &Dataset, w: &[f64]| w[0]).cancel(&c);
    /// assert!(matches!(b.run(&Engine::cpu(), &data), Err(Error::Cancelled)));
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// What names the cause when the statistic is undefined in every resample (called with
    /// resample 0's weights; [`EffectBootstrap`](super::EffectBootstrap) names the empty arm or
    /// collinear covariate).
    pub(crate) fn explain_undefined(
        mut self,
        explain: impl Fn(&Dataset, &[f64]) -> Option<String> + Sync + 'a,
    ) -> Self {
        self.explain = Some(Box::new(explain));
        self
    }

    /// Computes the replicates `size` at a time with `batch` (the values the one-value statistic
    /// gives under each replicate's weights, e.g. from batched fits); the statistic itself still
    /// gives the estimate and the jackknife. Batches run in parallel; the results do not depend
    /// on the thread count.
    pub(crate) fn batched(
        mut self,
        size: usize,
        batch: impl Fn(&[Vec<f64>]) -> Vec<f64> + Sync + 'a,
    ) -> Self {
        self.batch = Some((size.max(1), Box::new(batch)));
        self
    }

    /// Takes the replicates' values as given (one per resample, computed elsewhere with the same
    /// draws, e.g. on the device) instead of calling the statistic; the statistic still gives
    /// the estimate and the jackknife.
    pub(crate) fn precomputed(mut self, values: Vec<f64>) -> Self {
        self.precomputed = Some(values);
        self
    }

    /// The standard error of the statistic under the same weights, for the studentized
    /// (bootstrap-t) interval: `t* = (θ* − θ̂)/se*` with `se*` this closure on each replicate's
    /// weights, and `se` on all-ones weights scaling the interval. Replicates whose standard
    /// error is not positive and finite are left out of the t-statistics, with a warning.
    ///
    /// ```
    /// use ceteris::{CustomBootstrap, Dataset, Engine, IntervalMethod};
    /// let data = Dataset::new().with_column("x", (0..60).map(|i| (i % 7) as f64).collect()).unwrap();
    /// let wmean = |d: &Dataset, w: &[f64]| {
    ///     let x = d.column("x").unwrap();
    ///     x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / w.iter().sum::<f64>()
    /// };
    /// // the weighted mean's standard error: sqrt(Σ w (x − m)² / (n − 1) / n), n = Σ w
    /// let se = move |d: &Dataset, w: &[f64]| {
    ///     let x = d.column("x").unwrap();
    ///     let (n, m) = (w.iter().sum::<f64>(), wmean(d, w));
    ///     let ss: f64 = x.iter().zip(w).map(|(x, w)| w * (x - m) * (x - m)).sum();
    ///     (ss / (n - 1.0) / n).sqrt()
    /// };
    /// let r = CustomBootstrap::new(wmean)
    ///     .std_error(se)
    ///     .resamples(499)
    ///     .methods(&[IntervalMethod::Studentized])
    ///     .run(&Engine::cpu(), &data)
    ///     .unwrap();
    /// let [lo, hi] = r.intervals["studentized"];
    /// assert!(lo < r.estimate && r.estimate < hi);
    /// ```
    pub fn std_error(mut self, se: impl Fn(&Dataset, &[f64]) -> f64 + Sync + 'a) -> Self {
        self.std_error = Some((
            Box::new(move |d: &Dataset, w: &[f64], out: &mut [f64]| out[0] = se(d, w)),
            1,
        ));
        self
    }

    /// The standard errors of a statistic of several values ([`new_multi`](Self::new_multi)),
    /// one per component written into `out`, for each component's studentized interval (as
    /// [`std_error`](Self::std_error) for one value). It must write as many values as the
    /// statistic.
    ///
    /// ```
    /// use ceteris::{CustomBootstrap, Dataset, Engine, IntervalMethod};
    /// let data = Dataset::new().with_column("x", (0..60).map(|i| (i % 7) as f64).collect()).unwrap();
    /// let means = |d: &Dataset, w: &[f64], out: &mut [f64]| {
    ///     let x = d.column("x").unwrap();
    ///     let sw: f64 = w.iter().sum();
    ///     out[0] = x.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / sw;
    ///     out[1] = 2.0 * out[0];
    /// };
    /// let ses = move |d: &Dataset, w: &[f64], out: &mut [f64]| {
    ///     let x = d.column("x").unwrap();
    ///     let (n, mut m) = (w.iter().sum::<f64>(), [0.0; 2]);
    ///     means(d, w, &mut m);
    ///     let ss: f64 = x.iter().zip(w).map(|(x, w)| w * (x - m[0]) * (x - m[0])).sum();
    ///     out[0] = (ss / (n - 1.0) / n).sqrt();
    ///     out[1] = 2.0 * out[0];
    /// };
    /// let rs = CustomBootstrap::new_multi(2, means)
    ///     .std_error_multi(ses)
    ///     .resamples(299)
    ///     .methods(&[IntervalMethod::Studentized])
    ///     .run_multi(&Engine::cpu(), &data)
    ///     .unwrap();
    /// let ([a0, a1], [b0, b1]) = (rs[0].intervals["studentized"], rs[1].intervals["studentized"]);
    /// assert!((2.0 * a0 - b0).abs() < 1e-9 && (2.0 * a1 - b1).abs() < 1e-9);
    /// ```
    pub fn std_error_multi(
        mut self,
        se: impl Fn(&Dataset, &[f64], &mut [f64]) + Sync + 'a,
    ) -> Self {
        self.std_error = Some((Box::new(se), self.dim));
        self
    }

    /// The name the result reports as its `statistic` (default `"custom"`).
    ///
    /// ```
    /// use ceteris::{CustomBootstrap, Dataset};
    /// let b = CustomBootstrap::new(|_: &Dataset, w: &[f64]| w[0]).name("first-weight");
    /// # let _ = b;
    /// ```
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    super::run_setters!("CustomBootstrap::new(|_: &Dataset, w: &[f64]| w[0])");

    fn validate(&self) -> Result<()> {
        if self.dim == 0 {
            return Err(Error::param("statistic", "a statistic of 0 values"));
        }
        if let Some((_, k)) = &self.std_error {
            if *k != self.dim {
                return Err(Error::param(
                    "std_error",
                    format!(
                        "the standard-error closure gives {k} value(s), the statistic {}: use \
                         std_error_multi with one standard error per component",
                        self.dim
                    ),
                ));
            }
        }
        if self.resamples < 2 {
            return Err(Error::param(
                "resamples",
                format!("{} is below 2", self.resamples),
            ));
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
        Ok(())
    }

    /// The values of replicates `range` of a one-value statistic only, exactly as
    /// [`run`](Self::run) computes them: with [`batched`](Self::batched) the batches are the
    /// run's own (chunks of `size` replicates counted from replicate 0, the first and last
    /// computed whole and cut to `range`), so the values do not depend on where a shard starts.
    pub(crate) fn replicate_values(&self, data: &Dataset, range: Range<u32>) -> Result<Vec<f64>> {
        self.validate()?;
        let (plan, groups) = scheme_plan(&self.scheme, self.seed, data)?;
        let n = data.n_rows();
        let unit_of_row: Option<Vec<u32>> = groups.as_ref().map(|groups| {
            let mut map = vec![0u32; n];
            for (u, rows) in groups.iter().enumerate() {
                rows.iter().for_each(|&r| map[r] = u as u32);
            }
            map
        });
        let studentized =
            self.std_error.is_some() && self.methods.contains(&IntervalMethod::Studentized);
        crate::cancel::check(&self.cancel)?;
        let values = match &self.batch {
            Some((size, batch)) if self.dim == 1 && !studentized => {
                use rayon::prelude::*;
                let size = *size as u32;
                let end = self.resamples as u32;
                let first = range.start / size;
                let last = range.end.div_ceil(size);
                let chunks: Vec<Range<u32>> = (first..last)
                    .map(|c| c * size..((c + 1) * size).min(end))
                    .collect();
                let out: Vec<(u32, f64)> = chunks
                    .par_iter()
                    .flat_map_iter(|chunk| {
                        let ws: Vec<Vec<f64>> = chunk
                            .clone()
                            .map(|rep| {
                                cpu::replicate_row_weights(&plan, unit_of_row.as_deref(), n, rep)
                            })
                            .collect();
                        chunk.clone().zip(batch(&ws))
                    })
                    .collect();
                out.into_iter()
                    .filter(|(rep, _)| range.contains(rep))
                    .map(|(_, v)| v)
                    .collect()
            }
            _ => {
                let k = self.dim;
                let eval = |w: &[f64]| {
                    let mut out = vec![f64::NAN; k];
                    (self.statistic)(data, w, &mut out);
                    (out, vec![f64::NAN; k])
                };
                cpu::custom(&plan, unit_of_row.as_deref(), n, range, &eval)
                    .into_iter()
                    .map(|p| p.0[0])
                    .collect()
            }
        };
        crate::cancel::check(&self.cancel)?;
        Ok(values)
    }

    /// Validates the parameters and the scheme's columns, then runs all `B` resamples on the CPU
    /// and computes the intervals.
    ///
    /// Errors: `resamples` below 2, `level` outside (0, 1), a scheme column that is missing or
    /// not finite, a bad block length, an empty data set, a statistic that is not finite on the
    /// original data, or undefined in every resample.
    ///
    /// ```
    /// use ceteris::{CustomBootstrap, Dataset, Engine, Error};
    /// let data = Dataset::new().with_column("x", vec![1.0, 2.0, 4.0]).unwrap();
    /// let b = CustomBootstrap::new(|_: &Dataset, w: &[f64]| w[0]).resamples(1);
    /// assert!(matches!(b.run(&Engine::cpu(), &data), Err(Error::InvalidParameter { .. })));
    /// ```
    pub fn run(&self, engine: &Engine, data: &Dataset) -> Result<BootstrapResult> {
        if self.dim != 1 {
            return Err(Error::param(
                "statistic",
                format!(
                    "the statistic gives {} values: run it with run_multi (one result each)",
                    self.dim
                ),
            ));
        }
        Ok(self.run_multi(engine, data)?.remove(0))
    }

    /// Runs a statistic of one or several values ([`new_multi`](Self::new_multi)): one result
    /// per component, in order, each with the intervals of [`run`](Self::run); the closure is
    /// called once per replicate (and per jackknife unit) for all components. A replicate is
    /// dropped only from the components it left undefined. Errors as [`run`](Self::run), naming
    /// the component.
    ///
    /// ```
    /// use ceteris::{CustomBootstrap, Dataset, Engine};
    /// let data = Dataset::new().with_column("x", vec![1.0, 2.0, 4.0, 8.0]).unwrap();
    /// let one = CustomBootstrap::new(|_: &Dataset, w: &[f64]| w[0]).resamples(99);
    /// assert_eq!(one.run_multi(&Engine::cpu(), &data).unwrap().len(), 1);
    /// ```
    pub fn run_multi(&self, engine: &Engine, data: &Dataset) -> Result<Vec<BootstrapResult>> {
        let start = Instant::now();
        self.validate()?;
        let k = self.dim;
        let (plan, groups) = scheme_plan(&self.scheme, self.seed, data)?;
        // per replicate: k values and k standard errors, then each component's columns
        super::summary::check_memory(self.resamples, 32 * k as u64)?;
        let n = data.n_rows();
        let unit_of_row: Option<Vec<u32>> = groups.as_ref().map(|groups| {
            let mut map = vec![0u32; n];
            for (u, rows) in groups.iter().enumerate() {
                rows.iter().for_each(|&r| map[r] = u as u32);
            }
            map
        });
        let stat = |w: &[f64]| {
            let mut out = vec![f64::NAN; k];
            (self.statistic)(data, w, &mut out);
            out
        };
        let ones = vec![1.0; n];
        let estimates = stat(&ones);
        let name = |j: usize| {
            if k == 1 {
                self.name.clone()
            } else {
                format!("{}[{j}]", self.name)
            }
        };
        if let Some(j) = estimates.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "statistic",
                format!(
                    "`{}` on the original data (all weights 1) is {}",
                    name(j),
                    estimates[j]
                ),
            ));
        }
        let se = self
            .std_error
            .as_ref()
            .filter(|_| self.methods.contains(&IntervalMethod::Studentized))
            .map(|(f, _)| f);
        let ses = |w: &[f64]| {
            let mut out = vec![f64::NAN; k];
            if let Some(se) = se {
                se(data, w, &mut out);
            }
            out
        };
        let se0 = ses(&ones);
        let eval = |w: &[f64]| (stat(w), ses(w));
        let pairs: Vec<(Vec<f64>, Vec<f64>)> = match (&self.precomputed, &self.batch) {
            (Some(values), _) if k == 1 && se.is_none() => {
                values.iter().map(|&v| (vec![v], vec![f64::NAN])).collect()
            }
            (_, Some((size, batch))) if k == 1 && se.is_none() => {
                use rayon::prelude::*;
                let reps: Vec<u32> = (0..self.resamples as u32).collect();
                let batches: Vec<&[u32]> = reps.chunks(*size).collect();
                // with a token, groups of whole batches one at a time (about 128 groups),
                // checked in between: the batches, and so the values, stay the same
                let per = match &self.cancel {
                    Some(_) => batches.len().div_ceil(128).max(1),
                    None => batches.len().max(1),
                };
                let mut pairs = Vec::with_capacity(reps.len());
                for group in batches.chunks(per) {
                    crate::cancel::check(&self.cancel)?;
                    pairs.par_extend(group.par_iter().flat_map_iter(|chunk| {
                        let ws: Vec<Vec<f64>> = chunk
                            .iter()
                            .map(|&rep| {
                                cpu::replicate_row_weights(&plan, unit_of_row.as_deref(), n, rep)
                            })
                            .collect();
                        batch(&ws).into_iter().map(|v| (vec![v], vec![f64::NAN]))
                    }));
                }
                pairs
            }
            _ => {
                // with a token, slices of the replicates one at a time, checked in between
                let mut pairs = Vec::with_capacity(self.resamples as usize);
                for r in crate::cancel::slices(&self.cancel, self.resamples, 64) {
                    crate::cancel::check(&self.cancel)?;
                    pairs.extend(cpu::custom(
                        &plan,
                        unit_of_row.as_deref(),
                        n,
                        r.start as u32..r.end as u32,
                        &eval,
                    ));
                }
                pairs
            }
        };
        crate::cancel::check(&self.cancel)?;
        // the leave-one-unit-out values of every component, computed once when BCa asks
        let mut jackknife: Option<Vec<Vec<f64>>> = None;
        let mut results = Vec::with_capacity(k);
        for j in 0..k {
            let values: Vec<f64> = pairs.iter().map(|p| p.0[j]).collect();
            let std_errors: Vec<f64> = pairs.iter().map(|p| p.1[j]).collect();
            let (estimate, se0) = (estimates[j], se0[j]);
            let no_se = if self.std_error.is_some() {
                format!(
                    "studentized: the standard error of `{}` on the original data is {se0}; \
                     interval omitted",
                    name(j)
                )
            } else {
                format!(
                    "studentized: `{}` has no standard-error closure (CustomBootstrap::std_error); \
                     interval omitted",
                    name(j)
                )
            };
            let s = summarize(
                &Replicates {
                    values: &values,
                    std_errors: &std_errors,
                    estimate,
                    se0,
                },
                &self.methods,
                self.level,
                &plan,
                &mut || {
                    let jk = jackknife.get_or_insert_with(|| {
                        cpu::custom_jackknife(plan.units as usize, groups.as_deref(), n, &stat)
                    });
                    jk.iter().map(|v| v[j]).collect()
                },
                &no_se,
                &mut || {
                    let w = cpu::replicate_row_weights(&plan, unit_of_row.as_deref(), n, 0);
                    let own = self.explain.as_ref().and_then(|f| f(data, &w));
                    Some(own.unwrap_or_else(|| {
                        let drawn = w.iter().filter(|&&v| v > 0.0).count();
                        format!(
                            "`{}` returned NaN or infinity under every resample's weights (it \
                             is {estimate} on the original data; resample 0 gave weight to \
                             {drawn} of {n} rows): the closure is undefined on resampled data, \
                             e.g. a group or arm left without rows or a singular design inside \
                             it",
                            name(j)
                        )
                    }))
                },
            )
            .map_err(|e| match (k, e) {
                (1, e) => e,
                (_, Error::InvalidParameter { name: p, reason }) => {
                    Error::param(p, format!("component {j}: {reason}"))
                }
                (_, e) => e,
            })?;
            let backend = match engine.kind() {
                BackendKind::Cpu => engine.cpu_name(),
                BackendKind::Gpu => {
                    format!("{} (custom statistics run on the CPU)", engine.cpu_name())
                }
            };
            results.push(BootstrapResult {
                statistic: name(j),
                estimate,
                std_error: s.std_error,
                bias: s.bias,
                resamples: self.resamples,
                valid_resamples: s.valid_resamples,
                scheme: self.scheme.name().to_string(),
                level: self.level,
                seed: self.seed,
                intervals: s.intervals,
                bca: s.bca,
                analytic_std_error: s.analytic_std_error,
                backend,
                fallback: None,
                seconds: start.elapsed().as_secs_f64(),
                warnings: s.warnings,
                nuisance: None,
                crossfit_folds: None,
                failed_resamples: None,
                overlap: None,
                replicates: self.keep_replicates.then_some(values),
            });
        }
        Ok(results)
    }
}
