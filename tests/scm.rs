//! Structural causal models: scm-json/v1 reading and validation, closed forms for linear models,
//! and Monte-Carlo sweeps checked against exact moments within 5 standard errors.

use ceteris::scm::{parse_graph, FitKind, Func, Intervention, Node, Noise, Scm, Sweep, Term};
use ceteris::{Engine, Error};

const MODEL: &str = r#"{
  "format": "scm-json/v1",
  "name": "confounded_linear_gaussian",
  "outcome": "Y",
  "treatment": "X",
  "nodes": [
    {"name": "Y", "parents": ["X", "Z"], "type": "linear", "intercept": 1.0,
     "coefficients": {"X": -1.0, "Z": 3.0}, "noise": {"dist": "normal", "scale": 1.0}},
    {"name": "Z", "parents": [], "type": "linear", "intercept": 0.0, "coefficients": {},
     "noise": {"dist": "normal", "scale": 1.0}},
    {"name": "X", "parents": ["Z"], "type": "linear", "intercept": 0.0, "coefficients": {"Z": 1.0},
     "noise": {"dist": "normal", "scale": 0.5}}
  ]
}"#;

/// T ~ Bernoulli(sigmoid(slope · Z)), Y = 1 + 2T + Z + N, with Z and N standard normal.
fn logistic_treatment(slope: f64) -> Scm {
    Scm::new(vec![
        Node::linear("Z", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::logistic("T", 0.0, &[("Z", slope)], vec![]),
        Node::linear(
            "Y",
            1.0,
            &[("T", 2.0), ("Z", 1.0)],
            Noise::Normal { scale: 1.0 },
        ),
    ])
    .unwrap()
}

fn within(got: f64, want: f64, se: f64, what: &str) {
    assert!(
        (got - want).abs() <= 5.0 * se,
        "{what}: {got} vs {want} (5 se = {})",
        5.0 * se
    );
}

#[test]
fn reads_any_order_and_round_trips() {
    let m = Scm::from_json(MODEL).unwrap();
    assert_eq!(m.names(), vec!["Z", "X", "Y"]);
    let again = Scm::from_json(&m.to_json()).unwrap();
    let set = [Intervention::atomic("X", 2.0)];
    assert_eq!(
        m.exact(&set, "Y").unwrap().mean,
        again.exact(&set, "Y").unwrap().mean
    );
}

#[test]
fn interventional_and_observational_slopes_have_opposite_signs() {
    let m = Scm::from_json(MODEL).unwrap();
    // E[Y | do(X = x)] = 1 − x: slope −1
    let d1 = m.exact(&[Intervention::atomic("X", 1.0)], "Y").unwrap();
    let d0 = m.exact(&[Intervention::atomic("X", 0.0)], "Y").unwrap();
    assert!((d1.mean - d0.mean + 1.0).abs() < 1e-12);
    // E[Y | X = x] has slope Cov(X, Y) / Var(X) = (−Var X + 3 Cov(Z, X)) / Var X = −1 + 3/1.25
    let obs_slope = -1.0 + 3.0 / 1.25;
    assert!(obs_slope > 0.0);
    // closed form variance under do(X = 1): 9 Var Z + 1 = 10; normal, so quantiles are exact
    assert!((d1.variance - 10.0).abs() < 1e-12);
    assert!(d1.gaussian);
    assert!((d1.quantile(0.5).unwrap() - d1.mean).abs() < 1e-12);
    // sampling agrees with the closed forms
    let res = Sweep::new(
        "Y",
        vec![
            vec![Intervention::atomic("X", 1.0)],
            vec![Intervention::shift("X", 1.0)],
            vec![],
        ],
    )
    .samples(40_000)
    .seed(3)
    .run(&Engine::cpu(), &m)
    .unwrap();
    for (p, set) in res.points.iter().zip([
        vec![Intervention::atomic("X", 1.0)],
        vec![Intervention::shift("X", 1.0)],
        vec![],
    ]) {
        let e = m.exact(&set, "Y").unwrap();
        within(p.mean, e.mean, p.std_error, "mean");
        let se_var = e.variance * (2.0f64 / (40_000.0 - 1.0)).sqrt();
        within(p.variance, e.variance, se_var, "variance");
    }
}

#[test]
fn nonlinear_chain_has_known_moments() {
    // X ~ N(0, 1); Y = X² + N(0, 0.5²): E[Y] = 1, Var[Y] = 2 + 0.25; under do(X = 2): 4, 0.25.
    // W = tanh(X) + N(0, 0.1²): E[W] = 0 by symmetry.
    let m = Scm::new(vec![
        Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "Y",
            0.0,
            &[],
            vec![Term::Unary {
                func: Func::Square,
                parent: "X".into(),
                weight: 1.0,
                inner_scale: 1.0,
                inner_shift: 0.0,
            }],
            Noise::Normal { scale: 0.5 },
        ),
        Node::additive(
            "W",
            0.0,
            &[],
            vec![Term::Unary {
                func: Func::Tanh,
                parent: "X".into(),
                weight: 1.0,
                inner_scale: 1.0,
                inner_shift: 0.0,
            }],
            Noise::Normal { scale: 0.1 },
        ),
    ])
    .unwrap();
    let n = 50_000.0;
    let r = Sweep::new("Y", vec![vec![], vec![Intervention::atomic("X", 2.0)]])
        .samples(50_000)
        .quantiles(&[0.5])
        .run(&Engine::cpu(), &m)
        .unwrap();
    within(r.points[0].mean, 1.0, r.points[0].std_error, "E[X²]");
    // Var of (X² + N) has sd of its sample variance ≈ sqrt((μ4 − σ⁴)/n) with μ4 of X² + N ≈ 60.4
    within(
        r.points[0].variance,
        2.25,
        ((60.4f64 - 2.25 * 2.25) / n).sqrt(),
        "Var",
    );
    within(r.points[1].mean, 4.0, r.points[1].std_error, "do(X=2)");
    within(
        r.points[1].quantiles["0.5"],
        4.0,
        1.2533 * 0.5 / n.sqrt(),
        "median under do",
    );
    let w = Sweep::new("W", vec![vec![]])
        .samples(50_000)
        .run(&Engine::cpu(), &m)
        .unwrap();
    within(w.points[0].mean, 0.0, w.points[0].std_error, "E[tanh X]");
}

#[test]
fn logistic_treatment_ace_is_exact_with_common_random_numbers() {
    // T ~ Bernoulli(sigmoid(0.5 Z)), Y = 1 + 2T + Z + N: ACE = 2; with common random numbers every
    // sample's contrast is exactly 2.
    let m = logistic_treatment(0.5);
    let r = Sweep::new(
        "Y",
        vec![
            vec![Intervention::atomic("T", 1.0)],
            vec![Intervention::atomic("T", 0.0)],
        ],
    )
    .samples(5_000)
    .common_random_numbers(true)
    .run(&Engine::cpu(), &m)
    .unwrap();
    assert!((r.points[0].mean - r.points[1].mean - 2.0).abs() < 1e-9);
    // and the observational mean of T is sigmoid-averaged ≈ 0.5 by symmetry
    let t = Sweep::new("T", vec![vec![]])
        .samples(40_000)
        .run(&Engine::cpu(), &m)
        .unwrap();
    within(t.points[0].mean, 0.5, t.points[0].std_error, "P(T = 1)");
}

