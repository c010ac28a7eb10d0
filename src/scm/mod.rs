//! Structural causal models (the `scm-json/v1` format), interventions and sweeps.
//!
//! The model, its JSON reader/writer with validation and a Rust construction API; Monte-Carlo
//! sweeps of intervention sets on the engine's backend ([`Sweep`]; the GPU's `shaders/sweep.wgsl`
//! or rayon on the CPU, counter-based noise so a sample is the same for any thread count and on
//! either backend up to f32 rounding); exact answers for linear models ([`Scm::exact`]); average
//! causal effects ([`Scm::effect`]); raw samples ([`Scm::sample`]); counterfactuals for one
//! observed unit ([`Scm::counterfactual`]) or a data set of them ([`Scm::counterfactuals`]); and
//! least-squares fits from data and a graph ([`Scm::fit`]).
//!
//! Noise contract: the noise of sample `i` of setting `s` comes from Philox (seed, Monte-Carlo
//! stream), replicate `i`, blocks `s′ · b + k` with `b = ⌈m/4⌉ + ⌈m/2⌉` blocks per setting (`m`
//! nodes) and `s′ = 0` under common random numbers (every setting sees the same noise) or `s′ = s`
//! otherwise. The nodes form pairs `p = (2p, 2p + 1)`. When both nodes of pair `p` are normal
//! (a *shared* pair) they take words `2(p mod 2)` and `2(p mod 2) + 1` of block `k = ⌊p/2⌋`, so
//! one block serves two pairs, and share one Box–Muller transform of them (cosine for the even
//! node, sine for the odd one). Any other pair reads block `k = ⌈m/4⌉ + p`, in which node `j`
//! owns words `2(j mod 2)` and `2(j mod 2) + 1`: a uniform-driven node (uniform, Laplace,
//! logistic) uses the first, a normal node a Box–Muller transform of both (cosine). The transform
//! is `√(−2 ln u₁)·(cos, sin)(2π u₂)` with the 24-bit uniforms of [`crate::rng::open_unit`]; the
//! CPU evaluates it in f64 with its own polynomials (within a few ulp of the standard library's
//! `ln` and `sin_cos`, the same bits whatever the instruction set or thread count), the GPU in f32.
//!
//! ```
//! use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
//! let scm = Scm::new(vec![
//!     Node::linear("Z", 0.0, &[], Noise::Normal { scale: 1.0 }),
//!     Node::linear("X", 0.0, &[("Z", 1.0)], Noise::Normal { scale: 1.0 }),
//!     Node::linear("Y", 1.0, &[("X", 2.0), ("Z", -1.0)], Noise::Normal { scale: 0.5 }),
//! ]).unwrap();
//! let settings = vec![vec![Intervention::atomic("X", 1.0)]];
//! let exact = scm.exact(&settings[0], "Y").unwrap();
//! assert!((exact.mean - 3.0).abs() < 1e-12); // 1 + 2·1 − E[Z]
//! let res = Sweep::new("Y", settings).samples(20_000).run(&ceteris::Engine::cpu(), &scm).unwrap();
//! assert!((res.points[0].mean - 3.0).abs() < 5.0 * res.points[0].std_error);
//! ```

mod block;
mod fit;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
mod jobs;
mod kernel;

pub use fit::{parse_graph, FitKind};

use crate::error::{Error, Result};
use crate::rng::{open_unit, Stream, STREAM_MONTE_CARLO};
use crate::engine::{run_on, Engine};
pub(crate) use block::noise_blocks;
pub(crate) use kernel::{SweepProgram, PRIVATE_SLOTS};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Samples per parallel work item of sweeps and [`Scm::sample`].
const BLOCK: usize = 4096;

/// Prefixes the reason of a parameter error with where it came from (`setting 3`, `unit at row 7`).
fn within(e: Error, place: impl std::fmt::Display) -> Error {
    match e {
        Error::InvalidParameter { name, reason } => Error::InvalidParameter {
            name,
            reason: format!("{place}: {reason}"),
        },
        other => other,
    }
}

/// Exogenous noise (mean zero except `Uniform`, whose bounds are explicit).
#[derive(Clone, Debug, PartialEq)]
pub enum Noise {
    /// Normal with standard deviation `scale`.
    Normal {
        /// Standard deviation (> 0).
        scale: f64,
    },
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound (> low).
        high: f64,
    },
    /// Laplace with scale `b` (variance 2b²).
    Laplace {
        /// Scale (> 0).
        scale: f64,
    },
}

impl Noise {
    fn variance(&self) -> f64 {
        match *self {
            Noise::Normal { scale } => scale * scale,
            Noise::Uniform { low, high } => (high - low).powi(2) / 12.0,
            Noise::Laplace { scale } => 2.0 * scale * scale,
        }
    }

    fn mean(&self) -> f64 {
        match *self {
            Noise::Uniform { low, high } => 0.5 * (low + high),
            _ => 0.0,
        }
    }

    /// Uniform and Laplace draws from one word (normal draws are paired, see `Scm::sample`).
    fn draw(&self, w: u32) -> f64 {
        match *self {
            Noise::Normal { .. } => unreachable!("normal noise is drawn in pairs"),
            Noise::Uniform { low, high } => low + (high - low) * open_unit(w),
            Noise::Laplace { scale } => {
                let u = open_unit(w) - 0.5;
                -scale * u.signum() * (1.0 - 2.0 * u.abs()).ln()
            }
        }
    }
}

/// A unary function of an additive term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// x
    Identity,
    /// tanh x
    Tanh,
    /// x²
    Square,
    /// x³
    Cube,
    /// sin x
    Sin,
    /// cos x
    Cos,
    /// eˣ
    Exp,
    /// 1/(1+e⁻ˣ)
    Sigmoid,
    /// max(x, 0)
    Relu,
    /// |x|
    Abs,
    /// log(1+eˣ)
    Softplus,
}

const FUNCS: [(&str, Func); 11] = [
    ("identity", Func::Identity),
    ("tanh", Func::Tanh),
    ("square", Func::Square),
    ("cube", Func::Cube),
    ("sin", Func::Sin),
    ("cos", Func::Cos),
    ("exp", Func::Exp),
    ("sigmoid", Func::Sigmoid),
    ("relu", Func::Relu),
    ("abs", Func::Abs),
    ("softplus", Func::Softplus),
];

impl Func {
    fn apply(self, x: f64) -> f64 {
        match self {
            Func::Identity => x,
            Func::Tanh => x.tanh(),
            Func::Square => x * x,
            Func::Cube => x * x * x,
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Exp => x.exp(),
            Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Func::Relu => x.max(0.0),
            Func::Abs => x.abs(),
            Func::Softplus => x.exp().ln_1p(),
        }
    }

    fn name(self) -> &'static str {
        FUNCS.iter().find(|(_, f)| *f == self).expect("listed").0
    }
}

/// A nonlinear term of an additive or logistic node.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// `weight · f(inner_scale · parent + inner_shift)`.
    Unary {
        /// The function.
        func: Func,
        /// Its parent.
        parent: String,
        /// Outer weight.
        weight: f64,
        /// Inner scale.
        inner_scale: f64,
        /// Inner shift.
        inner_shift: f64,
    },
    /// `weight · Π parents` (two or more parents).
    Product {
        /// Parents.
        parents: Vec<String>,
        /// Weight.
        weight: f64,
    },
}

