//! Calibration of the independence tests' nulls and coverage of the bootstrap intervals,
//! asserted (issue 19, item 2). `examples/calibration.rs` and `examples/coverage.rs` print the
//! same kind of rates for BENCHMARKS.md; these tests fail when a rate leaves its Monte-Carlo band.
//!
//! Slow (a few seconds to a minute each on 2 cores), so `#[ignore]`d by default; CI runs them in
//! their own step: `cargo test --release --test calibration -- --ignored` (`--nocapture` prints
//! every measured rate).
//!
//! ## The bound
//!
//! A row draws `N` independent data sets (each from its own Philox block, each test with its own
//! seed) and counts `K` rejections at α = 0.05 (or `K` intervals covering the truth). Under the
//! claim "the rate is `p₀`", `K ~ Binomial(N, p₀)`; with `N p₀ ≥ 20` the rate `K/N` is close to
//! normal with standard deviation `σ = √(p₀(1 − p₀)/N)`, and a continuity correction of `1/(2N)`
//! covers the lattice. One row checked at 4σ two-sided fails by chance with probability
//! `2Φ(−4) ≈ 6.3e-5`. A family of `k` rows keeps that family-wise probability by Bonferroni:
//! each row gets `2Φ(−4)/k`, i.e. `z_k = Φ⁻¹(1 − Φ(−4)/k)` (4.49 for k = 9, 4.32 for k = 4; scipy.stats.norm.ppf agrees), and
//! the assertion is `|K/N − p₀| ≤ z_k σ + 1/(2N)`. With `N = 5000` and `p₀ = 0.05` that is
//! ± 0.0139 for the 9 null rows; with `N = 2000` and `p₀ ≈ 0.94` ± 0.023 for the 4 coverage rows.
//!
//! ## Null rows (n = 200, N = 5000 data sets each)
//!
//! * unconditional: X ⫫ Y with X ~ N(0,1) and Y = B², B ~ N(0,1) independent of X;
//! * conditional, nonlinear fork X ← Z → Y: X = tanh Z + ½e₁, Y = sin 1.5Z + ½e₂ (the kernel tests);
//! * conditional, linear-Gaussian fork for Fisher-z, whose null is zero *partial correlation*
//!   (the nonlinear fork has a nonzero one): X = 0.8Z + e₁, Y = −0.6Z + e₂.
//!
//! Fisher-z unconditionally is exact here (X normal and independent of Y gives Student's t for
//! the correlation whatever Y's law; the z transform is accurate at n = 200).
//!
//! ## Coverage rows (N = 2000 data sets each, B = 1999, 95 %)
//!
//! The reference coverage is not 0.95 but its small-sample value for normal data, in closed
//! form: for the mean of n normal values the percentile interval is, to first order,
//! `x̄ ± 1.96 · s √((n−1)/n) / √n` (the bootstrap's plug-in variance), so it covers with
//! probability `P(|t_{n−1}| < 1.96 √((n−1)/n))` = 0.9419 for n = 50; BCa coincides to first
//! order (no skewness, so `z₀ ≈ 0` and `a ≈ 0`). For the difference of means of two arms of m = 50
//! normal units each (equal variances), the same argument with the pooled t gives
//! `P(|t_{2m−2}| < 1.96 √((m−1)/m))` = 0.9448. The Monte-Carlo error of the interval ends from
//! B = 1999 resamples is second order and inside the band.

use ceteris::independence::IndependenceTest;
use ceteris::rng::{open_unit, Stream};
use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Statistic};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Null data sets per row: more than the 400 because they are cheap (n = 200), which
/// narrows the band to ± 0.014 (module docs).
const NULL_SETS: u32 = 5000;
/// Coverage data sets per row.
const COVERAGE_SETS: u32 = 2000;
/// Rows per test (n) of the null rows.
const N_NULL: usize = 200;
/// Rows in the null family (Bonferroni): nine with the default nulls at `NULL_SETS`, nine with
/// the other nulls at `OTHER_SETS`, the two rows of the χ² approximation's known bias, and four
/// of the discrete tests.
const NULL_ROWS: f64 = 24.0;
/// Null data sets per row of the other nulls (permutation and spectral nulls cost hundreds of
/// statistics per data set; the issue asks for at least 400).
const OTHER_SETS: u32 = 1000;
/// Rows in the coverage family (Bonferroni).
const COVERAGE_ROWS: f64 = 4.0;
const ALPHA: f64 = 0.05;