#[test]
fn uniform_and_laplace_noise_moments() {
    let m = Scm::new(vec![
        Node::linear(
            "A",
            1.0,
            &[],
            Noise::Uniform {
                low: -1.0,
                high: 3.0,
            },
        ),
        Node::linear("B", 0.0, &[("A", 2.0)], Noise::Laplace { scale: 0.5 }),
    ])
    .unwrap();
    let e = m.exact(&[], "B").unwrap();
    assert!((e.mean - 4.0).abs() < 1e-12); // 2 · (1 + E[U(−1, 3)]) = 2 · 2
    assert!((e.variance - (4.0 * 16.0 / 12.0 + 0.5)).abs() < 1e-12);
    assert!(!e.gaussian && e.quantile(0.5).is_none());
    let r = Sweep::new("B", vec![vec![]])
        .samples(60_000)
        .run(&Engine::cpu(), &m)
        .unwrap();
    within(r.points[0].mean, e.mean, r.points[0].std_error, "mean");
}

#[test]
fn sweeps_are_reproducible() {
    let m = Scm::from_json(MODEL).unwrap();
    let s = Sweep::new("Y", vec![vec![Intervention::atomic("X", 0.5)]])
        .samples(1000)
        .seed(9);
    let a = s.run(&Engine::cpu(), &m).unwrap();
    let b = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| s.run(&Engine::cpu(), &m).unwrap());
    assert_eq!(a.points[0].mean, b.points[0].mean);
}