/// Node type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeType {
    /// `eta + N`, no terms.
    Linear,
    /// `eta + N` with nonlinear terms.
    Additive,
    /// `1{U < sigmoid(eta)}`.
    Logistic,
}

/// One structural equation.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique name.
    pub name: String,
    /// Type.
    pub kind: NodeType,
    /// Intercept.
    pub intercept: f64,
    /// Linear coefficients by parent.
    pub coefficients: Vec<(String, f64)>,
    /// Nonlinear terms.
    pub terms: Vec<Term>,
    /// Noise (None for logistic nodes).
    pub noise: Option<Noise>,
}

impl Node {
    /// A linear node `intercept + Σ coef · parent + N`.
    pub fn linear(name: &str, intercept: f64, coefficients: &[(&str, f64)], noise: Noise) -> Node {
        Node {
            name: name.into(),
            kind: NodeType::Linear,
            intercept,
            coefficients: coefficients
                .iter()
                .map(|(p, c)| (p.to_string(), *c))
                .collect(),
            terms: Vec::new(),
            noise: Some(noise),
        }
    }

    /// An additive-noise node with nonlinear terms.
    pub fn additive(
        name: &str,
        intercept: f64,
        coefficients: &[(&str, f64)],
        terms: Vec<Term>,
        noise: Noise,
    ) -> Node {
        Node {
            kind: NodeType::Additive,
            terms,
            ..Node::linear(name, intercept, coefficients, noise)
        }
    }

    /// A logistic (binary) node.
    pub fn logistic(
        name: &str,
        intercept: f64,
        coefficients: &[(&str, f64)],
        terms: Vec<Term>,
    ) -> Node {
        Node {
            kind: NodeType::Logistic,
            noise: None,
            terms,
            ..Node::linear(name, intercept, coefficients, Noise::Normal { scale: 1.0 })
        }
    }

    /// The parents named by coefficients and terms (sorted, unique).
    pub fn parents(&self) -> Vec<String> {
        let mut p: Vec<String> = self.coefficients.iter().map(|(n, _)| n.clone()).collect();
        for t in &self.terms {
            match t {
                Term::Unary { parent, .. } => p.push(parent.clone()),
                Term::Product { parents, .. } => p.extend(parents.iter().cloned()),
            }
        }
        p.sort();
        p.dedup();
        p
    }
}

/// An element of an intervention set.
#[derive(Clone, Debug, PartialEq)]
pub enum Intervention {
    /// `do(node := value)`.
    Atomic {
        /// Target.
        node: String,
        /// Value.
        value: f64,
    },
    /// `node := f(pa, N) + delta`.
    Shift {
        /// Target.
        node: String,
        /// Shift.
        delta: f64,
    },
}

impl Intervention {
    /// `do(node := value)`.
    pub fn atomic(node: &str, value: f64) -> Self {
        Intervention::Atomic {
            node: node.into(),
            value,
        }
    }

    /// `node := f(pa, N) + delta`.
    pub fn shift(node: &str, delta: f64) -> Self {
        Intervention::Shift {
            node: node.into(),
            delta,
        }
    }

    fn node(&self) -> &str {
        match self {
            Intervention::Atomic { node, .. } | Intervention::Shift { node, .. } => node,
        }
    }
}

/// Compiled term: parent indices.
#[derive(Clone, Debug)]
enum CTerm {
    Unary(Func, usize, f64, f64, f64),
    Product(Vec<usize>, f64),
}

/// A validated model, nodes in topological order.
#[derive(Clone, Debug)]
pub struct Scm {
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    coef: Vec<Vec<(usize, f64)>>,
    terms: Vec<Vec<CTerm>>,
    name: String,
}

/// Exact interventional moments of a node (linear-model closed form).
#[derive(Clone, Debug, Serialize)]
pub struct Exact {
    /// Mean.
    pub mean: f64,
    /// Variance.
    pub variance: f64,
    /// Whether every noise that reaches the node is normal (then the node is normal and
    /// [`Exact::quantile`] is exact).
    pub gaussian: bool,
}

impl Exact {
    /// The `p`-quantile when the node is normal (`None` otherwise).
    ///
    /// ```
    /// let e = ceteris::scm::Exact { mean: 1.0, variance: 4.0, gaussian: true };
    /// assert!((e.quantile(0.975).unwrap() - (1.0 + 2.0 * 1.959963984540054)).abs() < 1e-9);
    /// ```
    pub fn quantile(&self, p: f64) -> Option<f64> {
        use statrs::distribution::{ContinuousCDF, Normal};
        if !self.gaussian || !(0.0..=1.0).contains(&p) {
            return None;
        }
        if self.variance == 0.0 {
            return Some(self.mean);
        }
        Normal::new(self.mean, self.variance.sqrt())
            .ok()
            .map(|d| d.inverse_cdf(p))
    }
}

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

fn perr(node: &str, reason: impl Into<String>) -> Error {
    Error::param(node, reason)
}

impl Scm {
    /// A random linear-Gaussian DAG of `m` nodes `n0 … n(m−1)` (deterministic in `seed`), the model
    /// of `ceteris bench`'s SCM cases: node `j` has its predecessor `n(j−1)` and up to two random
    /// earlier nodes as parents (so every node is an ancestor of the last), coefficients in
    /// [−0.4, 0.6), intercept 0 and standard normal noise.
    ///
    /// ```
    /// let m = ceteris::scm::Scm::random_linear(50, 11);
    /// assert_eq!(m.names().len(), 50);
    /// assert_eq!(m.names()[49], "n49");
    /// ```
    pub fn random_linear(m: usize, seed: u64) -> Scm {
        let s = Stream::new(seed, 6);
        let nodes: Vec<Node> = (0..m)
            .map(|j| {
                let w = s.block(j as u32, 0);
                let names: std::collections::BTreeSet<String> = (0..3.min(j))
                    .map(|k| format!("n{}", if k == 0 { j - 1 } else { (w[k] as usize) % j }))
                    .collect();
                let coef: Vec<(&str, f64)> = names
                    .iter()
                    .enumerate()
                    .map(|(k, n)| (n.as_str(), 0.8 * open_unit(w[3]) - 0.4 + 0.1 * k as f64))
                    .collect();
                Node::linear(&format!("n{j}"), 0.0, &coef, Noise::Normal { scale: 1.0 })
            })
            .collect();
        Scm::new(nodes).expect("a DAG by construction")
    }

    /// Validates nodes given in any order: duplicate names, unknown parents, cycles (named),
    /// terms on linear nodes, bad noise, product terms with fewer than two parents.
    pub fn new(nodes: Vec<Node>) -> Result<Scm> {
        Self::named("", nodes)
    }

