//! Effect estimators with their nuisance models refit in every resample (issue 13, item 1),
//! against statsmodels and scikit-learn (`tests/reference/make_refit_reference.py`: statsmodels
//! 0.15.0, scikit-learn 1.9.1, numpy 2.4.6).
//!
//! * The fits are deterministic: the estimate on the data and under three fixed weight vectors
//!   equals statsmodels' to 1e-8 (both Newton fits converge far tighter; the reference's
//!   logistic agrees with scikit-learn's to 1e-8).
//! * The bootstrap is random: our B = 4000 replicates and the reference's B = 4000 (numpy draws)
//!   estimate the same standard error and percentile endpoints, each with Monte-Carlo error
//!   `mc` (the reference's, from 8 batches of 500). The difference of two independent estimates
//!   has sd `√2 · mc`; the tests allow 4 of those (plus 1 % of `mc` for the batch estimate's own
//!   error), so a correct implementation fails with probability below 1e-4 per check.

use ceteris::bootstrap::{EffectBootstrap, Estimator};
use ceteris::{Dataset, Engine, IntervalMethod, Scheme};

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("reference/refit_reference.json")).unwrap()
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn data(r: &serde_json::Value) -> Dataset {
    let mut d = Dataset::new();
    for c in ["t", "y", "x1", "x2"] {
        d.push_column(c, f64s(&r["columns"][c])).unwrap();
    }
    d
}

const ESTIMATORS: [(Estimator, &str); 5] = [
    (Estimator::Ipw, "ipw"),
    (Estimator::Hajek, "hajek"),
    (Estimator::Aipw, "aipw"),
    (Estimator::Att, "att"),
    (Estimator::AipwAtt, "aipw-att"),
];

#[test]
fn estimates_match_statsmodels_on_the_data_and_under_weights() {
    let r = reference();
    let d = data(&r);
    let n = d.n_rows();
    for (est, name) in ESTIMATORS {
        let b = EffectBootstrap::new(est, "t", "y", &["x1", "x2"]);
        let want = r["estimators"][name]["estimate"].as_f64().unwrap();
        let got = b.estimate(&d, &vec![1.0; n]).unwrap();
        assert!((got - want).abs() < 1e-8, "{name}: {got} vs {want}");
        for case in r["weighted_checks"].as_array().unwrap() {
            let w = f64s(&case["weights"]);
            let want = case["estimates"][name].as_f64().unwrap();
            let got = b.estimate(&d, &w).unwrap();
            assert!(
                (got - want).abs() < 1e-8,
                "{name} weighted: {got} vs {want}"
            );
        }
    }
}

#[test]
fn bootstrap_matches_a_statsmodels_refit_loop_within_monte_carlo_error() {
    let r = reference();
    let d = data(&r);
    for (est, name) in ESTIMATORS {
        let refm = &r["estimators"][name];
        let res = EffectBootstrap::new(est, "t", "y", &["x1", "x2"])
            .resamples(4000)
            .seed(1)
            .methods(&[IntervalMethod::Percentile])
            .run(&Engine::cpu(), &d)
            .unwrap();
        assert_eq!(res.nuisance.as_deref(), Some("refit"));
        assert_eq!(res.failed_resamples, Some(0), "{name}");
        let tol = |mc: f64| 4.0 * 2f64.sqrt() * mc * 1.01;
        let (se, se_mc) = (
            refm["std_error"].as_f64().unwrap(),
            refm["std_error_mc"].as_f64().unwrap(),
        );
        assert!(
            (res.std_error - se).abs() <= tol(se_mc),
            "{name}: SE {} vs statsmodels {se} (tolerance {})",
            res.std_error,
            tol(se_mc)
        );
        let (p, p_mc) = (f64s(&refm["percentile"]), f64s(&refm["percentile_mc"]));
        for k in 0..2 {
            let got = res.intervals["percentile"][k];
            assert!(
                (got - p[k]).abs() <= tol(p_mc[k]),
                "{name}: percentile endpoint {k} {got} vs {} (tolerance {})",
                p[k],
                tol(p_mc[k])
            );
        }
    }
}

