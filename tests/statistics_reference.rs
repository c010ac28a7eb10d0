//! Every built-in statistic's estimate and analytic standard error against independent
//! implementations (numpy, scipy, statsmodels: tests/reference/make_statistics_reference.py), and
//! the studentized (bootstrap-t) interval against an independent numpy bootstrap-t within derived
//! Monte-Carlo error. The GPU engine's counterparts are in tests/gpu/statistics.rs.

mod common;
#[path = "common/statistics.rs"]
mod statistics;

use ceteris::{Bootstrap, Engine, IntervalMethod, Statistic};
use statistics::{check_all, check_studentized};

#[test]
fn every_statistic_matches_independent_implementations() {
    let n = check_all(&Engine::cpu(), |_| {});
    assert!(n >= 34, "{n} cases");
}

/// Without the studentized interval no analytic standard error is reported (nor serialised).
#[test]
fn analytic_std_error_only_with_studentized() {
    let data = common::one("x", common::normals(50, 3));
    let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
        .resamples(100)
        .methods(&[IntervalMethod::Percentile])
        .run(&Engine::cpu(), &data)
        .unwrap();
    assert_eq!(r.analytic_std_error, None);
    let json = serde_json::to_value(&r).unwrap();
    assert!(json.get("analytic_std_error").is_none(), "{json}");
}

#[test]
fn studentized_intervals_match_an_independent_bootstrap_t() {
    for seed in [31, 32] {
        check_studentized(&Engine::cpu(), seed, |_| 0.0);
    }
}
