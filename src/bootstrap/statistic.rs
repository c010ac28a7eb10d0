//! Statistics, and how each becomes per-row features whose weighted sums a device can compute.
//!
//! Every statistic except the quantile is a smooth function of weighted sums of per-row features:
//! the device computes the sums of each resample and the host finishes in f64 ([`SumKind::finish`]).
//! Features are centred on the full-sample means in f64 before they are cast to f32 for the GPU,
//! so the f32 sums carry deviations, not raw magnitudes. The finisher also receives the resample
//! size (the total weight of the drawn rows) as its last sum.

use crate::data::Dataset;
use crate::error::{Error, Result};
use faer::linalg::solvers::DenseSolveCore;
use faer::Mat;

/// A statistic to bootstrap, by column names.
///
/// ```
/// use ceteris::Statistic;
/// let s = Statistic::parse("quantile:0.9", &["x".to_string()], &Default::default()).unwrap();
/// assert_eq!(s, Statistic::Quantile { column: "x".into(), q: 0.9 });
/// assert_eq!(s.name(), "quantile:0.9");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Statistic {
    /// Sample mean.
    Mean {
        /// Column.
        column: String,
    },
    /// Sample variance (ddof = 1).
    Variance {
        /// Column.
        column: String,
    },
    /// Sample standard deviation (ddof = 1).
    Std {
        /// Column.
        column: String,
    },
    /// Type-7 (linear interpolation) quantile; the median is `q = 0.5`.
    Quantile {
        /// Column.
        column: String,
        /// Probability in [0, 1].
        q: f64,
    },
    /// `Σ w x / Σ w` with non-negative weights.
    WeightedMean {
        /// Values.
        column: String,
        /// Weights (≥ 0, positive total).
        weights: String,
    },
    /// Mean outcome of arm 1 minus mean outcome of arm 0 (treatment coded 0/1).
    DiffMeans {
        /// Treatment column (0/1).
        treatment: String,
        /// Outcome column.
        outcome: String,
    },
    /// `mean(numerator) / mean(denominator)`.
    RatioMeans {
        /// Numerator column.
        numerator: String,
        /// Denominator column.
        denominator: String,
    },
    /// Pearson correlation.
    Corr {
        /// First column.
        x: String,
        /// Second column.
        y: String,
    },
    /// One coefficient of the least-squares fit `outcome ~ 1 + covariates` (pairs bootstrap).
    Ols {
        /// Response.
        outcome: String,
        /// Covariates.
        covariates: Vec<String>,
        /// `"intercept"` or one of the covariates.
        coefficient: String,
    },
    /// Horvitz–Thompson IPW ATE: `mean(T Y / e − (1 − T) Y / (1 − e))`.
    Ipw {
        /// Treatment (0/1).
        treatment: String,
        /// Outcome.
        outcome: String,
        /// Propensity in (0, 1).
        propensity: String,
    },
    /// Hájek (normalised IPW) ATE.
    Hajek {
        /// Treatment (0/1).
        treatment: String,
        /// Outcome.
        outcome: String,
        /// Propensity in (0, 1).
        propensity: String,
    },
    /// Augmented IPW ATE: `mean(μ1 − μ0 + T (Y − μ1)/e − (1 − T)(Y − μ0)/(1 − e))`.
    Aipw {
        /// Treatment (0/1).
        treatment: String,
        /// Outcome.
        outcome: String,
        /// Propensity in (0, 1).
        propensity: String,
        /// Outcome prediction under control.
        mu0: String,
        /// Outcome prediction under treatment.
        mu1: String,
    },
    /// Doubly robust (augmented IPW) effect on the treated with fixed nuisance columns:
    /// `Σ [T (Y − μ0) − (1 − T) e/(1 − e) (Y − μ0)] / Σ T` (Moodie, Saarela & Stephens 2018;
    /// both terms normalised by the treated count, see `EffectBootstrap`'s module docs), a
    /// ratio of means with the delta-method standard error of `ratio-means`.
    AipwAtt {
        /// Treatment (0/1).
        treatment: String,
        /// Outcome.
        outcome: String,
        /// Propensity in (0, 1).
        propensity: String,
        /// Outcome prediction under control.
        mu0: String,
    },
}

