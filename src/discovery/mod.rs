//! Causal discovery on batched conditional-independence tests: PC-stable and CD-NOD.
//!
//! **This folder owns discovery** (`mod.rs`: the [`Pc`] search and CD-NOD; `graph.rs`: the
//! graph, background knowledge and orientation rules). It runs no kernels of its own: **it
//! imports** the independence tests' public API ([`Tester`] batches), `data` and `error`.
//!
//! [`Pc`] runs the PC-stable skeleton search level by level. All tests of one level (conditioning
//! sets of one size) go to the [`Tester`] as one batch, which shares kernel factors and
//! Z-regressions among them and runs them in parallel. Then unshielded colliders are oriented
//! from the separating sets and Meek's rules complete the CPDAG.
//!
//! With the same test and the same p-values the graph equals causal-learn 0.1.4.8's
//! `pc(data, alpha, indep_test, stable=True, uc_rule=0, uc_priority=2)`, whose conventions are
//! mirrored:
//! * level `d` runs while some node has more than `d` neighbours (and `d ≤ max_depth`); every
//!   conditioning set `S ⊆ adj(x) \ {y}` of size `d` is tested, from both ends of the edge, and
//!   the edge is removed when any `p > alpha` (a p-value equal to alpha counts as dependence);
//! * the separating set of a removed pair is the **union** of every set that separated it at
//!   that level (causal-learn keeps every such set and asks whether the middle node is in any);
//! * a test of `(x, y | S)` is the test of `(min, max | S)`: the lower-indexed column is X (this
//!   matters for KCI, whose X is augmented with Z);
//! * collider conflicts: priority 2, "prioritise existing colliders" — `x → y ← z` is oriented
//!   unless `y → x` or `y → z` already is; triples and Meek's rules are visited in causal-learn's
//!   order.
//!
//! Documented differences: a Meek orientation that would close a directed cycle is skipped by an
//! exact reachability check (causal-learn's ancestor cache is not always transitively closed, so
//! in conflicting graphs it may orient one); required edges are never tested away, and pairs
//! forbidden in both directions are removed before the search without tests (causal-learn tests
//! them and may drop a required edge).
//!
//! **CD-NOD** ([`Pc::domain`]): the domain or time index `C` joins the variables as the last node,
//! the skeleton is found as above, every edge at `C` is oriented out of `C` (nothing causes the
//! domain), and colliders and Meek's rules then orient further edges — the "generalisation of
//! invariance" of Huang et al. (2020). The variables adjacent to `C` are those whose causal
//! mechanism changes across domains ([`DiscoveryResult::changing`]).
//!
//! ```
//! use ceteris::{Dataset, Engine, discovery::Pc, independence::IndependenceTest};
//! // a → c ← b: the collider is found from data
//! let n = 400;
//! let u = |k: usize, i: usize| (((i * 7919 + k * 104729) % 1009) as f64 / 1009.0) - 0.5;
//! let a: Vec<f64> = (0..n).map(|i| u(1, i)).collect();
//! let b: Vec<f64> = (0..n).map(|i| u(2, (i * 13) % n)).collect();
//! let c: Vec<f64> = (0..n).map(|i| a[i] + b[i] + 0.3 * u(3, (i * 31) % n)).collect();
//! let data = Dataset::new().with_column("a", a).unwrap().with_column("b", b).unwrap()
//!     .with_column("c", c).unwrap();
//! let r = Pc::new(IndependenceTest::fisher_z()).alpha(0.01).run(&Engine::cpu(), &data, &[]).unwrap();
//! assert_eq!(r.edges.len(), 2);
//! assert!(r.edges.iter().all(|e| e.to == "c" && e.kind == ceteris::discovery::EdgeKind::Directed));
//! ```

mod graph;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::independence::{IndependenceTest, Query, TestKind, Tester};
use crate::Engine;
use graph::{Constraints, Marks};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

/// Progress of a search: `(level, tests done, tests in the level)`.
pub type LevelProgress<'a> = &'a (dyn Fn(usize, u64, u64) + Sync);

