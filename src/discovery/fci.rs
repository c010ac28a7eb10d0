//! FCI (Spirtes, Meek & Richardson 1995; Zhang 2008): causal discovery that allows latent
//! confounders and selection bias, returning a partial ancestral graph (PAG) with circle marks.
//!
//! The stages and their order are causal-learn 0.1.4.8's `fci(data, test, alpha)`:
//! 1. the fast adjacency search: PC-stable's skeleton ([`Pc`]'s level-batched search);
//! 2. every edge `o–o`, background knowledge oriented, unshielded colliders by the separating
//!    sets (R0);
//! 3. the possible-d-sep stage: each edge `a *–* b` (in causal-learn's edge order) is tested
//!    against the subsets of size ≥ 2 of Possible-D-Sep(a, b) and then of Possible-D-Sep(b, a)
//!    (sets within `adj(a)` or `adj(b)` skipped, and, as causal-learn's generator loop does, the
//!    first subset of each size below the whole set), removed at its first independence;
//! 4. every edge `o–o` again, knowledge and R0 again;
//! 5. until nothing changes: R1–R2, R3, R4 (discriminating paths, which run tests of their own),
//!    R5–R7 (selection bias), R8, R9, R10.
//!
//! The possible-d-sep stage and R4 are **batched by replay**: the stage is replayed on the
//! p-values known so far; a missing p-value is taken as "dependent" for the rest of that replay
//! and collected, every collected test is run as one batch, and the replay starts
//! again until it needs nothing new. The final replay is the sequential algorithm on the real
//! p-values, so the graph is causal-learn's, while the tests run in parallel batches (R4's two
//! tests per discriminating path are fetched as soon as the replay meets them).
//!
//! causal-learn's conventions mirrored, quirks included: the separating sets found by the
//! possible-d-sep stage are stored under the ordered pair `(a, b)` of the edge as causal-learn
//! lists it (the lower index first unless the edge is `a ←o b`-like with the arrowhead at the
//! lower index), and R0, R3 and R4 look them up by ordered pair; Possible-D-Sep is sorted by
//! causal-learn's node name `X{column + 1}` as a string, descending (`X9` before `X10`: the
//! names `fci(data, …)` gives, whatever the columns are called), and its search extends the pair
//! `(a, c)` (not `(b, c)`), as causal-learn's `getPossibleDsep`; R9 and R10 test semi-directed
//! paths as causal-learn does.
//!
//! Documented differences: causal-learn visits some Python sets (the breadth-first search of
//! Possible-D-Sep, the possible children of R10) in hash order, which varies with the process's
//! string-hash seed; here they are visited in column order. Required edges are never tested away
//! (as in [`Pc`]).

use super::graph::{Constraints, Marks};
use super::{
    Borderline, DiscoveryResult, Edge, EdgeKind, IndependenceTest, Indexed, Knowledge, Level,
    LevelProgress, Mark, Pc, Settings,
};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::independence::Query;
use crate::Engine;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::pag::{Pag, ARROW, CIRCLE, TAIL};

/// FCI with a conditional-independence test: a PAG that allows latent confounders and selection
/// bias.
///
/// With the same test and the same p-values the graph equals causal-learn 0.1.4.8's
/// `fci(data, test, alpha)` (tested with fisherz, chisq, gsq and kci on data with latent confounders:
/// `tests/fci.rs`). Edges are `directed`, `bidirected`, `undirected`, `partially-directed`
/// (`o→`), `nondirected` (`o–o`) or `partially-undirected` (`o—`), each with its `marks`.
///
/// ```
/// use ceteris::discovery::{EdgeKind, Fci};
/// use ceteris::independence::{IndependenceTest, Query};
/// // a → c ← b with c → d: d-separation oracle of the DAG
/// let sep = |x: &str, y: &str, z: &[String]| {
///     let has = |v: &str| z.iter().any(|s| s == v);
///     match (x, y) {
///         ("a", "b") => !has("c") && !has("d"),
///         ("a", "d") | ("b", "d") => has("c"),
///         _ => false,
///     }
/// };
/// let oracle = |qs: &[Query]| qs.iter().map(|(x, y, z)| {
///     Ok(if sep(&x[0], &y[0], z) { 1.0 } else { 0.0 })
/// }).collect();
/// let r = Fci::new(IndependenceTest::fisher_z()).run_with_oracle(&["a", "b", "c", "d"], oracle).unwrap();
/// let cd = r.edges.iter().find(|e| e.from == "c" && e.to == "d").unwrap();
/// assert_eq!(cd.kind, EdgeKind::Directed); // c → d: visible, no confounder
/// let ac = r.edges.iter().find(|e| e.from == "a" && e.to == "c").unwrap();
/// assert_eq!(ac.kind, EdgeKind::PartiallyDirected); // a o→ c
/// ```
#[derive(Clone, Debug)]
pub struct Fci {
    pc: Pc,
}

