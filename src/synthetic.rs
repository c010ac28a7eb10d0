//! Synthetic workloads for benchmarks: the nonlinear structural model whose columns the
//! independence and discovery cases of `ceteris bench` test ([`sem_data`]), the batches of
//! conditional queries they run ([`z1_queries`]), and the naive single-threaded reference loop
//! that the SCM sweep cases are timed against ([`naive_sweep`]).
//!
//! Everything here is deterministic: the same arguments give bit-identical results on every
//! machine, so timings of the CLI, of the criterion benches and of the rival scripts are taken on
//! the same data.

use crate::error::{Error, Result};
use crate::independence::Query;
use crate::rng::{normal, open_unit, Stream, STREAM_MONTE_CARLO};
use crate::scm::{Intervention, NodeType, Noise, Scm};
use crate::Dataset;

/// `n` rows of a `p`-column nonlinear structural model, chain-like with confounding, with columns
/// `v0 … v{p−1}` (deterministic in `seed`).
///
/// With `e_j` independent standard normals (Box–Muller on Philox stream `(seed, 5)`, block
/// `(j, row)`): `v0 = e_0`, and for `j ≥ 1`, by `j mod 3`,
///
/// * 1: `v_j = tanh(v_{j−1}) + 0.5 e_j`,
/// * 2: `v_j = sin(1.3 v_{j−1}) + 0.3 v_0 + 0.5 e_j`,
/// * 0: `v_j = 0.6 v_{j−1} − 0.4 v_{j−2} + 0.7 e_j`.
///
/// A column with `j mod 3 = 1` depends on the earlier ones only through `v_{j−1}`, so the
/// independence tests meet true conditional nulls as well as dependencies.
///
/// ```
/// let d = ceteris::synthetic::sem_data(200, 4, 1);
/// assert_eq!(d.n_rows(), 200);
/// assert_eq!(d.names(), ["v0", "v1", "v2", "v3"]);
/// // deterministic in the seed
/// assert_eq!(d.column("v3").unwrap(), ceteris::synthetic::sem_data(200, 4, 1).column("v3").unwrap());
/// ```
pub fn sem_data(n: usize, p: usize, seed: u64) -> Dataset {
    let s = Stream::new(seed, 5);
    let normal = |col: u32, i: usize| {
        let w = s.block(col, i as u32);
        let (u1, u2) = (open_unit(w[0]), open_unit(w[1]));
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for j in 0..p {
        let col = (0..n)
            .map(|i| {
                let e = normal(j as u32, i);
                match j {
                    0 => e,
                    _ if j % 3 == 1 => (cols[j - 1][i]).tanh() + 0.5 * e,
                    _ if j % 3 == 2 => (1.3 * cols[j - 1][i]).sin() + 0.3 * cols[0][i] + 0.5 * e,
                    _ => 0.6 * cols[j - 1][i] - 0.4 * cols[j - 2][i] + 0.7 * e,
                }
            })
            .collect();
        cols.push(col);
    }
    let mut d = Dataset::new();
    for (j, c) in cols.into_iter().enumerate() {
        d.push_column(&format!("v{j}"), c).expect("distinct names");
    }
    d
}

/// Up to `max` distinct queries `v_i ⫫ v_j | v_k` (`|Z| = 1`, `i < j`, `k ∉ {i, j}`) on the
/// columns `v0 … v{p−1}` of [`sem_data`], ordered by `k`, then `i`, then `j`.
///
/// There are `p (p − 1) (p − 2) / 2` such queries in all: 1680 for `p = 16`.
///
/// ```
/// let q = ceteris::synthetic::z1_queries(3, 10);
/// assert_eq!(q.len(), 3);
/// assert_eq!(q[0], (vec!["v1".to_string()], vec!["v2".to_string()], vec!["v0".to_string()]));
/// assert_eq!(ceteris::synthetic::z1_queries(16, 1000).len(), 1000);
/// ```
pub fn z1_queries(p: usize, max: usize) -> Vec<Query> {
    let mut batch = Vec::new();
    for k in 0..p {
        for i in 0..p {
            for j in i + 1..p {
                if i != k && j != k && batch.len() < max {
                    batch.push((
                        vec![format!("v{i}")],
                        vec![format!("v{j}")],
                        vec![format!("v{k}")],
                    ));
                }
            }
        }
    }
    batch
}

/// The mean of the last node (in the model's topological order) under each setting, by the
/// textbook loop: one thread, sample by sample, node by node, one Philox block per node (stream
/// `(1, STREAM_MONTE_CARLO)`, block `(sample, setting · nodes + node)`) and a Box–Muller
/// transform with the standard library's `ln` and `cos` ([`normal`]).
///
/// This is the baseline of the SCM sweep benchmark: it computes what
/// [`Sweep`](crate::scm::Sweep) computes, with none of its blocking, vectorisation or threads.
/// It does not promise a `Sweep`'s draws: compare its means with a sweep's within Monte-Carlo
/// error. With `samples = 0` every mean is NaN.
///
/// # Errors
///
/// [`Error::InvalidParameter`] naming the node when the model is not linear-Gaussian (every node
/// [`NodeType::Linear`], without nonlinear terms, with [`Noise::Normal`]), when a setting holds a
/// shift intervention (only atomic ones are supported), or when an intervention names a node the
/// model lacks.
///
/// ```
/// use ceteris::scm::{Intervention, Scm};
/// let scm = Scm::random_linear(5, 11);
/// let settings = vec![
///     vec![Intervention::atomic("n0", -1.0)],
///     vec![Intervention::atomic("n0", 1.0)],
/// ];
/// let means = ceteris::synthetic::naive_sweep(&scm, &settings, 2000).unwrap();
/// assert_eq!(means.len(), 2);
/// assert!(means.iter().all(|m| m.is_finite()));
/// // deterministic
/// assert_eq!(means, ceteris::synthetic::naive_sweep(&scm, &settings, 2000).unwrap());
/// // a shift is refused, naming its node
/// let shift = vec![vec![Intervention::shift("n0", 1.0)]];
/// assert!(ceteris::synthetic::naive_sweep(&scm, &shift, 10).unwrap_err().to_string().contains("n0"));
/// ```
pub fn naive_sweep(scm: &Scm, settings: &[Vec<Intervention>], samples: u32) -> Result<Vec<f64>> {
    let nodes = scm.nodes();
    let index: std::collections::HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(j, n)| (n.name.as_str(), j))
        .collect();
    let parents: Vec<Vec<(usize, f64)>> = nodes
        .iter()
        .map(|n| {
            n.coefficients
                .iter()
                .map(|(p, c)| (index[p.as_str()], *c))
                .collect()
        })
        .collect();
    let scales: Vec<f64> = nodes
        .iter()
        .map(|n| match n.noise {
            Some(Noise::Normal { scale }) if n.kind == NodeType::Linear && n.terms.is_empty() => {
                Ok(scale)
            }
            _ => Err(Error::param(
                "model",
                format!(
                    "node `{}` is not linear-Gaussian (the naive reference loop handles \
                     linear-Gaussian models only)",
                    n.name
                ),
            )),
        })
        .collect::<Result<_>>()?;
    let stream = Stream::new(1, STREAM_MONTE_CARLO);
    let mut vals = vec![0.0; nodes.len()];
    settings
        .iter()
        .enumerate()
        .map(|(s, set)| {
            let mut fixed = vec![None; nodes.len()];
            for iv in set {
                match iv {
                    Intervention::Atomic { node, value } => {
                        let j = *index.get(node.as_str()).ok_or_else(|| {
                            Error::param("intervention", format!("the model has no node `{node}`"))
                        })?;
                        fixed[j] = Some(*value);
                    }
                    Intervention::Shift { node, .. } => {
                        return Err(Error::param(
                            "intervention",
                            format!(
                                "shift interventions (on `{node}`) are not supported by the \
                                 naive reference loop"
                            ),
                        ))
                    }
                }
            }
            let mut sum = 0.0;
            for i in 0..samples {
                for j in 0..nodes.len() {
                    vals[j] = match fixed[j] {
                        Some(v) => v,
                        None => {
                            let w = stream.block(i, (s * nodes.len() + j) as u32);
                            let eta: f64 = parents[j].iter().map(|&(p, c)| c * vals[p]).sum();
                            nodes[j].intercept + eta + scales[j] * normal(w[0], w[1])
                        }
                    };
                }
                sum += vals[nodes.len() - 1];
            }
            Ok(sum / samples as f64)
        })
        .collect()
}
