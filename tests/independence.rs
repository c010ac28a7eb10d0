//! Kernel independence tests against causal-learn 0.1.4.8 (tests/reference/
//! make_independence_reference.py, Gaussian kernels; make_kernels_reference.py, linear,
//! polynomial and Laplace kernels): statistics to 1e-6 relative, p-values to 1e-4 absolute (and,
//! below 1e-4, −ln p to the relative tolerance its null approximation's inputs allow:
//! [`check_gamma_p`], [`check_chi2_p`]), on the CPU backend, for unconditional and conditional
//! cases, empirical and median widths.

use ceteris::independence::{IndependenceTest, Kernel, Null, Width};
use ceteris::{Dataset, Engine, Error};

fn cols(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// Relative precision of the inputs of a gamma-approximated p-value (the statistic and the null's
/// mean and variance, hence shape k and scale θ): the statistic agrees with the reference to 1e-6
/// relative (asserted beside), and the null moments come from the same factors and
/// eigendecompositions, so we grant them the same precision.
const GAMMA_INPUT_RTOL: f64 = 1e-6;

/// `−ln sf(s)` of a gamma(k, scale θ).
fn gamma_neg_ln_sf(s: f64, k: f64, theta: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Gamma};
    -Gamma::new(k, 1.0 / theta).unwrap().sf(s).ln()
}

/// A gamma-approximated p-value (KCI, HSIC) against the reference: within 1e-4 absolute when the
/// reference p (`p_value_sf`, scipy's `gamma.sf`, accurate in the far tail) is at least 1e-4; below
/// that an absolute tolerance exceeds p itself, so −ln p is compared instead, within the change
/// that perturbing each of s, k and θ by GAMMA_INPUT_RTOL makes in −ln sf (their first-order
/// sensitivities, summed), plus 1e-12 relative for the evaluation itself. Returns whether −ln p
/// was compared.
fn check_gamma_p(name: &str, ours: f64, case: &serde_json::Value) -> bool {
    let p_sf = case["p_value_sf"].as_f64().unwrap();
    if p_sf >= 1e-4 {
        let p = case["p_value"].as_f64().unwrap();
        assert!(
            (ours - p).abs() <= 1e-4,
            "{name}: p-value {ours} vs reference {p}"
        );
        return false;
    }
    let (s, k, theta) = (
        case["statistic"].as_f64().unwrap(),
        case["k_appr"].as_f64().unwrap(),
        case["theta_appr"].as_f64().unwrap(),
    );
    let e = 1.0 + GAMMA_INPUT_RTOL;
    let f = gamma_neg_ln_sf(s, k, theta);
    let tol = (gamma_neg_ln_sf(s * e, k, theta) - f).abs()
        + (gamma_neg_ln_sf(s, k * e, theta) - f).abs()
        + (gamma_neg_ln_sf(s, k, theta * e) - f).abs()
        + 1e-12 * f;
    let (lo, lr) = (-ours.ln(), -p_sf.ln());
    assert!(
        (lo - lr).abs() <= tol,
        "{name}: −ln p {lo} (p = {ours}) vs reference {lr} (p_value_sf = {p_sf}) ± {tol}"
    );
    true
}

/// hyppo's chi-square p-value `chi2.sf(n·s + 1, 1)`: within `abs_tol` when p ≥ 1e-4; below, −ln p
/// against the reference's `log_p_value` (`chi2.logsf`), within the change of −ln sf that the
/// statistic's own tolerance `ds` makes: its derivative in s is n times the χ²₁ hazard, at most
/// n·(1/2 + 1/x) at x = n·s + 1 (the hazard of χ²₁ is below 1/2 + 1/x), plus 1e-12 relative.
/// Returns whether −ln p was compared.
fn check_chi2_p(name: &str, ours: f64, case: &serde_json::Value, ds: f64, abs_tol: f64) -> bool {
    let p = case["p_value"].as_f64().unwrap();
    if p >= 1e-4 {
        assert!((ours - p).abs() <= abs_tol, "{name}: {ours} vs {p}");
        return false;
    }
    let n = case["n"].as_f64().unwrap();
    let x = n * case["statistic"].as_f64().unwrap() + 1.0;
    let lr = -case["log_p_value"].as_f64().unwrap();
    let tol = n * (0.5 + 1.0 / x) * ds + 1e-12 * lr;
    let lo = -ours.ln();
    assert!(
        (lo - lr).abs() <= tol,
        "{name}: −ln p {lo} (p = {ours}) vs reference {lr} ± {tol}"
    );
    true
}