impl Fci {
    /// FCI with `test`, alpha 0.05, no depth limit, no knowledge.
    pub fn new(test: IndependenceTest) -> Self {
        let mut pc = Pc::new(test);
        pc.fci = true;
        Fci { pc }
    }

    /// Significance level, in (0, 1).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.pc = self.pc.alpha(alpha);
        self
    }

    /// Largest conditioning-set size of the skeleton search (causal-learn's `depth`).
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.pc = self.pc.max_depth(depth);
        self
    }

    /// Background knowledge, applied as causal-learn's FCI applies it (forbidden and required
    /// edges oriented before the collider rule, arrowheads into a forbidden direction refused).
    pub fn knowledge(mut self, k: Knowledge) -> Self {
        self.pc = self.pc.knowledge(k);
        self
    }

    /// Tolerance around alpha within which a test is reported as borderline (as
    /// [`Pc::borderline`]).
    pub fn borderline(mut self, tol: f64) -> Self {
        self.pc = self.pc.borderline(tol);
        self
    }

    /// A [`Cancel`](crate::Cancel) token ([`Pc::cancel`]).
    ///
    /// ```
    /// use ceteris::{discovery::Fci, independence::IndependenceTest, Cancel};
    /// let f = Fci::new(IndependenceTest::fisher_z()).cancel(&Cancel::new());
    /// # let _ = f;
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.pc = self.pc.cancel(token);
        self
    }

    /// Runs FCI on `columns` of `data` (all columns when empty).
    pub fn run(
        &self,
        engine: &Engine,
        data: &Dataset,
        columns: &[&str],
    ) -> Result<DiscoveryResult> {
        self.pc.run(engine, data, columns)
    }

    /// [`Fci::run`] with a progress callback `(level, tests done, tests in the level)` for the
    /// skeleton's levels.
    pub fn run_with_progress(
        &self,
        engine: &Engine,
        data: &Dataset,
        columns: &[&str],
        progress: Option<LevelProgress>,
    ) -> Result<DiscoveryResult> {
        self.pc.run_with_progress(engine, data, columns, progress)
    }

    /// Runs FCI with a caller-supplied test (as [`Pc::run_with_oracle`]).
    pub fn run_with_oracle(
        &self,
        nodes: &[&str],
        oracle: impl FnMut(&[Query]) -> Vec<Result<f64>>,
    ) -> Result<DiscoveryResult> {
        self.pc.run_with_oracle(nodes, oracle)
    }
}

type Key = (usize, usize, Vec<usize>);
type SepSets = HashMap<(usize, usize), BTreeSet<usize>>;

/// `is_arrow_point_allowed(x, y)`: may the edge `x *–* y` get an arrowhead at `y`?
fn arrow_allowed(g: &Pag, x: usize, y: usize, k: &dyn Constraints) -> bool {
    match g.end(x, y) {
        ARROW => return true,
        TAIL => return false,
        _ => {}
    }
    if matches!(g.end(y, x), ARROW | TAIL) && k.forbidden(x, y) {
        return false;
    }
    g.end(x, y) == CIRCLE
}

/// `fci_orient_bk`: forbidden and required edges oriented.
fn orient_bk(g: &mut Pag, k: &dyn Constraints) {
    for (a, b) in g.edges() {
        let dir = |g: &mut Pag, from: usize, to: usize| {
            g.set(from, to, TAIL);
            g.set(to, from, ARROW);
        };
        // causal-learn's order: forbidden a→b, forbidden b→a, required a→b, required b→a
        if k.forbidden(a, b) {
            dir(g, b, a);
        } else if k.forbidden(b, a) || k.required(a, b) {
            dir(g, a, b);
        } else if k.required(b, a) {
            dir(g, b, a);
        }
    }
}

/// Size-2 combinations in `ChoiceGenerator` order.
fn pairs(items: &[usize]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for i in 0..items.len() {
        for j in i + 1..items.len() {
            out.push((items[i], items[j]));
        }
    }
    out
}

