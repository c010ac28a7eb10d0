//! Counterfactuals by abduction, action and prediction: linear models against hand computation,
//! nonlinear additive and logistic nodes, many units against the closed form and the single-unit
//! path (bit for bit), and bad input named.

use super::*;

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