/// Background knowledge: forbidden and required directed edges and a tier order (an edge from a
/// later tier to an earlier one is forbidden), as causal-learn's `BackgroundKnowledge`.
///
/// ```
/// use ceteris::discovery::Knowledge;
/// let k = Knowledge::new().forbid("y", "x").require("a", "b").tiers(&[&["age", "sex"], &["x", "y"]]);
/// assert!(k.is_forbidden("x", "age") && !k.is_forbidden("age", "x"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Knowledge {
    forbidden: Vec<(String, String)>,
    required: Vec<(String, String)>,
    tiers: Vec<Vec<String>>,
}

impl Knowledge {
    /// No knowledge.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forbids the directed edge `from → to`.
    pub fn forbid(mut self, from: &str, to: &str) -> Self {
        self.forbidden.push((from.into(), to.into()));
        self
    }

    /// Requires the directed edge `from → to` (kept in the skeleton and oriented).
    pub fn require(mut self, from: &str, to: &str) -> Self {
        self.required.push((from.into(), to.into()));
        self
    }

    /// Tiers, earliest first: no edge may point from a later tier into an earlier one.
    pub fn tiers(mut self, tiers: &[&[&str]]) -> Self {
        self.tiers = tiers
            .iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect())
            .collect();
        self
    }

    /// Whether there is no knowledge at all.
    pub fn is_empty(&self) -> bool {
        self.forbidden.is_empty() && self.required.is_empty() && self.tiers.is_empty()
    }

    fn tier(&self, node: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t.iter().any(|s| s == node))
    }

    /// Whether `from → to` is forbidden (explicitly or by the tiers).
    pub fn is_forbidden(&self, from: &str, to: &str) -> bool {
        self.forbidden.iter().any(|(a, b)| a == from && b == to)
            || matches!((self.tier(from), self.tier(to)), (Some(a), Some(b)) if a > b)
    }

    /// Whether `from → to` is required.
    pub fn is_required(&self, from: &str, to: &str) -> bool {
        self.required.iter().any(|(a, b)| a == from && b == to)
    }

    /// Checks names against the nodes and the rules against each other.
    fn validate(&self, nodes: &[String]) -> Result<()> {
        let known = |s: &str| -> Result<()> {
            if nodes.iter().any(|n| n == s) {
                Ok(())
            } else {
                Err(Error::param(
                    "knowledge",
                    format!("unknown node `{s}` (nodes: {})", nodes.join(", ")),
                ))
            }
        };
        for (a, b) in self.forbidden.iter().chain(&self.required) {
            known(a)?;
            known(b)?;
            if a == b {
                return Err(Error::param(
                    "knowledge",
                    format!("edge `{a}` → `{b}` is a self-loop"),
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for t in &self.tiers {
            for s in t {
                known(s)?;
                if !seen.insert(s) {
                    return Err(Error::param(
                        "knowledge",
                        format!("node `{s}` is in more than one tier"),
                    ));
                }
            }
        }
        for (a, b) in &self.required {
            if self.is_forbidden(a, b) {
                return Err(Error::param(
                    "knowledge",
                    format!("edge `{a}` → `{b}` is both required and forbidden (by a rule or the tiers)"),
                ));
            }
            if self.is_required(b, a) {
                return Err(Error::param(
                    "knowledge",
                    format!("edges `{a}` → `{b}` and `{b}` → `{a}` are both required"),
                ));
            }
        }
        Ok(())
    }
}

/// Knowledge resolved to node indices.
struct Indexed {
    forbidden: Vec<bool>,
    required: Vec<bool>,
    p: usize,
}

impl Indexed {
    fn new(k: &Knowledge, nodes: &[String]) -> Indexed {
        let p = nodes.len();
        let mut forbidden = vec![false; p * p];
        let mut required = vec![false; p * p];
        for (i, a) in nodes.iter().enumerate() {
            for (j, b) in nodes.iter().enumerate() {
                forbidden[i * p + j] = k.is_forbidden(a, b);
                required[i * p + j] = k.is_required(a, b);
            }
        }
        Indexed {
            forbidden,
            required,
            p,
        }
    }
}

impl Constraints for Indexed {
    fn forbidden(&self, from: usize, to: usize) -> bool {
        self.forbidden[from * self.p + to]
    }
    fn required(&self, from: usize, to: usize) -> bool {
        self.required[from * self.p + to]
    }
}

/// Kind of an edge of the output graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// `from → to`.
    Directed,
    /// `from — to` (orientation not identified).
    Undirected,
    /// `from ↔ to` (only from conflicting knowledge or tests).
    Bidirected,
}

/// An edge of the output graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Edge {
    /// Tail (or first node, for undirected and bidirected edges).
    pub from: String,
    /// Head (or second node).
    pub to: String,
    /// Edge kind.
    pub kind: EdgeKind,
}

/// A test whose p-value lies within [`Pc::borderline`] of alpha: its decision could flip under
/// another implementation's rounding (or the GPU's f32 arithmetic).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Borderline {
    /// X column.
    pub x: String,
    /// Y column.
    pub y: String,
    /// Conditioning columns.
    pub z: Vec<String>,
    /// Its p-value.
    pub p_value: f64,
}

