//! The bootstrap cases of `ceteris bench`: six statistic/scheme/interval combinations on
//! [`Dataset::synthetic`] data, on every engine the driver picked, reported in draws per second.

use super::Args;
use crate::Format;
use ceteris::{Bootstrap, Dataset, Engine, Error, IntervalMethod, Scheme, Statistic};
use serde_json::json;

/// One bootstrap case: `b` resamples of `statistic` on `n` rows.
struct Case {
    name: &'static str,
    statistic: Statistic,
    scheme: Scheme,
    method: IntervalMethod,
    n: usize,
    b: u64,
}

/// The cases at the sizes of `scale` (1, or 10 under `--quick`).
fn cases(scale: usize) -> Vec<Case> {
    let col = |c: &str| c.to_string();
    let ipw = Statistic::Ipw {
        treatment: col("t"),
        outcome: col("y"),
        propensity: col("e"),
    };
    let median = |n, b| Case {
        name: "median/iid/percentile",
        statistic: Statistic::Quantile {
            column: col("x"),
            q: 0.5,
        },
        scheme: Scheme::Iid,
        method: IntervalMethod::Percentile,
        n,
        b,
    };
    vec![
        Case {
            name: "mean/iid/percentile",
            statistic: Statistic::Mean { column: col("x") },
            scheme: Scheme::Iid,
            method: IntervalMethod::Percentile,
            n: 1_000_000 / scale,
            b: 10_000 / scale as u64,
        },
        Case {
            name: "mean/iid/bca",
            statistic: Statistic::Mean { column: col("x") },
            scheme: Scheme::Iid,
            method: IntervalMethod::Bca,
            n: 100_000 / scale,
            b: 1_000,
        },
        Case {
            name: "ipw/iid/percentile",
            statistic: ipw,
            scheme: Scheme::Iid,
            method: IntervalMethod::Percentile,
            n: 100_000 / scale,
            b: 1_000,
        },
        Case {
            name: "mean/poisson/percentile",
            statistic: Statistic::Mean { column: col("x") },
            scheme: Scheme::Poisson,
            method: IntervalMethod::Percentile,
            n: 1_000_000 / scale,
            b: 1_000 / scale as u64,
        },
        median(10_000 / scale, 1_000),
        median(1_000_000 / scale, 100),
    ]
}

/// Runs the bootstrap cases on `engines` (the data of each size built once) and reports each
/// (a table line and a JSON row with millions of draws per second).
pub(super) fn run(
    a: &Args,
    scale: usize,
    engines: &[Engine],
    rows: &mut Vec<serde_json::Value>,
) -> Result<(), Error> {
    let cases = cases(scale);
    let mut cache: Vec<(usize, Dataset)> = Vec::new();
    for case in &cases {
        if !cache.iter().any(|(n, _)| *n == case.n) {
            cache.push((case.n, Dataset::synthetic(case.n, 42)));
        }
        let data = &cache.iter().find(|(n, _)| *n == case.n).expect("cached").1;
        for engine in engines {
            let boot = Bootstrap::new(case.statistic.clone())
                .scheme(case.scheme.clone())
                .resamples(case.b)
                .seed(1)
                .methods(&[case.method]);
            let r = boot.run(engine, data)?;
            let rate = case.n as f64 * case.b as f64 / r.seconds / 1e6;
            if a.format == Format::Table {
                say!(
                    "{:<26} {:>9} {:>7} {:>10.4} {:>12.1}  {}",
                    case.name,
                    case.n,
                    case.b,
                    r.seconds,
                    rate,
                    r.backend
                );
            }
            rows.push(json!({
                "case": case.name, "n": case.n, "resamples": case.b, "seconds": r.seconds,
                "mdraws_per_s": rate, "backend": r.backend, "estimate": r.estimate,
            }));
            super::profile_case(a, engine, rows);
        }
    }
    Ok(())
}