/// A fit that fails in a replicate is counted, never dropped silently: stratified resamples keep
/// both arms, while an iid bootstrap of a tiny treated arm empties it in some resamples.
#[test]
fn failed_fits_are_counted_and_explained() {
    let n = 60;
    let x: Vec<f64> = (0..n).map(|i| ((i * 13) % 17) as f64 / 17.0).collect();
    let t: Vec<f64> = (0..n).map(|i| (i % 20 == 0) as u8 as f64).collect();
    let y: Vec<f64> = (0..n).map(|i| x[i] + t[i] + ((i * 7) % 5) as f64).collect();
    let d = Dataset::new()
        .with_column("t", t)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("x", x)
        .unwrap();
    let run = |scheme: Scheme| {
        EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"])
            .scheme(scheme)
            .resamples(400)
            .seed(2)
            .methods(&[IntervalMethod::Percentile])
            .run(&Engine::cpu(), &d)
            .unwrap()
    };
    let iid = run(Scheme::Iid);
    let failed = iid.failed_resamples.unwrap();
    // P(no treated unit among 60 draws of 3 in 60) = (57/60)^60 ≈ 4.6 %: about 18 of 400
    assert!((3..=60).contains(&failed), "{failed}");
    assert_eq!(failed, iid.resamples - iid.valid_resamples);
    assert!(
        iid.warnings
            .iter()
            .any(|w| w.contains(&format!("{failed} of 400"))),
        "{:?}",
        iid.warnings
    );
    let strat = run(Scheme::Stratified { column: "t".into() });
    assert!(strat.failed_resamples.unwrap() < failed);
}