#[test]
fn bad_models_and_queries_are_named() {
    let bad = |text: &str, needle: &str| match Scm::from_json(text) {
        Err(e) => assert!(
            e.to_string().contains(needle),
            "{e} should mention {needle}"
        ),
        Ok(_) => panic!("accepted: {text}"),
    };
    let node = |name: &str, parents: &str, coef: &str| {
        format!(
            r#"{{"name": "{name}", "parents": [{parents}], "type": "linear", "coefficients": {{{coef}}}, "noise": {{"dist": "normal", "scale": 1}}}}"#
        )
    };
    let model = |nodes: Vec<String>| {
        format!(
            r#"{{"format": "scm-json/v1", "nodes": [{}]}}"#,
            nodes.join(",")
        )
    };
    bad(
        &model(vec![
            node("A", r#""B""#, r#""B": 1"#),
            node("B", r#""A""#, r#""A": 1"#),
        ]),
        "cycle",
    );
    bad(
        &model(vec![node("A", r#""Q""#, r#""Q": 1"#)]),
        "unknown parent `Q`",
    );
    bad(
        &model(vec![node("A", "", ""), node("B", "", r#""A": 1"#)]),
        "do not match",
    );
    bad(
        &model(vec![node("A", "", ""), node("A", "", "")]),
        "duplicate node name `A`",
    );
    bad(
        &model(vec![r#"{"name": "A", "parents": [], "type": "linear", "noise": {"dist": "normal", "scale": -1}}"#.into()]),
        "bad noise",
    );
    bad(
        &model(vec![node("A", "", ""), r#"{"name": "B", "parents": ["A"], "type": "additive", "terms": [{"fn": "bogus", "parents": ["A"]}], "noise": {"dist": "normal", "scale": 1}}"#.into()]),
        "unknown function `bogus`",
    );
    let m = Scm::new(vec![
        Node::linear("Z", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::logistic("T", 0.0, &[("Z", 1.0)], vec![]),
    ])
    .unwrap();
    let e = Engine::cpu();
    let run =
        |set: Vec<Intervention>, out: &str| Sweep::new(out, vec![set]).samples(10).run(&e, &m);
    assert!(
        matches!(run(vec![Intervention::atomic("T", 0.5)], "Z"), Err(Error::InvalidParameter { name, .. }) if name == "T")
    );
    assert!(
        matches!(run(vec![Intervention::shift("T", 1.0)], "Z"), Err(Error::InvalidParameter { name, .. }) if name == "T")
    );
    assert!(matches!(
        run(vec![Intervention::atomic("Q", 0.0)], "Z"),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(run(vec![], "nope")
        .unwrap_err()
        .to_string()
        .contains("unknown node `nope`"));
    assert!(Sweep::new("Z", vec![]).run(&e, &m).is_err());
    assert!(Sweep::new("Z", vec![vec![]])
        .samples(0)
        .run(&e, &m)
        .is_err());
    assert!(m
        .exact(&[], "T")
        .unwrap_err()
        .to_string()
        .contains("linear"));
}

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

fn model_err<T: std::fmt::Debug>(r: Result<T, Error>, name: &str, needle: &str) {
    match r {
        Err(Error::InvalidParameter {
            name: got, reason, ..
        }) => {
            assert_eq!(got, name, "{reason}");
            assert!(
                reason.contains(needle),
                "`{reason}` should mention `{needle}`"
            );
        }
        other => panic!("expected an error naming `{name}`, got {other:?}"),
    }
}

#[test]
fn counterfactuals_of_a_linear_model_match_hand_computation() {
    // Z = N_Z, X = Z + N_X, Y = 1 − X + 3Z + N_Y. Unit: Z = 0.3, X = 1.2, Y = 2, so
    // N_Z = 0.3, N_X = 0.9, N_Y = 2 − (1 − 1.2 + 0.9) = 1.3.
    let m = Scm::from_json(MODEL).unwrap();
    let unit = [("Z", 0.3), ("X", 1.2), ("Y", 2.0)];
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    let cf = m
        .counterfactual(&unit, &[Intervention::atomic("X", 0.0)])
        .unwrap();
    close(cf.noise["Y"], 1.3);
    close(cf.noise["X"], 0.9);
    close(cf.values["Z"], 0.3);
    close(cf.values["X"], 0.0);
    close(cf.values["Y"], 1.0 - 0.0 + 3.0 * 0.3 + 1.3);
    // no intervention reproduces the unit
    let same = m.counterfactual(&unit, &[]).unwrap();
    for (n, v) in unit {
        close(same.values[n], v);
    }
    // an upstream intervention propagates through the abducted noises: do(Z := 1), X shifted by 1
    let cf = m
        .counterfactual(
            &unit,
            &[
                Intervention::atomic("Z", 1.0),
                Intervention::shift("X", 1.0),
            ],
        )
        .unwrap();
    let x = 1.0 + 0.9 + 1.0;
    close(cf.values["X"], x);
    close(cf.values["Y"], 1.0 - x + 3.0 + 1.3);
    // linear model: the counterfactual contrast of do(X := 1) vs do(X := 0) is the coefficient
    let a = m
        .counterfactual(&unit, &[Intervention::atomic("X", 1.0)])
        .unwrap();
    let b = m
        .counterfactual(&unit, &[Intervention::atomic("X", 0.0)])
        .unwrap();
    close(a.values["Y"] - b.values["Y"], -1.0);
}

fn unary(func: Func, parent: &str, weight: f64, inner_scale: f64) -> Term {
    Term::Unary {
        func,
        parent: parent.into(),
        weight,
        inner_scale,
        inner_shift: 0.0,
    }
}

/// Y = 0.5 + X + 2 tanh(1.5 X) − 0.5 X² + U(−1, 1); W = X·Y + Laplace(0.2)
fn nonlinear_model() -> Scm {
    Scm::new(vec![
        Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "Y",
            0.5,
            &[("X", 1.0)],
            vec![
                unary(Func::Tanh, "X", 2.0, 1.5),
                unary(Func::Square, "X", -0.5, 1.0),
            ],
            Noise::Uniform {
                low: -1.0,
                high: 1.0,
            },
        ),
        Node::additive(
            "W",
            0.0,
            &[],
            vec![Term::Product {
                parents: vec!["X".into(), "Y".into()],
                weight: 1.0,
            }],
            Noise::Laplace { scale: 0.2 },
        ),
    ])
    .unwrap()
}

#[test]
fn counterfactuals_of_a_nonlinear_additive_model() {
    let m = nonlinear_model();
    let f = |x: f64| 0.5 + x + 2.0 * (1.5 * x).tanh() - 0.5 * x * x;
    let (x, ny, nw) = (0.4, 0.25, -0.7);
    let y = f(x) + ny;
    let w = x * y + nw;
    let cf = m
        .counterfactual(
            &[("X", x), ("Y", y), ("W", w)],
            &[Intervention::atomic("X", -1.0)],
        )
        .unwrap();
    let yc = f(-1.0) + ny;
    assert!((cf.values["Y"] - yc).abs() < 1e-12);
    assert!((cf.values["W"] - (-yc + nw)).abs() < 1e-12);
    // shifting Y keeps X and moves W by X·δ
    let cf = m
        .counterfactual(
            &[("X", x), ("Y", y), ("W", w)],
            &[Intervention::shift("Y", 2.0)],
        )
        .unwrap();
    assert!((cf.values["Y"] - (y + 2.0)).abs() < 1e-12);
    assert!((cf.values["W"] - (w + 2.0 * x)).abs() < 1e-12);
    // an observation outside the uniform noise's bounds is impossible
    model_err(
        m.counterfactual(&[("X", x), ("Y", f(x) + 1.5), ("W", w)], &[]),
        "Y",
        "outside its uniform bounds",
    );
}

#[test]
fn counterfactuals_with_a_logistic_node() {
    // T = 1{U < sigmoid(Z)}, Y = 1 + 2T + Z + N
    let m = logistic_treatment(1.0);
    let unit = [("Z", 0.5), ("T", 1.0), ("Y", 4.0)]; // N_Y = 4 − 3.5 = 0.5
                                                     // raising Z raises P(T = 1): an observed 1 stays 1
    let cf = m
        .counterfactual(&unit, &[Intervention::atomic("Z", 2.0)])
        .unwrap();
    assert_eq!(cf.values["T"], 1.0);
    assert!((cf.values["Y"] - (1.0 + 2.0 + 2.0 + 0.5)).abs() < 1e-12);
    assert!(!cf.noise.contains_key("T"));
    // do(T := 0) on the unit
    let cf = m
        .counterfactual(&unit, &[Intervention::atomic("T", 0.0)])
        .unwrap();
    assert!((cf.values["Y"] - (1.0 + 0.5 + 0.5)).abs() < 1e-12);
    // lowering Z makes T = 1 random given the unit: refused, with the flip probability
    // 1 − sigmoid(−1) / sigmoid(0.5)
    let sig = |e: f64| 1.0 / (1.0 + (-e).exp());
    let flip = 1.0 - sig(-1.0) / sig(0.5);
    match m.counterfactual(&unit, &[Intervention::atomic("Z", -1.0)]) {
        Err(Error::InvalidParameter { name, reason }) => {
            assert_eq!(name, "T");
            assert!(reason.contains("not determined"), "{reason}");
            assert!(reason.contains(&flip.to_string()), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    model_err(
        m.counterfactual(&[("Z", 0.5), ("T", 0.5), ("Y", 4.0)], &[]),
        "T",
        "0 or 1",
    );
}

#[test]
fn counterfactuals_of_many_units_match_the_closed_form_and_the_single_unit() {
    // MODEL: Z = N_Z, X = Z + N_X, Y = 1 − X + 3Z + N_Y. Under do(Z := 1) and X shifted by δ,
    // each unit moves by closed form: X' = X + (1 − Z) + δ, Y' = Y − (X' − X) + 3(1 − Z).
    let m = Scm::from_json(MODEL).unwrap();
    let n = 2000;
    let s = m.sample(&Engine::cpu(), &[], n, 5).unwrap().data;
    // an extra column (ignored) and the node columns out of order
    let units = ceteris::Dataset::new()
        .with_column("id", (0..n).map(|i| i as f64).collect())
        .unwrap()
        .with_column("Y", s.column("Y").unwrap().to_vec())
        .unwrap()
        .with_column("X", s.column("X").unwrap().to_vec())
        .unwrap()
        .with_column("Z", s.column("Z").unwrap().to_vec())
        .unwrap();
    let set = [
        Intervention::atomic("Z", 1.0),
        Intervention::shift("X", 0.5),
    ];
    let cf = m.counterfactuals(&units, &set).unwrap();
    assert_eq!(cf.values.names(), ["Z", "X", "Y"]);
    assert_eq!(cf.noise.names(), ["Z", "X", "Y"]);
    let col = |d: &ceteris::Dataset, c: &str| d.column(c).unwrap().to_vec();
    let (z, x, y) = (col(&s, "Z"), col(&s, "X"), col(&s, "Y"));
    let (xc, yc) = (col(&cf.values, "X"), col(&cf.values, "Y"));
    for i in 0..n {
        let x2 = x[i] + (1.0 - z[i]) + 0.5;
        let y2 = y[i] - (x2 - x[i]) + 3.0 * (1.0 - z[i]);
        assert!((xc[i] - x2).abs() < 1e-12 * (1.0 + x2.abs()), "row {i}");
        assert!((yc[i] - y2).abs() < 1e-12 * (1.0 + y2.abs()), "row {i}");
        assert_eq!(cf.values.column("Z").unwrap()[i], 1.0);
        // the same numbers, bit for bit, as one unit at a time
        let one = m
            .counterfactual(&[("Z", z[i]), ("X", x[i]), ("Y", y[i])], &set)
            .unwrap();
        for node in ["Z", "X", "Y"] {
            assert_eq!(one.values[node], cf.values.column(node).unwrap()[i]);
            assert_eq!(one.noise[node], cf.noise.column(node).unwrap()[i]);
        }
    }
    // and a logistic node has values but no noise column
    let m = logistic_treatment(1.0);
    let units = ceteris::Dataset::new()
        .with_column("Z", vec![0.5, -0.2])
        .unwrap()
        .with_column("T", vec![1.0, 0.0])
        .unwrap()
        .with_column("Y", vec![4.0, 0.1])
        .unwrap();
    let cf = m
        .counterfactuals(&units, &[Intervention::atomic("T", 1.0)])
        .unwrap();
    assert_eq!(cf.noise.names(), ["Z", "Y"]);
    // Y = 1 + 2T + Z + N: unit 1 gains 2 from T := 1, unit 0 keeps its Y
    let yc = cf.values.column("Y").unwrap();
    assert!(
        (yc[0] - 4.0).abs() < 1e-12 && (yc[1] - 2.1).abs() < 1e-12,
        "{yc:?}"
    );
}

#[test]
fn counterfactuals_of_many_units_equal_the_single_unit_bit_for_bit() {
    // nonlinear terms, products, uniform and Laplace noise, and a logistic node, over several
    // blocks of units (the batch evaluates node by node over a block; the single unit node by
    // node over one unit: the same operations in the same order)
    for (m, set) in [
        (
            nonlinear_model(),
            vec![
                Intervention::atomic("X", -1.0),
                Intervention::shift("W", 0.25),
            ],
        ),
        (nonlinear_model(), vec![Intervention::shift("Y", 2.0)]),
        (logistic_treatment(1.0), vec![Intervention::shift("Y", 1.0)]),
        (
            logistic_treatment(1.0),
            vec![Intervention::atomic("T", 1.0)],
        ),
    ] {
        let d = m.sample(&Engine::cpu(), &[], 700, 9).unwrap().data;
        let cf = m.counterfactuals(&d, &set).unwrap();
        let names = m.names();
        for i in 0..d.n_rows() {
            let unit: Vec<(&str, f64)> = names
                .iter()
                .map(|&n| (n, d.column(n).unwrap()[i]))
                .collect();
            let one = m.counterfactual(&unit, &set).unwrap();
            for n in &names {
                assert_eq!(
                    one.values[*n],
                    cf.values.column(n).unwrap()[i],
                    "{n} row {i}"
                );
                if let Some(z) = one.noise.get(*n) {
                    assert_eq!(*z, cf.noise.column(n).unwrap()[i], "{n} row {i}");
                }
            }
        }
    }
}

#[test]
fn counterfactuals_of_many_units_name_the_bad_column_or_row() {
    let m = logistic_treatment(1.0);
    let d = |z: Vec<f64>, t: Vec<f64>| {
        let n = z.len();
        ceteris::Dataset::new()
            .with_column("Z", z)
            .unwrap()
            .with_column("T", t)
            .unwrap()
            .with_column("Y", vec![1.0; n])
            .unwrap()
    };
    let none: [Intervention; 0] = [];
    // a missing node column
    let only_z = ceteris::Dataset::new().with_column("Z", vec![1.0]).unwrap();
    model_err(m.counterfactuals(&only_z, &none), "T", "columns `T`, `Y`");
    // a non-finite value names its column and row
    match m.counterfactuals(&d(vec![0.0, f64::NAN], vec![0.0, 1.0]), &none) {
        Err(Error::NonFinite { column, row }) => assert_eq!((column.as_str(), row), ("Z", 1)),
        other => panic!("{other:?}"),
    }
    // a unit the single-unit call rejects names its row (the first of several)
    model_err(
        m.counterfactuals(&d(vec![0.0; 4], vec![0.0, 1.0, 0.5, 2.0]), &none),
        "T",
        "unit at row 2: logistic node `T` must be observed as 0 or 1",
    );
    // lowering Z is undetermined for a unit with T = 1
    model_err(
        m.counterfactuals(
            &d(vec![0.5, 0.5], vec![0.0, 1.0]),
            &[Intervention::atomic("Z", -1.0)],
        ),
        "T",
        "unit at row 1: the counterfactual of logistic node `T` is not determined",
    );
    // no rows
    assert!(matches!(
        m.counterfactuals(&d(vec![], vec![]), &none),
        Err(Error::EmptyData(_))
    ));
}

#[test]
fn counterfactual_bad_input_is_named() {
    let m = Scm::from_json(MODEL).unwrap();
    let none: [Intervention; 0] = [];
    model_err(
        m.counterfactual(&[("Z", 0.3), ("X", 1.2)], &none),
        "Y",
        "lacks `Y`",
    );
    model_err(
        m.counterfactual(&[("Z", 0.3), ("X", 1.2), ("Y", 1.0), ("Q", 1.0)], &none),
        "observed",
        "unknown node `Q`",
    );
    model_err(
        m.counterfactual(&[("Z", 0.3), ("X", f64::NAN), ("Y", 1.0)], &none),
        "X",
        "not finite",
    );
    model_err(
        m.counterfactual(&[("Z", 0.3), ("X", 1.0), ("Y", 1.0), ("X", 2.0)], &none),
        "X",
        "twice",
    );
    model_err(
        m.counterfactual(
            &[("Z", 0.3), ("X", 1.0), ("Y", 1.0)],
            &[Intervention::atomic("Q", 1.0)],
        ),
        "node",
        "unknown node `Q`",
    );
    model_err(
        m.counterfactual(
            &[("Z", 0.3), ("X", 1.0), ("Y", 1.0)],
            &[Intervention::atomic("X", f64::INFINITY)],
        ),
        "X",
        "out of range",
    );
    // a counterfactual that overflows is an error, not an infinity
    let e = Scm::new(vec![
        Node::linear("A", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "B",
            0.0,
            &[],
            vec![unary(Func::Exp, "A", 1.0, 1.0)],
            Noise::Normal { scale: 1.0 },
        ),
    ])
    .unwrap();
    model_err(
        e.counterfactual(
            &[("A", 0.0), ("B", 1.0)],
            &[Intervention::atomic("A", 1000.0)],
        ),
        "B",
        "not finite",
    );
}

#[test]
fn samples_have_the_closed_form_moments_and_match_the_sweep() {
    let m = Scm::from_json(MODEL).unwrap();
    let n = 40_000usize;
    let d = m.sample(&Engine::cpu(), &[], n, 5).unwrap().data;
    assert_eq!(d.names(), ["Z", "X", "Y"]);
    assert_eq!(d.n_rows(), n);
    let (x, y) = (d.column("X").unwrap(), d.column("Y").unwrap());
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mx, my) = (mean(x), mean(y));
    let e = m.exact(&[], "Y").unwrap(); // mean 1, variance 5.25
    within(my, e.mean, (e.variance / n as f64).sqrt(), "E[Y]");
    within(mx, 0.0, (1.25 / n as f64).sqrt(), "E[X]");
    // observational slope Cov(X, Y) / Var(X) = 1.75 / 1.25 = 1.4, residual variance
    // 5.25 − 1.75² / 1.25 = 2.8; its standard error is sqrt(2.8 / (n Var X))
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    within(sxy / sxx, 1.4, (2.8 / (n as f64 * 1.25)).sqrt(), "slope");
    // interventional data: X is the constant, Y has the interventional law
    let set = [Intervention::atomic("X", 1.0)];
    let d = m.sample(&Engine::cpu(), &set, n, 5).unwrap().data;
    assert!(d.column("X").unwrap().iter().all(|&v| v == 1.0));
    let ey = m.exact(&set, "Y").unwrap();
    within(
        mean(d.column("Y").unwrap()),
        ey.mean,
        (ey.variance / n as f64).sqrt(),
        "E[Y | do(X = 1)]",
    );
    // sample i is the sweep's sample i: the same mean up to the order of summation (the sweep
    // merges chunks of 4096 samples)
    let r = Sweep::new("Y", vec![set.to_vec()])
        .samples(n as u64)
        .seed(5)
        .run(&Engine::cpu(), &m)
        .unwrap();
    assert!((r.points[0].mean - mean(d.column("Y").unwrap())).abs() < 1e-14);
    // and independent of the thread count
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| m.sample(&Engine::cpu(), &set, n, 5).unwrap().data);
    assert_eq!(one.column("Y").unwrap(), d.column("Y").unwrap());
    assert!(
        matches!(m.sample(&Engine::cpu(), &[], 0, 1), Err(Error::InvalidParameter { name, .. }) if name == "samples")
    );
    model_err(
        m.sample(&Engine::cpu(), &[Intervention::shift("Q", 1.0)], 10, 1),
        "node",
        "unknown node `Q`",
    );
}

#[test]
fn intervention_sets_from_json_run_in_file_order() {
    let m = Scm::from_json(MODEL).unwrap();
    let sets = Intervention::sets_from_json(
        r#"[[{"node": "X", "type": "atomic", "value": 1.0}],
            [{"node": "X", "type": "shift", "delta": 1.0}, {"node": "Z", "type": "atomic", "value": -1}],
            []]"#,
    )
    .unwrap();
    assert_eq!(
        sets,
        vec![
            vec![Intervention::atomic("X", 1.0)],
            vec![
                Intervention::shift("X", 1.0),
                Intervention::atomic("Z", -1.0)
            ],
            vec![],
        ]
    );
    let r = Sweep::new("Y", sets.clone())
        .samples(20_000)
        .run(&Engine::cpu(), &m)
        .unwrap();
    for (p, set) in r.points.iter().zip(&sets) {
        let e = m.exact(set, "Y").unwrap();
        within(p.mean, e.mean, p.std_error, "mean");
    }
    assert_eq!(r.points[1].shifts["X"], 1.0);
    assert_eq!(r.points[1].interventions["Z"], -1.0);
    for (text, needle) in [
        ("{}", "list of intervention sets"),
        ("[]", "no intervention sets"),
        ("[1]", "set 0 is not a list"),
        (
            r#"[[], [{"node": "X", "type": "atomic"}]]"#,
            "set 1, entry 0",
        ),
        (r#"[[{"node": "X", "type": "hard", "value": 1}]]"#, "`type`"),
        (r#"[[{"type": "atomic", "value": 1}]]"#, "`node`"),
        (
            r#"[[{"node": "X", "type": "shift", "value": 1}]]"#,
            "not `value`",
        ),
        (
            r#"[[{"node": "X", "type": "shift", "delta": 1, "extra": 2}]]"#,
            "unknown key `extra`",
        ),
        ("[[", "not valid JSON"),
    ] {
        model_err(Intervention::sets_from_json(text), "interventions", needle);
    }
    // node errors name the setting
    let bad =
        Intervention::sets_from_json(r#"[[], [{"node": "Q", "type": "atomic", "value": 1}]]"#)
            .unwrap();
    model_err(
        Sweep::new("Y", bad).samples(10).run(&Engine::cpu(), &m),
        "node",
        "setting 1: unknown node `Q`",
    );
}

#[test]
fn progress_reaches_the_total_and_does_not_change_results() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let m = Scm::from_json(MODEL).unwrap();
    let sweep = Sweep::new(
        "Y",
        (0..5)
            .map(|i| vec![Intervention::atomic("X", i as f64)])
            .collect(),
    )
    .samples(10_000)
    .quantiles(&[0.5]);
    let (last, calls) = (AtomicU64::new(0), AtomicU64::new(0));
    let tick = |done: u64, total: u64| {
        assert_eq!(total, 50_000);
        assert!(done <= total);
        last.fetch_max(done, Ordering::Relaxed);
        calls.fetch_add(1, Ordering::Relaxed);
    };
    let a = sweep
        .run_with_progress(&Engine::cpu(), &m, Some(&tick))
        .unwrap();
    assert_eq!(last.into_inner(), 50_000);
    assert!(calls.into_inner() >= 5);
    let b = sweep.run(&Engine::cpu(), &m).unwrap();
    for (p, q) in a.points.iter().zip(&b.points) {
        assert_eq!((p.mean, p.variance), (q.mean, q.variance));
        assert_eq!(p.quantiles, q.quantiles);
    }
}

#[test]
fn sweeps_report_overflow_instead_of_nan() {
    let m = Scm::new(vec![
        Node::linear("A", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "B",
            0.0,
            &[],
            vec![unary(Func::Exp, "A", 1.0, 1.0)],
            Noise::Normal { scale: 1.0 },
        ),
    ])
    .unwrap();
    let r = Sweep::new("B", vec![vec![], vec![Intervention::atomic("A", 1000.0)]])
        .samples(100)
        .run(&Engine::cpu(), &m);
    model_err(r, "B", "setting 1");
    model_err(
        m.effect(
            &Engine::cpu(),
            &[Intervention::atomic("A", 1000.0)],
            &[],
            "B",
            100,
            0,
        ),
        "B",
        "not finite",
    );
}

/// A fitted node's (intercept, coefficients by parent, noise scale).
fn fitted(m: &Scm, name: &str) -> (f64, std::collections::BTreeMap<String, f64>, f64) {
    let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    let node = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == name)
        .unwrap()
        .clone();
    let coef = node["coefficients"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, c)| (k.clone(), c.as_f64().unwrap()))
        .collect();
    (
        node["intercept"].as_f64().unwrap(),
        coef,
        node["noise"]["scale"].as_f64().unwrap(),
    )
}

#[test]
fn linear_fit_recovers_the_coefficients_within_their_standard_errors() {
    let truth = Scm::from_json(MODEL).unwrap();
    let n = 20_000usize;
    let data = truth.sample(&Engine::cpu(), &[], n, 11).unwrap().data;
    let graph = parse_graph("Z->X->Y,Z->Y").unwrap();
    let m = Scm::fit(&data, &graph, FitKind::Linear).unwrap();
    let rn = (n as f64).sqrt();
    // Z = N(0, 1): intercept = sample mean (se 1/√n), scale se σ/√(2n)
    let (b0, _, s) = fitted(&m, "Z");
    within(b0, 0.0, 1.0 / rn, "Z intercept");
    within(s, 1.0, 1.0 / (2.0 * n as f64).sqrt(), "Z scale");
    // X = Z + N(0, 0.5²): se(b) = σ / (√n sd(Z)) = 0.5/√n
    let (b0, c, s) = fitted(&m, "X");
    within(b0, 0.0, 0.5 / rn, "X intercept");
    within(c["Z"], 1.0, 0.5 / rn, "X <- Z");
    within(s, 0.5, 0.5 / (2.0 * n as f64).sqrt(), "X scale");
    // Y = 1 − X + 3Z + N(0, 1): Cov(X, Z) = [[1.25, 1], [1, 1]], inverse [[4, −4], [−4, 5]],
    // so se(b_X) = √(4/n) and se(b_Z) = √(5/n); with zero-mean regressors se(b0) = 1/√n
    let (b0, c, s) = fitted(&m, "Y");
    within(b0, 1.0, 1.0 / rn, "Y intercept");
    within(c["X"], -1.0, 2.0 / rn, "Y <- X");
    within(c["Z"], 3.0, 5f64.sqrt() / rn, "Y <- Z");
    within(s, 1.0, 1.0 / (2.0 * n as f64).sqrt(), "Y scale");
    // the fitted model is a model: it round-trips and answers interventional queries
    let again = Scm::from_json(&m.to_json()).unwrap();
    assert_eq!(again.names(), m.names());
}

#[test]
fn additive_fit_spans_a_quadratic_and_estimates_its_noise() {
    // Y = 1 + 0.5 X² + N(0, 0.3²): the basis (X, tanh z, z²) with z the standardised X spans
    // 0.5 X², so the residual scale estimates 0.3 with standard error 0.3/√(2n)
    let truth = Scm::new(vec![
        Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "Y",
            1.0,
            &[],
            vec![unary(Func::Square, "X", 0.5, 1.0)],
            Noise::Normal { scale: 0.3 },
        ),
        Node::linear(
            "B",
            0.0,
            &[],
            Noise::Uniform {
                low: 0.0,
                high: 1.0,
            },
        ),
    ])
    .unwrap();
    let n = 20_000usize;
    let mut data = truth.sample(&Engine::cpu(), &[], n, 4).unwrap().data;
    // a binary parent gets only its linear term (its square and tanh would be collinear)
    let b: Vec<f64> = data
        .column("B")
        .unwrap()
        .iter()
        .map(|&u| (u < 0.5) as u8 as f64)
        .collect();
    let y2: Vec<f64> = data
        .column("Y")
        .unwrap()
        .iter()
        .zip(&b)
        .map(|(y, b)| y + 2.0 * b)
        .collect();
    data.push_column("T", b).unwrap();
    data.push_column("Y2", y2).unwrap();
    let m = Scm::fit(
        &data,
        &parse_graph("X->Y,X->Y2,T->Y2").unwrap(),
        FitKind::Additive,
    )
    .unwrap();
    let (_, c, s) = fitted(&m, "Y");
    within(s, 0.3, 0.3 / (2.0 * n as f64).sqrt(), "Y scale");
    assert!(c.contains_key("X"));
    let (_, c, s) = fitted(&m, "Y2");
    within(s, 0.3, 0.3 / (2.0 * n as f64).sqrt(), "Y2 scale");
    // T's effect is linear and in the span: se ≤ σ / √(n Var T) · √(VIF); T ⫫ X, so VIF ≈ 1
    within(c["T"], 2.0, 0.3 / (n as f64 * 0.25).sqrt(), "Y2 <- T");
    let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    let y2 = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Y2")
        .unwrap();
    assert_eq!(y2["type"], "additive");
    let terms: Vec<(String, String)> = y2["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["fn"].as_str().unwrap().into(),
                t["parents"][0].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        terms,
        [("tanh".into(), "X".into()), ("square".into(), "X".into())]
    );
    Scm::from_json(&m.to_json()).unwrap();
}

#[test]
fn fit_bad_input_is_named() {
    let truth = Scm::from_json(MODEL).unwrap();
    let data = truth.sample(&Engine::cpu(), &[], 200, 1).unwrap().data;
    let fit = |g: &str| Scm::fit(&data, &parse_graph(g).unwrap(), FitKind::Linear);
    match fit("Z->X,Q->Y") {
        Err(Error::UnknownColumn { name, .. }) => assert_eq!(name, "Q"),
        other => panic!("{other:?}"),
    }
    let e = fit("X->Y,Y->Z,Z->X").unwrap_err().to_string();
    assert!(
        e.contains("cycle") && e.contains('X') && e.contains('Y'),
        "{e}"
    );
    let mut d2 = data.clone();
    d2.push_column("C", vec![2.0; 200]).unwrap();
    assert!(matches!(
        Scm::fit(&d2, &parse_graph("C->Y").unwrap(), FitKind::Linear),
        Err(Error::ConstantColumn(c)) if c == "C"
    ));
    // a regressor that is a multiple of another
    let twice: Vec<f64> = data.column("X").unwrap().iter().map(|x| 2.0 * x).collect();
    d2.push_column("X2", twice).unwrap();
    model_err(
        Scm::fit(&d2, &parse_graph("X->Y,X2->Y").unwrap(), FitKind::Linear),
        "Y",
        "collinear",
    );
    // a node that is an exact function of its parent has no noise
    model_err(
        Scm::fit(&d2, &parse_graph("X->X2").unwrap(), FitKind::Linear),
        "X2",
        "exact function",
    );
    let mut d3 = ceteris::Dataset::new();
    for name in data.names() {
        let mut col = data.column(name).unwrap().to_vec();
        if name == "Z" {
            col[7] = f64::NAN;
        }
        d3.push_column(name, col).unwrap();
    }
    assert!(matches!(
        Scm::fit(&d3, &parse_graph("Z->X").unwrap(), FitKind::Linear),
        Err(Error::NonFinite { column, row: 7 }) if column == "Z"
    ));
    let small = truth.sample(&Engine::cpu(), &[], 3, 1).unwrap().data;
    assert!(matches!(
        Scm::fit(
            &small,
            &parse_graph("Z->X->Y,Z->Y").unwrap(),
            FitKind::Linear
        ),
        Err(Error::TooFewRows { .. })
    ));
    model_err(parse_graph("X->->Y"), "graph", "X->->Y");
    model_err("quadratic".parse::<FitKind>(), "kind", "quadratic");
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
    assert!(!ok && err.contains("lack the column `Y`"), "{err}");
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
    assert_eq!(lines[0], "X,Z,shift_Y,mean,variance,std_error");
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

#[test]
fn additive_fit_equals_normal_equations_on_the_documented_basis() {
    // independent reference: the basis of FitKind::Additive built here, the normal equations
    // solved by Gaussian elimination
    let truth = Scm::new(vec![
        Node::linear("X", 0.5, &[], Noise::Laplace { scale: 1.0 }),
        Node::additive(
            "Y",
            1.0,
            &[("X", 0.3)],
            vec![unary(Func::Sin, "X", 1.0, 2.0)],
            Noise::Normal { scale: 0.2 },
        ),
    ])
    .unwrap();
    let n = 3000usize;
    let data = truth.sample(&Engine::cpu(), &[], n, 8).unwrap().data;
    let (x, y) = (data.column("X").unwrap(), data.column("Y").unwrap());
    let mu = x.iter().sum::<f64>() / n as f64;
    let sd = (x.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
    let phi = |v: f64| {
        let z = (v - mu) / sd;
        [1.0, v, z.tanh(), z * z]
    };
    let mut a = [[0.0f64; 5]; 4];
    for (&xi, &yi) in x.iter().zip(y) {
        let f = phi(xi);
        for r in 0..4 {
            for c in 0..4 {
                a[r][c] += f[r] * f[c];
            }
            a[r][4] += f[r] * yi;
        }
    }
    for k in 0..4 {
        let piv = (k..4)
            .max_by(|&i, &j| a[i][k].abs().total_cmp(&a[j][k].abs()))
            .unwrap();
        a.swap(k, piv);
        for i in 0..4 {
            if i != k {
                let (f, pivot) = (a[i][k] / a[k][k], a[k]);
                for (cell, p) in a[i].iter_mut().zip(pivot).skip(k) {
                    *cell -= f * p;
                }
            }
        }
    }
    let beta: Vec<f64> = (0..4).map(|k| a[k][4] / a[k][k]).collect();
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(&xi, &yi)| {
            let f = phi(xi);
            (yi - (0..4).map(|k| beta[k] * f[k]).sum::<f64>()).powi(2)
        })
        .sum();
    let m = Scm::fit(&data, &parse_graph("X->Y").unwrap(), FitKind::Additive).unwrap();
    let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    let node = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "Y")
        .unwrap();
    let close = |got: &serde_json::Value, want: f64, what: &str| {
        let got = got.as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-8 * (1.0 + want.abs()),
            "{what}: {got} vs {want}"
        );
    };
    close(&node["intercept"], beta[0], "intercept");
    close(&node["coefficients"]["X"], beta[1], "linear");
    let terms = node["terms"].as_array().unwrap();
    assert_eq!(
        (terms[0]["fn"].as_str(), terms[1]["fn"].as_str()),
        (Some("tanh"), Some("square"))
    );
    close(&terms[0]["weight"], beta[2], "tanh weight");
    close(&terms[1]["weight"], beta[3], "square weight");
    for t in terms {
        close(&t["inner_scale"], 1.0 / sd, "inner_scale");
        close(&t["inner_shift"], -mu / sd, "inner_shift");
    }
    close(
        &node["noise"]["scale"],
        (rss / (n as f64 - 4.0)).sqrt(),
        "noise scale",
    );
}

/// Every sample of `Scm::sample` and the sweep against a scalar evaluation of the documented
/// noise contract written here with the standard library's `ln`, `sin_cos` and `exp`: the
/// vectorised sampler's polynomials are accurate to a few ulp, so values agree to 1e-12 of
/// their size (after a few nonlinear stages the differences stay below 1e-14 here).
#[test]
fn samples_follow_the_documented_noise_contract() {
    use ceteris::rng::{open_unit, Stream, STREAM_MONTE_CARLO};
    let product = Term::Product {
        parents: vec!["A".into(), "E".into()],
        weight: 0.9,
    };
    let m = Scm::new(vec![
        Node::linear("A", 0.2, &[], Noise::Normal { scale: 1.0 }),
        Node::linear("B", 0.0, &[("A", 0.7)], Noise::Normal { scale: 0.5 }),
        Node::linear(
            "C",
            0.0,
            &[("B", 0.3)],
            Noise::Uniform {
                low: -1.0,
                high: 2.0,
            },
        ),
        Node::additive(
            "D",
            0.0,
            &[("C", 0.2)],
            vec![Term::Unary {
                func: Func::Tanh,
                parent: "B".into(),
                weight: 1.5,
                inner_scale: 0.5,
                inner_shift: 0.1,
            }],
            Noise::Normal { scale: 2.0 },
        ),
        Node::logistic("E", -0.2, &[("D", 0.4)], vec![]),
        Node::additive(
            "F",
            0.0,
            &[("B", 1.1)],
            vec![product],
            Noise::Laplace { scale: 0.8 },
        ),
        Node::linear("G", 0.0, &[("F", 0.5)], Noise::Normal { scale: 1.0 }),
        Node::linear("H", 0.0, &[("G", 0.3)], Noise::Normal { scale: 1.5 }),
        Node::linear("I", 0.0, &[("H", -0.2)], Noise::Normal { scale: 0.1 }),
    ])
    .unwrap();
    let (n, seed) = (700, 9); // crosses the sampler's 256-sample blocks, not a multiple of 16
    let set = [Intervention::shift("C", 0.25)];
    let d = m.sample(&Engine::cpu(), &set, n, seed).unwrap().data;
    assert_eq!(d.names(), ["A", "B", "C", "D", "E", "F", "G", "H", "I"]);
    let s = Stream::new(seed, STREAM_MONTE_CARLO);
    let bm = |w0: u32, w1: u32| {
        let r = (-2.0 * open_unit(w0).ln()).sqrt();
        let (sn, cs) = (2.0 * std::f64::consts::PI * open_unit(w1)).sin_cos();
        (r * cs, r * sn)
    };
    for i in 0..n {
        // pairs (A, B), (C, D), (E, F), (G, H), (I); m = 9: ⌈9/4⌉ = 3 blocks for the shared
        // pairs 0 and 3 (words 0, 1 of block 0 and words 2, 3 of block 1), then block 3 + p for
        // the other pairs p
        let w: Vec<[u32; 4]> = (0..8).map(|b| s.block(i as u32, b)).collect();
        let (za, zb) = bm(w[0][0], w[0][1]); // a normal pair shares one transform
        let a = 0.2 + za;
        let b = 0.7 * a + 0.5 * zb;
        let c = 0.3 * b + (-1.0 + 3.0 * open_unit(w[4][0])) + 0.25;
        let dd = 0.2 * c + 1.5 * (0.5 * b + 0.1).tanh() + 2.0 * bm(w[4][2], w[4][3]).0;
        let e = (open_unit(w[5][0]) < 1.0 / (1.0 + (0.2 - 0.4 * dd).exp())) as u8 as f64;
        let u = open_unit(w[5][2]) - 0.5;
        let f = 1.1 * b + 0.9 * a * e - 0.8 * u.signum() * (1.0 - 2.0 * u.abs()).ln();
        let (zg, zh) = bm(w[1][2], w[1][3]);
        let g = 0.5 * f + zg;
        let h = 0.3 * g + 1.5 * zh;
        let ii = -0.2 * h + 0.1 * bm(w[7][0], w[7][1]).0;
        let want = [a, b, c, dd, e, f, g, h, ii];
        for (name, want) in ["A", "B", "C", "D", "E", "F", "G", "H", "I"]
            .into_iter()
            .zip(want)
        {
            let got = d.column(name).unwrap()[i];
            assert!(
                (got - want).abs() <= 1e-12 * (1.0 + want.abs()),
                "sample {i} node {name}: {got} vs {want}"
            );
        }
    }
    // the sweep sees the same samples: its extreme quantiles are the extreme samples
    let r = Sweep::new("G", vec![set.to_vec()])
        .samples(n as u64)
        .seed(seed)
        .quantiles(&[0.0, 1.0])
        .run(&Engine::cpu(), &m)
        .unwrap();
    let col = d.column("G").unwrap();
    let lo = col.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = col.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(r.points[0].quantiles["0"], lo);
    assert_eq!(r.points[0].quantiles["1"], hi);
}

/// Y = X·Z + N with Z ~ N(1, 1): under common noise the per-sample contrast of do(X = 1) against
/// do(X = 0) is Z itself, so the effect is the mean of the Z that `Scm::sample` draws with the
/// same seed (its setting-0 noise), and its standard error is Z's.
#[test]
fn effect_is_the_mean_of_the_paired_differences() {
    let m = Scm::new(vec![
        Node::linear("Z", 1.0, &[], Noise::Normal { scale: 1.0 }),
        Node::linear("X", 0.0, &[("Z", 0.5)], Noise::Normal { scale: 1.0 }),
        Node::additive(
            "Y",
            0.0,
            &[],
            vec![Term::Product {
                parents: vec!["X".into(), "Z".into()],
                weight: 1.0,
            }],
            Noise::Normal { scale: 2.0 },
        ),
    ])
    .unwrap();
    let n = 9_000; // more than one chunk of 4096
    let e = m
        .effect(
            &Engine::cpu(),
            &[Intervention::atomic("X", 1.0)],
            &[Intervention::atomic("X", 0.0)],
            "Y",
            n as u64,
            21,
        )
        .unwrap();
    assert!(e.backend.starts_with("cpu"), "{}", e.backend);
    let z = m
        .sample(&Engine::cpu(), &[], n, 21)
        .unwrap()
        .data
        .column("Z")
        .unwrap()
        .to_vec();
    let mz = z.iter().sum::<f64>() / n as f64;
    let sz = (z.iter().map(|v| (v - mz).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt();
    assert!((e.ace - mz).abs() < 1e-12, "{} vs {mz}", e.ace);
    assert!((e.std_error - sz / (n as f64).sqrt()).abs() < 1e-12);
    within(e.ace, 1.0, e.std_error, "ACE");
}

/// `Sweep::nodes`: every further node's summaries match the closed form within 5 standard
/// errors, come from the same samples as the outcome (bit for bit what a sweep of that node
/// alone gives), and leave the outcome's summaries unchanged; bad requests are named.
#[test]
fn further_nodes_are_summarised_from_the_same_samples() {
    let m = Scm::from_json(MODEL).unwrap();
    let sets = vec![
        vec![Intervention::atomic("X", 1.0)],
        vec![Intervention::shift("X", 1.0)],
        vec![],
    ];
    let sweep = |outcome: &str, nodes: &[&str]| {
        Sweep::new(outcome, sets.clone())
            .nodes(nodes)
            .samples(20_000)
            .quantiles(&[0.5])
            .seed(5)
            .run(&Engine::cpu(), &m)
            .unwrap()
    };
    let both = sweep("Y", &["X", "Z"]);
    let alone = sweep("Y", &[]);
    let xs = sweep("X", &[]);
    for (s, set) in sets.iter().enumerate() {
        let p = &both.points[s];
        assert_eq!(p.mean.to_bits(), alone.points[s].mean.to_bits());
        assert_eq!(p.variance.to_bits(), alone.points[s].variance.to_bits());
        assert!(alone.points[s].nodes.is_empty());
        let x = &p.nodes["X"];
        assert_eq!(x.mean.to_bits(), xs.points[s].mean.to_bits(), "setting {s}");
        assert_eq!(x.quantiles["0.5"], xs.points[s].quantiles["0.5"]);
        for name in ["X", "Z"] {
            let e = m.exact(set, name).unwrap();
            let q = &p.nodes[name];
            within(q.mean, e.mean, q.std_error.max(1e-12), name);
            if e.variance > 0.0 {
                let se_var = e.variance * (2.0f64 / (20_000.0 - 1.0)).sqrt();
                within(q.variance, e.variance, se_var, name);
            } else {
                assert_eq!(q.variance, 0.0, "{name} is set");
            }
        }
    }
    // JSON: `nodes` only when asked for
    let j = serde_json::to_value(&both).unwrap();
    assert!(j["points"][0]["nodes"]["Z"]["mean"].is_number());
    let j = serde_json::to_value(&alone).unwrap();
    assert!(j["points"][0].get("nodes").is_none());
    // bad requests
    let bad = |nodes: &[&str]| {
        Sweep::new("Y", sets.clone())
            .nodes(nodes)
            .run(&Engine::cpu(), &m)
            .unwrap_err()
            .to_string()
    };
    assert!(bad(&["W"]).contains("W"), "{}", bad(&["W"]));
    assert!(bad(&["Y"]).contains("twice"), "{}", bad(&["Y"]));
    assert!(bad(&["Z", "Z"]).contains("twice"));

    // the CLI: --nodes in JSON (sampled and exact) and CSV
    let dir = std::env::temp_dir().join(format!("ceteris-scm-nodes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("m.json");
    std::fs::write(&model, MODEL).unwrap();
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ceteris"))
            .args([
                "sweep",
                "--model",
                model.to_str().unwrap(),
                "--outcome",
                "Y",
            ])
            .args(["--do", "X=0,1", "--nodes", "Z,X", "--samples", "5000"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let j: serde_json::Value = serde_json::from_str(&run(&["--backend", "cpu"])).unwrap();
    let z = &j["points"][1]["nodes"]["Z"];
    assert!(z["mean"].as_f64().unwrap().abs() < 5.0 * z["std_error"].as_f64().unwrap());
    assert_eq!(j["points"][1]["nodes"]["X"]["mean"], 1.0);
    let j: serde_json::Value = serde_json::from_str(&run(&["--exact"])).unwrap();
    assert_eq!(j["points"][1]["nodes"]["Z"]["variance"], 1.0);
    let csv = run(&["--backend", "cpu", "--format", "csv", "--quantiles", "0.5"]);
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "X,mean,variance,std_error,q0.5,Z_mean,Z_variance,Z_std_error,Z_q0.5,X_mean,X_variance,X_std_error,X_q0.5"
    );
    assert_eq!(csv.lines().count(), 3);
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
    assert!(j["std_error"].as_f64().unwrap() < 1e-12);
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
