//! Bad roles and run parameters: treatment arms and propensities, the level, the resample count,
//! unknown columns and names, missing roles, block lengths and a single cluster.

use super::*;

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

/// Issue 14: memory is checked in the one validation step, so library callers get the error too:
/// 4e9 replicates (about 240 GiB) are refused naming `resamples`, with what they need and what
/// is available, before anything is allocated (a shard of the same size as well).
#[test]
fn resamples_beyond_memory_are_refused_before_allocating() {
    let d = base(30);
    let boot = Bootstrap::new(mean_x()).resamples(4_000_000_000);
    for e in [
        err(boot.run(&Engine::cpu(), &d)),
        boot.shard(&Engine::cpu(), &d, 0..4_000_000_000)
            .unwrap_err(),
    ] {
        assert_param(&e, "resamples");
        let m = e.to_string();
        assert!(
            m.contains("needs about") && m.contains("GiB of memory"),
            "{m}"
        );
        assert!(
            m.contains("available") && m.contains("use fewer resamples"),
            "{m}"
        );
    }
}
