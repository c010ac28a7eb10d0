//! Monte-Carlo answers on the engine's backend: average causal effects ([`Scm::effect`]) and
//! sweeps of intervention sets ([`Sweep`]) with their results.

#[cfg(feature = "gpu")]
use super::gpu;
use super::{within, Intervention, Scm};
use crate::engine::{run_on, Engine};
use crate::error::{Error, Result};
use crate::rng::{Stream, STREAM_MONTE_CARLO};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Instant;

/// An average causal effect of a model with the Monte-Carlo error of its sampling.
///
/// `mc_error` is the error of the Monte-Carlo average over the model's own samples, not the
/// sampling error of an effect estimated from data: a model fitted to data has an effect whose
/// standard error comes from refitting it on resampled data
/// ([`EffectInterval`](super::EffectInterval)).
#[derive(Clone, Debug, Serialize)]
pub struct Effect {
    /// `E[Y | do(alternative)] − E[Y | do(reference)]`, the Monte-Carlo average.
    pub ace: f64,
    /// Monte-Carlo standard error of `ace` (of the average of the paired, common-random-number
    /// differences): it goes to 0 as the samples grow and says nothing of how well the model's
    /// parameters are known.
    pub mc_error: f64,
    /// The backend that ran (with the fallback reason, if any).
    pub backend: String,
}

impl Scm {
    /// Average causal effect of `alternative` against `reference` on `outcome`, on the engine's
    /// backend: both settings are sampled with the same noise draws (those of setting 0 of
    /// [`Sweep`]'s contract) and the Monte-Carlo error `mc_error` comes from the per-sample
    /// differences (much smaller than from independent runs). On the CPU in f64 in constant memory; on a GPU one
    /// thread evaluates both settings of a sample in f32 and the device reduces the differences
    /// around a host pivot, as for sweeps (same tolerances and fallback).
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm};
    /// let m = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let engine = ceteris::Engine::cpu();
    /// let e = m.effect(&engine, &[Intervention::atomic("X", 1.0)], &[Intervention::atomic("X", 0.0)], "Y", 1000, 0).unwrap();
    /// assert!((e.ace - 2.0).abs() < 1e-9);
    /// ```
    pub fn effect(
        &self,
        engine: &Engine,
        alternative: &[Intervention],
        reference: &[Intervention],
        outcome: &str,
        samples: u64,
        seed: u64,
    ) -> Result<Effect> {
        if samples < 2 || samples > u32::MAX as u64 {
            return Err(Error::param("samples", "must be between 2 and 2^32 − 1"));
        }
        let y = self.node_index(outcome)?;
        let plans = [self.compile(alternative)?, self.compile(reference)?];
        let job = super::jobs::SweepJob {
            scm: self,
            plans: &plans,
            outcome: y,
            samples: samples as u32,
            stream: Stream::new(seed, STREAM_MONTE_CARLO),
            common_random_numbers: true,
            first_setting: 0,
            keep_values: false,
            contrast: true,
        };
        let (stats, ran) = run_on!(engine,
            cpu: job.run_cpu(None),
            gpu: |ctx| gpu::sweep_moments(ctx, &job, None))?;
        let d = &stats[0];
        Ok(Effect {
            ace: d.mean,
            mc_error: (d.variance / samples as f64).sqrt(),
            backend: ran.label(""),
        })
    }
}

/// Summary of one setting of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepPoint {
    /// `node -> value` of the atomic interventions.
    pub interventions: BTreeMap<String, f64>,
    /// `node -> delta` of the shifts.
    pub shifts: BTreeMap<String, f64>,
    /// Monte-Carlo mean of the outcome.
    pub mean: f64,
    /// Sample variance (ddof = 1).
    pub variance: f64,
    /// Monte-Carlo standard error of `mean` (`sqrt(variance / samples)`): the error of the
    /// average over the model's samples, not of an estimate from data.
    pub mc_error: f64,
    /// Type-7 quantiles, keyed by probability as written.
    pub quantiles: BTreeMap<String, f64>,
    /// The same summaries of the further nodes asked for with [`Sweep::nodes`], from the same
    /// samples (absent from the JSON when none were asked for).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, NodeSummary>,
}

