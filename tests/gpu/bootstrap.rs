//! Bootstrap replicates on the device against the CPU's, within the tolerance of the crate comment
//! (`assert_close`): every statistic under every scheme, Bayesian medians, quantiles of huge
//! resamples and of many draws, and OLS with more covariates than one sums pass holds.

use super::*;

/// Issue 2: every statistic (each CLI `--statistic`, the OLS intercept and a non-median quantile
/// included) under every scheme (strata = the treatment arm, clusters of 10 rows, blocks of 7).
#[test]
fn every_statistic_matches_cpu_under_every_scheme() {
    let Some(gpu) = common::gpu() else { return };
    let d = data(200);
    let cpu = Engine::cpu();
    for scheme in schemes() {
        for stat in statistics() {
            assert_close(&stat, &scheme, &cpu, gpu, &d);
        }
    }
}

#[test]
fn bayesian_quantiles_mostly_identical() {
    let Some(gpu) = common::gpu() else { return };
    let d = data(600);
    let boot = Bootstrap::new(Statistic::Quantile {
        column: s("x"),
        q: 0.5,
    })
    .scheme(Scheme::Bayesian)
    .resamples(64)
    .keep_replicates(true);
    let c = boot.run(&Engine::cpu(), &d).unwrap().replicates.unwrap();
    let g = boot.run(gpu, &d).unwrap().replicates.unwrap();
    let same = c.iter().zip(&g).filter(|(a, b)| a == b).count();
    assert!(same >= 63, "only {same} of 64 Bayesian medians identical");
}

/// Issue 2: the device counts resampled rows exactly (u32), so quantiles of resamples of 2^24 rows
/// or more are no longer refused, and they pick the CPU's ranks and interpolation weight exactly.
/// 2^24 + 12 345 rows in 1 031 clusters of unequal size: resample sizes above 2^24 that f32 cannot
/// hold (so h = (f32(m) − 1)·q rounds as on the CPU); clusters keep the draws few enough for
/// lavapipe. Bayesian weights are still summed in f32 and refused at that size.
#[test]
fn quantiles_of_huge_resamples_on_device_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let n = (1usize << 24) + 12_345;
    let d = Dataset::new()
        .with_column(
            "x",
            (0..n)
                .map(|i| ((i as u64 * 2_654_435_761) % 1_000_003) as f64)
                .collect(),
        )
        .unwrap()
        .with_column("g", (0..n).map(|i| (i % 1031) as f64).collect())
        .unwrap();
    for q in [0.5, 0.9] {
        let boot = Bootstrap::new(Statistic::Quantile { column: s("x"), q })
            .scheme(Scheme::Cluster { column: s("g") })
            .resamples(3)
            .seed(7)
            .keep_replicates(true)
            .methods(&[IntervalMethod::Percentile]);
        let c = boot.run(&Engine::cpu(), &d).unwrap();
        let g = boot.run(gpu, &d).unwrap();
        assert!(g.backend.starts_with("gpu"), "{}", g.backend);
        assert_eq!(c.replicates, g.replicates, "q = {q}");
    }
    let boot = Bootstrap::new(Statistic::Quantile {
        column: s("x"),
        q: 0.5,
    })
    .scheme(Scheme::Bayesian)
    .resamples(2);
    assert_limits(boot.run(gpu, &d), "2^24");
}

