//! The effect estimators' batched refit on the device (`shaders/refit.wgsl`) against the CPU's
//! f64 fits: the same replicates (the same draws, regenerated on the device) for every
//! estimator and scheme, to the f32 tolerance.
//!
//! Tolerance: the device sums in f32 (runs of 64 draws, then a tree; the host adds the
//! workgroups' partials in f64) and stops the propensity's fixed-point iteration at
//! `1e-6 · (1 + max|β|)` (the CPU at 1e-10), so a replicate's nuisance fits are off by about
//! 1e-6 relative and its estimate by a few 1e-6 of the outcome's scale. We require
//! `|gpu − cpu| ≤ 1e-3 · se + 1e-5 · (1 + |cpu|)` (`se` the CPU's bootstrap standard error),
//! far below the Monte-Carlo error of any interval endpoint; replicates that fail (NaN) must
//! fail on both.

use super::{data, schemes};
use ceteris::bootstrap::{EffectBootstrap, Estimator};
use ceteris::{Engine, IntervalMethod};

#[test]
fn refit_replicates_match_cpu_for_every_estimator_and_scheme() {
    let Some(gpu) = super::common::gpu() else {
        return;
    };
    let d = data(600);
    let mut worst = 0.0f64;
    for scheme in schemes() {
        for (est, penalty, clip) in [
            (Estimator::Ipw, 0.0, None),
            (Estimator::Hajek, 0.0, None),
            (Estimator::Aipw, 0.0, None),
            (Estimator::Att, 0.0, None),
            (Estimator::AipwAtt, 0.0, None),
            (Estimator::Aipw, 0.5, Some(0.05)),
            (Estimator::AipwAtt, 0.5, Some(0.05)),
        ] {
            let mut b = EffectBootstrap::new(est, "t", "y", &["z", "x"])
                .penalty(penalty)
                .scheme(scheme.clone())
                .resamples(40)
                .seed(9)
                .methods(&[IntervalMethod::Percentile])
                .keep_replicates(true);
            if let Some(a) = clip {
                b = b.clip(a);
            }
            let c = b.run(&Engine::cpu(), &d).unwrap();
            let g = b.run(gpu, &d).unwrap();
            assert!(!g.backend.starts_with("cpu"), "{}", g.backend);
            assert_eq!(g.fallback, None);
            assert_eq!(c.failed_resamples, g.failed_resamples, "{scheme:?} {est:?}");
            let (cr, gr) = (c.replicates.unwrap(), g.replicates.unwrap());
            for (x, y) in cr.iter().zip(&gr) {
                assert_eq!(x.is_nan(), y.is_nan(), "{scheme:?} {est:?}");
                if x.is_nan() {
                    continue;
                }
                let tol = 1e-3 * c.std_error + 1e-5 * (1.0 + x.abs());
                worst = worst.max((x - y).abs() / tol);
                assert!(
                    (x - y).abs() <= tol,
                    "{scheme:?} {est:?} penalty {penalty}: cpu {x} gpu {y} (tol {tol})"
                );
            }
        }
    }
    eprintln!("refit parity: largest |gpu - cpu| / tol = {worst:.3}");
}

/// A device limit (here a 1 KiB binding, smaller than the row table) is a `limits` error on
/// `Engine::gpu()`, and a GPU engine with the CPU fallback (as `Engine::auto()` builds it)
/// reruns the refit on the CPU, saying why, with the CPU's replicates.
#[test]
fn refit_falls_back_to_cpu_with_reason() {
    if super::common::gpu().is_none() {
        return;
    }
    let d = data(2000);
    let b = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["z", "x"])
        .resamples(30)
        .seed(2)
        .methods(&[IntervalMethod::Percentile])
        .keep_replicates(true);
    match b.run(&super::gpu_engine(Some(1024)), &d) {
        Err(ceteris::Error::Gpu { kind, .. }) => assert_eq!(kind, "limits"),
        other => panic!("expected a limits error, got {other:?}"),
    }
    let r = b.run(&super::fallback_gpu(Some(1024)), &d).unwrap();
    assert!(r.backend.starts_with("cpu"), "{}", r.backend);
    assert!(
        r.fallback.as_deref().unwrap_or("").contains("limits"),
        "{:?}",
        r.fallback
    );
    let c = b.run(&Engine::cpu(), &d).unwrap();
    assert_eq!(r.replicates, c.replicates);
}

/// More than `IID_BLOCK` rows (eng18a): the iid and stratified draws come from block totals the
/// host binds per batch (`Upload::bind_reps`), and the device's refit replicates still match the
/// CPU's to the tolerance above.
#[test]
fn refit_replicates_match_cpu_with_iid_blocks() {
    let Some(gpu) = super::common::gpu() else {
        return;
    };
    let d = data(9000);
    for scheme in [
        ceteris::Scheme::Iid,
        ceteris::Scheme::Stratified { column: "t".into() },
    ] {
        let b = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["z", "x"])
            .scheme(scheme.clone())
            .resamples(6)
            .seed(4)
            .methods(&[IntervalMethod::Percentile])
            .keep_replicates(true);
        let c = b.run(&Engine::cpu(), &d).unwrap();
        let g = b.run(gpu, &d).unwrap();
        assert_eq!(g.fallback, None);
        let (cr, gr) = (c.replicates.unwrap(), g.replicates.unwrap());
        for (x, y) in cr.iter().zip(&gr) {
            let tol = 1e-3 * c.std_error + 1e-5 * (1.0 + x.abs());
            assert!(
                (x - y).abs() <= tol,
                "{scheme:?}: cpu {x} gpu {y} (tol {tol})"
            );
        }
    }
}