#[test]
fn matches_causal_learn() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("reference/independence_reference.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let mut logs = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut data = Dataset::new();
        let mut names = |prefix: &str, v: &serde_json::Value| -> Vec<String> {
            cols(v)
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let nm = format!("{prefix}{i}");
                    data.push_column(&nm, c).unwrap();
                    nm
                })
                .collect()
        };
        let (x, y, z) = (
            names("x", &case["x"]),
            names("y", &case["y"]),
            names("z", &case["z"]),
        );
        let width = match case["width"].as_str().unwrap() {
            "empirical" => Width::Empirical,
            "median" => Width::Median,
            w => panic!("{w}"),
        };
        fn r(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let res = IndependenceTest::kci()
            .width(width)
            .run(&Engine::cpu(), &data, &r(&x), &r(&y), &r(&z))
            .unwrap();
        let stat = case["statistic"].as_f64().unwrap();
        assert!(
            (res.statistic - stat).abs() <= 1e-6 * stat.abs(),
            "{name}: statistic {} vs causal-learn {stat}",
            res.statistic
        );
        logs += check_gamma_p(name, res.p_value, case) as usize;
    }
    // the five cases below p = 1e-4 (three of them exactly 0 in causal-learn's `p_value`)
    assert_eq!(logs, 5);
}

/// One case of `kernels_reference.json` as (data, X, Y, Z column names, the test to run).
fn kernel_case(case: &serde_json::Value) -> (Dataset, [Vec<String>; 3], IndependenceTest) {
    let mut data = Dataset::new();
    let mut names = |prefix: &str, v: &serde_json::Value| -> Vec<String> {
        cols(v)
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let nm = format!("{prefix}{i}");
                data.push_column(&nm, c).unwrap();
                nm
            })
            .collect()
    };
    let vars = [
        names("x", &case["x"]),
        names("y", &case["y"]),
        names("z", &case["z"]),
    ];
    let kernel = match case["kernel"].as_str().unwrap() {
        "linear" => Kernel::Linear,
        "polynomial" => Kernel::Polynomial(case["degree"].as_u64().unwrap() as u32),
        "laplace" => Kernel::Laplace,
        k => panic!("{k}"),
    };
    let width = match case["width"].as_str().unwrap() {
        "empirical" => Width::Empirical,
        "median" => Width::Median,
        w => panic!("{w}"),
    };
    // HSIC for the unconditional cases (its gamma null is KCI_UInd's), KCI for the conditional
    let test = if vars[2].is_empty() {
        IndependenceTest::hsic()
    } else {
        IndependenceTest::kci()
    };
    (data, vars, test.kernel(kernel).width(width))
}

/// Linear and polynomial (degrees 2 and 3) kernels against causal-learn 0.1.4.8's KCI_UInd /
/// KCI_CInd (kernelZ the same family), and the Laplace kernel against the numpy HSIC / KCI of
/// tests/reference/make_kernels_reference.py (validated there against causal-learn's Gaussian
/// KCI): statistics to 1e-6 relative, p-values to 1e-4 absolute ([`check_gamma_p`]: −ln p below
/// 1e-4).
#[test]
fn other_kernels_match_references() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("reference/kernels_reference.json")).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    let mut logs = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let (data, [x, y, z], test) = kernel_case(case);
        fn r(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let stat = case["statistic"].as_f64().unwrap();
        // the default low-rank factors and exact ones (tolerance 0) alike
        for tol in [1e-9, 0.0] {
            let res = test
                .clone()
                .tolerance(tol)
                .run(&Engine::cpu(), &data, &r(&x), &r(&y), &r(&z))
                .unwrap();
            assert!(
                (res.statistic - stat).abs() <= 1e-6 * stat.abs(),
                "{name} (tolerance {tol}): statistic {} vs reference {stat}",
                res.statistic
            );
            logs += check_gamma_p(&format!("{name} (tolerance {tol})"), res.p_value, case) as usize;
        }
    }
    // two cases below p = 1e-4, each with both factorisations
    assert_eq!(logs, 4);
}

