//! Endpoint-mark graphs and the orientation rules of PC (unshielded colliders by causal-learn's
//! three rules and five conflict priorities, Meek's rules, definite Meek).
//!
//! The encoding is causal-learn's: `m[i][j]` is the mark at `i` of the edge between `i` and `j`
//! (0: no edge, −1: tail, 1: arrowhead), so `i → j` is `m[i][j] = −1, m[j][i] = 1`, `i — j` is
//! `−1, −1` and `i ↔ j` is `1, 1`. The triples and kites the rules visit are enumerated in
//! causal-learn's order (adjacency pairs listed tails first, then arrowheads, each in row-major
//! order of the mark matrix), so conflicting orientations resolve the same way.

use std::collections::BTreeSet;

pub(crate) const TAIL: i8 = -1;
pub(crate) const ARROW: i8 = 1;

/// A graph of endpoint marks over `p` nodes, with causal-learn's ancestor record.
///
/// `dpath[j][i] = 1` records "`i` is an ancestor of `j`", maintained exactly as causal-learn's
/// `GeneralGraph.dpath`: adding `i → j` makes `i` an ancestor of `j`, the ancestors of `i`
/// ancestors of `j`, and `i` an ancestor of the descendants of `j` (not the transitive closure);
/// removing a directed edge rebuilds the record from the remaining directed edges, in
/// causal-learn's order. Meek's rules skip an orientation `a → b` when `b` is recorded as an
/// ancestor of `a`, as causal-learn does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Marks {
    pub p: usize,
    m: Vec<i8>,
    dpath: Vec<u8>,
}

fn identity(p: usize) -> Vec<u8> {
    let mut d = vec![0; p * p];
    for i in 0..p {
        d[i * p + i] = 1;
    }
    d
}

impl Marks {
    /// The complete undirected graph minus nothing: every pair `i — j`.
    pub fn complete(p: usize) -> Marks {
        let mut m = vec![TAIL; p * p];
        for i in 0..p {
            m[i * p + i] = 0;
        }
        Marks {
            p,
            m,
            dpath: identity(p),
        }
    }

    /// The empty graph.
    pub fn empty(p: usize) -> Marks {
        Marks {
            p,
            m: vec![0; p * p],
            dpath: identity(p),
        }
    }

    /// From a row-major mark matrix.
    pub fn from_vec(p: usize, m: Vec<i8>) -> Marks {
        assert_eq!(m.len(), p * p);
        let mut g = Marks {
            p,
            m,
            dpath: identity(p),
        };
        g.reconstitute();
        g
    }

    /// The row-major mark matrix.
    pub fn into_vec(self) -> Vec<i8> {
        self.m
    }

    pub fn get(&self, i: usize, j: usize) -> i8 {
        self.m[i * self.p + j]
    }

    pub fn adjacent(&self, i: usize, j: usize) -> bool {
        self.get(i, j) != 0
    }

    /// Removes the edge between `i` and `j` (a directed one rebuilds the ancestor record).
    pub fn remove(&mut self, i: usize, j: usize) {
        let directed = self.is_directed(i, j) || self.is_directed(j, i);
        self.m[i * self.p + j] = 0;
        self.m[j * self.p + i] = 0;
        if directed {
            self.reconstitute();
        }
    }

    /// causal-learn's `adjust_dpath(i, j)` after adding `i → j`.
    fn adjust(&mut self, i: usize, j: usize) {
        let p = self.p;
        self.dpath[j * p + i] = 1;
        for k in 0..p {
            if self.dpath[i * p + k] == 1 {
                self.dpath[j * p + k] = 1;
            }
            if self.dpath[k * p + j] == 1 {
                self.dpath[k * p + i] = 1;
            }
        }
    }

    /// causal-learn's `reconstitute_dpath(get_graph_edges())`: the directed edges replayed from
    /// the last pair `(i < j)` in row order to the first.
    fn reconstitute(&mut self) {
        self.dpath = identity(self.p);
        let mut pairs = Vec::new();
        for i in 0..self.p {
            for j in i + 1..self.p {
                if self.adjacent(i, j) {
                    pairs.push((i, j));
                }
            }
        }
        for &(i, j) in pairs.iter().rev() {
            if self.is_directed(i, j) {
                self.adjust(i, j);
            } else if self.is_directed(j, i) {
                self.adjust(j, i);
            }
        }
    }

