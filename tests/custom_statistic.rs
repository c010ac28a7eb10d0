//! User-defined statistics ([`CustomBootstrap`]): the same draws, replicates and intervals as the
//! built-in statistics under every scheme, the public interval functions against scipy's numbers,
//! thread-count independence and input errors.

mod common;
use ceteris::bootstrap::intervals;
use ceteris::{
    Bootstrap, BootstrapResult, CustomBootstrap, Dataset, Engine, Error, IntervalMethod, Scheme,
    Statistic,
};
use statrs::distribution::{ContinuousCDF, Normal};

const B: u64 = 400;

fn data() -> Dataset {
    let n = 120;
    let x = common::normals(n, 11);
    let y: Vec<f64> = common::normals(n, 12).iter().map(|e| 5.0 + e).collect();
    let strata: Vec<f64> = (0..n).map(|i| ((i * 7) % 3) as f64).collect();
    let cluster: Vec<f64> = (0..n).map(|i| (i / 5) as f64).collect();
    Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("s", strata)
        .unwrap()
        .with_column("c", cluster)
        .unwrap()
}

fn schemes() -> Vec<Scheme> {
    vec![
        Scheme::Iid,
        Scheme::Stratified { column: "s".into() },
        Scheme::Cluster { column: "c".into() },
        Scheme::Bayesian,
        Scheme::Poisson,
        Scheme::MovingBlock { block_length: 7 },
        Scheme::CircularBlock { block_length: 7 },
        Scheme::Stationary { block_length: 6.5 },
    ]
}

fn wsum(v: &[f64], w: &[f64]) -> f64 {
    v.iter().zip(w).map(|(a, b)| a * b).sum()
}

fn wmean(d: &Dataset, w: &[f64]) -> f64 {
    wsum(d.column("x").unwrap(), w) / w.iter().sum::<f64>()
}

fn ratio(d: &Dataset, w: &[f64]) -> f64 {
    wsum(d.column("x").unwrap(), w) / wsum(d.column("y").unwrap(), w)
}

/// The ratio of means' delta-method standard error, as `Statistic::RatioMeans` computes it:
/// `sqrt(Σ w (a − r b)² / (n − 1) / n) / |b̄|` with `n = Σ w`.
fn ratio_se(d: &Dataset, w: &[f64]) -> f64 {
    let (a, b) = (d.column("x").unwrap(), d.column("y").unwrap());
    let n = w.iter().sum::<f64>();
    let r = ratio(d, w);
    let bbar = wsum(b, w) / n;
    let ss: f64 = a
        .iter()
        .zip(b)
        .zip(w)
        .map(|((a, b), w)| w * (a - r * b) * (a - r * b))
        .sum();
    (ss / (n - 1.0) / n).sqrt() / bbar.abs()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * (1.0 + b.abs()),
        "{what}: {a} vs {b} (diff {})",
        (a - b).abs()
    );
}

fn same_result(c: &BootstrapResult, r: &BootstrapResult, tol: f64, what: &str) {
    close(c.estimate, r.estimate, tol, &format!("{what} estimate"));
    close(c.std_error, r.std_error, tol, &format!("{what} std_error"));
    close(c.bias, r.bias, tol, &format!("{what} bias"));
    assert_eq!(c.valid_resamples, r.valid_resamples, "{what} valid");
    assert_eq!(
        c.intervals.keys().collect::<Vec<_>>(),
        r.intervals.keys().collect::<Vec<_>>(),
        "{what} methods"
    );
    for (m, iv) in &r.intervals {
        for (a, b) in c.intervals[m].iter().zip(iv) {
            close(*a, *b, tol, &format!("{what} {m}"));
        }
    }
    match (&c.bca, &r.bca) {
        (Some(a), Some(b)) => {
            close(a.z0, b.z0, tol, &format!("{what} z0"));
            close(a.acceleration, b.acceleration, tol, &format!("{what} a"));
        }
        (None, None) => {}
        _ => panic!("{what}: BCa details on one side only"),
    }
}

