//! Causal discovery on batched conditional-independence tests: PC (stable or original, every
//! collider rule and priority of causal-learn), FCI and CD-NOD.
//!
//! **This folder owns discovery** (`mod.rs`: the result types, the [`Pc`] search and CD-NOD;
//! `skeleton.rs`: the level-batched skeleton PC and FCI share; `knowledge.rs`: [`Knowledge`];
//! `fci.rs`: [`Fci`], its possible-d-sep stage and orientation rules R0–R10; `pag.rs`: the PAG
//! those rules edit; `graph.rs`: the graph and PC's orientation rules). It runs no kernels of its own: **it
//! imports** the independence tests' public API ([`Tester`] batches), `data` and `error`.
//!
//! [`Pc`] runs the PC-stable skeleton search level by level. All tests of one level (conditioning
//! sets of one size) go to the [`Tester`] as one batch, which shares kernel factors and
//! Z-regressions among them and runs them in parallel. Then unshielded colliders are oriented
//! from the separating sets and Meek's rules complete the CPDAG.
//!
//! With the same test and the same p-values the graph equals causal-learn 0.1.4.8's
//! `pc(data, alpha, indep_test, stable, uc_rule, uc_priority)` for every setting (tested for all
//! 32 valid combinations with fisherz, chisq and gsq: `tests/pc_settings.rs`), whose conventions
//! are mirrored:
//! * level `d` runs while some node has more than `d` neighbours (and `d ≤ max_depth`); every
//!   conditioning set `S ⊆ adj(x) \ {y}` of size `d` is tested, from both ends of the edge, and
//!   the edge is removed when any `p > alpha` (a p-value equal to alpha counts as dependence);
//! * [`Pc::stable`] `true` (the default): edges are removed at the end of the level, and the
//!   separating set of a removed pair is the **union** of every set that separated it at that
//!   level (causal-learn keeps every such set and asks whether the middle node is in any);
//!   `false`: the original PC — nodes in column order, each with its neighbours as they are at
//!   its turn, an edge removed at its first separating set (which is its separating set). Both
//!   run a level's tests as one batch: the order-dependent search needs a subset of the tests
//!   the level's starting graph implies, and then replays causal-learn's order on the p-values;
//! * a test of `(x, y | S)` is the test of `(min, max | S)`: the lower-indexed column is X (this
//!   matters for KCI, whose X is augmented with Z);
//! * colliders ([`Pc::uc_rule`], [`Pc::uc_priority`]): rule 0 by separating sets, 1 maxP, 2
//!   definite maxP (then causal-learn's `definite_meek`); priorities 0 overwrite, 1 bidirected,
//!   2 keep existing colliders (the default), 3 and 4 ordered by p-values, −1 the rule's
//!   default. The p-values the maxP rules and priorities 3/4 need (every `S ⊆ adj(x)` or
//!   `S ⊆ adj(z)` of each unshielded triple `x — y — z`) are taken from the skeleton's tests or
//!   run as extra batches, one per set size (at most 20 adjacents per node);
//! * triples, kites and Meek's rules are visited in causal-learn's order, and an orientation
//!   `a → b` is skipped when `b` is recorded as an ancestor of `a` in causal-learn's ancestor
//!   record, which is mirrored update for update (it is not transitively closed, so in
//!   conflicting graphs both may close a directed cycle, identically).
//!
//! Documented difference: required edges are never tested away, and pairs forbidden in both
//! directions are removed before the search without tests (causal-learn tests them and may drop
//! a required edge).
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

mod fci;
mod graph;
mod knowledge;
mod pag;
mod skeleton;

pub use fci::Fci;
use knowledge::Indexed;
pub use knowledge::Knowledge;
use skeleton::combinations;
use skeleton::{check_distinct, powerset, Skeleton, MAX_MAXP_DEGREE};

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

/// Kind of an edge of the output graph (the last three occur in FCI's PAGs only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    /// `from → to`.
    Directed,
    /// `from — to` (orientation not identified; in a PAG: selection bias).
    Undirected,
    /// `from ↔ to` (PC: only from conflicting knowledge or tests; FCI: a latent confounder).
    Bidirected,
    /// `from o→ to`.
    PartiallyDirected,
    /// `from o–o to`.
    Nondirected,
    /// `from o— to`.
    PartiallyUndirected,
}

impl EdgeKind {
    /// The edge drawn as text: `-->`, `---`, `<->`, `o->`, `o-o`, `o--`.
    pub fn arrow(self) -> &'static str {
        match self {
            EdgeKind::Directed => "-->",
            EdgeKind::Undirected => "---",
            EdgeKind::Bidirected => "<->",
            EdgeKind::PartiallyDirected => "o->",
            EdgeKind::Nondirected => "o-o",
            EdgeKind::PartiallyUndirected => "o--",
        }
    }
}