/// `rule0`: all circles, knowledge, unshielded colliders by the separating sets.
fn rule0(g: &mut Pag, sep: &SepSets, k: &dyn Constraints) {
    g.all_circles();
    orient_bk(g, k);
    for b in 0..g.p {
        let adj = g.adjacent(b);
        for (a, c) in pairs(&adj) {
            if g.adj(a, c) || g.def_collider(a, b, c) {
                continue;
            }
            if let Some(s) = sep.get(&(a, c)) {
                if !s.contains(&b) {
                    if !arrow_allowed(g, a, b, k) || !arrow_allowed(g, c, b, k) {
                        continue;
                    }
                    g.set(b, a, ARROW);
                    g.set(b, c, ARROW);
                }
            }
        }
    }
}

/// `getPossibleDsep(x, y)` with an unlimited path length, sorted descending by causal-learn's
/// default node names `X1`, `X2`, … compared as strings (it sorts its `GraphNode`s by name, and
/// `fci(data, …)` names column `i` `X{i + 1}`), not by the column names: the order decides which
/// subsets the possible-d-sep loop skips (see [`subsets`]).
fn possible_dsep(g: &Pag, x: usize, y: usize) -> Vec<usize> {
    let mut dsep = BTreeSet::new();
    let mut q: VecDeque<(usize, usize)> = VecDeque::new();
    let mut seen: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut previous: HashMap<usize, Option<BTreeSet<usize>>> = HashMap::new();
    previous.insert(x, None);
    let mut e: Option<(usize, usize)> = None;
    let mut distance = 0;
    let add = |prev: &mut HashMap<usize, Option<BTreeSet<usize>>>, at: usize, v: usize| {
        prev.entry(at)
            .or_insert(None)
            .get_or_insert_with(BTreeSet::new)
            .insert(v);
    };
    for b in g.adjacent(x) {
        if b == y {
            continue;
        }
        if e.is_none() {
            e = Some((x, b));
        }
        q.push_back((x, b));
        seen.insert((x, b));
        add(&mut previous, x, b);
        dsep.insert(b);
    }
    while let Some(t) = q.pop_front() {
        if e == Some(t) {
            e = None;
            distance += 1;
            if distance > 1000 {
                break;
            }
        }
        let (a, b) = t;
        // existOnePathWithPossibleParents(previous, b, x, b)
        let ok = b == x
            || previous.get(&b).and_then(|s| s.as_ref()).is_some_and(|s| {
                s.iter()
                    .any(|&r| r != b && r != x && (g.semi_directed(r, x) || g.semi_directed(r, b)))
            });
        if ok {
            dsep.insert(b);
        }
        for c in g.adjacent(b) {
            if c == a || c == x || c == y {
                continue;
            }
            add(&mut previous, c, b);
            if g.def_collider(a, b, c) || g.adj(a, c) {
                let u = (a, c);
                if !seen.insert(u) {
                    continue;
                }
                q.push_back(u);
                if e.is_none() {
                    e = Some(u);
                }
            }
        }
    }
    dsep.remove(&x);
    dsep.remove(&y);
    let mut v: Vec<usize> = dsep.into_iter().collect();
    v.sort_by_cached_key(|&i| std::cmp::Reverse(format!("X{}", i + 1)));
    v
}

/// P-values by test key; a missing one is recorded (and reads as `None`).
struct Lookup<'a> {
    pmap: &'a HashMap<Key, f64>,
    missing: BTreeSet<Key>,
}

impl Lookup<'_> {
    fn p(&mut self, x: usize, y: usize, s: &[usize]) -> Option<f64> {
        let mut s = s.to_vec();
        s.sort_unstable();
        let key = (x.min(y), x.max(y), s);
        match self.pmap.get(&key) {
            Some(&p) => Some(p),
            None => {
                self.missing.insert(key);
                None
            }
        }
    }
}

/// Largest Possible-D-Sep whose subsets are enumerated.
const MAX_PDSEP: usize = 24;

/// The subsets of `0..n` of size ≥ 2 that causal-learn's `removeByPossibleDsep` tests, by size
/// then lexicographically: every one **except the first of each size below `n`**.
///
/// causal-learn 0.1.4.8 reads `DepthChoiceGenerator` as `origin_choice = choice; choice =
/// gen.next()`, but `next()` refills the list it returned in place (a new list only when the
/// size grows), so `origin_choice` is already the next subset of the same size when it is
/// tested: the first subset of each size is never tested and the last one twice (the repeat
/// changes nothing and is left out here). The single subset of size `n` is tested. For `n = 4`:
/// `{0,2} {0,3} {1,2} {1,3} {2,3}`, `{0,1,3} {0,2,3} {1,2,3}`, `{0,1,2,3}`.
fn subsets(n: usize) -> impl Iterator<Item = Vec<usize>> {
    (2..=n).flat_map(move |k| {
        let items: Vec<usize> = (0..n).collect();
        let all = super::combinations(&items, k);
        let skip = usize::from(all.len() > 1);
        all.into_iter().skip(skip)
    })
}

