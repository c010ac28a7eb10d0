//! Structural causal models: scm-json/v1 reading and validation, closed forms for linear models,
//! and Monte-Carlo sweeps checked against exact moments within 5 standard errors.
//!
//! This file holds the shared model, constructors and assertions; the tests are in the submodules:
//! `model` (reading, validation, closed forms, exact moments), `sweep` (sweeps, joint samples,
//! effects, further nodes), `counterfactual` (one unit and many), `effect_ci` (bootstrap intervals
//! of a fitted model's effect), `fit` (fitting a graph's equations to data, logistic nodes against
//! statsmodels), `graph` (node names, the graph forms, CPDAGs and their DAGs) and `cli` (the
//! binary's `sweep`, `effect`, `counterfactual` and `fit`
//! commands).

mod cli;
mod counterfactual;
mod effect_ci;
mod fit;
mod graph;
mod model;
mod sweep;

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

fn unary(func: Func, parent: &str, weight: f64, inner_scale: f64) -> Term {
    Term::Unary {
        func,
        parent: parent.into(),
        weight,
        inner_scale,
        inner_shift: 0.0,
    }
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