/// Column roles for [`Statistic::parse`] (the CLI's flags).
#[derive(Clone, Debug, Default)]
pub struct Roles {
    /// `--weights`.
    pub weights: Option<String>,
    /// `--treatment`.
    pub treatment: Option<String>,
    /// `--outcome`.
    pub outcome: Option<String>,
    /// `--propensity`.
    pub propensity: Option<String>,
    /// `--mu0`.
    pub mu0: Option<String>,
    /// `--mu1`.
    pub mu1: Option<String>,
    /// `--covariates`.
    pub covariates: Vec<String>,
}

fn need(role: &Option<String>, flag: &str, stat: &str) -> Result<String> {
    role.clone()
        .ok_or_else(|| Error::param(flag, format!("statistic `{stat}` needs --{flag}")))
}

impl Statistic {
    /// Parses the CLI spelling (`mean var std median quantile:Q weighted-mean diff-means
    /// ratio-means corr ols:NAME ipw hajek aipw aipw-att`), with `columns` the `--column`/`--columns` list.
    pub fn parse(spec: &str, columns: &[String], roles: &Roles) -> Result<Self> {
        let one = || -> Result<String> {
            match columns {
                [c] => Ok(c.clone()),
                _ => Err(Error::param(
                    "column",
                    format!("statistic `{spec}` needs exactly one --column"),
                )),
            }
        };
        let two = || -> Result<(String, String)> {
            match columns {
                [a, b] => Ok((a.clone(), b.clone())),
                _ => Err(Error::param(
                    "columns",
                    format!("statistic `{spec}` needs --columns a,b"),
                )),
            }
        };
        let (head, arg) = match spec.split_once(':') {
            Some((h, a)) => (h, Some(a)),
            None => (spec, None),
        };
        let stat = match (head, arg) {
            ("mean", None) => Statistic::Mean { column: one()? },
            ("var", None) => Statistic::Variance { column: one()? },
            ("std", None) => Statistic::Std { column: one()? },
            ("median", None) => Statistic::Quantile {
                column: one()?,
                q: 0.5,
            },
            ("quantile", Some(q)) => Statistic::Quantile {
                column: one()?,
                q: q.parse()
                    .map_err(|_| Error::param("statistic", format!("`{q}` is not a number")))?,
            },
            ("weighted-mean", None) => Statistic::WeightedMean {
                column: one()?,
                weights: need(&roles.weights, "weights", spec)?,
            },
            ("diff-means", None) => Statistic::DiffMeans {
                treatment: need(&roles.treatment, "treatment", spec)?,
                outcome: need(&roles.outcome, "outcome", spec)?,
            },
            ("ratio-means", None) => {
                let (numerator, denominator) = two()?;
                Statistic::RatioMeans {
                    numerator,
                    denominator,
                }
            }
            ("corr", None) => {
                let (x, y) = two()?;
                Statistic::Corr { x, y }
            }
            ("ols", Some(name)) => {
                if roles.covariates.is_empty() {
                    return Err(Error::param("covariates", "ols needs --covariates a,b"));
                }
                Statistic::Ols {
                    outcome: need(&roles.outcome, "outcome", spec)?,
                    covariates: roles.covariates.clone(),
                    coefficient: name.to_string(),
                }
            }
            ("ipw", None) | ("hajek", None) | ("aipw", None) | ("aipw-att", None) => {
                let treatment = need(&roles.treatment, "treatment", spec)?;
                let outcome = need(&roles.outcome, "outcome", spec)?;
                let propensity = need(&roles.propensity, "propensity", spec)?;
                match head {
                    "ipw" => Statistic::Ipw {
                        treatment,
                        outcome,
                        propensity,
                    },
                    "hajek" => Statistic::Hajek {
                        treatment,
                        outcome,
                        propensity,
                    },
                    "aipw-att" => Statistic::AipwAtt {
                        treatment,
                        outcome,
                        propensity,
                        mu0: need(&roles.mu0, "mu0", spec)?,
                    },
                    _ => Statistic::Aipw {
                        treatment,
                        outcome,
                        propensity,
                        mu0: need(&roles.mu0, "mu0", spec)?,
                        mu1: need(&roles.mu1, "mu1", spec)?,
                    },
                }
            }
            _ => {
                return Err(Error::param(
                    "statistic",
                    format!(
                        "unknown statistic `{spec}` (expected mean, var, std, median, quantile:Q, \
                         weighted-mean, diff-means, ratio-means, corr, ols:NAME, ipw, hajek, aipw, \
                         aipw-att)"
                    ),
                ))
            }
        };
        stat.refuse_unused(columns, roles)?;
        Ok(stat)
    }

