//! The `scm-json/v1` reader and writer ([`Scm::from_json`], [`Scm::to_json`]) and the JSON form
//! of intervention sets ([`Intervention::sets_from_json`]).

use super::{perr, Intervention, Node, NodeType, Noise, Scm, Term, FUNCS};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

/// The string entries of a JSON array (empty when it is not one).
fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

impl Scm {
    /// Reads `scm-json/v1`.
    pub fn from_json(text: &str) -> Result<Scm> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::param("model", format!("not valid JSON: {e}")))?;
        if v["format"] != "scm-json/v1" {
            return Err(Error::param("model", "`format` must be \"scm-json/v1\""));
        }
        let nodes = v["nodes"]
            .as_array()
            .ok_or_else(|| Error::param("model", "`nodes` must be a list"))?;
        let num = |n: &Value, key: &str, node: &str, default: Option<f64>| -> Result<f64> {
            match (&n[key], default) {
                (Value::Null, Some(d)) => Ok(d),
                (x, _) => x
                    .as_f64()
                    .ok_or_else(|| perr(node, format!("node `{node}`: `{key}` must be a number"))),
            }
        };
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let name = n["name"]
                .as_str()
                .ok_or_else(|| Error::param("model", "every node needs a string `name`"))?;
            let kind = match n["type"].as_str() {
                Some("linear") => NodeType::Linear,
                Some("additive") => NodeType::Additive,
                Some("logistic") => NodeType::Logistic,
                other => return Err(perr(name, format!("node `{name}`: unknown type {other:?}"))),
            };
            let mut coefficients = Vec::new();
            if let Some(m) = n["coefficients"].as_object() {
                for (p, c) in m {
                    let c = c.as_f64().ok_or_else(|| {
                        perr(
                            name,
                            format!("node `{name}`: coefficient of `{p}` is not a number"),
                        )
                    })?;
                    coefficients.push((p.clone(), c));
                }
            }
            let mut terms = Vec::new();
            for t in n["terms"].as_array().cloned().unwrap_or_default() {
                let parents = strings(&t["parents"]);
                let f = t["fn"].as_str().unwrap_or("");
                if f == "product" {
                    terms.push(Term::Product {
                        parents,
                        weight: num(&t, "weight", name, Some(1.0))?,
                    });
                } else {
                    let func = FUNCS
                        .iter()
                        .find(|(s, _)| *s == f)
                        .map(|(_, func)| *func)
                        .ok_or_else(|| {
                            perr(name, format!("node `{name}`: unknown function `{f}`"))
                        })?;
                    if parents.len() != 1 {
                        return Err(perr(
                            name,
                            format!("node `{name}`: `{f}` takes exactly one parent"),
                        ));
                    }
                    terms.push(Term::Unary {
                        func,
                        parent: parents[0].clone(),
                        weight: num(&t, "weight", name, Some(1.0))?,
                        inner_scale: num(&t, "inner_scale", name, Some(1.0))?,
                        inner_shift: num(&t, "inner_shift", name, Some(0.0))?,
                    });
                }
            }
            let noise = match &n["noise"] {
                Value::Null => None,
                z => Some(match z["dist"].as_str() {
                    Some("normal") => Noise::Normal {
                        scale: num(z, "scale", name, None)?,
                    },
                    Some("laplace") => Noise::Laplace {
                        scale: num(z, "scale", name, None)?,
                    },
                    Some("uniform") => Noise::Uniform {
                        low: num(z, "low", name, None)?,
                        high: num(z, "high", name, None)?,
                    },
                    other => {
                        return Err(perr(
                            name,
                            format!("node `{name}`: unknown noise {other:?}"),
                        ))
                    }
                }),
            };
            let node = Node {
                name: name.into(),
                kind,
                intercept: num(n, "intercept", name, Some(0.0))?,
                coefficients,
                terms,
                noise,
            };
            // `parents` must be exactly the parents named by coefficients and terms
            let mut listed = strings(&n["parents"]);
            listed.sort();
            listed.dedup();
            if listed != node.parents() {
                return Err(perr(
                    name,
                    format!(
                        "node `{name}`: `parents` {:?} do not match the coefficients and terms {:?}",
                        listed,
                        node.parents()
                    ),
                ));
            }
            out.push(node);
        }
        Self::named(v["name"].as_str().unwrap_or(""), out)
    }

    /// Writes `scm-json/v1` (nodes in topological order).
    pub fn to_json(&self) -> String {
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                let coef: Map<String, Value> =
                    n.coefficients.iter().map(|(p, c)| (p.clone(), json!(c))).collect();
                let terms: Vec<Value> = n
                    .terms
                    .iter()
                    .map(|t| match t {
                        Term::Unary { func, parent, weight, inner_scale, inner_shift } => json!({
                            "fn": func.name(), "parents": [parent], "weight": weight,
                            "inner_scale": inner_scale, "inner_shift": inner_shift }),
                        Term::Product { parents, weight } => json!({
                            "fn": "product", "parents": parents, "weight": weight }),
                    })
                    .collect();
                let noise = match &n.noise {
                    None => Value::Null,
                    Some(Noise::Normal { scale }) => json!({"dist": "normal", "scale": scale}),
                    Some(Noise::Laplace { scale }) => json!({"dist": "laplace", "scale": scale}),
                    Some(Noise::Uniform { low, high }) => {
                        json!({"dist": "uniform", "low": low, "high": high})
                    }
                };
                json!({
                    "name": n.name,
                    "parents": n.parents(),
                    "type": match n.kind { NodeType::Linear => "linear", NodeType::Additive => "additive", NodeType::Logistic => "logistic" },
                    "intercept": n.intercept,
                    "coefficients": coef,
                    "terms": terms,
                    "noise": noise,
                })
            })
            .collect();
        serde_json::to_string_pretty(
            &json!({"format": "scm-json/v1", "name": self.name, "nodes": nodes}),
        )
        .expect("serialisable")
    }
}

