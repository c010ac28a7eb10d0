//! `ceteris bench --only work-index`: the work-efficiency index of every GPU workload (issue 18,
//! "Deliver (GPU)" item 4). For each workload, (GPU time / CPU time) divided by the same ratio
//! for the iid bootstrap mean, measured in the same run, at sizes where both engines do the same
//! work: the SCM sweep both with `common_random_numbers(false)` (each setting draws its own
//! noise) and under common random numbers, the default (both engines draw each sample's noise
//! once for all settings: the CPU per block of 256 samples and group of settings, the device per
//! thread for its workgroup's settings).
//!
//! On lavapipe (software Vulkan on the host's cores) the ratio says how much work a kernel does
//! beside the CPU's: a kernel that recomputes what the CPU computes once, or serialises work, has
//! an index well above 1. It says nothing of coalescing or occupancy (the roofline table in
//! BENCHMARKS.md covers those). Each workload runs once untimed on each engine (pipeline
//! compilation, caches), then `--repeat` times alternating CPU and GPU; the best time of each
//! counts. The run fails (exit status 2) when an index exceeds `--max-index` (default 1.5), after
//! printing every row.

use super::Args;
use crate::Format;
use ceteris::bootstrap::{EffectBootstrap, Estimator};
use ceteris::independence::{IndependenceTest, Null, Query, Tester};
use ceteris::scm::{Intervention, Scm, Sweep};
use ceteris::synthetic::{sem_data, z1_queries};
use ceteris::{Bootstrap, Dataset, Engine, Error, IntervalMethod, Scheme, Statistic};
use serde_json::json;
use std::time::Instant;

/// Runs a workload on an engine and returns the backend that ran it.
type RunFn<'a> = Box<dyn Fn(&Engine) -> Result<String, Error> + 'a>;

/// One workload: its name, a description of its size, and how to run it.
struct Workload<'a> {
    name: &'static str,
    size: String,
    run: RunFn<'a>,
}

/// A bootstrap workload on [`Dataset::synthetic`] data.
fn boot(
    data: &Dataset,
    statistic: Statistic,
    method: IntervalMethod,
    b: u64,
) -> impl Fn(&Engine) -> Result<String, Error> + '_ {
    move |e: &Engine| {
        let r = Bootstrap::new(statistic.clone())
            .scheme(Scheme::Iid)
            .resamples(b)
            .seed(1)
            .methods(&[method])
            .run(e, data)?;
        Ok(r.backend)
    }
}

/// A batch of independence tests (every test must succeed).
fn batch<'a>(
    data: &'a Dataset,
    test: IndependenceTest,
    queries: Vec<Query>,
) -> impl Fn(&Engine) -> Result<String, Error> + 'a {
    move |e: &Engine| {
        let results = Tester::new(e, data, test.clone()).batch(&queries);
        let mut backend = String::new();
        for r in results {
            backend = r?.backend;
        }
        Ok(backend)
    }
}

