//! Coverage study of the effect interval end to end (issue 14): discover → fit → effect with a
//! bootstrap interval, on data from a known linear SCM.
//!
//! `cargo run --release --example effect_coverage [-- REPS N B]` (defaults 200 repetitions of
//! n = 1000, B = 1000). The SCM: `Z1, Z2, W ~ N(0, 1)`, `X = 0.8 Z1 + 0.8 Z2 + N(0, 1)`,
//! `Y = 1 + 1.5 X + 0.8 W + N(0, 1)`, so the effect of `do(X = 1)` against `do(X = 0)` on `Y` is
//! 1.5. Its skeleton has the v-structures `Z1 → X ← Z2` and `X → Y ← W`, so the CPDAG is the DAG
//! itself. Per repetition: PC (Fisher-z, alpha 0.01) on the sampled data; a repetition whose
//! graph leaves an edge undirected or bidirected, or misses the `X → Y` edge, is skipped and
//! counted (and counted as not covering in the "all repetitions" figure); otherwise
//! [`EffectInterval`] with a linear fit on the discovered graph, B iid resamples and the 95 %
//! percentile interval. Prints a Markdown table with the Monte-Carlo standard error of the
//! coverage.

use ceteris::discovery::{EdgeKind, Pc};
use ceteris::independence::IndependenceTest;
use ceteris::scm::{EffectInterval, FitKind, Intervention, Node, Noise, Scm};
use ceteris::{Engine, IntervalMethod};

/// The true effect of `do(X = 1)` against `do(X = 0)` on `Y`.
pub const TRUTH: f64 = 1.5;

/// What a study found.
#[derive(Debug, Default)]
pub struct Coverage {
    /// Repetitions run.
    pub reps: usize,
    /// Repetitions skipped: the discovered graph was not a DAG with `X → Y`.
    pub skipped: usize,
    /// Intervals (of the repetitions not skipped) that covered the truth.
    pub covered: usize,
    /// Sum of the interval widths.
    pub width: f64,
    /// Repetitions whose discovered graph was the true DAG.
    pub exact_graphs: usize,
}

/// The SCM of the study.
pub fn truth() -> Scm {
    let n = |s: f64| Noise::Normal { scale: s };
    Scm::new(vec![
        Node::linear("Z1", 0.0, &[], n(1.0)),
        Node::linear("Z2", 0.0, &[], n(1.0)),
        Node::linear("W", 0.0, &[], n(1.0)),
        Node::linear("X", 0.0, &[("Z1", 0.8), ("Z2", 0.8)], n(1.0)),
        Node::linear("Y", 1.0, &[("X", TRUTH), ("W", 0.8)], n(1.0)),
    ])
    .expect("a DAG")
}

/// `reps` repetitions with data of `n` rows and `b` resamples; repetition `r` samples the data
/// with seed `seed + r` and resamples with seed `r`.
pub fn study(reps: usize, n: u64, b: u64, seed: u64) -> ceteris::Result<Coverage> {
    let engine = Engine::cpu();
    let scm = truth();
    let true_parents = |node: &str| -> Vec<&str> {
        match node {
            "X" => vec!["Z1", "Z2"],
            "Y" => vec!["W", "X"],
            _ => vec![],
        }
    };
    let mut c = Coverage {
        reps,
        ..Coverage::default()
    };
    for r in 0..reps {
        let data = scm.sample(&engine, &[], n as usize, seed + r as u64)?.data;
        let found = Pc::new(IndependenceTest::fisher_z())
            .alpha(0.01)
            .run(&engine, &data, &[])?;
        let mut graph: Vec<(String, Vec<String>)> = found
            .nodes
            .iter()
            .map(|v| (v.clone(), Vec::new()))
            .collect();
        let mut oriented = true;
        for e in &found.edges {
            if e.kind != EdgeKind::Directed {
                oriented = false;
            } else if let Some((_, parents)) = graph.iter_mut().find(|(v, _)| *v == e.to) {
                parents.push(e.from.clone());
            }
        }
        let has_xy = graph
            .iter()
            .any(|(v, ps)| v == "Y" && ps.iter().any(|p| p == "X"));
        if !oriented || !has_xy {
            c.skipped += 1;
            continue;
        }
        let exact = graph.iter().all(|(v, ps)| {
            let mut ps: Vec<&str> = ps.iter().map(String::as_str).collect();
            ps.sort_unstable();
            ps == true_parents(v)
        });
        c.exact_graphs += exact as usize;
        let res = EffectInterval::new(&graph, FitKind::Linear, "Y")
            .alternative(&[Intervention::atomic("X", 1.0)])
            .reference(&[Intervention::atomic("X", 0.0)])
            .resamples(b)
            .seed(r as u64)
            .methods(&[IntervalMethod::Percentile])
            .run(&engine, &data)?;
        let [lo, hi] = res.intervals["percentile"];
        c.covered += (lo <= TRUTH && TRUTH <= hi) as usize;
        c.width += hi - lo;
    }
    Ok(c)
}

#[allow(dead_code)] // the coverage test includes this file for `study`
fn main() -> ceteris::Result<()> {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (reps, n, b) = (
        *args.first().unwrap_or(&200) as usize,
        *args.get(1).unwrap_or(&1000),
        *args.get(2).unwrap_or(&1000),
    );
    let start = std::time::Instant::now();
    let c = study(reps, n, b, 20261206)?;
    let run = c.reps - c.skipped;
    println!(
        "{reps} repetitions of n = {n}, B = {b}, nominal 95 %, {:.0} s; {} skipped (graph not a \
         DAG with X -> Y), {} discovered the true DAG",
        start.elapsed().as_secs_f64(),
        c.skipped,
        c.exact_graphs
    );
    println!("| repetitions | coverage | MC s.e. | mean width |");
    println!("|---|---|---|---|");
    let row = |what: &str, covered: usize, of: usize| {
        let p = covered as f64 / of.max(1) as f64;
        println!(
            "| {what} ({of}) | {p:.3} | {:.3} | {:.4} |",
            (p * (1.0 - p) / of.max(1) as f64).sqrt(),
            c.width / run.max(1) as f64
        );
    };
    row("oriented DAG with X -> Y", c.covered, run);
    row("all, skipped counted as not covering", c.covered, c.reps);
    Ok(())
}
