//! Confidence intervals from bootstrap replicates: the five methods of [`IntervalMethod`] as
//! public functions, so replicates computed elsewhere get the same numbers as a [`Bootstrap`]
//! run (`alpha` is one minus the level, computed as `1.0 - level` for the run's exact numbers;
//! "sorted" means ascending, non-finite values removed).
//!
//! ```
//! use ceteris::bootstrap::intervals;
//! let mut reps: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 / 1000.0).collect();
//! reps.sort_by(f64::total_cmp);
//! let [lo, hi] = intervals::percentile(&reps, 0.05);
//! assert!((lo - 0.024975).abs() < 1e-12 && (hi - 0.974025).abs() < 1e-12);
//! ```
//!
//! [`Bootstrap`]: crate::Bootstrap
//!
//! Conventions (chosen to match `scipy.stats.bootstrap` where it has the method, and R's `boot` for
//! the normal and studentized intervals):
//! * quantiles of the replicates use linear interpolation between order statistics (type 7, numpy's
//!   default): `h = (B − 1) p`, `v[⌊h⌋] + (h − ⌊h⌋)(v[⌊h⌋+1] − v[⌊h⌋])`;
//! * percentile: `[q(α/2), q(1 − α/2)]`; basic: `[2θ̂ − q(1 − α/2), 2θ̂ − q(α/2)]`;
//! * normal (R `boot.ci(type = "norm")`): `θ̂ − bias ± z σ*`, bias `= mean(θ*) − θ̂`, σ* the
//!   replicates' standard deviation with ddof = 1;
//! * BCa: `z0 = Φ⁻¹((#{θ* < θ̂} + #{θ* ≤ θ̂}) / 2B)` (ties count one half, as scipy), acceleration
//!   from the leave-one-unit-out jackknife (units are rows, or clusters under cluster resampling),
//!   then the percentile interval at `Φ(z0 + (z0 + z)/(1 − a(z0 + z)))` for
//!   `z = z_{α/2}, z_{1−α/2}`. The acceleration is Efron & Tibshirani's eq. 15.36, as
//!   `scipy.stats.bootstrap` computes it for several independent samples: with the units in
//!   groups `k` of `n_k` units (the strata of the stratified scheme, each resampled on its own;
//!   one group holding every unit under any other scheme), `U_ki = (n_k − 1)(θ̄_k − θ₍ᵢ₎)` with
//!   `θ̄_k` the mean of group `k`'s jackknife values, and
//!   `a = Σ_k Σ_i U_ki³ / n_k³ / (6 (Σ_k Σ_i U_ki² / n_k²)^{3/2})`. With one group this is the
//!   usual `Σ(θ̄ − θ₍ᵢ₎)³ / (6 (Σ(θ̄ − θ₍ᵢ₎)²)^{3/2})` (iid, cluster, block and weight schemes: the
//!   data are one sample);
//! * studentized (bootstrap-t): `t* = (θ* − θ̂)/se*`, interval `[θ̂ − se q_t(1 − α/2), θ̂ − se q_t(α/2)]`
//!   with `se` the analytic standard error on the original data (as R's `boot.ci`).
//!
//! Degenerate cases never produce an unexplained NaN: when every replicate is equal, every interval
//! is the zero-width interval at that value and a warning says so; when `z0` is infinite (every
//! replicate on one side of θ̂) the BCa interval collapses onto the extreme replicate, with a warning;
//! when the jackknife values are all equal the acceleration is 0, with a warning.

use crate::stats::quantile_sorted;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

/// An interval method.
///
/// ```
/// use ceteris::IntervalMethod;
/// assert_eq!("bca".parse::<IntervalMethod>().unwrap(), IntervalMethod::Bca);
/// assert_eq!(IntervalMethod::Bca.name(), "bca");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum IntervalMethod {
    /// Percentile.
    Percentile,
    /// Basic (reverse percentile).
    Basic,
    /// Bias-corrected normal (R's `norm`).
    Normal,
    /// Bias-corrected and accelerated.
    Bca,
    /// Bootstrap-t.
    Studentized,
}

