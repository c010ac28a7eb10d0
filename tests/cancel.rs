//! The cancellation hook ([`Cancel`]): a run with a token that is never cancelled returns exactly
//! what it returns without one (the slices are shards of the one run), a cancelled run returns
//! `Error::Cancelled` (never a panic), and [`Sweep::shard`] gives the whole sweep's points.
//! Also [`BootstrapOptions`], the refit and option rules the CLI and the Python binding share.

use ceteris::bootstrap::{BootstrapOptions, BootstrapRun};
use ceteris::discovery::Pc;
use ceteris::independence::{IndependenceTest, Query, Tester};
use ceteris::scm::{Intervention, Node, Noise, Scm, Sweep};
use ceteris::{Bootstrap, Cancel, Dataset, Engine, Error, IntervalMethod, Statistic};
use std::sync::atomic::{AtomicU32, Ordering};

#[path = "common/mod.rs"]
mod common;

fn data() -> Dataset {
    Dataset::synthetic(400, 3)
}

/// A token whose poll cancels at its `k`-th check.
fn cancel_at(k: u32) -> (Cancel, std::sync::Arc<AtomicU32>) {
    let polls = std::sync::Arc::new(AtomicU32::new(0));
    let p = polls.clone();
    (
        Cancel::with_poll(move || p.fetch_add(1, Ordering::Relaxed) + 1 >= k),
        polls,
    )
}