/// Tests run at one level.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Level {
    /// Conditioning-set size.
    pub depth: usize,
    /// Distinct tests run.
    pub tests: usize,
    /// Edges removed at this level.
    pub removed: usize,
    /// Seconds spent.
    pub seconds: f64,
}

/// The output of a search.
#[derive(Clone, Debug, Serialize)]
pub struct DiscoveryResult {
    /// Node names (for CD-NOD the domain column is last).
    pub nodes: Vec<String>,
    /// Edges of the CPDAG, each pair once, in node order.
    pub edges: Vec<Edge>,
    /// Separating sets of the non-adjacent pairs that were tested apart, keyed `"a|b"`.
    pub sepsets: BTreeMap<String, Vec<String>>,
    /// Distinct tests run.
    pub tests_run: usize,
    /// Per-level counts and times.
    pub levels: Vec<Level>,
    /// Tests whose p-value lies within the borderline tolerance of alpha.
    pub borderline: Vec<Borderline>,
    /// CD-NOD: the variables adjacent to the domain column (their mechanisms change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changing: Option<Vec<String>>,
    /// The test used.
    pub test: String,
    /// Significance level.
    pub alpha: f64,
    /// Where the tests ran.
    pub backend: String,
    /// Compute seconds.
    pub seconds: f64,
    #[serde(skip)]
    marks: Vec<i8>,
}

impl DiscoveryResult {
    /// The endpoint-mark matrix in causal-learn's `cg.G.graph` encoding (row-major `p × p`):
    /// `i → j` is `m[i][j] = −1, m[j][i] = 1`; undirected `−1, −1`; bidirected `1, 1`.
    pub fn marks(&self) -> &[i8] {
        &self.marks
    }

    /// Graphviz text of the graph: every name double-quoted with `"` and `\` escaped as `\"`
    /// and `\\`; undirected edges carry `[dir=none]`, bidirected ones `[dir=both]`
    /// (`ceteris::scm::read_graph` reads it back).
    ///
    /// ```
    /// # use ceteris::{Dataset, Engine, discovery::Pc, independence::IndependenceTest};
    /// let data = Dataset::synthetic(300, 1);
    /// let r = Pc::new(IndependenceTest::fisher_z()).run(&Engine::cpu(), &data, &["x", "t", "y"]).unwrap();
    /// assert!(r.to_dot().starts_with("digraph"));
    /// ```
    pub fn to_dot(&self) -> String {
        // names in double quotes with `"` and `\` escaped (`ceteris::scm::read_graph` reads them)
        let q = |n: &str| format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""));
        let mut s = String::from("digraph cpdag {\n");
        for n in &self.nodes {
            s.push_str(&format!("  {};\n", q(n)));
        }
        for e in &self.edges {
            let attr = match e.kind {
                EdgeKind::Directed => "",
                EdgeKind::Undirected => " [dir=none]",
                EdgeKind::Bidirected => " [dir=both]",
            };
            s.push_str(&format!("  {} -> {}{attr};\n", q(&e.from), q(&e.to)));
        }
        s.push_str("}\n");
        s
    }

    /// Structural Hamming distance to the CPDAG of a DAG given as `(child, parents)`: node pairs
    /// whose edges differ (missing, extra or differently marked), each counted once.
    ///
    /// ```
    /// # use ceteris::{Dataset, Engine, discovery::Pc, independence::IndependenceTest};
    /// let data = Dataset::synthetic(300, 1);
    /// let r = Pc::new(IndependenceTest::fisher_z()).run(&Engine::cpu(), &data, &["x", "t", "y"]).unwrap();
    /// let d = r.shd_to_dag(&[("t", &["x"]), ("y", &["t", "x"])]).unwrap();
    /// assert!(d <= 3);
    /// ```
    pub fn shd_to_dag(&self, dag: &[(&str, &[&str])]) -> Result<usize> {
        let idx = |s: &str| {
            self.nodes.iter().position(|n| n == s).ok_or_else(|| {
                Error::param(
                    "dag",
                    format!("unknown node `{s}` (nodes: {})", self.nodes.join(", ")),
                )
            })
        };
        let mut parents = vec![Vec::new(); self.nodes.len()];
        for (child, ps) in dag {
            let c = idx(child)?;
            for p in *ps {
                parents[c].push(idx(p)?);
            }
        }
        let truth = graph::cpdag(&parents);
        let mine = Marks::from_vec(self.nodes.len(), self.marks.clone());
        Ok(graph::shd(&mine, &truth))
    }
}