/// Quantiles of resamples of many draws (several chunks of 16 384): the rank search runs as short
/// dispatches, one workgroup per chunk of draws, so no shader invocation loops for long (on
/// lavapipe, one that passes 65 535 loop iterations is stopped: before this, one workgroup per
/// replicate searched over all the draws and n = 100 000 gave wrong ranks). Integer weights give
/// the CPU's values exactly, Bayesian ones within `assert_close`'s allowance.
#[test]
fn quantiles_of_many_draws_on_device_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let d = data(100_000);
    let cpu = Engine::cpu();
    for scheme in [
        Scheme::Iid,
        Scheme::Poisson,
        Scheme::Bayesian,
        Scheme::Stationary { block_length: 5.5 },
    ] {
        let boot = Bootstrap::new(Statistic::Quantile {
            column: s("x"),
            q: 0.5,
        })
        .scheme(scheme.clone())
        .resamples(4)
        .seed(3)
        .keep_replicates(true)
        .methods(&[IntervalMethod::Percentile]);
        let c = boot.run(&cpu, &d).unwrap().replicates.unwrap();
        let g = boot.run(gpu, &d).unwrap().replicates.unwrap();
        if scheme == Scheme::Bayesian {
            let same = c.iter().zip(&g).filter(|(a, b)| a == b).count();
            assert!(same >= 3, "{c:?} vs {g:?}");
        } else {
            assert_eq!(c, g, "{scheme:?}");
        }
    }
}

#[test]
fn ols_with_many_covariates_runs_on_device_in_feature_groups() {
    // OLS on 8 covariates needs 9·10/2 + 9 = 54 sums per replicate: more than the sums shader's
    // 32, so the device runs the features in groups over the same draws. Same tolerance as the
    // other sum-based statistics: within 1e-3 bootstrap standard errors (+1e-6 relative).
    let Some(gpu) = common::gpu() else { return };
    let n = 300;
    let names: Vec<String> = (0..8).map(|j| format!("c{j}")).collect();
    let mut d = Dataset::new();
    let mut y = common::normals(n, 500);
    for (j, name) in names.iter().enumerate() {
        let c = common::normals(n, 501 + j as u64);
        for (yi, ci) in y.iter_mut().zip(&c) {
            *yi += 0.3 * (j as f64 + 1.0) * ci;
        }
        d = d.with_column(name, c).unwrap();
    }
    let d = d.with_column("y", y).unwrap();
    for coefficient in ["c7", "intercept"] {
        let boot = Bootstrap::new(Statistic::Ols {
            outcome: s("y"),
            covariates: names.clone(),
            coefficient: s(coefficient),
        })
        .resamples(64)
        .seed(9)
        .keep_replicates(true);
        let c = boot.run(&Engine::cpu(), &d).unwrap();
        let g = boot.run(gpu, &d).unwrap();
        assert!(g.backend.starts_with("gpu"), "{}", g.backend);
        let (rc, rg) = (c.replicates.unwrap(), g.replicates.unwrap());
        assert_eq!(rc.len(), 64);
        for (a, b) in rc.iter().zip(&rg) {
            assert!(
                (a - b).abs() <= 1e-3 * c.std_error + 1e-6 * a.abs(),
                "{coefficient}: cpu {a} gpu {b}"
            );
        }
    }
}

/// Issue 19: a run split into a CPU shard and a GPU shard merges into a result whose integer
/// draws are the CPU's and whose replicates agree within the documented tolerance; the merged
/// intervals equal those of a run whose replicates are those of the two shards.
#[test]
fn cpu_and_gpu_shards_merge() {
    let Some(gpu) = common::gpu() else { return };
    let d = data(300);
    let cpu = Engine::cpu();
    let boot = Bootstrap::new(Statistic::Mean { column: s("x") })
        .resamples(200)
        .seed(4)
        .keep_replicates(true)
        .methods(&[IntervalMethod::Percentile]);
    let a = boot.shard(&cpu, &d, 0..120).unwrap();
    let b = boot.shard(gpu, &d, 120..200).unwrap();
    assert!(b.backend.starts_with("gpu"), "{}", b.backend);
    let merged = boot.combine(&d, &[b.clone(), a.clone()]).unwrap();
    let whole = boot.run(&cpu, &d).unwrap();
    let reps = merged.replicates.unwrap();
    let want = whole.replicates.unwrap();
    assert_eq!(reps.len(), 200);
    assert_eq!(&reps[..120], &want[..120]);
    for (g, c) in reps[120..].iter().zip(&want[120..]) {
        assert!(
            (g - c).abs() <= 1e-3 * whole.std_error + 1e-6 * c.abs(),
            "{g} vs {c}"
        );
    }
}
