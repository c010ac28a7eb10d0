//! Bootstrap results against independent references: exact bootstrap variances (closed forms),
//! scipy.stats.bootstrap (Monte-Carlo references from tests/reference/), shards and thread counts.
//!
//! Tolerances come from Monte-Carlo error: the variance of B replicates of a near-normal statistic
//! has relative standard deviation sqrt(2/(B−1)); we allow 5 of those. scipy endpoints are compared
//! within 4·sqrt(sd_scipy² + sd_ours²) with sd_ours = sd_scipy (same B, same method), plus, for the
//! median (endpoints are data values, so sd = 0), the gap to the neighbouring data value.

mod common;
use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Scheme, Statistic};

const B: u64 = 20_000;

fn popvar(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
}

fn mean_of(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn boot_var(scheme: Scheme, data: &Dataset, stat: Statistic) -> f64 {
    let r = Bootstrap::new(stat)
        .scheme(scheme)
        .resamples(B)
        .seed(2024)
        .methods(&[IntervalMethod::Percentile])
        .run(&Engine::cpu(), data)
        .unwrap();
    assert_eq!(r.valid_resamples, B);
    r.std_error * r.std_error
}

fn assert_var(got: f64, exact: f64, what: &str) {
    let tol = 5.0 * (2.0 / (B as f64 - 1.0)).sqrt();
    assert!(
        (got / exact - 1.0).abs() <= tol,
        "{what}: bootstrap variance {got}, exact {exact}, relative tolerance {tol}"
    );
}

fn mean_stat() -> Statistic {
    Statistic::Mean { column: "x".into() }
}

/// AR(1) series, so block schemes have something to preserve.
fn ar1(n: usize) -> Vec<f64> {
    let e = common::normals(n, 77);
    let mut x = vec![0.0; n];
    for i in 1..n {
        x[i] = 0.6 * x[i - 1] + e[i];
    }
    x
}

#[test]
fn iid_mean_variance_is_plugin_variance_over_n() {
    let x = common::normals(240, 3);
    let exact = popvar(&x) / x.len() as f64;
    assert_var(
        boot_var(Scheme::Iid, &common::one("x", x), mean_stat()),
        exact,
        "iid",
    );
}

#[test]
fn bayesian_mean_variance_is_closed_form() {
    // Var(Σ w_i x_i), w ~ Dirichlet(1,…,1): Σ(x − x̄)² / (n (n + 1)).
    let x = common::normals(240, 4);
    let n = x.len() as f64;
    let exact = popvar(&x) * n / (n * (n + 1.0));
    assert_var(
        boot_var(Scheme::Bayesian, &common::one("x", x), mean_stat()),
        exact,
        "bayesian",
    );
}

#[test]
fn poisson_mean_variance_is_plugin_variance_over_n() {
    // Ratio estimator Σw x / Σw with Poisson(1) weights: σ̂²/n up to O(1/n²); 5 MC sd + 2/n.
    let x = common::normals(400, 5);
    let n = x.len() as f64;
    let exact = popvar(&x) / n;
    let got = boot_var(Scheme::Poisson, &common::one("x", x), mean_stat());
    let tol = 5.0 * (2.0 / (B as f64 - 1.0)).sqrt() + 2.0 / n;
    assert!((got / exact - 1.0).abs() <= tol, "poisson {got} vs {exact}");
}

#[test]
fn moving_block_mean_variance_is_exact() {
    // L divides n: the resampled mean averages b = n/L block means drawn uniformly from n − L + 1.
    let (n, l) = (240, 8);
    let x = ar1(n);
    let means: Vec<f64> = (0..=n - l).map(|s| mean_of(&x[s..s + l])).collect();
    let exact = popvar(&means) / (n / l) as f64;
    let got = boot_var(
        Scheme::MovingBlock { block_length: l },
        &common::one("x", x),
        mean_stat(),
    );
    assert_var(got, exact, "moving block");
}

#[test]
fn circular_block_mean_variance_is_exact() {
    let (n, l) = (240, 12);
    let x = ar1(n);
    let means: Vec<f64> = (0..n)
        .map(|s| (0..l).map(|o| x[(s + o) % n]).sum::<f64>() / l as f64)
        .collect();
    let exact = popvar(&means) / (n / l) as f64;
    let got = boot_var(
        Scheme::CircularBlock { block_length: l },
        &common::one("x", x),
        mean_stat(),
    );
    assert_var(got, exact, "circular block");
}

#[test]
fn stationary_mean_variance_matches_politis_romano() {
    // Politis & Romano (1994), Lemma 1: n·Var*(x̄*) = C(0) + 2 Σ_{i=1}^{n−1} b(i) C(i),
    // b(i) = (1 − i/n)(1 − p)^i + (i/n)(1 − p)^{n−i}, C the sample autocovariance (divisor n).
    let n = 240;
    let x = ar1(n);
    let len = 6.0;
    // the generator starts a block when a 32-bit word is below ⌊2^32 / L⌋
    let p = (4294967296.0f64 / len).floor() / 4294967296.0;
    let m = mean_of(&x);
    let c = |i: usize| (0..n - i).map(|j| (x[j] - m) * (x[j + i] - m)).sum::<f64>() / n as f64;
    let mut s = c(0);
    for i in 1..n {
        let fi = i as f64 / n as f64;
        let b = (1.0 - fi) * (1.0 - p).powi(i as i32) + fi * (1.0 - p).powi((n - i) as i32);
        s += 2.0 * b * c(i);
    }
    let exact = s / n as f64;
    let got = boot_var(
        Scheme::Stationary { block_length: len },
        &common::one("x", x),
        mean_stat(),
    );
    assert_var(got, exact, "stationary");
}

#[test]
fn stratified_diff_means_variance_is_exact() {
    let n = 300;
    let y = common::normals(n, 8);
    let t: Vec<f64> = (0..n).map(|i| (i % 3 == 0) as u8 as f64).collect();
    let arm = |a: f64| -> Vec<f64> { (0..n).filter(|&i| t[i] == a).map(|i| y[i]).collect() };
    let (y1, y0) = (arm(1.0), arm(0.0));
    let exact = popvar(&y1) / y1.len() as f64 + popvar(&y0) / y0.len() as f64;
    let data = Dataset::new()
        .with_column("t", t)
        .unwrap()
        .with_column("y", y)
        .unwrap();
    let got = boot_var(
        Scheme::Stratified { column: "t".into() },
        &data,
        Statistic::DiffMeans {
            treatment: "t".into(),
            outcome: "y".into(),
        },
    );
    assert_var(got, exact, "stratified diff-means");
}

#[test]
fn cluster_mean_variance_is_exact_for_equal_clusters() {
    // G clusters of equal size: the resampled mean averages G cluster means drawn uniformly.
    let (g, size) = (40, 6);
    let u = common::normals(g, 9);
    let e = common::normals(g * size, 10);
    let x: Vec<f64> = (0..g * size).map(|i| u[i / size] + 0.5 * e[i]).collect();
    let means: Vec<f64> = x.chunks(size).map(mean_of).collect();
    let exact = popvar(&means) / g as f64;
    let cl: Vec<f64> = (0..g * size).map(|i| ((i / size) * 7 % g) as f64).collect();
    let data = Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("c", cl)
        .unwrap();
    let got = boot_var(Scheme::Cluster { column: "c".into() }, &data, mean_stat());
    assert_var(got, exact, "cluster");
}

#[test]
fn scipy_monte_carlo_references() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("reference/bootstrap_reference.json")).unwrap();
    for case in doc["mc_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let cols: Vec<Vec<f64>> = case["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let mut data = Dataset::new().with_column("a", cols[0].clone()).unwrap();
        if cols.len() > 1 {
            data = data.with_column("b", cols[1].clone()).unwrap();
        }
        let stat = match case["statistic"].as_str().unwrap() {
            "mean" => Statistic::Mean { column: "a".into() },
            "median" => Statistic::Quantile {
                column: "a".into(),
                q: 0.5,
            },
            "std" => Statistic::Std { column: "a".into() },
            "corr" => Statistic::Corr {
                x: "a".into(),
                y: "b".into(),
            },
            other => panic!("unknown statistic {other}"),
        };
        let r = Bootstrap::new(stat)
            .resamples(case["n_resamples"].as_u64().unwrap())
            .seed(31)
            .level(case["level"].as_f64().unwrap())
            .methods(&[
                IntervalMethod::Percentile,
                IntervalMethod::Basic,
                IntervalMethod::Bca,
            ])
            .run(&Engine::cpu(), &data)
            .unwrap();
        let median = case["statistic"] == "median";
        let mut sorted = cols[0].clone();
        sorted.sort_by(f64::total_cmp);
        // for the median: the widest gap between the data values around `v`
        let gap = |v: f64| -> f64 {
            if !median {
                return 0.0;
            }
            let i = sorted.partition_point(|&s| s < v);
            let lo = if i > 0 { v - sorted[i - 1] } else { 0.0 };
            let hi = if i + 1 < sorted.len() {
                sorted[i + 1] - v
            } else {
                0.0
            };
            lo.max(hi)
        };
        let check = |ours: f64, mean: f64, sd: f64, what: &str| {
            let tol = 4.0 * (2.0f64).sqrt() * sd + gap(mean) + 1e-12;
            assert!(
                (ours - mean).abs() <= tol,
                "{name} {what}: ours {ours}, scipy {mean} ± {tol}"
            );
        };
        check(
            r.std_error,
            case["standard_error_mean"].as_f64().unwrap(),
            case["standard_error_sd"].as_f64().unwrap(),
            "standard error",
        );
        for m in ["percentile", "basic", "bca"] {
            let s = &case["intervals"][m];
            let [lo, hi] = r.intervals[m];
            check(
                lo,
                s["low_mean"].as_f64().unwrap(),
                s["low_sd"].as_f64().unwrap(),
                m,
            );
            check(
                hi,
                s["high_mean"].as_f64().unwrap(),
                s["high_sd"].as_f64().unwrap(),
                m,
            );
        }
    }
}