struct Ctx<'a> {
    k: &'a dyn Constraints,
    alpha: f64,
    names: &'a [String],
    /// causal-learn runs R4 on the first pass only with all three kinds of knowledge given.
    r4_first: bool,
}

/// `removeByPossibleDsep`: `None` when a p-value was missing.
fn remove_by_pdsep(g: &mut Pag, sep: &mut SepSets, cx: &Ctx, lk: &mut Lookup) -> Result<()> {
    for (a, b) in g.edges() {
        for (from, to) in [(a, b), (b, a)] {
            if !g.adj(a, b) {
                break;
            }
            let pd = possible_dsep(g, from, to);
            if pd.len() > MAX_PDSEP {
                return Err(Error::param(
                    "columns",
                    format!(
                        "FCI's possible-d-sep stage would test every subset of {} nodes for the edge `{}` – `{}` (at most {MAX_PDSEP}); use fewer columns or a larger alpha",
                        pd.len(),
                        cx.names[a],
                        cx.names[b]
                    ),
                ));
            }
            let adj_a: BTreeSet<usize> = g.adjacent(a).into_iter().collect();
            let adj_b: BTreeSet<usize> = g.adjacent(b).into_iter().collect();
            for choice in subsets(pd.len()) {
                let s: Vec<usize> = choice.iter().map(|&i| pd[i]).collect();
                if s.iter().all(|v| adj_a.contains(v)) || s.iter().all(|v| adj_b.contains(v)) {
                    continue;
                }
                // a missing p-value reads as dependence until the next replay
                if lk.p(a, b, &s).is_some_and(|p| p > cx.alpha) {
                    g.remove(a, b);
                    sep.insert((a, b), s.into_iter().collect());
                    break;
                }
            }
        }
    }
    Ok(())
}

fn rules_r1_r2(g: &mut Pag, k: &dyn Constraints, mut change: bool) -> bool {
    let r1 = |g: &mut Pag, a: usize, b: usize, c: usize, change: &mut bool| {
        if g.adj(a, c) {
            return;
        }
        if g.end(a, b) == ARROW && g.end(c, b) == CIRCLE {
            if !arrow_allowed(g, b, c, k) {
                return;
            }
            g.set(c, b, ARROW);
            g.set(b, c, TAIL);
            *change = true;
        }
    };
    let r2 = |g: &mut Pag, a: usize, b: usize, c: usize, change: &mut bool| {
        if g.adj(a, c)
            && g.end(a, c) == CIRCLE
            && g.end(a, b) == ARROW
            && g.end(b, c) == ARROW
            && (g.end(b, a) == TAIL || g.end(c, b) == TAIL)
        {
            if !arrow_allowed(g, a, c, k) {
                return;
            }
            g.set(c, a, ARROW);
            *change = true;
        }
    };
    for b in 0..g.p {
        let adj = g.adjacent(b);
        for (a, c) in pairs(&adj) {
            r1(g, a, b, c, &mut change);
            r1(g, c, b, a, &mut change);
            r2(g, a, b, c, &mut change);
            r2(g, c, b, a, &mut change);
        }
    }
    change
}

fn rule_r3(g: &mut Pag, sep: &SepSets, k: &dyn Constraints, mut change: bool) -> bool {
    for b in 0..g.p {
        let arrows = g.nodes_into(b, ARROW);
        let circles = g.nodes_into(b, CIRCLE);
        for &d in &circles {
            if arrows.len() < 2 {
                continue;
            }
            for (a, c) in pairs(&arrows) {
                if g.adj(a, c) || !g.adj(a, d) || !g.adj(c, d) {
                    continue;
                }
                if !sep.get(&(a, c)).is_some_and(|s| s.contains(&d)) {
                    continue;
                }
                if g.end(a, d) != CIRCLE || g.end(c, d) != CIRCLE {
                    continue;
                }
                if !arrow_allowed(g, d, b, k) {
                    continue;
                }
                g.set(b, d, ARROW);
                change = true;
            }
        }
    }
    change
}