/// A hand-computed Laplace-kernel HSIC beside the numpy-derived cases, on two 0/1 columns of
/// 10 rows: x = 1 on rows 0–3, y = 1 on rows 0–4. Standardised (ddof = 1) the two values of x
/// lie √3.75 apart and those of y √3.6, so with σ = 1 each kernel is
/// K = b𝟙𝟙ᵀ + (1 − b)(hhᵀ + (𝟙 − h)(𝟙 − h)ᵀ) (h the indicator, b = e^{−distance}) and its
/// centred H K H = 2(1 − b) u uᵀ with u = h − mean(h)·𝟙. The statistic Σ (H Kx H)∘(H Ky H) is
/// then 4(1 − bx)(1 − by)(uₓ·u_y)², and uₓ·u_y = 4 − 10 · 0.4 · 0.5 = 2: the statistic is
/// 16 (1 − e^{−√3.75})(1 − e^{−√3.6}) ≈ 11.6393.
#[test]
fn laplace_kernel_hsic_matches_a_hand_computed_statistic() {
    let d = Dataset::new()
        .with_column("x", (0..10).map(|i| (i < 4) as u8 as f64).collect())
        .unwrap()
        .with_column("y", (0..10).map(|i| (i < 5) as u8 as f64).collect())
        .unwrap();
    let want = 16.0 * (1.0 - (-(3.75f64).sqrt()).exp()) * (1.0 - (-(3.6f64).sqrt()).exp());
    for tol in [1e-9, 0.0] {
        let res = IndependenceTest::hsic()
            .kernel(Kernel::Laplace)
            .width(Width::Fixed(1.0))
            .tolerance(tol)
            .run(&Engine::cpu(), &d, &["x"], &["y"], &[])
            .unwrap();
        assert!(
            (res.statistic - want).abs() <= 1e-12 * want,
            "tolerance {tol}: {} vs {want}",
            res.statistic
        );
    }
}

fn toy(n: usize) -> Dataset {
    let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 997) as f64 / 997.0).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| ((i * 104729) % 991) as f64 / 991.0)
        .collect();
    let z: Vec<f64> = (0..n)
        .map(|i| ((i * 1299709) % 983) as f64 / 983.0)
        .collect();
    Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("z", z)
        .unwrap()
        .with_column("c", vec![1.0; n])
        .unwrap()
}

#[test]
fn permutation_p_values_are_reproducible_and_bounded() {
    let d = toy(200);
    let t = IndependenceTest::hsic().null(Null::Permutation(99)).seed(5);
    let a = t.run(&Engine::cpu(), &d, &["x"], &["y"], &[]).unwrap();
    let b = t.run(&Engine::cpu(), &d, &["x"], &["y"], &[]).unwrap();
    assert_eq!(a.p_value, b.p_value);
    assert!(a.p_value >= 0.01 && a.p_value <= 1.0);
    // p is (1 + #exceed) / 100
    assert!((a.p_value * 100.0 - (a.p_value * 100.0).round()).abs() < 1e-9);
}