    fn named(name: &str, nodes: Vec<Node>) -> Result<Scm> {
        if nodes.is_empty() {
            return Err(Error::EmptyData("the model has no nodes".into()));
        }
        let mut pos = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if n.name.is_empty()
                || !n
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(perr(
                    &n.name,
                    format!("node name `{}` is not an ASCII identifier", n.name),
                ));
            }
            if pos.insert(n.name.clone(), i).is_some() {
                return Err(perr(&n.name, format!("duplicate node name `{}`", n.name)));
            }
        }
        for n in &nodes {
            for p in n.parents() {
                if !pos.contains_key(&p) {
                    return Err(perr(
                        &n.name,
                        format!("node `{}` has unknown parent `{p}`", n.name),
                    ));
                }
            }
            if n.kind == NodeType::Linear && !n.terms.is_empty() {
                return Err(perr(&n.name, format!("linear node `{}` has terms", n.name)));
            }
            for t in &n.terms {
                if let Term::Product { parents, .. } = t {
                    if parents.len() < 2 {
                        return Err(perr(&n.name, "a product term needs two or more parents"));
                    }
                }
            }
            match (&n.noise, n.kind) {
                (None, NodeType::Logistic) => {}
                (Some(_), NodeType::Logistic) => {
                    return Err(perr(
                        &n.name,
                        format!("logistic node `{}` takes no noise", n.name),
                    ))
                }
                (None, _) => return Err(perr(&n.name, format!("node `{}` needs a noise", n.name))),
                (Some(noise), _) => {
                    let ok = match *noise {
                        Noise::Normal { scale } | Noise::Laplace { scale } => {
                            scale.is_finite() && scale > 0.0
                        }
                        Noise::Uniform { low, high } => {
                            low.is_finite() && high.is_finite() && high > low
                        }
                    };
                    if !ok {
                        return Err(perr(
                            &n.name,
                            format!("node `{}` has bad noise {noise:?}", n.name),
                        ));
                    }
                }
            }
            let finite = n.intercept.is_finite()
                && n.coefficients.iter().all(|(_, c)| c.is_finite())
                && n.terms.iter().all(|t| match t {
                    Term::Unary {
                        weight,
                        inner_scale,
                        inner_shift,
                        ..
                    } => weight.is_finite() && inner_scale.is_finite() && inner_shift.is_finite(),
                    Term::Product { weight, .. } => weight.is_finite(),
                });
            if !finite {
                return Err(perr(
                    &n.name,
                    format!("node `{}` has a non-finite parameter", n.name),
                ));
            }
        }
        // topological order (Kahn), naming a cycle when one remains
        let mut graph = petgraph::graph::DiGraph::<usize, ()>::new();
        let ids: Vec<_> = (0..nodes.len()).map(|i| graph.add_node(i)).collect();
        for (i, n) in nodes.iter().enumerate() {
            for p in n.parents() {
                graph.add_edge(ids[pos[&p]], ids[i], ());
            }
        }
        let order = petgraph::algo::toposort(&graph, None).map_err(|_| {
            let sccs = petgraph::algo::kosaraju_scc(&graph);
            let cycle = sccs
                .into_iter()
                .find(|c| c.len() > 1 || graph.contains_edge(c[0], c[0]))
                .unwrap_or_default();
            let names: Vec<&str> = cycle
                .iter()
                .map(|&v| nodes[graph[v]].name.as_str())
                .collect();
            Error::param(
                "model",
                format!("the graph has a cycle through {}", names.join(" -> ")),
            )
        })?;
        let sorted: Vec<Node> = order.iter().map(|&v| nodes[graph[v]].clone()).collect();
        let index: HashMap<String, usize> = sorted
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        let coef = sorted
            .iter()
            .map(|n| n.coefficients.iter().map(|(p, c)| (index[p], *c)).collect())
            .collect();
        let terms = sorted
            .iter()
            .map(|n| {
                n.terms
                    .iter()
                    .map(|t| match t {
                        Term::Unary {
                            func,
                            parent,
                            weight,
                            inner_scale,
                            inner_shift,
                        } => {
                            CTerm::Unary(*func, index[parent], *weight, *inner_scale, *inner_shift)
                        }
                        Term::Product { parents, weight } => {
                            CTerm::Product(parents.iter().map(|p| index[p]).collect(), *weight)
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(Scm {
            nodes: sorted,
            index,
            coef,
            terms,
            name: name.into(),
        })
    }

    /// The nodes in topological order (the order of [`Scm::names`]).
    ///
    /// ```
    /// use ceteris::scm::{Node, Noise, Scm};
    /// let m = Scm::new(vec![
    ///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// assert_eq!(m.nodes()[1].coefficients, [("X".to_string(), 2.0)]);
    /// ```
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Node names in topological order.
    pub fn names(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }

    fn node_index(&self, name: &str) -> Result<usize> {
        self.index.get(name).copied().ok_or_else(|| {
            Error::param(
                "node",
                format!("unknown node `{name}` (nodes: {})", self.names().join(", ")),
            )
        })
    }

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

    /// Checks an intervention set against the model: known nodes, logistic targets only
    /// `do(·) ∈ {0, 1}`, finite values, no node twice.
    fn compile(&self, set: &[Intervention]) -> Result<Vec<(Option<f64>, f64)>> {
        let mut plan = vec![(None, 0.0); self.nodes.len()];
        let mut seen = vec![false; self.nodes.len()];
        for iv in set {
            let j = self.node_index(iv.node())?;
            if std::mem::replace(&mut seen[j], true) {
                return Err(perr(
                    iv.node(),
                    format!("node `{}` is intervened on twice", iv.node()),
                ));
            }
            let logistic = self.nodes[j].kind == NodeType::Logistic;
            match *iv {
                Intervention::Atomic { value, .. } => {
                    if !value.is_finite() || (logistic && value != 0.0 && value != 1.0) {
                        return Err(perr(
                            iv.node(),
                            format!(
                                "do({} := {value}) is out of range{}",
                                iv.node(),
                                if logistic {
                                    " (logistic nodes take 0 or 1)"
                                } else {
                                    ""
                                }
                            ),
                        ));
                    }
                    plan[j].0 = Some(value);
                }
                Intervention::Shift { delta, .. } => {
                    if logistic {
                        return Err(perr(
                            iv.node(),
                            format!(
                                "logistic node `{}` takes atomic interventions only",
                                iv.node()
                            ),
                        ));
                    }
                    if !delta.is_finite() {
                        return Err(perr(iv.node(), "shift is not finite"));
                    }
                    plan[j].1 = delta;
                }
            }
        }
        Ok(plan)
    }

    /// The predictor `eta` of node `j` given the values of every node (its parents read):
    /// [`Scm::eta_block`] on one unit.
    #[inline]
    fn eta(&self, j: usize, vals: &[f64]) -> f64 {
        let mut out = [0.0];
        self.eta_block(j, |p| std::slice::from_ref(&vals[p]), &mut out);
        out[0]
    }

    /// Exact interventional mean and variance of `outcome` for a model whose nodes are all
    /// linear (any noise law for the moments), via `(I − B)⁻¹` of the mutilated model.
    pub fn exact(&self, set: &[Intervention], outcome: &str) -> Result<Exact> {
        if let Some(n) = self.nodes.iter().find(|n| n.kind != NodeType::Linear) {
            return Err(perr(
                &n.name,
                format!("exact answers need linear nodes; `{}` is not", n.name),
            ));
        }
        let plan = self.compile(set)?;
        let y = self.node_index(outcome)?;
        let m = self.nodes.len();
        // nodes are topologically sorted: propagate means and the noise loadings A = (I − B)⁻¹
        let mut mean = vec![0.0; m];
        let mut load = vec![vec![0.0; m]; m]; // load[j][k]: coefficient of noise k in node j
        for j in 0..m {
            if let Some(v) = plan[j].0 {
                mean[j] = v;
                continue;
            }
            let node = &self.nodes[j];
            let noise = node.noise.as_ref().expect("linear nodes have noise");
            mean[j] = node.intercept + noise.mean() + plan[j].1;
            load[j][j] = 1.0;
            for &(p, c) in &self.coef[j] {
                mean[j] += c * mean[p];
                let parent = load[p].clone();
                for (l, lp) in load[j].iter_mut().zip(parent) {
                    *l += c * lp;
                }
            }
        }
        let variance = (0..m)
            .map(|k| {
                let v = self.nodes[k].noise.as_ref().map_or(0.0, Noise::variance);
                load[y][k] * load[y][k] * v
            })
            .sum();
        let gaussian = (0..m).all(|k| {
            load[y][k] == 0.0 || matches!(self.nodes[k].noise, Some(Noise::Normal { .. }))
        });
        Ok(Exact {
            mean: mean[y],
            variance,
            gaussian,
        })
    }
}

/// A counterfactual prediction for one observed unit (see [`Scm::counterfactual`]).
///
/// ```
/// use ceteris::scm::{Intervention, Noise, Node, Scm};
/// let m = Scm::new(vec![
///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
///     Node::linear("Y", 0.0, &[("X", -1.0)], Noise::Laplace { scale: 1.0 }),
/// ]).unwrap();
/// let cf = m.counterfactual(&[("X", 2.0), ("Y", -1.5)], &[Intervention::shift("X", 1.0)]).unwrap();
/// assert_eq!((cf.values["X"], cf.values["Y"]), (3.0, -2.5));
/// assert_eq!(cf.noise["Y"], 0.5);
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct Counterfactual {
    /// Every node's counterfactual value.
    pub values: BTreeMap<String, f64>,
    /// The noise abducted for each linear or additive node: its observed value minus its predictor
    /// at the observed parents. Logistic nodes have no entry.
    pub noise: BTreeMap<String, f64>,
}

/// Counterfactuals of many observed units (see [`Scm::counterfactuals`]).
///
/// ```
/// use ceteris::scm::{Intervention, Noise, Node, Scm};
/// use ceteris::Dataset;
/// let m = Scm::new(vec![
///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
/// ]).unwrap();
/// let units = Dataset::new()
///     .with_column("X", vec![1.0, -1.0]).unwrap()
///     .with_column("Y", vec![4.0, -2.0]).unwrap();
/// // noises 4 − (1 + 2) = 1 and −2 − (1 − 2) = −1; under do(X := 0), Y = 1 + noise
/// let cf = m.counterfactuals(&units, &[Intervention::atomic("X", 0.0)]).unwrap();
/// assert_eq!(cf.values.column("Y").unwrap(), [2.0, 0.0]);
/// assert_eq!(cf.noise.column("Y").unwrap(), [1.0, -1.0]);
/// ```
#[derive(Clone, Debug)]
pub struct Counterfactuals {
    /// Counterfactual values: one column per node ([`Scm::names`] order), one row per unit.
    pub values: crate::Dataset,
    /// The abducted noise: one column per linear or additive node, one row per unit.
    pub noise: crate::Dataset,
}

impl Scm {
    /// Counterfactual values of every node for one observed unit under the intervention set
    /// `set` (atomic and shift interventions, with the spec's semantics).
    ///
    /// Abduction, action, prediction: the noise of every linear or additive node is abducted as
    /// `N = x − eta(observed parents)`; the interventions replace (atomic) or shift the equations;
    /// then every node is recomputed in topological order from the counterfactual parents and the
    /// abducted noise, deterministically.
    ///
    /// `observed` must give every node (all are needed to abduct the noise of their children),
    /// each once, finite; logistic nodes as 0 or 1. A logistic node's uniform draw `U` is only
    /// known to lie below (observed 1) or above (observed 0) its observed probability
    /// `sigmoid(eta)`, so its counterfactual value is determined, and kept at the observed value,
    /// when its predictor is unchanged or moves towards the observed value
    /// (observed 1 and `eta` not lower, or observed 0 and `eta` not higher). When it moves the
    /// other way the value is random given the unit, and the call returns an error naming the node
    /// and the probability that it flips. An observation that the model gives probability zero
    /// (a uniform noise outside its bounds, a logistic value against a saturated probability) is
    /// an error too.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm};
    /// let m = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// // Y's noise is 4 − (1 + 2·1) = 1, so under do(X := 0): Y = 1 + 0 + 1 = 2
    /// let cf = m.counterfactual(&[("X", 1.0), ("Y", 4.0)], &[Intervention::atomic("X", 0.0)]).unwrap();
    /// assert_eq!(cf.values["Y"], 2.0);
    /// assert_eq!(cf.noise["Y"], 1.0);
    /// ```
    pub fn counterfactual(
        &self,
        observed: &[(impl AsRef<str>, f64)],
        set: &[Intervention],
    ) -> Result<Counterfactual> {
        let m = self.nodes.len();
        let mut obs = vec![None; m];
        for (name, v) in observed {
            let name = name.as_ref();
            let j = self.index.get(name).copied().ok_or_else(|| {
                Error::param(
                    "observed",
                    format!(
                        "unknown node `{name}` in the observed unit (nodes: {})",
                        self.names().join(", ")
                    ),
                )
            })?;
            if !v.is_finite() {
                return Err(perr(name, format!("observed `{name}` = {v} is not finite")));
            }
            if obs[j].replace(*v).is_some() {
                return Err(perr(name, format!("`{name}` is observed twice")));
            }
        }
        let missing: Vec<&str> = (0..m)
            .filter(|&j| obs[j].is_none())
            .map(|j| self.nodes[j].name.as_str())
            .collect();
        if let Some(first) = missing.first() {
            return Err(perr(
                first,
                format!(
                    "the observed unit lacks {}: a counterfactual needs every node observed",
                    missing
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let obs: Vec<f64> = obs.into_iter().map(|v| v.expect("checked")).collect();
        let plan = self.compile(set)?;
        let (mut cf, mut noise, mut eta) = (vec![0.0; m], vec![0.0; m], vec![0.0; m]);
        self.counterfactual_unit(&plan, &obs, &mut cf, &mut noise, &mut eta)?;
        let named = |v: &[f64], keep: &dyn Fn(usize) -> bool| {
            (0..m)
                .filter(|&j| keep(j))
                .map(|j| (self.nodes[j].name.clone(), v[j]))
                .collect::<BTreeMap<_, _>>()
        };
        Ok(Counterfactual {
            values: named(&cf, &|_| true),
            noise: named(&noise, &|j| self.nodes[j].noise.is_some()),
        })
    }

    /// [`Scm::counterfactual`] for every row of `data`: each row is one observed unit, with a
    /// column for every node (other columns are ignored), under the same intervention set.
    ///
    /// Units are independent and run in parallel (rayon); the result does not depend on the
    /// number of threads. Missing node columns, empty data and non-finite values are errors
    /// naming the column (and row); a unit that [`Scm::counterfactual`] rejects (a logistic value
    /// other than 0/1, an impossible observation, an undetermined logistic counterfactual) makes
    /// the call fail with that error, prefixed with its row (rows count from 0, as in
    /// [`crate::Error::NonFinite`]); the first such row is reported.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm};
    /// use ceteris::Dataset;
    /// let m = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("X", 3.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let units = Dataset::new()
    ///     .with_column("id", vec![7.0, 8.0]).unwrap()
    ///     .with_column("Y", vec![3.5, 2.0]).unwrap()
    ///     .with_column("X", vec![1.0, 1.0]).unwrap();
    /// // each unit's Y had X = 1 contributing 3; shifting X by 1 adds 3 more
    /// let cf = m.counterfactuals(&units, &[Intervention::shift("X", 1.0)]).unwrap();
    /// assert_eq!(cf.values.column("Y").unwrap(), [6.5, 5.0]);
    /// ```
    pub fn counterfactuals(
        &self,
        data: &crate::Dataset,
        set: &[Intervention],
    ) -> Result<Counterfactuals> {
        use rayon::prelude::*;
        let m = self.nodes.len();
        let missing: Vec<&str> = self
            .nodes
            .iter()
            .map(|nd| nd.name.as_str())
            .filter(|name| data.column(name).is_err())
            .collect();
        if let Some(first) = missing.first() {
            return Err(perr(
                first,
                format!(
                    "the data lack the column{} {}: a counterfactual needs every node observed \
                     (columns: {})",
                    if missing.len() > 1 { "s" } else { "" },
                    missing
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    data.names().join(", ")
                ),
            ));
        }
        let cols: Vec<&[f64]> = self
            .nodes
            .iter()
            .map(|nd| data.finite_column(&nd.name))
            .collect::<Result<_>>()?;
        let plan = self.compile(set)?;
        let n = data.n_rows();
        // the result columns, split into segments of UNITS units; block `b` gets segment `b`
        // of every column and writes it while the block's values are in cache
        const UNITS: usize = 256;
        let zeros = || (0..m).map(|_| vec![0.0; n]).collect::<Vec<_>>();
        let (mut cf, mut noise) = (zeros(), zeros());
        let blocks = n.div_ceil(UNITS);
        let mut segs: Vec<Vec<(&mut [f64], &mut [f64])>> =
            (0..blocks).map(|_| Vec::with_capacity(m)).collect();
        for (c, z) in cf.iter_mut().zip(noise.iter_mut()) {
            for (seg, pair) in segs
                .iter_mut()
                .zip(c.chunks_mut(UNITS).zip(z.chunks_mut(UNITS)))
            {
                seg.push(pair);
            }
        }
        let failed = segs
            .into_par_iter()
            .enumerate()
            .filter_map(|(b, mut seg)| {
                let r0 = b * UNITS;
                let mut eta = vec![0.0; seg[0].0.len()];
                if self.counterfactual_block(&plan, &cols, r0, &mut seg, &mut eta) {
                    return None;
                }
                // a unit failed: redo the block unit by unit, which names the first failing row
                // and its error as the single-unit call would (and would give the same values)
                let mut row = vec![0.0; 4 * m];
                let (obs, rest) = row.split_at_mut(m);
                let (cf, rest) = rest.split_at_mut(m);
                let (zs, eta) = rest.split_at_mut(m);
                for i in 0..seg[0].0.len() {
                    for (o, c) in obs.iter_mut().zip(&cols) {
                        *o = c[r0 + i];
                    }
                    zs.fill(0.0);
                    if let Err(e) = self.counterfactual_unit(&plan, obs, cf, zs, eta) {
                        return Some((r0 + i, e));
                    }
                    for ((c, z), (sc, sz)) in cf.iter().zip(zs.iter()).zip(seg.iter_mut()) {
                        sc[i] = *c;
                        sz[i] = *z;
                    }
                }
                None
            })
            .min_by_key(|(r, _)| *r);
        if let Some((r, e)) = failed {
            return Err(within(e, format_args!("unit at row {r}")));
        }
        let (mut values, mut noises) = (crate::Dataset::new(), crate::Dataset::new());
        for ((nd, v), z) in self.nodes.iter().zip(cf).zip(noise) {
            values.push_column(&nd.name, v)?;
            if nd.noise.is_some() {
                noises.push_column(&nd.name, z)?;
            }
        }
        Ok(Counterfactuals {
            values,
            noise: noises,
        })
    }

    /// Node `j`'s predictor for a block of units, `out[u]` from parent `p`'s values `col(p)[u]`,
    /// column by column: `intercept + Σ c·parent`, then the nonlinear terms, in node order, so a
    /// unit gets the same bits in any block (and in [`Scm::eta`], which is this on one unit).
    fn eta_block<'a>(&self, j: usize, col: impl Fn(usize) -> &'a [f64], out: &mut [f64]) {
        out.fill(self.nodes[j].intercept);
        for &(p, c) in &self.coef[j] {
            for (o, &x) in out.iter_mut().zip(col(p)) {
                *o += c * x;
            }
        }
        for t in &self.terms[j] {
            match t {
                CTerm::Unary(f, p, w, a, b) => {
                    for (o, &x) in out.iter_mut().zip(col(*p)) {
                        *o += w * f.apply(a * x + b);
                    }
                }
                CTerm::Product(ps, w) => {
                    for (u, o) in out.iter_mut().enumerate() {
                        *o += w * ps.iter().map(|&p| col(p)[u]).product::<f64>();
                    }
                }
            }
        }
    }

    /// [`Scm::counterfactual_unit`] for the units `r0 ..` of one block, node by node over the
    /// block (vector loops): `cols` are the observed columns (node order), `seg[j]` node `j`'s
    /// output segments (values, noise; zeroed), `eta` scratch of the block's length. Returns
    /// `false` when any unit fails a check (the caller then redoes the block unit by unit).
    fn counterfactual_block(
        &self,
        plan: &[(Option<f64>, f64)],
        cols: &[&[f64]],
        r0: usize,
        seg: &mut [(&mut [f64], &mut [f64])],
        eta: &mut [f64],
    ) -> bool {
        let len = eta.len();
        let obs = |p: usize| &cols[p][r0..r0 + len];
        let sigmoid = |e: f64| 1.0 / (1.0 + (-e).exp());
        // abduction: noise segments take the noise, or a logistic node's observed predictor
        for (j, (_, z)) in seg.iter_mut().enumerate() {
            self.eta_block(j, obs, eta);
            let x = obs(j);
            let ok = match self.nodes[j].noise {
                None => x.iter().zip(eta.iter()).all(|(&x, &e)| {
                    let p = sigmoid(e);
                    e.is_finite()
                        && (x == 0.0 || x == 1.0)
                        && !((x == 1.0 && p <= 0.0) || (x == 0.0 && p >= 1.0))
                }),
                Some(Noise::Uniform { low, high }) => x.iter().zip(eta.iter()).all(|(&x, &e)| {
                    let (d, tol) = (x - e, 1e-9 * ((high - low) + x.abs() + e.abs()));
                    e.is_finite() && d >= low - tol && d <= high + tol
                }),
                Some(_) => eta.iter().all(|e| e.is_finite()),
            };
            if !ok {
                return false;
            }
            match self.nodes[j].noise {
                None => z.copy_from_slice(eta),
                Some(_) => {
                    for ((z, &x), &e) in z.iter_mut().zip(x).zip(eta.iter()) {
                        *z = x - e;
                    }
                }
            }
        }
        // action and prediction
        for (j, &(atomic, shift)) in plan.iter().enumerate() {
            let (done, rest) = seg.split_at_mut(j);
            let (cf, z) = &mut rest[0];
            let logistic = self.nodes[j].noise.is_none();
            if let Some(v) = atomic {
                cf.fill(v);
            } else {
                self.eta_block(j, |p| &*done[p].0, eta);
                if logistic {
                    // kept at the observed value when eta is unchanged or moves towards it
                    for (((c, &x), &e), &eo) in
                        cf.iter_mut().zip(obs(j)).zip(eta.iter()).zip(z.iter())
                    {
                        if !(e == eo || (x == 1.0 && e >= eo) || (x == 0.0 && e <= eo)) {
                            return false;
                        }
                        *c = x;
                    }
                } else {
                    for ((c, &e), &z) in cf.iter_mut().zip(eta.iter()).zip(z.iter()) {
                        *c = e + z + shift;
                    }
                }
                if !cf.iter().all(|v| v.is_finite()) {
                    return false;
                }
            }
            if logistic {
                z.fill(0.0);
            }
        }
        true
    }

    /// Abduction, action and prediction for one unit: `obs` holds every node's observed value
    /// (node order), `plan` the compiled intervention set; fills `cf` and `noise` (0 for logistic
    /// nodes; both start zeroed); `eta_obs` is scratch. Errors name the node.
    fn counterfactual_unit(
        &self,
        plan: &[(Option<f64>, f64)],
        obs: &[f64],
        cf: &mut [f64],
        noise: &mut [f64],
        eta_obs: &mut [f64],
    ) -> Result<()> {
        let m = self.nodes.len();
        let sigmoid = |e: f64| 1.0 / (1.0 + (-e).exp());
        // abduction
        for j in 0..m {
            let name = &self.nodes[j].name;
            let (x, eta) = (obs[j], self.eta(j, obs));
            if !eta.is_finite() {
                return Err(perr(
                    name,
                    format!("the predictor of `{name}` at the observed unit is not finite"),
                ));
            }
            eta_obs[j] = eta;
            match &self.nodes[j].noise {
                None => {
                    if x != 0.0 && x != 1.0 {
                        return Err(perr(
                            name,
                            format!("logistic node `{name}` must be observed as 0 or 1, not {x}"),
                        ));
                    }
                    let p = sigmoid(eta);
                    if (x == 1.0 && p <= 0.0) || (x == 0.0 && p >= 1.0) {
                        return Err(perr(
                            name,
                            format!("observed `{name}` = {x} has probability zero under the model"),
                        ));
                    }
                }
                Some(nz) => {
                    let e = x - eta;
                    if let Noise::Uniform { low, high } = *nz {
                        let tol = 1e-9 * ((high - low) + x.abs() + eta.abs());
                        if e < low - tol || e > high + tol {
                            return Err(perr(
                                name,
                                format!(
                                    "observed `{name}` = {x} needs noise {e}, outside its uniform \
                                     bounds [{low}, {high}]: the unit is impossible under the model"
                                ),
                            ));
                        }
                    }
                    noise[j] = e;
                }
            }
        }
        // action and prediction
        for j in 0..m {
            let name = &self.nodes[j].name;
            if let Some(v) = plan[j].0 {
                cf[j] = v;
                continue;
            }
            let eta = self.eta(j, cf);
            cf[j] = match self.nodes[j].noise {
                Some(_) => eta + noise[j] + plan[j].1,
                None => {
                    let x = obs[j];
                    if eta == eta_obs[j]
                        || (x == 1.0 && eta >= eta_obs[j])
                        || (x == 0.0 && eta <= eta_obs[j])
                    {
                        x
                    } else {
                        let (p0, p1) = (sigmoid(eta_obs[j]), sigmoid(eta));
                        let flip = if x == 1.0 {
                            1.0 - p1 / p0
                        } else {
                            (p1 - p0) / (1.0 - p0)
                        };
                        return Err(perr(
                            name,
                            format!(
                                "the counterfactual of logistic node `{name}` is not determined: \
                                 its probability moves from {p0} to {p1}, against the observed \
                                 value {x}, so it flips with probability {flip}"
                            ),
                        ));
                    }
                }
            };
            if !cf[j].is_finite() {
                return Err(perr(
                    name,
                    format!("the counterfactual value of `{name}` is not finite"),
                ));
            }
        }
        Ok(())
    }

    /// `n` joint samples of every node under the intervention set `set` (`&[]` for observational
    /// data) on the engine's backend, one column per node in topological order
    /// ([`Scm::names`]).
    ///
    /// Sample `i` uses the noise of sample `i` of setting 0 of the noise contract (module docs):
    /// it equals sample `i` of the first setting of a [`Sweep`] with the same seed and
    /// intervention set (of every setting under common random numbers). On the CPU (rayon, f64)
    /// rows are drawn in parallel blocks straight into the columns; the result does not depend
    /// on the thread count. On a GPU engine `shaders/sweep.wgsl` evaluates the model's flat
    /// program in f32, one thread per sample and every node written out, with the same noise
    /// words: a value differs from the CPU's by the f32 rounding of its structural equations
    /// (in the GPU tests within 2e-5 · (|value| + the node's standard deviation)), and a logistic
    /// node's 0/1 value may differ where its uniform lies within f32 rounding of the threshold
    /// `sigmoid(eta)` (then its descendants differ too). The samples come back in chunks that
    /// fit one storage binding, one submit per chunk. Values that overflow f32 (where f64 may
    /// not) and wgpu failures are [`Error::Gpu`]s; under [`Engine::auto`] (or `cpu_fallback`)
    /// the sampling reruns on the CPU, with the reason logged and in `backend`. Values that are
    /// not finite in f64 are [`Error::NonFinite`].
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm};
    /// let m = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let s = m.sample(&ceteris::Engine::auto(), &[Intervention::atomic("X", 3.0)], 1000, 7).unwrap();
    /// assert_eq!(s.data.names(), ["X", "Y"]);
    /// assert!(s.data.column("X").unwrap().iter().all(|&x| x == 3.0));
    /// println!("sampled on {}", s.backend);
    /// ```
    pub fn sample(
        &self,
        engine: &Engine,
        set: &[Intervention],
        n: usize,
        seed: u64,
    ) -> Result<Samples> {
        if n == 0 || n > u32::MAX as usize {
            return Err(Error::param("samples", "must be between 1 and 2^32 − 1"));
        }
        let plan = self.compile(set)?;
        let job = jobs::SampleJob {
            scm: self,
            plan: &plan,
            samples: n as u32,
            stream: Stream::new(seed, STREAM_MONTE_CARLO),
        };
        let (cols, ran) = run_on!(engine, cpu: Ok(job.run_cpu()), gpu: |ctx| gpu::scm_samples(ctx, &job))?;
        for (j, col) in cols.iter().enumerate() {
            if let Some(row) = col.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    column: self.nodes[j].name.clone(),
                    row,
                });
            }
        }
        let mut data = crate::Dataset::new();
        for (node, col) in self.nodes.iter().zip(cols) {
            data.push_column(&node.name, col)?;
        }
        Ok(Samples {
            data,
            backend: ran.label(""),
        })
    }
}

/// Joint samples of every node of a model ([`Scm::sample`]).
#[derive(Clone, Debug)]
pub struct Samples {
    /// One column per node, in topological order ([`Scm::names`]).
    pub data: crate::Dataset,
    /// Where they were drawn (with `(fallback: reason)` when a GPU failure made the sampling
    /// rerun on the CPU).
    pub backend: String,
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

/// An average causal effect with its Monte-Carlo standard error.
#[derive(Clone, Debug, Serialize)]
pub struct Effect {
    /// `E[Y | do(alternative)] − E[Y | do(reference)]`.
    pub ace: f64,
    /// Standard error from the paired (common-random-number) differences.
    pub std_error: f64,
    /// The backend that ran (with the fallback reason, if any).
    pub backend: String,
}

impl Scm {
    /// Average causal effect of `alternative` against `reference` on `outcome`, on the engine's
    /// backend: both settings are sampled with the same noise draws (those of setting 0 of
    /// [`Sweep`]'s contract) and the standard error comes from the per-sample differences (much
    /// smaller than from independent runs). On the CPU in f64 in constant memory; on a GPU one
    /// thread evaluates both settings of a sample in f32 and the device reduces the differences
    /// around a host pivot, as for sweeps (same tolerances and fallback).
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm};
    /// let m = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let engine = ceteris::Engine::cpu();
    /// let e = m.effect(&engine, &[Intervention::atomic("X", 1.0)], &[Intervention::atomic("X", 0.0)], "Y", 1000, 0).unwrap();
    /// assert!((e.ace - 2.0).abs() < 1e-9);
    /// ```
    pub fn effect(
        &self,
        engine: &Engine,
        alternative: &[Intervention],
        reference: &[Intervention],
        outcome: &str,
        samples: u64,
        seed: u64,
    ) -> Result<Effect> {
        if samples < 2 || samples > u32::MAX as u64 {
            return Err(Error::param("samples", "must be between 2 and 2^32 − 1"));
        }
        let y = self.node_index(outcome)?;
        let plans = [self.compile(alternative)?, self.compile(reference)?];
        let job = jobs::SweepJob {
            scm: self,
            plans: &plans,
            outcome: y,
            samples: samples as u32,
            stream: Stream::new(seed, STREAM_MONTE_CARLO),
            common_random_numbers: true,
            keep_values: false,
            contrast: true,
        };
        let (stats, ran) = run_on!(engine,
            cpu: job.run_cpu(None),
            gpu: |ctx| gpu::sweep_moments(ctx, &job, None))?;
        let d = &stats[0];
        Ok(Effect {
            ace: d.mean,
            std_error: (d.variance / samples as f64).sqrt(),
            backend: ran.label(""),
        })
    }
}

/// Summary of one setting of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepPoint {
    /// `node -> value` of the atomic interventions.
    pub interventions: BTreeMap<String, f64>,
    /// `node -> delta` of the shifts.
    pub shifts: BTreeMap<String, f64>,
    /// Monte-Carlo mean of the outcome.
    pub mean: f64,
    /// Sample variance (ddof = 1).
    pub variance: f64,
    /// Standard error of the mean.
    pub std_error: f64,
    /// Type-7 quantiles, keyed by probability as written.
    pub quantiles: BTreeMap<String, f64>,
    /// The same summaries of the further nodes asked for with [`Sweep::nodes`], from the same
    /// samples (absent from the JSON when none were asked for).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, NodeSummary>,
}

/// Summaries of one further node at one setting of a sweep ([`Sweep::nodes`]).
#[derive(Clone, Debug, Serialize)]
pub struct NodeSummary {
    /// Monte-Carlo mean.
    pub mean: f64,
    /// Sample variance (ddof = 1).
    pub variance: f64,
    /// Standard error of the mean.
    pub std_error: f64,
    /// Type-7 quantiles, keyed by probability as written.
    pub quantiles: BTreeMap<String, f64>,
}

/// The result of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepResult {
    /// Outcome node.
    pub outcome: String,
    /// Samples per setting.
    pub samples: u64,
    /// Where it ran (with `(fallback: reason)` when a GPU failure made it rerun on the CPU).
    pub backend: String,
    /// Compute seconds.
    pub seconds: f64,
    /// One point per setting.
    pub points: Vec<SweepPoint>,
}

