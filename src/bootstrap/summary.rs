//! From replicates to a result: the standard error, bias and intervals of a run's replicates,
//! with non-finite replicates dropped and explained (shared by every kind of bootstrap).

use super::intervals::{self, BcaDetails, IntervalMethod};
use super::plan::{PlanKind, ResamplePlan};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// All replicates of a run, in replicate order (non-finite where the statistic was undefined).
pub(crate) struct Replicates<'a> {
    pub values: &'a [f64],
    /// Each replicate's standard error (NaN where there is none).
    pub std_errors: &'a [f64],
    /// The statistic on the original data.
    pub estimate: f64,
    /// Its standard error on the original data (NaN: none, studentized is omitted).
    pub se0: f64,
}

/// What the replicates give, whatever statistic produced them.
pub(crate) struct Summary {
    pub std_error: f64,
    pub bias: f64,
    pub valid_resamples: u64,
    pub intervals: BTreeMap<String, [f64; 2]>,
    pub bca: Option<BcaDetails>,
    pub warnings: Vec<String>,
}

/// Standard error, bias and the intervals `methods` from the replicates (shared by
/// [`Bootstrap`] and [`CustomBootstrap`]): non-finite replicates are dropped with a warning,
/// an error when none is left; `jackknife` (leave-one-unit-out values, in unit order) is called
/// only for BCa, with the strata as groups under the stratified plan; `no_se` is the warning when
/// studentized is asked for without a standard error.
pub(crate) fn summarize(
    reps: &Replicates,
    methods: &[IntervalMethod],
    level: f64,
    plan: &ResamplePlan,
    jackknife: &mut dyn FnMut() -> Vec<f64>,
    no_se: &str,
) -> Result<Summary> {
    let mut warnings = Vec::new();
    let all = reps.values;
    let mut valid: Vec<f64> = all.iter().copied().filter(|v| v.is_finite()).collect();
    let invalid = all.len() - valid.len();
    if valid.is_empty() {
        return Err(Error::param(
            "resamples",
            format!(
                "the statistic was undefined in all {} resamples (e.g. an arm was never drawn); \
                 try the stratified scheme",
                all.len()
            ),
        ));
    }
    if invalid > 0 {
        warnings.push(format!(
            "{invalid} of {} resamples left the statistic undefined (e.g. an empty arm) and were \
             dropped",
            all.len()
        ));
    }
    valid.sort_by(f64::total_cmp);
    let (mean, sd) = intervals::mean_sd(&valid);
    let estimate = reps.estimate;
    let alpha = 1.0 - level;
    let mut out = BTreeMap::new();
    let mut bca_details = None;
    let degenerate = valid[0] == valid[valid.len() - 1];
    if degenerate {
        warnings.push(format!(
            "all replicates equal {}: every interval is zero-width at that value",
            valid[0]
        ));
    }
    for &m in methods {
        let iv = if degenerate {
            [valid[0], valid[0]]
        } else {
            match m {
                IntervalMethod::Percentile => intervals::percentile(&valid, alpha),
                IntervalMethod::Basic => intervals::basic(&valid, estimate, alpha),
                IntervalMethod::Normal => intervals::normal(&valid, estimate, alpha),
                IntervalMethod::Bca => {
                    let jack = jackknife();
                    // the strata are independent samples: eq. 15.36's acceleration
                    let groups = match &plan.kind {
                        PlanKind::Strata { offsets } => Some(offsets.as_slice()),
                        _ => None,
                    };
                    let (iv, d) =
                        intervals::bca(&valid, estimate, &jack, groups, alpha, &mut warnings);
                    bca_details = Some(d);
                    iv
                }
                IntervalMethod::Studentized => {
                    if !reps.se0.is_finite() {
                        warnings.push(no_se.to_string());
                        continue;
                    }
                    let mut t: Vec<f64> = reps
                        .values
                        .iter()
                        .zip(reps.std_errors)
                        .filter(|(v, se)| v.is_finite() && se.is_finite() && **se > 0.0)
                        .map(|(v, se)| (v - estimate) / se)
                        .collect();
                    if t.len() < 2 {
                        warnings.push(
                            "studentized: fewer than 2 resamples had a positive standard error; \
                             interval omitted"
                                .into(),
                        );
                        continue;
                    }
                    if t.len() < valid.len() {
                        warnings.push(format!(
                            "studentized: {} resamples with zero standard error were dropped",
                            valid.len() - t.len()
                        ));
                    }
                    t.sort_by(f64::total_cmp);
                    intervals::studentized(&t, estimate, reps.se0, alpha)
                }
            }
        };
        out.insert(m.name().to_string(), iv);
    }
    Ok(Summary {
        std_error: sd,
        bias: mean - estimate,
        valid_resamples: valid.len() as u64,
        intervals: out,
        bca: bca_details,
        warnings,
    })
}
