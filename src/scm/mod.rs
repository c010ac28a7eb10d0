//! Structural causal models (the `scm-json/v1` format), interventions and sweeps.
//!
//! **This folder owns the SCM capability**, kernels included: the model (`mod.rs`, `model.rs`,
//! `json.rs`), sweeps and effects (`sweep.rs`), samples (`sample.rs`), counterfactuals
//! (`counterfactual.rs`), fits (`fit.rs`, logistic nodes for 0/1 columns), graphs for fits and
//! the DAGs of a CPDAG (`graph.rs`), the one node-name rule and name quoting (`names.rs`), `jobs.rs` (what one kernel call computes), `block.rs`
//! and `cpu.rs` (blocks of samples node by node on rayon, f64), and `program.rs` with `gpu.rs`
//! (the model compiled to a flat program for `shaders/sweep.wgsl`, and its dispatch).
//!
//! **It imports** the engine (`run_on!`), the device context (from `gpu.rs` only) and the leaves
//! (`data`, `rng`, `stats`, `error`); of another capability only the bootstrap's public API, from
//! `effect_ci.rs` ([`EffectInterval`]: bootstrap intervals of a fitted model's effect).
//!
//! The model, its JSON reader/writer with validation and a Rust construction API; Monte-Carlo
//! sweeps of intervention sets on the engine's backend ([`Sweep`]; the GPU's `shaders/sweep.wgsl`
//! or rayon on the CPU, counter-based noise so a sample is the same for any thread count and on
//! either backend up to f32 rounding); exact answers for linear models ([`Scm::exact`]); average
//! causal effects ([`Scm::effect`]); raw samples ([`Scm::sample`]); counterfactuals for one
//! observed unit ([`Scm::counterfactual`]) or a data set of them ([`Scm::counterfactuals`]); and
//! least-squares and logistic fits from data and a graph ([`Scm::fit`], [`read_graph`],
//! [`Graph::dags`]); and bootstrap intervals of the effect of a model fitted to data
//! ([`EffectInterval`]).
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
//! assert!((res.points[0].mean - 3.0).abs() < 5.0 * res.points[0].mc_error);
//! ```

mod block;
mod counterfactual;
mod cpu;
mod effect_ci;
mod fit;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
mod graph;
mod ida;
mod jobs;
mod json;
mod model;
mod names;
#[cfg(feature = "gpu")]
mod program;
mod sample;
mod sweep;

pub use counterfactual::{Counterfactual, Counterfactuals};
pub use effect_ci::{EffectInterval, EffectIntervalResult};
pub use fit::{parse_graph, FitKind};
pub use graph::{read_graph, Graph, MAX_DAGS};
pub use ida::{possible_effects, PossibleEffects};
pub use model::{Func, Intervention, Node, NodeType, Noise, Term};
pub use names::{check_name, quote_name, split_once_unquoted, split_unquoted, unquote_name};
pub use sample::Samples;
pub use sweep::{Effect, NodeSummary, Sweep, SweepPoint, SweepResult};

use crate::error::{Error, Result};
use crate::rng::{open_unit, Stream};
use model::FUNCS;
use serde::Serialize;
use std::collections::HashMap;

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
            check_name(&n.name, "model")?;
            if pos.insert(n.name.clone(), i).is_some() {
                return Err(perr(&n.name, format!("duplicate node name `{}`", n.name)));
            }
        }
        for n in &nodes {
            for p in n.parents() {
                check_name(&p, &n.name)?;
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