    /// An error naming the first flag the statistic would ignore: a column list it does not
    /// read, or a role (`--weights`, `--treatment`, ...) it has no use for.
    fn refuse_unused(&self, columns: &[String], roles: &Roles) -> Result<()> {
        let (uses_columns, used): (bool, &[&str]) = match self {
            Statistic::Mean { .. }
            | Statistic::Variance { .. }
            | Statistic::Std { .. }
            | Statistic::Quantile { .. }
            | Statistic::RatioMeans { .. }
            | Statistic::Corr { .. } => (true, &[]),
            Statistic::WeightedMean { .. } => (true, &["weights"]),
            Statistic::DiffMeans { .. } => (false, &["treatment", "outcome"]),
            Statistic::Ols { .. } => (false, &["outcome", "covariates"]),
            Statistic::Ipw { .. } | Statistic::Hajek { .. } => {
                (false, &["treatment", "outcome", "propensity"])
            }
            Statistic::Aipw { .. } => {
                (false, &["treatment", "outcome", "propensity", "mu0", "mu1"])
            }
            Statistic::AipwAtt { .. } => (false, &["treatment", "outcome", "propensity", "mu0"]),
        };
        let name = self.name();
        if !uses_columns && !columns.is_empty() {
            return Err(Error::param(
                "column",
                format!("statistic `{name}` reads no --column/--columns (it would ignore them)"),
            ));
        }
        let given = [
            ("weights", roles.weights.is_some()),
            ("treatment", roles.treatment.is_some()),
            ("outcome", roles.outcome.is_some()),
            ("propensity", roles.propensity.is_some()),
            ("mu0", roles.mu0.is_some()),
            ("mu1", roles.mu1.is_some()),
            ("covariates", !roles.covariates.is_empty()),
        ];
        match given
            .iter()
            .find(|(flag, set)| *set && !used.contains(flag))
        {
            Some((flag, _)) => Err(Error::param(
                *flag,
                format!("statistic `{name}` does not use --{flag} (it would ignore it)"),
            )),
            None => Ok(()),
        }
    }

    /// The CLI spelling.
    pub fn name(&self) -> String {
        match self {
            Statistic::Mean { .. } => "mean".into(),
            Statistic::Variance { .. } => "var".into(),
            Statistic::Std { .. } => "std".into(),
            Statistic::Quantile { q, .. } if *q == 0.5 => "median".into(),
            Statistic::Quantile { q, .. } => format!("quantile:{q}"),
            Statistic::WeightedMean { .. } => "weighted-mean".into(),
            Statistic::DiffMeans { .. } => "diff-means".into(),
            Statistic::RatioMeans { .. } => "ratio-means".into(),
            Statistic::Corr { .. } => "corr".into(),
            Statistic::Ols { coefficient, .. } => format!("ols:{coefficient}"),
            Statistic::Ipw { .. } => "ipw".into(),
            Statistic::Hajek { .. } => "hajek".into(),
            Statistic::Aipw { .. } => "aipw".into(),
            Statistic::AipwAtt { .. } => "aipw-att".into(),
        }
    }

    /// The treatment and propensity columns of `ipw`, `hajek`, `aipw` and `aipw-att` (`None`
    /// otherwise).
    pub(crate) fn propensity(&self) -> Option<(&str, &str)> {
        match self {
            Statistic::Ipw {
                treatment,
                propensity,
                ..
            }
            | Statistic::Hajek {
                treatment,
                propensity,
                ..
            }
            | Statistic::Aipw {
                treatment,
                propensity,
                ..
            }
            | Statistic::AipwAtt {
                treatment,
                propensity,
                ..
            } => Some((treatment, propensity)),
            _ => None,
        }
    }

