//! FCI's partial ancestral graph under construction (causal-learn's `G.graph` marks) and the
//! path queries its orientation rules ask.

use std::collections::VecDeque;

pub(super) const TAIL: i8 = -1;
pub(super) const ARROW: i8 = 1;
pub(super) const CIRCLE: i8 = 2;

/// The PAG under construction, causal-learn's `G.graph`: `m[i][j]` is the mark at `i` of the
/// edge `i *–* j` (0 none, −1 tail, 1 arrowhead, 2 circle).
#[derive(Clone)]
pub(super) struct Pag {
    pub(super) p: usize,
    pub(super) m: Vec<i8>,
}

impl Pag {
    pub(super) fn at(&self, i: usize, j: usize) -> i8 {
        self.m[i * self.p + j]
    }
    pub(super) fn set(&mut self, i: usize, j: usize, v: i8) {
        self.m[i * self.p + j] = v;
    }
    /// `get_endpoint(x, y)`: the mark at `y`.
    pub(super) fn end(&self, x: usize, y: usize) -> i8 {
        self.at(y, x)
    }
    pub(super) fn adj(&self, i: usize, j: usize) -> bool {
        self.at(j, i) != 0
    }
    pub(super) fn remove(&mut self, i: usize, j: usize) {
        self.set(i, j, 0);
        self.set(j, i, 0);
    }
    pub(super) fn adjacent(&self, i: usize) -> Vec<usize> {
        (0..self.p)
            .filter(|&j| self.at(i, j) != 0 && self.at(j, i) != 0)
            .collect()
    }
    /// `get_nodes_into(b, mark)`: the nodes whose edge has `mark` at `b`.
    pub(super) fn nodes_into(&self, b: usize, mark: i8) -> Vec<usize> {
        (0..self.p).filter(|&j| self.at(b, j) == mark).collect()
    }
    /// `get_nodes_out_of(b, ARROW)`: the nodes `j` of `b *→ j`.
    pub(super) fn out_of_arrow(&self, b: usize) -> Vec<usize> {
        (0..self.p).filter(|&j| self.at(j, b) == ARROW).collect()
    }
    pub(super) fn is_parent(&self, a: usize, c: usize) -> bool {
        self.at(c, a) == ARROW && self.at(a, c) == TAIL
    }
    pub(super) fn parents(&self, c: usize) -> Vec<usize> {
        (0..self.p).filter(|&i| self.is_parent(i, c)).collect()
    }
    pub(super) fn def_collider(&self, a: usize, b: usize, c: usize) -> bool {
        self.adj(a, b) && self.adj(b, c) && self.at(b, a) == ARROW && self.at(b, c) == ARROW
    }
    /// `Edge(a, b, ·, ·)` as causal-learn lists it: `(node1, node2)`, swapped when the mark at
    /// the first is an arrowhead and the other a tail or circle.
    pub(super) fn edges(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for i in 0..self.p {
            for j in i + 1..self.p {
                if self.at(j, i) != 0 {
                    let (a, b) = (self.at(i, j), self.at(j, i));
                    if a == ARROW && (b == TAIL || b == CIRCLE) {
                        out.push((j, i));
                    } else {
                        out.push((i, j));
                    }
                }
            }
        }
        out
    }
    pub(super) fn all_circles(&mut self) {
        for v in self.m.iter_mut() {
            if *v != 0 {
                *v = CIRCLE;
            }
        }
    }
    pub(super) fn uncovered(&self, path: &[usize]) -> bool {
        path.windows(3).all(|w| !self.adj(w[0], w[2]))
    }
    /// `existsSemiDirectedPath`: breadth-first along edges whose mark at the near end is a tail
    /// or circle.
    pub(super) fn semi_directed(&self, from: usize, to: usize) -> bool {
        let mut q = VecDeque::new();
        let mut seen = vec![false; self.p];
        let step = |t: usize, q: &mut VecDeque<usize>, seen: &mut Vec<bool>| {
            for u in self.adjacent(t) {
                if matches!(self.at(t, u), TAIL | CIRCLE) && !seen[u] {
                    seen[u] = true;
                    q.push_back(u);
                }
            }
        };
        step(from, &mut q, &mut seen);
        while let Some(t) = q.pop_front() {
            if t == to {
                return true;
            }
            step(t, &mut q, &mut seen);
        }
        false
    }
    /// `existsUncoveredPdPath(from, next, to)`.
    pub(super) fn uncovered_pd_path(&self, from: usize, next: usize, to: usize) -> bool {
        let pd = |t: usize, u: usize| {
            matches!(self.at(t, u), TAIL | CIRCLE) && matches!(self.at(u, t), ARROW | CIRCLE)
        };
        let mut seen = vec![false; self.p];
        seen[from] = true;
        seen[next] = true;
        let mut q = VecDeque::new();
        for u in self.adjacent(next) {
            if pd(next, u) && !seen[u] {
                seen[u] = true;
                q.push_back((u, vec![from, next, u]));
            }
        }
        while let Some((t, path)) = q.pop_front() {
            if t == to && self.uncovered(&path) {
                return true;
            }
            for u in self.adjacent(t) {
                if pd(t, u) && !seen[u] {
                    seen[u] = true;
                    let mut p2 = path.clone();
                    p2.push(u);
                    q.push_back((u, p2));
                }
            }
        }
        false
    }
    /// `find_possible_children(a, en)`: the adjacents without an arrowhead at `a`.
    pub(super) fn possible_children(&self, a: usize, en: &[usize]) -> Vec<usize> {
        en.iter()
            .copied()
            .filter(|&n| n != a && self.adj(a, n) && self.at(a, n) != ARROW)
            .collect()
    }
}
