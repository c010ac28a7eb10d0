//! `ceteris discover`: JSON, DOT and table output; data written by `ceteris sample` and the
//! collider found in it.

use super::*;

#[test]
fn discover_prints_json_dot_and_table() {
    let dir = TempDir::new("discover");
    // x → y ← t (linear): Fisher-z finds the collider
    let n = 400;
    let x: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64) / 101.0).collect();
    let t: Vec<f64> = (0..n).map(|i| ((i * 53 % 97) as f64) / 97.0).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| x[i] + t[i] + 0.2 * ((i * 7 % 13) as f64 / 13.0))
        .collect();
    let data = dir.write("d.csv", &csv_text(&[("x", x), ("t", t), ("y", y)]));
    let d = data.to_str().unwrap();
    let base = [
        "discover",
        "--data",
        d,
        "--test",
        "fisherz",
        "--backend",
        "cpu",
    ];
    let out = ceteris(&base);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // the JSON contract (issue 19, item 8): exactly the README's keys (PC: no `changing`)
    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }
    assert_eq!(
        keys(&v),
        [
            "algorithm",
            "alpha",
            "backend",
            "borderline",
            "edges",
            "levels",
            "nodes",
            "seconds",
            "sepsets",
            "settings",
            "test",
            "tests_run"
        ]
    );
    assert_eq!(keys(&v["edges"][0]), ["from", "kind", "marks", "to"]);
    assert_eq!(v["algorithm"], "pc");
    assert_eq!(
        keys(&v["settings"]),
        [
            "borderline",
            "domain",
            "forbidden",
            "max_depth",
            "required",
            "stable",
            "tiers",
            "uc_priority",
            "uc_rule"
        ]
    );
    assert_eq!(v["settings"]["stable"], true);
    assert_eq!(v["settings"]["uc_rule"], 0);
    assert_eq!(v["settings"]["uc_priority"], 2);
    assert_eq!(v["edges"][0]["marks"], serde_json::json!(["tail", "arrow"]));
    assert_eq!(
        keys(&v["levels"][0]),
        ["depth", "removed", "seconds", "tests"]
    );
    for key in [
        "nodes",
        "edges",
        "sepsets",
        "tests_run",
        "seconds",
        "backend",
        "levels",
        "borderline",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert!(edges
        .iter()
        .all(|e| e["to"] == "y" && e["kind"] == "directed"));
    assert_eq!(v["sepsets"]["x|t"], serde_json::json!([]));
    let mut dot = base.to_vec();
    dot.extend(["--format", "dot"]);
    let out = ceteris(&dot);
    let s = text(&out.stdout);
    assert!(
        s.starts_with("digraph") && s.contains("\"x\" -> \"y\";"),
        "{s}"
    );
    let mut table = base.to_vec();
    table.extend(["--format", "table", "--require", "x->t"]);
    let s = text(&ceteris(&table).stdout);
    assert!(s.contains("x --> t") && s.contains("tests in"), "{s}");
    // bad input names the problem
    let mut bad = base.to_vec();
    bad.extend(["--forbid", "x-y"]);
    assert!(fails(&bad).contains("not an edge FROM->TO"));
    let mut bad = base.to_vec();
    bad.extend(["--alpha", "1.5"]);
    assert!(fails(&bad).contains("alpha"));
    let mut bad = base.to_vec();
    bad.extend(["--domain", "nope"]);
    assert!(fails(&bad).contains("nope"));
    let mut bad = base.to_vec();
    bad.extend(["--tiers", "x;;y"]);
    assert!(fails(&bad).contains("empty tier"));
}

