//! Device limits: storage bindings smaller than the data (chunked uploads and batches, feature
//! tables summed in several passes), draws beyond one dispatch row, and the CPU fallback (with its
//! reason) when a limit is hit.

use super::*;

#[test]
fn chunked_uploads_and_batches_match() {
    if common::gpu().is_none() {
        return;
    }
    // 1 KiB bindings: 1000 rows x 1 feature (4 bytes) span 4 feature pages of 256 rows, and the
    // outputs span several batches.
    let small = gpu_engine(Some(1024));
    let d = data(1000);
    let boot = Bootstrap::new(Statistic::Mean { column: s("x") })
        .resamples(200)
        .keep_replicates(true);
    let c = boot.run(&Engine::cpu(), &d).unwrap();
    let g = boot.run(&small, &d).unwrap();
    for (a, b) in c.replicates.unwrap().iter().zip(g.replicates.unwrap()) {
        assert!((a - b).abs() <= 1e-3 * c.std_error, "{a} vs {b}");
    }
}

/// Issue 2: a feature table larger than the four bound pages is no longer refused; it is summed in
/// several passes over unit ranges (each pass regenerates the same draws and adds those whose unit
/// its pages hold; weight schemes run only the chunks of their units). 1 KiB bindings: 2000 rows
/// of one feature are 8 pages (2 passes); the five features of a correlation 40 pages (10
/// passes); clusters of 10 rows fewer. Every sum-based statistic under every scheme, within the
/// documented tolerance of the CPU's replicates (`assert_close`).
#[test]
fn feature_tables_beyond_four_bindings_run_in_passes() {
    if common::gpu().is_none() {
        return;
    }
    let small = gpu_engine(Some(1024));
    let d = data(2000);
    let cpu = Engine::cpu();
    for scheme in schemes() {
        for stat in statistics() {
            if !matches!(stat, Statistic::Quantile { .. }) {
                assert_close(&stat, &scheme, &cpu, &small, &d);
            }
        }
    }
}

/// Issue 2: more chunks per replicate than workgroups allowed per dimension (65 535 chunks of
/// 16 384 draws, ~1.07e9 draws, on a real device) run as several dispatches in one submit, each
/// told its first chunk. Pretending the limit is 2 workgroups: 40 000 rows are 3 chunks (two
/// dispatches per pass) and replicates go 2 per batch. Draws equal the CPU's bit for bit; sums
/// within the tolerance, also with 16 KiB bindings (an OLS feature table in several passes).
#[test]
fn draws_beyond_one_dispatch_row_are_split() {
    if common::gpu().is_none() {
        return;
    }
    let engine = |max_binding_bytes| {
        Engine::gpu_with(GpuOptions {
            max_binding_bytes,
            max_workgroups_per_dimension: Some(2),
            ..Default::default()
        })
        .unwrap()
    };
    let (narrow, paged) = (engine(None), engine(Some(16 << 10)));
    // describe() reports the limits in use, not the adapter's
    assert!(
        narrow.describe().contains("max workgroups/dim 2"),
        "{}",
        narrow.describe()
    );
    assert!(paged.describe().contains("max storage binding 16 KiB"));
    let d = data(40_000);
    let cpu = Engine::cpu();
    for scheme in schemes() {
        let boot = Bootstrap::new(Statistic::Mean { column: s("x") })
            .scheme(scheme.clone())
            .seed(11);
        let c = boot.draws(&cpu, &d, 3..8).unwrap();
        let g = boot.draws(&narrow, &d, 3..8).unwrap();
        assert_draws_match(&c, &g, &scheme);
        assert_close(
            &Statistic::Mean { column: s("x") },
            &scheme,
            &cpu,
            &narrow,
            &d,
        );
    }
    let ols = Statistic::Ols {
        outcome: s("y"),
        covariates: vec![s("z"), s("t")],
        coefficient: s("t"),
    };
    for scheme in [Scheme::Iid, Scheme::Poisson, Scheme::Bayesian] {
        assert_close(&ols, &scheme, &cpu, &paged, &d);
    }
}

#[test]
fn gpu_failure_falls_back_to_cpu_with_reason() {
    if common::gpu().is_none() {
        return;
    }
    let engine = fallback_gpu(Some(1024));
    // the ranks of 2000 rows (8000 bytes) must fit one binding
    let d = data(2000);
    let boot = Bootstrap::new(Statistic::Quantile {
        column: s("x"),
        q: 0.5,
    })
    .resamples(50)
    .keep_replicates(true);
    let r = boot.run(&engine, &d).unwrap();
    assert!(r.backend.starts_with("cpu"), "{}", r.backend);
    assert!(
        r.fallback.as_deref().unwrap_or("").contains("limits"),
        "{:?}",
        r.fallback
    );
    let c = boot.run(&Engine::cpu(), &d).unwrap();
    assert_eq!(r.replicates, c.replicates);
}