/// Runs the work-efficiency index: every workload on the CPU and the GPU engine, one row each,
/// then an error when an index exceeds `max_index`.
pub(super) fn run(a: &Args, engine: &Engine, repeat: u32, max_index: f64) -> Result<(), Error> {
    let cpu = Engine::cpu();
    // --quick: sizes for a smoke test (seconds), not for a figure
    let k = if a.quick { 5 } else { 1 };
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let (n_boot, b_boot) = (10_000, 1000 / k as u64);
    let boot_data = Dataset::synthetic(n_boot, 42);
    let (n_median, b_median) = (10_000, 200 / k as u64);
    let (n_refit, b_refit) = (2000, 200 / k as u64);
    let refit_data = Dataset::synthetic(n_refit, 43);
    let (n_hsic, perms) = (1000 / k, 200);
    let hsic_data = sem_data(n_hsic, 4, 7);
    let (n_kci, t_kci) = (200, 40 / k);
    let kci_data = sem_data(n_kci, 16, 8);
    let (n_rcot, t_rcot) = (500, 50 / k);
    let rcot_data = sem_data(n_rcot, 16, 9);
    let scm = Scm::random_linear(50, 11);
    let (settings, samples) = (10, 10_000 / k as u64);
    let grid: Vec<Vec<Intervention>> = (0..settings)
        .map(|i| vec![Intervention::atomic("n0", -3.0 + 6.0 * i as f64 / 9.0)])
        .collect();
    let mean = Statistic::Mean { column: "x".into() };
    let workloads: Vec<Workload> = vec![
        Workload {
            name: "mean/iid (reference)",
            size: format!("n={n_boot} B={b_boot}"),
            run: Box::new(boot(
                &boot_data,
                mean.clone(),
                IntervalMethod::Percentile,
                b_boot,
            )),
        },
        Workload {
            name: "median/iid",
            size: format!("n={n_median} B={b_median}"),
            run: Box::new(boot(
                &boot_data,
                Statistic::Quantile {
                    column: "x".into(),
                    q: 0.5,
                },
                IntervalMethod::Percentile,
                b_median,
            )),
        },
        Workload {
            name: "mean/iid/bca",
            size: format!("n={n_boot} B={b_boot}"),
            run: Box::new(boot(&boot_data, mean, IntervalMethod::Bca, b_boot)),
        },
        Workload {
            name: "ipw/iid (fixed e)",
            size: format!("n={n_boot} B={b_boot}"),
            run: Box::new(boot(
                &boot_data,
                Statistic::Ipw {
                    treatment: "t".into(),
                    outcome: "y".into(),
                    propensity: "e".into(),
                },
                IntervalMethod::Percentile,
                b_boot,
            )),
        },
        Workload {
            name: "aipw/refit",
            size: format!("n={n_refit} B={b_refit}"),
            run: Box::new(|e: &Engine| {
                let r = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["z", "x"])
                    .resamples(b_refit)
                    .seed(1)
                    .methods(&[IntervalMethod::Percentile])
                    .run(e, &refit_data)?;
                Ok(r.backend)
            }),
        },
        Workload {
            name: "hsic/permutation",
            size: format!("n={n_hsic} P={perms}"),
            run: Box::new(batch(
                &hsic_data,
                IndependenceTest::hsic().null(Null::Permutation(perms)),
                vec![(s(&["v1"]), s(&["v3"]), vec![])],
            )),
        },
        Workload {
            name: "kci/batch z1",
            size: format!("n={n_kci} tests={t_kci}"),
            run: Box::new(batch(
                &kci_data,
                IndependenceTest::kci(),
                z1_queries(16, t_kci),
            )),
        },
        Workload {
            name: "rcot/batch z1",
            size: format!("n={n_rcot} tests={t_rcot}"),
            run: Box::new(batch(
                &rcot_data,
                IndependenceTest::rcot(),
                z1_queries(16, t_rcot),
            )),
        },
        Workload {
            name: "scm/sweep own noise",
            size: format!("m=50 {settings}x{samples}"),
            run: Box::new(|e: &Engine| {
                let r = Sweep::new("n49", grid.clone())
                    .samples(samples)
                    .common_random_numbers(false)
                    .run(e, &scm)?;
                Ok(r.backend)
            }),
        },
        Workload {
            name: "scm/sweep shared noise",
            size: format!("m=50 {settings}x{samples}"),
            run: Box::new(|e: &Engine| {
                let r = Sweep::new("n49", grid.clone())
                    .samples(samples)
                    .run(e, &scm)?;
                Ok(r.backend)
            }),
        },
    ];
    if a.format == Format::Table {
        say!("work-efficiency index: (GPU s / CPU s) / (the same for the iid mean), best of {repeat}");
        say!("GPU engine: {}", engine.describe());
        say!(
            "{:<22} {:<18} {:>10} {:>10} {:>9} {:>7}",
            "workload",
            "size",
            "cpu s",
            "gpu s",
            "gpu/cpu",
            "index"
        );
    }
    let mut rows = Vec::new();
    let mut reference = None;
    let mut over = Vec::new();
    for w in &workloads {
        // untimed once on each engine: pipeline compilation, allocations
        (w.run)(&cpu)?;
        let backend = (w.run)(engine)?;
        if backend.starts_with("cpu") {
            return Err(Error::param(
                "only",
                format!(
                    "work-index: `{}` ran on the CPU on the GPU engine ({backend})",
                    w.name
                ),
            ));
        }
        let (mut tc, mut tg) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..repeat {
            let t = Instant::now();
            (w.run)(&cpu)?;
            tc = tc.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            (w.run)(engine)?;
            tg = tg.min(t.elapsed().as_secs_f64());
        }
        let ratio = tg / tc;
        let index = ratio / *reference.get_or_insert(ratio);
        if index > max_index {
            over.push(format!("{} {index:.2}", w.name));
        }
        if a.format == Format::Table {
            say!(
                "{:<22} {:<18} {:>10.4} {:>10.4} {:>9.1} {:>7.2}",
                w.name,
                w.size,
                tc,
                tg,
                ratio,
                index
            );
        }
        rows.push(json!({
            "workload": w.name, "size": w.size, "cpu_seconds": tc, "gpu_seconds": tg,
            "ratio": ratio, "index": index,
        }));
    }
    if a.format == Format::Json {
        crate::output::print_json(&json!({
            "quick": a.quick, "repeat": repeat, "gpu": engine.describe(),
            "max_index": max_index, "results": rows,
        }));
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(Error::param(
            "max-index",
            format!(
                "work-efficiency index above {max_index}: {}",
                over.join(", ")
            ),
        ))
    }
}