#[test]
fn bootstrap_with_a_token_is_the_same_run() {
    let d = data();
    let e = Engine::cpu();
    for stat in [
        Statistic::Mean { column: "y".into() },
        Statistic::Quantile {
            column: "y".into(),
            q: 0.3,
        },
    ] {
        // 300 000 replicates: 128 slices of 2344
        let boot = Bootstrap::new(stat)
            .resamples(300_000)
            .seed(5)
            .methods(&[IntervalMethod::Percentile, IntervalMethod::Basic])
            .keep_replicates(true);
        let plain = boot.run(&e, &d).unwrap();
        let last = AtomicU32::new(0);
        let tick = |done: u64, total: u64| {
            assert_eq!(total, 300_000);
            last.fetch_max(done as u32, Ordering::Relaxed);
        };
        let token = boot
            .clone()
            .cancel(&Cancel::new())
            .run_with_progress(&e, &d, Some(&tick))
            .unwrap();
        assert_eq!(
            last.into_inner(),
            300_000,
            "progress counts over the slices"
        );
        assert_eq!(plain.intervals, token.intervals);
        assert_eq!(plain.std_error.to_bits(), token.std_error.to_bits());
        let (a, b) = (plain.replicates.unwrap(), token.replicates.unwrap());
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

#[test]
fn a_cancelled_bootstrap_stops_between_slices() {
    let d = data();
    let (c, polls) = cancel_at(3);
    let boot = Bootstrap::new(Statistic::Mean { column: "y".into() })
        .resamples(1_000_000)
        .cancel(&c);
    let r = boot.run(&Engine::cpu(), &d);
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert_eq!(
        polls.load(Ordering::Relaxed),
        3,
        "no check after the cancel"
    );
    assert_eq!(Error::Cancelled.to_string(), "cancelled");
}

fn queries() -> Vec<Query> {
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let mut q = Vec::new();
    for (x, y) in [("x", "y"), ("t", "y"), ("w", "t"), ("x", "w")] {
        for z in [&[][..], &["z"][..]] {
            q.push((s(&[x]), s(&[y]), s(z)));
        }
    }
    (0..3).flat_map(|_| q.clone()).collect()
}

#[test]
fn a_batch_with_a_token_is_the_same_batch() {
    let d = data();
    let e = Engine::cpu();
    let q = queries();
    for test in [
        IndependenceTest::kci(),
        IndependenceTest::rcot().seed(3),
        IndependenceTest::fisher_z(),
    ] {
        let plain = Tester::new(&e, &d, test.clone()).batch(&q);
        let token = Tester::new(&e, &d, test).cancel(&Cancel::new()).batch(&q);
        for (a, b) in plain.iter().zip(&token) {
            let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap());
            assert_eq!(a.p_value.to_bits(), b.p_value.to_bits());
            assert_eq!(a.statistic.to_bits(), b.statistic.to_bits());
        }
    }
    // cancelled at the second chunk: the first chunk's answers, then Cancelled
    let (c, _) = cancel_at(2);
    let out = Tester::new(&e, &d, IndependenceTest::kci())
        .cancel(&c)
        .batch(&q);
    assert_eq!(out.len(), q.len());
    assert!(out[0].is_ok());
    assert!(matches!(out[q.len() - 1], Err(Error::Cancelled)));
}

#[test]
fn a_cancelled_search_returns_cancelled() {
    let d = data();
    let (c, _) = cancel_at(2);
    let r = Pc::new(IndependenceTest::fisher_z()).cancel(&c).run(
        &Engine::cpu(),
        &d,
        &["x", "y", "z", "w", "t"],
    );
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    // not cancelled: the same graph as without a token
    let a = Pc::new(IndependenceTest::fisher_z())
        .cancel(&Cancel::new())
        .run(&Engine::cpu(), &d, &["x", "y", "z", "w", "t"])
        .unwrap();
    let b = Pc::new(IndependenceTest::fisher_z())
        .run(&Engine::cpu(), &d, &["x", "y", "z", "w", "t"])
        .unwrap();
    assert_eq!(a.marks(), b.marks());
}

fn model() -> Scm {
    Scm::new(vec![
        Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear(
            "M",
            0.5,
            &[("X", 1.0)],
            Noise::Uniform {
                low: -1.0,
                high: 1.0,
            },
        ),
        Node::linear(
            "Y",
            0.0,
            &[("M", 2.0), ("X", -1.0)],
            Noise::Normal { scale: 0.3 },
        ),
    ])
    .unwrap()
}

#[test]
fn sweep_shards_and_tokens_give_the_whole_sweep() {
    let scm = model();
    let e = Engine::cpu();
    let sets: Vec<Vec<Intervention>> = (0..40)
        .map(|k| vec![Intervention::atomic("X", k as f64 / 10.0)])
        .collect();
    for crn in [false, true] {
        let sweep = Sweep::new("Y", sets.clone())
            .samples(3000)
            .seed(4)
            .nodes(&["M"])
            .quantiles(&[0.25, 0.5])
            .common_random_numbers(crn);
        let whole = sweep.run(&e, &scm).unwrap();
        let token = sweep.clone().cancel(&Cancel::new()).run(&e, &scm).unwrap();
        let mut parts = Vec::new();
        for r in [0..7, 7..8, 8..40] {
            parts.extend(sweep.shard(&e, &scm, r).unwrap().points);
        }
        for other in [&token.points, &parts] {
            assert_eq!(other.len(), 40);
            for (a, b) in whole.points.iter().zip(other) {
                assert_eq!(a.mean.to_bits(), b.mean.to_bits());
                assert_eq!(a.variance.to_bits(), b.variance.to_bits());
                assert_eq!(a.quantiles, b.quantiles);
                assert_eq!(a.interventions, b.interventions);
                assert_eq!(a.nodes["M"].mean.to_bits(), b.nodes["M"].mean.to_bits());
            }
        }
    }
    let sweep = Sweep::new("Y", sets);
    let (c, _) = cancel_at(2);
    let r = sweep.clone().cancel(&c).run(&e, &scm);
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    let bad = sweep.shard(&e, &scm, 30..41).unwrap_err().to_string();
    assert!(bad.contains("range"), "{bad}");
}

#[test]
fn bootstrap_options_pick_the_run_and_refuse_ignored_options() {
    let d = data();
    let e = Engine::cpu();
    // a built-in statistic: the same run as the builder's
    let mut o = BootstrapOptions::new("diff-means");
    o.roles.treatment = Some("t".into());
    o.roles.outcome = Some("y".into());
    o.resamples = 2000;
    o.seed = 9;
    let run = o.build().unwrap();
    assert!(matches!(run, BootstrapRun::Statistic(_)));
    let direct = Bootstrap::new(Statistic::DiffMeans {
        treatment: "t".into(),
        outcome: "y".into(),
    })
    .resamples(2000)
    .seed(9)
    .run(&e, &d)
    .unwrap();
    assert_eq!(run.run(&e, &d).unwrap().intervals, direct.intervals);
    // refit: covariates; its own options
    let mut r = BootstrapOptions::new("aipw");
    r.roles.treatment = Some("t".into());
    r.roles.outcome = Some("y".into());
    r.roles.covariates = vec!["x".into(), "z".into()];
    r.crossfit = Some(2);
    assert!(matches!(r.build().unwrap(), BootstrapRun::Refit(_)));
    type Set = Box<dyn Fn(&mut BootstrapOptions)>;
    let cases: Vec<(&str, Set)> = vec![
        ("mu0", Box::new(|o| o.roles.mu0 = Some("y".into()))),
        ("weights", Box::new(|o| o.roles.weights = Some("y".into()))),
        ("column", Box::new(|o| o.columns = vec!["y".into()])),
    ];
    for (name, set) in cases {
        let mut bad = r.clone();
        set(&mut bad);
        let e = bad.build_spelled(&|f| format!("--{f}")).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name: n, .. } if n == name),
            "{name}: {e}"
        );
        assert!(e.to_string().contains(&format!("--{name}")), "{e}");
    }
    // crossfit is aipw's only; trim and penalty need a refit; att needs covariates
    let mut c = r.clone();
    c.statistic = "ipw".into();
    assert!(c.build().unwrap_err().to_string().contains("crossfit"));
    let mut t = BootstrapOptions::new("ipw");
    t.penalty = Some(1.0);
    assert!(t.build().unwrap_err().to_string().contains("penalty"));
    let missing = BootstrapOptions {
        roles: ceteris::Roles {
            covariates: vec!["x".into()],
            treatment: Some("t".into()),
            ..Default::default()
        },
        ..BootstrapOptions::new("hajek")
    };
    assert!(missing
        .build()
        .unwrap_err()
        .to_string()
        .contains("`outcome`"));
    let att = BootstrapOptions::new("att").build().unwrap_err();
    assert!(att.to_string().contains("covariates"), "{att}");
}