impl IntervalMethod {
    /// All methods.
    pub const ALL: [IntervalMethod; 5] = [
        IntervalMethod::Percentile,
        IntervalMethod::Basic,
        IntervalMethod::Normal,
        IntervalMethod::Bca,
        IntervalMethod::Studentized,
    ];

    /// The CLI spelling.
    pub fn name(self) -> &'static str {
        match self {
            IntervalMethod::Percentile => "percentile",
            IntervalMethod::Basic => "basic",
            IntervalMethod::Normal => "normal",
            IntervalMethod::Bca => "bca",
            IntervalMethod::Studentized => "studentized",
        }
    }
}

impl std::str::FromStr for IntervalMethod {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        IntervalMethod::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                crate::Error::param(
                    "method",
                    format!("unknown interval method `{s}` (percentile, basic, normal, bca, studentized)"),
                )
            })
    }
}

fn std_normal() -> Normal {
    Normal::standard()
}

/// Percentile interval `[q(α/2), q(1 − α/2)]` from replicates sorted ascending (type-7
/// quantiles); `alpha` is one minus the level (0.05 for a 95% interval).
///
/// ```
/// use ceteris::bootstrap::intervals::percentile;
/// let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
/// assert_eq!(percentile(&sorted, 0.5), [2.0, 4.0]);
/// ```
pub fn percentile(sorted: &[f64], alpha: f64) -> [f64; 2] {
    [
        quantile_sorted(sorted, alpha / 2.0),
        quantile_sorted(sorted, 1.0 - alpha / 2.0),
    ]
}

/// Basic (reverse percentile) interval `[2θ̂ − q(1 − α/2), 2θ̂ − q(α/2)]` from replicates sorted
/// ascending and the estimate `θ̂` on the original data.
///
/// ```
/// use ceteris::bootstrap::intervals::basic;
/// let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
/// assert_eq!(basic(&sorted, 2.5, 0.5), [1.0, 3.0]);
/// ```
pub fn basic(sorted: &[f64], estimate: f64, alpha: f64) -> [f64; 2] {
    let [lo, hi] = percentile(sorted, alpha);
    [2.0 * estimate - hi, 2.0 * estimate - lo]
}

/// Mean and standard deviation (ddof = 1) of the replicates: the bootstrap standard error is
/// the second, the bias the first minus the estimate.
///
/// ```
/// use ceteris::bootstrap::intervals::mean_sd;
/// let (m, sd) = mean_sd(&[1.0, 2.0, 3.0]);
/// assert_eq!((m, sd), (2.0, 1.0));
/// ```
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let b = v.len() as f64;
    let m = v.iter().sum::<f64>() / b;
    let ss = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    (
        m,
        if v.len() > 1 {
            (ss / (b - 1.0)).sqrt()
        } else {
            0.0
        },
    )
}

/// R's bias-corrected normal interval `θ̂ − bias ± z σ*` (`boot.ci(type = "norm")`): bias the
/// replicates' mean minus `θ̂`, `σ*` their standard deviation (ddof = 1). The replicates need not
/// be sorted.
///
/// ```
/// use ceteris::bootstrap::intervals::normal;
/// let [lo, hi] = normal(&[1.0, 2.0, 3.0, 4.0, 5.0], 3.0, 0.05);
/// let half = 1.959963984540054 * 2.5f64.sqrt();
/// assert!((lo - (3.0 - half)).abs() < 1e-12 && (hi - (3.0 + half)).abs() < 1e-12);
/// ```
pub fn normal(sorted: &[f64], estimate: f64, alpha: f64) -> [f64; 2] {
    let (m, sd) = mean_sd(sorted);
    let z = std_normal().inverse_cdf(1.0 - alpha / 2.0);
    let centre = 2.0 * estimate - m;
    [centre - z * sd, centre + z * sd]
}

/// BCa details.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct BcaDetails {
    /// Bias-correction `z0`.
    pub z0: f64,
    /// Acceleration.
    pub acceleration: f64,
    /// Percentile levels actually used.
    pub levels: [f64; 2],
}