impl Intervention {
    /// Reads a JSON list of intervention sets in the form of section 2 of the `scm-json/v1`
    /// spec (each set a list of `{"node", "type": "atomic", "value"}` or
    /// `{"node", "type": "shift", "delta"}`; `[]` is the observational setting). At least one
    /// set; errors name the set and entry (`set 2, entry 0`). Nodes are checked against a model
    /// when the sets are used.
    ///
    /// ```
    /// use ceteris::scm::Intervention;
    /// let sets = Intervention::sets_from_json(r#"[
    ///   [{"node": "X", "type": "atomic", "value": 1.0}],
    ///   [{"node": "X", "type": "shift", "delta": 0.5}, {"node": "M", "type": "atomic", "value": 0}],
    ///   []
    /// ]"#).unwrap();
    /// assert_eq!(sets[1], vec![Intervention::shift("X", 0.5), Intervention::atomic("M", 0.0)]);
    /// assert!(Intervention::sets_from_json(r#"[[{"node": "X", "type": "atomic"}]]"#)
    ///     .unwrap_err().to_string().contains("set 0, entry 0"));
    /// ```
    pub fn sets_from_json(text: &str) -> Result<Vec<Vec<Intervention>>> {
        let bad = |reason: String| Error::param("interventions", reason);
        let v: Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let sets = v
            .as_array()
            .ok_or_else(|| bad("expected a JSON list of intervention sets".into()))?;
        if sets.is_empty() {
            return Err(bad("the list holds no intervention sets".into()));
        }
        sets.iter()
            .enumerate()
            .map(|(i, set)| {
                let entries = set
                    .as_array()
                    .ok_or_else(|| bad(format!("set {i} is not a list of interventions: {set}")))?;
                entries
                    .iter()
                    .enumerate()
                    .map(|(k, e)| {
                        let at = |reason: &str| bad(format!("set {i}, entry {k} ({e}): {reason}"));
                        let obj = e.as_object().ok_or_else(|| at("not an object"))?;
                        let node = obj
                            .get("node")
                            .and_then(Value::as_str)
                            .ok_or_else(|| at("needs a string `node`"))?;
                        let number = |key: &str| -> Result<f64> {
                            obj.get(key)
                                .and_then(Value::as_f64)
                                .filter(|x| x.is_finite())
                                .ok_or_else(|| at(&format!("needs a finite number `{key}`")))
                        };
                        let (kind, own, other) = match obj.get("type").and_then(Value::as_str) {
                            Some("atomic") => ("an atomic", "value", "delta"),
                            Some("shift") => ("a shift", "delta", "value"),
                            _ => return Err(at("`type` must be \"atomic\" or \"shift\"")),
                        };
                        if obj.contains_key(other) {
                            return Err(at(&format!(
                                "{kind} intervention takes `{own}`, not `{other}`"
                            )));
                        }
                        if let Some(key) = obj
                            .keys()
                            .find(|k| !["node", "type", own].contains(&k.as_str()))
                        {
                            return Err(at(&format!("unknown key `{key}`")));
                        }
                        let x = number(own)?;
                        Ok(if own == "value" {
                            Intervention::atomic(node, x)
                        } else {
                            Intervention::shift(node, x)
                        })
                    })
                    .collect()
            })
            .collect()
    }
}