/// `z_k = Φ⁻¹(1 − Φ(−4)/k)`: the per-row two-sided quantile that keeps a 4σ family-wise
/// false-alarm probability over `k` rows (module docs).
fn z_bonferroni(k: f64) -> f64 {
    let nd = Normal::standard();
    nd.inverse_cdf(1.0 - nd.cdf(-4.0) / k)
}

/// Assert that `hits / sets` lies within the Bonferroni 4σ binomial band around `p0`.
fn assert_rate(label: &str, hits: u32, sets: u32, p0: f64, rows: f64) {
    let n = sets as f64;
    let rate = hits as f64 / n;
    let bound = z_bonferroni(rows) * (p0 * (1.0 - p0) / n).sqrt() + 0.5 / n;
    println!(
        "{label}: rate {rate:.4} over {sets} data sets, reference {p0:.4} ± {bound:.4} \
         (MC s.e. {:.4})",
        (rate * (1.0 - rate) / n).sqrt()
    );
    assert!(
        (rate - p0).abs() <= bound,
        "{label}: rate {rate:.4} outside {p0:.4} ± {bound:.4} ({sets} data sets, 4σ Bonferroni \
         over {rows} rows)"
    );
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

#[derive(Clone, Copy)]
enum Null {
    /// X ⫫ Y².
    Uncond,
    /// The nonlinear fork X ← Z → Y.
    Fork,
    /// The linear-Gaussian fork X ← Z → Y.
    LinearFork,
}

fn null_data(null: Null, stream: &Stream, set: u32, n: usize) -> Dataset {
    let (a, b, c) = (
        normals(stream, set, 0, n),
        normals(stream, set, 1, n),
        normals(stream, set, 2, n),
    );
    let (x, y): (Vec<f64>, Vec<f64>) = match null {
        Null::Uncond => (a, b.iter().map(|v| v * v).collect()),
        Null::Fork => (
            c.iter().zip(&a).map(|(z, e)| z.tanh() + 0.5 * e).collect(),
            c.iter()
                .zip(&b)
                .map(|(z, e)| (1.5 * z).sin() + 0.5 * e)
                .collect(),
        ),
        Null::LinearFork => (
            c.iter().zip(&a).map(|(z, e)| 0.8 * z + e).collect(),
            c.iter().zip(&b).map(|(z, e)| -0.6 * z + e).collect(),
        ),
    };
    Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("z", c)
        .unwrap()
}

/// Rejections at α over `NULL_SETS` null data sets (data-set `s` tests with seed `s`, so RCoT/RCIT
/// draw fresh random features for every data set).
fn rejections(test: IndependenceTest, null: Null, tag: u32, sets: u32) -> u32 {
    let engine = Engine::cpu();
    let stream = Stream::new(2028, tag);
    let z: &[&str] = match null {
        Null::Uncond => &[],
        Null::Fork | Null::LinearFork => &["z"],
    };
    (0..sets)
        .map(|s| {
            let d = null_data(null, &stream, s, N_NULL);
            let r = test
                .clone()
                .seed(s as u64)
                .run(&engine, &d, &["x"], &["y"], z)
                .unwrap();
            assert!((0.0..=1.0).contains(&r.p_value), "p-value {}", r.p_value);
            (r.p_value < ALPHA) as u32
        })
        .sum()
}

fn null_row(label: &str, test: IndependenceTest, null: Null, tag: u32) {
    let hits = rejections(test, null, tag, NULL_SETS);
    assert_rate(label, hits, NULL_SETS, ALPHA, NULL_ROWS);
}

/// A row of another null, at `OTHER_SETS` data sets.
fn other_row(label: &str, test: IndependenceTest, null: Null, tag: u32) {
    let hits = rejections(test, null, tag, OTHER_SETS);
    assert_rate(label, hits, OTHER_SETS, ALPHA, NULL_ROWS);
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn kernel_permutation_and_spectral_nulls() {
    use ceteris::independence::Null as N;
    let kci = IndependenceTest::kci;
    let hsic = IndependenceTest::hsic;
    other_row(
        "kci permutation(500) X⫫Y²",
        kci().null(N::Permutation(500)),
        Null::Uncond,
        10,
    );
    other_row(
        "kci spectral(1000) X⫫Y²",
        kci().null(N::Spectral(1000)),
        Null::Uncond,
        11,
    );
    other_row(
        "kci spectral(1000) fork",
        kci().null(N::Spectral(1000)),
        Null::Fork,
        12,
    );
    other_row(
        "hsic permutation(500) X⫫Y²",
        hsic().null(N::Permutation(500)),
        Null::Uncond,
        13,
    );
    other_row(
        "hsic spectral(1000) X⫫Y²",
        hsic().null(N::Spectral(1000)),
        Null::Uncond,
        14,
    );
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn random_feature_approximations() {
    use ceteris::independence::Approx;
    for (name, approx, tag) in [("hbe", Approx::Hbe, 15), ("gamma", Approx::Gamma, 16)] {
        other_row(
            &format!("rcot {name} fork"),
            IndependenceTest::rcot().approx(approx),
            Null::Fork,
            tag,
        );
        other_row(
            &format!("rcit {name} fork"),
            IndependenceTest::rcit().approx(approx),
            Null::Fork,
            tag + 10,
        );
    }
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn fisherz_unconditional_null() {
    null_row(
        "fisherz X⫫Y²",
        IndependenceTest::fisher_z(),
        Null::Uncond,
        1,
    );
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn fisherz_conditional_null() {
    null_row(
        "fisherz linear fork",
        IndependenceTest::fisher_z(),
        Null::LinearFork,
        2,
    );
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn kci_gamma_unconditional_null() {
    null_row("kci gamma X⫫Y²", IndependenceTest::kci(), Null::Uncond, 3);
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn kci_gamma_conditional_null() {
    null_row("kci gamma fork", IndependenceTest::kci(), Null::Fork, 4);
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn hsic_gamma_null() {
    null_row("hsic gamma X⫫Y²", IndependenceTest::hsic(), Null::Uncond, 5);
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn hsic_u_null() {
    null_row("hsic-u X⫫Y²", IndependenceTest::hsic_u(), Null::Uncond, 6);
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn rit_lpb4_null() {
    null_row(
        "rcot (RIT) lpb4 X⫫Y²",
        IndependenceTest::rcot(),
        Null::Uncond,
        7,
    );
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn rcot_lpb4_conditional_null() {
    null_row("rcot lpb4 fork", IndependenceTest::rcot(), Null::Fork, 8);
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn rcit_lpb4_conditional_null() {
    null_row("rcit lpb4 fork", IndependenceTest::rcit(), Null::Fork, 9);
}

const B: u64 = 1999;
const METHODS: [IntervalMethod; 2] = [IntervalMethod::Percentile, IntervalMethod::Bca];

/// `P(|t_df| < 1.96 √((m−1)/m))`: the first-order coverage of a 95 % percentile (or BCa)
/// interval for normal data (module docs).
fn t_coverage(df: f64, m: f64) -> f64 {
    let z = Normal::standard().inverse_cdf(0.975);
    let t = StudentsT::new(0.0, 1.0, df).unwrap();
    2.0 * t.cdf(z * ((m - 1.0) / m).sqrt()) - 1.0
}

/// Counts of intervals (percentile, BCa) covering `truth` over `COVERAGE_SETS` data sets.
fn coverage(stat: Statistic, truth: f64, data: impl Fn(u32) -> Dataset) -> [u32; 2] {
    let engine = Engine::cpu();
    let mut hits = [0u32; 2];
    for s in 0..COVERAGE_SETS {
        let r = Bootstrap::new(stat.clone())
            .resamples(B)
            .seed(s as u64)
            .methods(&METHODS)
            .run(&engine, &data(s))
            .unwrap();
        for (j, m) in METHODS.iter().enumerate() {
            let [lo, hi] = r.intervals[m.name()];
            hits[j] += (lo <= truth && truth <= hi) as u32;
        }
    }
    hits
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn mean_interval_coverage() {
    let (n, mu) = (50usize, 1.5);
    let stream = Stream::new(2028, 20);
    let hits = coverage(Statistic::Mean { column: "x".into() }, mu, |s| {
        let x = normals(&stream, s, 0, n)
            .iter()
            .map(|v| mu + 2.0 * v)
            .collect();
        Dataset::new().with_column("x", x).unwrap()
    });
    let p0 = t_coverage(n as f64 - 1.0, n as f64);
    assert!((p0 - 0.9419).abs() < 5e-4, "closed form {p0}");
    assert_rate("mean percentile", hits[0], COVERAGE_SETS, p0, COVERAGE_ROWS);
    assert_rate("mean bca", hits[1], COVERAGE_SETS, p0, COVERAGE_ROWS);
}

#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn diff_means_interval_coverage() {
    // two arms of m = 50 units (alternating treatment), outcome N(1 + 0.7 t, 1): effect 0.7
    let (m, effect) = (50usize, 0.7);
    let stream = Stream::new(2028, 21);
    let stat = Statistic::DiffMeans {
        treatment: "t".into(),
        outcome: "y".into(),
    };
    let hits = coverage(stat, effect, |s| {
        let t: Vec<f64> = (0..2 * m).map(|i| (i % 2) as f64).collect();
        let y = normals(&stream, s, 0, 2 * m)
            .iter()
            .zip(&t)
            .map(|(e, t)| 1.0 + effect * t + e)
            .collect();
        Dataset::new()
            .with_column("t", t)
            .unwrap()
            .with_column("y", y)
            .unwrap()
    });
    let p0 = t_coverage(2.0 * m as f64 - 2.0, m as f64);
    assert!((p0 - 0.9448).abs() < 5e-4, "closed form {p0}");
    assert_rate(
        "diff-means percentile",
        hits[0],
        COVERAGE_SETS,
        p0,
        COVERAGE_ROWS,
    );
    assert_rate("diff-means bca", hits[1], COVERAGE_SETS, p0, COVERAGE_ROWS);
}

#[test]
fn bonferroni_quantiles() {
    // the constants quoted in the module docs
    assert!((z_bonferroni(1.0) - 4.0).abs() < 1e-9);
    assert!((z_bonferroni(9.0) - 4.4925).abs() < 1e-3);
    assert!((z_bonferroni(4.0) - 4.3167).abs() < 1e-3);
}

/// The χ² approximation of conditional RCoT/RCIT (`Approx::Chi2`: `n·vec(C)ᵀ Cov⁺ vec(C)` against
/// χ²(px·py), the R `RCIT` package's `approx = "chi2"`) is **not calibrated** at n = 200 with the
/// default features: it inverts an ill-conditioned residual-product covariance. Its bias was
/// measured on independent data (Philox tags 106 and 107, 2000 fork data sets each, 2026-12-06):
/// RCoT rejects 0.0925 (185/2000) and RCIT 0.499 (998/2000) at α = 0.05. This asserts that
/// documented bias: the rate on fresh data (1000 sets) lies within the Bonferroni band of the
/// difference of two binomial proportions around it, `z·sqrt(p(1−p)(1/1000 + 1/2000))`.
#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn chi2_approximation_known_bias() {
    use ceteris::independence::Approx;
    for (label, test, documented, tag) in [
        (
            "rcot chi2 fork",
            IndependenceTest::rcot(),
            185.0 / 2000.0,
            17,
        ),
        (
            "rcit chi2 fork",
            IndependenceTest::rcit(),
            998.0 / 2000.0,
            27,
        ),
    ] {
        let hits = rejections(test.approx(Approx::Chi2), Null::Fork, tag, OTHER_SETS);
        let rate = hits as f64 / OTHER_SETS as f64;
        let sd =
            (documented * (1.0 - documented) * (1.0 / OTHER_SETS as f64 + 1.0 / 2000.0)).sqrt();
        let bound = z_bonferroni(NULL_ROWS) * sd + 0.5 / OTHER_SETS as f64;
        println!("{label}: rate {rate:.4}, documented bias {documented:.4} ± {bound:.4}");
        assert!(
            (rate - documented).abs() <= bound,
            "{label}: rate {rate:.4} outside the documented {documented:.4} ± {bound:.4}"
        );
        // and it is liberal: above α by more than the band of a calibrated test, asserted
        // where the documented bias's own band lies wholly above that band (RCIT); RCoT's
        // documented 0.0925 is 1.25 standard deviations of a 1000-set rate above the band's
        // edge, too close for 1000 sets to tell apart reliably (about 1 run in 10 would fall
        // below it), so only the first assertion holds it
        let calibrated =
            ALPHA + z_bonferroni(NULL_ROWS) * (ALPHA * (1.0 - ALPHA) / OTHER_SETS as f64).sqrt();
        if documented - bound > calibrated {
            assert!(
                rate > calibrated,
                "{label}: rate {rate:.4} within a calibrated test's band (≤ {calibrated:.4})"
            );
        }
    }
}

/// Three levels from a normal draw: below −0.5, up to 0.5, above.
fn level(v: f64) -> f64 {
    if v < -0.5 {
        0.0
    } else if v <= 0.5 {
        1.0
    } else {
        2.0
    }
}

/// chisq and gsq (causal-learn's `Chisq_or_Gsq`) on discrete null data, n = 200, 1000 data sets:
/// X, Y three-level and independent; and X ⫫ Y | Z with a three-level Z and X = level(Z − 1 + a),
/// Y = level(Z − 1 + b).
#[test]
#[ignore = "slow calibration run: cargo test --release --test calibration -- --ignored"]
fn discrete_tests_null() {
    let engine = Engine::cpu();
    for (name, test, tag) in [
        ("chisq", IndependenceTest::chisq(), 40),
        ("gsq", IndependenceTest::gsq(), 41),
    ] {
        for conditional in [false, true] {
            let stream = Stream::new(2028, tag + 10 * conditional as u32);
            let hits: u32 = (0..OTHER_SETS)
                .map(|s| {
                    let (a, b, c) = (
                        normals(&stream, s, 0, N_NULL),
                        normals(&stream, s, 1, N_NULL),
                        normals(&stream, s, 2, N_NULL),
                    );
                    let z: Vec<f64> = c.iter().map(|&v| level(v)).collect();
                    let shift = |i: usize| if conditional { z[i] - 1.0 } else { 0.0 };
                    let x: Vec<f64> = (0..N_NULL).map(|i| level(shift(i) + a[i])).collect();
                    let y: Vec<f64> = (0..N_NULL).map(|i| level(shift(i) + b[i])).collect();
                    let d = Dataset::new()
                        .with_column("x", x)
                        .unwrap()
                        .with_column("y", y)
                        .unwrap()
                        .with_column("z", z)
                        .unwrap();
                    let zs: &[&str] = if conditional { &["z"] } else { &[] };
                    let r = test.clone().run(&engine, &d, &["x"], &["y"], zs).unwrap();
                    (r.p_value < ALPHA) as u32
                })
                .sum();
            let label = format!("{name} {}", if conditional { "X⫫Y|Z" } else { "X⫫Y" });
            assert_rate(&label, hits, OTHER_SETS, ALPHA, NULL_ROWS);
        }
    }
}
