//! GPU f32 on ill-conditioned inputs (issue 19, item 9): the host predicts the f32 error of a
//! sum-based statistic from the f64 centred features and refuses the device beyond 1e-3
//! jackknife standard errors (`Error::Gpu { kind: "numerics" }`; `Engine::auto` and
//! `cpu_fallback` rerun on the CPU and say why in `fallback`). Before the check, lavapipe gave
//! the `corr` case below a bootstrap SE of 1.9e-8 against the CPU's 8.1e-10 (replicates up to
//! 80 SE off) and the `ols:a` case replicates up to 0.19 SE off.

use super::{common, fallback_gpu, gpu_engine};
use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Statistic};
use proptest::prelude::*;

fn boot(stat: Statistic, resamples: u64, seed: u64) -> Bootstrap {
    Bootstrap::new(stat)
        .resamples(resamples)
        .seed(seed)
        .keep_replicates(true)
        .methods(&[IntervalMethod::Percentile])
}

/// Replicates bit for bit (NaN included).
fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn corr() -> Statistic {
    Statistic::Corr {
        x: "x".into(),
        y: "y".into(),
    }
}

fn ols() -> Statistic {
    Statistic::Ols {
        outcome: "y".into(),
        covariates: vec!["a".into(), "b".into()],
        coefficient: "a".into(),
    }
}

/// Asserts that an explicit GPU engine refuses `b` on `d` with a `numerics` error, and that a
/// falling-back engine returns exactly the CPU's result with the reason in `fallback`.
fn assert_refused(b: &Bootstrap, d: &Dataset) {
    match b.run(&gpu_engine(None), d) {
        Err(ceteris::Error::Gpu { kind, message }) => {
            assert_eq!(kind, "numerics");
            assert!(message.contains("ill-conditioned"), "{message}");
        }
        other => panic!("expected a numerics GPU error, got {other:?}"),
    }
    let c = b.run(&Engine::cpu(), d).unwrap();
    let g = b.run(&fallback_gpu(None), d).unwrap();
    assert!(g.backend.starts_with("cpu"), "{}", g.backend);
    let why = g.fallback.expect("a fallback reason");
    assert!(
        why.contains("numerics") && why.contains("ill-conditioned"),
        "{why}"
    );
    assert_eq!(bits(&c.replicates.unwrap()), bits(&g.replicates.unwrap()));
    assert_eq!(c.std_error.to_bits(), g.std_error.to_bits());
}

/// Issue 19's `corr` case: r = 0.99999987, n = 1e5, x = 1e8 + N(0,1), y = 2x + 1e-3 N(0,1).
#[test]
fn near_perfect_correlation_is_refused_and_falls_back() {
    let n = 100_000;
    let (z, e) = (common::normals(n, 31), common::normals(n, 32));
    let x: Vec<f64> = z.iter().map(|v| 1e8 + v).collect();
    let y: Vec<f64> = x.iter().zip(&e).map(|(a, b)| 2.0 * a + 1e-3 * b).collect();
    let d = Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap();
    assert_refused(&boot(corr(), 500, 3), &d);
}

/// Issue 19's `ols:a` case: b = a + 1e-3 N(0,1).
#[test]
fn near_collinear_ols_is_refused_and_falls_back() {
    let n = 100_000;
    let (a, e, u) = (
        common::normals(n, 33),
        common::normals(n, 34),
        common::normals(n, 35),
    );
    let b: Vec<f64> = a.iter().zip(&e).map(|(a, e)| a + 1e-3 * e).collect();
    let y: Vec<f64> = (0..n).map(|i| 1.0 + a[i] + b[i] + u[i]).collect();
    let d = Dataset::new()
        .with_column("a", a)
        .unwrap()
        .with_column("b", b)
        .unwrap()
        .with_column("y", y)
        .unwrap();
    assert_refused(&boot(ols(), 200, 3), &d);
}

/// Ill-conditioned data: `x = offset + scale · z`, `y = 2x + noise · scale · e` (|r| → 1 as
/// `noise` → 0), near-collinear covariates `a = z`, `b = z + noise · e`, outcome `a + b + u`.
fn ill(n: usize, seed: u64, offset: f64, scale: f64, noise: f64) -> Dataset {
    let (z, e, u) = (
        common::normals(n, seed),
        common::normals(n, seed + 1),
        common::normals(n, seed + 2),
    );
    let x: Vec<f64> = z.iter().map(|v| offset + scale * v).collect();
    let y: Vec<f64> = (0..n).map(|i| 2.0 * x[i] + noise * scale * e[i]).collect();
    let b: Vec<f64> = (0..n).map(|i| z[i] + noise * e[i]).collect();
    let yo: Vec<f64> = (0..n)
        .map(|i| offset + z[i] + b[i] + scale * u[i])
        .collect();
    Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("a", z)
        .unwrap()
        .with_column("b", b)
        .unwrap()
        .with_column("yo", yo)
        .unwrap()
}

fn statistic(i: usize) -> Statistic {
    match i {
        0 => corr(),
        1 => Statistic::Ols {
            outcome: "yo".into(),
            covariates: vec!["a".into(), "b".into()],
            coefficient: "b".into(),
        },
        2 => Statistic::Variance { column: "x".into() },
        3 => Statistic::Mean { column: "y".into() },
        _ => Statistic::RatioMeans {
            numerator: "y".into(),
            denominator: "x".into(),
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// Every sum-based statistic on ill-conditioned data (|r| → 1, near-collinear designs, large
    /// offsets, tiny spreads) is either within 1e-3 bootstrap standard errors of the CPU in every
    /// replicate (the documented tolerance, without its 1e-6 relative allowance), or refused and
    /// rerun on the CPU with the reason in `fallback`.
    #[test]
    fn ill_conditioned_inputs_are_accurate_or_fall_back(
        n in 200usize..3000,
        seed in 0u64..1000,
        offset in prop::sample::select(vec![0.0, 1e4, 1e8, -1e12]),
        scale in prop::sample::select(vec![1e-30, 1e-6, 1.0, 1e6]),
        noise in prop::sample::select(vec![1e-9, 1e-6, 1e-3, 1e-1, 1.0]),
        stat in 0usize..5,
    ) {
        let d = ill(n, 100 + seed * 3, offset, scale, noise);
        let b = boot(statistic(stat), 48, seed);
        let c = match b.run(&Engine::cpu(), &d) {
            Ok(c) => c,
            // e.g. a spread lost to the offset in f64 (a constant column): the same error
            Err(e) => {
                let g = b.run(&fallback_gpu(None), &d);
                prop_assert_eq!(g.err().map(|g| g.to_string()), Some(e.to_string()));
                return Ok(());
            }
        };
        let g = b.run(&fallback_gpu(None), &d).unwrap();
        let (cr, gr) = (c.replicates.clone().unwrap(), g.replicates.clone().unwrap());
        match &g.fallback {
            Some(why) => {
                prop_assert!(why.contains("numerics"), "{why}");
                prop_assert_eq!(bits(&cr), bits(&gr));
            }
            None => {
                prop_assert!(g.backend.starts_with("gpu"), "{}", g.backend);
                for (a, x) in cr.iter().zip(&gr) {
                    prop_assert_eq!(a.is_finite(), x.is_finite());
                    if a.is_finite() {
                        prop_assert!((a - x).abs() <= 1e-3 * c.std_error,
                            "{:?}: cpu {} gpu {} se {}", statistic(stat), a, x, c.std_error);
                    }
                }
            }
        }
    }
}
