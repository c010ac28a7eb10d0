//! `Engine::profile`: the counters and pass timestamps of a profiled GPU engine (lavapipe
//! offers timestamp queries), and `None` without profiling. Skipped without an adapter, as
//! every test of this binary (`common::gpu`).

use super::common;
use ceteris::{Bootstrap, Dataset, Engine, GpuOptions, IntervalMethod, Statistic};
use std::time::Instant;

fn profiled() -> Option<Engine> {
    common::gpu()?;
    Some(
        Engine::gpu_with(GpuOptions {
            profile: true,
            ..Default::default()
        })
        .unwrap(),
    )
}

#[test]
fn a_profiled_bootstrap_counts_dispatches_submits_and_bytes() {
    let Some(e) = profiled() else { return };
    let (n, b) = (1000usize, 200u64);
    let data = Dataset::synthetic(n, 3);
    let start = Instant::now();
    let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
        .resamples(b)
        .seed(5)
        .methods(&[IntervalMethod::Percentile])
        .run(&e, &data)
        .unwrap();
    let wall = start.elapsed().as_secs_f64();
    assert!(r.backend.starts_with("gpu"), "{}", r.backend);
    let p = e.profile().expect("a profiled engine reports");
    eprintln!("{p:?}");
    assert!(p.submits >= 1);
    assert!(!p.kernels.is_empty());
    assert!(p
        .kernels
        .iter()
        .all(|k| !k.name.is_empty() && k.dispatches > 0));
    // the result needs one f32 per replicate: at least that comes back, and not much more
    // (staging buffers round up; a handful of small readbacks besides)
    assert!(p.bytes_read_back >= 4 * b, "{p:?}");
    assert!(p.bytes_read_back <= 4 * 4 * b + 4096, "{p:?}");
    // the data went up: at least one f32 per row
    assert!(p.bytes_uploaded >= 4 * n as u64, "{p:?}");
    // every pass was timed, and the GPU time is within the wall time of the run
    let gpu: f64 = p
        .kernels
        .iter()
        .map(|k| k.gpu_seconds.expect("timestamps"))
        .sum();
    assert!(gpu > 0.0 && gpu <= wall, "gpu {gpu} s, wall {wall} s");
    e.reset_profile();
    let z = e.profile().unwrap();
    assert_eq!((z.submits, z.bytes_uploaded, z.bytes_read_back), (0, 0, 0));
    assert!(z.kernels.is_empty());
}

#[test]
fn a_profiled_permutation_null_names_its_kernel() {
    use ceteris::independence::{IndependenceTest, Null, Tester};
    let Some(e) = profiled() else { return };
    let data = Dataset::synthetic(300, 4);
    let t = Tester::new(
        &e,
        &data,
        IndependenceTest::hsic().null(Null::Permutation(50)),
    );
    t.test(&["x"], &["y"], &[]).unwrap();
    let p = e.profile().unwrap();
    assert!(p.kernels.iter().any(|k| k.name.contains("perm")), "{p:?}");
}

#[test]
fn engines_without_profiling_report_none() {
    assert_eq!(Engine::cpu().profile(), None);
    let Some(e) = common::gpu() else { return };
    let data = Dataset::synthetic(200, 1);
    Bootstrap::new(Statistic::Mean { column: "x".into() })
        .resamples(50)
        .run(e, &data)
        .unwrap();
    assert_eq!(e.profile(), None);
    e.reset_profile();
    assert_eq!(e.profile(), None);
}

/// Issue 18, item 9: a batch's output, staging and uniform buffers come from the engine's pool,
/// and a loop of batches keeps at most two in flight. 40 replicates at 2 per batch (the engine
/// pretends 2 workgroups per dimension) are 20 submits of one dispatch each (three buffers
/// each); at most two sets are created, and an identical second run creates none and gives the
/// same replicates bit for bit (a reused output buffer is cleared as a new one would be).
#[test]
fn batches_reuse_pooled_buffers() {
    if common::gpu().is_none() {
        return;
    }
    let e = Engine::gpu_with(GpuOptions {
        profile: true,
        max_workgroups_per_dimension: Some(2),
        ..Default::default()
    })
    .unwrap();
    let data = Dataset::synthetic(1000, 3);
    let boot = Bootstrap::new(Statistic::Mean { column: "x".into() })
        .resamples(40)
        .seed(5)
        .keep_replicates(true)
        .methods(&[IntervalMethod::Percentile]);
    let first = boot.run(&e, &data).unwrap();
    let p = e.profile().unwrap();
    assert_eq!(p.submits, 20, "{p:?}");
    assert_eq!(p.buffers_created + p.buffers_reused, 3 * p.submits, "{p:?}");
    assert!(p.buffers_created <= 6, "{p:?}");
    e.reset_profile();
    let second = boot.run(&e, &data).unwrap();
    let p = e.profile().unwrap();
    assert_eq!((p.buffers_created, p.buffers_reused), (0, 60), "{p:?}");
    assert_eq!(first.replicates, second.replicates);
}
