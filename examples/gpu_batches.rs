//! Per-batch overhead of the GPU engine on workloads of many batches (issue 18, item 9): the
//! time of each case (best of 3) and what the engine's profile counted (submits, bytes, and the
//! per-batch buffers created or reused from the device context's pool).
//!
//! `cargo run --release --example gpu_batches` (needs an adapter; lavapipe will do).
//!
//! - `many-batches`: a mean bootstrap of 1000 replicates in 500 batches (the engine pretends
//!   2 workgroups per dispatch dimension, so 2 replicates per batch; one submit and readback
//!   each);
//! - `many-ops`: 300 small bootstraps on one engine (one submit each): buffers reused across
//!   operations.

use ceteris::{Bootstrap, Dataset, Engine, GpuOptions, Statistic};
use std::time::Instant;

fn case(name: &str, engine: &Engine, mut f: impl FnMut()) {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        engine.reset_profile();
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let p = engine.profile().expect("profiled");
    let gpu: f64 = p.kernels.iter().filter_map(|k| k.gpu_seconds).sum();
    println!("{name:<14} best of 3: {best:.4} s (GPU time {gpu:.4} s)  last run: {p:?}");
}

fn main() {
    ceteris::quiet_display_layers();
    let open = |max_workgroups_per_dimension| {
        Engine::gpu_with(GpuOptions {
            max_workgroups_per_dimension,
            profile: true,
            ..Default::default()
        })
    };
    let engine = match open(Some(2)) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("no GPU engine: {e}");
            return;
        }
    };
    println!("{}", engine.describe());
    let data = Dataset::synthetic(1000, 1);
    let mean = || Statistic::Mean { column: "x".into() };
    case("many-batches", &engine, || {
        Bootstrap::new(mean())
            .resamples(1000)
            .run(&engine, &data)
            .unwrap();
    });
    let engine = open(None).unwrap();
    let small = Dataset::synthetic(200, 1);
    case("many-ops", &engine, || {
        for seed in 0..300 {
            Bootstrap::new(mean())
                .resamples(20)
                .seed(seed)
                .run(&engine, &small)
                .unwrap();
        }
    });
}
