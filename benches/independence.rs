//! Criterion benchmarks of the kernel independence tests on built-in synthetic data, on the CPU
//! backend and (when a hardware adapter exists) the GPU backend. Sizes are the cases
//! scaled down so a criterion sample takes about a second at most; `ceteris bench --only
//! independence` and `benches/rivals/independence_rivals.py` run the full sizes against
//! causal-learn and hyppo.

mod common;
use ceteris::independence::{IndependenceTest, Null, Tester};
use ceteris::Dataset;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let engines = common::engines();
    let mut group = c.benchmark_group("independence");
    group.sample_size(10);
    let small = Dataset::synthetic(1000, 3);
    let large = Dataset::synthetic(20_000, 3);
    let s = |c: &str| vec![c.to_string()];
    // 100 conditional KCI tests sharing one data set (the discovery workload)
    let queries: Vec<_> = (0..100)
        .map(|i| {
            let (x, y) = [("t", "y"), ("x", "y"), ("t", "x"), ("w", "y")][i % 4];
            (s(x), s(y), s("z"))
        })
        .collect();
    for (backend, engine) in &engines {
        group.bench_function(format!("kci_conditional_n1000/{backend}"), |b| {
            b.iter(|| {
                IndependenceTest::kci()
                    .run(engine, &small, &["t"], &["y"], &["z"])
                    .unwrap()
            })
        });
        group.bench_function(format!("hsic_permutation200_n1000/{backend}"), |b| {
            let test = IndependenceTest::hsic().null(Null::Permutation(200));
            b.iter(|| test.run(engine, &small, &["x"], &["y"], &[]).unwrap())
        });
        group.bench_function(format!("kci_batch100_n1000/{backend}"), |b| {
            b.iter(|| {
                let tester = Tester::new(engine, &small, IndependenceTest::kci());
                tester.batch(&queries)
            })
        });
        group.bench_function(format!("rcot_conditional_n20000/{backend}"), |b| {
            b.iter(|| {
                IndependenceTest::rcot()
                    .run(engine, &large, &["t"], &["y"], &["z"])
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