#[test]
fn shards_merge_to_the_same_run() {
    let data = Dataset::synthetic(500, 3);
    for stat in [
        Statistic::Mean { column: "x".into() },
        Statistic::Quantile {
            column: "x".into(),
            q: 0.25,
        },
    ] {
        let boot = Bootstrap::new(stat)
            .resamples(1000)
            .seed(9)
            .keep_replicates(true)
            .methods(&IntervalMethod::ALL);
        let e = Engine::cpu();
        let whole = boot.run(&e, &data).unwrap();
        let parts = [
            boot.shard(&e, &data, 700..1000).unwrap(),
            boot.shard(&e, &data, 0..333).unwrap(),
            boot.shard(&e, &data, 333..700).unwrap(),
        ];
        let merged = boot.combine(&data, &parts).unwrap();
        assert_eq!(whole.replicates, merged.replicates);
        assert_eq!(whole.intervals, merged.intervals);
        assert_eq!(whole.std_error, merged.std_error);
    }
}

/// A shard's range must be non-empty and within the run's resamples; both bootstraps refuse
/// a bad one naming `range`.
#[test]
fn bad_shard_ranges_are_refused_by_name() {
    let data = Dataset::synthetic(300, 3);
    let e = Engine::cpu();
    let boot = Bootstrap::new(Statistic::Mean { column: "x".into() }).resamples(100);
    let effect = ceteris::bootstrap::EffectBootstrap::new(
        ceteris::bootstrap::Estimator::Aipw,
        "t",
        "y",
        &["x"],
    )
    .resamples(100);
    #[allow(clippy::reversed_empty_ranges)] // the bad ranges are the point
    let bad = [5..5, 7..3, 50..101, 0..(1u64 << 33)];
    for range in bad {
        let err = boot
            .shard(&e, &data, range.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains("range"), "{range:?}: {err}");
        let err = effect
            .shard(&e, &data, range.clone())
            .unwrap_err()
            .to_string();
        assert!(err.contains("range"), "{range:?}: {err}");
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let data = Dataset::synthetic(2000, 5);
    let boot = Bootstrap::new(Statistic::Hajek {
        treatment: "t".into(),
        outcome: "y".into(),
        propensity: "e".into(),
    })
    .scheme(Scheme::Stationary { block_length: 20.0 })
    .resamples(300)
    .keep_replicates(true);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| boot.run(&Engine::cpu(), &data).unwrap().replicates)
    };
    // 300 replicates over 1, 2 and 3 threads: rayon splits them into several chunks per thread
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

