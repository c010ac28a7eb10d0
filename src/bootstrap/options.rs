//! [`BootstrapOptions`]: a bootstrap from named options, with the rules that pick a refit
//! ([`EffectBootstrap`]) or a fixed-nuisance run ([`Bootstrap`]) and refuse the options the run
//! would ignore: one copy of those rules for the CLI (`ceteris bootstrap`) and the Python binding.

use super::Statistic;
use super::{
    Bootstrap, BootstrapResult, EffectBootstrap, Estimator, IntervalMethod, Roles, Scheme,
};
use crate::data::Dataset;
use crate::engine::{Engine, ProgressFn};
use crate::error::{Error, Result};

/// A bootstrap as named options (the CLI's flags, the Python keyword arguments).
///
/// `ipw`, `hajek`, `aipw`, `att` and `aipw-att` with `covariates` refit their nuisance models in every
/// resample ([`EffectBootstrap`]); every other statistic, and those without covariates, use the
/// columns given ([`Bootstrap`], `Statistic::parse`'s rules). An option the chosen run would
/// ignore is an error naming it.
///
/// ```
/// use ceteris::bootstrap::{BootstrapOptions, BootstrapRun};
/// let mut o = BootstrapOptions::new("aipw");
/// o.roles.treatment = Some("t".into());
/// o.roles.outcome = Some("y".into());
/// o.roles.covariates = vec!["x".into()];
/// assert!(matches!(o.build().unwrap(), BootstrapRun::Refit(_)));
/// // a fixed propensity and covariates: one would be ignored
/// o.roles.propensity = Some("e".into());
/// assert!(o.build().unwrap_err().to_string().contains("`propensity`"));
/// // trim needs a refit
/// let mut m = BootstrapOptions::new("mean");
/// m.columns = vec!["y".into()];
/// m.trim = Some(0.05);
/// assert!(m.build().unwrap_err().to_string().contains("would be ignored"));
/// ```
#[derive(Clone, Debug)]
pub struct BootstrapOptions {
    /// Statistic name (`Statistic::parse`'s, plus `att`).
    pub statistic: String,
    /// The statistic's columns (one, or two for corr and ratio-means).
    pub columns: Vec<String>,
    /// Column roles: weights, treatment, outcome, fixed nuisance columns, covariates.
    pub roles: Roles,
    /// Clip the propensity to `[A, 1 − A]`.
    pub clip: Option<f64>,
    /// Trim the units whose refit propensity is outside `[A, 1 − A]` (refit only).
    pub trim: Option<f64>,
    /// L2 penalty on the refit propensity's slopes (refit only).
    pub penalty: Option<f64>,
    /// Cross-fitting folds (aipw and aipw-att refit only).
    pub crossfit: Option<u32>,
    /// Resampling scheme.
    pub scheme: Scheme,
    /// Number of resamples `B`.
    pub resamples: u64,
    /// Seed.
    pub seed: u64,
    /// Confidence level.
    pub level: f64,
    /// Interval methods.
    pub methods: Vec<IntervalMethod>,
    /// Keep the replicates in the result.
    pub keep_replicates: bool,
}

/// The run [`BootstrapOptions::build`] chose.
#[derive(Clone, Debug)]
pub enum BootstrapRun {
    /// A statistic with a kernel (nuisance columns, if any, held fixed).
    Statistic(Bootstrap),
    /// Nuisance models refit in every resample (CPU).
    Refit(EffectBootstrap),
}

impl BootstrapRun {
    /// Runs it.
    pub fn run(&self, engine: &Engine, data: &Dataset) -> Result<BootstrapResult> {
        self.run_with_progress(engine, data, None)
    }

    /// Runs it with a progress callback (called by [`Bootstrap`] runs; a refit run reports no
    /// progress).
    pub fn run_with_progress(
        &self,
        engine: &Engine,
        data: &Dataset,
        progress: Option<ProgressFn>,
    ) -> Result<BootstrapResult> {
        match self {
            BootstrapRun::Statistic(b) => b.run_with_progress(engine, data, progress),
            BootstrapRun::Refit(b) => b.run(engine, data),
        }
    }
}

impl BootstrapOptions {
    /// Options for `statistic` with the defaults of [`Bootstrap::new`] (iid, 9999 resamples,
    /// seed 0, level 0.95, percentile and BCa) and nothing else given.
    pub fn new(statistic: &str) -> Self {
        BootstrapOptions {
            statistic: statistic.to_string(),
            columns: Vec::new(),
            roles: Roles::default(),
            clip: None,
            trim: None,
            penalty: None,
            crossfit: None,
            scheme: Scheme::Iid,
            resamples: 9999,
            seed: 0,
            level: 0.95,
            methods: vec![IntervalMethod::Percentile, IntervalMethod::Bca],
            keep_replicates: false,
        }
    }

    /// Whether the statistic refits its nuisance models (`ipw`, `hajek`, `aipw`, `att` with
    /// covariates).
    pub fn refits(&self) -> bool {
        matches!(
            self.statistic.as_str(),
            "ipw" | "hajek" | "aipw" | "att" | "aipw-att"
        ) && !self.roles.covariates.is_empty()
    }

