//! scm-json/v1 models: reading in any node order and round-tripping, interventional against
//! observational slopes, Monte-Carlo moments of a nonlinear chain and of uniform and Laplace noise
//! within 5 standard errors, a logistic treatment's effect under common random numbers, and bad
//! models and queries named.

use super::*;

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
        within(p.mean, e.mean, p.mc_error, "mean");
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
    within(r.points[0].mean, 1.0, r.points[0].mc_error, "E[X²]");
    // Var of (X² + N) has sd of its sample variance ≈ sqrt((μ4 − σ⁴)/n). With A = X² − 1 (central
    // moments of χ²₁: μ2 = 2, μ4 = 60) and B = N ~ N(0, 0.5²) (μ2 = 0.25, μ4 = 3 · 0.25²),
    // μ4 of A + B = 60 + 6 · 2 · 0.25 + 0.1875 = 63.1875.
    within(
        r.points[0].variance,
        2.25,
        ((63.1875f64 - 2.25 * 2.25) / n).sqrt(),
        "Var",
    );
    within(r.points[1].mean, 4.0, r.points[1].mc_error, "do(X=2)");
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
    within(w.points[0].mean, 0.0, w.points[0].mc_error, "E[tanh X]");
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
    within(t.points[0].mean, 0.5, t.points[0].mc_error, "P(T = 1)");
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
    within(r.points[0].mean, e.mean, r.points[0].mc_error, "mean");
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
    // no settings, and zero samples: parameter errors naming what is wrong
    let err = Sweep::new("Z", vec![]).run(&e, &m).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    let err = Sweep::new("Z", vec![vec![]])
        .samples(0)
        .run(&e, &m)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    assert!(err.to_string().contains("samples"), "{err}");
    assert!(m
        .exact(&[], "T")
        .unwrap_err()
        .to_string()
        .contains("linear"));
}
