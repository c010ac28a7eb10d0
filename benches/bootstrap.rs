//! Criterion benchmarks of the bootstrap engine on built-in synthetic data, on the CPU backend and
//! (when a hardware adapter exists) the GPU backend. Sizes are the standard cases scaled
//! down so a criterion sample takes well under a second; `ceteris bench` runs the full sizes.

mod common;
use ceteris::{Bootstrap, Dataset, IntervalMethod, Scheme, Statistic};
use criterion::{criterion_group, criterion_main, Criterion};

fn cases() -> Vec<(&'static str, Statistic, Scheme, IntervalMethod, usize, u64)> {
    let c = |s: &str| s.to_string();
    vec![
        (
            "mean_iid_percentile_n1e6_b100",
            Statistic::Mean { column: c("x") },
            Scheme::Iid,
            IntervalMethod::Percentile,
            1_000_000,
            100,
        ),
        (
            "mean_bca_n1e5_b1000",
            Statistic::Mean { column: c("x") },
            Scheme::Iid,
            IntervalMethod::Bca,
            100_000,
            1000,
        ),
        (
            "ipw_n1e5_b1000",
            Statistic::Ipw {
                treatment: c("t"),
                outcome: c("y"),
                propensity: c("e"),
            },
            Scheme::Iid,
            IntervalMethod::Percentile,
            100_000,
            1000,
        ),
        (
            "mean_poisson_n1e6_b100",
            Statistic::Mean { column: c("x") },
            Scheme::Poisson,
            IntervalMethod::Percentile,
            1_000_000,
            100,
        ),
        (
            "median_n1e4_b1000",
            Statistic::Quantile {
                column: c("x"),
                q: 0.5,
            },
            Scheme::Iid,
            IntervalMethod::Percentile,
            10_000,
            1000,
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let engines = common::engines();
    let mut group = c.benchmark_group("bootstrap");
    group.sample_size(10);
    for (name, stat, scheme, method, n, b) in cases() {
        let data = Dataset::synthetic(n, 42);
        let boot = Bootstrap::new(stat)
            .scheme(scheme)
            .resamples(b)
            .seed(1)
            .methods(&[method]);
        for (backend, engine) in &engines {
            group.bench_function(format!("{name}/{backend}"), |bench| {
                bench.iter(|| boot.run(engine, &data).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