/// A batch of intervention settings evaluated in one call.
#[derive(Clone, Debug)]
pub struct Sweep {
    outcome: String,
    nodes: Vec<String>,
    settings: Vec<Vec<Intervention>>,
    samples: u64,
    quantiles: Vec<f64>,
    seed: u64,
    common_random_numbers: bool,
}

impl Sweep {
    /// Settings to evaluate for `outcome` (10 000 samples, seed 0, no quantiles, common random
    /// numbers off).
    pub fn new(outcome: &str, settings: Vec<Vec<Intervention>>) -> Self {
        Sweep {
            outcome: outcome.into(),
            nodes: Vec::new(),
            settings,
            samples: 10_000,
            quantiles: Vec::new(),
            seed: 0,
            common_random_numbers: false,
        }
    }

    /// Further nodes to summarise at every setting, besides the outcome (each point's `nodes`).
    /// They are summarised over the same samples as the outcome (the noise contract does not
    /// depend on which node is summarised); each takes one more pass over its own ancestors.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("M", 0.0, &[("X", 1.0)], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("M", 2.0)], Noise::Normal { scale: 0.1 }),
    /// ]).unwrap();
    /// let r = Sweep::new("Y", vec![vec![Intervention::atomic("X", 1.0)]])
    ///     .nodes(&["M"])
    ///     .samples(20_000)
    ///     .run(&ceteris::Engine::cpu(), &scm)
    ///     .unwrap();
    /// let m = &r.points[0].nodes["M"];
    /// assert!((m.mean - 1.0).abs() < 5.0 * m.std_error);
    /// assert!((r.points[0].mean - 2.0 * m.mean).abs() < 0.01); // the same samples
    /// ```
    pub fn nodes(mut self, nodes: &[&str]) -> Self {
        self.nodes = nodes.iter().map(|n| n.to_string()).collect();
        self
    }