/// `ruleR4B`; `None` when a test was missing.
fn rule_r4(
    g: &mut Pag,
    sep: &SepSets,
    cx: &Ctx,
    lk: &mut Lookup,
    mut change: bool,
) -> Option<bool> {
    for b in 0..g.p {
        let poss_a = g.out_of_arrow(b);
        let poss_c = g.nodes_into(b, CIRCLE);
        for &a in &poss_a {
            for &c in &poss_c {
                if !g.is_parent(a, c) || g.end(b, c) != ARROW {
                    continue;
                }
                change = ddp_orient(g, a, b, c, sep, cx, lk, change)?;
            }
        }
    }
    Some(change)
}

/// `ddpOrient`: the breadth-first search back from `a` for a discriminating path for `b`.
#[allow(clippy::too_many_arguments)]
fn ddp_orient(
    g: &mut Pag,
    a: usize,
    b: usize,
    c: usize,
    sep: &SepSets,
    cx: &Ctx,
    lk: &mut Lookup,
    change: bool,
) -> Option<bool> {
    let mut q = VecDeque::new();
    let mut seen = vec![false; g.p];
    let mut e: Option<usize> = None;
    let mut distance = 0;
    let mut previous: HashMap<usize, usize> = HashMap::new();
    let c_parents = g.parents(c);
    q.push_back(a);
    seen[a] = true;
    seen[b] = true;
    previous.insert(a, b);
    while let Some(t) = q.pop_front() {
        if e.is_none() || e == Some(t) {
            e = Some(t);
            distance += 1;
            if distance > 1000 {
                return Some(change);
            }
        }
        for d in g.nodes_into(t, ARROW) {
            if seen[d] {
                continue;
            }
            previous.insert(d, t);
            let pt = previous[&t];
            if !g.def_collider(d, t, pt) {
                continue;
            }
            if !g.adj(d, c) && d != c {
                // getPath(d, previous)
                let mut path = Vec::new();
                let mut node = previous.get(&d).copied();
                while let Some(v) = node {
                    path.push(v);
                    node = previous.get(&v).copied();
                }
                let path2: Vec<usize> = path.iter().copied().filter(|&v| v != b).collect();
                let p1 = lk.p(d, c, &path);
                let p2 = lk.p(d, c, &path2);
                let (p1, p2) = (p1?, p2?);
                let mut ind = p1 > cx.alpha;
                let ind2 = p2 > cx.alpha;
                let mut res = true;
                if !ind && !ind2 {
                    match sep.get(&(d, c)) {
                        None => res = false,
                        Some(s) => ind = s.contains(&b),
                    }
                }
                if res {
                    if ind {
                        g.set(b, c, TAIL);
                        return Some(true);
                    } else if arrow_allowed(g, a, b, cx.k) && arrow_allowed(g, c, b, cx.k) {
                        g.set(b, a, ARROW);
                        g.set(b, c, ARROW);
                        return Some(true);
                    }
                }
            }
            if c_parents.contains(&d) {
                q.push_back(d);
                seen[d] = true;
            }
        }
    }
    Some(change)
}

/// causal-learn's lazy `GetUncoveredCirclePath` generator: it reads the graph as it is when
/// asked for its next path.
struct CirclePaths {
    from: usize,
    to: usize,
    exclude: [usize; 2],
    started: bool,
    q: VecDeque<(usize, Vec<usize>)>,
    seen: Vec<bool>,
    /// the dequeued node whose neighbours are still to be expanded (after a yield)
    pending: Option<(usize, Vec<usize>)>,
}

impl CirclePaths {
    fn new(from: usize, to: usize, exclude: [usize; 2], p: usize) -> Self {
        CirclePaths {
            from,
            to,
            exclude,
            started: false,
            q: VecDeque::new(),
            seen: vec![false; p],
            pending: None,
        }
    }

    fn expand(&mut self, g: &Pag, t: usize, path: &[usize]) {
        for u in g.adjacent(t) {
            if self.exclude.contains(&u) {
                continue;
            }
            if g.at(t, u) == CIRCLE && g.at(u, t) == CIRCLE && !self.seen[u] {
                self.seen[u] = true;
                let mut p2 = path.to_vec();
                p2.push(u);
                self.q.push_back((u, p2));
            }
        }
    }

