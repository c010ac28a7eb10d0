//! The degenerate-Gaussian likelihood-ratio test for mixed data (`dg`, issue 16 item 4):
//! reference values (statsmodels' OLS likelihood-ratio test and a numpy closed form, from
//! `tests/reference/make_mixed_reference.py`), calibration of the null, power, bad input, and
//! discovery with it.
//!
//! ## Calibration bound
//!
//! As `tests/calibration.rs`: each null row draws `N = 2000` data sets of n = 200 rows and counts
//! `K` rejections at α = 0.05; `K ~ Binomial(N, α)` when the test is calibrated, and the assertion
//! is `|K/N − α| ≤ z_k σ + 1/(2N)` with `σ = √(α(1 − α)/N)` and `z_k = Φ⁻¹(1 − Φ(−4)/k)` over the
//! `k = 5` rows (four null rows and the power row; 4σ family-wise; ± 0.021 at α). The χ² law of the LR statistic is asymptotic (it is
//! exact for the F test it approximates), which at n = 200 and at most 4 degrees of freedom moves
//! the rate by well under the band. The null rows are ones where the test's Gaussian model holds
//! on at least one side (the LR is symmetric in X and Y, so one side whose conditional mean is
//! linear in the embedded conditioning columns, with constant Gaussian noise, suffices), or an
//! unconditional pair (where the LR is a function of the canonical correlations of the
//! indicators, asymptotically χ² like Pearson's).

use ceteris::data::CsvOptions;
use ceteris::discovery::Pc;
use ceteris::independence::IndependenceTest;
use ceteris::rng::{open_unit, Stream};
use ceteris::{Dataset, Engine};
use statrs::distribution::{ContinuousCDF, Normal};

const SETS: u32 = 2000;
const N: usize = 200;
const ROWS: f64 = 5.0;
const ALPHA: f64 = 0.05;

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("reference/mixed_reference.json")).unwrap()
}

/// A column's values: `Ok` numbers, `Err` labels (read as text labels).
type Column = Result<Vec<f64>, Vec<String>>;