/// BCa's acceleration from jackknife values in groups (`groups`: offsets of each group's first
/// value, then the count; `None` for one group), eq. 15.36 of Efron & Tibshirani (see the module
/// docs). `None` when every group's jackknife values are equal (the denominator vanishes).
///
/// ```
/// use ceteris::bootstrap::intervals::acceleration;
/// // symmetric jackknife values: no skew, no acceleration
/// assert_eq!(acceleration(&[1.0, 2.0, 3.0], None), Some(0.0));
/// assert_eq!(acceleration(&[2.0, 2.0], None), None);
/// // two groups (offsets 0, 3, 5): values 0..3 and 3..5
/// assert!(acceleration(&[1.0, 2.0, 4.0, 1.0, 3.0], Some(&[0, 3, 5])).unwrap() < 0.0);
/// ```
pub fn acceleration(jackknife: &[f64], groups: Option<&[u32]>) -> Option<f64> {
    let whole = [0, jackknife.len() as u32];
    let offsets = groups.unwrap_or(&whole);
    let (mut num, mut den) = (0.0, 0.0);
    for w in offsets.windows(2) {
        let g = &jackknife[w[0] as usize..w[1] as usize];
        if g.is_empty() {
            continue;
        }
        let n = g.len() as f64;
        let mean = g.iter().sum::<f64>() / n;
        let (mut n3, mut n2) = (0.0, 0.0);
        for &t in g {
            let u = (n - 1.0) * (mean - t);
            n3 += u * u * u;
            n2 += u * u;
        }
        num += n3 / (n * n * n);
        den += n2 / (n * n);
    }
    (den > 0.0).then(|| num / (6.0 * den.powf(1.5)))
}

/// BCa interval from replicates sorted ascending, the estimate, and the leave-one-unit-out
/// jackknife values of the statistic (one per unit, in unit order); `groups` gives the offsets of
/// each group's first jackknife value followed by their count (e.g. `[0, n0, n0 + n1]` for two
/// strata resampled separately), `None` for one sample — see [`acceleration`]. Warnings for
/// degenerate inputs (infinite `z0`, zero acceleration) are appended to `warnings`.
///
/// ```
/// use ceteris::bootstrap::intervals::bca;
/// let sorted: Vec<f64> = (0..101).map(|i| i as f64 / 100.0).collect();
/// let jack = [-1.0, 0.0, 1.0];
/// let mut warnings = Vec::new();
/// let (iv, details) = bca(&sorted, 0.5, &jack, None, 0.1, &mut warnings);
/// // symmetric replicates around the estimate, no acceleration: the percentile interval
/// assert!(details.z0.abs() < 1e-9 && details.acceleration == 0.0);
/// assert!((details.levels[0] - 0.05).abs() < 1e-9 && (details.levels[1] - 0.95).abs() < 1e-9);
/// assert!((iv[0] - 0.05).abs() < 1e-9 && (iv[1] - 0.95).abs() < 1e-9);
/// assert!(warnings.is_empty());
/// ```
pub fn bca(
    sorted: &[f64],
    estimate: f64,
    jackknife: &[f64],
    groups: Option<&[u32]>,
    alpha: f64,
    warnings: &mut Vec<String>,
) -> ([f64; 2], BcaDetails) {
    let b = sorted.len() as f64;
    let below = sorted.partition_point(|&v| v < estimate) as f64;
    let at_or_below = sorted.partition_point(|&v| v <= estimate) as f64;
    let prop = (below + at_or_below) / (2.0 * b);
    let nd = std_normal();
    let z0 = if prop <= 0.0 {
        f64::NEG_INFINITY
    } else if prop >= 1.0 {
        f64::INFINITY
    } else {
        nd.inverse_cdf(prop)
    };
    if z0.is_infinite() {
        warnings.push(format!(
            "bca: every replicate lies {} the estimate, so z0 is {}; the BCa interval collapses onto the {} replicate",
            if z0 < 0.0 { "above" } else { "below" },
            if z0 < 0.0 { "-inf" } else { "+inf" },
            if z0 < 0.0 { "smallest" } else { "largest" },
        ));
    }
    let acceleration = acceleration(jackknife, groups).unwrap_or_else(|| {
        warnings.push(
            "bca: all jackknife values are equal, so the acceleration is set to 0".to_string(),
        );
        0.0
    });
    let level = |z: f64| -> f64 {
        if z0.is_infinite() {
            return if z0 > 0.0 { 1.0 } else { 0.0 };
        }
        let s = z0 + z;
        nd.cdf(z0 + s / (1.0 - acceleration * s))
    };
    let levels = [
        level(nd.inverse_cdf(alpha / 2.0)),
        level(nd.inverse_cdf(1.0 - alpha / 2.0)),
    ];
    (
        [
            quantile_sorted(sorted, levels[0]),
            quantile_sorted(sorted, levels[1]),
        ],
        BcaDetails {
            z0,
            acceleration,
            levels,
        },
    )
}

