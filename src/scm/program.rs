//! The model compiled for `shaders/sweep.wgsl`: a flat program of node records, coefficients
//! and terms, with value slots reused after their last reader.

use super::{CTerm, Func, NodeType, Noise, Scm};

/// Words per node record of [`SweepProgram::nodes`].
pub(crate) const NODE_WORDS: usize = 9;

/// Value slots the sweep shader holds in a private array (`MAXN` in `shaders/sweep.wgsl`);
/// programs that need more run the `sweep-wide` variant, whose slots live in a storage buffer.
pub(crate) const PRIVATE_SLOTS: u32 = 256;

/// Function code of a product term in the program (unary functions are `0..11`, in the order
/// of [`super::FUNCS`]).
const PRODUCT: u32 = 11;

/// A model compiled for `shaders/sweep.wgsl`: f32 values stored as their bits.
///
/// * `nodes`: [`NODE_WORDS`] words per node, topological order: `flags` (bit 0 logistic, bit 1
///   needed, bits 2–3 noise 0 normal / 1 uniform / 2 Laplace, bit 4 the node's pair
///   `(2k, 2k + 1)` shares one Box–Muller transform), noise parameters `p0` (scale or low)
///   and `p1` (high), the intercept, offset and count of its coefficients and of its terms in
///   `prog`, then the value slot the node writes.
/// * `prog`: coefficients as `(parent slot, weight)`; terms as six words `(fn, weight, inner
///   scale, inner shift, parent slot or offset, count)`, a product's parent slots listed at the
///   offset.
///
/// Slots: a thread keeps a node's value only while a later needed node reads it (or for good,
/// for the kept node), so a slot freed by a parent's last reader is reused (by that reader
/// itself: the shader reads every parent before it writes). A chain of any length takes one
/// slot; a model whose outcome reads every node takes one per node. `slots` is the peak.
pub(crate) struct SweepProgram {
    pub nodes: Vec<u32>,
    pub prog: Vec<u32>,
    /// Value slots one thread needs.
    pub slots: u32,
    /// The kept node's slot (0 without one).
    pub kept_slot: u32,
}

fn func_code(f: Func) -> u32 {
    super::FUNCS
        .iter()
        .position(|(_, g)| *g == f)
        .expect("listed") as u32
}

impl Scm {
    /// Value slots of the needed nodes (module docs of [`SweepProgram`]): `(slot per node,
    /// slots)`; the `kept` node's slot is never reused.
    fn slots(&self, needed: &[bool], kept: Option<usize>) -> (Vec<u32>, u32) {
        let m = self.nodes.len();
        // the last needed node that reads each node
        let mut last_use = vec![None; m];
        let parents: Vec<Vec<usize>> = (0..m).map(|j| self.parent_indices(j)).collect();
        for j in (0..m).filter(|&j| needed[j]) {
            for &p in &parents[j] {
                last_use[p] = Some(j);
            }
        }
        let mut slot = vec![0u32; m];
        let (mut free, mut peak) = (Vec::new(), 0u32);
        for j in (0..m).filter(|&j| needed[j]) {
            for &p in &parents[j] {
                if last_use[p] == Some(j) && kept != Some(p) {
                    free.push(slot[p]);
                }
            }
            slot[j] = free.pop().unwrap_or_else(|| {
                peak += 1;
                peak - 1
            });
            if last_use[j].is_none() && kept != Some(j) {
                free.push(slot[j]);
            }
        }
        (slot, peak)
    }

    /// The flat program of the sweep shader for `outcome`; nodes the outcome does not depend on
    /// are marked unneeded (the shader skips them; their noise words are never read, so nothing
    /// shifts).
    pub(crate) fn program(&self, outcome: usize) -> SweepProgram {
        self.program_of(&self.needed_for(outcome), Some(outcome))
    }

    /// The program of [`Scm::sample`]: every node needed, none kept (the shader writes each
    /// value out as it is computed).
    pub(crate) fn sample_program(&self) -> SweepProgram {
        self.program_of(&vec![true; self.nodes.len()], None)
    }