    /// Validates the columns and builds per-row features (`with_se`: also those of the analytic
    /// standard error, which studentized intervals need).
    pub(crate) fn prepare(&self, data: &Dataset, with_se: bool) -> Result<Prepared> {
        if data.n_rows() == 0 {
            return Err(Error::EmptyData("the data set has no rows".into()));
        }
        let n = data.n_rows();
        Ok(match self {
            Statistic::Mean { column } => mean_features(col(data, column)?, with_se),
            Statistic::Variance { column } | Statistic::Std { column } => {
                let x = col(data, column)?;
                min_rows(n, 2, "the data")?;
                non_constant(x, column)?;
                let c = mean(x);
                let rows = x
                    .iter()
                    .map(|&v| {
                        let d = v - c;
                        [d, d * d, d * d * d, d * d * d * d]
                    })
                    .collect::<Vec<_>>();
                Prepared::sums(
                    SumKind::Variance {
                        std: matches!(self, Statistic::Std { .. }),
                    },
                    &rows,
                )
            }
            Statistic::Quantile { column, q } => {
                if !(0.0..=1.0).contains(q) {
                    return Err(Error::param(
                        "quantile",
                        format!("q = {q} is not in [0, 1]"),
                    ));
                }
                let x = col(data, column)?;
                let mut order: Vec<u32> = (0..n as u32).collect();
                order.sort_by(|&a, &b| x[a as usize].total_cmp(&x[b as usize]));
                let mut rank_of_row = vec![0u32; n];
                for (r, &row) in order.iter().enumerate() {
                    rank_of_row[row as usize] = r as u32;
                }
                let sorted = order.iter().map(|&r| x[r as usize]).collect();
                Prepared::Quantile(QuantileData {
                    q: *q,
                    sorted,
                    rank_of_row,
                })
            }
            Statistic::WeightedMean { column, weights } => {
                let x = col(data, column)?;
                let w = col(data, weights)?;
                if let Some(row) = w.iter().position(|&v| v < 0.0) {
                    return Err(Error::OutOfRange {
                        column: weights.clone(),
                        row,
                        value: w[row],
                        expected: "weights >= 0".into(),
                    });
                }
                let total: f64 = w.iter().sum();
                if total <= 0.0 {
                    return Err(Error::param(
                        "weights",
                        format!("column `{weights}` sums to 0"),
                    ));
                }
                let c = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / total;
                let rows = x
                    .iter()
                    .zip(w)
                    .map(|(&v, &wi)| {
                        let d = v - c;
                        [wi * d, wi, wi * wi, wi * wi * d, wi * wi * d * d]
                    })
                    .collect::<Vec<_>>();
                Prepared::sums(SumKind::WeightedMean { c }, &rows)
            }
            Statistic::DiffMeans { treatment, outcome } => {
                let t = binary(data, treatment)?;
                let y = col(data, outcome)?;
                arms(&t, treatment)?;
                let c = mean(y);
                let rows = t
                    .iter()
                    .zip(y)
                    .map(|(&ti, &yi)| {
                        let d = yi - c;
                        let u = 1.0 - ti;
                        [ti, ti * d, ti * d * d, u, u * d, u * d * d]
                    })
                    .collect::<Vec<_>>();
                Prepared::sums(SumKind::DiffMeans, &rows)
            }
            Statistic::RatioMeans {
                numerator,
                denominator,
            } => {
                let a = col(data, numerator)?;
                let b = col(data, denominator)?;
                let (ca, cb) = (mean(a), mean(b));
                if cb.abs() <= 1e-12 * b.iter().map(|v| v.abs()).fold(0.0, f64::max) || cb == 0.0 {
                    return Err(Error::param(
                        "columns",
                        format!("the mean of denominator `{denominator}` is zero"),
                    ));
                }
                let rows = a
                    .iter()
                    .zip(b)
                    .map(|(&ai, &bi)| {
                        let (da, db) = (ai - ca, bi - cb);
                        [da, db, da * da, db * db, da * db]
                    })
                    .collect::<Vec<_>>();
                Prepared::sums(SumKind::RatioMeans { ca, cb }, &rows)
            }
            Statistic::Corr { x, y } => {
                let xs = col(data, x)?;
                let ys = col(data, y)?;
                min_rows(n, 3, "the data")?;
                non_constant(xs, x)?;
                non_constant(ys, y)?;
                let (cx, cy) = (mean(xs), mean(ys));
                let rows = xs
                    .iter()
                    .zip(ys)
                    .map(|(&a, &b)| {
                        let (dx, dy) = (a - cx, b - cy);
                        [dx, dy, dx * dx, dy * dy, dx * dy]
                    })
                    .collect::<Vec<_>>();
                Prepared::sums(SumKind::Corr, &rows)
            }
            Statistic::Ols {
                outcome,
                covariates,
                coefficient,
            } => ols_features(data, outcome, covariates, coefficient)?,
            Statistic::Ipw {
                treatment,
                outcome,
                propensity,
            } => {
                let (t, y, e) = causal_columns(data, treatment, outcome, propensity)?;
                let psi: Vec<f64> = (0..n)
                    .map(|i| t[i] * y[i] / e[i] - (1.0 - t[i]) * y[i] / (1.0 - e[i]))
                    .collect();
                mean_features(&psi, with_se)
            }
            Statistic::Aipw {
                treatment,
                outcome,
                propensity,
                mu0,
                mu1,
            } => {
                let (t, y, e) = causal_columns(data, treatment, outcome, propensity)?;
                let m0 = col(data, mu0)?;
                let m1 = col(data, mu1)?;
                let psi: Vec<f64> = (0..n)
                    .map(|i| {
                        m1[i] - m0[i] + t[i] * (y[i] - m1[i]) / e[i]
                            - (1.0 - t[i]) * (y[i] - m0[i]) / (1.0 - e[i])
                    })
                    .collect();
                mean_features(&psi, with_se)
            }
            Statistic::AipwAtt {
                treatment,
                outcome,
                propensity,
                mu0,
            } => {
                let (t, y, e) = causal_columns(data, treatment, outcome, propensity)?;
                let m0 = col(data, mu0)?;
                // mean(ψ) / mean(t), ψ = t (y − μ0) − (1 − t) e/(1 − e) (y − μ0)
                let psi: Vec<f64> = (0..n)
                    .map(|i| {
                        let r = y[i] - m0[i];
                        t[i] * r - (1.0 - t[i]) * e[i] / (1.0 - e[i]) * r
                    })
                    .collect();
                let (ca, cb) = (mean(&psi), mean(&t));
                let rows = (0..n)
                    .map(|i| {
                        let (da, db) = (psi[i] - ca, t[i] - cb);
                        [da, db, da * da, db * db, da * db]
                    })
                    .collect::<Vec<_>>();
                Prepared::sums(SumKind::RatioMeans { ca, cb }, &rows)
            }
            Statistic::Hajek {
                treatment,
                outcome,
                propensity,
            } => {
                let (t, y, e) = causal_columns(data, treatment, outcome, propensity)?;
                let c = mean(y);
                let rows = (0..n)
                    .map(|i| {
                        let d = y[i] - c;
                        let a1 = t[i] / e[i];
                        let a0 = (1.0 - t[i]) / (1.0 - e[i]);
                        [
                            a1,
                            a1 * d,
                            a0,
                            a0 * d,
                            a1 * a1,
                            a1 * a1 * d,
                            a1 * a1 * d * d,
                            a0 * a0,
                            a0 * a0 * d,
                            a0 * a0 * d * d,
                        ]
                    })
                    .collect::<Vec<_>>();
                Prepared::sums(SumKind::Hajek, &rows)
            }
        })
    }
}