/// A weighted-mean closure gives `Statistic::Mean`'s replicates and intervals under every scheme.
#[test]
fn weighted_mean_closure_is_the_builtin_mean_under_every_scheme() {
    let d = data();
    let methods = [
        IntervalMethod::Percentile,
        IntervalMethod::Basic,
        IntervalMethod::Normal,
        IntervalMethod::Bca,
    ];
    for scheme in schemes() {
        let what = scheme.name();
        let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
            .scheme(scheme.clone())
            .resamples(B)
            .seed(5)
            .methods(&methods)
            .keep_replicates(true)
            .run(&Engine::cpu(), &d)
            .unwrap();
        let c = CustomBootstrap::new(wmean)
            .scheme(scheme.clone())
            .resamples(B)
            .seed(5)
            .methods(&methods)
            .keep_replicates(true)
            .run(&Engine::cpu(), &d)
            .unwrap();
        let (cr, rr) = (
            c.replicates.as_ref().unwrap(),
            r.replicates.as_ref().unwrap(),
        );
        assert_eq!(cr.len(), rr.len());
        for (b, (x, y)) in cr.iter().zip(rr).enumerate() {
            assert!(
                (x - y).abs() <= 1e-12 || (x.is_nan() && y.is_nan()),
                "{what} replicate {b}: {x} vs {y}"
            );
        }
        same_result(&c, &r, 1e-10, what);
        assert_eq!(c.statistic, "custom");
        assert_eq!(c.scheme, r.scheme);
        assert!(c.backend.starts_with("cpu (rayon"), "{}", c.backend);
    }
}

/// A ratio of means, with BCa through the closure's jackknife and the studentized interval from
/// a standard-error closure, against `Statistic::RatioMeans` (analytic SE) under every scheme.
#[test]
fn ratio_closure_with_se_is_the_builtin_ratio_of_means() {
    let d = data();
    for scheme in schemes() {
        let what = scheme.name();
        let r = Bootstrap::new(Statistic::RatioMeans {
            numerator: "x".into(),
            denominator: "y".into(),
        })
        .scheme(scheme.clone())
        .resamples(B)
        .seed(9)
        .methods(&IntervalMethod::ALL)
        .run(&Engine::cpu(), &d)
        .unwrap();
        let c = CustomBootstrap::new(ratio)
            .std_error(ratio_se)
            .scheme(scheme)
            .resamples(B)
            .seed(9)
            .methods(&IntervalMethod::ALL)
            .run(&Engine::cpu(), &d)
            .unwrap();
        assert!(c.intervals.contains_key("studentized"), "{what}");
        assert!(c.intervals.contains_key("bca"), "{what}");
        same_result(&c, &r, 1e-9, what);
    }
}

/// Without a standard-error closure the studentized interval is omitted with a warning; a
/// replicate returning NaN is dropped and counted, as for the built-in statistics.
#[test]
fn studentized_without_se_and_nonfinite_replicates() {
    let d = data();
    let c = CustomBootstrap::new(wmean)
        .resamples(B)
        .methods(&IntervalMethod::ALL)
        .run(&Engine::cpu(), &d)
        .unwrap();
    assert!(!c.intervals.contains_key("studentized"));
    assert_eq!(c.intervals.len(), 4);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("standard-error closure")),
        "{:?}",
        c.warnings
    );
    // NaN whenever row 0 was not drawn (about (1 - 1/n)^n ≈ 37% of the resamples)
    let first_drawn = |d: &Dataset, w: &[f64]| {
        if w[0] == 0.0 {
            f64::NAN
        } else {
            wmean(d, w)
        }
    };
    let c = CustomBootstrap::new(first_drawn)
        .resamples(B)
        .keep_replicates(true)
        .run(&Engine::cpu(), &d)
        .unwrap();
    let nan = c
        .replicates
        .as_ref()
        .unwrap()
        .iter()
        .filter(|v| !v.is_finite())
        .count() as u64;
    assert!(nan > 0 && nan < B);
    assert_eq!(c.valid_resamples, B - nan);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with(&format!("{nan} of {B} resamples"))),
        "{:?}",
        c.warnings
    );
}

