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
///
/// A *shared* program ([`Scm::shared_program`], sweeps under common random numbers) also marks
/// in `flags` the nodes that vary between settings (bit 5), the nodes whose noise some setting
/// samples (bit 6), and a varying noisy node's noise slot (bits 8 and up, where the shader keeps
/// its noise term across the settings); the values of the other needed nodes, computed once per
/// sample, keep their slots while any varying node reads them.
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

    /// Value and noise slots of a shared program (module docs of [`SweepProgram`]): `(slot
    /// per node, noise slot per node, slots)`. Pass 1 (the nodes that vary in no setting, and
    /// the noise slots of the noisy varying nodes, in topological order) keeps every value a
    /// varying node reads and every noise slot for good; pass 2 (the varying nodes, again per
    /// setting) reuses what is left.
    fn shared_slots(
        &self,
        needed: &[bool],
        varies: &[bool],
        noisy: &[bool],
        kept: usize,
    ) -> (Vec<u32>, Vec<u32>, u32) {
        let m = self.nodes.len();
        let parents: Vec<Vec<usize>> = (0..m).map(|j| self.parent_indices(j)).collect();
        // last reader within each pass; `pinned`: read by a varying node (kept for good)
        let (mut last_once, mut last_vary) = (vec![None; m], vec![None; m]);
        let mut pinned = vec![false; m];
        pinned[kept] = true;
        for j in (0..m).filter(|&j| needed[j]) {
            for &p in &parents[j] {
                match (varies[j], varies[p]) {
                    (false, _) => last_once[p] = Some(j),
                    (true, false) => pinned[p] = true,
                    (true, true) => last_vary[p] = Some(j),
                }
            }
        }
        let (mut slot, mut noise) = (vec![0u32; m], vec![0u32; m]);
        let (mut free, mut peak) = (Vec::<u32>::new(), 0u32);
        let mut take = |free: &mut Vec<u32>| {
            free.pop().unwrap_or_else(|| {
                peak += 1;
                peak - 1
            })
        };
        for j in (0..m).filter(|&j| needed[j]) {
            if varies[j] {
                if noisy[j] {
                    noise[j] = take(&mut free);
                }
                continue;
            }
            for &p in &parents[j] {
                if last_once[p] == Some(j) && !pinned[p] {
                    free.push(slot[p]);
                }
            }
            slot[j] = take(&mut free);
            if last_once[j].is_none() && !pinned[j] {
                free.push(slot[j]);
            }
        }
        for j in (0..m).filter(|&j| needed[j] && varies[j]) {
            for &p in &parents[j] {
                if varies[p] && last_vary[p] == Some(j) && p != kept {
                    free.push(slot[p]);
                }
            }
            slot[j] = take(&mut free);
            if last_vary[j].is_none() && j != kept {
                free.push(slot[j]);
            }
        }
        (slot, noise, peak)
    }

    /// The shared program of a sweep under common random numbers (`shaders/sweep.wgsl`'s
    /// `shared_pass` and `varying_pass`): `varies[j]` marks the nodes some plan intervenes on or
    /// shifts and their descendants, `noisy[j]` the needed nodes some plan samples.
    pub(crate) fn shared_program(
        &self,
        outcome: usize,
        varies: &[bool],
        noisy: &[bool],
    ) -> SweepProgram {
        let needed = self.needed_for(outcome);
        let (slot, noise, slots) = self.shared_slots(&needed, varies, noisy, outcome);
        let mut p = self.program_with(&needed, &slot, slots, Some(outcome));
        for j in 0..self.nodes.len() {
            p.nodes[j * NODE_WORDS] |=
                (varies[j] as u32) << 5 | (noisy[j] as u32) << 6 | noise[j] << 8;
        }
        p
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
        let (slot, slots) = self.slots(needed, kept);
        self.program_with(needed, &slot, slots, kept)
    }

    fn program_with(
        &self,
        needed: &[bool],
        slot: &[u32],
        slots: u32,
        kept: Option<usize>,
    ) -> SweepProgram {
        let m = self.nodes.len();
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

    /// Runs the shader's `shared_pass` and two `varying_pass`es over a shared program's slots
    /// symbolically: every value or noise term a node reads must still be in its slot.
    fn check_shared(scm: &Scm, outcome: usize, varies: &[bool], noisy: &[bool]) -> u32 {
        let p = scm.shared_program(outcome, varies, noisy);
        let m = scm.nodes.len();
        let mut content: Vec<Option<(bool, usize)>> = vec![None; p.slots as usize];
        let rec = |j: usize| {
            (
                p.nodes[j * NODE_WORDS],
                p.nodes[j * NODE_WORDS + 8] as usize,
            )
        };
        let read = |content: &[Option<(bool, usize)>], j: usize| {
            for q in scm.parent_indices(j) {
                assert_eq!(content[rec(q).1], Some((false, q)), "node {j} reads {q}");
            }
        };
        for j in (0..m).filter(|&j| rec(j).0 & 2 != 0) {
            let (flags, slot) = rec(j);
            assert_eq!(flags >> 5 & 1 == 1, varies[j]);
            assert_eq!(flags >> 6 & 1 == 1, noisy[j]);
            if varies[j] {
                if noisy[j] {
                    content[(flags >> 8) as usize] = Some((true, j));
                }
            } else {
                read(&content, j);
                content[slot] = Some((false, j));
            }
        }
        for _ in 0..2 {
            for j in (0..m).filter(|&j| rec(j).0 & 2 != 0 && varies[j]) {
                let (flags, slot) = rec(j);
                if noisy[j] {
                    assert_eq!(content[(flags >> 8) as usize], Some((true, j)), "noise {j}");
                }
                read(&content, j);
                content[slot] = Some((false, j));
            }
            assert_eq!(content[p.kept_slot as usize], Some((false, outcome)));
        }
        p.slots
    }

    #[test]
    fn shared_programs_keep_what_each_setting_reads() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |k: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % k
        };
        for seed in 0..40 {
            let scm = Scm::random_linear(60, seed);
            let m = scm.nodes.len();
            let outcome = m - 1 - next(10);
            let needed = scm.needed_for(outcome);
            // intervened nodes and their descendants vary
            let hit: Vec<usize> = (0..next(4)).map(|_| next(m)).collect();
            let mut varies = vec![false; m];
            for j in 0..m {
                varies[j] = hit.contains(&j) || scm.parent_indices(j).iter().any(|&q| varies[q]);
            }
            // a node that varies in no setting is sampled in all; some varying ones in none
            let noisy: Vec<bool> = (0..m)
                .map(|j| needed[j] && (!varies[j] || next(4) > 0))
                .collect();
            check_shared(&scm, outcome, &varies, &noisy);
        }
        // a chain X0 → … → X9 intervened at X5: X0..X4 once (X4 read by X5: kept), noise
        // slots for X5..X9, and one slot for the varying values
        let c = chain(10, false);
        let varies: Vec<bool> = (0..10).map(|j| j >= 5).collect();
        assert_eq!(check_shared(&c, 9, &varies, &[true; 10]), 1 + 5 + 1);
    }
}