#[test]
fn custom_bootstrap_with_a_token_is_the_same_run() {
    let d = data();
    let e = Engine::cpu();
    let mean = |d: &Dataset, w: &[f64]| {
        let y = d.column("y").unwrap();
        y.iter().zip(w).map(|(y, w)| y * w).sum::<f64>() / w.iter().sum::<f64>()
    };
    let plain = ceteris::CustomBootstrap::new(mean)
        .resamples(20_000)
        .seed(2)
        .methods(&[IntervalMethod::Percentile])
        .run(&e, &d)
        .unwrap();
    let token = ceteris::CustomBootstrap::new(mean)
        .resamples(20_000)
        .seed(2)
        .methods(&[IntervalMethod::Percentile])
        .cancel(&Cancel::new())
        .run(&e, &d)
        .unwrap();
    assert_eq!(plain.intervals, token.intervals);
    assert_eq!(plain.std_error.to_bits(), token.std_error.to_bits());
    let (c, polls) = cancel_at(4);
    let r = ceteris::CustomBootstrap::new(mean)
        .resamples(20_000)
        .cancel(&c)
        .run(&e, &d);
    assert!(matches!(r, Err(Error::Cancelled)), "{r:?}");
    assert_eq!(polls.load(Ordering::Relaxed), 4);
}

/// On the device (lavapipe in CI): a sweep shard reads the noise of its settings' whole-sweep
/// indices (the shader's `setting_offset`), and a bootstrap's shards merge into the run.
#[test]
fn gpu_shards_and_slices_are_the_same_run() {
    let Some(e) = common::gpu() else { return };
    let scm = model();
    let sets: Vec<Vec<Intervention>> = (0..9)
        .map(|k| vec![Intervention::shift("M", k as f64)])
        .collect();
    let sweep = Sweep::new("Y", sets)
        .samples(5000)
        .seed(8)
        .common_random_numbers(false);
    let whole = sweep.run(e, &scm).unwrap();
    let part = sweep.shard(e, &scm, 4..9).unwrap();
    assert_eq!(whole.backend, part.backend);
    for (a, b) in whole.points[4..].iter().zip(&part.points) {
        assert_eq!(a.mean.to_bits(), b.mean.to_bits());
        assert_eq!(a.variance.to_bits(), b.variance.to_bits());
    }
    // GPU shards of a bootstrap (the slices a token cuts, 2^18 replicates each on a GPU: too
    // slow for a software adapter here) merge exactly: tests/gpu/bootstrap.rs
    // (cpu_and_gpu_shards_merge) and here
    let d = data();
    let boot = Bootstrap::new(Statistic::Mean { column: "y".into() })
        .resamples(2000)
        .seed(1)
        .methods(&[IntervalMethod::Percentile]);
    let plain = boot.run(e, &d).unwrap();
    let parts = [
        boot.shard(e, &d, 0..700).unwrap(),
        boot.shard(e, &d, 700..2000).unwrap(),
    ];
    let merged = boot.combine(&d, &parts).unwrap();
    assert_eq!(plain.intervals, merged.intervals);
    assert_eq!(plain.std_error.to_bits(), merged.std_error.to_bits());
}