/// Bootstrap-t interval `[θ̂ − se q_t(1 − α/2), θ̂ − se q_t(α/2)]` from the replicates'
/// t-statistics `t* = (θ* − θ̂)/se*` sorted ascending, the estimate `θ̂` and its standard error
/// `se` on the original data (as R's `boot.ci`).
///
/// ```
/// use ceteris::bootstrap::intervals::studentized;
/// let t = [-2.0, -1.0, 0.0, 1.0, 2.0];
/// assert_eq!(studentized(&t, 10.0, 0.5, 0.5), [9.5, 10.5]);
/// ```
pub fn studentized(sorted_t: &[f64], estimate: f64, se: f64, alpha: f64) -> [f64; 2] {
    [
        estimate - se * quantile_sorted(sorted_t, 1.0 - alpha / 2.0),
        estimate - se * quantile_sorted(sorted_t, alpha / 2.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type7_quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.5) - 2.5).abs() < 1e-15);
        assert!((quantile_sorted(&v, 0.25) - 1.75).abs() < 1e-15);
    }

    #[test]
    fn normal_interval_closed_form() {
        // mean 2, sd sqrt(2.5): centre 2*3 - 3 = 3, half width z * sd
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        let [lo, hi] = normal(&v, 3.0, 0.05);
        let hw = 1.959963984540054 * 2.5f64.sqrt();
        assert!((lo - (3.0 - hw)).abs() < 1e-12 && (hi - (3.0 + hw)).abs() < 1e-12);
    }

    #[test]
    fn degenerate_bca_is_explained() {
        let v = [2.0; 10];
        let mut w = Vec::new();
        let (iv, d) = bca(&v, 1.0, &[1.0, 1.0], None, 0.05, &mut w);
        assert_eq!(iv, [2.0, 2.0]);
        assert!(d.z0.is_infinite());
        assert_eq!(w.len(), 2, "{w:?}");
    }

    /// Interval formulas against scipy 1.17.1 on fixed replicates and jackknife values
    /// (tests/reference/make_bootstrap_reference.py): the same inputs must give the same numbers.
    #[test]
    fn scipy_interval_formulas() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/reference/bootstrap_reference.json"
        ))
        .unwrap();
        let cases = doc["interval_cases"].as_array().unwrap();
        assert!(cases.len() >= 4);
        let vec = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let mut reps = vec(&case["replicates"]);
            reps.sort_by(f64::total_cmp);
            let jack = vec(&case["jackknife"]);
            let est = case["estimate"].as_f64().unwrap();
            let alpha = 1.0 - case["level"].as_f64().unwrap();
            let close = |a: [f64; 2], b: Vec<f64>, what: &str| {
                for i in 0..2 {
                    assert!(
                        (a[i] - b[i]).abs() <= 1e-9 * (1.0 + b[i].abs()),
                        "{name} {what}: {a:?} vs {b:?}"
                    );
                }
            };
            close(
                percentile(&reps, alpha),
                vec(&case["percentile"]),
                "percentile",
            );
            close(basic(&reps, est, alpha), vec(&case["basic"]), "basic");
            let mut w = Vec::new();
            let (iv, d) = bca(&reps, est, &jack, None, alpha, &mut w);
            assert!(w.is_empty(), "{w:?}");
            assert!(
                (d.z0 - case["bca_z0"].as_f64().unwrap()).abs() < 1e-9,
                "{name} z0"
            );
            assert!(
                (d.acceleration - case["bca_accel"].as_f64().unwrap()).abs() < 1e-9,
                "{name} a"
            );
            close(d.levels, vec(&case["bca_alpha"]), "bca levels");
            close(iv, vec(&case["bca"]), "bca");
        }
    }
}
