//! Overlap diagnostics of the inverse-probability-weighted estimators (IPW, Hájek, AIPW).
//!
//! With treatment `t ∈ {0, 1}` and propensity `e`, a treated unit weighs `1/e` and a control
//! unit `1/(1 − e)`. Per arm: the smallest and largest propensity, and Kish's effective sample
//! size `(Σw)² / Σw²` (the arm's size when every weight is equal, 1 when one unit carries all the
//! weight). Over both arms: the largest normalised weight `max w_i / Σ_{arm(i)} w` and the number
//! of units with a propensity outside `[0.01, 0.99]`.
//!
//! **Poor overlap** (a warning in the result) is any of: a propensity outside `[0.01, 0.99]`
//! (weights above 100); an arm whose effective sample size is below a tenth of its size; one unit
//! whose weight exceeds ten times its arm's mean weight (a normalised weight above `10 / n_arm`).
//! These thresholds follow common practice (Crump et al. 2009 trim at 0.1; Kish's effective size
//! as a share of n); they flag data whose interval rests on a few units, not a bias the interval
//! would account for.

use serde::Serialize;

/// One arm's overlap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ArmOverlap {
    /// Units in the arm.
    pub n: usize,
    /// Smallest propensity in the arm.
    pub min_propensity: f64,
    /// Largest propensity in the arm.
    pub max_propensity: f64,
    /// Kish's effective sample size of the arm's inverse-probability weights.
    pub effective_sample_size: f64,
    /// The arm's largest weight as a share of its total weight.
    pub max_normalized_weight: f64,
}

/// Overlap diagnostics of an IPW-family estimate (see the module docs).
///
/// ```
/// use ceteris::bootstrap::Overlap;
/// let t = [1.0, 1.0, 0.0, 0.0];
/// let e = [0.5, 0.5, 0.5, 0.5];
/// let o = Overlap::of(&t, &e);
/// assert_eq!(o.treated.effective_sample_size, 2.0);
/// assert_eq!(o.max_normalized_weight, 0.5);
/// assert_eq!(o.outside_01_99, 0);
/// assert!(o.poor().is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Overlap {
    /// Units with `t = 1` (weights `1/e`).
    pub treated: ArmOverlap,
    /// Units with `t = 0` (weights `1/(1 − e)`).
    pub control: ArmOverlap,
    /// The largest weight as a share of its arm's total weight.
    pub max_normalized_weight: f64,
    /// Units whose propensity lies outside `[0.01, 0.99]`.
    pub outside_01_99: usize,
}

/// Propensities outside `[LOW, 1 − LOW]` count as extreme.
const LOW: f64 = 0.01;
/// An arm whose effective sample size is below this share of its size is poorly overlapped.
const MIN_ESS_SHARE: f64 = 0.1;
/// A unit whose weight exceeds this multiple of its arm's mean weight is poor overlap.
const MAX_WEIGHT_RATIO: f64 = 10.0;

impl Overlap {
    /// The diagnostics of treatment `t` (0/1) and propensities `e` (in `(0, 1)`), row by row.
    pub fn of(t: &[f64], e: &[f64]) -> Overlap {
        let arm = |treated: bool| {
            let (mut n, mut lo, mut hi, mut s1, mut s2, mut wmax) =
                (0usize, f64::INFINITY, f64::NEG_INFINITY, 0.0, 0.0, 0.0f64);
            for (&ti, &ei) in t.iter().zip(e) {
                if (ti == 1.0) != treated {
                    continue;
                }
                let w = if treated { 1.0 / ei } else { 1.0 / (1.0 - ei) };
                n += 1;
                lo = lo.min(ei);
                hi = hi.max(ei);
                s1 += w;
                s2 += w * w;
                wmax = wmax.max(w);
            }
            let ess = if s2 > 0.0 { s1 * s1 / s2 } else { 0.0 };
            let share = if s1 > 0.0 { wmax / s1 } else { 0.0 };
            ArmOverlap {
                n,
                min_propensity: lo,
                max_propensity: hi,
                effective_sample_size: ess,
                max_normalized_weight: share,
            }
        };
        let (treated, control) = (arm(true), arm(false));
        Overlap {
            max_normalized_weight: treated
                .max_normalized_weight
                .max(control.max_normalized_weight),
            treated,
            control,
            outside_01_99: e
                .iter()
                .filter(|&&v| !(LOW..=1.0 - LOW).contains(&v))
                .count(),
        }
    }

