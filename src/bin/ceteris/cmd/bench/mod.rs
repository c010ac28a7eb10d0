//! `ceteris bench`: its arguments, the driver that checks them, picks the engines and runs each
//! capability's cases in turn (one file each here), and the JSON report. The synthetic data and
//! the naive reference loop come from [`ceteris::synthetic`], which the criterion benches share.

mod bootstrap;
mod discovery;
mod gpu_targets;
mod independence;
mod scm;
mod work_index;

use crate::output::print_json;
use crate::Format;
use ceteris::{Engine, Error};
use serde_json::json;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Smaller sizes (seconds instead of minutes).
    #[arg(long)]
    quick: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Backends to run: all (the CPU and the GPU engine, when an adapter is found), cpu or gpu.
    #[arg(long, default_value = "all")]
    backend: String,
    /// Capabilities to run: all, bootstrap, independence, scm, scm-large (1000 × 100 000 sweep,
    /// also in a full `all` run), discovery, or gpu-targets (the issues' GPU targets, GPU engines
    /// only, not part of `all`).
    #[arg(long, default_value = "all")]
    only: String,
    /// Write the SCM case's model (scm-json/v1) to this file, for the rival benchmarks.
    #[arg(long)]
    save_model: Option<String>,
    /// After each case on a GPU engine, report its GPU time per kernel (timestamp queries, when
    /// the adapter offers them), dispatches, submits and bytes uploaded and read back (an error
    /// with `--backend cpu`, which has nothing to profile).
    #[arg(long)]
    profile: bool,
    /// With `--only work-index`: timed runs per workload and engine, the best counting
    /// (default 3).
    #[arg(long)]
    repeat: Option<u32>,
    /// With `--only work-index`: fail (exit status 2) when a workload's index exceeds this
    /// (default 1.5).
    #[arg(long)]
    max_index: Option<f64>,
}

/// Runs `ceteris bench`: the bootstrap cases on the CPU and GPU engines, then those of the other
/// capabilities that `--only` selects, as a table (one line per case as it finishes) or as one
/// JSON document at the end.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    let scale = if a.quick { 10 } else { 1 };
    if !["all", "cpu", "gpu"].contains(&a.backend.as_str()) {
        return Err(Error::param(
            "backend",
            format!("unknown backend `{}` (all, cpu, gpu)", a.backend),
        ));
    }
    if ![
        "all",
        "bootstrap",
        "independence",
        "scm",
        "scm-large",
        "discovery",
        "gpu-targets",
        "work-index",
    ]
    .contains(&a.only.as_str())
    {
        return Err(Error::param(
            "only",
            format!(
                "unknown capability `{}` (all, bootstrap, independence, scm, scm-large, \
                 discovery, gpu-targets, work-index)",
                a.only
            ),
        ));
    }
    if a.profile && a.backend == "cpu" {
        return Err(Error::param(
            "profile",
            "`--profile` reports GPU kernels, submits and transfers: it needs `--backend gpu` or `all`",
        ));
    }
    if a.only == "work-index" {
        return work_index(&a);
    }
    for (set, flag) in [
        (a.repeat.is_some(), "repeat"),
        (a.max_index.is_some(), "max-index"),
    ] {
        if set {
            return Err(Error::param(
                flag,
                format!("`--{flag}` applies to `--only work-index` only"),
            ));
        }
    }
    let mut engines: Vec<Engine> = Vec::new();
    if a.backend == "all" || a.backend == "cpu" {
        engines.push(Engine::cpu());
    }
    if a.backend == "all" || a.backend == "gpu" {
        match gpu_engine(&a) {
            // full sizes on a software rasteriser would take hours and say nothing about GPUs
            Ok(e) if e.is_software_gpu() && !a.quick && a.backend != "gpu" => eprintln!(
                "bench: skipping the software adapter at full sizes ({}); use --quick or --backend gpu",
                e.describe()
            ),
            Ok(e) => engines.push(e),
            Err(e) => eprintln!("bench: no GPU backend ({e})"),
        }
    }
    let mut rows = Vec::new();
    if a.format == Format::Table {
        say!(
            "{:<26} {:>9} {:>7} {:>10} {:>12}  backend",
            "case",
            "n",
            "B",
            "seconds",
            "Mdraws/s"
        );
    }
    if a.only == "all" || a.only == "bootstrap" {
        bootstrap::run(&a, scale, &engines, &mut rows)?;
    }
    if a.only == "all" || a.only == "independence" {
        independence::run(&a, scale, &mut rows);
    }
    if a.only == "all" || a.only == "scm" {
        scm::run(&a, scale, &mut rows)?;
    }
    if (a.only == "all" && !a.quick) || a.only == "scm-large" {
        scm::run_large(&a, &mut rows)?;
    }
    if a.only == "gpu-targets" {
        gpu_targets::run(&a, &mut rows)?;
    }
    if a.only == "all" || a.only == "discovery" {
        discovery::run(&a, scale, &mut rows)?;
    }
    if a.format == Format::Json {
        print_json(&json!({ "quick": a.quick, "results": rows }));
    }
    Ok(())
}