/// Summaries of one further node at one setting of a sweep ([`Sweep::nodes`]).
#[derive(Clone, Debug, Serialize)]
pub struct NodeSummary {
    /// Monte-Carlo mean.
    pub mean: f64,
    /// Sample variance (ddof = 1).
    pub variance: f64,
    /// Monte-Carlo standard error of `mean` (`sqrt(variance / samples)`): the error of the
    /// average over the model's samples, not of an estimate from data.
    pub mc_error: f64,
    /// Type-7 quantiles, keyed by probability as written.
    pub quantiles: BTreeMap<String, f64>,
}

/// The result of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepResult {
    /// Outcome node.
    pub outcome: String,
    /// Samples per setting.
    pub samples: u64,
    /// Where it ran (with `(fallback: reason)` when a GPU failure made it rerun on the CPU).
    pub backend: String,
    /// Compute seconds.
    pub seconds: f64,
    /// One point per setting.
    pub points: Vec<SweepPoint>,
}

/// A batch of intervention settings evaluated in one call.
#[derive(Clone, Debug)]
pub struct Sweep {
    outcome: String,
    nodes: Vec<String>,
    settings: Vec<Vec<Intervention>>,
    samples: u64,
    quantiles: Vec<f64>,
    seed: u64,
    common_random_numbers: bool,
    /// Index of `settings[0]` in the noise contract (set by [`Sweep::shard`]).
    first_setting: usize,
    cancel: Option<crate::Cancel>,
}

impl Sweep {
    /// Settings to evaluate for `outcome` (10 000 samples, seed 0, no quantiles, common random
    /// numbers on: see [`Sweep::common_random_numbers`]).
    pub fn new(outcome: &str, settings: Vec<Vec<Intervention>>) -> Self {
        Sweep {
            outcome: outcome.into(),
            nodes: Vec::new(),
            settings,
            samples: 10_000,
            quantiles: Vec::new(),
            seed: 0,
            common_random_numbers: true,
            first_setting: 0,
            cancel: None,
        }
    }