    fn next(&mut self, g: &Pag) -> Option<Vec<usize>> {
        if !self.started {
            self.started = true;
            let from = self.from;
            self.expand(g, from, &[from]);
        }
        if let Some((t, path)) = self.pending.take() {
            self.expand(g, t, &path);
        }
        while let Some((t, path)) = self.q.pop_front() {
            if t == self.to && g.uncovered(&path) {
                self.pending = Some((t, path.clone()));
                return Some(path);
            }
            self.expand(g, t, &path);
        }
        None
    }
}

fn tail_tail(g: &mut Pag, a: usize, b: usize) {
    g.set(a, b, TAIL);
    g.set(b, a, TAIL);
}

fn rule_r5(g: &mut Pag, mut change: bool) -> bool {
    for b in 0..g.p {
        for a in g.nodes_into(b, CIRCLE) {
            if g.end(b, a) != CIRCLE {
                continue;
            }
            let circ = |g: &Pag, x: usize| -> Vec<usize> {
                g.adjacent(x)
                    .into_iter()
                    .filter(|&n| n != a && n != b && g.end(n, x) == CIRCLE && g.end(x, n) == CIRCLE)
                    .collect()
            };
            let (ac, bc) = (circ(g, a), circ(g, b));
            let mut found = Vec::new();
            for &c in &ac {
                if g.adj(b, c) {
                    continue;
                }
                for &d in &bc {
                    if g.adj(a, d) {
                        continue;
                    }
                    found.push(CirclePaths::new(c, d, [a, b], g.p));
                }
            }
            for mut paths in found {
                while let Some(path) = paths.next(g) {
                    change = true;
                    tail_tail(g, a, b);
                    tail_tail(g, a, path[0]);
                    tail_tail(g, b, path[path.len() - 1]);
                    for w in path.windows(2) {
                        tail_tail(g, w[0], w[1]);
                    }
                }
            }
        }
    }
    change
}

fn rule_r6(g: &mut Pag, mut change: bool) -> bool {
    for b in 0..g.p {
        if !g
            .nodes_into(b, TAIL)
            .into_iter()
            .any(|a| g.end(b, a) == TAIL)
        {
            continue;
        }
        for c in g.nodes_into(b, CIRCLE) {
            change = true;
            g.set(b, c, TAIL);
        }
    }
    change
}

fn rule_r7(g: &mut Pag, mut change: bool) -> bool {
    for b in 0..g.p {
        let circles = g.nodes_into(b, CIRCLE);
        let tails: Vec<usize> = circles
            .iter()
            .copied()
            .filter(|&n| g.end(b, n) == TAIL)
            .collect();
        for &c in &circles {
            for &a in &tails {
                if a != c && !g.adj(a, c) {
                    change = true;
                    g.set(b, c, TAIL);
                }
            }
        }
    }
    change
}

fn rule_r8(g: &mut Pag, mut change: bool) -> bool {
    for b in 0..g.p {
        let adj = g.adjacent(b);
        for (a, c) in pairs(&adj) {
            let tail_ab = |g: &Pag, near_a: i8| g.end(a, b) == near_a && g.end(b, a) == TAIL;
            let rest = |g: &Pag| {
                g.end(b, c) == ARROW
                    && g.end(c, b) == TAIL
                    && g.adj(a, c)
                    && g.end(a, c) == ARROW
                    && g.end(c, a) == CIRCLE
            };
            if (tail_ab(g, ARROW) && rest(g)) || (tail_ab(g, CIRCLE) && rest(g)) {
                g.set(a, c, TAIL);
                g.set(c, a, ARROW);
                change = true;
            }
        }
    }
    change
}

fn rule_r9(g: &mut Pag, mut change: bool) -> bool {
    for c in 0..g.p {
        for a in g.nodes_into(c, ARROW) {
            if g.end(c, a) != CIRCLE {
                continue;
            }
            let en: Vec<usize> = g
                .adjacent(a)
                .into_iter()
                .filter(|&n| n != a && n != c)
                .collect();
            for b in g.possible_children(a, &en) {
                if g.adj(b, c) {
                    continue;
                }
                if g.uncovered_pd_path(a, b, c) {
                    g.set(a, c, TAIL);
                    g.set(c, a, ARROW);
                    change = true;
                    break;
                }
            }
        }
    }
    change
}