/// PC-stable (and CD-NOD with [`Pc::domain`]) on a conditional-independence test.
///
/// Tests: any [`IndependenceTest`] — `kci`, `rcot`, `rcit`, `fisher_z`, and `hsic`, which runs
/// HSIC for the unconditional tests of level 0 and KCI (same kernel and width options) for the
/// conditional ones.
#[derive(Clone, Debug)]
pub struct Pc {
    test: IndependenceTest,
    alpha: f64,
    max_depth: Option<usize>,
    knowledge: Knowledge,
    domain: Option<String>,
    borderline: Option<f64>,
}

impl Pc {
    /// PC-stable with `test`, alpha 0.05, no depth limit, no knowledge.
    pub fn new(test: IndependenceTest) -> Self {
        Pc {
            test,
            alpha: 0.05,
            max_depth: None,
            knowledge: Knowledge::new(),
            domain: None,
            borderline: None,
        }
    }

    /// Significance level, in (0, 1).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Largest conditioning-set size (levels `0..=depth` run).
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.max_depth = depth;
        self
    }

    /// Background knowledge.
    pub fn knowledge(mut self, k: Knowledge) -> Self {
        self.knowledge = k;
        self
    }

    /// CD-NOD: the column holding the domain or time index.
    pub fn domain(mut self, column: Option<&str>) -> Self {
        self.domain = column.map(str::to_string);
        self
    }

    /// Tolerance around alpha within which a test is reported as borderline. The default is the
    /// test's documented p-value agreement with causal-learn: 1e-4 for the kernel tests, 1e-9
    /// for Fisher-z on the CPU (a closed form in f64) and 1e-4 for Fisher-z on a GPU engine
    /// (partial correlations in f32); 1e-3 for KCI and HSIC and 2e-3 for RCoT/RCIT on a GPU
    /// engine (their documented CPU–GPU agreement of p-values).
    pub fn borderline(mut self, tol: f64) -> Self {
        self.borderline = Some(tol);
        self
    }

    fn borderline_tol(&self, gpu: bool) -> f64 {
        self.borderline.unwrap_or(match self.test.kind() {
            TestKind::FisherZ if !gpu => 1e-9,
            TestKind::Rcot | TestKind::Rcit if gpu => 2e-3,
            TestKind::Kci | TestKind::Hsic if gpu => 1e-3,
            _ => 1e-4,
        })
    }

    /// Runs the search on `columns` of `data` (all columns when empty; the domain column is
    /// added last for CD-NOD).
    pub fn run(
        &self,
        engine: &Engine,
        data: &Dataset,
        columns: &[&str],
    ) -> Result<DiscoveryResult> {
        self.run_with_progress(engine, data, columns, None)
    }

    /// [`Pc::run`] with a progress callback `(level, tests done, tests in the level)`.
    pub fn run_with_progress(
        &self,
        engine: &Engine,
        data: &Dataset,
        columns: &[&str],
        progress: Option<LevelProgress>,
    ) -> Result<DiscoveryResult> {
        let start = Instant::now();
        let nodes = self.nodes(data, columns)?;
        let conditional = if matches!(self.test.kind(), TestKind::Hsic | TestKind::HsicU) {
            self.test.clone().into_kci()
        } else {
            self.test.clone()
        };
        let mut backend = String::new();
        let gpu = engine.kind() == crate::BackendKind::Gpu;
        let mut res = self.search(&nodes, gpu, progress, |depth, queries, level_progress| {
            // one tester per level: factors of single columns are cheap to rebuild, and the
            // Z-regressions of one level's conditioning sets are not needed by the next
            let t = if depth == 0 { &self.test } else { &conditional };
            let tester = Tester::new(engine, data, t.clone());
            let out = tester.batch_with_progress(queries, level_progress);
            out.into_iter()
                .map(|r| {
                    r.map(|r| {
                        if backend.is_empty() {
                            backend = r.backend.clone();
                        }
                        r.p_value
                    })
                })
                .collect()
        })?;
        res.backend = if backend.is_empty() {
            engine.cpu_name()
        } else {
            backend
        };
        res.seconds = start.elapsed().as_secs_f64();
        Ok(res)
    }

    /// Runs the search with a caller-supplied test: `oracle` gets one level's queries `(X, Y,
    /// Z)` and returns their p-values in order (e.g. a d-separation oracle returning 1 or 0, or
    /// another library's test).
    ///
    /// ```
    /// use ceteris::discovery::Pc;
    /// use ceteris::independence::{IndependenceTest, Query};
    /// // the chain a → b → c: a ⫫ c | b only
    /// let oracle = |qs: &[Query]| qs.iter().map(|(x, y, z)| {
    ///     let sep = x[0] == "a" && y[0] == "c" && z == &vec!["b".to_string()];
    ///     Ok(if sep { 1.0 } else { 0.0 })
    /// }).collect();
    /// let r = Pc::new(IndependenceTest::kci()).run_with_oracle(&["a", "b", "c"], oracle).unwrap();
    /// assert_eq!(r.edges.len(), 2);
    /// ```
    pub fn run_with_oracle(
        &self,
        nodes: &[&str],
        mut oracle: impl FnMut(&[Query]) -> Vec<Result<f64>>,
    ) -> Result<DiscoveryResult> {
        let start = Instant::now();
        let nodes: Vec<String> = nodes.iter().map(|s| s.to_string()).collect();
        check_distinct(&nodes)?;
        let mut res = self.search(&nodes, false, None, |_, q, _| oracle(q))?;
        res.backend = "oracle".into();
        res.seconds = start.elapsed().as_secs_f64();
        Ok(res)
    }

    /// Validated node list.
    fn nodes(&self, data: &Dataset, columns: &[&str]) -> Result<Vec<String>> {
        let mut nodes: Vec<String> = if columns.is_empty() {
            data.names()
                .iter()
                .filter(|n| Some(n.as_str()) != self.domain.as_deref())
                .cloned()
                .collect()
        } else {
            columns.iter().map(|s| s.to_string()).collect()
        };
        if let Some(d) = &self.domain {
            if nodes.contains(d) {
                return Err(Error::param(
                    "domain",
                    format!("the domain column `{d}` is also listed among the columns"),
                ));
            }
            let c = data.finite_column(d)?;
            if c.iter().all(|&v| v == c[0]) {
                return Err(Error::param(
                    "domain",
                    format!("the domain column `{d}` takes one value only; CD-NOD needs at least two domains"),
                ));
            }
            nodes.push(d.clone());
        }
        check_distinct(&nodes)?;
        if nodes.len() - usize::from(self.domain.is_some()) < 2 {
            return Err(Error::param(
                "columns",
                format!(
                    "causal discovery needs at least two columns, got {}",
                    nodes.len()
                ),
            ));
        }
        // with test-wise deletion of missing values (a NaN marker) NaN is allowed; each test
        // drops its own missing rows
        let missing_ok = self.test.deletion.is_some_and(f64::is_nan);
        for n in &nodes {
            let c: Vec<f64> = if missing_ok {
                let c = data.column(n)?;
                if let Some(row) = c.iter().position(|v| v.is_infinite()) {
                    return Err(Error::NonFinite {
                        column: n.clone(),
                        row,
                    });
                }
                c.iter().copied().filter(|v| !v.is_nan()).collect()
            } else {
                data.finite_column(n)?.to_vec()
            };
            if c.is_empty() {
                return Err(Error::EmptyData(format!("column `{n}` has no values")));
            }
            if c.iter().all(|&v| v == c[0]) {
                return Err(Error::ConstantColumn(n.clone()));
            }
        }
        Ok(nodes)
    }

    /// The search proper, on node names, with `run(level, queries, progress)` giving p-values.
    fn search(
        &self,
        nodes: &[String],
        gpu: bool,
        progress: Option<LevelProgress>,
        mut run: impl FnMut(usize, &[Query], Option<crate::ProgressFn>) -> Vec<Result<f64>>,
    ) -> Result<DiscoveryResult> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::param(
                "alpha",
                format!("{} is not in (0, 1)", self.alpha),
            ));
        }
        let tol = self.borderline_tol(gpu);
        if tol.is_nan() || tol < 0.0 {
            return Err(Error::param("borderline", "must be a non-negative number"));
        }
        if nodes.len() < 2 {
            return Err(Error::param(
                "columns",
                format!(
                    "causal discovery needs at least two columns, got {}",
                    nodes.len()
                ),
            ));
        }
        self.knowledge.validate(nodes)?;
        let p = nodes.len();
        let know = Indexed::new(&self.knowledge, nodes);
        let mut g = Marks::complete(p);
        let mut sepsets: HashMap<(usize, usize), BTreeSet<usize>> = HashMap::new();
        let locked = |a: usize, b: usize| know.required(a, b) || know.required(b, a);
        for a in 0..p {
            for b in a + 1..p {
                if know.forbidden(a, b) && know.forbidden(b, a) && !locked(a, b) {
                    g.remove(a, b);
                    sepsets.insert((a, b), BTreeSet::new());
                }
            }
        }
        let mut levels = Vec::new();
        let mut borderline = Vec::new();
        let mut tests_run = 0;
        let mut depth = 0;
        while g.max_degree() > depth && self.max_depth.is_none_or(|m| depth <= m) {
            let t0 = Instant::now();
            let adj: Vec<Vec<usize>> = (0..p).map(|i| g.neighbours(i)).collect();
            // every test of the level, deduplicated by (min, max, S)
            let mut index: HashMap<(usize, usize, Vec<usize>), usize> = HashMap::new();
            let mut keys: Vec<(usize, usize, Vec<usize>)> = Vec::new();
            let mut plan: Vec<(usize, usize, Vec<usize>)> = Vec::new(); // (x, y, test indices)
            for (x, nx) in adj.iter().enumerate() {
                for &y in nx {
                    if locked(x, y) {
                        continue;
                    }
                    let rest: Vec<usize> = nx.iter().copied().filter(|&v| v != y).collect();
                    let mut ids = Vec::new();
                    for s in combinations(&rest, depth) {
                        let key = (x.min(y), x.max(y), s);
                        let id = *index.entry(key.clone()).or_insert_with(|| {
                            keys.push(key);
                            keys.len() - 1
                        });
                        ids.push(id);
                    }
                    plan.push((x, y, ids));
                }
            }
            let queries: Vec<Query> = keys
                .iter()
                .map(|(a, b, s)| {
                    (
                        vec![nodes[*a].clone()],
                        vec![nodes[*b].clone()],
                        s.iter().map(|&i| nodes[i].clone()).collect(),
                    )
                })
                .collect();
            let tick = |done: u64, total: u64| {
                if let Some(f) = progress {
                    f(depth, done, total);
                }
            };
            let pv = run(depth, &queries, Some(&tick));
            if pv.len() != queries.len() {
                return Err(Error::param(
                    "test",
                    format!(
                        "the test returned {} p-values for {} queries",
                        pv.len(),
                        queries.len()
                    ),
                ));
            }
            let pv: Vec<f64> = pv.into_iter().collect::<Result<_>>()?;
            for (k, &pval) in pv.iter().enumerate() {
                if !(0.0..=1.0).contains(&pval) {
                    return Err(Error::param(
                        "test",
                        format!("p-value {pval} of test {k} is not in [0, 1]"),
                    ));
                }
                if (pval - self.alpha).abs() <= tol {
                    borderline.push(Borderline {
                        x: queries[k].0[0].clone(),
                        y: queries[k].1[0].clone(),
                        z: queries[k].2.clone(),
                        p_value: pval,
                    });
                }
            }
            tests_run += keys.len();
            let mut removal: BTreeSet<(usize, usize)> = BTreeSet::new();
            for (x, y, ids) in &plan {
                let mut sep = BTreeSet::new();
                let mut independent = false;
                for &id in ids {
                    if pv[id] > self.alpha {
                        independent = true;
                        sep.extend(keys[id].2.iter().copied());
                    }
                }
                let pair = ((*x).min(*y), (*x).max(*y));
                if independent {
                    removal.insert(pair);
                }
                if removal.contains(&pair) {
                    sepsets.entry(pair).or_default().extend(sep);
                }
            }
            for &(a, b) in &removal {
                g.remove(a, b);
            }
            levels.push(Level {
                depth,
                tests: keys.len(),
                removed: removal.len(),
                seconds: t0.elapsed().as_secs_f64(),
            });
            depth += 1;
        }
        // orientation
        if self.domain.is_some() {
            let c = p - 1;
            for v in g.neighbours(c) {
                g.direct(c, v);
            }
        }
        if !self.knowledge.is_empty() {
            graph::orient_by_knowledge(&mut g, &know);
        }
        let sep = |a: usize, b: usize| {
            sepsets
                .get(&(a.min(b), a.max(b)))
                .cloned()
                .unwrap_or_default()
        };
        graph::colliders(&mut g, &sep, &know);
        graph::meek(&mut g, &know);
        let mut edges = Vec::new();
        for i in 0..p {
            for j in i + 1..p {
                let (a, b) = (g.get(i, j), g.get(j, i));
                let e = |from: usize, to: usize, kind| Edge {
                    from: nodes[from].clone(),
                    to: nodes[to].clone(),
                    kind,
                };
                match (a, b) {
                    (0, _) => {}
                    (graph::TAIL, graph::ARROW) => edges.push(e(i, j, EdgeKind::Directed)),
                    (graph::ARROW, graph::TAIL) => edges.push(e(j, i, EdgeKind::Directed)),
                    (graph::ARROW, graph::ARROW) => edges.push(e(i, j, EdgeKind::Bidirected)),
                    _ => edges.push(e(i, j, EdgeKind::Undirected)),
                }
            }
        }
        let sepsets_out = sepsets
            .iter()
            .filter(|(&(a, b), _)| !g.adjacent(a, b))
            .map(|(&(a, b), s)| {
                (
                    format!("{}|{}", nodes[a], nodes[b]),
                    s.iter().map(|&i| nodes[i].clone()).collect(),
                )
            })
            .collect();
        let changing = self.domain.as_ref().map(|_| {
            g.neighbours(p - 1)
                .into_iter()
                .map(|v| nodes[v].clone())
                .collect()
        });
        Ok(DiscoveryResult {
            nodes: nodes.to_vec(),
            edges,
            sepsets: sepsets_out,
            tests_run,
            levels,
            borderline,
            changing,
            test: self.test.name().into(),
            alpha: self.alpha,
            backend: String::new(),
            seconds: 0.0,
            marks: g.into_vec(),
        })
    }
}

fn check_distinct(nodes: &[String]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for n in nodes {
        if !seen.insert(n) {
            return Err(Error::param(
                "columns",
                format!("column `{n}` is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Size-`k` subsets of `items` in lexicographic order (as Python's `itertools.combinations`).
fn combinations(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    let n = items.len();
    if k > n {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..k).collect();
    let mut out = Vec::new();
    loop {
        out.push(idx.iter().map(|&i| items[i]).collect());
        let Some(i) = (0..k).rev().find(|&i| idx[i] != i + n - k) else {
            return out;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::combinations;

    #[test]
    fn combinations_match_itertools() {
        assert_eq!(combinations(&[1, 3, 5], 0), vec![Vec::<usize>::new()]);
        assert_eq!(
            combinations(&[1, 3, 5, 7], 2),
            vec![
                vec![1, 3],
                vec![1, 5],
                vec![1, 7],
                vec![3, 5],
                vec![3, 7],
                vec![5, 7]
            ]
        );
        assert!(combinations(&[1], 2).is_empty());
    }
}