/// Largest magnitude accepted: fourth powers of deviations (variance standard errors) stay finite.
const MAX_MAGNITUDE: f64 = 1e75;

/// A finite column whose magnitudes keep sums of fourth powers representable: values within
/// ±1e75 and, unless constant, deviations of at least 1e-75 (otherwise squares underflow).
fn col<'a>(data: &'a Dataset, name: &str) -> Result<&'a [f64]> {
    let x = data.finite_column(name)?;
    let big = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let spread = hi - lo;
    if big > MAX_MAGNITUDE || (spread > 0.0 && spread < 1.0 / MAX_MAGNITUDE) {
        return Err(Error::param(
            name,
            format!(
                "column `{name}` has magnitude {big:e} and spread {spread:e}; supported values lie                  within ±1e75 with a spread of at least 1e-75: rescale the column"
            ),
        ));
    }
    Ok(x)
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn min_rows(n: usize, need: usize, what: &str) -> Result<()> {
    if n < need {
        return Err(Error::TooFewRows {
            what: what.into(),
            need,
            got: n,
        });
    }
    Ok(())
}

fn non_constant(x: &[f64], name: &str) -> Result<()> {
    if x.iter().all(|&v| v == x[0]) {
        return Err(Error::ConstantColumn(name.into()));
    }
    Ok(())
}