#[test]
fn bad_input_is_named() {
    let d = toy(50);
    let e = Engine::cpu();
    let kci = IndependenceTest::kci();
    assert!(matches!(
        kci.run(&e, &d, &["c"], &["y"], &[]),
        Err(Error::ConstantColumn(c)) if c == "c"
    ));
    assert!(matches!(
        kci.run(&e, &d, &["x"], &["y"], &["x"]),
        Err(Error::InvalidParameter { name, .. }) if name == "z"
    ));
    assert!(matches!(
        kci.run(&e, &d, &["x"], &["nope"], &[]),
        Err(Error::UnknownColumn { name, .. }) if name == "nope"
    ));
    assert!(matches!(
        IndependenceTest::hsic().null(Null::Permutation(0)).run(&e, &d, &["x"], &["y"], &[]),
        Err(Error::InvalidParameter { name, .. }) if name == "permutations"
    ));
    assert!(matches!(
        kci.run(&e, &toy(5), &["x"], &["y"], &[]),
        Err(Error::TooFewRows {
            need: 10,
            got: 5,
            ..
        })
    ));
    let mut nan = toy(50);
    let mut col = nan.column("x").unwrap().to_vec();
    col[7] = f64::NAN;
    nan = Dataset::new()
        .with_column("x", col)
        .unwrap()
        .with_column("y", nan.column("y").unwrap().to_vec())
        .unwrap();
    assert!(matches!(
        kci.run(&e, &nan, &["x"], &["y"], &[]),
        Err(Error::NonFinite { row: 7, .. })
    ));
    assert!(matches!(
        IndependenceTest::hsic().run(&e, &d, &["x"], &["y"], &["z"]),
        Err(Error::InvalidParameter { name, .. }) if name == "z"
    ));
}

#[test]
fn tester_batches_equal_single_runs() {
    use ceteris::independence::Tester;
    let d = Dataset::synthetic(400, 3);
    let e = Engine::cpu();
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let queries = vec![
        (s(&["x"]), s(&["y"]), s(&[])),
        (s(&["t"]), s(&["y"]), s(&["z"])),
        (s(&["x"]), s(&["w"]), s(&["z"])),
        (s(&["y"]), s(&["w"]), s(&["z", "t"])),
        (s(&["t"]), s(&["y"]), s(&["z"])),
    ];
    // cached factors, Z-regressions, feature bandwidths and Z feature parts change nothing
    for test in [
        IndependenceTest::kci(),
        IndependenceTest::rcot(),
        IndependenceTest::rcit(),
        IndependenceTest::fisher_z(),
    ] {
        let tester = Tester::new(&e, &d, test.clone());
        let batch = tester.batch(&queries);
        for ((x, y, z), b) in queries.iter().zip(batch) {
            fn r(v: &[String]) -> Vec<&str> {
                v.iter().map(String::as_str).collect()
            }
            let one = test.run(&e, &d, &r(x), &r(y), &r(z)).unwrap();
            let b = b.unwrap();
            assert_eq!(
                one.statistic,
                b.statistic,
                "{} {x:?} {y:?} {z:?}",
                test.name()
            );
            assert_eq!(one.p_value, b.p_value, "{} {x:?} {y:?} {z:?}", test.name());
        }
    }
}