    /// A [`Cancel`](crate::Cancel) token checked between groups of settings (up to 128 per sweep,
    /// of at least 256 settings on a GPU,
    /// each computed as a [`Sweep::shard`], so the points are the same as without a token): once
    /// cancelled the sweep returns [`Error::Cancelled`].
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Sweep};
    /// let s = Sweep::new("Y", vec![vec![Intervention::atomic("X", 1.0)]]).cancel(&ceteris::Cancel::new());
    /// # let _ = s;
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// Settings `range` of this sweep only, with the noise they have in the whole sweep: the
    /// result's points are `points[range]` of [`Sweep::run`]'s, bit for bit (to spread a grid
    /// of settings across machines and concatenate the points in order).
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let sets: Vec<_> = (0..5).map(|k| vec![Intervention::atomic("X", k as f64)]).collect();
    /// let sweep = Sweep::new("Y", sets).samples(1000).seed(3);
    /// let e = ceteris::Engine::cpu();
    /// let whole = sweep.run(&e, &scm).unwrap();
    /// let part = sweep.shard(&e, &scm, 2..4).unwrap();
    /// assert_eq!(part.points[0].mean, whole.points[2].mean);
    /// assert_eq!(part.points[1].variance, whole.points[3].variance);
    /// ```
    pub fn shard(&self, engine: &Engine, scm: &Scm, range: Range<usize>) -> Result<SweepResult> {
        self.shard_with_progress(engine, scm, range, None)
    }

    /// [`Sweep::shard`] with a progress callback (as [`Sweep::run_with_progress`]'s, over the
    /// shard's settings).
    pub fn shard_with_progress(
        &self,
        engine: &Engine,
        scm: &Scm,
        range: Range<usize>,
        progress: Option<crate::ProgressFn>,
    ) -> Result<SweepResult> {
        if range.start >= range.end || range.end > self.settings.len() {
            return Err(Error::param(
                "range",
                format!(
                    "{range:?} is empty or beyond the {} settings of this sweep",
                    self.settings.len()
                ),
            ));
        }
        let mut part = self.clone();
        part.settings = self.settings[range.clone()].to_vec();
        part.first_setting = self.first_setting + range.start;
        part.cancel = None;
        part.run_all(engine, scm, progress)
    }

    /// Further nodes to summarise at every setting, besides the outcome (each point's `nodes`).
    /// They are summarised over the same samples as the outcome (the noise contract does not
    /// depend on which node is summarised); each takes one more pass over its own ancestors.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("M", 0.0, &[("X", 1.0)], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("M", 2.0)], Noise::Normal { scale: 0.1 }),
    /// ]).unwrap();
    /// let r = Sweep::new("Y", vec![vec![Intervention::atomic("X", 1.0)]])
    ///     .nodes(&["M"])
    ///     .samples(20_000)
    ///     .run(&ceteris::Engine::cpu(), &scm)
    ///     .unwrap();
    /// let m = &r.points[0].nodes["M"];
    /// assert!((m.mean - 1.0).abs() < 5.0 * m.mc_error);
    /// assert!((r.points[0].mean - 2.0 * m.mean).abs() < 0.01); // the same samples
    /// ```
    pub fn nodes(mut self, nodes: &[&str]) -> Self {
        self.nodes = nodes.iter().map(|n| n.to_string()).collect();
        self
    }

    /// Samples per setting.
    pub fn samples(mut self, n: u64) -> Self {
        self.samples = n;
        self
    }

    /// Quantiles of the outcome to report.
    pub fn quantiles(mut self, q: &[f64]) -> Self {
        self.quantiles = q.to_vec();
        self
    }

    /// Seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether every setting sees the same noise draws (common random numbers; **on by
    /// default**). On, sample `i` of every setting is the same unit under different
    /// interventions: a dose-response curve is smooth (its points' Monte-Carlo errors move
    /// together, so differences between points are far more precise than each point), and both
    /// backends draw each sample's noise once for all settings (on a GPU, for all the settings
    /// of a workgroup) and compute the nodes that descend from no intervened or shifted node
    /// once (several times faster than drawing per setting).
    /// Off, every setting draws its own noise (setting `s` reads the noise of setting `s` of the
    /// contract in [`crate::scm`]): the points are independent, which a caller who combines
    /// them as independent estimates needs. Each point's mean, variance and `mc_error` are the
    /// same estimates either way.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let settings = vec![vec![Intervention::atomic("X", 0.0)], vec![Intervention::atomic("X", 0.5)]];
    /// let engine = ceteris::Engine::cpu();
    /// let crn = Sweep::new("Y", settings.clone()).samples(1000).run(&engine, &scm).unwrap();
    /// // the same noise: the two points differ by exactly the effect, 2 · 0.5
    /// assert!((crn.points[1].mean - crn.points[0].mean - 1.0).abs() < 1e-12);
    /// let own = Sweep::new("Y", settings).samples(1000).common_random_numbers(false)
    ///     .run(&engine, &scm).unwrap();
    /// assert!((own.points[1].mean - own.points[0].mean - 1.0).abs() > 1e-6);
    /// ```
    pub fn common_random_numbers(mut self, on: bool) -> Self {
        self.common_random_numbers = on;
        self
    }

    /// Samples every setting on the engine's backend.
    ///
    /// On the CPU (rayon, f64) every chunk of 4096 samples of a setting is sampled column-wise
    /// 256 samples at a time (vectorised Philox and Box–Muller, only the nodes the outcome
    /// depends on) and reduced to its count, mean and sum of squared deviations; the chunks are
    /// merged in sample order, so the result does not depend on the thread count and memory
    /// does not grow with the samples unless quantiles are asked for. Under common random
    /// numbers (the default) a work item is one chunk of a group of settings: per 256 samples
    /// the noise is drawn once, the nodes that descend from no intervened or shifted node are
    /// computed once, and only the others per setting (the same bits as sampling each setting
    /// alone); without, every (setting, chunk) is one work item with its own noise.
    /// On a GPU engine the model is compiled into a flat program run by `shaders/sweep.wgsl`, one
    /// thread per sample, with the same noise words as the CPU (module docs), in f32. Under
    /// common random numbers a thread draws its sample's noise once and computes the nodes that
    /// descend from no intervened or shifted node once, then evaluates only the others for each
    /// of its workgroup's settings (as many settings per workgroup as leave the device about
    /// 1024 workgroups; all of a dispatch's on a CPU adapter); without, each (setting, sample)
    /// draws its own noise. The tiles of settings × samples are
    /// recorded into one submit and read back once, unless their output exceeds one binding or
    /// they hold more than 2³⁴ node evaluations (progress is reported per submit): without
    /// quantiles, each workgroup of 256 samples reduces the count, sum and sum of squares of the
    /// outcome centred on a pivot (the f64 mean of the first 64 samples, drawn on the host) by a
    /// tree in workgroup memory, and the host adds the partials in f64; with quantiles, the
    /// outcome samples are read back in chunks and the mean, variance and type-7 quantiles are
    /// taken on the host in f64. Either way a point differs from the CPU's by the f32 rounding of
    /// the structural equations (in the GPU tests: means within 1e-6 of |mean| + sd, variances
    /// within 2e-5 relative). Models of any size run on the device: a thread keeps a node's
    /// value in a slot only until the last node that reads it, in a private array of 16, 64 or
    /// 256 slots (the smallest that holds the model's; any chain, however long, needs one), else
    /// in a storage buffer of
    /// slots per thread, with fewer samples per dispatch so that it fits one binding. Samples
    /// that overflow f32 (where f64 may not), or any wgpu failure are [`Error::Gpu`]s, and
    /// under [`Engine::auto`] (or `cpu_fallback`) the sweep reruns on the CPU with the reason
    /// in `backend`.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Uniform { low: -1.0, high: 1.0 }),
    /// ]).unwrap();
    /// let sweep = Sweep::new("Y", vec![vec![Intervention::atomic("X", 0.0)], vec![Intervention::atomic("X", 1.0)]])
    ///     .samples(4000)
    ///     .common_random_numbers(true);
    /// let r = sweep.run(&ceteris::Engine::auto(), &scm).unwrap();
    /// // the same noise in both settings: the contrast is exact up to rounding
    /// assert!((r.points[1].mean - r.points[0].mean - 2.0).abs() < 1e-5);
    /// assert!((r.points[0].variance - 1.0 / 3.0).abs() < 0.05);
    /// ```
    pub fn run(&self, engine: &Engine, scm: &Scm) -> Result<SweepResult> {
        self.run_with_progress(engine, scm, None)
    }

    /// [`Sweep::run`] with a progress callback `(done, total)` counted in samples over all
    /// settings (`total` = settings × samples). On the CPU it is called from worker threads after
    /// each block of samples, on a GPU after each submit; the library never prints.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let last = AtomicU64::new(0);
    /// let tick = |done: u64, total: u64| { last.fetch_max(done, Ordering::Relaxed); assert_eq!(total, 2000); };
    /// let sweep = Sweep::new("Y", vec![vec![Intervention::atomic("X", 0.0)], vec![]]).samples(1000);
    /// sweep.run_with_progress(&ceteris::Engine::cpu(), &scm, Some(&tick)).unwrap();
    /// assert_eq!(last.into_inner(), 2000);
    /// ```
    pub fn run_with_progress(
        &self,
        engine: &Engine,
        scm: &Scm,
        progress: Option<crate::ProgressFn>,
    ) -> Result<SweepResult> {
        if self.cancel.is_none() || self.settings.len() < 2 {
            crate::cancel::check(&self.cancel)?;
            return self.run_all(engine, scm, progress);
        }
        // with a token: groups of settings one at a time (shards of the one sweep: the same
        // noise), checked in between; progress counts over all of them (one pass per node)
        let start = Instant::now();
        let n = self.settings.len() as u64;
        let passes = 1 + self.nodes.len() as u64;
        let done = std::sync::atomic::AtomicU64::new(0);
        let mut whole: Option<SweepResult> = None;
        // (on a GPU a group is its own uploads and dispatches: large groups only)
        let min = match engine.kind() {
            crate::BackendKind::Gpu => 256,
            _ => 1,
        };
        for r in crate::cancel::slices(&self.cancel, n, min) {
            crate::cancel::check(&self.cancel)?;
            let base = done.load(std::sync::atomic::Ordering::Relaxed);
            let tick = progress.map(|p| {
                let done = &done;
                move |d: u64, _: u64| {
                    done.fetch_max(base + d, std::sync::atomic::Ordering::Relaxed);
                    p(base + d, passes * n * self.samples)
                }
            });
            let tick = tick.as_ref().map(|t| t as crate::ProgressFn);
            let part =
                self.shard_with_progress(engine, scm, r.start as usize..r.end as usize, tick)?;
            match &mut whole {
                None => whole = Some(part),
                Some(w) => {
                    if part.backend.contains("fallback") {
                        w.backend = part.backend;
                    }
                    w.points.extend(part.points);
                }
            }
        }
        crate::cancel::check(&self.cancel)?;
        let mut whole = whole.expect("at least one group");
        whole.seconds = start.elapsed().as_secs_f64();
        Ok(whole)
    }

    /// Every setting in one go.
    fn run_all(
        &self,
        engine: &Engine,
        scm: &Scm,
        progress: Option<crate::ProgressFn>,
    ) -> Result<SweepResult> {
        let start = Instant::now();
        if self.settings.is_empty() {
            return Err(Error::param("do", "the sweep has no settings"));
        }
        if self.samples < 2 || self.samples > u32::MAX as u64 {
            return Err(Error::param("samples", "must be between 2 and 2^32 − 1"));
        }
        if let Some(q) = self.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(Error::param("quantiles", format!("{q} is not in [0, 1]")));
        }
        if !self.quantiles.is_empty() {
            // quantiles keep every outcome sample of every setting (and sort a copy)
            crate::memory::check(
                "samples",
                "keeping every sample for the quantiles",
                crate::memory::product(&[self.settings.len() as u64, self.samples, 8, 2]),
                "ask for fewer samples or settings, or no quantiles (the mean and variance keep \
                 no samples)",
            )?;
        }
        let y = scm.node_index(&self.outcome)?;
        let mut targets = vec![y];
        for name in &self.nodes {
            let j = scm.node_index(name)?;
            if targets.contains(&j) {
                return Err(Error::param(
                    name,
                    format!("`{name}` is asked for twice (the outcome or --nodes)"),
                ));
            }
            targets.push(j);
        }
        let plans = self
            .settings
            .iter()
            .enumerate()
            .map(|(s, set)| {
                scm.compile(set)
                    .map_err(|e| within(e, format_args!("setting {s}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let per = self.settings.len() as u64 * self.samples;
        let count = targets.len() as u64;
        let mut runs = Vec::with_capacity(targets.len());
        let mut backend = String::new();
        for (k, &node) in targets.iter().enumerate() {
            let job = super::jobs::SweepJob {
                scm,
                plans: &plans,
                outcome: node,
                samples: self.samples as u32,
                stream: Stream::new(self.seed, STREAM_MONTE_CARLO),
                common_random_numbers: self.common_random_numbers,
                first_setting: self.first_setting as u32,
                keep_values: !self.quantiles.is_empty(),
                contrast: false,
            };
            // one pass per node: progress counts over all of them
            let offset = k as u64 * per;
            let tick = |done: u64, _total: u64| {
                if let Some(p) = progress {
                    p(offset + done, count * per);
                }
            };
            let (stats, ran) = run_on!(engine,
                cpu: job.run_cpu(Some(&tick)),
                gpu: |ctx| gpu::sweep_moments(ctx, &job, Some(&tick)))?;
            // report a fallback if any pass had one
            if k == 0 || ran.fallback.is_some() {
                backend = ran.label("");
            }
            runs.push(stats);
        }
        let n = self.samples as f64;
        let summary = |st: &super::jobs::SettingStats| {
            let mut quantiles = BTreeMap::new();
            for &q in &self.quantiles {
                quantiles.insert(q.to_string(), crate::stats::quantile_sorted(&st.sorted, q));
            }
            NodeSummary {
                mean: st.mean,
                variance: st.variance,
                mc_error: (st.variance / n).sqrt(),
                quantiles,
            }
        };
        let points = self
            .settings
            .iter()
            .enumerate()
            .map(|(s, set)| {
                let mut interventions = BTreeMap::new();
                let mut shifts = BTreeMap::new();
                for iv in set {
                    match iv {
                        Intervention::Atomic { node, value } => {
                            interventions.insert(node.clone(), *value);
                        }
                        Intervention::Shift { node, delta } => {
                            shifts.insert(node.clone(), *delta);
                        }
                    }
                }
                let y = summary(&runs[0][s]);
                SweepPoint {
                    interventions,
                    shifts,
                    mean: y.mean,
                    variance: y.variance,
                    mc_error: y.mc_error,
                    quantiles: y.quantiles,
                    nodes: self
                        .nodes
                        .iter()
                        .zip(&runs[1..])
                        .map(|(name, r)| (name.clone(), summary(&r[s])))
                        .collect(),
                }
            })
            .collect();
        Ok(SweepResult {
            outcome: self.outcome.clone(),
            samples: self.samples,
            backend,
            seconds: start.elapsed().as_secs_f64(),
            points,
        })
    }
}
