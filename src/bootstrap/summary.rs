//! From replicates to a result: the standard error, bias and intervals of a run's replicates,
//! with non-finite replicates dropped and explained (shared by every kind of bootstrap).

use super::intervals::{self, BcaDetails, IntervalMethod};
use super::plan::{PlanKind, ResamplePlan};
use crate::data::Dataset;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Bytes per replicate that summarising holds: every value and standard error gathered from
/// the shards, the valid values sorted, and the studentized pivots.
pub(crate) const SUMMARY_BYTES: u64 = 4 * 8;

/// Refuses a run whose `reps` replicates, at `per_replicate` bytes each (what the kernel returns
/// plus [`SUMMARY_BYTES`]), would not fit in the available memory; the error names
/// `resamples` and says how many would fit.
pub(crate) fn check_memory(reps: u64, per_replicate: u64) -> Result<()> {
    let per = per_replicate + SUMMARY_BYTES;
    let fit = crate::memory::available()
        .map(|b| format!("about {} would fit", b / per))
        .unwrap_or_else(|| "fewer would fit".into());
    crate::memory::check(
        "resamples",
        &format!("a bootstrap of {reps} resamples ({per} bytes per replicate)"),
        crate::memory::product(&[reps, per]),
        &format!(
            "use fewer resamples ({fit}), or compute them in shards (Bootstrap::shard) on several \
             machines and merge them (Bootstrap::combine)"
        ),
    )
}

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
/// studentized is asked for without a standard error; `undefined` names the cause when the
/// statistic is undefined in every resample (called only then; e.g. the design check of
/// resample 0's rows: an empty arm, a constant or collinear covariate).
pub(crate) fn summarize(
    reps: &Replicates,
    methods: &[IntervalMethod],
    level: f64,
    plan: &ResamplePlan,
    jackknife: &mut dyn FnMut() -> Vec<f64>,
    no_se: &str,
    undefined: &mut dyn FnMut() -> Option<String>,
) -> Result<Summary> {
    let mut warnings = Vec::new();
    let all = reps.values;
    let mut valid: Vec<f64> = all.iter().copied().filter(|v| v.is_finite()).collect();
    let invalid = all.len() - valid.len();
    if valid.is_empty() {
        let cause = undefined().unwrap_or_else(|| {
            format!(
                "it is {} on the original data, but no resample's rows define it",
                reps.estimate
            )
        });
        return Err(Error::param(
            "resamples",
            format!(
                "the statistic was undefined in all {} resamples: {cause}",
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
    if let Some(w) = few_resamples(valid.len() as u64, level, methods) {
        warnings.push(w);
    }
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

/// The rows of one replicate as a data set: each row repeated as often as it was drawn (its
/// weight rounded; a row with a fractional weight, Bayesian, appears once), for a statistic's
/// checks to say why the replicate is undefined.
pub(crate) fn drawn_rows(data: &Dataset, weights: &[f64]) -> Result<Dataset> {
    let reps: Vec<usize> = weights
        .iter()
        .map(|&w| {
            if w > 0.0 {
                (w.round() as usize).max(1)
            } else {
                0
            }
        })
        .collect();
    let mut out = Dataset::new();
    for name in data.names() {
        let col = data.column(name)?;
        let drawn = col
            .iter()
            .zip(&reps)
            .flat_map(|(&v, &k)| std::iter::repeat_n(v, k))
            .collect();
        out.push_column(name, drawn)?;
    }
    Ok(out)
}

/// The warning when `B` valid replicates are too few for `level`: each tail of an order-statistic
/// interval (percentile, basic, BCa, studentized) then holds `(B + 1)(1 − level)/2 < 10`
/// replicates, so its endpoints are extreme order statistics that move a lot from seed to seed.
pub(crate) fn few_resamples(b: u64, level: f64, methods: &[IntervalMethod]) -> Option<String> {
    let tail = (b as f64 + 1.0) * (1.0 - level) / 2.0;
    let ordered = methods.iter().any(|m| *m != IntervalMethod::Normal);
    if !ordered || tail >= 10.0 {
        return None;
    }
    // smallest B with (B + 1)(1 − level)/2 ≥ 10
    let need = (20.0 / (1.0 - level)).ceil() as u64 - 1;
    Some(format!(
        "too few resamples for level {level}: each tail of the interval holds (B + 1)(1 - level)/2 \
         = {tail:.2} of the B = {b} valid replicates (fewer than 10), so its endpoints are extreme \
         order statistics that vary a lot between seeds; use at least {need} resamples"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_resamples_for_the_level_are_flagged() {
        let p = [IntervalMethod::Percentile];
        // level 0.95: (B + 1) · 0.025 ≥ 10 from B = 399 on
        assert!(few_resamples(398, 0.95, &p)
            .unwrap()
            .contains("use at least 399"));
        assert!(few_resamples(399, 0.95, &p).is_none());
        // level 0.99: from B = 1999 on
        assert!(few_resamples(1998, 0.99, &p).is_some());
        assert!(few_resamples(1999, 0.99, &p).is_none());
        // the normal interval uses no order statistics
        assert!(few_resamples(10, 0.95, &[IntervalMethod::Normal]).is_none());
    }
}
