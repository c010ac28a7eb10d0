//! Fitting a graph's structural equations to data: linear coefficients within their standard
//! errors, additive bases (a quadratic and its noise), the normal equations on the documented
//! basis, and bad input named.

use super::*;

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

/// The statsmodels reference of `tests/reference/make_logit_reference.py`.
fn logit_reference() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/logit_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A 0/1 column gets a logistic node whose coefficients are statsmodels' `Logit` MLE, with the
/// linear predictor (FitKind::Linear) and with the additive basis (FitKind::Additive).
#[test]
fn logistic_fit_matches_statsmodels_logit() {
    let r = logit_reference();
    let data = ceteris::Dataset::new()
        .with_column("z", numbers(&r["z"]))
        .unwrap()
        .with_column("w", numbers(&r["w"]))
        .unwrap()
        .with_column("t", numbers(&r["t"]))
        .unwrap();
    let graph = parse_graph("z -> t, w -> t").unwrap();
    let close = |got: f64, want: f64, what: &str| {
        assert!(
            (got - want).abs() <= 1e-7 * (1.0 + want.abs()),
            "{what}: {got} vs statsmodels {want}"
        );
    };
    let m = Scm::fit(&data, &graph, FitKind::Linear).unwrap();
    let t = m.nodes().iter().find(|n| n.name == "t").unwrap();
    assert_eq!(t.kind, ceteris::scm::NodeType::Logistic);
    assert!(t.noise.is_none() && t.terms.is_empty());
    let want = numbers(&r["linear"]["params"]);
    close(t.intercept, want[0], "intercept");
    let coef: std::collections::BTreeMap<_, _> = t.coefficients.iter().cloned().collect();
    close(coef["z"], want[1], "z");
    close(coef["w"], want[2], "w");
    // the additive basis: coefficients by name, terms by (function, parent)
    let m = Scm::fit(&data, &graph, FitKind::Additive).unwrap();
    let t = m.nodes().iter().find(|n| n.name == "t").unwrap();
    assert_eq!(t.kind, ceteris::scm::NodeType::Logistic);
    let want = numbers(&r["additive"]["params"]);
    close(t.intercept, want[0], "intercept");
    let coef: std::collections::BTreeMap<_, _> = t.coefficients.iter().cloned().collect();
    close(coef["z"], want[1], "z");
    close(coef["w"], want[2], "w");
    let v: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
    let node = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "t")
        .unwrap();
    assert_eq!(node["type"], "logistic");
    assert!(node["noise"].is_null());
    let terms = node["terms"].as_array().unwrap();
    assert_eq!(terms.len(), 4);
    for (k, (func, parent)) in [
        ("tanh", "z"),
        ("square", "z"),
        ("tanh", "w"),
        ("square", "w"),
    ]
    .into_iter()
    .enumerate()
    {
        let term = terms
            .iter()
            .find(|t| t["fn"] == func && t["parents"][0] == parent)
            .unwrap();
        close(
            term["weight"].as_f64().unwrap(),
            want[3 + k],
            &format!("{func}({parent})"),
        );
    }
}

/// A model fitted with a binary treatment draws 0/1 treatments and answers do(T := 0/1).
#[test]
fn fitted_binary_treatment_samples_zero_one_and_gives_the_effect() {
    let truth = logistic_treatment(1.5);
    let n = 20_000;
    let data = truth.sample(&Engine::cpu(), &[], n, 5).unwrap().data;
    let m = Scm::fit(
        &data,
        &parse_graph("Z->T->Y, Z->Y").unwrap(),
        FitKind::Linear,
    )
    .unwrap();
    let t = &m.nodes()[m.names().iter().position(|&x| x == "T").unwrap()];
    assert_eq!(t.kind, ceteris::scm::NodeType::Logistic);
    // logit slope 1.5: its standard error 1/√(n E[p(1−p) Z²]) is about 0.025 at this n
    within(t.coefficients[0].1, 1.5, 0.025, "T <- Z (logit)");
    within(t.intercept, 0.0, 0.02, "T intercept (logit)");
    // the fitted model's samples are 0/1 in T, with the data's frequency (the MLE's score
    // equation makes the mean fitted probability equal the data's)
    let s = m.sample(&Engine::cpu(), &[], n, 9).unwrap().data;
    let ts = s.column("T").unwrap();
    assert!(ts.iter().all(|&v| v == 0.0 || v == 1.0), "non-binary draw");
    let mean = |c: &[f64]| c.iter().sum::<f64>() / c.len() as f64;
    let (p_fit, p_data) = (mean(ts), mean(data.column("T").unwrap()));
    within(p_fit, p_data, (0.25 * 2.0 / n as f64).sqrt(), "P(T = 1)");
    // atomic interventions take 0/1 only; the effect of T on Y is its fitted coefficient
    let e = m
        .effect(
            &Engine::cpu(),
            &[Intervention::atomic("T", 1.0)],
            &[Intervention::atomic("T", 0.0)],
            "Y",
            2000,
            3,
        )
        .unwrap();
    let (_, c, _) = fitted(&m, "Y");
    assert!((e.ace - c["T"]).abs() < 1e-9, "{} vs {}", e.ace, c["T"]);
    // the OLS standard error of b_T is about σ/√(n var(T | Z)) ≈ 1/√(20 000 · 0.17) ≈ 0.017
    within(c["T"], 2.0, 0.02, "Y <- T");
    // a binary node set to 0.5: a parameter error naming the node
    let err = m
        .effect(
            &Engine::cpu(),
            &[Intervention::atomic("T", 0.5)],
            &[],
            "Y",
            100,
            1,
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err:?}");
    assert!(err.to_string().contains("`T`"), "{err}");
    // sweeping the treatment: its quantiles are 0/1
    let res = Sweep::new("T", vec![vec![], vec![Intervention::atomic("Z", 2.0)]])
        .samples(5000)
        .quantiles(&[0.1, 0.9])
        .run(&Engine::cpu(), &m)
        .unwrap();
    for p in &res.points {
        for q in p.quantiles.values() {
            assert!(*q == 0.0 || *q == 1.0, "{q}");
        }
    }
}

#[test]
fn logistic_fit_bad_input_is_named() {
    let z: Vec<f64> = (0..200).map(|i| (i as f64 - 99.5) / 50.0).collect();
    let sep: Vec<f64> = z.iter().map(|&v| if v > 0.0 { 1.0 } else { 0.0 }).collect();
    let coded: Vec<f64> = sep.iter().map(|&v| 2.0 + 3.0 * v).collect();
    let data = ceteris::Dataset::new()
        .with_column("z", z)
        .unwrap()
        .with_column("s", sep)
        .unwrap()
        .with_column("c", coded)
        .unwrap();
    model_err(
        Scm::fit(&data, &parse_graph("z -> s").unwrap(), FitKind::Linear),
        "s",
        "separated",
    );
    model_err(
        Scm::fit(&data, &parse_graph("z -> c").unwrap(), FitKind::Linear),
        "c",
        "recode",
    );
    // a binary root is Bernoulli(mean): its intercept is logit(mean) = 0 here
    let m = Scm::fit(&data, &parse_graph("s").unwrap(), FitKind::Linear).unwrap();
    assert_eq!(m.nodes()[0].kind, ceteris::scm::NodeType::Logistic);
    assert!(m.nodes()[0].intercept.abs() < 1e-12);
}
