//! Endpoint-mark graphs and the orientation rules of PC (unshielded colliders, Meek's rules).
//!
//! The encoding is causal-learn's: `m[i][j]` is the mark at `i` of the edge between `i` and `j`
//! (0: no edge, −1: tail, 1: arrowhead), so `i → j` is `m[i][j] = −1, m[j][i] = 1`, `i — j` is
//! `−1, −1` and `i ↔ j` is `1, 1`. The triples and kites the rules visit are enumerated in
//! causal-learn's order (adjacency pairs listed tails first, then arrowheads, each in row-major
//! order of the mark matrix), so conflicting orientations resolve the same way.

use std::collections::BTreeSet;

pub(crate) const TAIL: i8 = -1;
pub(crate) const ARROW: i8 = 1;

/// A graph of endpoint marks over `p` nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Marks {
    pub p: usize,
    m: Vec<i8>,
}

impl Marks {
    /// The complete undirected graph minus nothing: every pair `i — j`.
    pub fn complete(p: usize) -> Marks {
        let mut m = vec![TAIL; p * p];
        for i in 0..p {
            m[i * p + i] = 0;
        }
        Marks { p, m }
    }

    /// The empty graph.
    pub fn empty(p: usize) -> Marks {
        Marks {
            p,
            m: vec![0; p * p],
        }
    }

    /// From a row-major mark matrix.
    pub fn from_vec(p: usize, m: Vec<i8>) -> Marks {
        assert_eq!(m.len(), p * p);
        Marks { p, m }
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

    pub fn remove(&mut self, i: usize, j: usize) {
        self.m[i * self.p + j] = 0;
        self.m[j * self.p + i] = 0;
    }

    pub fn undirected(&mut self, i: usize, j: usize) {
        self.m[i * self.p + j] = TAIL;
        self.m[j * self.p + i] = TAIL;
    }

    /// Sets `i → j` (replacing whatever edge was there).
    pub fn direct(&mut self, i: usize, j: usize) {
        self.m[i * self.p + j] = TAIL;
        self.m[j * self.p + i] = ARROW;
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

    /// Whether a directed path `from → … → to` exists (`from == to` counts).
    pub fn reaches(&self, from: usize, to: usize) -> bool {
        let mut seen = vec![false; self.p];
        let mut stack = vec![from];
        while let Some(u) = stack.pop() {
            if u == to {
                return true;
            }
            if std::mem::replace(&mut seen[u], true) {
                continue;
            }
            stack.extend((0..self.p).filter(|&v| self.is_directed(u, v) && !seen[v]));
        }
        false
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
    fn triangles(&self) -> Vec<(usize, usize, usize)> {
        self.triples(true)
    }

    /// Kites `(i, j, k, l)`: `i — j — l`, `i — k — l`, `i — l`, `j < k` not adjacent.
    fn kites(&self) -> Vec<(usize, usize, usize, usize)> {
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

/// Unshielded colliders by separating sets, causal-learn's `uc_sepset` with priority 2
/// ("prioritise existing colliders"): for each unshielded triple `x — y — z` (`x < z`) whose
/// separating set lacks `y`, orient `x → y ← z` unless `y → x` or `y → z` is already oriented.
pub(crate) fn colliders(
    g: &mut Marks,
    sepset: &dyn Fn(usize, usize) -> BTreeSet<usize>,
    k: &dyn Constraints,
) -> Vec<(usize, usize, usize)> {
    let mut oriented = Vec::new();
    let triples: Vec<_> = g
        .unshielded_triples()
        .into_iter()
        .filter(|&(x, _, z)| x < z)
        .collect();
    for (x, y, z) in triples {
        if k.forbidden(x, y) || k.forbidden(z, y) || k.required(y, x) || k.required(y, z) {
            continue;
        }
        if sepset(x, z).contains(&y) {
            continue;
        }
        if !g.is_directed(y, x) && !g.is_directed(y, z) {
            g.direct(x, y);
            g.direct(z, y);
            oriented.push((x, y, z));
        }
    }
    oriented
}

/// Meek's rules 1–3 to a fixed point (causal-learn's `meek`): an orientation that would close
/// a directed cycle is skipped.
pub(crate) fn meek(g: &mut Marks, k: &dyn Constraints) {
    let ut = g.unshielded_triples();
    let tri = g.triangles();
    let kites = g.kites();
    let orient = |g: &mut Marks, a: usize, b: usize| -> bool {
        if k.forbidden(a, b) || k.required(b, a) || g.reaches(b, a) {
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