/// RCoT / RCIT / RIT against causal-learn 0.1.4.8 with the same random features
/// (tests/reference/make_rcot_reference.py), every null approximation (LPB4, HBE, gamma, χ²):
/// * the two well-conditioned conditional cases (RCoT and RCIT, 5 Z features): statistics and
///   p-values to n·ε·κz·κc relative and 4× that absolute (κ the recorded condition numbers; about
///   1e-11 to 1e-8), the χ² null included;
/// * RIT (unconditional): statistics to 1e-6 relative and p-values to 1e-4 absolute, except the χ²
///   null, whose normalised statistic pseudo-inverts a covariance with rounding-noise eigenvalues:
///   its p-value to 1e-3 absolute;
/// * the other conditional cases (100 Z features, cond(Czz + 1e-10 I) near 1e12): statistics to
///   2e-3 relative and p-values to 1e-3 absolute for LPB4, HBE and gamma; χ² not compared (its
///   pseudo-inverse of the nearly singular covariance is not reproducible: causal-learn's own value
///   for rcit_fork3_n250 moved from 95.5 to 388 across BLAS builds).
#[test]
fn rff_tests_match_causal_learn_given_the_same_features() {
    use ceteris::independence::{rff_reference, rff_sigma, Approx, Features};
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("reference/rcot_reference.json")).unwrap();
    let vecf = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let feats = |v: &serde_json::Value| Features {
        w: vecf(&v["w"]),
        b: vecf(&v["b"]),
    };
    let mut well_conditioned = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y, z) = (cols(&case["x"]), cols(&case["y"]), cols(&case["z"]));
        let rcit = case["rcit"].as_bool().unwrap();
        for (key, approx) in [
            ("lpd4", Approx::Lpb4),
            ("hbe", Approx::Hbe),
            ("gamma", Approx::Gamma),
            ("chi2", Approx::Chi2),
        ] {
            let r = &case["results"][key];
            let f = &r["features"];
            // σ rule: the recorded σ of X is ours
            let sx = f["x"]["sigma"].as_f64().unwrap();
            assert!(
                (rff_sigma(&x).unwrap() - sx).abs() < 1e-9 * sx,
                "{name} sigma"
            );
            let fz = if z.is_empty() {
                None
            } else {
                Some(feats(&f["z"]))
            };
            let (stat, p) = rff_reference(
                &x,
                &y,
                &z,
                rcit,
                &feats(&f["x"]),
                &feats(&f["y"]),
                fz.as_ref(),
                approx,
            )
            .unwrap();
            let (es, ep) = (
                r["statistic"].as_f64().unwrap(),
                r["p_value"].as_f64().unwrap(),
            );
            if case.get("num_f").is_some() {
                // Well conditioned (5 Z and 3 X/Y features): cond(Czz + 1e-10 I) = κz and cond of
                // the residual-product covariance = κc, both recorded, below 1e4. Sums over n rows
                // carry n·ε of relative rounding, the ridge solve amplifies it by κz and the
                // eigendecomposition / pseudo-inverse of the covariance by κc, so the statistic
                // (χ²'s normalised one included) agrees to n·ε·κz·κc relative. The p-value moves by
                // x·f(x) times the relative change of the statistic and of the null's eigenvalues,
                // and x·f(x) ≤ √(k/2π) + 1 < 2 for k = 9 degrees of freedom: 4× that tolerance.
                let n = x[0].len() as f64;
                let tol = n
                    * f64::EPSILON
                    * r["cond_czz"].as_f64().unwrap()
                    * r["cond_cov"].as_f64().unwrap();
                assert!(
                    (stat - es).abs() <= tol * es,
                    "{name} {key}: statistic {stat} vs {es} (relative tolerance {tol:e})"
                );
                assert!(
                    (p - ep).abs() <= 4.0 * tol,
                    "{name} {key}: p {p} vs {ep} (tolerance {:e})",
                    4.0 * tol
                );
                well_conditioned += (key == "chi2") as usize;
            } else if z.is_empty() && key == "chi2" {
                // the normalised statistic pseudo-inverts the residual product covariance, whose
                // smallest eigenvalues are rounding noise: compare the p-value only
                assert!((p - ep).abs() <= 1e-3, "{name} {key}: p {p} vs {ep}");
            } else if z.is_empty() {
                // RIT: well conditioned, same numbers
                assert!(
                    (stat - es).abs() <= 1e-6 * es,
                    "{name} {key}: statistic {stat} vs {es}"
                );
                assert!((p - ep).abs() <= 1e-4, "{name} {key}: p {p} vs {ep}");
            } else if key != "chi2" {
                // Conditional: (Czz + 1e-10 I) has condition numbers near 1e12 (100 cosine features
                // of a few columns are nearly collinear), so equivalent orders of operations differ
                // in the 4th digit — numpy's own solve / inverse / pinv routes differ by 5e-4
                // relative on rcot_fork_n200. Tolerance: 2e-3 relative, p within 1e-3.
                assert!(
                    (stat - es).abs() <= 2e-3 * es,
                    "{name} {key}: statistic {stat} vs {es}"
                );
                assert!((p - ep).abs() <= 1e-3, "{name} {key}: p {p} vs {ep}");
            }
            // the other conditional cases' chi2 inverts a nearly singular covariance: not compared
        }
    }
    // conditional χ²: RCoT and RCIT
    assert_eq!(well_conditioned, 2);
}

