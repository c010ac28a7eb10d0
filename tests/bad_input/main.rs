//! Bad input at the library level: every case must come back as the right structured
//! `ceteris::Error` variant naming the offending column, row or parameter, and never as a panic.
//!
//! This file holds the test data, the runner that turns a panic into a failure, the assertions on
//! each error variant and the statistics; the cases are in the submodules: `data` (empty data, NaN
//! and infinity, shapes, constant columns), `independence` (options a test would ignore, its
//! minimum rows, the memory of exact kernel factors), `parameters` (treatment arms, run
//! parameters, block lengths, clusters, memory) and `statistics` (statistic parameters, dropped
//! resamples and their cause, too few resamples, extreme magnitudes).

mod data;
mod independence;
mod parameters;
mod statistics;

use ceteris::{
    Bootstrap, BootstrapResult, Dataset, Engine, Error, IntervalMethod, Result, Roles, Scheme,
    Statistic,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

const B: u64 = 200;

fn s(x: &str) -> String {
    x.to_string()
}

/// Deterministic, non-constant, well-conditioned test data with every role a statistic needs.
/// Columns: x, y (outcome), z, t (0/1, alternating), e (propensity in (0.2, 0.8)), mu0, mu1,
/// w (positive weights), g (5 clusters of n/5 rows).
fn base(n: usize) -> Dataset {
    let x: Vec<f64> = (0..n)
        .map(|i| ((i * 37 % 101) as f64) / 10.0 + 1.0)
        .collect();
    let z: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.7).sin()).collect();
    let t: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let e: Vec<f64> = (0..n)
        .map(|i| 0.2 + 0.6 * ((i * 13 % 17) as f64 + 0.5) / 17.0)
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 1.0 + 2.0 * t[i] + z[i] + 0.1 * x[i])
        .collect();
    let mu0: Vec<f64> = z.iter().map(|v| 1.0 + v).collect();
    let mu1: Vec<f64> = z.iter().map(|v| 3.0 + v).collect();
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 / 7.0).collect();
    let g: Vec<f64> = (0..n).map(|i| (i * 5 / n) as f64).collect();
    let mut d = Dataset::new();
    for (name, col) in [
        ("x", x),
        ("y", y),
        ("z", z),
        ("t", t),
        ("e", e),
        ("mu0", mu0),
        ("mu1", mu1),
        ("w", w),
        ("g", g),
    ] {
        d.push_column(name, col).unwrap();
    }
    d
}

/// `base(n)` with column `name` replaced by `values`.
fn with(n: usize, name: &str, values: Vec<f64>) -> Dataset {
    let b = base(n);
    let mut d = Dataset::new();
    for col in b.names() {
        let v = if col == name {
            values.clone()
        } else {
            b.column(col).unwrap().to_vec()
        };
        d.push_column(col, v).unwrap();
    }
    if !b.names().iter().any(|c| c == name) {
        d.push_column(name, values).unwrap();
    }
    d
}

/// Runs on the CPU engine, turning a panic into a test failure with a clear message.
fn run_full(
    stat: Statistic,
    scheme: Scheme,
    resamples: u64,
    level: f64,
    methods: &[IntervalMethod],
    data: &Dataset,
) -> Result<BootstrapResult> {
    let boot = Bootstrap::new(stat.clone())
        .scheme(scheme.clone())
        .resamples(resamples)
        .seed(3)
        .level(level)
        .methods(methods);
    match catch_unwind(AssertUnwindSafe(|| boot.run(&Engine::cpu(), data))) {
        Ok(r) => r,
        Err(_) => panic!("ceteris panicked on {stat:?} / {scheme:?} (must return an Error)"),
    }
}

fn run(stat: Statistic, scheme: Scheme, data: &Dataset) -> Result<BootstrapResult> {
    run_full(stat, scheme, B, 0.95, &[IntervalMethod::Percentile], data)
}

fn err(r: Result<BootstrapResult>) -> Error {
    match r {
        Ok(res) => panic!(
            "expected an error, got a result: estimate {} ({} valid of {})",
            res.estimate, res.valid_resamples, res.resamples
        ),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_param(e: &Error, expected: &str) {
    match e {
        Error::InvalidParameter { name, reason } => {
            assert_eq!(name, expected, "wrong parameter named ({reason})");
            assert!(!reason.is_empty());
            assert!(
                e.to_string().contains(expected),
                "message must name `{expected}`: {e}"
            );
        }
        other => panic!("expected InvalidParameter `{expected}`, got {other:?}"),
    }
}

#[track_caller]
fn assert_non_finite(e: &Error, col: &str, at: usize) {
    match e {
        Error::NonFinite { column, row } => {
            assert_eq!((column.as_str(), *row), (col, at), "{e}");
            assert!(e.to_string().contains(&format!("`{col}`")), "{e}");
            assert!(e.to_string().contains(&format!("row {at}")), "{e}");
        }
        other => panic!("expected NonFinite {{ {col}, {at} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_constant(e: &Error, col: &str) {
    match e {
        Error::ConstantColumn(c) => {
            assert_eq!(c, col);
            assert!(e.to_string().contains(&format!("`{col}`")), "{e}");
        }
        other => panic!("expected ConstantColumn({col}), got {other:?}"),
    }
}

#[track_caller]
fn assert_out_of_range(e: &Error, col: &str, at: usize, val: f64) {
    match e {
        Error::OutOfRange {
            column,
            row,
            value,
            expected,
        } => {
            assert_eq!((column.as_str(), *row), (col, at), "{e}");
            assert_eq!(*value, val, "{e}");
            assert!(!expected.is_empty());
            assert!(e.to_string().contains(&format!("`{col}`")), "{e}");
        }
        other => panic!("expected OutOfRange {{ {col}, row {at} }}, got {other:?}"),
    }
}

fn mean_x() -> Statistic {
    Statistic::Mean { column: s("x") }
}

fn dm() -> Statistic {
    Statistic::DiffMeans {
        treatment: s("t"),
        outcome: s("y"),
    }
}

fn ipw() -> Statistic {
    Statistic::Ipw {
        treatment: s("t"),
        outcome: s("y"),
        propensity: s("e"),
    }
}

fn hajek() -> Statistic {
    Statistic::Hajek {
        treatment: s("t"),
        outcome: s("y"),
        propensity: s("e"),
    }
}

fn aipw() -> Statistic {
    Statistic::Aipw {
        treatment: s("t"),
        outcome: s("y"),
        propensity: s("e"),
        mu0: s("mu0"),
        mu1: s("mu1"),
    }
}

fn ols(covs: &[&str], coef: &str) -> Statistic {
    Statistic::Ols {
        outcome: s("y"),
        covariates: covs.iter().map(|c| s(c)).collect(),
        coefficient: s(coef),
    }
}

/// Every statistic, each needing the columns of `base`.
fn all_statistics() -> Vec<Statistic> {
    vec![
        mean_x(),
        Statistic::Variance { column: s("x") },
        Statistic::Std { column: s("x") },
        Statistic::Quantile {
            column: s("x"),
            q: 0.5,
        },
        Statistic::WeightedMean {
            column: s("x"),
            weights: s("w"),
        },
        dm(),
        Statistic::RatioMeans {
            numerator: s("y"),
            denominator: s("x"),
        },
        Statistic::Corr {
            x: s("x"),
            y: s("y"),
        },
        ols(&["x", "z"], "x"),
        ols(&["x", "z"], "intercept"),
        ipw(),
        hajek(),
        aipw(),
    ]
}