    /// Samples per setting.
    pub fn samples(mut self, n: u64) -> Self {
        self.samples = n;
        self
    }

    /// Quantiles of the outcome to report.
    pub fn quantiles(mut self, q: &[f64]) -> Self {
        self.quantiles = q.to_vec();
        self
    }

    /// Seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Every setting sees the same noise draws (lower-variance contrasts).
    pub fn common_random_numbers(mut self, on: bool) -> Self {
        self.common_random_numbers = on;
        self
    }

    /// Samples every setting on the engine's backend.
    ///
    /// On the CPU (rayon, f64) every chunk of 4096 samples of a setting is one work item,
    /// sampled column-wise 256 samples at a time (vectorised Philox and Box–Muller, only the
    /// nodes the outcome depends on) and reduced to its count, mean and sum of squared
    /// deviations; the chunks are merged in sample order, so the result does not depend on the
    /// thread count and memory does not grow with the samples unless quantiles are asked for.
    /// On a GPU engine the model is compiled into a flat program run by `shaders/sweep.wgsl`, one
    /// thread per sample, with the same noise words as the CPU (module docs), in f32: without
    /// quantiles, each workgroup of 256 samples reduces the count, sum and sum of squares of the
    /// outcome centred on a pivot (the f64 mean of the first 64 samples, drawn on the host) by a
    /// tree in workgroup memory, and the host adds the partials in f64; with quantiles, the
    /// outcome samples are read back in chunks and the mean, variance and type-7 quantiles are
    /// taken on the host in f64. Either way a point differs from the CPU's by the f32 rounding of
    /// the structural equations (in the GPU tests: means within 1e-6 of |mean| + sd, variances
    /// within 2e-5 relative). Models of any size run on the device: a thread keeps a node's
    /// value in a slot only until the last node that reads it, in a private array of 256 slots
    /// when the model needs no more (any chain, however long), else in a storage buffer of
    /// slots per thread, with fewer samples per dispatch so that it fits one binding. Samples
    /// that overflow f32 (where f64 may not), or any wgpu failure are [`Error::Gpu`]s, and
    /// under [`Engine::auto`] (or `cpu_fallback`) the sweep reruns on the CPU with the reason
    /// in `backend`.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Uniform { low: -1.0, high: 1.0 }),
    /// ]).unwrap();
    /// let sweep = Sweep::new("Y", vec![vec![Intervention::atomic("X", 0.0)], vec![Intervention::atomic("X", 1.0)]])
    ///     .samples(4000)
    ///     .common_random_numbers(true);
    /// let r = sweep.run(&ceteris::Engine::auto(), &scm).unwrap();
    /// // the same noise in both settings: the contrast is exact up to rounding
    /// assert!((r.points[1].mean - r.points[0].mean - 2.0).abs() < 1e-5);
    /// assert!((r.points[0].variance - 1.0 / 3.0).abs() < 0.05);
    /// ```
    pub fn run(&self, engine: &Engine, scm: &Scm) -> Result<SweepResult> {
        self.run_with_progress(engine, scm, None)
    }

