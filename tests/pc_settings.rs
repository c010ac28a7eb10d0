//! Every PC setting against causal-learn 0.1.4.8 (tests/reference/make_pc_settings_reference.py):
//! `stable` × `uc_rule` × `uc_priority` with the fisherz, chisq and gsq tests, graph for graph;
//! and the chisq/gsq statistics, degrees of freedom and p-values against causal-learn's CIT.

use ceteris::discovery::Pc;
use ceteris::independence::IndependenceTest;
use ceteris::{Dataset, Engine};

fn reference() -> serde_json::Value {
    serde_json::from_str(include_str!("reference/pc_settings_reference.json")).unwrap()
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn dataset(cols: &serde_json::Value) -> Dataset {
    let mut d = Dataset::new();
    for (j, c) in cols.as_array().unwrap().iter().enumerate() {
        d.push_column(&format!("X{}", j + 1), f64s(c)).unwrap();
    }
    d
}

fn test_named(name: &str) -> IndependenceTest {
    match name {
        "fisherz" => IndependenceTest::fisher_z(),
        "chisq" => IndependenceTest::chisq(),
        "gsq" => IndependenceTest::gsq(),
        other => panic!("unknown test {other}"),
    }
}

#[test]
fn every_setting_matches_causal_learn() {
    let doc = reference();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    let engine = Engine::cpu();
    let mut checked = 0;
    let mut differ = Vec::new();
    for case in cases {
        let data = dataset(&case["data"]);
        let test = test_named(case["test"].as_str().unwrap());
        let alpha = case["alpha"].as_f64().unwrap();
        for run in case["runs"].as_array().unwrap() {
            let stable = run["stable"].as_bool().unwrap();
            let rule = run["uc_rule"].as_u64().unwrap() as u8;
            let prio = run["uc_priority"].as_i64().unwrap() as i8;
            let r = Pc::new(test.clone())
                .alpha(alpha)
                .stable(stable)
                .uc_rule(rule)
                .uc_priority(prio)
                .run(&engine, &data, &[]);
            let label = format!(
                "{} stable={stable} uc_rule={rule} uc_priority={prio}",
                case["name"].as_str().unwrap()
            );
            if run["error"].is_string() {
                let e = r.expect_err(&label).to_string();
                assert!(e.contains("uc_priority"), "{label}: {e}");
                continue;
            }
            let r = r.unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(
                r.borderline.is_empty(),
                "{label}: borderline {:?}",
                r.borderline
            );
            let want: Vec<i8> = run["graph"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|row| {
                    row.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_i64().unwrap() as i8)
                })
                .collect();
            if r.marks() != want.as_slice() {
                differ.push(label);
            }
            checked += 1;
        }
    }
    assert!(checked >= 12 * 32, "{checked}");
    assert!(
        differ.is_empty(),
        "{} of {checked} differ: {differ:#?}",
        differ.len()
    );
}

#[test]
fn chisq_and_gsq_match_causal_learn_cit() {
    let doc = reference();
    let cit = &doc["cit"];
    let data = dataset(&cit["data"]);
    let engine = Engine::cpu();
    let name = |i: u64| format!("X{}", i + 1);
    let mut tiny = 0;
    let mut zero_df = 0;
    for q in cit["queries"].as_array().unwrap() {
        let test = test_named(q["test"].as_str().unwrap());
        let x = name(q["x"].as_u64().unwrap());
        let y = name(q["y"].as_u64().unwrap());
        let z: Vec<String> = q["z"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| name(v.as_u64().unwrap()))
            .collect();
        let zr: Vec<&str> = z.iter().map(String::as_str).collect();
        let r = test.run(&engine, &data, &[&x], &[&y], &zr).unwrap();
        let want_p = q["p"].as_f64().unwrap();
        let df = q["df"].as_u64().unwrap();
        assert_eq!(r.null, format!("chi2:{df}"), "{q}");
        if df == 0 {
            zero_df += 1;
            assert_eq!(r.p_value, 1.0, "{q}");
            continue;
        }
        let want_s = q["statistic"].as_f64().unwrap();
        assert!(
            (r.statistic - want_s).abs() <= 1e-10 * want_s.abs(),
            "{q}: statistic {}",
            r.statistic
        );
        if want_p < 1e-10 {
            tiny += 1;
            // the tail of a tiny p-value: its logarithm to 1e-10 relative
            assert!(
                (r.p_value.ln() - want_p.ln()).abs() <= 1e-10 * want_p.ln().abs(),
                "{q}: p {}",
                r.p_value
            );
        } else {
            assert!((r.p_value - want_p).abs() <= 1e-10, "{q}: p {}", r.p_value);
        }
    }
    assert!(tiny > 0 && zero_df > 0, "tiny {tiny}, zero df {zero_df}");
}

#[test]
fn discrete_columns_are_checked() {
    let engine = Engine::cpu();
    let n = 50;
    let data = Dataset::new()
        .with_column("a", (0..n).map(|i| (i % 3) as f64).collect())
        .unwrap()
        .with_column("one", vec![2.0; n])
        .unwrap()
        .with_column("cont", (0..n).map(|i| i as f64 * 0.5).collect())
        .unwrap();
    let t = IndependenceTest::chisq();
    let e = t
        .run(&engine, &data, &["a"], &["one"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`one`") && e.contains("one value"), "{e}");
    // a column with more distinct values than the cap
    let many = Dataset::new()
        .with_column("a", (0..2000).map(|i| (i % 3) as f64).collect())
        .unwrap()
        .with_column("cont", (0..2000).map(|i| i as f64 * 0.5).collect())
        .unwrap();
    let e = t
        .run(&engine, &many, &["a"], &["cont"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`cont`") && e.contains("1000"), "{e}");
    let e = t
        .run(&engine, &data, &["a", "cont"], &["one"], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("exactly one"), "{e}");
}

#[test]
fn bad_settings_are_named() {
    let data = Dataset::synthetic(200, 1);
    let pc = || Pc::new(IndependenceTest::fisher_z());
    let e = pc()
        .uc_rule(3)
        .run(&Engine::cpu(), &data, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("uc_rule"), "{e}");
    let e = pc()
        .uc_priority(5)
        .run(&Engine::cpu(), &data, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("uc_priority"), "{e}");
    let e = pc()
        .uc_rule(2)
        .uc_priority(1)
        .run(&Engine::cpu(), &data, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("uc_priority") && e.contains("uc_rule 2"), "{e}");
}