#[test]
fn sample_then_discover_finds_the_collider() {
    // model A → C ← B (linear-Gaussian): `ceteris sample` writes the data, `discover` finds
    // the collider; `--do A=2` fixes column A
    let dir = TempDir::new("sample");
    let model = dir.write(
        "m.json",
        r#"{"format":"scm-json/v1","nodes":[
{"name":"A","parents":[],"type":"linear","intercept":0,"coefficients":{},"noise":{"dist":"normal","scale":1}},
{"name":"B","parents":[],"type":"linear","intercept":0,"coefficients":{},"noise":{"dist":"normal","scale":1}},
{"name":"C","parents":["A","B"],"type":"linear","intercept":0,"coefficients":{"A":1,"B":1},"noise":{"dist":"normal","scale":0.5}}]}"#,
    );
    let csv = dir.path("s.csv");
    let m = model.to_str().unwrap();
    let out = ceteris(&[
        "sample",
        "--model",
        m,
        "--samples",
        "2000",
        "--seed",
        "3",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ceteris(&[
        "discover",
        "--data",
        csv.to_str().unwrap(),
        "--test",
        "fisherz",
        "--backend",
        "cpu",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{v}");
    assert!(
        edges
            .iter()
            .all(|e| e["to"] == "C" && e["kind"] == "directed"),
        "{v}"
    );
    let out = ceteris(&["sample", "--model", m, "--samples", "5", "--do", "A=2"]);
    let s = text(&out.stdout);
    let header: Vec<&str> = s.lines().next().unwrap().split(',').collect();
    let a = header.iter().position(|h| *h == "A").unwrap();
    assert!(
        s.lines()
            .skip(1)
            .all(|l| l.split(',').nth(a) == Some("2.0")),
        "{s}"
    );
    assert!(fails(&["sample", "--model", m, "--do", "Q=1"]).contains("Q"));
}

/// chisq on text labels: every column read as labels; the collider `a → c ← b` of discrete data;
/// the settings named in the JSON; `--algorithm` and setting errors.
#[test]
fn discover_discrete_labels_and_settings() {
    let dir = TempDir::new("discover-discrete");
    let n = 1200;
    let lv = ["low", "mid", "high"];
    let mut text_csv = String::from("a,b,c\n");
    for i in 0..n {
        // a and b independent (coprime strides), c = (a + b) / 2 with 10% noise
        let a = (i * 7 / 3) % 3;
        let b = (i * 11 / 5) % 3;
        let c = if i % 10 == 0 {
            (i / 10) % 3
        } else {
            (a + b) / 2
        };
        text_csv.push_str(&format!(
            "{},{},{}\n",
            lv[a],
            ["no", "yes", "maybe"][b],
            lv[c]
        ));
    }
    let data = dir.write("d.csv", &text_csv);
    let d = data.to_str().unwrap();
    let base = [
        "discover",
        "--data",
        d,
        "--test",
        "chisq",
        "--backend",
        "cpu",
    ];
    let mut args = base.to_vec();
    args.extend(["--stable", "false", "--uc-rule", "1", "--uc-priority", "-1"]);
    let out = ceteris(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["test"], "chisq");
    assert_eq!(v["settings"]["stable"], false);
    assert_eq!(v["settings"]["uc_rule"], 1);
    assert_eq!(v["settings"]["uc_priority"], -1);
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{v}");
    assert!(
        edges
            .iter()
            .all(|e| e["to"] == "c" && e["kind"] == "directed"),
        "{v}"
    );
    // the per-level test counts stay under `levels`; the labels' codes go to `label_levels`
    assert!(v["levels"].is_array(), "{v}");
    assert_eq!(
        v["label_levels"]["a"],
        serde_json::json!(["high", "low", "mid"])
    );
    // FCI: the collider's PAG a o→ c ←o b, with circle marks, in the JSON and the table
    let mut args = base.to_vec();
    args.extend(["--algorithm", "fci"]);
    let out = ceteris(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["algorithm"], "fci");
    // only the settings FCI uses
    for unused in ["stable", "uc_rule", "uc_priority"] {
        assert!(v["settings"].get(unused).is_none(), "{unused} in {v}");
    }
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{v}");
    for e in edges {
        assert_eq!(e["to"], "c", "{v}");
        assert_eq!(e["kind"], "partially-directed", "{v}");
        assert_eq!(e["marks"], serde_json::json!(["circle", "arrow"]), "{v}");
    }
    args.extend(["--format", "table"]);
    let out = ceteris(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("a o-> c") && t.contains("b o-> c"), "{t}");
    args.truncate(args.len() - 1);
    args.push("dot");
    let out = ceteris(&args);
    assert!(
        text(&out.stdout).contains("arrowtail=odot"),
        "{}",
        text(&out.stdout)
    );
    // bad settings and algorithms, each named
    for (extra, want) in [
        (
            vec!["--algorithm", "fci", "--stable", "true"],
            "--stable is not an FCI option",
        ),
        (
            vec!["--algorithm", "fci", "--uc-rule", "1"],
            "--uc-rule is not an FCI option",
        ),
        (
            vec!["--algorithm", "fci", "--uc-priority", "2"],
            "--uc-priority",
        ),
        (
            vec!["--algorithm", "fci", "--domain", "a"],
            "--domain is not an FCI option",
        ),
        (vec!["--algorithm", "ges"], "unknown algorithm"),
        (vec!["--algorithm", "cdnod"], "needs --domain"),
        (vec!["--algorithm", "pc", "--domain", "a"], "--domain"),
        (vec!["--uc-rule", "3"], "uc_rule"),
        (vec!["--uc-rule", "2", "--uc-priority", "0"], "uc_priority"),
    ] {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        let e = fails(&args);
        assert!(e.contains(want), "{extra:?}: {e}");
    }
    // a column with one level, named
    let one = dir.write(
        "one.csv",
        "a,b\nx,1\ny,1\nx,1\ny,1\nx,1\ny,1\nx,1\ny,1\nx,1\ny,1\nx,1\n",
    );
    let e = fails(&[
        "independence",
        "--data",
        one.to_str().unwrap(),
        "--x",
        "a",
        "--y",
        "b",
        "--test",
        "gsq",
    ]);
    assert!(e.contains("`b`"), "{e}");
}

/// Background knowledge naming columns that hold the separators (`,` `;` `->`), quoted.
#[test]
fn discover_knowledge_takes_quoted_names() {
    let dir = TempDir::new("quoted-knowledge");
    let model = dir.write(
        "m.json",
        r#"{"format":"scm-json/v1","nodes":[
{"name":"p,q","parents":[],"type":"linear","intercept":0,"coefficients":{},"noise":{"dist":"normal","scale":1}},
{"name":"b;r","parents":[],"type":"linear","intercept":0,"coefficients":{},"noise":{"dist":"normal","scale":1}},
{"name":"c->d","parents":["p,q","b;r"],"type":"linear","intercept":0,"coefficients":{"p,q":1,"b;r":1},"noise":{"dist":"normal","scale":0.5}}]}"#,
    );
    let csv = dir.path("s.csv");
    let out = ceteris(&[
        "sample",
        "--model",
        model.to_str().unwrap(),
        "--samples",
        "2000",
        "--seed",
        "3",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ceteris(&[
        "discover",
        "--data",
        csv.to_str().unwrap(),
        "--test",
        "fisherz",
        "--backend",
        "cpu",
        "--require",
        r#""p,q"->"c->d""#,
        "--forbid",
        r#""c->d"->"b;r","b;r"->"p,q""#,
        "--tiers",
        r#""p,q","b;r";"c->d""#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["settings"]["required"],
        serde_json::json!([["p,q", "c->d"]]),
        "{v}"
    );
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{v}");
    assert!(
        edges
            .iter()
            .all(|e| e["to"] == "c->d" && e["kind"] == "directed"),
        "{v}"
    );
    let err = fails(&[
        "discover",
        "--data",
        csv.to_str().unwrap(),
        "--test",
        "fisherz",
        "--forbid",
        r#""p,q->b"#,
    ]);
    assert!(err.contains("forbid"), "{err}");
}

/// Issue 16's bad input on `discover` itself (not only `independence`): a discrete column with
/// one level and one with more levels than the cap, each named, for chisq and FCI; and the mixed
/// test `dg`: text columns discrete, numbers continuous, found by PC and refused options.
#[test]
fn discover_discrete_bad_input_and_mixed_data() {
    let dir = TempDir::new("discover-bad-discrete");
    let mut one = String::from("a,b,k\n");
    let mut many = String::from("a,b,wide\n");
    for i in 0..1500 {
        let (a, b) = (["x", "y"][i % 2], ["u", "v", "w"][(i / 2) % 3]);
        one.push_str(&format!("{a},{b},same\n"));
        many.push_str(&format!("{a},{b},{i}\n"));
    }
    let one = dir.write("one.csv", &one);
    let many = dir.write("many.csv", &many);
    for algorithm in ["pc", "fci"] {
        let e = fails(&[
            "discover",
            "--data",
            one.to_str().unwrap(),
            "--test",
            "chisq",
            "--algorithm",
            algorithm,
        ]);
        assert!(e.contains("`k`") && e.contains("constant"), "{e}");
        let e = fails(&[
            "discover",
            "--data",
            many.to_str().unwrap(),
            "--test",
            "gsq",
            "--algorithm",
            algorithm,
        ]);
        assert!(
            e.contains("`wide`") && e.contains("1500 distinct values") && e.contains("1000"),
            "{e}"
        );
    }
    let e = fails(&["discover", "--data", one.to_str().unwrap(), "--test", "dg"]);
    assert!(e.contains("`k`") && e.contains("constant"), "{e}");

    // mixed: z (number) -> g (text, 3 levels) -> y (number); z -> x (number)
    let mut mixed = String::from("z,g,y,x\n");
    let mut s: u64 = 7;
    let mut normal = || {
        // Box-Muller on a 64-bit LCG (deterministic, independent of the library)
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u1, u2) = (u(), u());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    for _ in 0..2000 {
        let z = normal();
        let t = z + normal();
        let g = if t < -0.6 {
            "lo"
        } else if t < 0.6 {
            "mid"
        } else {
            "hi"
        };
        let y = if g == "hi" { 0.8 } else { 0.0 } + normal();
        let x = 0.7 * z + normal();
        mixed.push_str(&format!("{z},{g},{y},{x}\n"));
    }
    let mixed = dir.write("mixed.csv", &mixed);
    let m = mixed.to_str().unwrap();
    let out = ceteris(&["discover", "--data", m, "--test", "dg", "--backend", "cpu"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["test"], "dg");
    let mut pairs: Vec<String> = v["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut p = [e["from"].as_str().unwrap(), e["to"].as_str().unwrap()];
            p.sort();
            p.join("-")
        })
        .collect();
    pairs.sort();
    assert_eq!(pairs, ["g-y", "g-z", "x-z"], "{v}");
    assert_eq!(
        v["label_levels"]["g"],
        serde_json::json!(["hi", "lo", "mid"])
    );
    let out = ceteris(&[
        "independence",
        "--data",
        m,
        "--test",
        "dg",
        "--x",
        "x",
        "--y",
        "g",
        "--z",
        "z",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["test"].as_str(), v["null"].as_str()),
        (Some("dg"), Some("chi2"))
    );
    assert!(v["p_value"].as_f64().unwrap() > 1e-3, "{v}");
    for (flag, value) in [
        ("--kernel", "linear"),
        ("--null", "permutation"),
        ("--width", "median"),
    ] {
        let e = fails(&[
            "independence",
            "--data",
            m,
            "--test",
            "dg",
            "--x",
            "x",
            "--y",
            "g",
            flag,
            value,
        ]);
        assert!(e.contains(flag), "{flag}: {e}");
    }
}
