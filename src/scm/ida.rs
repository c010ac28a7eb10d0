//! The set of possible effects of a CPDAG (IDA: Maathuis, Kalisch & Bühlmann 2009, "Estimating
//! high-dimensional intervention effects from observational data", Ann. Statist. 37(6A)): the
//! effect of the model fitted on every DAG of the equivalence class.

use super::effect_ci::EffectInterval;
use super::{FitKind, Graph, Intervention};
use crate::data::Dataset;
use crate::error::Result;
use serde::Serialize;
use std::time::Instant;

/// The possible effects of one intervention contrast over the DAGs of a CPDAG's Markov
/// equivalence class ([`possible_effects`]); a DAG has one.
#[derive(Clone, Debug, Serialize)]
pub struct PossibleEffects {
    /// The outcome node.
    pub outcome: String,
    /// The alternative set, as `NODE=value,NODE+=delta`.
    pub alternative: String,
    /// The reference set.
    pub reference: String,
    /// The fit: `linear` or `additive`.
    pub kind: String,
    /// The number of DAGs in the class (1 for a DAG).
    pub dags: usize,
    /// The effect of the model fitted on each DAG, in the order of [`Graph::dags`].
    pub effects: Vec<f64>,
    /// The distinct effects, ascending (effects within 1e-9 relative of each other are one):
    /// the IDA set. The causal effect is one of them if the CPDAG is right.
    pub distinct_effects: Vec<f64>,
    /// The smallest possible effect (a lower bound on the effect's size when all share a sign).
    pub min: f64,
    /// The largest possible effect.
    pub max: f64,
    /// Whether every effect is exact (every fitted node linear); otherwise Monte-Carlo.
    pub exact: bool,
    /// The largest Monte-Carlo error among the effects (0 when exact).
    pub mc_error: f64,
    /// Monte-Carlo samples per effect (0 when exact).
    pub samples: u64,
    /// Rows the models were fitted to.
    pub rows: usize,
    /// The backend (fitting and exact effects run on the CPU in f64).
    pub backend: String,
    /// Seconds of work.
    pub seconds: f64,
}

/// The possible effects of `alternative` against `reference` on `outcome` given a CPDAG: every
/// DAG of its equivalence class ([`Graph::dags`], at most [`super::MAX_DAGS`]) is fitted to
/// `data` ([`super::Scm::fit`] with `kind`) and its effect computed, exactly for linear fits and
/// otherwise by Monte Carlo (`samples` draws, `seed`, on the CPU). This is the global IDA of
/// Maathuis, Kalisch & Bühlmann (2009): the multiset of effects over the class. Each is the
/// plug-in effect of the SEM fitted on that DAG; for linear-Gaussian data it equals in the
/// population local IDA's X coefficient of the regression of Y on X and the DAG's parents of X
/// (in a sample the two estimates differ slightly, so DAGs that local IDA would tell apart by
/// their parent sets of X may share an effect here). Without hidden confounding and with the
/// right CPDAG the true effect is one of them; `min` is then a lower bound on its size when all
/// share a sign.
///
/// ```
/// use ceteris::scm::{possible_effects, read_graph, FitKind, Intervention, Node, Noise, Scm};
/// use ceteris::Engine;
/// // X → Y with slope 2: the CPDAG X — Y has two DAGs, with effects 2 (X → Y) and 0 (Y → X)
/// let truth = Scm::new(vec![
///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
///     Node::linear("Y", 0.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
/// ]).unwrap();
/// let data = truth.sample(&Engine::cpu(), &[], 5000, 1).unwrap().data;
/// let r = possible_effects(&data, &read_graph("X -- Y").unwrap(), FitKind::Linear, "Y",
///     &[Intervention::shift("X", 1.0)], &[], 1000, 0).unwrap();
/// assert_eq!(r.dags, 2);
/// assert_eq!(r.distinct_effects.len(), 2);
/// assert!(r.min.abs() < 1e-12 && (r.max - 2.0).abs() < 0.1);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn possible_effects(
    data: &Dataset,
    cpdag: &Graph,
    kind: FitKind,
    outcome: &str,
    alternative: &[Intervention],
    reference: &[Intervention],
    samples: u64,
    seed: u64,
) -> Result<PossibleEffects> {
    let start = Instant::now();
    let dags = cpdag.dags()?;
    if dags.is_empty() {
        return Err(crate::error::Error::param(
            "graph",
            "the graph's undirected edges cannot be oriented without a new v-structure or a \
             cycle: it is not a CPDAG of any DAG",
        ));
    }
    let mut effects = Vec::with_capacity(dags.len());
    let (mut exact, mut mc_error) = (true, 0.0f64);
    let mut spelled = (String::new(), String::new());
    for dag in &dags {
        let e = EffectInterval::new(&dag.parent_sets()?, kind, outcome)
            .alternative(alternative)
            .reference(reference)
            .samples(samples)
            .seed(seed);
        let (effect, mc, ex) = e.point(data)?;
        spelled = e.spelled();
        effects.push(effect);
        exact &= ex;
        mc_error = mc_error.max(mc);
    }
    let mut distinct: Vec<f64> = effects.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300));
    Ok(PossibleEffects {
        outcome: outcome.to_string(),
        alternative: spelled.0,
        reference: spelled.1,
        kind: match kind {
            FitKind::Linear => "linear",
            FitKind::Additive => "additive",
        }
        .to_string(),
        dags: dags.len(),
        min: distinct[0],
        max: distinct[distinct.len() - 1],
        effects,
        distinct_effects: distinct,
        exact,
        mc_error,
        samples: if exact { 0 } else { samples },
        rows: data.n_rows(),
        backend: "cpu".to_string(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