    /// The run, options named `` `name` `` in errors (see [`BootstrapOptions::build_spelled`]).
    pub fn build(&self) -> Result<BootstrapRun> {
        self.build_spelled(&|f| format!("`{f}`"))
    }

    /// The run, with `spell` writing an option's name in errors as the caller's users type it
    /// (`--trim` on a command line).
    ///
    /// ```
    /// use ceteris::bootstrap::BootstrapOptions;
    /// let o = BootstrapOptions::new("att");
    /// let e = o.build_spelled(&|f| format!("--{f}")).unwrap_err().to_string();
    /// assert!(e.contains("--covariates"), "{e}");
    /// ```
    pub fn build_spelled(&self, spell: &dyn Fn(&str) -> String) -> Result<BootstrapRun> {
        let refit = self.refits();
        let stat = &self.statistic;
        if stat == "att" && !refit {
            return Err(Error::param(
                "covariates",
                format!(
                    "att refits its propensity in every resample: it needs {}",
                    spell("covariates")
                ),
            ));
        }
        if self.trim.is_some() && !refit {
            return Err(Error::param(
                "trim",
                format!(
                    "{} refits the propensity on the units it keeps: it needs ipw, hajek, aipw, \
                     att or aipw-att with {} (it would be ignored)",
                    spell("trim"),
                    spell("covariates")
                ),
            ));
        }
        if self.penalty.is_some() && !refit {
            return Err(Error::param(
                "penalty",
                format!(
                    "{} applies to the refit propensity of ipw, hajek, aipw, att and aipw-att with {} (it \
                     would be ignored)",
                    spell("penalty"),
                    spell("covariates")
                ),
            ));
        }
        if self.crossfit.is_some() && !(refit && matches!(stat.as_str(), "aipw" | "aipw-att")) {
            return Err(Error::param(
                "crossfit",
                format!(
                    "{} cross-fits the refit nuisance models of aipw and aipw-att with {}; statistic `{stat}`{} \
                     would ignore it",
                    spell("crossfit"),
                    spell("covariates"),
                    if refit {
                        String::new()
                    } else {
                        format!(" without {}", spell("covariates"))
                    }
                ),
            ));
        }
        if !refit {
            let statistic = Statistic::parse(stat, &self.columns, &self.roles)?;
            let mut b = Bootstrap::new(statistic)
                .scheme(self.scheme.clone())
                .resamples(self.resamples)
                .seed(self.seed)
                .level(self.level)
                .methods(&self.methods)
                .keep_replicates(self.keep_replicates);
            if let Some(a) = self.clip {
                b = b.clip_propensity(a);
            }
            return Ok(BootstrapRun::Statistic(b));
        }
        let r = &self.roles;
        let fixed = [
            ("propensity", r.propensity.is_some()),
            ("mu0", r.mu0.is_some()),
            ("mu1", r.mu1.is_some()),
        ];
        if let Some((flag, _)) = fixed.iter().find(|f| f.1) {
            return Err(Error::param(
                *flag,
                format!(
                    "{} refits the nuisance models in every resample, {} gives a fixed one: give \
                     one or the other",
                    spell("covariates"),
                    spell(flag)
                ),
            ));
        }
        let ignored = [
            ("weights", r.weights.is_some()),
            ("column", !self.columns.is_empty()),
        ];
        if let Some((flag, _)) = ignored.iter().find(|f| f.1) {
            return Err(Error::param(
                *flag,
                format!(
                    "statistic `{stat}` with {} does not use {} (it would ignore it)",
                    spell("covariates"),
                    spell(flag)
                ),
            ));
        }
        let need = |v: &Option<String>, flag: &str| {
            v.clone().ok_or_else(|| {
                Error::param(flag, format!("statistic `{stat}` needs {}", spell(flag)))
            })
        };
        let (treatment, outcome) = (
            need(&r.treatment, "treatment")?,
            need(&r.outcome, "outcome")?,
        );
        let estimator = match stat.as_str() {
            "ipw" => Estimator::Ipw,
            "hajek" => Estimator::Hajek,
            "aipw" => Estimator::Aipw,
            "aipw-att" => Estimator::AipwAtt,
            _ => Estimator::Att,
        };
        let covariates: Vec<&str> = r.covariates.iter().map(String::as_str).collect();
        let mut b = EffectBootstrap::new(estimator, &treatment, &outcome, &covariates)
            .scheme(self.scheme.clone())
            .resamples(self.resamples)
            .seed(self.seed)
            .level(self.level)
            .methods(&self.methods)
            .keep_replicates(self.keep_replicates);
        if let Some(t) = self.trim {
            b = b.trim(t);
        }
        if let Some(c) = self.clip {
            b = b.clip(c);
        }
        if let Some(k) = self.crossfit {
            b = b.crossfit(k);
        }
        if let Some(l) = self.penalty {
            b = b.penalty(l);
        }
        Ok(BootstrapRun::Refit(b))
    }
}