fn rule_r10(g: &mut Pag, mut change: bool) -> bool {
    for c in 0..g.p {
        let into_c = g.nodes_into(c, ARROW);
        if into_c.len() < 2 {
            continue;
        }
        let a_nodes: Vec<usize> = into_c
            .iter()
            .copied()
            .filter(|&a| g.end(c, a) == CIRCLE)
            .collect();
        for a in a_nodes {
            let en: Vec<usize> = g.adjacent(a).into_iter().filter(|&n| n != c).collect();
            let children = g.possible_children(a, &en);
            if children.len() < 2 {
                continue;
            }
            for (b, d) in pairs(&into_c) {
                if g.end(c, b) != TAIL || g.end(c, d) != TAIL {
                    continue;
                }
                for (one, two) in pairs(&children) {
                    if !g.semi_directed(one, b) || !g.semi_directed(two, d) {
                        continue;
                    }
                    if !g.adj(one, two) {
                        g.set(a, c, TAIL);
                        g.set(c, a, ARROW);
                        change = true;
                        break;
                    }
                }
            }
        }
    }
    change
}

/// Everything after the skeleton, replayed on the p-values known: `Ok(None)` when one was
/// missing (collected in `lk`).
fn replay(
    skeleton: &Pag,
    fas_sep: &SepSets,
    cx: &Ctx,
    lk: &mut Lookup,
) -> Result<Option<(Pag, SepSets)>> {
    let mut g = skeleton.clone();
    let mut sep = fas_sep.clone();
    rule0(&mut g, &sep, cx.k);
    remove_by_pdsep(&mut g, &mut sep, cx, lk)?;
    if !lk.missing.is_empty() {
        return Ok(None);
    }
    rule0(&mut g, &sep, cx.k);
    let mut change = true;
    let mut first = true;
    while change {
        change = rules_r1_r2(&mut g, cx.k, false);
        change = rule_r3(&mut g, &sep, cx.k, change);
        if change || (first && cx.r4_first) {
            match rule_r4(&mut g, &sep, cx, lk, change) {
                Some(c) => change = c,
                None => return Ok(None),
            }
            first = false;
        }
        change = rule_r5(&mut g, change);
        change = rule_r6(&mut g, change);
        change = rule_r7(&mut g, change);
        change = rule_r8(&mut g, change);
        change = rule_r9(&mut g, change);
        change = rule_r10(&mut g, change);
    }
    Ok(Some((g, sep)))
}

