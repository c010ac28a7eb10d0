//! The `ceteris` binary's SCM commands end to end: `sweep` (grids, `--exact`, intervention files,
//! plots), `effect` (shift sets, the table format), `counterfactual` (its keys) and `fit`.

use super::*;

#[test]
fn cli_sweep_and_effect() {
    let dir = std::env::temp_dir().join(format!("ceteris-scm-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.json");
    std::fs::write(&model, MODEL).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let m = model.to_str().unwrap();
    let (ok, out, err) = run(&[
        "sweep",
        "--model",
        m,
        "--outcome",
        "Y",
        "--do",
        "X=-3:3:7",
        "--samples",
        "2000",
        "--quantiles",
        "0.05,0.5,0.95",
        "--backend",
        "cpu",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in ["outcome", "samples", "backend", "seconds", "points"] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let pts = v["points"].as_array().unwrap();
    assert_eq!(pts.len(), 7);
    assert_eq!(pts[0]["interventions"]["X"], -3.0);
    assert!(pts[0]["quantiles"].get("0.5").is_some());
    let (ok, out, _) = run(&[
        "sweep",
        "--model",
        m,
        "--outcome",
        "Y",
        "--do",
        "X=0,1",
        "--do",
        "Z=0",
        "--exact",
        "--backend",
        "cpu",
    ]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["points"][1]["mean"], 0.0); // 1 − 1·1 + 3·0
    let (ok, out, err) = run(&[
        "effect",
        "--model",
        m,
        "--outcome",
        "Y",
        "--alternative",
        "X=1",
        "--reference",
        "X=0",
        "--samples",
        "1000",
        "--backend",
        "cpu",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["ace"].as_f64().unwrap() + 1.0).abs() < 1e-9);
    let (ok, _, err) = run(&[
        "sweep",
        "--model",
        m,
        "--outcome",
        "Y",
        "--do",
        "X=1:2:0",
        "--backend",
        "cpu",
    ]);
    assert!(
        !ok && err.contains("empty") && !err.contains("panicked"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cli_counterfactual_fit_interventions_and_plot() {
    let dir = std::env::temp_dir().join(format!("ceteris-scm-cli2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |f: &str| dir.join(f).to_str().unwrap().to_string();
    std::fs::write(path("m.json"), MODEL).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!err.contains("panicked"), "{err}");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            err,
        )
    };
    let m = path("m.json");
    // counterfactual: N_Y = 1.3 (see the library test), do(X := 0) gives Y = 1 + 0.9 + 1.3
    let (ok, out, err) = run(&[
        "counterfactual",
        "--model",
        &m,
        "--observed",
        "Z=0.3,X=1.2,Y=2",
        "--do",
        "X=0",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["values"]["Y"].as_f64().unwrap() - 3.2).abs() < 1e-12);
    assert_eq!(v["values"]["X"], 0.0);
    let (ok, out, err) = run(&[
        "counterfactual",
        "--model",
        &m,
        "--observed",
        "Z=0.3,X=1.2,Y=2",
        "--shift",
        "X=1",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((v["values"]["Y"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    // a CSV of units: the same unit twice and one with N = 0, printed as CSV or written to --out
    std::fs::write(
        path("units.csv"),
        "id,Z,X,Y\n1,0.3,1.2,2\n2,0.3,1.2,2\n3,0,0,2\n",
    )
    .unwrap();
    let units = path("units.csv");
    let batch = [
        "counterfactual",
        "--model",
        &m,
        "--data",
        &units,
        "--do",
        "X=0",
    ];
    let (ok, out, err) = run(&batch);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Z,X,Y");
    assert_eq!(lines.len(), 4, "{out}");
    let y: Vec<f64> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    // unit 3: N_Y = 2 − 1 = 1, so under do(X := 0), Y = 1 + 1 = 2
    for (got, want) in y.iter().zip([3.2, 3.2, 2.0]) {
        assert!((got - want).abs() < 1e-12, "{out}");
    }
    let cf_csv = path("cf.csv");
    let (ok, out, err) = run(&[&batch[..], &["--out", &cf_csv]].concat());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["units"], 3);
    let mean_y = v["means"]["Y"]["counterfactual"].as_f64().unwrap();
    assert!((mean_y - (3.2 + 3.2 + 2.0) / 3.0).abs() < 1e-12, "{v}");
    assert_eq!(v["means"]["Y"]["observed"], 2.0);
    assert!(std::fs::read_to_string(&cf_csv)
        .unwrap()
        .starts_with("Z,X,Y\n"));
    std::fs::write(path("bad.csv"), "Z,X\n0.3,1.2\n").unwrap();
    let (ok, _, err) = run(&["counterfactual", "--model", &m, "--data", &path("bad.csv")]);
    assert!(
        !ok && err.contains("unknown column `Y` (available: Z, X)"),
        "{err}"
    );
    let (ok, _, err) = run(&["counterfactual", "--model", &m]);
    assert!(!ok && err.contains("--observed"), "{err}");
    for (observed, needle) in [
        ("Z=0.3,X=1.2", "lacks `Y`"),
        ("Z=0.3,X=1.2,Y=2,Q=1", "unknown node `Q`"),
        ("Z=0.3,X=inf,Y=2", "`X`: `inf` is not a finite number"),
        ("Z=0.3,X", "`X` is not NODE=value"),
    ] {
        let (ok, _, err) = run(&["counterfactual", "--model", &m, "--observed", observed]);
        assert!(!ok && err.contains(needle), "{observed}: {err}");
    }
    // fit: sample → CSV → fit → a model the other subcommands read
    let d = Scm::from_json(MODEL)
        .unwrap()
        .sample(&Engine::cpu(), &[], 2000, 3)
        .unwrap()
        .data;
    let mut csv = d.names().join(",") + "\n";
    for i in 0..d.n_rows() {
        let row: Vec<String> = d
            .names()
            .iter()
            .map(|c| d.column(c).unwrap()[i].to_string())
            .collect();
        csv += &(row.join(",") + "\n");
    }
    std::fs::write(path("d.csv"), csv).unwrap();
    let (ok, out, err) = run(&[
        "fit",
        "--data",
        &path("d.csv"),
        "--graph",
        "Z->X->Y,Z->Y",
        "--out",
        &path("fit.json"),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"], 2000);
    let fitted = Scm::from_json(&std::fs::read_to_string(path("fit.json")).unwrap()).unwrap();
    assert_eq!(fitted.names(), ["Z", "X", "Y"]);
    let (ok, out, err) = run(&[
        "fit",
        "--data",
        &path("d.csv"),
        "--graph",
        "X->Y",
        "--kind",
        "additive",
    ]);
    assert!(ok, "{err}");
    Scm::from_json(&out).unwrap();
    for (graph, kind, needle) in [
        ("X->Q", "linear", "unknown column `Q`"),
        ("X->Y,Y->X", "linear", "cycle"),
        ("X->Y", "cubic", "unknown kind `cubic`"),
    ] {
        let (ok, _, err) = run(&[
            "fit",
            "--data",
            &path("d.csv"),
            "--graph",
            graph,
            "--kind",
            kind,
        ]);
        assert!(!ok && err.contains(needle), "{graph}: {err}");
    }
    // --interventions: file order, with --shift added to every set, exact and sampled, json and csv
    std::fs::write(
        path("sets.json"),
        r#"[[{"node": "X", "type": "atomic", "value": 1.0}], [], [{"node": "Z", "type": "atomic", "value": 2}]]"#,
    )
    .unwrap();
    let (ok, out, err) = run(&[
        "sweep",
        "--model",
        &m,
        "--outcome",
        "Y",
        "--interventions",
        &path("sets.json"),
        "--exact",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let means: Vec<f64> = v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["mean"].as_f64().unwrap())
        .collect();
    assert_eq!(means, [0.0, 1.0, 5.0]); // 1 − 1; 1; 1 − 2 + 6
    let (ok, out, err) = run(&[
        "sweep",
        "--model",
        &m,
        "--outcome",
        "Y",
        "--interventions",
        &path("sets.json"),
        "--shift",
        "Y=1",
        "--samples",
        "500",
        "--backend",
        "cpu",
        "--format",
        "csv",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "X,Z,shift_Y,mean,variance,mc_error");
    assert!(lines[1].starts_with("1.0,,1.0,"), "{}", lines[1]);
    assert!(lines[3].starts_with(",2.0,1.0,"), "{}", lines[3]);
    std::fs::write(
        path("bad.json"),
        r#"[[{"node": "X", "type": "atomic", "value": 1}], [{"node": "Q", "type": "atomic", "value": 1}]]"#,
    )
    .unwrap();
    let (ok, _, err) = run(&[
        "sweep",
        "--model",
        &m,
        "--outcome",
        "Y",
        "--interventions",
        &path("bad.json"),
        "--samples",
        "100",
        "--backend",
        "cpu",
    ]);
    assert!(!ok && err.contains("setting 1: unknown node `Q`"), "{err}");
    std::fs::write(path("bad.json"), r#"[[{"node": "X", "value": 1}]]"#).unwrap();
    let (ok, _, err) = run(&[
        "sweep",
        "--model",
        &m,
        "--outcome",
        "Y",
        "--interventions",
        &path("bad.json"),
    ]);
    assert!(!ok && err.contains("set 0, entry 0"), "{err}");
    // --plot: one curve per value of Z over do(X), and the setting index for irregular sets
    for (extra, file) in [
        (vec!["--do", "X=-2:2:9", "--do", "Z=0,1"], "grid.svg"),
        (vec!["--interventions", &path("sets.json")], "sets.svg"),
    ] {
        let svg = path(file);
        let mut args = vec![
            "sweep",
            "--model",
            &m,
            "--outcome",
            "Y",
            "--samples",
            "2000",
            "--quantiles",
            "0.05,0.25,0.5,0.75,0.95",
            "--backend",
            "cpu",
            "--plot",
            &svg,
        ];
        args.extend(extra);
        let (ok, _, err) = run(&args);
        assert!(ok, "{err}");
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg"));
        if file == "grid.svg" {
            assert!(
                text.contains("do(X)") && text.contains("mean (Z=1.0)"),
                "legend"
            );
        } else {
            assert!(text.contains("setting"));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `ceteris effect` takes shift sets (`NODE+=delta`) and prints a table with `--format table`;
/// `ceteris counterfactual` reports its backend and seconds. Y = 2X + N: a unit shift of X moves
/// Y by exactly 2 in every paired sample.
#[test]
fn cli_effect_shifts_table_and_counterfactual_keys() {
    let dir = std::env::temp_dir().join(format!("ceteris-scm-effect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.json");
    let m = Scm::new(vec![
        Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    ])
    .unwrap();
    std::fs::write(&model, m.to_json()).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let mp = model.to_str().unwrap();
    let base = [
        "effect",
        "--model",
        mp,
        "--outcome",
        "Y",
        "--backend",
        "cpu",
    ];
    let (ok, out, err) =
        run(&[&base[..], &["--alternative", "X+=1", "--reference", "X+=0"]].concat());
    assert!(ok, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((j["ace"].as_f64().unwrap() - 2.0).abs() < 1e-12);
    assert!(j["mc_error"].as_f64().unwrap() < 1e-12);
    let (ok, out, err) = run(&[
        &base[..],
        &[
            "--alternative",
            "X=-1",
            "--reference",
            "X=0",
            "--format",
            "table",
        ],
    ]
    .concat());
    assert!(ok, "{err}");
    let ace: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("ace"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((ace + 2.0).abs() < 1e-12, "{out}");
    let (ok, _, err) = run(&[
        &base[..],
        &[
            "--alternative",
            "X=1",
            "--reference",
            "X=0",
            "--format",
            "xml",
        ],
    ]
    .concat());
    assert!(!ok && err.contains("format"), "{err}");
    let (ok, _, err) = run(&[&base[..], &["--alternative", "X", "--reference", "X=0"]].concat());
    assert!(
        !ok && err.contains("alternative") && !err.contains("panicked"),
        "{err}"
    );
    // counterfactual: X = 1, Y = 2.5 gives noise 0.5; do(X = 0) gives Y = 0.5
    let (ok, out, err) = run(&[
        "counterfactual",
        "--model",
        mp,
        "--observed",
        "X=1,Y=2.5",
        "--do",
        "X=0",
    ]);
    assert!(ok, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!((j["values"]["Y"].as_f64().unwrap() - 0.5).abs() < 1e-12);
    assert!(j["seconds"].as_f64().unwrap() >= 0.0);
    assert!(j["backend"].as_str().unwrap().starts_with("cpu"));
}

/// The JSON contract of the SCM commands (issue 19, item 8): each prints exactly the keys the
/// README documents, no more and no fewer.
#[test]
fn scm_commands_print_exactly_the_documented_keys() {
    let dir = std::env::temp_dir().join(format!("ceteris-scm-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    std::fs::write(path("m.json"), MODEL).unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let want = |k: &[&str]| {
        let mut k: Vec<String> = k.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    };
    let (m, s, cf, fit) = (
        path("m.json"),
        path("s.csv"),
        path("cf.csv"),
        path("f.json"),
    );
    let v = json(&[
        "sweep",
        "--model",
        &m,
        "--outcome",
        "Y",
        "--do",
        "X=0,1",
        "--samples",
        "500",
        "--quantiles",
        "0.5",
        "--backend",
        "cpu",
    ]);
    assert_eq!(
        keys(&v),
        want(&["outcome", "samples", "backend", "seconds", "points"])
    );
    assert_eq!(
        keys(&v["points"][0]),
        want(&[
            "interventions",
            "shifts",
            "mean",
            "variance",
            "mc_error",
            "quantiles"
        ])
    );
    let v = json(&[
        "effect",
        "--model",
        &m,
        "--outcome",
        "Y",
        "--alternative",
        "X=1",
        "--reference",
        "X=0",
        "--samples",
        "500",
        "--backend",
        "cpu",
    ]);
    assert_eq!(
        keys(&v),
        want(&[
            "outcome",
            "ace",
            "mc_error",
            "samples",
            "alternative",
            "reference",
            "backend",
            "seconds",
        ])
    );
    let v = json(&[
        "counterfactual",
        "--model",
        &m,
        "--observed",
        "Z=0.3,X=1.2,Y=2",
        "--do",
        "X=0",
    ]);
    assert_eq!(keys(&v), want(&["values", "noise", "backend", "seconds"]));
    let v = json(&[
        "sample",
        "--model",
        &m,
        "--samples",
        "50",
        "--out",
        &s,
        "--backend",
        "cpu",
    ]);
    assert_eq!(
        keys(&v),
        want(&["out", "rows", "nodes", "backend", "seconds"])
    );
    let v = json(&[
        "counterfactual",
        "--model",
        &m,
        "--data",
        &s,
        "--do",
        "X=0",
        "--out",
        &cf,
    ]);
    assert_eq!(
        keys(&v),
        want(&["out", "units", "means", "backend", "seconds"])
    );
    assert_eq!(
        keys(&v["means"]["Y"]),
        want(&["observed", "counterfactual"])
    );
    let v = json(&[
        "fit",
        "--data",
        &s,
        "--graph",
        "Z->X,X->Y,Z->Y",
        "--out",
        &fit,
    ]);
    assert_eq!(
        keys(&v),
        want(&["out", "kind", "rows", "nodes", "backend", "seconds"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `discover` on a CSV with odd column names, then `fit --graph` on its JSON, its DOT and a text
/// file: the same model; a binary column becomes a logistic node whose samples, sweeps and
/// effects are 0/1; CPDAGs, `--backend gpu` and bad formats are refused, named.
#[test]
fn cli_fit_reads_discover_output_and_fits_binary_nodes() {
    let dir = std::env::temp_dir().join(format!("ceteris-scm-graphin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    // a collider `a b` → y ← p44/42 and y → t, t binary: PC orients every edge
    let truth = Scm::new(vec![
        Node::linear("a b", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear("p44/42", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear(
            "y",
            0.0,
            &[("a b", 1.0), ("p44/42", 1.0)],
            Noise::Normal { scale: 0.7 },
        ),
        Node::logistic("t", 0.0, &[("y", 1.2)], vec![]),
    ])
    .unwrap();
    let data = truth.sample(&Engine::cpu(), &[], 2000, 4).unwrap().data;
    let names = data.names().to_vec();
    let mut csv = names.join(",") + "\n";
    for i in 0..data.n_rows() {
        let row: Vec<String> = names
            .iter()
            .map(|n| format!("{:?}", data.column(n).unwrap()[i]))
            .collect();
        csv += &(row.join(",") + "\n");
    }
    std::fs::write(path("d.csv"), csv).unwrap();
    let d = path("d.csv");
    for (format, file) in [("json", "g.json"), ("dot", "g.dot")] {
        let (ok, out, err) = run(&[
            "discover",
            "--data",
            &d,
            "--test",
            "fisher-z",
            "--backend",
            "cpu",
            "--format",
            format,
        ]);
        assert!(ok, "{err}");
        std::fs::write(path(file), out).unwrap();
    }
    std::fs::write(
        path("g.txt"),
        "# the DAG\n\"a b\" -> y\np44/42 -> y\ny -> t\n",
    )
    .unwrap();
    let mut models = Vec::new();
    for file in ["g.json", "g.dot", "g.txt"] {
        let (ok, out, err) = run(&["fit", "--data", &d, "--graph", &path(file)]);
        assert!(ok, "{file}: {err}");
        models.push(out);
    }
    // the same nodes (the topological order may differ with the order nodes were listed)
    let by_name = |text: &str| {
        let mut nodes = Scm::from_json(text).unwrap().nodes().to_vec();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes
    };
    assert_eq!(
        by_name(&models[0]),
        by_name(&models[1]),
        "JSON and DOT give different fits"
    );
    assert_eq!(
        by_name(&models[0]),
        by_name(&models[2]),
        "discover's graph is not the DAG"
    );
    let m = Scm::from_json(&models[0]).unwrap();
    let t = m.nodes().iter().find(|n| n.name == "t").unwrap();
    assert_eq!(t.kind, ceteris::scm::NodeType::Logistic);
    std::fs::write(path("m.json"), &models[0]).unwrap();
    let mj = path("m.json");
    // samples of the fitted model: t is 0/1 (it was 0.72-like draws before logistic fits)
    let (ok, out, err) = run(&[
        "sample",
        "--model",
        &mj,
        "--samples",
        "500",
        "--backend",
        "cpu",
    ]);
    assert!(ok, "{err}");
    let header: Vec<&str> = out.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|&h| h == "t").unwrap();
    for line in out.lines().skip(1) {
        let v: f64 = line.split(',').nth(col).unwrap().parse().unwrap();
        assert!(v == 0.0 || v == 1.0, "t = {v}");
    }
    // sweep --do with a quoted name, and on the binary node (0/1 only)
    let (ok, out, err) = run(&[
        "sweep",
        "--model",
        &mj,
        "--outcome",
        "t",
        "--do",
        "\"p44/42\"=-1,1",
        "--samples",
        "2000",
        "--quantiles",
        "0.5",
        "--backend",
        "cpu",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["points"][1]["interventions"]["p44/42"], 1.0);
    let q = v["points"][1]["quantiles"]["0.5"].as_f64().unwrap();
    assert!(q == 0.0 || q == 1.0);
    let (ok, _, err) = run(&[
        "sweep",
        "--model",
        &mj,
        "--outcome",
        "y",
        "--do",
        "t=0.5",
        "--backend",
        "cpu",
    ]);
    assert!(!ok && err.contains("logistic nodes take 0 or 1"), "{err}");
    let (ok, out, err) = run(&[
        "effect",
        "--model",
        &mj,
        "--outcome",
        "t",
        "--alternative",
        "p44/42=1",
        "--reference",
        "p44/42=0",
        "--samples",
        "2000",
        "--backend",
        "cpu",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ace = v["ace"].as_f64().unwrap();
    assert!(ace > 0.0 && ace < 1.0, "{ace}");
    // the table format, and refusals
    let (ok, out, err) = run(&[
        "fit",
        "--data",
        &d,
        "--graph",
        &path("g.txt"),
        "--format",
        "table",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("logistic") && out.contains("on cpu"), "{out}");
    std::fs::write(
        path("cpdag.dot"),
        "digraph { \"a b\" -> y [dir=none]; y -> t }",
    )
    .unwrap();
    for (args, needle) in [
        (
            vec!["--graph", &path("cpdag.dot") as &str],
            "orient these edges: \"a b\" -- y",
        ),
        (vec!["--graph", "\"a b\" -- y"], "orient these edges"),
        (vec!["--graph", "y -> t -> y"], "cycle"),
        (vec!["--graph", "y -> t", "--backend", "gpu"], "no GPU path"),
        (
            vec!["--graph", "y -> t", "--format", "dot"],
            "unknown format `dot`",
        ),
    ] {
        let mut all = vec!["fit", "--data", &d as &str];
        all.extend(args);
        let (ok, _, err) = run(&all);
        assert!(!ok && err.contains(needle), "{all:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sweep` uses common random numbers by default (two points of `do(X)` differ by exactly the
/// effect, −1 per unit of X, in the model `Y = 1 − X + 3Z + N`), as with a bare
/// `--common-random-numbers`; `--common-random-numbers false` draws per setting.
#[test]
fn cli_sweep_common_random_numbers_default_on() {
    let dir = std::env::temp_dir().join(format!("ceteris-scm-crn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.json");
    std::fs::write(&model, MODEL).unwrap();
    let m = model.to_str().unwrap();
    let diff = |extra: &[&str]| -> Result<f64, String> {
        let mut args = vec![
            "sweep",
            "--model",
            m,
            "--outcome",
            "Y",
            "--do",
            "X=0,1",
            "--samples",
            "2000",
            "--backend",
            "cpu",
        ];
        args.extend(extra);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args(&args)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).to_string());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mean = |i: usize| v["points"][i]["mean"].as_f64().unwrap();
        Ok(mean(1) - mean(0))
    };
    for extra in [
        &[][..],
        &["--common-random-numbers"],
        &["--common-random-numbers", "true"],
    ] {
        let d = diff(extra).unwrap();
        assert!((d + 1.0).abs() < 1e-9, "{extra:?}: {d}");
    }
    // independent draws: the difference of the means carries Monte-Carlo error (sd about 0.1)
    let d = diff(&["--common-random-numbers", "false"]).unwrap();
    assert!((d + 1.0).abs() > 1e-6 && (d + 1.0).abs() < 0.6, "{d}");
    let err = diff(&["--common-random-numbers", "maybe"]).unwrap_err();
    assert!(err.contains("common-random-numbers"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