    /// Why the overlap is poor (see the module docs), or `None`.
    ///
    /// ```
    /// use ceteris::bootstrap::Overlap;
    /// let o = Overlap::of(&[1.0, 0.0, 0.0], &[0.005, 0.5, 0.5]);
    /// assert!(o.poor().unwrap().contains("outside [0.01, 0.99]"));
    /// ```
    pub fn poor(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.outside_01_99 > 0 {
            why.push(format!(
                "{} units have a propensity outside [{LOW}, {}]",
                self.outside_01_99,
                1.0 - LOW
            ));
        }
        for (name, a) in [("treated", &self.treated), ("control", &self.control)] {
            if a.n > 0 && a.effective_sample_size < MIN_ESS_SHARE * a.n as f64 {
                why.push(format!(
                    "the {name} arm's effective sample size is {:.1} of {} units",
                    a.effective_sample_size, a.n
                ));
            }
            if a.max_normalized_weight * a.n as f64 > MAX_WEIGHT_RATIO {
                why.push(format!(
                    "one {name} unit carries {:.1}% of its arm's weight ({:.0} times the mean)",
                    100.0 * a.max_normalized_weight,
                    a.max_normalized_weight * a.n as f64
                ));
            }
        }
        (!why.is_empty()).then(|| {
            format!(
                "poor overlap: {}; the estimate and its interval rest on a few units (consider \
                 clipping or trimming the propensity)",
                why.join("; ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_forms() {
        // treated weights 1/0.2 = 5 and 1/0.5 = 2: ESS = 49 / 29, max share 5/7
        let t = [1.0, 1.0, 0.0, 0.0, 0.0];
        let e = [0.2, 0.5, 0.5, 0.75, 0.995];
        let o = Overlap::of(&t, &e);
        assert_eq!(o.treated.n, 2);
        assert!((o.treated.effective_sample_size - 49.0 / 29.0).abs() < 1e-12);
        assert_eq!(
            (o.treated.min_propensity, o.treated.max_propensity),
            (0.2, 0.5)
        );
        // control weights 2, 4, 200: ESS = 206² / 40020
        assert!((o.control.effective_sample_size - 206.0 * 206.0 / 40020.0).abs() < 1e-9);
        assert!((o.max_normalized_weight - 200.0 / 206.0).abs() < 1e-12);
        assert_eq!(o.outside_01_99, 1);
        assert!((o.control.max_normalized_weight - 200.0 / 206.0).abs() < 1e-12);
        let why = o.poor().unwrap();
        assert!(why.contains("1 units have a propensity outside"), "{why}");
        // three control units: an effective size of 1.03 is above a tenth of 3, and 97% of the
        // weight is 2.9 times the mean share, below the ratio of 10
        assert!(!why.contains("effective sample size"), "{why}");
        assert!(!why.contains("times the mean"), "{why}");
        // one weight among many: 40 control units, one of propensity 0.98 (weight 50)
        let t = vec![0.0; 40];
        let mut e = vec![0.5; 40];
        e[0] = 0.98;
        let why = Overlap::of(&t, &e).poor().unwrap();
        assert!(
            why.contains("times the mean") && !why.contains("outside"),
            "{why}"
        );
    }

    #[test]
    fn balanced_data_is_not_flagged() {
        let n = 400;
        let t: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let e: Vec<f64> = (0..n).map(|i| 0.3 + 0.4 * (i as f64 / n as f64)).collect();
        let o = Overlap::of(&t, &e);
        assert!(o.poor().is_none(), "{:?}", o.poor());
        assert!(o.treated.effective_sample_size > 0.9 * 200.0);
    }
}
