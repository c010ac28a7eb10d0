//! Bad data: empty columns, a CSV file with no rows, a cell that is not a number or no file at all,
//! NaN and infinity (in memory and in CSV cells), mismatched and duplicate columns, and constant
//! columns where a variance is needed; first, every statistic on good data as a sanity check.

use super::*;

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
    assert!(
        matches!(d.column("long"), Err(Error::UnknownColumn { .. })),
        "{:?}",
        d.column("long")
    );
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
