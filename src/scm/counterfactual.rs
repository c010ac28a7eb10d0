//! Counterfactuals by abduction, action and prediction: for one observed unit
//! ([`Scm::counterfactual`]) or every row of a data set ([`Scm::counterfactuals`]), and the
//! per-node predictor they evaluate.

use super::{perr, within, CTerm, Intervention, Noise, Scm};
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;

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

    /// The predictor `eta` of node `j` given the values of every node (its parents read):
    /// [`Scm::eta_block`] on one unit.
    #[inline]
    fn eta(&self, j: usize, vals: &[f64]) -> f64 {
        let mut out = [0.0];
        self.eta_block(j, |p| std::slice::from_ref(&vals[p]), &mut out);
        out[0]
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
}