/// The mark at one end of an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    /// No arrowhead: `—`.
    Tail,
    /// Arrowhead: `>`.
    Arrow,
    /// Undetermined (`o`, in partial ancestral graphs).
    Circle,
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
    /// `[mark at from, mark at to]`: directed `[tail, arrow]`, undirected `[tail, tail]`,
    /// bidirected `[arrow, arrow]`, partially directed `[circle, arrow]`, nondirected
    /// `[circle, circle]`, partially undirected `[circle, tail]`.
    pub marks: [Mark; 2],
}

/// Every setting a search used (the JSON's `settings`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settings {
    /// PC-stable (`true`) or the original order-dependent PC (PC and CD-NOD; absent for FCI,
    /// which has no such setting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stable: Option<bool>,
    /// Collider rule: 0 sepset, 1 maxP, 2 definite maxP (PC and CD-NOD; absent for FCI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uc_rule: Option<u8>,
    /// Collider conflict priority as given (−1: the rule's default; PC and CD-NOD; absent for
    /// FCI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uc_priority: Option<i8>,
    /// Largest conditioning-set size (`None`: no limit).
    pub max_depth: Option<usize>,
    /// CD-NOD's domain column.
    pub domain: Option<String>,
    /// Forbidden edges `[from, to]`.
    pub forbidden: Vec<[String; 2]>,
    /// Required edges `[from, to]`.
    pub required: Vec<[String; 2]>,
    /// Tiers, earliest first.
    pub tiers: Vec<Vec<String>>,
    /// Borderline tolerance around alpha.
    pub borderline: f64,
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
    /// `pc` or `cdnod`.
    pub algorithm: String,
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
    /// The search's other settings.
    pub settings: Settings,
    /// Where the tests ran.
    pub backend: String,
    /// Compute seconds.
    pub seconds: f64,
    #[serde(skip)]
    marks: Vec<i8>,
}

