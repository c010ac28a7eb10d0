//! The GPU-target cases of `ceteris bench --only gpu-targets`: the issues' GPU performance targets
//! (the bootstrap mean and IPW of issue 2, HSIC permutations, KCI and RCoT batches, a 10¹⁰-draw
//! SCM sweep), on GPU engines only.

use super::{bench_engines, independence, scm, Args};
use ceteris::independence::{IndependenceTest, Null};
use ceteris::scm::{Intervention, Scm, Sweep};
use ceteris::synthetic::{sem_data, z1_queries};
use ceteris::{Bootstrap, Dataset, Engine, Error, IntervalMethod, Statistic};
use std::time::Instant;

/// The GPU targets of the issues as `ceteris bench --only gpu-targets` cases, on GPU engines
/// only (a software adapter with `--quick` or `--backend gpu`, sizes ÷ 10 and samples and the
/// mean's resamples ÷ 100 under `--quick`): the iid bootstrap mean, n = 10⁶, B = 10 000 (≤ 100 ms
/// on an H100-class GPU); IPW with a fixed propensity, n = 10⁵, B = 1000 (≤ 10 ms); HSIC permutation test n = 10 000, 1000 permutations (≤ 150 ms on an H100-class
/// GPU); 1000 KCI tests |Z| = 1 at n = 1000 (≥ 200 tests/s); 1000 RCoT tests |Z| = 1 at
/// n = 10 000 (≥ 10 000 tests/s); an SCM sweep of 100 nodes × 10⁶ samples × 100 settings
/// (10¹⁰ node-draws, ≤ 80 ms).
pub(super) fn run(a: &Args, rows: &mut Vec<serde_json::Value>) -> Result<(), Error> {
    let engines: Vec<Engine> = bench_engines(a)
        .into_iter()
        .filter(|e| e.kind() == ceteris::BackendKind::Gpu)
        .collect();
    let q = if a.quick { 10 } else { 1 };
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let hsic_data = sem_data(10_000 / q, 4, 7);
    let kci_data = sem_data(1000 / q, 16, 8);
    let rcot_data = sem_data(10_000 / q, 16, 9);
    let batch = z1_queries(16, 1000 / q);
    let scm = Scm::random_linear(100, 11);
    let samples = 1_000_000 / (q * q) as u64;
    let settings: Vec<Vec<Intervention>> = (0..100)
        .map(|i| vec![Intervention::atomic("n0", -3.0 + 6.0 * i as f64 / 99.0)])
        .collect();
    let boot_mean = Dataset::synthetic(1_000_000 / q, 42);
    let boot_ipw = Dataset::synthetic(100_000 / q, 42);
    let ipw = Statistic::Ipw {
        treatment: "t".into(),
        outcome: "y".into(),
        propensity: "e".into(),
    };
    for engine in &engines {
        for (case, data, statistic, b) in [
            (
                "target/mean/iid",
                &boot_mean,
                Statistic::Mean { column: "x".into() },
                10_000 / (q * q) as u64,
            ),
            ("target/ipw/iid", &boot_ipw, ipw.clone(), 1000 / q as u64),
        ] {
            let r = Bootstrap::new(statistic)
                .resamples(b)
                .seed(1)
                .methods(&[IntervalMethod::Percentile])
                .run(engine, data)?;
            let n = data.n_rows();
            let rate = n as f64 * b as f64 / r.seconds / 1e6;
            if a.format == crate::Format::Table {
                say!(
                    "{:<26} {:>9} {:>7} {:>10.4} {:>12.1}  {}",
                    case,
                    n,
                    b,
                    r.seconds,
                    rate,
                    r.backend
                );
            }
            rows.push(serde_json::json!({
                "case": case, "n": n, "resamples": b, "seconds": r.seconds,
                "mdraws_per_s": rate, "backend": r.backend, "estimate": r.estimate,
            }));
            super::profile_case(a, engine, rows);
        }
        let cases = [
            (
                format!("target/hsic-perm1000 n={}", hsic_data.n_rows()),
                &hsic_data,
                IndependenceTest::hsic().null(Null::Permutation(1000)),
                vec![(s(&["v1"]), s(&["v3"]), vec![])],
            ),
            (
                format!("target/kci-batch{} n={}", batch.len(), kci_data.n_rows()),
                &kci_data,
                IndependenceTest::kci(),
                batch.clone(),
            ),
            (
                format!("target/rcot-batch{} n={}", batch.len(), rcot_data.n_rows()),
                &rcot_data,
                IndependenceTest::rcot(),
                batch.clone(),
            ),
        ];
        for (name, data, test, queries) in &cases {
            independence::row(a, rows, engine, name, data, test, queries);
        }
        let start = Instant::now();
        let r = Sweep::new("n99", settings.clone())
            .samples(samples)
            .run(engine, &scm)?;
        let secs = start.elapsed().as_secs_f64();
        let name = format!("target/sweep100x{samples} m=100");
        scm::row(a, rows, name, 100, 100, samples, secs, &r.backend);
        super::profile_case(a, engine, rows);
    }
    Ok(())
}