    /// Whether `a` is recorded as an ancestor of `b` (causal-learn's `is_ancestor_of`).
    pub fn is_ancestor(&self, a: usize, b: usize) -> bool {
        self.dpath[b * self.p + a] == 1
    }

    pub fn undirected(&mut self, i: usize, j: usize) {
        self.m[i * self.p + j] = TAIL;
        self.m[j * self.p + i] = TAIL;
    }

    /// Sets `i ↔ j` (replacing the edge there).
    pub fn bidirect(&mut self, i: usize, j: usize) {
        self.remove(i, j);
        self.m[i * self.p + j] = ARROW;
        self.m[j * self.p + i] = ARROW;
    }

    /// Sets `i → j`, replacing whatever edge was there (causal-learn's `remove_edge` then
    /// `add_edge`).
    pub fn direct(&mut self, i: usize, j: usize) {
        self.remove(i, j);
        self.m[i * self.p + j] = TAIL;
        self.m[j * self.p + i] = ARROW;
        self.adjust(i, j);
    }

    pub fn is_directed(&self, i: usize, j: usize) -> bool {
        self.get(i, j) == TAIL && self.get(j, i) == ARROW
    }

    pub fn is_undirected(&self, i: usize, j: usize) -> bool {
        self.get(i, j) == TAIL && self.get(j, i) == TAIL
    }

    pub fn neighbours(&self, i: usize) -> Vec<usize> {
        (0..self.p).filter(|&j| self.adjacent(i, j)).collect()
    }

    pub fn max_degree(&self) -> usize {
        (0..self.p)
            .map(|i| self.neighbours(i).len())
            .max()
            .unwrap_or(0)
    }

    /// Ordered adjacency pairs in causal-learn's `find_adj` order.
    fn adjacency_pairs(&self) -> Vec<(usize, usize)> {
        let mut tails = Vec::new();
        let mut heads = Vec::new();
        for r in 0..self.p {
            for c in 0..self.p {
                match self.get(r, c) {
                    TAIL => tails.push((c, r)),
                    ARROW => heads.push((c, r)),
                    _ => {}
                }
            }
        }
        tails.extend(heads);
        tails
    }

    /// `(i, j, k)` with `i — j — k` (any marks) and `i`, `k` adjacent (`tri`) or not.
    fn triples(&self, tri: bool) -> Vec<(usize, usize, usize)> {
        let adj = self.adjacency_pairs();
        let mut from: Vec<Vec<usize>> = vec![Vec::new(); self.p];
        for (idx, &(a, _)) in adj.iter().enumerate() {
            from[a].push(idx);
        }
        let mut out = Vec::new();
        for &(i, j) in &adj {
            for &b in &from[j] {
                let k = adj[b].1;
                if k != i && self.adjacent(i, k) == tri {
                    out.push((i, j, k));
                }
            }
        }
        out
    }

    /// Unshielded triples `i — j — k` (`i`, `k` not adjacent), both orders.
    pub fn unshielded_triples(&self) -> Vec<(usize, usize, usize)> {
        self.triples(false)
    }

    /// Triangles `(i, j, k)`, every rotation and order.
    pub fn triangles(&self) -> Vec<(usize, usize, usize)> {
        self.triples(true)
    }

    /// Kites `(i, j, k, l)`: `i — j — l`, `i — k — l`, `i — l`, `j < k` not adjacent.
    pub fn kites(&self) -> Vec<(usize, usize, usize, usize)> {
        let tri = self.triangles();
        let mut by_ends: std::collections::HashMap<(usize, usize), Vec<usize>> =
            std::collections::HashMap::new();
        for (idx, t) in tri.iter().enumerate() {
            by_ends.entry((t.0, t.2)).or_default().push(idx);
        }
        let mut out = Vec::new();
        for t0 in &tri {
            for &b in &by_ends[&(t0.0, t0.2)] {
                let t1 = tri[b];
                if t0.1 < t1.1 && !self.adjacent(t0.1, t1.1) {
                    out.push((t0.0, t0.1, t1.1, t0.2));
                }
            }
        }
        out
    }
}

/// Orientation constraints from background knowledge, by node index.
pub(crate) trait Constraints {
    fn forbidden(&self, from: usize, to: usize) -> bool;
    fn required(&self, from: usize, to: usize) -> bool;
}

/// No constraints.
pub(crate) struct Free;