fn mean_features(x: &[f64], with_se: bool) -> Prepared {
    let c = mean(x);
    if with_se {
        let rows = x
            .iter()
            .map(|&v| [v - c, (v - c) * (v - c)])
            .collect::<Vec<_>>();
        Prepared::sums(SumKind::Mean { c, se: true }, &rows)
    } else {
        let rows = x.iter().map(|&v| [v - c]).collect::<Vec<_>>();
        Prepared::sums(SumKind::Mean { c, se: false }, &rows)
    }
}

fn binary(data: &Dataset, name: &str) -> Result<Vec<f64>> {
    let t = col(data, name)?;
    if let Some(row) = t.iter().position(|&v| v != 0.0 && v != 1.0) {
        return Err(Error::OutOfRange {
            column: name.into(),
            row,
            value: t[row],
            expected: "treatment coded 0 or 1".into(),
        });
    }
    Ok(t.to_vec())
}

fn arms(t: &[f64], name: &str) -> Result<()> {
    let n1 = t.iter().filter(|&&v| v == 1.0).count();
    let n0 = t.len() - n1;
    for (arm, count) in [(1, n1), (0, n0)] {
        if count < 2 {
            return Err(Error::TooFewRows {
                what: format!("arm {name} = {arm}"),
                need: 2,
                got: count,
            });
        }
    }
    Ok(())
}

fn causal_columns<'a>(
    data: &'a Dataset,
    treatment: &str,
    outcome: &str,
    propensity: &str,
) -> Result<(Vec<f64>, &'a [f64], &'a [f64])> {
    let t = binary(data, treatment)?;
    arms(&t, treatment)?;
    let y = col(data, outcome)?;
    let e = col(data, propensity)?;
    if let Some(row) = e.iter().position(|&v| v <= 0.0 || v >= 1.0) {
        return Err(Error::OutOfRange {
            column: propensity.into(),
            row,
            value: e[row],
            expected: "propensity strictly between 0 and 1".into(),
        });
    }
    Ok((t, y, e))
}

fn ols_features(
    data: &Dataset,
    outcome: &str,
    covariates: &[String],
    coefficient: &str,
) -> Result<Prepared> {
    let p = covariates.len();
    if p == 0 {
        return Err(Error::param(
            "covariates",
            "at least one covariate is needed",
        ));
    }
    let coef = if coefficient == "intercept" {
        0
    } else {
        1 + covariates
            .iter()
            .position(|c| c == coefficient)
            .ok_or_else(|| {
                Error::param(
                    "statistic",
                    format!(
                        "ols coefficient `{coefficient}` is neither `intercept` nor a covariate ({})",
                        covariates.join(", ")
                    ),
                )
            })?
    };
    let y = col(data, outcome)?;
    let xs = covariates
        .iter()
        .map(|c| col(data, c))
        .collect::<Result<Vec<_>>>()?;
    let n = y.len();
    min_rows(
        n,
        p + 2,
        "the data (ols needs more rows than coefficients + 1)",
    )?;
    for (x, name) in xs.iter().zip(covariates) {
        non_constant(x, name)?;
    }
    let cx: Vec<f64> = xs.iter().map(|x| mean(x)).collect();
    let cy = mean(y);
    let kind = SumKind::Ols {
        p,
        coef,
        cx: cx.clone(),
        cy,
    };
    let k = kind.k();
    let mut features = Vec::with_capacity(n * k);
    let mut dx = vec![0.0; p];
    for i in 0..n {
        for j in 0..p {
            dx[j] = xs[j][i] - cx[j];
        }
        let dy = y[i] - cy;
        features.extend_from_slice(&dx);
        features.push(dy);
        for j in 0..p {
            for l in j..p {
                features.push(dx[j] * dx[l]);
            }
        }
        for &d in &dx {
            features.push(d * dy);
        }
        features.push(dy * dy);
    }
    let prepared = Prepared::Sums(SumData { kind, k, features });
    if let Prepared::Sums(s) = &prepared {
        let total = s.total();
        if !s.kind.finish(&total).0.is_finite() {
            return Err(Error::param(
                "covariates",
                format!("the covariates {} are collinear", covariates.join(", ")),
            ));
        }
    }
    Ok(prepared)
}

/// A statistic ready to resample.
#[derive(Clone, Debug)]
pub(crate) enum Prepared {
    Sums(SumData),
    Quantile(QuantileData),
}

/// Per-row features (row-major, `k` per row). The sums handed to [`SumKind::finish`] have one
/// more entry, last: the total weight (resample size).
#[derive(Clone, Debug)]
pub(crate) struct SumData {
    pub kind: SumKind,
    pub k: usize,
    pub features: Vec<f64>,
}