#[test]
fn all_equal_replicates_give_zero_width_intervals_with_a_warning() {
    let data = common::one("x", vec![4.0; 30]);
    let r = Bootstrap::new(mean_stat())
        .resamples(200)
        .methods(&IntervalMethod::ALL)
        .run(&Engine::cpu(), &data)
        .unwrap();
    for m in ["percentile", "basic", "normal", "bca"] {
        assert_eq!(r.intervals[m], [4.0, 4.0], "{m}");
    }
    assert!(
        r.warnings.iter().any(|w| w.contains("zero-width")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn studentized_mean_is_close_to_t_interval_for_normal_data() {
    // For normal data the bootstrap-t interval of the mean approximates the t interval. Its
    // endpoints are m − se·q̂(1 − α/2) and m − se·q̂(α/2), q̂ the type-7 quantiles of B replicates
    // of t* = (m* − m)/se*, se = s/√n. Tolerance, derived:
    // * Centre. The bootstrap distribution of t* has the Edgeworth expansion
    //   P(t* ≤ x) = Φ(x) + γ̂(2x² + 1)φ(x)/(6√n) + O(1/n), γ̂ the sample skewness (Hall 1992,
    //   §2.6), so its p-quantile is z_p − δ with δ = γ̂(2z² + 1)/(6√n) at both tails (z² is the
    //   same). The O(1/n) term of a normal population is the t_{n−1} correction, so the expected
    //   endpoints are m − se(t − δ) and m + se(t + δ), t = t_{0.975, n−1}. The sample's
    //   departure from normality in the O(1/n) term, r = z(|κ̂||z² − 3|/12 + γ̂²(z⁴ + 2z² − 3)/18)/n
    //   (Hall's q₂₁ with the sample's excess kurtosis κ̂ and γ̂), and an O(n^{-3/2}) remainder,
    //   taken as |z|³/n^{3/2}, are allowed in full.
    // * Monte-Carlo error. A sample p-quantile of B draws has sd sqrt(p(1 − p)/B)/f(q_p); with
    //   f ≈ φ (t* is nearly standard normal): sqrt(0.025·0.975/20 000)/φ(1.96) = 0.0189, in units
    //   of se; we allow 4 of them (0.038 of the half-width, where the old undocumented tolerance
    //   was 0.06 of it).
    let x = common::normals(200, 12);
    let n = x.len() as f64;
    let m = mean_of(&x);
    let m2 = popvar(&x);
    let moment = |k: i32| x.iter().map(|v| (v - m).powi(k)).sum::<f64>() / n;
    let (gamma, kappa) = (moment(3) / m2.powf(1.5), moment(4) / (m2 * m2) - 3.0);
    let se = (m2 * n / (n - 1.0)).sqrt() / n.sqrt();
    let (z, t) = (1.959964, 1.971957); // z_{0.975}, t_{0.975, 199}
    let delta = gamma * (2.0 * z * z + 1.0) / (6.0 * n.sqrt());
    let r = z
        * (kappa.abs() * (z * z - 3.0).abs() / 12.0
            + gamma * gamma * (z.powi(4) + 2.0 * z * z - 3.0) / 18.0)
        / n
        + z.powi(3) / n.powf(1.5);
    let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mc = (0.025 * 0.975 / B as f64).sqrt() / phi;
    let tol = se * (4.0 * mc + r);
    let r_ = Bootstrap::new(mean_stat())
        .resamples(B)
        .methods(&[IntervalMethod::Studentized])
        .run(&Engine::cpu(), &common::one("x", x))
        .unwrap();
    assert!((r_.analytic_std_error.unwrap() - se).abs() <= 1e-12 * se);
    let [lo, hi] = r_.intervals["studentized"];
    let (lo_exp, hi_exp) = (m - se * (t - delta), m + se * (t + delta));
    assert!(
        (lo - lo_exp).abs() <= tol,
        "{lo} vs {lo_exp} ± {tol} (skewness {gamma}, se {se})"
    );
    assert!(
        (hi - hi_exp).abs() <= tol,
        "{hi} vs {hi_exp} ± {tol} (skewness {gamma}, se {se})"
    );
}

#[test]
fn large_tables_give_the_mean_of_the_materialised_draws() {
    // 300 000 rows (2.4 MB: a table beyond L2, gathered through the prefetching buffer from its
    // huge-page copy, since 5 replicates draw more than 4× the rows): each replicate must equal
    // the mean of its materialised draws.
    let n = 300_000;
    let x = common::normals(n, 21);
    let data = common::one("x", x.clone());
    let boot = Bootstrap::new(mean_stat())
        .resamples(5)
        .seed(8)
        .keep_replicates(true)
        .methods(&[IntervalMethod::Percentile]);
    let reps = boot.run(&Engine::cpu(), &data).unwrap().replicates.unwrap();
    let draws = boot.draws(&Engine::cpu(), &data, 0..5).unwrap();
    for (b, rep) in reps.iter().enumerate() {
        let idx = &draws[b * n..(b + 1) * n];
        let direct = idx.iter().map(|&i| x[i as usize]).sum::<f64>() / n as f64;
        assert!(
            (rep - direct).abs() < 1e-12,
            "replicate {b}: {rep} vs {direct}"
        );
    }
}

#[test]
fn quantile_replicates_are_type7_quantiles_of_the_materialised_draws() {
    // Each replicate's quantile against numpy's default (type 7) computed from the replicate's
    // materialised draws (rows, clusters expanded to their rows, or Poisson weights as row
    // repeats): the same value up to the f32 interpolation position the pick shares with the
    // shader (h = (m − 1) q in f32: ~1e-7 of a gap between neighbouring values).
    let n = 3000;
    let x = common::normals(n, 41);
    let g: Vec<f64> = (0..n).map(|i| (i / 6) as f64).collect(); // 500 clusters of 6 rows
    let data = Dataset::new()
        .with_column("x", x.clone())
        .unwrap()
        .with_column("g", g)
        .unwrap();
    let type7 = |mut v: Vec<f64>, q: f64| {
        v.sort_by(f64::total_cmp);
        let h = (v.len() - 1) as f64 * q;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        v[lo] + (h - lo as f64) * (v[hi] - v[lo])
    };
    let schemes = [
        Scheme::Iid,
        Scheme::Cluster { column: "g".into() },
        Scheme::MovingBlock { block_length: 7 },
        Scheme::Poisson,
    ];
    for scheme in schemes {
        for q in [0.5, 0.3] {
            let boot = Bootstrap::new(Statistic::Quantile {
                column: "x".into(),
                q,
            })
            .scheme(scheme.clone())
            .resamples(4)
            .seed(12)
            .keep_replicates(true)
            .methods(&[IntervalMethod::Percentile]);
            let reps = boot.run(&Engine::cpu(), &data).unwrap().replicates.unwrap();
            let draws = boot.draws(&Engine::cpu(), &data, 0..4).unwrap();
            let per = draws.len() / 4;
            for (b, rep) in reps.iter().enumerate() {
                let d = &draws[b * per..(b + 1) * per];
                let values: Vec<f64> = match scheme {
                    Scheme::Cluster { .. } => d
                        .iter()
                        .flat_map(|&c| x[c as usize * 6..c as usize * 6 + 6].to_vec())
                        .collect(),
                    Scheme::Poisson => d
                        .iter()
                        .enumerate()
                        .flat_map(|(i, &k)| std::iter::repeat_n(x[i], k as usize))
                        .collect(),
                    _ => d.iter().map(|&i| x[i as usize]).collect(),
                };
                let direct = type7(values, q);
                assert!(
                    (rep - direct).abs() < 1e-5,
                    "{scheme:?} q={q} replicate {b}: {rep} vs {direct}"
                );
            }
        }
    }
}

/// BCa's acceleration under the stratified scheme is Efron & Tibshirani's eq. 15.36 (a jackknife
/// within each stratum), as `scipy.stats.bootstrap` computes it for independent samples
/// (`paired=False`): scipy's own reference value on its two-sample data, and a three-sample case
/// of unequal sizes (`tests/reference/make_bca_multisample_reference.py`, scipy 1.17.1). The
/// acceleration is deterministic, so the tolerance is floating-point only.
#[test]
fn bca_acceleration_of_several_samples_matches_scipy() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("reference/bca_multisample_reference.json")).unwrap();
    let f64s = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let accel = |stat: Statistic, data: &Dataset, strata: &str| {
        let r = Bootstrap::new(stat)
            .scheme(Scheme::Stratified {
                column: strata.into(),
            })
            .methods(&[IntervalMethod::Bca])
            .resamples(999)
            .seed(1)
            .run(&Engine::cpu(), data)
            .unwrap();
        r.bca.expect("BCa details").acceleration
    };
    for case in doc["cases"].as_array().unwrap() {
        let want = case["acceleration"].as_f64().unwrap();
        let got = match case["name"].as_str().unwrap() {
            "scipy_two_sample" => {
                let (z, y) = (f64s(&case["treated"]), f64s(&case["control"]));
                let t: Vec<f64> = z.iter().map(|_| 1.0).chain(y.iter().map(|_| 0.0)).collect();
                let data = Dataset::new()
                    .with_column("y", z.iter().chain(&y).copied().collect())
                    .unwrap()
                    .with_column("t", t)
                    .unwrap();
                let stat = Statistic::DiffMeans {
                    treatment: "t".into(),
                    outcome: "y".into(),
                };
                accel(stat, &data, "t")
            }
            "three_samples" => {
                let (mut x, mut g) = (Vec::new(), Vec::new());
                for (k, s) in case["samples"].as_array().unwrap().iter().enumerate() {
                    let s = f64s(s);
                    g.extend(s.iter().map(|_| k as f64));
                    x.extend(s);
                }
                let data = Dataset::new()
                    .with_column("x", x)
                    .unwrap()
                    .with_column("g", g)
                    .unwrap();
                accel(mean_stat(), &data, "g")
            }
            other => panic!("unknown case {other}"),
        };
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1e-3),
            "{}: acceleration {got}, scipy {want}",
            case["name"]
        );
    }
}