impl DiscoveryResult {
    /// The endpoint-mark matrix in causal-learn's `cg.G.graph` encoding (row-major `p × p`):
    /// `i → j` is `m[i][j] = −1, m[j][i] = 1`; undirected `−1, −1`; bidirected `1, 1`; a circle
    /// (FCI) is 2, so `i o→ j` is `m[i][j] = 2, m[j][i] = 1`.
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
            let name = |m: Mark| match m {
                Mark::Tail => "none",
                Mark::Arrow => "normal",
                Mark::Circle => "odot",
            };
            let attr = match e.kind {
                EdgeKind::Directed => String::new(),
                EdgeKind::Undirected => " [dir=none]".into(),
                EdgeKind::Bidirected => " [dir=both]".into(),
                _ => format!(
                    " [dir=both, arrowtail={}, arrowhead={}]",
                    name(e.marks[0]),
                    name(e.marks[1])
                ),
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
    stable: bool,
    uc_rule: u8,
    uc_priority: i8,
    /// FCI's orientation stage after the skeleton (set by [`Fci`]).
    fci: bool,
    cancel: Option<crate::Cancel>,
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
            stable: true,
            uc_rule: 0,
            uc_priority: 2,
            fci: false,
            cancel: None,
        }
    }

    /// A [`Cancel`](crate::Cancel) token checked between the levels of the search and between
    /// chunks of a level's tests ([`Tester::cancel`]): once cancelled the search returns
    /// [`Error::Cancelled`].
    ///
    /// ```
    /// use ceteris::{Cancel, Dataset, Engine, Error};
    /// use ceteris::{discovery::Pc, independence::IndependenceTest};
    /// let data = Dataset::synthetic(200, 1);
    /// let cancel = Cancel::new();
    /// cancel.cancel();
    /// let pc = Pc::new(IndependenceTest::fisher_z()).cancel(&cancel);
    /// assert!(matches!(pc.run(&Engine::cpu(), &data, &[]), Err(Error::Cancelled)));
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// A tester of this search (with its token).
    fn tester<'a>(
        &self,
        engine: &'a Engine,
        data: &'a Dataset,
        test: IndependenceTest,
    ) -> Tester<'a> {
        let t = Tester::new(engine, data, test);
        match &self.cancel {
            Some(c) => t.cancel(c),
            None => t,
        }
    }

    /// PC-stable (`true`, the default: every test of a level sees the graph of the level's start)
    /// or the original order-dependent PC (`false`: an edge is removed as soon as a test separates
    /// it, and nodes are visited in column order), as causal-learn's `stable`.
    ///
    /// ```
    /// # use ceteris::{Dataset, Engine, discovery::Pc, independence::IndependenceTest};
    /// let data = Dataset::synthetic(300, 1);
    /// let r = Pc::new(IndependenceTest::fisher_z()).stable(false)
    ///     .run(&Engine::cpu(), &data, &["x", "t", "y"]).unwrap();
    /// assert_eq!(r.settings.stable, Some(false));
    /// ```
    pub fn stable(mut self, stable: bool) -> Self {
        self.stable = stable;
        self
    }

    /// How unshielded colliders `x — y — z` are found, as causal-learn's `uc_rule`: 0 (the
    /// default) when `y` is not in the separating set of `x` and `z`; 1 (maxP) when the largest
    /// p-value of `x ⫫ z | S` over the sets `S ⊆ adj(x)` or `S ⊆ adj(z)` without `y` exceeds the
    /// largest over those with `y`; 2 (definite maxP) only for triples whose every test with `y`
    /// rejects (at alpha), followed by causal-learn's `definite_meek`. Rules 1 and 2 run the
    /// extra tests (every subset of the adjacents) as batches, one per set size.
    ///
    /// ```
    /// # use ceteris::{Dataset, Engine, discovery::Pc, independence::IndependenceTest};
    /// let data = Dataset::synthetic(300, 1);
    /// let r = Pc::new(IndependenceTest::fisher_z()).uc_rule(1).uc_priority(3)
    ///     .run(&Engine::cpu(), &data, &["x", "t", "y"]).unwrap();
    /// assert_eq!((r.settings.uc_rule, r.settings.uc_priority), (Some(1), Some(3)));
    /// ```
    pub fn uc_rule(mut self, rule: u8) -> Self {
        self.uc_rule = rule;
        self
    }

    /// How conflicting colliders are resolved, as causal-learn's `uc_priority`: −1 the rule's
    /// default (3 for rules 0 and 1, 4 for rule 2); 0 overwrite; 1 orient a conflicting edge
    /// bidirected; 2 (the default) keep existing colliders (`x → y ← z` unless `y → x` or
    /// `y → z` already is); 3 as 2 with the colliders visited by ascending largest p-value of
    /// `x ⫫ z | S ∋ y` ("stronger colliders" first); 4 as 2 by descending largest p-value of
    /// `x ⫫ z | S ∌ y`. Rule 2 accepts −1, 2, 3 and 4 only (as causal-learn).
    pub fn uc_priority(mut self, priority: i8) -> Self {
        self.uc_priority = priority;
        self
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
            TestKind::Chisq | TestKind::Gsq | TestKind::Dg => 1e-9,
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
        crate::cancel::check(&self.cancel)?;
        let nodes = self.nodes(data, columns)?;
        let conditional = if matches!(self.test.kind(), TestKind::Hsic | TestKind::HsicU) {
            self.test.clone().into_kci()
        } else {
            self.test.clone()
        };
        // chisq/gsq and Fisher-z: one tester for the whole search (its cache holds the coded
        // columns, or the pairwise correlations, which every level and FCI's later batches reuse)
        let shared = matches!(
            self.test.kind(),
            TestKind::Chisq | TestKind::Gsq | TestKind::FisherZ | TestKind::Dg
        )
        .then(|| self.tester(engine, data, self.test.clone()));
        let mut backend = String::new();
        let gpu = engine.kind() == crate::BackendKind::Gpu;
        let mut res = self.search(&nodes, gpu, progress, |depth, queries, level_progress| {
            // one tester per level: factors of single columns are cheap to rebuild, and the
            // Z-regressions of one level's conditioning sets are not needed by the next
            let t = if depth == 0 { &self.test } else { &conditional };
            let own;
            let tester = match &shared {
                Some(s) => s,
                None => {
                    own = self.tester(engine, data, t.clone());
                    &own
                }
            };
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
        if self.uc_rule > 2 {
            return Err(Error::param(
                "uc_rule",
                format!(
                    "{} is not 0 (sepset), 1 (maxP) or 2 (definite maxP)",
                    self.uc_rule
                ),
            ));
        }
        if !(-1..=4).contains(&self.uc_priority) {
            return Err(Error::param(
                "uc_priority",
                format!("{} is not -1, 0, 1, 2, 3 or 4", self.uc_priority),
            ));
        }
        if self.uc_rule == 2 && matches!(self.uc_priority, 0 | 1) {
            return Err(Error::param(
                "uc_priority",
                format!(
                    "{} does not apply to uc_rule 2 (definite maxP takes -1, 2, 3 or 4, as causal-learn)",
                    self.uc_priority
                ),
            ));
        }
        let Skeleton {
            levels,
            mut borderline,
            mut tests_run,
            mut pmap,
        } = self.skeleton(
            nodes,
            &mut g,
            &mut sepsets,
            &locked,
            tol,
            progress,
            &mut run,
        )?;
        if self.fci {
            return fci::orient(
                self, nodes, g, sepsets, &know, levels, borderline, tests_run, pmap, tol, &mut run,
            );
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
        // maxP rules (and priorities 3, 4, and −1 with rule 0): x ⫫ z | S for every S ⊆ adj(x) or
        // S ⊆ adj(z) of every unshielded triple, the missing ones batched by set size
        let adj0: Vec<Vec<usize>> = (0..p).map(|i| g.neighbours(i)).collect();
        let cond_sets = |x: usize, z: usize| -> Vec<Vec<usize>> {
            let mut v: BTreeSet<Vec<usize>> = powerset(&adj0[x]).into_iter().collect();
            v.extend(powerset(&adj0[z]));
            v.into_iter().collect()
        };
        if self.uc_rule != 0 || matches!(self.uc_priority, -1 | 3 | 4) {
            if let Some(v) = (0..p).find(|&v| adj0[v].len() > MAX_MAXP_DEGREE) {
                return Err(Error::param(
                    "uc_rule",
                    format!(
                        "maxP tests every subset of a node's adjacents, and `{}` has {} (at most {MAX_MAXP_DEGREE}); use uc_rule 0 with priority 0, 1 or 2",
                        nodes[v],
                        adj0[v].len()
                    ),
                ));
            }
            let mut missing: BTreeSet<(usize, usize, Vec<usize>)> = BTreeSet::new();
            for (x, _, z) in g.unshielded_triples() {
                if x < z {
                    for s in cond_sets(x, z) {
                        let key = (x, z, s);
                        if !pmap.contains_key(&key) {
                            missing.insert(key);
                        }
                    }
                }
            }
            let max_len = missing.iter().map(|k| k.2.len()).max().unwrap_or(0);
            for size in 0..=max_len {
                let keys: Vec<_> = missing
                    .iter()
                    .filter(|k| k.2.len() == size)
                    .cloned()
                    .collect();
                if keys.is_empty() {
                    continue;
                }
                let queries = self.queries(nodes, &keys);
                let pv = run(size, &queries, None);
                let pv = self.checked(&queries, pv, tol, &mut borderline)?;
                tests_run += keys.len();
                for (key, pval) in keys.into_iter().zip(pv) {
                    pmap.insert(key, pval);
                }
            }
        }
        let allp = |x: usize, z: usize, y: usize, with: bool| -> Vec<f64> {
            cond_sets(x, z)
                .into_iter()
                .filter(|s| s.contains(&y) == with)
                .map(|s| pmap[&(x, z, s)])
                .collect()
        };
        let maxp = |x: usize, z: usize, y: usize, with: bool| -> f64 {
            allp(x, z, y, with)
                .into_iter()
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let rule = match self.uc_rule {
            0 => graph::UcRule::Sepset,
            1 => graph::UcRule::MaxP,
            _ => graph::UcRule::DefiniteMaxP,
        };
        let definite = graph::colliders(
            &mut g,
            rule,
            self.uc_priority,
            self.alpha,
            &sep,
            &maxp,
            &allp,
            &know,
        );
        if rule == graph::UcRule::DefiniteMaxP {
            graph::definite_meek(&mut g, &definite, &know);
        }
        graph::meek(&mut g, &know);
        let mut edges = Vec::new();
        for i in 0..p {
            for j in i + 1..p {
                let (a, b) = (g.get(i, j), g.get(j, i));
                let e = |from: usize, to: usize, kind| Edge {
                    from: nodes[from].clone(),
                    to: nodes[to].clone(),
                    kind,
                    marks: match kind {
                        EdgeKind::Directed => [Mark::Tail, Mark::Arrow],
                        EdgeKind::Undirected => [Mark::Tail, Mark::Tail],
                        // PC's graphs have no circles
                        _ => [Mark::Arrow, Mark::Arrow],
                    },
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
        let pair = |(a, b): &(String, String)| [a.clone(), b.clone()];
        Ok(DiscoveryResult {
            algorithm: if self.domain.is_some() { "cdnod" } else { "pc" }.into(),
            settings: Settings {
                stable: Some(self.stable),
                uc_rule: Some(self.uc_rule),
                uc_priority: Some(self.uc_priority),
                max_depth: self.max_depth,
                domain: self.domain.clone(),
                forbidden: self.knowledge.forbidden.iter().map(pair).collect(),
                required: self.knowledge.required.iter().map(pair).collect(),
                tiers: self.knowledge.tiers.clone(),
                borderline: tol,
            },
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