/// Cluster weights: the rows of a cluster share their cluster's count, and the counts add up to
/// the number of clusters drawn.
#[test]
fn cluster_rows_share_their_cluster_weight() {
    let d = data();
    let check = |_: &Dataset, w: &[f64]| {
        let ok = w.chunks(5).all(|c| c.iter().all(|&v| v == c[0]))
            && w.iter().step_by(5).sum::<f64>() == 24.0;
        if ok {
            1.0
        } else {
            f64::NAN
        }
    };
    let c = CustomBootstrap::new(check)
        .scheme(Scheme::Cluster { column: "c".into() })
        .resamples(50)
        .methods(&[IntervalMethod::Percentile])
        .run(&Engine::cpu(), &d)
        .unwrap();
    assert_eq!(c.valid_resamples, 50);
}

/// The public interval functions give scipy's numbers on the reference replicates.
#[test]
fn public_interval_functions_match_scipy_reference() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("reference/bootstrap_reference.json")).unwrap();
    let cases = doc["interval_cases"].as_array().unwrap();
    assert!(cases.len() >= 4);
    let vec = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut reps = vec(&case["replicates"]);
        reps.sort_by(f64::total_cmp);
        let jack = vec(&case["jackknife"]);
        let est = case["estimate"].as_f64().unwrap();
        let alpha = 1.0 - case["level"].as_f64().unwrap();
        let same = |a: [f64; 2], b: Vec<f64>, what: &str| {
            for i in 0..2 {
                close(a[i], b[i], 1e-9, &format!("{name} {what}"));
            }
        };
        same(
            intervals::percentile(&reps, alpha),
            vec(&case["percentile"]),
            "percentile",
        );
        same(
            intervals::basic(&reps, est, alpha),
            vec(&case["basic"]),
            "basic",
        );
        let mut w = Vec::new();
        let (iv, det) = intervals::bca(&reps, est, &jack, None, alpha, &mut w);
        assert!(w.is_empty(), "{w:?}");
        close(det.z0, case["bca_z0"].as_f64().unwrap(), 1e-9, name);
        close(
            det.acceleration,
            case["bca_accel"].as_f64().unwrap(),
            1e-9,
            name,
        );
        close(
            intervals::acceleration(&jack, None).unwrap(),
            case["bca_accel"].as_f64().unwrap(),
            1e-9,
            name,
        );
        same(det.levels, vec(&case["bca_alpha"]), "bca levels");
        same(iv, vec(&case["bca"]), "bca");
        // normal: closed form from the replicates' mean and sd
        let (m, sd) = intervals::mean_sd(&reps);
        let z = Normal::standard().inverse_cdf(1.0 - alpha / 2.0);
        let want = [2.0 * est - m - z * sd, 2.0 * est - m + z * sd];
        same(
            intervals::normal(&reps, est, alpha),
            want.to_vec(),
            "normal",
        );
    }
}

/// The public functions give what a `Bootstrap` run reports from its own kept replicates.
#[test]
fn public_interval_functions_reproduce_a_run() {
    let d = data();
    let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
        .resamples(B)
        .seed(3)
        .methods(&[
            IntervalMethod::Percentile,
            IntervalMethod::Basic,
            IntervalMethod::Normal,
        ])
        .keep_replicates(true)
        .run(&Engine::cpu(), &d)
        .unwrap();
    let mut reps = r.replicates.clone().unwrap();
    reps.sort_by(f64::total_cmp);
    // alpha as the run computes it from the level (1 - 0.95 is not 0.05 in binary)
    let alpha = 1.0 - r.level;
    assert_eq!(
        intervals::percentile(&reps, alpha),
        r.intervals["percentile"]
    );
    assert_eq!(
        intervals::basic(&reps, r.estimate, alpha),
        r.intervals["basic"]
    );
    assert_eq!(
        intervals::normal(&reps, r.estimate, alpha),
        r.intervals["normal"]
    );
    assert_eq!(intervals::mean_sd(&reps).1, r.std_error);
}