/// Spectral null against causal-learn's `approx=False` (20 000 numpy draws each side is ours
/// with Philox): p-values agree within 4 Monte-Carlo standard errors of the difference,
/// 4·sqrt(2 p (1 − p) / 20 000).
#[test]
fn spectral_null_matches_causal_learn_within_monte_carlo_error() {
    let refs: serde_json::Value =
        serde_json::from_str(include_str!("reference/spectral_reference.json")).unwrap();
    let data: serde_json::Value =
        serde_json::from_str(include_str!("reference/independence_reference.json")).unwrap();
    for r in refs["cases"].as_array().unwrap() {
        let name = r["name"].as_str().unwrap();
        let case = data["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        let mut d = Dataset::new();
        d.push_column("x", cols(&case["x"]).remove(0)).unwrap();
        d.push_column("y", cols(&case["y"]).remove(0)).unwrap();
        let z: Vec<&str> = if case["z"].as_array().unwrap().is_empty() {
            vec![]
        } else {
            d.push_column("z", cols(&case["z"]).remove(0)).unwrap();
            vec!["z"]
        };
        let res = IndependenceTest::kci()
            .null(Null::Spectral(20_000))
            .seed(3)
            .run(&Engine::cpu(), &d, &["x"], &["y"], &z)
            .unwrap();
        let p = r["p_value"].as_f64().unwrap();
        let tol = 4.0 * (2.0 * p * (1.0 - p) / 20_000.0).sqrt();
        assert!(
            (res.p_value - p).abs() <= tol,
            "{name}: {} vs {p} ± {tol}",
            res.p_value
        );
        assert!((res.statistic - r["statistic"].as_f64().unwrap()).abs() < 1e-6 * res.statistic);
    }
}

#[test]
fn testwise_deletion_drops_rows_with_the_marker() {
    let n = 300;
    let mut z: Vec<f64> = (0..n).map(|i| ((i * 7) % 13) as f64 / 13.0 + 0.1).collect();
    for v in z.iter_mut().step_by(3) {
        *v = 0.0; // dropout zeros
    }
    let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 997) as f64 / 997.0).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| ((i * 104729) % 991) as f64 / 991.0)
        .collect();
    let d = Dataset::new()
        .with_column("x", x.clone())
        .unwrap()
        .with_column("y", y.clone())
        .unwrap()
        .with_column("z", z.clone())
        .unwrap();
    let deleted = IndependenceTest::kci()
        .testwise_deletion(Some(0.0))
        .run(&Engine::cpu(), &d, &["x"], &["y"], &["z"])
        .unwrap();
    let keep: Vec<usize> = (0..n).filter(|&i| z[i] != 0.0).collect();
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let sub = Dataset::new()
        .with_column("x", pick(&x))
        .unwrap()
        .with_column("y", pick(&y))
        .unwrap()
        .with_column("z", pick(&z))
        .unwrap();
    let direct = IndependenceTest::kci()
        .run(&Engine::cpu(), &sub, &["x"], &["y"], &["z"])
        .unwrap();
    assert_eq!(deleted.n, keep.len());
    assert_eq!(deleted.statistic, direct.statistic);
    assert_eq!(deleted.p_value, direct.p_value);
}