    /// [`Sweep::run`] with a progress callback `(done, total)` counted in samples over all
    /// settings (`total` = settings × samples). On the CPU it is called from worker threads after
    /// each block of samples, on a GPU after each dispatch; the library never prints.
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm, Sweep};
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let scm = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let last = AtomicU64::new(0);
    /// let tick = |done: u64, total: u64| { last.fetch_max(done, Ordering::Relaxed); assert_eq!(total, 2000); };
    /// let sweep = Sweep::new("Y", vec![vec![Intervention::atomic("X", 0.0)], vec![]]).samples(1000);
    /// sweep.run_with_progress(&ceteris::Engine::cpu(), &scm, Some(&tick)).unwrap();
    /// assert_eq!(last.into_inner(), 2000);
    /// ```
    pub fn run_with_progress(
        &self,
        engine: &Engine,
        scm: &Scm,
        progress: Option<crate::ProgressFn>,
    ) -> Result<SweepResult> {
        let start = Instant::now();
        if self.settings.is_empty() {
            return Err(Error::param("do", "the sweep has no settings"));
        }
        if self.samples < 2 || self.samples > u32::MAX as u64 {
            return Err(Error::param("samples", "must be between 2 and 2^32 − 1"));
        }
        if let Some(q) = self.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(Error::param("quantiles", format!("{q} is not in [0, 1]")));
        }
        let y = scm.node_index(&self.outcome)?;
        let mut targets = vec![y];
        for name in &self.nodes {
            let j = scm.node_index(name)?;
            if targets.contains(&j) {
                return Err(Error::param(
                    name,
                    format!("`{name}` is asked for twice (the outcome or --nodes)"),
                ));
            }
            targets.push(j);
        }
        let plans = self
            .settings
            .iter()
            .enumerate()
            .map(|(s, set)| {
                scm.compile(set)
                    .map_err(|e| within(e, format_args!("setting {s}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let per = self.settings.len() as u64 * self.samples;
        let count = targets.len() as u64;
        let mut runs = Vec::with_capacity(targets.len());
        let mut backend = String::new();
        for (k, &node) in targets.iter().enumerate() {
            let job = jobs::SweepJob {
                scm,
                plans: &plans,
                outcome: node,
                samples: self.samples as u32,
                stream: Stream::new(self.seed, STREAM_MONTE_CARLO),
                common_random_numbers: self.common_random_numbers,
                keep_values: !self.quantiles.is_empty(),
                contrast: false,
            };
            // one pass per node: progress counts over all of them
            let offset = k as u64 * per;
            let tick = |done: u64, _total: u64| {
                if let Some(p) = progress {
                    p(offset + done, count * per);
                }
            };
            let (stats, ran) = run_on!(engine,
                cpu: job.run_cpu(Some(&tick)),
                gpu: |ctx| gpu::sweep_moments(ctx, &job, Some(&tick)))?;
            // report a fallback if any pass had one
            if k == 0 || ran.fallback.is_some() {
                backend = ran.label("");
            }
            runs.push(stats);
        }
        let n = self.samples as f64;
        let summary = |st: &jobs::SettingStats| {
            let mut quantiles = BTreeMap::new();
            for &q in &self.quantiles {
                quantiles.insert(
                    q.to_string(),
                    crate::bootstrap::quantile_type7(&st.sorted, q),
                );
            }
            NodeSummary {
                mean: st.mean,
                variance: st.variance,
                std_error: (st.variance / n).sqrt(),
                quantiles,
            }
        };
        let points = self
            .settings
            .iter()
            .enumerate()
            .map(|(s, set)| {
                let mut interventions = BTreeMap::new();
                let mut shifts = BTreeMap::new();
                for iv in set {
                    match iv {
                        Intervention::Atomic { node, value } => {
                            interventions.insert(node.clone(), *value);
                        }
                        Intervention::Shift { node, delta } => {
                            shifts.insert(node.clone(), *delta);
                        }
                    }
                }
                let y = summary(&runs[0][s]);
                SweepPoint {
                    interventions,
                    shifts,
                    mean: y.mean,
                    variance: y.variance,
                    std_error: y.std_error,
                    quantiles: y.quantiles,
                    nodes: self
                        .nodes
                        .iter()
                        .zip(&runs[1..])
                        .map(|(name, r)| (name.clone(), summary(&r[s])))
                        .collect(),
                }
            })
            .collect();
        Ok(SweepResult {
            outcome: self.outcome.clone(),
            samples: self.samples,
            backend,
            seconds: start.elapsed().as_secs_f64(),
            points,
        })
    }
}
