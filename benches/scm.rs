//! Criterion benchmarks of SCM sweeps and counterfactuals on the model of `ceteris bench`
//! ([`Scm::random_linear`]: 50 nodes, every one an ancestor of the outcome `n49`), on the CPU
//! backend and (when a hardware adapter exists) the GPU backend. Sizes are scaled down from the
//! issue's cases; `ceteris bench --only scm` and `benches/rivals/scm_rivals.py` run the full ones.
//! The sweep runs with the default common random numbers (the noise drawn once for all settings
//! on the CPU).

mod common;
use ceteris::scm::{Intervention, Scm, Sweep};
use ceteris::Engine;
use criterion::{criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    let engines = common::engines();
    let mut group = c.benchmark_group("scm");
    group.sample_size(10);
    let scm = Scm::random_linear(50, 11);
    let settings: Vec<Vec<Intervention>> = (0..20)
        .map(|i| vec![Intervention::atomic("n0", -3.0 + 6.0 * i as f64 / 19.0)])
        .collect();
    let sweep = Sweep::new("n49", settings).samples(10_000);
    for (backend, engine) in &engines {
        group.bench_function(format!("sweep20x10000_m50/{backend}"), |b| {
            b.iter(|| sweep.run(engine, &scm).unwrap())
        });
    }
    // counterfactuals of 10 000 observed units (deterministic, CPU)
    let units = scm.sample(&Engine::cpu(), &[], 10_000, 1).unwrap().data;
    let set = [Intervention::atomic("n0", 1.0)];
    group.bench_function("counterfactuals10000_m50/cpu", |b| {
        b.iter(|| scm.counterfactuals(&units, &set).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