impl Constraints for Free {
    fn forbidden(&self, _: usize, _: usize) -> bool {
        false
    }
    fn required(&self, _: usize, _: usize) -> bool {
        false
    }
}

/// Orients each undirected edge that the knowledge decides (causal-learn's
/// `orient_by_background_knowledge`).
pub(crate) fn orient_by_knowledge(g: &mut Marks, k: &dyn Constraints) {
    for i in 0..g.p {
        for j in i + 1..g.p {
            if !g.is_undirected(i, j) {
                continue;
            }
            if k.forbidden(j, i) || k.required(i, j) {
                g.direct(i, j);
            } else if k.forbidden(i, j) || k.required(j, i) {
                g.direct(j, i);
            }
        }
    }
}

/// How unshielded colliders are found (causal-learn's `uc_rule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UcRule {
    /// 0: the middle node is not in the separating set.
    Sepset,
    /// 1: maxP — the largest p-value over conditioning sets without the middle node exceeds the
    /// largest over sets with it.
    MaxP,
    /// 2: definite maxP — only triples that are definitely colliders or non-colliders.
    DefiniteMaxP,
}

/// The orientation state of the collider stage: the definite colliders and non-colliders of
/// [`UcRule::DefiniteMaxP`] (empty otherwise), which `definite_meek` uses.
#[derive(Default)]
pub(crate) struct Definite {
    pub uc: Vec<(usize, usize, usize)>,
    pub non_uc: Vec<(usize, usize, usize)>,
}

/// Whether the knowledge rules out the collider `x → y ← z`.
fn banned(k: &dyn Constraints, x: usize, y: usize, z: usize) -> bool {
    k.forbidden(x, y) || k.forbidden(z, y) || k.required(y, x) || k.required(y, z)
}

/// Orients the collider `x → y ← z` under conflict priority 0 (overwrite), 1 (bidirected on
/// conflict) or 2 (only if neither edge points out of `y`); returns whether 2 oriented it.
fn orient_collider(g: &mut Marks, x: usize, y: usize, z: usize, priority: i8) -> bool {
    match priority {
        0 => {
            g.direct(x, y);
            g.direct(z, y);
            true
        }
        1 => {
            for a in [x, z] {
                if g.is_undirected(a, y) {
                    g.direct(a, y);
                } else if g.is_directed(y, a) {
                    g.bidirect(a, y);
                }
            }
            true
        }
        _ => {
            if !g.is_directed(y, x) && !g.is_directed(y, z) {
                g.direct(x, y);
                g.direct(z, y);
                true
            } else {
                false
            }
        }
    }
}

/// Stable sort of scored triples: ascending (priority 3) or descending (priority 4), ties in
/// their first order (Python's `sorted`, `reverse=True` included).
fn by_score(
    mut v: Vec<((usize, usize, usize), f64)>,
    descending: bool,
) -> Vec<(usize, usize, usize)> {
    if descending {
        v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    } else {
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
    }
    v.into_iter().map(|(t, _)| t).collect()
}

/// The p-values a collider rule needs: `maxp(x, z, y, with)` is the largest p-value of `x ⫫ z |
/// S` over the conditioning sets `S ⊆ adj(x)` or `S ⊆ adj(z)` that contain `y` (`with`) or not.
pub(crate) type MaxP<'a> = &'a dyn Fn(usize, usize, usize, bool) -> f64;

/// The p-values of every conditioning set of a triple, with or without the middle node (for
/// definite maxP, which stops at the first p-value above alpha).
pub(crate) type AllP<'a> = &'a dyn Fn(usize, usize, usize, bool) -> Vec<f64>;

