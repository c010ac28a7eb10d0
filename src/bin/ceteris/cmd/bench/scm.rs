//! The SCM cases of `ceteris bench`: sweeps on [`Scm::random_linear`] models on the CPU and GPU
//! engines, the same sweep by the naive reference loop ([`naive_sweep`]), counterfactuals of many
//! units, the large 1000 × 100 000 sweep, and the report of one SCM case.

use super::{bench_engines, Args};
use crate::output::write_text;
use crate::Format;
use ceteris::scm::{Intervention, Scm, Sweep};
use ceteris::synthetic::naive_sweep;
use ceteris::{Engine, Error};
use serde_json::json;
use std::time::Instant;

/// SCM cases of `ceteris bench`: a 50-node linear-Gaussian DAG whose every node is an ancestor
/// of the outcome `n49` (so the sweep skips no node), 100 values of `do(n0)` × 10 000 samples,
/// on the CPU and on a GPU engine (software adapters only with --quick or --backend gpu, as for
/// the other cases), with the default common random numbers, and on the CPU with every setting
/// drawing its own noise (`scm/own-noise…`); the same sweep as a naive single-threaded Rust loop (per sample, per node,
/// one Philox block and a library-function Box–Muller per node); and the counterfactuals of
/// 100 000 observed units under `do(n0 := 1)` (CPU).
pub(super) fn run(a: &Args, scale: usize, rows: &mut Vec<serde_json::Value>) -> Result<(), Error> {
    let engines = bench_engines(a);
    let m = 50;
    let scm = Scm::random_linear(m, 11);
    if let Some(path) = &a.save_model {
        write_text(path, &scm.to_json())?;
    }
    let grid = |values: usize| -> Vec<Vec<Intervention>> {
        (0..values)
            .map(|i| {
                vec![Intervention::atomic(
                    "n0",
                    -3.0 + 6.0 * i as f64 / (values - 1).max(1) as f64,
                )]
            })
            .collect()
    };
    let report = |rows: &mut Vec<_>, name, values, samples, secs, backend: &str| {
        row(a, rows, name, m, values, samples, secs, backend)
    };
    let outcome = format!("n{}", m - 1);
    let (values, samples) = (100 / scale.min(10), 10_000);
    let settings = grid(values);
    for engine in &engines {
        let start = Instant::now();
        let r = Sweep::new(&outcome, settings.clone())
            .samples(samples)
            .run(engine, &scm)?;
        let secs = start.elapsed().as_secs_f64();
        report(
            rows,
            format!("scm/sweep{values}x{samples} m=50"),
            values,
            samples,
            secs,
            &r.backend,
        );
        super::profile_case(a, engine, rows);
    }
    if a.backend != "gpu" {
        // the same sweep with every setting drawing its own noise (the work of the naive loop
        // and the rivals, which share nothing between settings)
        let start = Instant::now();
        let r = Sweep::new(&outcome, settings.clone())
            .samples(samples)
            .common_random_numbers(false)
            .run(&Engine::cpu(), &scm)?;
        let secs = start.elapsed().as_secs_f64();
        report(
            rows,
            format!("scm/own-noise{values}x{samples} m=50"),
            values,
            samples,
            secs,
            &r.backend,
        );
        let start = Instant::now();
        let means = naive_sweep(&scm, &settings, samples as u32)?;
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(means);
        report(
            rows,
            format!("scm/naive{values}x{samples} m=50"),
            values,
            samples,
            secs,
            "cpu (naive loop, 1 thread)",
        );
        // counterfactuals of many observed units under do(n0 := 1) (deterministic, CPU only)
        let units = 100_000 / scale;
        let observed = scm.sample(&Engine::cpu(), &[], units, 1)?.data;
        let start = Instant::now();
        let cf = scm.counterfactuals(&observed, &[Intervention::atomic("n0", 1.0)])?;
        let secs = start.elapsed().as_secs_f64();
        std::hint::black_box(cf);
        report(
            rows,
            format!("scm/cf-units{units} m=50"),
            1,
            units as u64,
            secs,
            "cpu (deterministic)",
        );
    }
    Ok(())
}

/// The large SCM case of `ceteris bench` (`--only scm-large`, and part of a full run): the model of
/// [`run`], 1000 values × 100 000 samples on the CPU (summaries only: constant memory).
pub(super) fn run_large(a: &Args, rows: &mut Vec<serde_json::Value>) -> Result<(), Error> {
    let (m, values, samples) = (50, 1000, 100_000u64);
    let scm = Scm::random_linear(m, 11);
    let settings: Vec<Vec<Intervention>> = (0..values)
        .map(|i| {
            vec![Intervention::atomic(
                "n0",
                -3.0 + 6.0 * i as f64 / (values - 1) as f64,
            )]
        })
        .collect();
    let start = Instant::now();
    let r = Sweep::new(&format!("n{}", m - 1), settings)
        .samples(samples)
        .run(&Engine::cpu(), &scm)?;
    let secs = start.elapsed().as_secs_f64();
    let name = format!("scm/sweep{values}x{samples} m=50");
    row(a, rows, name, m, values, samples, secs, &r.backend);
    Ok(())
}

/// One SCM row of `ceteris bench`: a table line (with ns per node-sample) and a JSON row.
#[allow(clippy::too_many_arguments)]
pub(super) fn row(
    a: &Args,
    rows: &mut Vec<serde_json::Value>,
    name: String,
    m: usize,
    values: usize,
    samples: u64,
    secs: f64,
    backend: &str,
) {
    let ns = secs * 1e9 / (m as f64 * values as f64 * samples as f64);
    if a.format == Format::Table {
        say!(
            "{:<26} {:>9} {:>7} {:>10.4} {:>12}  {} ({ns:.2} ns per node-sample)",
            name,
            m,
            "-",
            secs,
            "-",
            backend
        );
    }
    rows.push(
        json!({"case": name, "nodes": m, "settings": values, "samples": samples,
        "seconds": secs, "ns_per_node_sample": ns, "backend": backend}),
    );
}