/// Results do not depend on the number of threads.
#[test]
fn thread_count_independence() {
    let d = data();
    let run = |threads: usize, scheme: Scheme| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                CustomBootstrap::new(ratio)
                    .std_error(ratio_se)
                    .scheme(scheme)
                    .resamples(B)
                    .seed(4)
                    .methods(&IntervalMethod::ALL)
                    .keep_replicates(true)
                    .run(&Engine::cpu(), &d)
                    .unwrap()
            })
    };
    for scheme in [
        Scheme::Iid,
        Scheme::Stratified { column: "s".into() },
        Scheme::Bayesian,
        Scheme::Stationary { block_length: 4.0 },
    ] {
        let (a, b) = (run(1, scheme.clone()), run(2, scheme.clone()));
        assert!(a.backend.contains("1 threads") && b.backend.contains("2 threads"));
        assert_eq!(a.replicates, b.replicates, "{}", scheme.name());
        assert_eq!(a.intervals, b.intervals, "{}", scheme.name());
        assert_eq!(
            a.bca.unwrap().acceleration,
            b.bca.unwrap().acceleration,
            "{}",
            scheme.name()
        );
    }
}

/// Bad inputs are errors naming the parameter, before any work.
#[test]
fn bad_inputs_are_errors() {
    let d = data();
    let param = |r: ceteris::Result<BootstrapResult>, name: &str| match r {
        Err(Error::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected an error about `{name}`, got {other:?}"),
    };
    let e = Engine::cpu();
    param(
        CustomBootstrap::new(wmean).resamples(1).run(&e, &d),
        "resamples",
    );
    param(
        CustomBootstrap::new(wmean).resamples(0).run(&e, &d),
        "resamples",
    );
    param(CustomBootstrap::new(wmean).level(1.0).run(&e, &d), "level");
    param(CustomBootstrap::new(wmean).level(0.0).run(&e, &d), "level");
    param(
        CustomBootstrap::new(wmean).level(f64::NAN).run(&e, &d),
        "level",
    );
    param(
        CustomBootstrap::new(wmean)
            .scheme(Scheme::MovingBlock { block_length: 0 })
            .run(&e, &d),
        "block-length",
    );
    param(
        CustomBootstrap::new(|_: &Dataset, _: &[f64]| f64::NAN).run(&e, &d),
        "statistic",
    );
    // a replicate statistic undefined everywhere
    param(
        CustomBootstrap::new(|_: &Dataset, w: &[f64]| {
            if w.iter().all(|&v| v == 1.0) {
                0.0
            } else {
                f64::INFINITY
            }
        })
        .resamples(20)
        .run(&e, &d),
        "resamples",
    );
    for scheme in [
        Scheme::Stratified {
            column: "nope".into(),
        },
        Scheme::Cluster {
            column: "nope".into(),
        },
    ] {
        match CustomBootstrap::new(wmean).scheme(scheme).run(&e, &d) {
            Err(Error::UnknownColumn { name, .. }) => assert_eq!(name, "nope"),
            other => panic!("expected an unknown column, got {other:?}"),
        }
    }
    match CustomBootstrap::new(wmean).run(&e, &Dataset::new()) {
        Err(Error::EmptyData(_)) => {}
        other => panic!("expected empty data, got {other:?}"),
    }
}

/// A statistic of several values: each component's replicates, standard error and every interval
/// (BCa through the same closure's jackknife, studentized through a multi-value SE closure) equal
/// those of a one-value run of that component with the same seed, under every scheme.
#[test]
fn multi_value_statistics_equal_one_value_runs_componentwise() {
    let d = data();
    let methods = [
        IntervalMethod::Percentile,
        IntervalMethod::Basic,
        IntervalMethod::Normal,
        IntervalMethod::Bca,
        IntervalMethod::Studentized,
    ];
    let both = |d: &Dataset, w: &[f64], out: &mut [f64]| {
        out[0] = wmean(d, w);
        out[1] = ratio(d, w);
    };
    let both_se = |d: &Dataset, w: &[f64], out: &mut [f64]| {
        // the weighted mean's SE and the ratio's delta-method SE
        let x = d.column("x").unwrap();
        let (n, m) = (w.iter().sum::<f64>(), wmean(d, w));
        let ss: f64 = x.iter().zip(w).map(|(x, w)| w * (x - m) * (x - m)).sum();
        out[0] = (ss / (n - 1.0) / n).sqrt();
        out[1] = ratio_se(d, w);
    };
    let mean_se = move |d: &Dataset, w: &[f64]| {
        let mut o = [0.0; 2];
        both_se(d, w, &mut o);
        o[0]
    };
    for scheme in schemes() {
        let multi = CustomBootstrap::new_multi(2, both)
            .std_error_multi(both_se)
            .scheme(scheme.clone())
            .resamples(B)
            .seed(9)
            .methods(&methods)
            .keep_replicates(true)
            .run_multi(&Engine::cpu(), &d)
            .unwrap();
        assert_eq!(multi.len(), 2);
        let singles = [
            CustomBootstrap::new(wmean).std_error(mean_se),
            CustomBootstrap::new(ratio).std_error(ratio_se),
        ];
        for (j, single) in singles.into_iter().enumerate() {
            let one = single
                .scheme(scheme.clone())
                .resamples(B)
                .seed(9)
                .methods(&methods)
                .keep_replicates(true)
                .run(&Engine::cpu(), &d)
                .unwrap();
            let m = &multi[j];
            let what = format!("{} component {j}", scheme.name());
            assert_eq!(m.statistic, format!("custom[{j}]"));
            assert_eq!(m.replicates, one.replicates, "{what}");
            assert_eq!(m.estimate, one.estimate, "{what}");
            assert_eq!(m.std_error, one.std_error, "{what}");
            assert_eq!(m.valid_resamples, one.valid_resamples, "{what}");
            assert_eq!(m.intervals, one.intervals, "{what}");
            assert_eq!(m.intervals.len(), 5, "{what}: {:?}", m.warnings);
            assert_eq!(
                m.bca.as_ref().map(|b| (b.z0, b.acceleration)),
                one.bca.as_ref().map(|b| (b.z0, b.acceleration)),
                "{what}"
            );
        }
    }
}

#[test]
fn multi_value_misuse_is_an_error() {
    let d = data();
    let two = |_: &Dataset, w: &[f64], out: &mut [f64]| {
        out[0] = w[0];
        out[1] = w[1];
    };
    let param = |r: Result<Vec<BootstrapResult>, Error>| match r {
        Err(Error::InvalidParameter { name, reason }) => format!("{name}: {reason}"),
        other => panic!("expected an error, got {other:?}"),
    };
    // `run` gives one result: a two-value statistic needs run_multi
    match CustomBootstrap::new_multi(2, two)
        .resamples(20)
        .run(&Engine::cpu(), &d)
    {
        Err(Error::InvalidParameter { name, reason }) => {
            assert_eq!(name, "statistic");
            assert!(reason.contains("run_multi"), "{reason}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // a one-value SE closure for a two-value statistic
    let e = param(
        CustomBootstrap::new_multi(2, two)
            .std_error(|_: &Dataset, _: &[f64]| 1.0)
            .resamples(20)
            .run_multi(&Engine::cpu(), &d),
    );
    assert!(
        e.starts_with("std_error:") && e.contains("std_error_multi"),
        "{e}"
    );
    // a component undefined on the data is named
    let e = param(
        CustomBootstrap::new_multi(2, |_: &Dataset, _: &[f64], out: &mut [f64]| out[0] = 1.0)
            .resamples(20)
            .run_multi(&Engine::cpu(), &d),
    );
    assert!(e.contains("custom[1]") && e.contains("NaN"), "{e}");
}