/// Clipping the propensity changes the IPW estimate exactly as clipping the column beforehand
/// does, and a clip outside (0, 0.5) is refused naming the parameter.
#[test]
fn clipped_propensity_equals_a_clipped_column() {
    let n = 300;
    let t: Vec<f64> = (0..n).map(|i| ((i * 7) % 3 == 0) as u8 as f64).collect();
    let e: Vec<f64> = (0..n)
        .map(|i| 0.02 + 0.96 * ((i * 31) % 97) as f64 / 96.0)
        .collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 11) as f64 + 2.0 * t[i]).collect();
    let clipped: Vec<f64> = e.iter().map(|v| v.clamp(0.1, 0.9)).collect();
    let data = Dataset::new()
        .with_column("t", t)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("e", e)
        .unwrap()
        .with_column("c", clipped)
        .unwrap();
    let ipw = |p: &str| Statistic::Ipw {
        treatment: "t".into(),
        outcome: "y".into(),
        propensity: p.into(),
    };
    let run = |b: Bootstrap| b.resamples(300).seed(5).run(&Engine::cpu(), &data).unwrap();
    let a = run(Bootstrap::new(ipw("e")).clip_propensity(0.1));
    let b = run(Bootstrap::new(ipw("c")));
    assert_eq!(a.estimate, b.estimate);
    assert_eq!(a.std_error, b.std_error);
    assert_eq!(a.intervals, b.intervals);
    assert_eq!(a.overlap, b.overlap);
    assert_eq!(a.nuisance.as_deref(), Some("fixed"));
    for bad in [0.0, 0.5, -1.0, f64::NAN] {
        let err = Bootstrap::new(ipw("e"))
            .clip_propensity(bad)
            .run(&Engine::cpu(), &data)
            .unwrap_err();
        assert!(err.to_string().contains("clip"), "{err}");
    }
}