/// `--only work-index`: checks the flags it would ignore, finds the GPU engine and runs it.
fn work_index(a: &Args) -> Result<(), Error> {
    if a.backend == "cpu" {
        return Err(Error::param(
            "backend",
            "`--only work-index` compares the GPU engine with the CPU: it needs `--backend gpu` or `all`",
        ));
    }
    if a.profile {
        return Err(Error::param(
            "profile",
            "`--only work-index` times whole workloads: `--profile` does not apply",
        ));
    }
    if a.save_model.is_some() {
        return Err(Error::param(
            "save-model",
            "`--only work-index` writes no model: `--save-model` does not apply",
        ));
    }
    let repeat = a.repeat.unwrap_or(3);
    if repeat == 0 {
        return Err(Error::param("repeat", "must be at least 1"));
    }
    let max_index = a.max_index.unwrap_or(1.5);
    if max_index.is_nan() || max_index <= 0.0 {
        return Err(Error::param(
            "max-index",
            format!("must be a positive number, got {max_index}"),
        ));
    }
    work_index::run(a, &gpu_engine(a)?, repeat, max_index)
}

/// The engines of the `bench` cases that have a GPU path: the CPU unless `--backend gpu`, and a
/// GPU engine unless `--backend cpu` (a software adapter only with `--quick` or `--backend gpu`:
/// lavapipe timings say nothing about a GPU).
fn bench_engines(a: &Args) -> Vec<Engine> {
    let mut engines = Vec::new();
    if a.backend != "gpu" {
        engines.push(Engine::cpu());
    }
    if a.backend != "cpu" {
        if let Ok(g) = gpu_engine(a) {
            if a.quick || !g.is_software_gpu() || a.backend == "gpu" {
                engines.push(g);
            }
        }
    }
    engines
}

/// The GPU engine of `bench` (profiled under `--profile`).
fn gpu_engine(a: &Args) -> Result<Engine, Error> {
    Engine::gpu_with(ceteris::GpuOptions {
        profile: a.profile,
        ..Default::default()
    })
}

/// Under `--profile`, after a case on a GPU `engine`: adds what the engine did (its
/// [`ceteris::Profile`], keys the struct's fields) to the case's row, the last of `rows`, as
/// `profile`, prints it under the case's table line, and resets the counters for the next case.
fn profile_case(a: &Args, engine: &Engine, rows: &mut [serde_json::Value]) {
    let Some(p) = engine.profile().filter(|_| a.profile) else {
        return;
    };
    engine.reset_profile();
    if a.format == Format::Table {
        say!(
            "  profile: {} submits, {} bytes uploaded, {} bytes read back, {} buffers created, {} reused",
            p.submits,
            p.bytes_uploaded,
            p.bytes_read_back,
            p.buffers_created,
            p.buffers_reused
        );
        for k in &p.kernels {
            say!(
                "    {:<22} {:>9} dispatches {:>12}",
                k.name,
                k.dispatches,
                match k.gpu_seconds {
                    Some(s) => format!("{:.6} s", s),
                    None => "(no timer)".into(),
                }
            );
        }
    }
    if let Some(serde_json::Value::Object(row)) = rows.last_mut() {
        row.insert(
            "profile".into(),
            serde_json::to_value(&p).expect("a profile serialises"),
        );
    }
}
