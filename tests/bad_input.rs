//! Bad input at the library level: every case must come back as the right structured
//! `ceteris::Error` variant naming the offending column, row or parameter, and never as a panic.

use ceteris::{
    Bootstrap, BootstrapResult, Dataset, Engine, Error, IntervalMethod, Result, Roles, Scheme,
    Statistic,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

const B: u64 = 200;

fn s(x: &str) -> String {
    x.to_string()
}

/// Deterministic, non-constant, well-conditioned test data with every role a statistic needs.
/// Columns: x, y (outcome), z, t (0/1, alternating), e (propensity in (0.2, 0.8)), mu0, mu1,
/// w (positive weights), g (5 clusters of n/5 rows).
fn base(n: usize) -> Dataset {
    let x: Vec<f64> = (0..n)
        .map(|i| ((i * 37 % 101) as f64) / 10.0 + 1.0)
        .collect();
    let z: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.7).sin()).collect();
    let t: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let e: Vec<f64> = (0..n)
        .map(|i| 0.2 + 0.6 * ((i * 13 % 17) as f64 + 0.5) / 17.0)
        .collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 1.0 + 2.0 * t[i] + z[i] + 0.1 * x[i])
        .collect();
    let mu0: Vec<f64> = z.iter().map(|v| 1.0 + v).collect();
    let mu1: Vec<f64> = z.iter().map(|v| 3.0 + v).collect();
    let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 7) as f64 / 7.0).collect();
    let g: Vec<f64> = (0..n).map(|i| (i * 5 / n) as f64).collect();
    let mut d = Dataset::new();
    for (name, col) in [
        ("x", x),
        ("y", y),
        ("z", z),
        ("t", t),
        ("e", e),
        ("mu0", mu0),
        ("mu1", mu1),
        ("w", w),
        ("g", g),
    ] {
        d.push_column(name, col).unwrap();
    }
    d
}

/// `base(n)` with column `name` replaced by `values`.
fn with(n: usize, name: &str, values: Vec<f64>) -> Dataset {
    let b = base(n);
    let mut d = Dataset::new();
    for col in b.names() {
        let v = if col == name {
            values.clone()
        } else {
            b.column(col).unwrap().to_vec()
        };
        d.push_column(col, v).unwrap();
    }
    if !b.names().iter().any(|c| c == name) {
        d.push_column(name, values).unwrap();
    }
    d
}

/// Runs on the CPU engine, turning a panic into a test failure with a clear message.
fn run_full(
    stat: Statistic,
    scheme: Scheme,
    resamples: u64,
    level: f64,
    methods: &[IntervalMethod],
    data: &Dataset,
) -> Result<BootstrapResult> {
    let boot = Bootstrap::new(stat.clone())
        .scheme(scheme.clone())
        .resamples(resamples)
        .seed(3)
        .level(level)
        .methods(methods);
    match catch_unwind(AssertUnwindSafe(|| boot.run(&Engine::cpu(), data))) {
        Ok(r) => r,
        Err(_) => panic!("ceteris panicked on {stat:?} / {scheme:?} (must return an Error)"),
    }
}

fn run(stat: Statistic, scheme: Scheme, data: &Dataset) -> Result<BootstrapResult> {
    run_full(stat, scheme, B, 0.95, &[IntervalMethod::Percentile], data)
}

