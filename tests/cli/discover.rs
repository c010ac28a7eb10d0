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
            "alpha",
            "backend",
            "borderline",
            "edges",
            "levels",
            "nodes",
            "seconds",
            "sepsets",
            "test",
            "tests_run"
        ]
    );
    assert_eq!(keys(&v["edges"][0]), ["from", "kind", "to"]);
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