/// A data set from named columns.
fn dataset(cols: &[(&str, Column)]) -> Dataset {
    let n = match &cols[0].1 {
        Ok(v) => v.len(),
        Err(v) => v.len(),
    };
    let mut csv = cols.iter().map(|c| c.0).collect::<Vec<_>>().join(",");
    csv.push('\n');
    for i in 0..n {
        let row: Vec<String> = cols
            .iter()
            .map(|(_, c)| match c {
                Ok(v) => format!("{:e}", v[i]),
                Err(v) => v[i].clone(),
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let labels: Vec<&str> = cols.iter().filter(|c| c.1.is_err()).map(|c| c.0).collect();
    Dataset::read_reader(csv.as_bytes(), "mem", &CsvOptions::new().labels(&labels)).unwrap()
}

#[test]
fn matches_statsmodels_and_closed_form() {
    let r = reference();
    let discrete: Vec<&str> = r["discrete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let cols: Vec<(&str, Column)> = r["columns"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let a = v.as_array().unwrap();
            let c = if discrete.contains(&k.as_str()) {
                Err(a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            } else {
                Ok(a.iter().map(|s| s.as_f64().unwrap()).collect())
            };
            (k.as_str(), c)
        })
        .collect();
    let data = dataset(&cols);
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut checked = 0;
    for case in r["cases"].as_array().unwrap() {
        let (x, y, z) = (names(&case["x"]), names(&case["y"]), names(&case["z"]));
        fn refs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let got = IndependenceTest::dg()
            .run(&Engine::cpu(), &data, &refs(&x), &refs(&y), &refs(&z))
            .unwrap();
        let (stat, p) = (
            case["statistic"].as_f64().unwrap(),
            case["p_value"].as_f64().unwrap(),
        );
        assert!(
            (got.statistic - stat).abs() <= 1e-8 * stat.max(1.0),
            "{x:?} {y:?} {z:?}: statistic {} vs {stat}",
            got.statistic
        );
        assert!(
            (got.p_value - p).abs() <= 1e-8 * p.max(1e-12),
            "{x:?} {y:?} {z:?}: p {} vs {p}",
            got.p_value
        );
        assert_eq!(got.test, "dg");
        assert_eq!(got.null, "chi2");
        checked += 1;
    }
    assert_eq!(checked, 11);
}

fn normals(stream: &Stream, set: u32, col: u32, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let w = stream.block(set, (col << 20) + i as u32);
            let (u1, u2) = (open_unit(w[0]), open_unit(w[1]));
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

/// Levels by thresholds of a latent value: `a` below `lo`, `b` up to `hi`, `c` above.
fn cut(v: &[f64], lo: f64, hi: f64) -> Vec<String> {
    v.iter()
        .map(|&u| {
            if u < lo {
                "a"
            } else if u < hi {
                "b"
            } else {
                "c"
            }
            .to_string()
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Case {
    /// X ~ N(0, 1) and a 3-level Y drawn independently.
    ContinuousDiscrete,
    /// X = 0.8 Z + e, Y the 3-level cut of Z + e₂: X ⫫ Y | Z, X Gaussian given Z.
    ForkContinuousZ,
    /// Two 3-level columns drawn independently.
    DiscreteDiscrete,
    /// Z a 3-level label, X a 3-level cut of (Z's level + e), Y = level effect + e₂: X ⫫ Y | Z.
    ForkDiscreteZ,
    /// Power: X = 0.5 · [Y = c] + e with a 3-level Y (unconditional).
    Alternative,
}

/// `(data, x, y, z)` of data set `set` of a case.
fn draw(case: Case, stream: &Stream, set: u32) -> (Dataset, Vec<&'static str>) {
    let (a, b, c) = (
        normals(stream, set, 0, N),
        normals(stream, set, 1, N),
        normals(stream, set, 2, N),
    );
    match case {
        Case::ContinuousDiscrete => (
            dataset(&[("x", Ok(a)), ("y", Err(cut(&b, -0.5, 0.6)))]),
            vec![],
        ),
        Case::ForkContinuousZ => {
            let x: Vec<f64> = c.iter().zip(&a).map(|(z, e)| 0.8 * z + e).collect();
            let t: Vec<f64> = c.iter().zip(&b).map(|(z, e)| z + e).collect();
            (
                dataset(&[("x", Ok(x)), ("y", Err(cut(&t, -0.7, 0.7))), ("z", Ok(c))]),
                vec!["z"],
            )
        }
        Case::DiscreteDiscrete => (
            dataset(&[
                ("x", Err(cut(&a, -0.3, 0.9))),
                ("y", Err(cut(&b, -1.0, 0.2))),
            ]),
            vec![],
        ),
        Case::ForkDiscreteZ => {
            let zl = cut(&c, -0.5, 0.5);
            let level = |s: &str| match s {
                "a" => -1.0,
                "b" => 0.3,
                _ => 1.0,
            };
            let t: Vec<f64> = zl.iter().zip(&a).map(|(z, e)| level(z) + e).collect();
            let y: Vec<f64> = zl
                .iter()
                .zip(&b)
                .map(|(z, e)| 0.7 * level(z) * level(z) + e)
                .collect();
            (
                dataset(&[("x", Err(cut(&t, -0.5, 0.8))), ("y", Ok(y)), ("z", Err(zl))]),
                vec!["z"],
            )
        }
        Case::Alternative => {
            let yl = cut(&b, -0.5, 0.6);
            let x: Vec<f64> = a
                .iter()
                .zip(&yl)
                .map(|(e, y)| e + if y == "c" { 0.5 } else { 0.0 })
                .collect();
            (dataset(&[("x", Ok(x)), ("y", Err(yl))]), vec![])
        }
    }
}

fn rejections(case: Case, tag: u32) -> u32 {
    let stream = Stream::new(2030, tag);
    let engine = Engine::cpu();
    (0..SETS)
        .map(|s| {
            let (d, z) = draw(case, &stream, s);
            let r = IndependenceTest::dg()
                .run(&engine, &d, &["x"], &["y"], &z)
                .unwrap();
            assert!((0.0..=1.0).contains(&r.p_value));
            (r.p_value < ALPHA) as u32
        })
        .sum()
}

fn assert_rate(label: &str, hits: u32, p0: f64) {
    let nd = Normal::standard();
    let zk = nd.inverse_cdf(1.0 - nd.cdf(-4.0) / ROWS);
    let n = SETS as f64;
    let rate = hits as f64 / n;
    let bound = zk * (p0 * (1.0 - p0) / n).sqrt() + 0.5 / n;
    println!("{label}: rate {rate:.4}, reference {p0} ± {bound:.4}");
    assert!(
        (rate - p0).abs() <= bound,
        "{label}: rate {rate:.4} outside {p0} ± {bound:.4}"
    );
}

#[test]
fn null_is_calibrated() {
    assert_rate(
        "continuous ⫫ discrete",
        rejections(Case::ContinuousDiscrete, 1),
        ALPHA,
    );
    assert_rate(
        "fork, continuous Z",
        rejections(Case::ForkContinuousZ, 2),
        ALPHA,
    );
    assert_rate(
        "discrete ⫫ discrete",
        rejections(Case::DiscreteDiscrete, 3),
        ALPHA,
    );
    assert_rate(
        "fork, discrete Z",
        rejections(Case::ForkDiscreteZ, 4),
        ALPHA,
    );
}

/// Power against a shift of 0.5 SD in one of three groups (P(Y = c) = Φ(−0.6) = 0.274): the
/// LR is asymptotically noncentral χ²(2, λ) with λ = n p(1 − p) 0.5² = 9.95, whose rejection
/// rate at α = 0.05 is 0.8135 (scipy `ncx2.sf(chi2.isf(0.05, 2), 2, 9.95)`; the exact one-way
/// ANOVA F test it approximates has 0.8072, `ncf.sf(f.isf(0.05, 2, 197), 2, 197, 9.95)`).
/// Asserted: the rate within the Monte-Carlo band around 0.8135, widened by the 0.0063 between
/// the two approximations.
#[test]
fn has_power() {
    let hits = rejections(Case::Alternative, 5);
    let n = SETS as f64;
    let rate = hits as f64 / n;
    let p0 = 0.8135;
    let nd = Normal::standard();
    let zk = nd.inverse_cdf(1.0 - nd.cdf(-4.0) / ROWS);
    let bound = zk * (p0 * (1.0 - p0) / n).sqrt() + 0.5 / n + 0.0063;
    println!("power: {rate:.4}, reference {p0} ± {bound:.4}");
    assert!(
        (rate - p0).abs() <= bound,
        "power {rate} outside {p0} ± {bound}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let one = dataset(&[
        ("x", Ok((0..50).map(|i| i as f64).collect())),
        ("g", Err(vec!["only".to_string(); 50])),
    ]);
    let e = IndependenceTest::dg()
        .run(&Engine::cpu(), &one, &["x"], &["g"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`g`") && e.contains("one value"), "{e}");
    // collinear: y is x doubled
    let x: Vec<f64> = (0..50).map(|i| ((i * 17) % 23) as f64).collect();
    let y: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
    let w: Vec<f64> = (0..50).map(|i| ((i * 7) % 11) as f64).collect();
    let d = Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("w", w)
        .unwrap();
    let e = IndependenceTest::dg()
        .run(&Engine::cpu(), &d, &["w"], &["x"], &["y"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("singular"), "{e}");
    let e = IndependenceTest::dg()
        .kernel(ceteris::independence::Kernel::Linear)
        .run(&Engine::cpu(), &d, &["w"], &["x"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("kernel"), "{e}");
}

/// PC with dg on a mixed chain-and-fork: Z (continuous) → G (3 levels) → Y (continuous), Z → X;
/// the skeleton is recovered on 3000 rows.
#[test]
fn pc_with_dg_recovers_a_mixed_skeleton() {
    let stream = Stream::new(2030, 9);
    let n = 3000;
    let (z, e1, e2, e3) = (
        normals(&stream, 0, 0, n),
        normals(&stream, 0, 1, n),
        normals(&stream, 0, 2, n),
        normals(&stream, 0, 3, n),
    );
    let t: Vec<f64> = z.iter().zip(&e1).map(|(z, e)| z + e).collect();
    let g = cut(&t, -0.6, 0.6);
    let y: Vec<f64> = g
        .iter()
        .zip(&e2)
        .map(|(g, e)| if g == "c" { 0.8 } else { 0.0 } + e)
        .collect();
    let x: Vec<f64> = z.iter().zip(&e3).map(|(z, e)| 0.7 * z + e).collect();
    let data = dataset(&[("z", Ok(z)), ("g", Err(g)), ("y", Ok(y)), ("x", Ok(x))]);
    let r = Pc::new(IndependenceTest::dg())
        .run(&Engine::cpu(), &data, &[])
        .unwrap();
    let mut pairs: Vec<(String, String)> = r
        .edges
        .iter()
        .map(|e| {
            let (a, b) = (e.from.clone(), e.to.clone());
            if a < b {
                (a, b)
            } else {
                (b, a)
            }
        })
        .collect();
    pairs.sort();
    let want: Vec<(String, String)> = [("g", "y"), ("g", "z"), ("x", "z")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(pairs, want);
}