#[test]
fn exact_factors_agree_with_the_default_tolerance() {
    // tolerance 0 factors the Gram matrices exactly (full rank); the default 1e-9 residual trace
    // moves statistics by far less than the 1e-6 we promise against causal-learn
    let d = Dataset::synthetic(250, 9);
    for z in [vec![], vec!["z"]] {
        let a = IndependenceTest::kci()
            .run(&Engine::cpu(), &d, &["x"], &["y"], &z)
            .unwrap();
        let b = IndependenceTest::kci()
            .tolerance(0.0)
            .run(&Engine::cpu(), &d, &["x"], &["y"], &z)
            .unwrap();
        assert!(
            (a.statistic - b.statistic).abs() <= 1e-7 * b.statistic,
            "{z:?}"
        );
        assert!((a.p_value - b.p_value).abs() <= 1e-7, "{z:?}");
    }
}

#[test]
fn fisher_z_rejects_what_it_cannot_test() {
    let data = Dataset::synthetic(50, 3);
    let e = Engine::cpu();
    let fz = IndependenceTest::fisher_z;
    let msg = |r: ceteris::Result<_>| {
        r.map(|_: ceteris::independence::TestResult| ())
            .unwrap_err()
            .to_string()
    };
    assert!(msg(fz().run(&e, &data, &["x", "z"], &["y"], &[])).contains("exactly one X"));
    assert!(msg(fz()
        .null(Null::Permutation(10))
        .run(&e, &data, &["x"], &["y"], &[]))
    .contains("normal null"));
    // x and t2 = 2·t are collinear given t: a singular correlation matrix, named
    let t: Vec<f64> = data
        .column("t")
        .unwrap()
        .iter()
        .map(|v| 2.0 * v + 1.0)
        .collect();
    let d2 = data.clone().with_column("t2", t).unwrap();
    assert!(msg(fz().run(&e, &d2, &["x"], &["y"], &["t", "t2"])).contains("singular"));
    // 11 rows, 8 conditioning columns: n − |Z| − 3 = 0 degrees of freedom
    let mut tiny = Dataset::new();
    for c in 0..10 {
        let v = (0..11)
            .map(|i: usize| ((i * i * (c + 1) + 3 * i * c) % 17) as f64)
            .collect();
        tiny.push_column(&format!("c{c}"), v).unwrap();
    }
    let z: Vec<String> = (2..10).map(|c| format!("c{c}")).collect();
    let z: Vec<&str> = z.iter().map(String::as_str).collect();
    let r = fz().run(&e, &tiny, &["c0"], &["c1"], &z);
    let m = msg(r);
    assert!(m.contains("too few rows"), "{m}");
}

/// hyppo 0.5.2's `Hsic().test` (tests/reference/make_hyppo_reference.py): the unbiased,
/// normalised HSIC to 1e-6 relative (plus 1e-9 absolute: independent cases sit near 0, where the
/// factors' 1e-9 relative residual shows) and the chi-square p-value to 1e-6 absolute, or below
/// 1e-4 −ln p against `log_p_value` ([`check_chi2_p`]).
#[test]
fn hsic_u_matches_hyppo() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("reference/hyppo_reference.json")).unwrap();
    let e = Engine::cpu();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 7);
    let mut logs = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut d = Dataset::new();
        let mut add = |p: &str, v: &serde_json::Value| -> Vec<String> {
            cols(v)
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let nm = format!("{p}{i}");
                    d.push_column(&nm, c).unwrap();
                    nm
                })
                .collect()
        };
        let (xn, yn) = (add("x", &case["x"]), add("y", &case["y"]));
        fn r(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let t = IndependenceTest::hsic_u()
            .run(&e, &d, &r(&xn), &r(&yn), &[])
            .unwrap();
        let s = case["statistic"].as_f64().unwrap();
        assert!(
            (t.statistic - s).abs() <= 1e-6 * s.abs() + 1e-9,
            "{name}: {} vs {s}",
            t.statistic
        );
        logs += check_chi2_p(name, t.p_value, case, 1e-6 * s.abs() + 1e-9, 1e-6) as usize;
    }
    // the four cases below p = 1e-4
    assert_eq!(logs, 4);
}