/// Unshielded colliders as causal-learn's `uc_sepset`, `maxp` and `definite_maxp` with conflict
/// priority `priority` (−1: the rule's default, 3 for sepset and maxP, 4 for definite maxP).
/// Triples `x — y — z` (`x < z`) are visited in causal-learn's order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn colliders(
    g: &mut Marks,
    rule: UcRule,
    priority: i8,
    alpha: f64,
    sepset: &dyn Fn(usize, usize) -> BTreeSet<usize>,
    maxp: MaxP,
    allp: AllP,
    k: &dyn Constraints,
) -> Definite {
    let priority = match (priority, rule) {
        (-1, UcRule::DefiniteMaxP) => 4,
        (-1, _) => 3,
        (p, _) => p,
    };
    let triples: Vec<_> = g
        .unshielded_triples()
        .into_iter()
        .filter(|&(x, _, z)| x < z)
        .collect();
    let mut def = Definite::default();
    let mut scored = Vec::new();
    match rule {
        UcRule::Sepset => {
            for (x, y, z) in triples {
                if banned(k, x, y, z) || sepset(x, z).contains(&y) {
                    continue;
                }
                match priority {
                    0..=2 => {
                        orient_collider(g, x, y, z, priority);
                    }
                    3 => scored.push(((x, y, z), maxp(x, z, y, true))),
                    _ => scored.push(((x, y, z), maxp(x, z, y, false))),
                }
            }
        }
        UcRule::MaxP => {
            for (x, y, z) in triples {
                if banned(k, x, y, z) {
                    continue;
                }
                let (with, without) = (maxp(x, z, y, true), maxp(x, z, y, false));
                if without > with {
                    match priority {
                        0..=2 => {
                            orient_collider(g, x, y, z, priority);
                        }
                        3 => scored.push(((x, y, z), with)),
                        _ => scored.push(((x, y, z), without)),
                    }
                }
            }
        }
        UcRule::DefiniteMaxP => {
            for (x, y, z) in triples {
                let with = allp(x, z, y, true);
                let without = allp(x, z, y, false);
                // every set is tested: the order causal-learn stops in does not change the
                // outcome (a break happens only where the maxima are not used)
                let uc = with.iter().all(|&p| p <= alpha);
                let nuc = without.iter().all(|&p| p <= alpha);
                let mw = with.iter().fold(0.0f64, |m, &p| m.max(p));
                let mwo = without.iter().fold(0.0f64, |m, &p| m.max(p));
                let score = if priority == 4 { mwo } else { mw };
                if uc {
                    if nuc && mwo <= mw {
                        def.non_uc.push((x, y, z));
                    } else {
                        scored.push(((x, y, z), score));
                    }
                } else if nuc {
                    def.non_uc.push((x, y, z));
                }
            }
        }
    }
    let order = match (rule, priority) {
        (UcRule::DefiniteMaxP, 2) => scored.into_iter().map(|(t, _)| t).collect(),
        (_, 3) => by_score(scored, false),
        (_, 4) => by_score(scored, true),
        _ => Vec::new(),
    };
    for (x, y, z) in order {
        if banned(k, x, y, z) {
            continue;
        }
        if orient_collider(g, x, y, z, 2) && rule == UcRule::DefiniteMaxP {
            def.uc.push((x, y, z));
        }
    }
    def
}