#[test]
fn bad_input_is_named() {
    let n = 50;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let t: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let d = Dataset::new()
        .with_column("t", t.clone())
        .unwrap()
        .with_column("y", x.iter().map(|v| v * 0.5).collect())
        .unwrap()
        .with_column("x", x.clone())
        .unwrap()
        .with_column("c", vec![1.0; n])
        .unwrap()
        .with_column("x2", x.iter().map(|v| 2.0 * v + 1.0).collect())
        .unwrap()
        .with_column("t3", (0..n).map(|i| (i % 3) as f64).collect())
        .unwrap();
    let err = |est: EffectBootstrap| {
        est.resamples(10)
            .run(&Engine::cpu(), &d)
            .unwrap_err()
            .to_string()
    };
    let e = err(EffectBootstrap::new(Estimator::Ipw, "t", "y", &["c"]));
    assert!(e.contains("`c` is constant"), "{e}");
    let e = err(EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x", "x2"]));
    assert!(
        e.contains("`x2`") && e.contains("linear combination"),
        "{e}"
    );
    let e = err(EffectBootstrap::new(Estimator::Ipw, "t3", "y", &["x"]));
    assert!(e.contains("[0.0, 1.0, 2.0]"), "{e}");
    let e = err(EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"]).penalty(-1.0));
    assert!(e.contains("penalty"), "{e}");
    // x separates the arms exactly when t = x > 24: the full-data fit fails, naming separation
    let sep: Vec<f64> = x.iter().map(|v| (*v > 24.0) as u8 as f64).collect();
    let d2 = Dataset::new()
        .with_column("t", sep)
        .unwrap()
        .with_column("y", x.clone())
        .unwrap()
        .with_column("x", x)
        .unwrap();
    let e = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x"])
        .resamples(10)
        .run(&Engine::cpu(), &d2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("separation"), "{e}");
}

/// Clipping: the estimate with the fitted propensity clipped equals the formula on statsmodels'
/// coefficients with its propensity clipped. Trimming: the estimate equals the untrimmed estimate
/// on the units a first fit keeps (every model refit on them).
#[test]
fn clip_and_trim_act_on_the_refit_propensity() {
    let r = reference();
    let d = data(&r);
    let n = d.n_rows();
    let (t, y, x1, x2) = (
        f64s(&r["columns"]["t"]),
        f64s(&r["columns"]["y"]),
        f64s(&r["columns"]["x1"]),
        f64s(&r["columns"]["x2"]),
    );
    let b = f64s(&r["propensity_coef"]);
    let e: Vec<f64> = (0..n)
        .map(|i| 1.0 / (1.0 + (-(b[0] + b[1] * x1[i] + b[2] * x2[i])).exp()))
        .collect();
    let a = 0.3;
    let ipw = (0..n)
        .map(|i| {
            let c = e[i].clamp(a, 1.0 - a);
            t[i] * y[i] / c - (1.0 - t[i]) * y[i] / (1.0 - c)
        })
        .sum::<f64>()
        / n as f64;
    let ones = vec![1.0; n];
    let got = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x1", "x2"])
        .clip(a)
        .estimate(&d, &ones)
        .unwrap();
    assert!((got - ipw).abs() < 1e-8, "clip: {got} vs {ipw}");
    let clipped = e.iter().filter(|v| !(a..=1.0 - a).contains(*v)).count();
    assert!(clipped > 20, "the case clips {clipped} units");
    // trimming at a equals the plain estimate on the kept units
    let keep: Vec<usize> = (0..n).filter(|&i| (a..=1.0 - a).contains(&e[i])).collect();
    let mut kept = Dataset::new();
    for (name, col) in [("t", &t), ("y", &y), ("x1", &x1), ("x2", &x2)] {
        kept.push_column(name, keep.iter().map(|&i| col[i]).collect())
            .unwrap();
    }
    for (est, name) in ESTIMATORS {
        let trimmed = EffectBootstrap::new(est, "t", "y", &["x1", "x2"])
            .trim(a)
            .estimate(&d, &ones)
            .unwrap();
        let plain = EffectBootstrap::new(est, "t", "y", &["x1", "x2"])
            .estimate(&kept, &vec![1.0; keep.len()])
            .unwrap();
        assert!(
            (trimmed - plain).abs() < 1e-9,
            "{name}: {trimmed} vs {plain}"
        );
    }
    // both, or out of range, are refused naming the parameter
    let e = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x1"])
        .trim(0.1)
        .clip(0.1)
        .estimate(&d, &ones)
        .unwrap_err();
    assert!(e.to_string().contains("trim"), "{e}");
    let e = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x1"])
        .clip(0.5)
        .estimate(&d, &ones)
        .unwrap_err();
    assert!(e.to_string().contains("clip"), "{e}");
}

/// Cross-fitted AIPW-ATT on the reference's folds: statsmodels' cross-fit (control outcome model
/// and propensity fit without each fold) gives our estimate to 1e-8 on the data and under the
/// three fixed weight vectors; the batched (GPU-able) refit agrees with the per-replicate Newton
/// refit in the bootstrap.
#[test]
fn crossfit_aipw_att_matches_statsmodels() {
    let r = reference();
    let d = data(&r);
    let n = d.n_rows();
    let (cf, att) = (&r["crossfit"], &r["crossfit_att"]);
    let (k, seed) = (
        cf["K"].as_u64().unwrap() as u32,
        cf["seed"].as_u64().unwrap(),
    );
    let b = EffectBootstrap::new(Estimator::AipwAtt, "t", "y", &["x1", "x2"])
        .crossfit(k)
        .seed(seed);
    let want = att["estimate"].as_f64().unwrap();
    let got = b.estimate(&d, &vec![1.0; n]).unwrap();
    assert!(
        (got - want).abs() < 1e-8,
        "crossfit aipw-att: {got} vs {want}"
    );
    for (case, want) in r["weighted_checks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(f64s(&att["weighted"]))
    {
        let got = b.estimate(&d, &f64s(&case["weights"])).unwrap();
        assert!(
            (got - want).abs() < 1e-8,
            "crossfit aipw-att weighted: {got} vs {want}"
        );
    }
    let res = b
        .resamples(200)
        .methods(&[IntervalMethod::Percentile])
        .run(&Engine::cpu(), &d)
        .unwrap();
    assert_eq!(res.nuisance.as_deref(), Some("crossfit"));
    assert!((res.estimate - want_att(&r)).abs() < 1e-10);
    assert_eq!(res.failed_resamples, Some(0));
}

fn want_att(r: &serde_json::Value) -> f64 {
    r["crossfit_att"]["estimate"].as_f64().unwrap()
}

/// Cross-fitted AIPW (`--crossfit K`): the fold rule re-derived in Python from its documentation
/// (Philox, stream 7) gives our folds exactly, and statsmodels' cross-fit on those folds gives our
/// estimate to 1e-8 on the data and under three fixed weight vectors.
#[test]
fn crossfit_matches_a_statsmodels_crossfit_on_the_same_folds() {
    let r = reference();
    let d = data(&r);
    let n = d.n_rows();
    let cf = &r["crossfit"];
    let (k, seed) = (
        cf["K"].as_u64().unwrap() as u32,
        cf["seed"].as_u64().unwrap(),
    );
    let folds: Vec<u32> = (0..n as u32)
        .map(|i| ceteris::rng::crossfit_fold(seed, i, k))
        .collect();
    let want: Vec<u32> = f64s(&cf["folds"]).iter().map(|&f| f as u32).collect();
    assert_eq!(folds, want);
    let b = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1", "x2"])
        .crossfit(k)
        .seed(seed);
    let want = cf["estimate"].as_f64().unwrap();
    let got = b.estimate(&d, &vec![1.0; n]).unwrap();
    assert!((got - want).abs() < 1e-8, "crossfit: {got} vs {want}");
    // cross-fitting changes the estimate (it is not the plain refit)
    let plain = r["estimators"]["aipw"]["estimate"].as_f64().unwrap();
    assert!((got - plain).abs() > 1e-6);
    for (case, want) in r["weighted_checks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(f64s(&cf["weighted"]))
    {
        let got = b.estimate(&d, &f64s(&case["weights"])).unwrap();
        assert!(
            (got - want).abs() < 1e-8,
            "crossfit weighted: {got} vs {want}"
        );
    }
    // the bootstrap's estimate is the same cross-fit; every scheme runs
    for scheme in [
        Scheme::Iid,
        Scheme::Poisson,
        Scheme::Bayesian,
        Scheme::Stratified { column: "t".into() },
    ] {
        let res = b
            .clone()
            .scheme(scheme)
            .resamples(200)
            .methods(&[IntervalMethod::Percentile])
            .run(&Engine::cpu(), &d)
            .unwrap();
        assert_eq!(res.nuisance.as_deref(), Some("crossfit"));
        assert_eq!(res.failed_resamples, Some(0));
        assert!((res.estimate - want_estimate(&r)).abs() < 1e-8);
        let [lo, hi] = res.intervals["percentile"];
        assert!(lo < res.estimate && res.estimate < hi);
    }
    // the nuisance predictions are the cross-fitted ones: they reproduce the estimate
    let fits = b.nuisance(&d).unwrap();
    let (t, y) = (f64s(&r["columns"]["t"]), f64s(&r["columns"]["y"]));
    let aipw: f64 = (0..n)
        .map(|i| {
            let (e, m0, m1) = (fits.propensity[i], fits.mu0[i], fits.mu1[i]);
            m1 - m0 + t[i] * (y[i] - m1) / e - (1.0 - t[i]) * (y[i] - m0) / (1.0 - e)
        })
        .sum::<f64>()
        / n as f64;
    assert!((aipw - want_estimate(&r)).abs() < 1e-10);
}

fn want_estimate(r: &serde_json::Value) -> f64 {
    r["crossfit"]["estimate"].as_f64().unwrap()
}

/// The cross-fit's standard error is close to the plain refit's (AIPW's nuisance estimation is
/// second-order here), and a cross-fit replicate uses the same draws as the refit bootstrap.
#[test]
fn crossfit_bootstrap_is_close_to_the_refit_one_and_thread_independent() {
    let r = reference();
    let d = data(&r);
    let run = |b: EffectBootstrap| {
        b.resamples(1000)
            .seed(3)
            .methods(&[IntervalMethod::Percentile])
            .keep_replicates(true)
            .run(&Engine::cpu(), &d)
            .unwrap()
    };
    let refit = run(EffectBootstrap::new(
        Estimator::Aipw,
        "t",
        "y",
        &["x1", "x2"],
    ));
    let cf = run(EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1", "x2"]).crossfit(5));
    // both SEs estimated from B = 1000 (relative MC error about 1/√(2B) ≈ 2.2 % each) and the
    // replicates share their draws; the cross-fit's extra variance is O(1/n) relative
    let ratio = cf.std_error / refit.std_error;
    assert!((0.85..1.15).contains(&ratio), "se ratio {ratio}");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| {
            run(EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1", "x2"]).crossfit(5))
        });
    assert_eq!(one.replicates, cf.replicates);
}

#[test]
fn crossfit_bad_input_is_named() {
    let r = reference();
    let d = data(&r);
    let err = |b: EffectBootstrap| match b.resamples(50).run(&Engine::cpu(), &d) {
        Err(ceteris::Error::InvalidParameter { name, reason }) => format!("{name}: {reason}"),
        other => panic!("expected an error, got {other:?}"),
    };
    let ipw = err(EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x1"]).crossfit(5));
    assert!(ipw.starts_with("crossfit:") && ipw.contains("ipw"), "{ipw}");
    let att = err(EffectBootstrap::new(Estimator::Att, "t", "y", &["x1"]).crossfit(5));
    assert!(att.starts_with("crossfit:") && att.contains("att"), "{att}");
    let one = err(EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1"]).crossfit(1));
    assert!(
        one.starts_with("crossfit:") && one.contains("at least 2"),
        "{one}"
    );
    let many = err(EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1"]).crossfit(401));
    assert!(many.starts_with("crossfit:"), "{many}");
}

/// The batched refit (no trimming, no cross-fitting) gives the same replicates whatever the
/// thread count: the batches are fixed runs of replicate numbers.
#[test]
fn batched_refit_is_thread_independent() {
    let r = reference();
    let d = data(&r);
    let run = || {
        EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1", "x2"])
            .resamples(300)
            .seed(11)
            .methods(&[IntervalMethod::Percentile])
            .keep_replicates(true)
            .run(&Engine::cpu(), &d)
            .unwrap()
    };
    let many = run();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(run);
    assert_eq!(one.replicates, many.replicates);
    assert_eq!(many.valid_resamples, 300);
}

/// Under the cluster scheme every row of a cluster lands in its cluster's fold, fold
/// `crossfit_fold(seed, u, K)` for cluster `u` (clusters in ascending order of their value).
/// The covariates take three patterns, one per cluster (`u mod 3`): two rows with the same
/// pattern get the same cross-fitted predictions exactly when their folds agree (the same
/// fold's models; different training rows give different fits). With folds per row (iid
/// scheme) rows of one cluster get different predictions.
#[test]
fn crossfit_folds_are_whole_clusters_under_the_cluster_scheme() {
    let r = reference();
    let base = data(&r);
    let n = base.n_rows();
    // clusters of 4 consecutive rows, labelled in descending order: row i is in cluster
    // u = units − 1 − i/4 of the ascending order
    let units = n.div_ceil(4);
    let unit = |i: usize| units - 1 - i / 4;
    let mut d = Dataset::new();
    for c in ["t", "y"] {
        d.push_column(c, base.column(c).unwrap().to_vec()).unwrap();
    }
    let pattern = |i: usize| unit(i) % 3;
    d.push_column(
        "x1",
        (0..n).map(|i| (pattern(i) == 1) as u8 as f64).collect(),
    )
    .unwrap();
    d.push_column(
        "x2",
        (0..n).map(|i| (pattern(i) == 2) as u8 as f64).collect(),
    )
    .unwrap();
    d.push_column("g", (0..n).map(|i| (1000 - i / 4) as f64).collect())
        .unwrap();
    let (seed, k) = (5u64, 5u32);
    let fits = |scheme: Scheme| {
        EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1", "x2"])
            .crossfit(k)
            .seed(seed)
            .scheme(scheme)
            .nuisance(&d)
            .unwrap()
    };
    let same = |f: &ceteris::bootstrap::Nuisance, i: usize, j: usize| {
        f.propensity[i] == f.propensity[j] && f.mu0[i] == f.mu0[j] && f.mu1[i] == f.mu1[j]
    };
    let clustered = fits(Scheme::Cluster { column: "g".into() });
    let fold = |i: usize| ceteris::rng::crossfit_fold(seed, unit(i) as u32, k);
    for i in 0..n {
        for j in (0..n).filter(|&j| pattern(j) == pattern(i)) {
            assert_eq!(
                same(&clustered, i, j),
                fold(i) == fold(j),
                "rows {i} and {j}"
            );
        }
    }
    let iid = fits(Scheme::Iid);
    assert!((0..n).any(|i| !same(&iid, i, i - i % 4)));
    // too many folds for the clusters
    let err = EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1", "x2"])
        .crossfit(units as u32 + 1)
        .scheme(Scheme::Cluster { column: "g".into() })
        .resamples(10)
        .run(&Engine::cpu(), &d)
        .unwrap_err();
    assert!(err.to_string().contains("clusters"), "{err}");
}

/// Fixed-nuisance AIPW-ATT (`Statistic::AipwAtt`, `"nuisance": "fixed"`): with the columns of
/// statsmodels' fits on the data its estimate is the refit estimate of the reference.
#[test]
fn fixed_aipw_att_with_the_reference_fits_gives_the_reference_estimate() {
    let r = reference();
    let mut d = data(&r);
    let (x1, x2) = (f64s(&r["columns"]["x1"]), f64s(&r["columns"]["x2"]));
    let lin = |c: &[f64], i: usize| c[0] + c[1] * x1[i] + c[2] * x2[i];
    let (b, g0) = (f64s(&r["propensity_coef"]), f64s(&r["mu0_coef"]));
    let e: Vec<f64> = (0..x1.len())
        .map(|i| 1.0 / (1.0 + (-lin(&b, i)).exp()))
        .collect();
    let m0: Vec<f64> = (0..x1.len()).map(|i| lin(&g0, i)).collect();
    d.push_column("e", e).unwrap();
    d.push_column("m0", m0).unwrap();
    let res = ceteris::Bootstrap::new(ceteris::Statistic::AipwAtt {
        treatment: "t".into(),
        outcome: "y".into(),
        propensity: "e".into(),
        mu0: "m0".into(),
    })
    .resamples(200)
    .seed(3)
    .methods(&[IntervalMethod::Percentile])
    .run(&Engine::cpu(), &d)
    .unwrap();
    let want = r["estimators"]["aipw-att"]["estimate"].as_f64().unwrap();
    assert!(
        (res.estimate - want).abs() < 1e-8,
        "{} vs {want}",
        res.estimate
    );
    assert_eq!(res.statistic, "aipw-att");
    assert_eq!(res.nuisance.as_deref(), Some("fixed"));
    assert!(res.std_error > 0.0 && res.std_error.is_finite());
}

/// Issue 15: shards of a refit bootstrap, computed anywhere in any order, merge into the
/// one-process run bit for bit (every estimator, the batched and the per-replicate paths, shard
/// bounds that cut the batches of 32 replicates); bad shards are refused by name.
#[test]
fn refit_shards_combine_to_the_run_bit_for_bit() {
    let r = reference();
    let d = data(&r);
    let e = Engine::cpu();
    let bits = |v: f64| v.to_bits();
    let runs = [
        (Estimator::Ipw, None, None, Scheme::Iid),
        (Estimator::Hajek, None, None, Scheme::Iid),
        (Estimator::Aipw, None, None, Scheme::Iid),
        (Estimator::Att, Some(0.05), None, Scheme::Iid),
        (Estimator::AipwAtt, None, Some(3), Scheme::Iid),
        (
            Estimator::Aipw,
            None,
            None,
            Scheme::MovingBlock { block_length: 7 },
        ),
    ];
    for (est, trim, crossfit, scheme) in runs {
        let mut b = EffectBootstrap::new(est, "t", "y", &["x1", "x2"])
            .resamples(301)
            .seed(11)
            .scheme(scheme.clone())
            .methods(&[
                IntervalMethod::Percentile,
                IntervalMethod::Basic,
                IntervalMethod::Bca,
            ])
            .keep_replicates(true);
        if let Some(a) = trim {
            b = b.trim(a);
        }
        if let Some(k) = crossfit {
            b = b.crossfit(k);
        }
        let whole = b.run(&e, &d).unwrap();
        let shards = [
            b.shard(&e, &d, 250..301).unwrap(),
            b.shard(&e, &d, 0..45).unwrap(),
            b.shard(&e, &d, 45..64).unwrap(),
            b.shard(&e, &d, 64..250).unwrap(),
        ];
        let merged = b.combine(&d, &shards).unwrap();
        let what = format!("{est:?} {scheme:?}");
        assert_eq!(bits(merged.estimate), bits(whole.estimate), "{what}");
        assert_eq!(bits(merged.std_error), bits(whole.std_error), "{what}");
        assert_eq!(bits(merged.bias), bits(whole.bias), "{what}");
        assert_eq!(merged.valid_resamples, whole.valid_resamples, "{what}");
        assert_eq!(merged.failed_resamples, whole.failed_resamples, "{what}");
        assert_eq!(merged.nuisance, whole.nuisance, "{what}");
        assert_eq!(merged.backend, whole.backend, "{what}");
        let (m, w) = (merged.replicates.unwrap(), whole.replicates.unwrap());
        assert_eq!(
            m.iter().map(|&v| bits(v)).collect::<Vec<_>>(),
            w.iter().map(|&v| bits(v)).collect::<Vec<_>>(),
            "{what}"
        );
        assert_eq!(merged.intervals.len(), 3, "{what}");
        for (k, iv) in &whole.intervals {
            let got = merged.intervals[k];
            assert_eq!(
                [bits(got[0]), bits(got[1])],
                [bits(iv[0]), bits(iv[1])],
                "{what} {k}"
            );
        }
        let (mb, wb) = (merged.bca.unwrap(), whole.bca.unwrap());
        assert_eq!(bits(mb.z0), bits(wb.z0), "{what}");
        assert_eq!(bits(mb.acceleration), bits(wb.acceleration), "{what}");
    }

    // bad shards are refused, naming the shard and why
    let b = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x1", "x2"]).resamples(100);
    let a = b.shard(&e, &d, 0..50).unwrap();
    let gap = b.combine(&d, std::slice::from_ref(&a)).unwrap_err();
    assert!(gap.to_string().contains("50..100"), "{gap}");
    let other = EffectBootstrap::new(Estimator::Hajek, "t", "y", &["x1", "x2"])
        .resamples(100)
        .shard(&e, &d, 50..100)
        .unwrap();
    let mixed = b.combine(&d, &[a.clone(), other]).unwrap_err();
    assert!(mixed.to_string().contains("fingerprint"), "{mixed}");
    let seeded = EffectBootstrap::new(Estimator::Ipw, "t", "y", &["x1", "x2"])
        .resamples(100)
        .seed(5)
        .shard(&e, &d, 50..100)
        .unwrap();
    let wrong = b.combine(&d, &[a, seeded]).unwrap_err();
    assert!(wrong.to_string().contains("seed 5"), "{wrong}");
    let beyond = b.shard(&e, &d, 90..101).unwrap_err();
    assert!(beyond.to_string().contains("range"), "{beyond}");
    // a GPU engine (lavapipe in CI) is refused: its f32 replicates would not merge bit for bit
    #[cfg(feature = "gpu")]
    if let Ok(g) = Engine::gpu() {
        let refused = b.shard(&g, &d, 0..50).unwrap_err();
        assert!(refused.to_string().contains("backend"), "{refused}");
    }
}