fn err(r: Result<BootstrapResult>) -> Error {
    match r {
        Ok(res) => panic!(
            "expected an error, got a result: estimate {} ({} valid of {})",
            res.estimate, res.valid_resamples, res.resamples
        ),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_param(e: &Error, expected: &str) {
    match e {
        Error::InvalidParameter { name, reason } => {
            assert_eq!(name, expected, "wrong parameter named ({reason})");
            assert!(!reason.is_empty());
            assert!(
                e.to_string().contains(expected),
                "message must name `{expected}`: {e}"
            );
        }
        other => panic!("expected InvalidParameter `{expected}`, got {other:?}"),
    }
}

#[track_caller]
fn assert_non_finite(e: &Error, col: &str, at: usize) {
    match e {
        Error::NonFinite { column, row } => {
            assert_eq!((column.as_str(), *row), (col, at), "{e}");
            assert!(e.to_string().contains(&format!("`{col}`")), "{e}");
            assert!(e.to_string().contains(&format!("row {at}")), "{e}");
        }
        other => panic!("expected NonFinite {{ {col}, {at} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_constant(e: &Error, col: &str) {
    match e {
        Error::ConstantColumn(c) => {
            assert_eq!(c, col);
            assert!(e.to_string().contains(&format!("`{col}`")), "{e}");
        }
        other => panic!("expected ConstantColumn({col}), got {other:?}"),
    }
}

#[track_caller]
fn assert_out_of_range(e: &Error, col: &str, at: usize, val: f64) {
    match e {
        Error::OutOfRange {
            column,
            row,
            value,
            expected,
        } => {
            assert_eq!((column.as_str(), *row), (col, at), "{e}");
            assert_eq!(*value, val, "{e}");
            assert!(!expected.is_empty());
            assert!(e.to_string().contains(&format!("`{col}`")), "{e}");
        }
        other => panic!("expected OutOfRange {{ {col}, row {at} }}, got {other:?}"),
    }
}

fn mean_x() -> Statistic {
    Statistic::Mean { column: s("x") }
}

fn dm() -> Statistic {
    Statistic::DiffMeans {
        treatment: s("t"),
        outcome: s("y"),
    }
}

fn ipw() -> Statistic {
    Statistic::Ipw {
        treatment: s("t"),
        outcome: s("y"),
        propensity: s("e"),
    }
}

fn hajek() -> Statistic {
    Statistic::Hajek {
        treatment: s("t"),
        outcome: s("y"),
        propensity: s("e"),
    }
}

fn aipw() -> Statistic {
    Statistic::Aipw {
        treatment: s("t"),
        outcome: s("y"),
        propensity: s("e"),
        mu0: s("mu0"),
        mu1: s("mu1"),
    }
}

fn ols(covs: &[&str], coef: &str) -> Statistic {
    Statistic::Ols {
        outcome: s("y"),
        covariates: covs.iter().map(|c| s(c)).collect(),
        coefficient: s(coef),
    }
}

/// Every statistic, each needing the columns of `base`.
fn all_statistics() -> Vec<Statistic> {
    vec![
        mean_x(),
        Statistic::Variance { column: s("x") },
        Statistic::Std { column: s("x") },
        Statistic::Quantile {
            column: s("x"),
            q: 0.5,
        },
        Statistic::WeightedMean {
            column: s("x"),
            weights: s("w"),
        },
        dm(),
        Statistic::RatioMeans {
            numerator: s("y"),
            denominator: s("x"),
        },
        Statistic::Corr {
            x: s("x"),
            y: s("y"),
        },
        ols(&["x", "z"], "x"),
        ols(&["x", "z"], "intercept"),
        ipw(),
        hajek(),
        aipw(),
    ]
}

#[test]
fn sanity_every_statistic_runs_on_good_data() {
    let d = base(40);
    for stat in all_statistics() {
        let r = run(stat.clone(), Scheme::Iid, &d).unwrap_or_else(|e| panic!("{stat:?}: {e}"));
        assert!(r.estimate.is_finite(), "{stat:?}");
        assert_eq!(r.resamples, B);
    }
}

// ---------------------------------------------------------------- empty data

#[test]
fn empty_column_in_dataset() {
    let d = Dataset::new().with_column("x", vec![]).unwrap();
    assert_eq!(d.n_rows(), 0);
    for stat in [
        mean_x(),
        Statistic::Variance { column: s("x") },
        Statistic::Quantile {
            column: s("x"),
            q: 0.5,
        },
    ] {
        let e = err(run(stat, Scheme::Iid, &d));
        assert!(matches!(e, Error::EmptyData(_)), "{e:?}");
    }
    // the accessor that statistics use names the column
    match d.finite_column("x") {
        Err(Error::EmptyData(m)) => assert!(m.contains("`x`"), "{m}"),
        other => panic!("{other:?}"),
    }
    // a data set with no columns at all
    let e = err(run(mean_x(), Scheme::Iid, &Dataset::new()));
    assert!(matches!(e, Error::EmptyData(_)), "{e:?}");
}

#[test]
fn empty_column_under_every_scheme() {
    let d = Dataset::new()
        .with_column("x", vec![])
        .unwrap()
        .with_column("g", vec![])
        .unwrap();
    for scheme in [
        Scheme::Iid,
        Scheme::Stratified { column: s("g") },
        Scheme::Cluster { column: s("g") },
        Scheme::Bayesian,
        Scheme::Poisson,
        Scheme::MovingBlock { block_length: 1 },
        Scheme::CircularBlock { block_length: 1 },
        Scheme::Stationary { block_length: 1.0 },
    ] {
        let e = err(run(mean_x(), scheme.clone(), &d));
        assert!(matches!(e, Error::EmptyData(_)), "{scheme:?}: {e:?}");
    }
}

#[test]
fn csv_with_header_and_no_rows() {
    for text in ["x,y\n", "x,y", "x,y\r\n", "x\n"] {
        match Dataset::from_reader(text.as_bytes(), "empty.csv") {
            Err(Error::EmptyData(m)) => assert!(m.contains("empty.csv"), "{m}"),
            other => panic!("{text:?}: expected EmptyData, got {other:?}"),
        }
    }
    // no header at all
    match Dataset::from_reader("".as_bytes(), "nothing.csv") {
        Err(Error::EmptyData(m)) => assert!(m.contains("nothing.csv"), "{m}"),
        other => panic!("expected EmptyData, got {other:?}"),
    }
}

#[test]
fn csv_cell_that_is_not_a_number() {
    match Dataset::from_reader("a,b\n1,2\n3,oops\n".as_bytes(), "mem.csv") {
        Err(e @ Error::Csv { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("mem.csv") && m.contains("`b`") && m.contains("oops"),
                "{m}"
            );
        }
        other => panic!("expected Csv, got {other:?}"),
    }
}

#[test]
fn missing_csv_file() {
    let path = std::env::temp_dir().join("ceteris-bad-input-no-such-dir/none.csv");
    match Dataset::from_csv(&path) {
        Err(Error::Io { path: p, .. }) => assert!(p.contains("none.csv"), "{p}"),
        other => panic!("expected Io, got {other:?}"),
    }
}

// ---------------------------------------------------------------- NaN and infinity

#[test]
fn nan_and_infinity_name_row_and_column() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut x = base(20).column("x").unwrap().to_vec();
        x[7] = bad;
        x[12] = bad; // the first one is reported
        let d = with(20, "x", x);
        for stat in [
            mean_x(),
            Statistic::Variance { column: s("x") },
            Statistic::Quantile {
                column: s("x"),
                q: 0.9,
            },
            Statistic::Corr {
                x: s("z"),
                y: s("x"),
            },
            ols(&["z", "x"], "x"),
            Statistic::WeightedMean {
                column: s("x"),
                weights: s("w"),
            },
        ] {
            let e = err(run(stat.clone(), Scheme::Iid, &d));
            assert_non_finite(&e, "x", 7);
        }
    }
}

#[test]
fn nan_in_role_columns() {
    for col in ["t", "y", "e", "mu0", "mu1", "w"] {
        let mut v = base(20).column(col).unwrap().to_vec();
        v[4] = f64::NAN;
        let d = with(20, col, v);
        let stat = match col {
            "w" => Statistic::WeightedMean {
                column: s("x"),
                weights: s("w"),
            },
            _ => aipw(),
        };
        let e = err(run(stat, Scheme::Iid, &d));
        assert_non_finite(&e, col, 4);
    }
    // strata and cluster columns are checked too
    let mut g = base(20).column("g").unwrap().to_vec();
    g[9] = f64::INFINITY;
    let d = with(20, "g", g);
    for scheme in [
        Scheme::Stratified { column: s("g") },
        Scheme::Cluster { column: s("g") },
    ] {
        let e = err(run(mean_x(), scheme, &d));
        assert_non_finite(&e, "g", 9);
    }
}

#[test]
fn nan_and_infinity_from_csv_cells() {
    let d = Dataset::from_reader("a,b\n1,2\n3,NA\n4,5\n".as_bytes(), "mem").unwrap();
    assert_non_finite(
        &err(run(Statistic::Mean { column: s("b") }, Scheme::Iid, &d)),
        "b",
        1,
    );
    let d = Dataset::from_reader("a,b\n1,2\n3,\n".as_bytes(), "mem").unwrap();
    assert_non_finite(
        &err(run(Statistic::Mean { column: s("b") }, Scheme::Iid, &d)),
        "b",
        1,
    );
    let d = Dataset::from_reader("a,b\n1,2\n3,4\n5,6\n-inf,7\n".as_bytes(), "mem").unwrap();
    assert_non_finite(
        &err(run(Statistic::Mean { column: s("a") }, Scheme::Iid, &d)),
        "a",
        3,
    );
    // the good column is still usable
    assert!(run(Statistic::Mean { column: s("b") }, Scheme::Iid, &d).is_ok());
}

// ---------------------------------------------------------------- shapes

#[test]
fn mismatched_column_lengths() {
    match Dataset::new()
        .with_column("a", vec![1.0, 2.0, 3.0])
        .unwrap()
        .with_column("b", vec![1.0, 2.0])
    {
        Err(Error::LengthMismatch { a, len_a, b, len_b }) => {
            assert_eq!((a.as_str(), len_a, b.as_str(), len_b), ("a", 3, "b", 2));
        }
        other => panic!("expected LengthMismatch, got {other:?}"),
    }
    let mut d = base(10);
    match d.push_column("long", vec![0.0; 11]) {
        Err(e @ Error::LengthMismatch { .. }) => {
            assert!(e.to_string().contains("`long`"), "{e}");
        }
        other => panic!("expected LengthMismatch, got {other:?}"),
    }
    // the data set is unchanged
    assert!(d.column("long").is_err());
    assert_eq!(d.n_rows(), 10);
    // a ragged CSV is a CSV error, not a panic
    assert!(matches!(
        Dataset::from_reader("a,b\n1,2\n3\n".as_bytes(), "ragged"),
        Err(Error::Csv { .. })
    ));
}

#[test]
fn duplicate_column_name() {
    match Dataset::new()
        .with_column("a", vec![1.0])
        .unwrap()
        .with_column("a", vec![2.0])
    {
        Err(e @ Error::InvalidParameter { .. }) => assert!(e.to_string().contains("`a`"), "{e}"),
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

// ---------------------------------------------------------------- constant columns

#[test]
fn constant_column_where_variance_is_needed() {
    let d = with(20, "c", vec![4.25; 20]);
    for stat in [
        Statistic::Variance { column: s("c") },
        Statistic::Std { column: s("c") },
    ] {
        assert_constant(&err(run(stat, Scheme::Iid, &d)), "c");
    }
    assert_constant(
        &err(run(
            Statistic::Corr {
                x: s("x"),
                y: s("c"),
            },
            Scheme::Iid,
            &d,
        )),
        "c",
    );
    assert_constant(
        &err(run(
            Statistic::Corr {
                x: s("c"),
                y: s("x"),
            },
            Scheme::Iid,
            &d,
        )),
        "c",
    );
    for coef in ["x", "c", "intercept"] {
        assert_constant(&err(run(ols(&["x", "c"], coef), Scheme::Iid, &d)), "c");
    }
    // statistics that do not need variance accept a constant column
    let r = run(Statistic::Mean { column: s("c") }, Scheme::Iid, &d).unwrap();
    assert_eq!(r.estimate, 4.25);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("all replicates equal")),
        "{:?}",
        r.warnings
    );
}

// ---------------------------------------------------------------- treatment arms

#[test]
fn arm_with_fewer_than_two_rows() {
    for treated in [0usize, 1] {
        let mut t = vec![0.0; 20];
        for v in t.iter_mut().take(treated) {
            *v = 1.0;
        }
        let d = with(20, "t", t);
        for stat in [dm(), ipw(), hajek(), aipw()] {
            match err(run(stat.clone(), Scheme::Iid, &d)) {
                e @ Error::TooFewRows { .. } => {
                    let Error::TooFewRows { what, need, got } = &e else {
                        unreachable!()
                    };
                    assert!(what.contains('t') && what.contains('1'), "{stat:?}: {e}");
                    assert_eq!((*need, *got), (2, treated), "{stat:?}: {e}");
                }
                other => panic!("{stat:?}: expected TooFewRows, got {other:?}"),
            }
        }
    }
    // the control arm as well
    let mut t = vec![1.0; 20];
    t[3] = 0.0;
    let d = with(20, "t", t);
    for stat in [dm(), ipw()] {
        match err(run(stat, Scheme::Iid, &d)) {
            Error::TooFewRows { what, need, got } => {
                assert!(what.contains('t') && what.contains('0'), "{what}");
                assert_eq!((need, got), (2, 1));
            }
            other => panic!("expected TooFewRows, got {other:?}"),
        }
    }
}

#[test]
fn treatment_not_coded_zero_one() {
    for bad in [2.0, -1.0, 0.5] {
        let mut t = base(20).column("t").unwrap().to_vec();
        t[5] = bad;
        let d = with(20, "t", t);
        for stat in [dm(), ipw(), hajek(), aipw()] {
            assert_out_of_range(&err(run(stat, Scheme::Iid, &d)), "t", 5, bad);
        }
    }
}

#[test]
fn propensity_at_or_beyond_zero_and_one() {
    for bad in [0.0, 1.0, -0.2, 1.5] {
        let mut e = base(20).column("e").unwrap().to_vec();
        e[11] = bad;
        let d = with(20, "e", e);
        for stat in [ipw(), hajek(), aipw()] {
            assert_out_of_range(&err(run(stat, Scheme::Iid, &d)), "e", 11, bad);
        }
    }
}

// ---------------------------------------------------------------- run parameters

#[test]
fn level_outside_open_unit_interval() {
    let d = base(20);
    for level in [0.0, 1.0, 1.5, -0.5, f64::NAN] {
        let e = err(run_full(
            mean_x(),
            Scheme::Iid,
            B,
            level,
            &[IntervalMethod::Percentile],
            &d,
        ));
        assert_param(&e, "level");
    }
}

#[test]
fn zero_resamples() {
    let d = base(20);
    let e = err(run_full(
        mean_x(),
        Scheme::Iid,
        0,
        0.95,
        &[IntervalMethod::Percentile],
        &d,
    ));
    assert_param(&e, "resamples");
    // shards as well
    let boot = Bootstrap::new(mean_x()).resamples(0);
    match boot.shard(&Engine::cpu(), &d, 0..10) {
        Err(e) => assert_param(&e, "resamples"),
        Ok(_) => panic!("a shard of a zero-resample run must fail"),
    }
    let boot = Bootstrap::new(mean_x()).resamples(10);
    match boot.shard(&Engine::cpu(), &d, 5..5) {
        Err(e) => assert_param(&e, "range"),
        Ok(_) => panic!("an empty shard must fail"),
    }
}

#[test]
fn unknown_column_lists_available_columns() {
    let d = base(10);
    let cases: Vec<(Statistic, &str)> = vec![
        (Statistic::Mean { column: s("nope") }, "nope"),
        (
            Statistic::WeightedMean {
                column: s("x"),
                weights: s("wt"),
            },
            "wt",
        ),
        (
            Statistic::DiffMeans {
                treatment: s("treat"),
                outcome: s("y"),
            },
            "treat",
        ),
        (
            Statistic::Corr {
                x: s("x"),
                y: s("missing"),
            },
            "missing",
        ),
        (ols(&["x", "q"], "x"), "q"),
        (
            Statistic::Aipw {
                treatment: s("t"),
                outcome: s("y"),
                propensity: s("e"),
                mu0: s("m0"),
                mu1: s("mu1"),
            },
            "m0",
        ),
    ];
    for (stat, missing) in cases {
        match err(run(stat.clone(), Scheme::Iid, &d)) {
            e @ Error::UnknownColumn { .. } => {
                let Error::UnknownColumn { name, available } = &e else {
                    unreachable!()
                };
                assert_eq!(name, missing, "{stat:?}");
                for c in d.names() {
                    assert!(available.contains(c.as_str()), "{available} lacks {c}");
                }
                let m = e.to_string();
                assert!(m.contains(missing) && m.contains("mu1"), "{m}");
            }
            other => panic!("{stat:?}: expected UnknownColumn, got {other:?}"),
        }
    }
    // unknown strata / cluster columns
    for scheme in [
        Scheme::Stratified { column: s("strat") },
        Scheme::Cluster { column: s("clu") },
    ] {
        match err(run(mean_x(), scheme.clone(), &d)) {
            Error::UnknownColumn { name, available } => {
                assert!(name == "strat" || name == "clu");
                assert!(
                    available.contains("x") && available.contains("g"),
                    "{available}"
                );
            }
            other => panic!("{scheme:?}: expected UnknownColumn, got {other:?}"),
        }
    }
}

#[test]
fn unknown_statistic_scheme_and_method_names() {
    let cols = vec![s("x")];
    for spec in ["meen", "quantile", "mean:2", "", "MEAN", "ols"] {
        match Statistic::parse(spec, &cols, &Roles::default()) {
            Err(e) => {
                assert_param(&e, "statistic");
                assert!(e.to_string().contains(&format!("`{spec}`")), "{e}");
            }
            Ok(st) => panic!("`{spec}` parsed as {st:?}"),
        }
    }
    // a quantile that is not a number names the statistic parameter
    match Statistic::parse("quantile:abc", &cols, &Roles::default()) {
        Err(e) => {
            assert_param(&e, "statistic");
            assert!(e.to_string().contains("abc"), "{e}");
        }
        Ok(st) => panic!("parsed as {st:?}"),
    }
    for name in ["bootstrap", "IID", "block", ""] {
        match Scheme::parse(name, None, None, None) {
            Err(e) => {
                assert_param(&e, "scheme");
                assert!(e.to_string().contains(&format!("`{name}`")), "{e}");
            }
            Ok(sc) => panic!("`{name}` parsed as {sc:?}"),
        }
    }
    for name in ["x", "BCa", "bca ", "t"] {
        match name.parse::<IntervalMethod>() {
            Err(e) => {
                assert_param(&e, "method");
                assert!(e.to_string().contains(&format!("`{name}`")), "{e}");
            }
            Ok(m) => panic!("`{name}` parsed as {m:?}"),
        }
    }
}

#[test]
fn missing_roles_name_the_flag() {
    let none = Roles::default();
    let cases: [(&str, &[&str], &str); 8] = [
        ("mean", &[], "column"),
        ("var", &["a", "b"], "column"),
        ("corr", &["a"], "columns"),
        ("ratio-means", &[], "columns"),
        ("weighted-mean", &["x"], "weights"),
        ("diff-means", &[], "treatment"),
        ("ols:x", &[], "covariates"),
        ("ipw", &[], "treatment"),
    ];
    for (spec, cols, flag) in cases {
        let cols: Vec<String> = cols.iter().map(|c| s(c)).collect();
        match Statistic::parse(spec, &cols, &none) {
            Err(e) => assert_param(&e, flag),
            Ok(st) => panic!("`{spec}` parsed as {st:?}"),
        }
    }
    let roles = Roles {
        treatment: Some(s("t")),
        outcome: Some(s("y")),
        propensity: Some(s("e")),
        ..Default::default()
    };
    match Statistic::parse("aipw", &[], &roles) {
        Err(e) => assert_param(&e, "mu0"),
        Ok(st) => panic!("parsed as {st:?}"),
    }
    for (name, flag) in [
        ("stratified", "strata"),
        ("cluster", "cluster"),
        ("moving-block", "block-length"),
        ("circular-block", "block-length"),
        ("stationary", "block-length"),
    ] {
        match Scheme::parse(name, None, None, None) {
            Err(e) => assert_param(&e, flag),
            Ok(sc) => panic!("`{name}` parsed as {sc:?}"),
        }
    }
}

// ---------------------------------------------------------------- block lengths

#[test]
fn block_length_zero_and_larger_than_n() {
    let n = 30;
    let d = base(n);
    let bad_schemes = [
        Scheme::MovingBlock { block_length: 0 },
        Scheme::CircularBlock { block_length: 0 },
        Scheme::Stationary { block_length: 0.0 },
        Scheme::MovingBlock {
            block_length: n + 1,
        },
        Scheme::CircularBlock {
            block_length: n + 1,
        },
        Scheme::Stationary {
            block_length: n as f64 + 1.0,
        },
        Scheme::Stationary { block_length: 0.5 },
        Scheme::Stationary {
            block_length: f64::NAN,
        },
        Scheme::Stationary {
            block_length: f64::INFINITY,
        },
        Scheme::MovingBlock {
            block_length: usize::MAX,
        },
    ];
    for scheme in bad_schemes {
        for stat in [
            mean_x(),
            Statistic::Quantile {
                column: s("x"),
                q: 0.5,
            },
        ] {
            let e = err(run(stat, scheme.clone(), &d));
            assert_param(&e, "block-length");
        }
    }
    // the edges are accepted
    for scheme in [
        Scheme::MovingBlock { block_length: 1 },
        Scheme::MovingBlock { block_length: n },
        Scheme::CircularBlock { block_length: n },
        Scheme::Stationary { block_length: 1.0 },
        Scheme::Stationary {
            block_length: n as f64,
        },
    ] {
        run(mean_x(), scheme.clone(), &d).unwrap_or_else(|e| panic!("{scheme:?}: {e}"));
    }
}

#[test]
fn block_length_through_scheme_parse() {
    let d = base(30);
    for name in ["moving-block", "circular-block"] {
        for bl in [0.0, -3.0, 2.5, f64::NAN, f64::INFINITY] {
            match Scheme::parse(name, None, None, Some(bl)) {
                Err(e) => assert_param(&e, "block-length"),
                Ok(sc) => panic!("{name} with block length {bl} parsed as {sc:?}"),
            }
        }
        // parses, but is larger than n
        let sc = Scheme::parse(name, None, None, Some(31.0)).unwrap();
        assert_param(&err(run(mean_x(), sc, &d)), "block-length");
    }
    for bl in [0.0, 31.0, -1.0] {
        match Scheme::parse("stationary", None, None, Some(bl)) {
            Err(e) => assert_param(&e, "block-length"),
            Ok(sc) => assert_param(&err(run(mean_x(), sc, &d)), "block-length"),
        }
    }
}

// ---------------------------------------------------------------- clusters

#[test]
fn cluster_column_with_a_single_cluster() {
    let d = with(20, "one", vec![7.0; 20]);
    for stat in [
        mean_x(),
        Statistic::Quantile {
            column: s("x"),
            q: 0.5,
        },
        dm(),
    ] {
        match err(run(stat, Scheme::Cluster { column: s("one") }, &d)) {
            e @ Error::TooFewRows { .. } => {
                let Error::TooFewRows { what, need, got } = &e else {
                    unreachable!()
                };
                assert!(what.contains("`one`"), "{e}");
                assert_eq!((*need, *got), (2, 1));
            }
            other => panic!("expected TooFewRows, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------- statistic parameters

#[test]
fn quantile_outside_unit_interval() {
    let d = base(20);
    for q in [-0.1, 1.1, 2.0, f64::NAN, f64::INFINITY] {
        let e = err(run(
            Statistic::Quantile { column: s("x"), q },
            Scheme::Iid,
            &d,
        ));
        assert_param(&e, "quantile");
    }
    for spec in ["quantile:1.5", "quantile:-0.5"] {
        let st = Statistic::parse(spec, &[s("x")], &Roles::default()).unwrap();
        assert_param(&err(run(st, Scheme::Iid, &d)), "quantile");
    }
    // the closed ends are fine
    for q in [0.0, 1.0] {
        let r = run(Statistic::Quantile { column: s("x"), q }, Scheme::Iid, &d).unwrap();
        let x = d.column("x").unwrap();
        let want = if q == 0.0 {
            x.iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            x.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        };
        assert_eq!(r.estimate, want);
    }
}

#[test]
fn weighted_mean_with_negative_weights() {
    let mut w = base(20).column("w").unwrap().to_vec();
    w[13] = -0.25;
    w[15] = -1.0;
    let d = with(20, "w", w);
    let e = err(run(
        Statistic::WeightedMean {
            column: s("x"),
            weights: s("w"),
        },
        Scheme::Iid,
        &d,
    ));
    assert_out_of_range(&e, "w", 13, -0.25);
    // all-zero weights name the weights parameter
    let d = with(20, "w", vec![0.0; 20]);
    let e = err(run(
        Statistic::WeightedMean {
            column: s("x"),
            weights: s("w"),
        },
        Scheme::Iid,
        &d,
    ));
    assert_param(&e, "weights");
    assert!(e.to_string().contains("`w`"), "{e}");
}

#[test]
fn ratio_means_with_zero_mean_denominator() {
    let den: Vec<f64> = (0..20)
        .map(|i| if i % 2 == 0 { 1.5 } else { -1.5 })
        .collect();
    let d = with(20, "den", den);
    let e = err(run(
        Statistic::RatioMeans {
            numerator: s("x"),
            denominator: s("den"),
        },
        Scheme::Iid,
        &d,
    ));
    assert_param(&e, "columns");
    assert!(e.to_string().contains("`den`"), "{e}");
    // all zeros too
    let d = with(20, "den", vec![0.0; 20]);
    let e = err(run(
        Statistic::RatioMeans {
            numerator: s("x"),
            denominator: s("den"),
        },
        Scheme::Iid,
        &d,
    ));
    assert_param(&e, "columns");
}

#[test]
fn ols_with_exactly_collinear_covariates() {
    let n = 30;
    let b = base(n);
    let x = b.column("x").unwrap().to_vec();
    let z = b.column("z").unwrap().to_vec();
    // x2 = 2 x (exactly representable), x3 = x + z
    let x2: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    let x3: Vec<f64> = x.iter().zip(&z).map(|(a, c)| a + c).collect();
    let d = with(n, "x2", x2);
    let d = {
        let mut d = d;
        d.push_column("x3", x3).unwrap();
        d
    };
    for (covs, coef) in [
        (&["x", "x2"][..], "x"),
        (&["x", "x2"][..], "intercept"),
        (&["x", "z", "x3"][..], "z"),
    ] {
        let e = err(run(ols(covs, coef), Scheme::Iid, &d));
        assert_param(&e, "covariates");
        for c in covs {
            assert!(e.to_string().contains(c), "{e}");
        }
    }
}

#[test]
fn ols_with_a_repeated_covariate_is_collinear() {
    // The same column twice is the plainest collinearity there is.
    let d = base(30);
    let e = err(run(ols(&["x", "x"], "x"), Scheme::Iid, &d));
    assert_param(&e, "covariates");
}

#[test]
fn ols_with_scaled_collinear_covariates() {
    // A covariate that is an inexact multiple of another (0.1 x + 3) is collinear too.
    let n = 30;
    let x = base(n).column("x").unwrap().to_vec();
    let x2: Vec<f64> = x.iter().map(|v| 0.1 * v + 3.0).collect();
    let d = with(n, "x2", x2);
    let e = err(run(ols(&["x", "x2"], "x"), Scheme::Iid, &d));
    assert_param(&e, "covariates");
}

#[test]
fn ols_coefficient_not_among_covariates() {
    let d = base(20);
    for coef in ["w", "Intercept", "", "y"] {
        let e = err(run(ols(&["x", "z"], coef), Scheme::Iid, &d));
        assert_param(&e, "statistic");
        let m = e.to_string();
        assert!(m.contains(&format!("`{coef}`")), "{m}");
        assert!(m.contains("x, z"), "message must list the covariates: {m}");
    }
    // through the parser as well
    let roles = Roles {
        outcome: Some(s("y")),
        covariates: vec![s("x"), s("z")],
        ..Default::default()
    };
    let st = Statistic::parse("ols:q", &[], &roles).unwrap();
    assert_param(&err(run(st, Scheme::Iid, &d)), "statistic");
    // no covariates at all
    let e = err(run(ols(&[], "intercept"), Scheme::Iid, &d));
    assert_param(&e, "covariates");
}

#[test]
fn too_few_rows_for_variance_corr_ols() {
    let one = Dataset::new().with_column("x", vec![1.0]).unwrap();
    for stat in [
        Statistic::Variance { column: s("x") },
        Statistic::Std { column: s("x") },
    ] {
        match err(run(stat, Scheme::Iid, &one)) {
            Error::TooFewRows { need, got, .. } => assert_eq!((need, got), (2, 1)),
            other => panic!("expected TooFewRows, got {other:?}"),
        }
    }
    let two = Dataset::new()
        .with_column("x", vec![1.0, 2.0])
        .unwrap()
        .with_column("y", vec![3.0, 1.0])
        .unwrap();
    match err(run(
        Statistic::Corr {
            x: s("x"),
            y: s("y"),
        },
        Scheme::Iid,
        &two,
    )) {
        Error::TooFewRows { need, got, .. } => assert_eq!((need, got), (3, 2)),
        other => panic!("expected TooFewRows, got {other:?}"),
    }
    let three = base(3);
    match err(run(ols(&["x", "z"], "x"), Scheme::Iid, &three)) {
        Error::TooFewRows { need, got, .. } => assert_eq!((need, got), (4, 3)),
        other => panic!("expected TooFewRows, got {other:?}"),
    }
}

// ---------------------------------------------------------------- dropped resamples

#[test]
fn tiny_arm_under_iid_drops_resamples_with_a_warning() {
    let n = 12;
    let mut t = vec![0.0; n];
    t[3] = 1.0;
    t[8] = 1.0;
    let d = with(n, "t", t);
    let r = run_full(
        dm(),
        Scheme::Iid,
        B,
        0.95,
        &[IntervalMethod::Percentile, IntervalMethod::Bca],
        &d,
    )
    .expect("diff-means with a 2-row arm must still give a result");
    assert_eq!(r.resamples, B);
    assert!(
        r.valid_resamples < r.resamples,
        "P(no treated row) = (10/12)^12 ≈ 0.11, so some of {B} resamples must be dropped"
    );
    assert!(r.valid_resamples > B / 2, "{}", r.valid_resamples);
    let dropped = r.resamples - r.valid_resamples;
    let w = r
        .warnings
        .iter()
        .find(|w| w.contains("dropped"))
        .unwrap_or_else(|| panic!("no warning about dropped resamples: {:?}", r.warnings));
    assert!(w.contains(&format!("{dropped} of {B}")), "{w}");
    assert!(r.estimate.is_finite() && r.std_error.is_finite());
    for (m, [lo, hi]) in &r.intervals {
        assert!(
            lo.is_finite() && hi.is_finite() && lo <= hi,
            "{m}: [{lo}, {hi}]"
        );
    }
    // the stratified scheme on the treatment never loses an arm
    let r = run(dm(), Scheme::Stratified { column: s("t") }, &d).unwrap();
    assert_eq!(r.valid_resamples, r.resamples);
    assert!(
        !r.warnings.iter().any(|w| w.contains("dropped")),
        "{:?}",
        r.warnings
    );
}

#[test]
fn statistic_undefined_in_every_resample_is_an_error_not_a_panic() {
    // one row of positive weight among zeros: under iid most resamples have total weight 0, and
    // with a single resample the run may have no valid replicate at all
    let n = 12;
    let mut w = vec![0.0; n];
    w[0] = 1.0;
    let d = with(n, "w", w);
    for seed_resamples in [1u64, 2, 3] {
        let r = run_full(
            Statistic::WeightedMean {
                column: s("x"),
                weights: s("w"),
            },
            Scheme::Iid,
            seed_resamples,
            0.95,
            &[IntervalMethod::Percentile, IntervalMethod::Bca],
            &d,
        );
        match r {
            Ok(res) => {
                assert!(res.valid_resamples >= 1);
                assert!(res.estimate.is_finite());
            }
            Err(e) => assert_param(&e, "resamples"),
        }
    }
}

#[test]
fn one_resample_and_one_row_do_not_panic() {
    let d = base(20);
    for stat in all_statistics() {
        let r = run_full(stat.clone(), Scheme::Iid, 1, 0.95, &IntervalMethod::ALL, &d);
        if let Err(e) = r {
            assert_param(&e, "resamples");
        }
    }
    let one = Dataset::new().with_column("x", vec![2.5]).unwrap();
    for scheme in [
        Scheme::Iid,
        Scheme::Bayesian,
        Scheme::Poisson,
        Scheme::MovingBlock { block_length: 1 },
        Scheme::CircularBlock { block_length: 1 },
        Scheme::Stationary { block_length: 1.0 },
    ] {
        for stat in [
            mean_x(),
            Statistic::Quantile {
                column: s("x"),
                q: 0.3,
            },
        ] {
            match run_full(stat, scheme.clone(), 20, 0.95, &IntervalMethod::ALL, &one) {
                Ok(r) => assert_eq!(r.estimate, 2.5),
                Err(e) => assert_param(&e, "resamples"),
            }
        }
    }
}

// ---------------------------------------------------------------- extreme magnitudes

/// Accepts a correct estimate, or an error that names column `x`; rejects anything else (a silent
/// wrong number, or an error that blames the resamples).
#[track_caller]
fn correct_or_names_x(r: Result<BootstrapResult>, want: f64, rel: f64) {
    match r {
        Ok(res) => assert!(
            (res.estimate - want).abs() <= rel * want.abs()
                || (want.is_infinite() && res.estimate == want),
            "estimate {} but the statistic is {want} (warnings: {:?})",
            res.estimate,
            res.warnings
        ),
        Err(e) => assert!(
            e.to_string().contains("`x`"),
            "error does not name column `x`: {e:?}"
        ),
    }
}

#[test]
fn mean_of_huge_finite_values() {
    // mean = 1.4e308, representable; the naive sum 4.2e308 is not
    let d = Dataset::new()
        .with_column("x", vec![1e308, 1.5e308, 1.7e308])
        .unwrap();
    correct_or_names_x(run(mean_x(), Scheme::Iid, &d), 1.4e308, 1e-12);
}

#[test]
fn variance_of_huge_finite_values() {
    // deviations ~3e307: the variance (~1.9e615) is not representable, so an error (or +inf) is
    // the honest answer; 0 is not
    let d = Dataset::new()
        .with_column("x", vec![1e308, 1.5e308, 1.7e308])
        .unwrap();
    for stat in [
        Statistic::Variance { column: s("x") },
        Statistic::Std { column: s("x") },
    ] {
        correct_or_names_x(run(stat, Scheme::Iid, &d), f64::INFINITY, 0.0);
    }
}

#[test]
fn variance_of_tiny_scale_values() {
    let d = Dataset::new()
        .with_column("x", vec![1e-200, 2e-200, 3e-200])
        .unwrap();
    // the variance (1e-400) underflows to 0 legitimately; the standard deviation (1e-200) does not
    correct_or_names_x(
        run(Statistic::Std { column: s("x") }, Scheme::Iid, &d),
        1e-200,
        1e-9,
    );
}