/// FCI's stages after the skeleton search (see the module docs).
#[allow(clippy::too_many_arguments)]
pub(super) fn orient(
    pc: &Pc,
    nodes: &[String],
    skeleton: Marks,
    sepsets: HashMap<(usize, usize), BTreeSet<usize>>,
    know: &Indexed,
    levels: Vec<Level>,
    mut borderline: Vec<Borderline>,
    mut tests_run: usize,
    mut pmap: HashMap<Key, f64>,
    tol: f64,
    run: &mut impl FnMut(usize, &[Query], Option<crate::ProgressFn>) -> Vec<Result<f64>>,
) -> Result<DiscoveryResult> {
    let p = nodes.len();
    let mut g0 = Pag {
        p,
        m: vec![0; p * p],
    };
    let mut fas_sep: SepSets = HashMap::new();
    for i in 0..p {
        for j in 0..p {
            if i != j && skeleton.adjacent(i, j) {
                g0.set(i, j, CIRCLE);
            }
        }
    }
    for ((a, b), s) in sepsets {
        if !skeleton.adjacent(a, b) {
            fas_sep.insert((a, b), s.clone());
            fas_sep.insert((b, a), s);
        }
    }
    let kn = &pc.knowledge;
    let cx = Ctx {
        k: know,
        alpha: pc.alpha,
        names: nodes,
        r4_first: !kn.forbidden.is_empty() && !kn.required.is_empty() && !kn.tiers.is_empty(),
    };
    let (g, sep) = loop {
        let mut lk = Lookup {
            pmap: &pmap,
            missing: BTreeSet::new(),
        };
        let out = replay(&g0, &fas_sep, &cx, &mut lk)?;
        let missing = std::mem::take(&mut lk.missing);
        if missing.is_empty() {
            break out.expect("a replay with every p-value completes");
        }
        // one batch (every missing test has a non-empty conditioning set: the possible-d-sep
        // stage's have two nodes or more, R4's hold the discriminating path's end)
        let keys: Vec<Key> = missing.into_iter().collect();
        let depth = keys.iter().map(|k| k.2.len()).min().unwrap_or(0);
        let queries = pc.queries(nodes, &keys);
        let pv = run(depth, &queries, None);
        let pv = pc.checked(&queries, pv, tol, &mut borderline)?;
        tests_run += keys.len();
        pmap.extend(keys.into_iter().zip(pv));
    };
    let mark = |v: i8| match v {
        TAIL => Mark::Tail,
        ARROW => Mark::Arrow,
        _ => Mark::Circle,
    };
    let mut edges = Vec::new();
    for i in 0..p {
        for j in i + 1..p {
            let (mi, mj) = (g.at(i, j), g.at(j, i));
            if mi == 0 {
                continue;
            }
            // (from, to) with the "stronger" mark at `to`
            let (from, to, kind) = match (mi, mj) {
                (TAIL, ARROW) => (i, j, EdgeKind::Directed),
                (ARROW, TAIL) => (j, i, EdgeKind::Directed),
                (TAIL, TAIL) => (i, j, EdgeKind::Undirected),
                (ARROW, ARROW) => (i, j, EdgeKind::Bidirected),
                (CIRCLE, ARROW) => (i, j, EdgeKind::PartiallyDirected),
                (ARROW, CIRCLE) => (j, i, EdgeKind::PartiallyDirected),
                (CIRCLE, CIRCLE) => (i, j, EdgeKind::Nondirected),
                (CIRCLE, TAIL) => (i, j, EdgeKind::PartiallyUndirected),
                _ => (j, i, EdgeKind::PartiallyUndirected),
            };
            edges.push(Edge {
                from: nodes[from].clone(),
                to: nodes[to].clone(),
                kind,
                marks: [mark(g.at(from, to)), mark(g.at(to, from))],
            });
        }
    }
    let mut sepsets_out = BTreeMap::new();
    let mut keys: Vec<_> = sep.keys().copied().collect();
    keys.sort_unstable();
    for (a, b) in keys {
        if g.adj(a, b) {
            continue;
        }
        let name = format!("{}|{}", nodes[a.min(b)], nodes[a.max(b)]);
        sepsets_out
            .entry(name)
            .or_insert_with(|| sep[&(a, b)].iter().map(|&i| nodes[i].clone()).collect());
    }
    let pair = |(a, b): &(String, String)| [a.clone(), b.clone()];
    Ok(DiscoveryResult {
        algorithm: "fci".into(),
        settings: Settings {
            stable: None,
            uc_rule: None,
            uc_priority: None,
            max_depth: pc.max_depth,
            domain: None,
            forbidden: kn.forbidden.iter().map(pair).collect(),
            required: kn.required.iter().map(pair).collect(),
            tiers: kn.tiers.clone(),
            borderline: tol,
        },
        nodes: nodes.to_vec(),
        edges,
        sepsets: sepsets_out,
        tests_run,
        levels,
        borderline,
        changing: None,
        test: pc.test.name().into(),
        alpha: pc.alpha,
        backend: String::new(),
        seconds: 0.0,
        marks: g.m,
    })
}

#[cfg(test)]
mod tests {
    use super::{possible_dsep, subsets, Pag, CIRCLE};

    /// The subsets causal-learn 0.1.4.8's `removeByPossibleDsep` loop tests (printed from its
    /// `DepthChoiceGenerator` loop, repeats dropped).
    #[test]
    fn pdsep_subsets_skip_the_first_of_each_size_as_causal_learn() {
        let s3: Vec<Vec<usize>> = subsets(3).collect();
        assert_eq!(s3, vec![vec![0, 2], vec![1, 2], vec![0, 1, 2]]);
        let s4: Vec<Vec<usize>> = subsets(4).collect();
        assert_eq!(
            s4,
            vec![
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3],
                vec![0, 1, 3],
                vec![0, 2, 3],
                vec![1, 2, 3],
                vec![0, 1, 2, 3]
            ]
        );
        assert_eq!(subsets(2).collect::<Vec<_>>(), vec![vec![0, 1]]);
        assert_eq!(subsets(1).count(), 0);
    }

    /// Possible-D-Sep in causal-learn's order: its default names `X1`… as strings, descending
    /// (`sorted(["X2", …, "X11"], reverse=True)` puts `X9` first and `X10` last).
    #[test]
    fn possible_dsep_is_sorted_by_causal_learn_names() {
        // node 0 adjacent to 1..=11 (all o–o); Possible-D-Sep(0, 11) = {1, …, 10}
        let p = 12;
        let mut g = Pag {
            p,
            m: vec![0; p * p],
        };
        for j in 1..p {
            g.set(0, j, CIRCLE);
            g.set(j, 0, CIRCLE);
        }
        assert_eq!(
            possible_dsep(&g, 0, 11),
            vec![8, 7, 6, 5, 4, 3, 2, 1, 10, 9]
        );
    }
}