/// Issue 19: `combine` refuses shards that leave a gap, overlap, or come from another seed,
/// number of resamples, statistic, scheme or data set, naming the shard and the reason.
#[test]
fn combine_refuses_shards_of_another_run() {
    let data = Dataset::new()
        .with_column("x", (0..80).map(|i| ((i * 17) % 29) as f64).collect())
        .unwrap()
        .with_column("y", (0..80).map(|i| (i % 5) as f64).collect())
        .unwrap();
    let e = Engine::cpu();
    let boot = Bootstrap::new(mean_stat()).resamples(100).seed(3);
    let shard = |b: &Bootstrap, r: std::ops::Range<u64>| b.shard(&e, &data, r).unwrap();
    let err = |shards: &[ceteris::Shard]| boot.combine(&data, shards).unwrap_err().to_string();
    let (a, b) = (shard(&boot, 0..50), shard(&boot, 50..100));
    assert!(boot.combine(&data, &[b.clone(), a.clone()]).is_ok());
    // a gap, at either end or inside
    assert!(err(std::slice::from_ref(&a)).contains("50..100 are in no shard"));
    assert!(err(std::slice::from_ref(&b)).contains("0..50 are in no shard"));
    let c = shard(&boot, 60..100);
    assert!(err(&[a.clone(), c]).contains("50..60 are in no shard"));
    // overlap
    let d = shard(&boot, 40..100);
    assert!(err(&[a.clone(), d]).contains("overlaps"));
    // another seed, B, statistic, scheme, data
    let other_seed = shard(&boot.clone().seed(4), 50..100);
    assert!(err(&[a.clone(), other_seed]).contains("seed 4"));
    let other_b = shard(&boot.clone().resamples(200), 50..100);
    assert!(err(&[a.clone(), other_b]).contains("200 resamples"));
    let other_stat = Bootstrap::new(Statistic::Mean { column: "y".into() })
        .resamples(100)
        .seed(3);
    assert!(err(&[a.clone(), shard(&other_stat, 50..100)]).contains("fingerprint"));
    let other_scheme = boot.clone().scheme(Scheme::Bayesian);
    assert!(err(&[a.clone(), shard(&other_scheme, 50..100)]).contains("fingerprint"));
    let changed = Dataset::new()
        .with_column("x", (0..80).map(|i| ((i * 17) % 29) as f64 + 1.0).collect())
        .unwrap()
        .with_column("y", (0..80).map(|i| (i % 5) as f64).collect())
        .unwrap();
    let foreign = boot.shard(&e, &changed, 50..100).unwrap();
    assert!(err(&[a, foreign]).contains("fingerprint"));
    assert!(err(&[]).contains("no shards"));
}