/// causal-learn's `definite_meek`: rule 1 on the definite non-colliders, rule 2, and rule 3 on
/// kites whose colliders are definite; orientations skipped as in [`meek`].
pub(crate) fn definite_meek(g: &mut Marks, def: &Definite, k: &dyn Constraints) {
    let tri = g.triangles();
    let kites = g.kites();
    let blocked =
        |g: &Marks, a: usize, b: usize| k.forbidden(a, b) || k.required(b, a) || !g.adjacent(a, b);
    loop {
        let mut changed = false;
        for &(i, j, l) in &def.non_uc {
            if g.is_directed(i, j) && g.is_undirected(j, l) && !blocked(g, j, l) {
                if g.is_ancestor(l, j) {
                    continue;
                }
                g.direct(j, l);
                changed = true;
            } else if g.is_directed(l, j) && g.is_undirected(j, i) && !blocked(g, j, i) {
                if g.is_ancestor(i, j) {
                    continue;
                }
                g.direct(j, i);
                changed = true;
            }
        }
        for &(i, j, l) in &tri {
            if g.is_directed(i, j)
                && g.is_directed(j, l)
                && g.is_undirected(i, l)
                && !blocked(g, i, l)
                && !g.is_ancestor(l, i)
            {
                g.direct(i, l);
                changed = true;
            }
        }
        for &(i, j, kk, l) in &kites {
            let uc = def.uc.contains(&(j, l, kk)) || def.uc.contains(&(kk, l, j));
            let nuc = def.non_uc.contains(&(j, i, kk)) || def.non_uc.contains(&(kk, i, j));
            if uc && nuc && g.is_undirected(i, l) && !blocked(g, i, l) && !g.is_ancestor(l, i) {
                g.direct(i, l);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
}

/// Meek's rules 1–3 to a fixed point (causal-learn's `meek`): an orientation `a → b` is skipped
/// when `b` is recorded as an ancestor of `a` (causal-learn's record, see [`Marks`]).
pub(crate) fn meek(g: &mut Marks, k: &dyn Constraints) {
    let ut = g.unshielded_triples();
    let tri = g.triangles();
    let kites = g.kites();
    let orient = |g: &mut Marks, a: usize, b: usize| -> bool {
        if k.forbidden(a, b) || k.required(b, a) || g.is_ancestor(b, a) {
            return false;
        }
        g.direct(a, b);
        true
    };
    loop {
        let mut changed = false;
        for &(i, j, l) in &ut {
            // rule 1: i → j — l, i and l not adjacent ⇒ j → l
            if g.is_directed(i, j) && g.is_undirected(j, l) {
                changed |= orient(g, j, l);
            }
        }
        for &(i, j, l) in &tri {
            // rule 2: i → j → l and i — l ⇒ i → l
            if g.is_directed(i, j) && g.is_directed(j, l) && g.is_undirected(i, l) {
                changed |= orient(g, i, l);
            }
        }
        for &(i, j, kk, l) in &kites {
            // rule 3: i — j → l, i — kk → l, j and kk not adjacent, i — l ⇒ i → l
            if g.is_undirected(i, j)
                && g.is_undirected(i, kk)
                && g.is_directed(j, l)
                && g.is_directed(kk, l)
                && g.is_undirected(i, l)
            {
                changed |= orient(g, i, l);
            }
        }
        if !changed {
            break;
        }
    }
}

/// The CPDAG (essential graph) of a DAG given as parent lists: the skeleton, its v-structures,
/// and Meek's rules 1–3 (complete for this case, Meek 1995).
pub(crate) fn cpdag(parents: &[Vec<usize>]) -> Marks {
    let p = parents.len();
    let mut g = Marks::empty(p);
    for (c, ps) in parents.iter().enumerate() {
        for &a in ps {
            g.undirected(a, c);
        }
    }
    for (c, ps) in parents.iter().enumerate() {
        for (ia, &a) in ps.iter().enumerate() {
            for &b in &ps[ia + 1..] {
                if !parents[a].contains(&b) && !parents[b].contains(&a) {
                    g.direct(a, c);
                    g.direct(b, c);
                }
            }
        }
    }
    meek(&mut g, &Free);
    g
}

/// Structural Hamming distance: node pairs whose edges differ (missing, extra, or with other
/// marks), each counted once.
pub(crate) fn shd(a: &Marks, b: &Marks) -> usize {
    let mut d = 0;
    for i in 0..a.p {
        for j in i + 1..a.p {
            if (a.get(i, j), a.get(j, i)) != (b.get(i, j), b.get(j, i)) {
                d += 1;
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpdag_of_a_collider_and_a_chain() {
        // 0 → 2 ← 1, 2 → 3: the collider is compelled and so is 2 → 3 (rule 1)
        let g = cpdag(&[vec![], vec![], vec![0, 1], vec![2]]);
        assert!(g.is_directed(0, 2) && g.is_directed(1, 2) && g.is_directed(2, 3));
        // a chain 0 → 1 → 2 has no compelled edge
        let c = cpdag(&[vec![], vec![0], vec![1]]);
        assert!(c.is_undirected(0, 1) && c.is_undirected(1, 2) && !c.adjacent(0, 2));
        assert_eq!(shd(&g, &g), 0);
        // hand-counted: the 3-node collider against the chain's CPDAG differs in every pair
        // (0,1: absent vs 0 — 1; 0,2: 0 → 2 vs absent; 1,2: 1 → 2 vs 1 — 2)
        let k = cpdag(&[vec![], vec![], vec![0, 1]]);
        assert_eq!(shd(&k, &c), 3);
        assert_eq!(shd(&c, &k), 3);
        // one added edge is one difference
        let r = cpdag(&[vec![], vec![], vec![0, 1], vec![]]);
        let mut r2 = r.clone();
        r2.direct(3, 2);
        assert_eq!(shd(&r, &r2), 1);
    }

    #[test]
    fn rule_three_orients_the_kite_diagonal() {
        // i — j → l, i — k → l, i — l, j and k not adjacent
        let mut g = Marks::empty(4);
        let (i, j, k, l) = (0, 1, 2, 3);
        g.undirected(i, j);
        g.undirected(i, k);
        g.undirected(i, l);
        g.direct(j, l);
        g.direct(k, l);
        meek(&mut g, &Free);
        assert!(g.is_directed(i, l));
    }
}