impl SumData {
    /// Feature sums over all rows (weight 1 each), with the row count appended.
    pub fn total(&self) -> Vec<f64> {
        let mut s = vec![0.0; self.k + 1];
        for row in self.features.chunks_exact(self.k) {
            for (a, v) in s.iter_mut().zip(row) {
                *a += v;
            }
        }
        s[self.k] = (self.features.len() / self.k) as f64;
        s
    }
}

/// Sorted values for the quantile statistic.
#[derive(Clone, Debug)]
pub(crate) struct QuantileData {
    pub q: f64,
    pub sorted: Vec<f64>,
    pub rank_of_row: Vec<u32>,
}

impl Prepared {
    fn sums<const K: usize>(kind: SumKind, rows: &[[f64; K]]) -> Prepared {
        let k = K;
        let mut features = Vec::with_capacity(rows.len() * k);
        for r in rows {
            features.extend_from_slice(r);
        }
        debug_assert_eq!(k, kind.k());
        Prepared::Sums(SumData { kind, k, features })
    }
}

/// Type-7 quantile of sorted values `v` with (possibly fractional) position `h = (m-1) q`.
pub(crate) fn interpolate(v1: f64, v2: f64, h: f64) -> f64 {
    v1 + (h - h.floor()) * (v2 - v1)
}

/// How to turn sums into the statistic (and its analytic standard error, NaN when none exists).
#[derive(Clone, Debug)]
pub(crate) enum SumKind {
    Mean {
        c: f64,
        se: bool,
    },
    Variance {
        std: bool,
    },
    WeightedMean {
        c: f64,
    },
    DiffMeans,
    RatioMeans {
        ca: f64,
        cb: f64,
    },
    Corr,
    Ols {
        p: usize,
        coef: usize,
        cx: Vec<f64>,
        cy: f64,
    },
    Hajek,
}

impl SumKind {
    /// Number of per-row features (the resample size is summed separately).
    pub fn k(&self) -> usize {
        match self {
            SumKind::Mean { se, .. } => 1 + *se as usize,
            SumKind::Variance { .. } => 4,
            SumKind::WeightedMean { .. } => 5,
            SumKind::DiffMeans => 6,
            SumKind::RatioMeans { .. } | SumKind::Corr => 5,
            SumKind::Ols { p, .. } => 2 * p + 2 + p * (p + 1) / 2,
            SumKind::Hajek => 10,
        }
    }

