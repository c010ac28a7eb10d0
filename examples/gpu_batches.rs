//! Per-batch overhead of the GPU engine on workloads of many batches (issue 18, item 9): the
//! wall time of each case (median and best of 5 runs), the median of wall time less the GPU
//! time of its passes (timestamp queries: the host's share, which pooling and double buffering
//! shrink), and what the engine's profile counted in the last run (submits, bytes, and the
//! per-batch buffers created or reused from the device context's pool).
//!
//! `cargo run --release --example gpu_batches` (needs an adapter; lavapipe will do).
//!
//! - `many-batches`: a mean bootstrap of 2000 replicates in 1000 batches (the engine pretends
//!   2 workgroups per dispatch dimension, so 2 replicates per batch; one submit and readback
//!   each);
//! - `many-ops`: 300 small bootstraps on one engine (one submit each): buffers reused across
//!   operations.

use ceteris::{Bootstrap, Dataset, Engine, GpuOptions, Statistic};
use std::time::Instant;

fn case(name: &str, engine: &Engine, mut f: impl FnMut()) {
    // per run: wall seconds, and wall minus the passes' GPU seconds (the host's share)
    let mut walls = Vec::new();
    let mut hosts = Vec::new();
    let mut last = None;
    for _ in 0..5 {
        engine.reset_profile();
        let t = Instant::now();
        f();
        let wall = t.elapsed().as_secs_f64();
        let p = engine.profile().expect("profiled");
        let gpu: f64 = p.kernels.iter().filter_map(|k| k.gpu_seconds).sum();
        walls.push(wall);
        hosts.push(wall - gpu);
        last = Some(p);
    }
    walls.sort_by(f64::total_cmp);
    hosts.sort_by(f64::total_cmp);
    println!(
        "{name:<14} wall median {:.4} s (min {:.4}), wall - GPU median {:.4} s over 5 runs; last run: {:?}",
        walls[2],
        walls[0],
        hosts[2],
        last.unwrap()
    );
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
            .resamples(2000)
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
