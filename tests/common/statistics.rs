//! Shared by tests/statistics_reference.rs (CPU) and tests/gpu/statistics.rs: the reference of
//! tests/reference/make_statistics_reference.py as ceteris statistics and data, and the checks.
#![allow(dead_code)]

use ceteris::{Bootstrap, BootstrapResult, Dataset, Engine, IntervalMethod, Statistic};
use serde_json::Value;

pub fn reference() -> Value {
    serde_json::from_str(include_str!("../reference/statistics_reference.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn columns(v: &Value) -> Dataset {
    let mut d = Dataset::new();
    for (name, col) in v.as_object().unwrap() {
        d.push_column(name, floats(col)).unwrap();
    }
    d
}

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap().to_string()
}

/// The ceteris statistic of one reference entry.
fn statistic(e: &Value) -> Statistic {
    let spec = e["statistic"].as_str().unwrap();
    let pair = |k: &str| {
        let c = e[k].as_array().unwrap();
        (
            c[0].as_str().unwrap().to_string(),
            c[1].as_str().unwrap().to_string(),
        )
    };
    let (head, arg) = spec.split_once(':').unwrap_or((spec, ""));
    match head {
        "mean" => Statistic::Mean {
            column: s(e, "column"),
        },
        "var" => Statistic::Variance {
            column: s(e, "column"),
        },
        "std" => Statistic::Std {
            column: s(e, "column"),
        },
        "median" => Statistic::Quantile {
            column: s(e, "column"),
            q: 0.5,
        },
        "quantile" => Statistic::Quantile {
            column: s(e, "column"),
            q: arg.parse().unwrap(),
        },
        "weighted-mean" => Statistic::WeightedMean {
            column: s(e, "column"),
            weights: s(e, "weights"),
        },
        "diff-means" => Statistic::DiffMeans {
            treatment: s(e, "treatment"),
            outcome: s(e, "outcome"),
        },
        "ratio-means" => {
            let (numerator, denominator) = pair("columns");
            Statistic::RatioMeans {
                numerator,
                denominator,
            }
        }
        "corr" => {
            let (x, y) = pair("columns");
            Statistic::Corr { x, y }
        }
        "ols" => Statistic::Ols {
            outcome: s(e, "outcome"),
            covariates: e["covariates"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect(),
            coefficient: arg.to_string(),
        },
        "ipw" => Statistic::Ipw {
            treatment: s(e, "treatment"),
            outcome: s(e, "outcome"),
            propensity: s(e, "propensity"),
        },
        "hajek" => Statistic::Hajek {
            treatment: s(e, "treatment"),
            outcome: s(e, "outcome"),
            propensity: s(e, "propensity"),
        },
        "aipw" => Statistic::Aipw {
            treatment: s(e, "treatment"),
            outcome: s(e, "outcome"),
            propensity: s(e, "propensity"),
            mu0: s(e, "mu0"),
            mu1: s(e, "mu1"),
        },
        other => panic!("unknown statistic {other}"),
    }
}

/// Runs every reference statistic on `engine` (with the studentized interval, so that the analytic
/// standard error is reported) and checks the estimate and standard error to 1e-10 relative: both
/// are computed on the host in f64 from the full data on either backend, so the tolerance is the
/// same for the GPU engine. `check` receives each result for backend-specific assertions.
pub fn check_all(engine: &Engine, mut check: impl FnMut(&BootstrapResult)) -> usize {
    let doc = reference();
    let mut count = 0;
    for ds in doc["datasets"].as_array().unwrap() {
        let data = columns(&ds["columns"]);
        for e in ds["statistics"].as_array().unwrap() {
            let stat = statistic(e);
            let name = format!("{} (n = {})", e["statistic"], ds["n"]);
            assert_eq!(stat.name(), e["statistic"].as_str().unwrap(), "{name}");
            let r = Bootstrap::new(stat)
                .resamples(50)
                .seed(5)
                .methods(&[IntervalMethod::Studentized])
                .run(engine, &data)
                .unwrap();
            let est = e["estimate"].as_f64().unwrap();
            assert!(
                (r.estimate - est).abs() <= 1e-10 * est.abs(),
                "{name}: estimate {} vs reference {est}",
                r.estimate
            );
            match e["analytic_std_error"].as_f64() {
                Some(se) => {
                    let ours = r.analytic_std_error.unwrap_or_else(|| {
                        panic!("{name}: no analytic standard error ({:?})", r.warnings)
                    });
                    assert!(
                        (ours - se).abs() <= 1e-10 * se,
                        "{name}: analytic standard error {ours} vs reference {se}"
                    );
                    assert!(r.intervals.contains_key("studentized"), "{name}");
                }
                None => {
                    assert_eq!(r.analytic_std_error, None, "{name}");
                    assert!(!r.intervals.contains_key("studentized"), "{name}");
                    assert!(
                        r.warnings
                            .iter()
                            .any(|w| w.contains("no analytic standard error")),
                        "{name}: {:?}",
                        r.warnings
                    );
                }
            }
            check(&r);
            count += 1;
        }
    }
    count
}

/// The studentized interval's Monte-Carlo tolerance. An endpoint is `θ̂ − se·q̂_p` with `q̂_p` the
/// type-7 p-quantile of B replicates of t*; a sample quantile's standard error is
/// `sqrt(p(1 − p)/B)/f(q_p)`, f the density of t* there, so the endpoint's Monte-Carlo sd is
/// `se·sqrt(p(1 − p)/B)/f(q_p)`. The reference stores that sd measured over S = 40 numpy seeds
/// (`low_sd`, `high_sd`; the script asserts it agrees with the formula, `*_sd_formula`, within a
/// factor 1.5) and the mean over the seeds, and the same for R's boot.ci (`r_boot`). Our single
/// run with the same B and numpy's type-7 quantiles has numpy's sd, a reference mean an sd of
/// sd_ref/√S, so the difference has sd `sqrt(sd² + sd_ref²/S)`; we allow 4 of them (a false alarm
/// probability of 6e-5 per endpoint). R takes the ((B + 1)p)-th order statistic where we
/// interpolate at (B − 1)p: under one spacing of the order statistics apart (`*_spacing`,
/// se/(B f(q))), added for R. `extra` widens it for the GPU's f32.
pub fn check_studentized(engine: &Engine, seed: u64, extra: impl Fn(f64) -> f64) {
    let doc = reference();
    for case in doc["studentized_mc"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let data = columns(&case["columns"]);
        let stat = match name {
            "mean_lognormal_n40" => Statistic::Mean { column: "x".into() },
            "ols_x1_heteroskedastic_n60" => Statistic::Ols {
                outcome: "y".into(),
                covariates: vec!["x1".into(), "x2".into()],
                coefficient: "x1".into(),
            },
            other => panic!("unknown case {other}"),
        };
        let r = Bootstrap::new(stat)
            .resamples(case["n_resamples"].as_u64().unwrap())
            .level(case["level"].as_f64().unwrap())
            .seed(seed)
            .methods(&[IntervalMethod::Studentized])
            .run(engine, &data)
            .unwrap();
        let se0 = case["analytic_std_error"].as_f64().unwrap();
        assert!(
            (r.analytic_std_error.unwrap() - se0).abs() <= 1e-10 * se0,
            "{name}: se {:?} vs {se0}",
            r.analytic_std_error
        );
        let [lo, hi] = r.intervals["studentized"];
        // our run's sd: the numpy sd (same B, same type-7 quantiles)
        for (refname, rf, spacing) in [
            ("numpy bootstrap-t", case, false),
            ("R boot.ci", &case["r_boot"], true),
        ] {
            let seeds = rf["seeds"].as_f64().unwrap();
            for (ours, key) in [(lo, "low"), (hi, "high")] {
                let f = |k: &str| rf[format!("{key}_{k}")].as_f64().unwrap();
                let sd_ours = case[format!("{key}_sd")].as_f64().unwrap();
                let (mean, sd) = (f("mean"), f("sd"));
                let gap = if spacing {
                    case[format!("{key}_spacing")].as_f64().unwrap()
                } else {
                    0.0
                };
                let tol = 4.0 * (sd_ours * sd_ours + sd * sd / seeds).sqrt() + gap + extra(se0);
                assert!(
                    (ours - mean).abs() <= tol,
                    "{name} {key}: ours {ours}, {refname} {mean} ± {tol}"
                );
            }
        }
    }
}