    /// `(statistic, analytic standard error)` from feature sums; NaN when undefined
    /// (e.g. an empty arm in a resample).
    pub fn finish(&self, s: &[f64]) -> (f64, f64) {
        let n = s[s.len() - 1];
        let nan = (f64::NAN, f64::NAN);
        match self {
            SumKind::Mean { c, se } => {
                if n <= 0.0 {
                    return nan;
                }
                let m = s[0] / n;
                if !se {
                    return (c + m, f64::NAN);
                }
                let var = (s[1] - n * m * m) / (n - 1.0);
                (c + m, (var.max(0.0) / n).sqrt())
            }
            SumKind::Variance { std } => {
                if n <= 1.0 {
                    return nan;
                }
                let m = s[0] / n;
                let m2 = (s[1] / n - m * m).max(0.0);
                let mu4 = s[3] / n - 4.0 * m * s[2] / n + 6.0 * m * m * s[1] / n - 3.0 * m.powi(4);
                let var = m2 * n / (n - 1.0);
                let se_var = ((mu4 - m2 * m2).max(0.0) / n).sqrt();
                if *std {
                    let sd = var.sqrt();
                    (
                        sd,
                        if sd > 0.0 {
                            se_var / (2.0 * sd)
                        } else {
                            f64::NAN
                        },
                    )
                } else {
                    (var, se_var)
                }
            }
            SumKind::WeightedMean { c } => {
                let (sw, swd) = (s[1], s[0]);
                if sw <= 0.0 {
                    return nan;
                }
                let m = swd / sw;
                let ss = (s[4] - 2.0 * m * s[3] + m * m * s[2]).max(0.0);
                (c + m, ss.sqrt() / sw)
            }
            SumKind::DiffMeans => {
                let arm = |n: f64, s1: f64, s2: f64| {
                    let m = s1 / n;
                    (m, (s2 - n * m * m).max(0.0) / (n - 1.0))
                };
                let (n1, n0) = (s[0], s[3]);
                if n1 <= 0.0 || n0 <= 0.0 {
                    return nan;
                }
                let (m1, v1) = arm(n1, s[1], s[2]);
                let (m0, v0) = arm(n0, s[4], s[5]);
                (m1 - m0, (v1 / n1 + v0 / n0).sqrt())
            }
            SumKind::RatioMeans { ca, cb } => {
                if n <= 0.0 {
                    return nan;
                }
                let (ma, mb) = (s[0] / n, s[1] / n);
                let (abar, bbar) = (ca + ma, cb + mb);
                if bbar == 0.0 {
                    return nan;
                }
                let r = abar / bbar;
                let saa = s[2] - n * ma * ma;
                let sbb = s[3] - n * mb * mb;
                let sab = s[4] - n * ma * mb;
                let var_u = (saa - 2.0 * r * sab + r * r * sbb).max(0.0) / (n - 1.0);
                (r, (var_u / n).sqrt() / bbar.abs())
            }
            SumKind::Corr => {
                if n <= 0.0 {
                    return nan;
                }
                let (mx, my) = (s[0] / n, s[1] / n);
                let sxx = s[2] - n * mx * mx;
                let syy = s[3] - n * my * my;
                let sxy = s[4] - n * mx * my;
                if sxx <= 0.0 || syy <= 0.0 {
                    return nan;
                }
                ((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0), f64::NAN)
            }
            SumKind::Ols { p, coef, cx, cy } => ols_finish(*p, *coef, cx, *cy, s),
            SumKind::Hajek => {
                if n <= 0.0 || s[0] <= 0.0 || s[2] <= 0.0 {
                    return nan;
                }
                let mu1 = s[1] / s[0];
                let mu0 = s[3] / s[2];
                let (abar1, abar0) = (s[0] / n, s[2] / n);
                let q1 = (s[6] - 2.0 * mu1 * s[5] + mu1 * mu1 * s[4]).max(0.0);
                let q0 = (s[9] - 2.0 * mu0 * s[8] + mu0 * mu0 * s[7]).max(0.0);
                let ss = q1 / (abar1 * abar1) + q0 / (abar0 * abar0);
                (mu1 - mu0, ss.sqrt() / n)
            }
        }
    }
}

fn ols_finish(p: usize, coef: usize, cx: &[f64], cy: f64, s: &[f64]) -> (f64, f64) {
    let nan = (f64::NAN, f64::NAN);
    let n = s[s.len() - 1];
    if n <= (p + 1) as f64 {
        return nan;
    }
    let mx: Vec<f64> = (0..p).map(|j| s[j] / n).collect();
    let my = s[p] / n;
    let mut idx = p + 1;
    let mut cxx = Mat::<f64>::zeros(p, p);
    for j in 0..p {
        for l in j..p {
            let v = s[idx] - n * mx[j] * mx[l];
            cxx[(j, l)] = v;
            cxx[(l, j)] = v;
            idx += 1;
        }
    }
    let cxy: Vec<f64> = (0..p).map(|j| s[idx + j] - n * mx[j] * my).collect();
    idx += p;
    let cyy = s[idx] - n * my * my;
    let Ok(llt) = cxx.llt(faer::Side::Lower) else {
        return nan;
    };
    let inv = llt.inverse();
    let beta: Vec<f64> = (0..p)
        .map(|j| (0..p).map(|l| inv[(j, l)] * cxy[l]).sum())
        .collect();
    let rss = (cyy - beta.iter().zip(&cxy).map(|(b, c)| b * c).sum::<f64>()).max(0.0);
    let sigma2 = rss / (n - p as f64 - 1.0);
    if coef == 0 {
        let xbar: Vec<f64> = (0..p).map(|j| cx[j] + mx[j]).collect();
        let intercept = cy + my - beta.iter().zip(&xbar).map(|(b, x)| b * x).sum::<f64>();
        let quad: f64 = (0..p)
            .map(|j| (0..p).map(|l| xbar[j] * inv[(j, l)] * xbar[l]).sum::<f64>())
            .sum();
        (intercept, (sigma2 * (1.0 / n + quad)).max(0.0).sqrt())
    } else {
        let j = coef - 1;
        (beta[j], (sigma2 * inv[(j, j)]).max(0.0).sqrt())
    }
}