    fn program_of(&self, needed: &[bool], kept: Option<usize>) -> SweepProgram {
        let m = self.nodes.len();
        let (slot, slots) = self.slots(needed, kept);
        let normal = |k: usize| matches!(self.nodes[k].noise, Some(Noise::Normal { .. }));
        let f = |x: f64| (x as f32).to_bits();
        let mut nodes = Vec::with_capacity(m * NODE_WORDS);
        let mut prog = Vec::new();
        for (j, node) in self.nodes.iter().enumerate() {
            let even = j - j % 2;
            let shared = even + 1 < m && normal(even) && normal(even + 1);
            let (dist, p0, p1) = match node.noise {
                Some(Noise::Normal { scale }) => (0, scale, 0.0),
                Some(Noise::Uniform { low, high }) => (1, low, high),
                Some(Noise::Laplace { scale }) => (2, scale, 0.0),
                None => (0, 0.0, 0.0),
            };
            let flags = (node.kind == NodeType::Logistic) as u32
                | (needed[j] as u32) << 1
                | dist << 2
                | (shared as u32) << 4;
            let coef_off = prog.len() as u32;
            for &(p, c) in &self.coef[j] {
                prog.extend([slot[p], f(c)]);
            }
            let term_off = prog.len() as u32;
            let mut lists = Vec::new();
            for t in &self.terms[j] {
                match t {
                    CTerm::Unary(func, p, w, a, b) => {
                        prog.extend([func_code(*func), f(*w), f(*a), f(*b), slot[*p], 1]);
                    }
                    CTerm::Product(ps, w) => {
                        let at = prog.len();
                        prog.extend([PRODUCT, f(*w), f(1.0), 0, 0, ps.len() as u32]);
                        lists.push((at + 4, ps.clone()));
                    }
                }
            }
            for (at, ps) in lists {
                prog[at] = prog.len() as u32;
                prog.extend(ps.iter().map(|&p| slot[p]));
            }
            nodes.extend([
                flags,
                f(p0),
                f(p1),
                f(node.intercept),
                coef_off,
                self.coef[j].len() as u32,
                term_off,
                self.terms[j].len() as u32,
                slot[j],
            ]);
        }
        SweepProgram {
            nodes,
            prog,
            slots: slots.max(1),
            kept_slot: kept.map_or(0, |k| slot[k]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scm::Node;

    fn normal() -> Noise {
        Noise::Normal { scale: 1.0 }
    }

    /// `X0 → X1 → … → X(n−1)`, and with `wide` a last node `Y` reading every `Xj`.
    fn chain(n: usize, wide: bool) -> Scm {
        let names: Vec<String> = (0..n).map(|j| format!("X{j}")).collect();
        let mut nodes = vec![Node::linear(&names[0], 0.0, &[], normal())];
        for j in 1..n {
            nodes.push(Node::linear(
                &names[j],
                0.0,
                &[(&names[j - 1], 0.5)],
                normal(),
            ));
        }
        if wide {
            let coef: Vec<(&str, f64)> = names.iter().map(|s| (s.as_str(), 0.1)).collect();
            nodes.push(Node::linear("Y", 0.0, &coef, normal()));
        }
        Scm::new(nodes).unwrap()
    }

    #[test]
    fn value_slots_are_reused_after_the_last_reader() {
        let c = chain(300, false);
        let p = c.program(299);
        assert_eq!((p.slots, p.kept_slot), (1, 0));
        assert_eq!(c.sample_program().slots, 1);
        // an outcome in the middle: the nodes after it are unneeded
        let p = c.program(10);
        assert_eq!(p.slots, 1);
        assert_eq!(p.nodes[11 * NODE_WORDS] & 2, 0);
        // every Xj is read by Y: 300 values live at once, then Y takes a freed slot
        let w = chain(300, true);
        let p = w.program(300);
        assert_eq!(p.slots, 300);
        assert!(p.slots > PRIVATE_SLOTS);
        // a node read twice (coefficient and product term) frees its slot once
        let d = Scm::new(vec![
            Node::linear("A", 0.0, &[], normal()),
            Node::linear("B", 0.0, &[], normal()),
            Node::additive(
                "C",
                0.0,
                &[("A", 1.0)],
                vec![super::super::Term::Product {
                    parents: vec!["A".into(), "B".into()],
                    weight: 1.0,
                }],
                normal(),
            ),
            Node::linear("D", 0.0, &[("C", 1.0), ("B", 1.0)], normal()),
            Node::linear("E", 0.0, &[("D", 1.0)], normal()),
        ])
        .unwrap();
        let p = d.program(d.names().iter().position(|n| *n == "E").unwrap());
        let names = d.names();
        let slot = |name: &str| {
            let j = names.iter().position(|n| *n == name).unwrap();
            p.nodes[j * NODE_WORDS + 8]
        };
        assert_eq!(p.slots, 2);
        // A and B live together; C takes A's slot (C is A's last reader); D frees B's and
        // C's slots and takes C's (freed last); E takes D's
        assert_ne!(slot("A"), slot("B"));
        assert_eq!([slot("C"), slot("D"), slot("E")], [slot("A"); 3]);
    }
}
