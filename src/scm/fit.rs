//! Fitting a model from data and a graph: least squares per node, normal noise from the residuals.

use super::{Func, Node, NodeType, Noise, Scm, Term};
use crate::error::{Error, Result};
use crate::Dataset;
use faer::linalg::solvers::SolveLstsq;
use faer::Mat;

/// Which structural equations [`Scm::fit`] estimates.
///
/// ```
/// use ceteris::scm::{parse_graph, FitKind, Func, Node, Noise, Scm, Term};
/// let truth = Scm::new(vec![
///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
///     Node::additive("Y", 0.0, &[], vec![Term::Unary { func: Func::Tanh, parent: "X".into(),
///         weight: 2.0, inner_scale: 1.0, inner_shift: 0.0 }], Noise::Normal { scale: 0.1 }),
/// ]).unwrap();
/// let data = truth.sample(&ceteris::Engine::cpu(), &[], 2000, 3).unwrap().data;
/// let model = Scm::fit(&data, &parse_graph("X->Y").unwrap(), FitKind::Additive).unwrap();
/// assert!(model.to_json().contains("\"tanh\""));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitKind {
    /// `X = intercept + Σ b_p · p + N` (for a 0/1 column: `X ~ Bernoulli(sigmoid(intercept +
    /// Σ b_p · p))`, a logistic node).
    Linear,
    /// The linear predictor plus, for each parent `p` with at least four distinct values, the
    /// fixed basis `c_p · tanh(z_p) + d_p · z_p²` with `z_p = (p − mean_p) / sd_p` (the parent
    /// standardised by its sample mean and standard deviation, written into the model as the
    /// terms' `inner_shift` and `inner_scale`). Parents with fewer distinct values (binary,
    /// ternary) get only the linear term, because the basis would be collinear with it. A 0/1
    /// column gets a logistic node whose predictor has the same terms.
    Additive,
}

impl std::str::FromStr for FitKind {
    type Err = Error;

    /// `linear` or `additive`.
    ///
    /// ```
    /// use ceteris::scm::FitKind;
    /// assert_eq!("additive".parse::<FitKind>().unwrap(), FitKind::Additive);
    /// assert!("cubic".parse::<FitKind>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<FitKind> {
        match s {
            "linear" => Ok(FitKind::Linear),
            "additive" => Ok(FitKind::Additive),
            other => Err(Error::param(
                "kind",
                format!("unknown kind `{other}` (linear, additive)"),
            )),
        }
    }
}

/// Parses a graph written as comma-separated edges and paths, `"X->Y,Z->Y"` or `"Z->X->Y"`; a
/// lone name adds a node without edges (`"X->Y,W"`). Returns each node (in order of first
/// appearance) with its parents, the form [`Scm::fit`] takes.
///
/// Names follow the one rule of [`check_name`](super::check_name) (any non-empty name without
/// control characters, e.g. `p44/42`); a name holding a separator is double-quoted
/// (`"a,b"->y`). Undirected edges `a -- b` are refused and listed (a fit needs a DAG); cycles
/// are named by [`Scm::fit`]. [`read_graph`](super::read_graph) reads files (discover's JSON
/// and DOT too) into a [`Graph`](super::Graph).
///
/// ```
/// let g = ceteris::scm::parse_graph("Z->X->Y, Z->Y, W").unwrap();
/// assert_eq!(g[2], ("Y".to_string(), vec!["X".to_string(), "Z".to_string()]));
/// assert_eq!(g[3], ("W".to_string(), vec![]));
/// assert!(ceteris::scm::parse_graph("X->,Y").is_err());
/// let g = ceteris::scm::parse_graph(r#""a,b" -> p44/42"#).unwrap();
/// assert_eq!(g[1], ("p44/42".to_string(), vec!["a,b".to_string()]));
/// assert!(ceteris::scm::parse_graph("a -- b").unwrap_err().to_string().contains("a -- b"));
/// ```
pub fn parse_graph(spec: &str) -> Result<Vec<(String, Vec<String>)>> {
    super::graph::read_text(spec)?.parent_sets()
}

/// Errors when a column of the design lies in the span of the intercept and the columns before
/// it (QR without pivoting: a tiny `R_jj`).
fn check_collinear(
    name: &str,
    r: faer::MatRef<'_, f64>,
    design: &[(String, Vec<f64>)],
) -> Result<()> {
    for j in 1..=design.len() {
        let norm = design[j - 1].1.iter().map(|v| v * v).sum::<f64>().sqrt();
        if r[(j, j)].abs() <= 1e-9 * norm {
            return Err(Error::param(
                name,
                format!(
                    "the regressors of `{name}` are collinear: `{}` is a linear combination of \
                     the intercept and the regressors before it",
                    design[j - 1].0
                ),
            ));
        }
    }
    Ok(())
}

fn too_few_rows(name: &str, n: usize, p: usize) -> Result<()> {
    if n < p + 2 {
        return Err(Error::TooFewRows {
            what: format!("the fit of `{name}` ({} columns)", p),
            need: p + 2,
            got: n,
        });
    }
    Ok(())
}

/// Newton steps before a logistic fit counts as not converged.
const MAX_NEWTON: usize = 100;

/// Fitted probabilities within this of 0 or 1 mean (quasi-)complete separation.
const SATURATED: f64 = 1e-12;

/// Maximum-likelihood logistic regression of the 0/1 column `y` on an intercept and `design`,
/// by Newton/IRLS from `β = 0` with step halving, until `max|Δβ| ≤ 1e-10 · (1 + max|β|)`.
/// `weights` (one per row, non-negative) weight each row's log-likelihood term: whole numbers
/// give the fit of the data with row `i` repeated `wᵢ` times.
fn logistic_mle(
    name: &str,
    y: &[f64],
    design: &[(String, Vec<f64>)],
    weights: Option<&[f64]>,
) -> Result<Vec<f64>> {
    use faer::linalg::solvers::Solve;
    let n = y.len();
    let p = design.len() + 1;
    let wt = |i: usize| weights.map_or(1.0, |w| w[i]);
    too_few_rows(name, positive_rows(n, weights), p)?;
    let x = Mat::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { design[j - 1].1[i] });
    let root = Mat::from_fn(n, p, |i, j| wt(i).sqrt() * x[(i, j)]);
    check_collinear(name, root.qr().thin_R(), &weighted(design, weights))?;
    let eta = |beta: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| (0..p).map(|j| x[(i, j)] * beta[j]).sum())
            .collect()
    };
    let loglik = |eta: &[f64]| -> f64 {
        eta.iter()
            .zip(y)
            .enumerate()
            .map(|(i, (&e, &t))| wt(i) * (t * e - (e.max(0.0) + (-e.abs()).exp().ln_1p())))
            .sum()
    };
    let sigmoid = |e: f64| 1.0 / (1.0 + (-e).exp());
    let separated = |eta: &[f64]| {
        eta.iter()
            .enumerate()
            .filter(|&(i, _)| wt(i) > 0.0)
            .map(|(_, &e)| sigmoid(e))
            .any(|q| !(SATURATED..=1.0 - SATURATED).contains(&q))
    };
    let separation = || {
        Error::param(
            name,
            format!(
                "the logistic fit of `{name}` does not exist: its 0/1 values are (quasi-)completely \
                 separated by its parents (a fitted probability reaches 0 or 1); drop or merge \
                 parents, or add data"
            ),
        )
    };
    let mut beta = vec![0.0; p];
    let mut e = eta(&beta);
    let mut ll = loglik(&e);
    for _ in 0..MAX_NEWTON {
        let q: Vec<f64> = e.iter().map(|&v| sigmoid(v)).collect();
        let g = Mat::from_fn(p, 1, |j, _| {
            (0..n).map(|i| wt(i) * x[(i, j)] * (y[i] - q[i])).sum()
        });
        let h = Mat::from_fn(p, p, |j, k| {
            (0..n)
                .map(|i| wt(i) * x[(i, j)] * x[(i, k)] * q[i] * (1.0 - q[i]))
                .sum::<f64>()
        });
        let step = match h.llt(faer::Side::Lower) {
            Ok(llt) => llt.solve(&g),
            Err(_) => {
                return Err(if separated(&e) {
                    separation()
                } else {
                    not_converged(name)
                })
            }
        };
        let step: Vec<f64> = (0..p).map(|j| step[(j, 0)]).collect();
        if !step.iter().all(|s| s.is_finite()) {
            return Err(separation());
        }
        // halve the step until the likelihood does not fall
        let mut t = 1.0;
        let (next, next_e, next_ll) = loop {
            let b: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + t * s).collect();
            let eb = eta(&b);
            let lb = loglik(&eb);
            if lb >= ll - 1e-12 * ll.abs() || t < 1e-6 {
                break (b, eb, lb);
            }
            t *= 0.5;
        };
        let size = step.iter().fold(0.0f64, |m, s| m.max((t * s).abs()));
        let scale = 1.0 + next.iter().fold(0.0f64, |m, b| m.max(b.abs()));
        (beta, e, ll) = (next, next_e, next_ll);
        if size <= 1e-10 * scale {
            if separated(&e) {
                return Err(separation());
            }
            return Ok(beta);
        }
    }
    Err(if separated(&e) {
        separation()
    } else {
        not_converged(name)
    })
}

fn not_converged(name: &str) -> Error {
    Error::param(
        name,
        format!(
            "the logistic fit of `{name}` did not converge in {MAX_NEWTON} Newton steps \
             (nearly collinear or extreme parents?)"
        ),
    )
}

/// Whether the column of `name` is binary 0/1 (then its node is logistic). Two values other
/// than 0 and 1 are an error suggesting a recoding.
fn is_binary(name: &str, col: &[f64]) -> Result<bool> {
    let a = col[0];
    let b = match col.iter().find(|&&v| v != a) {
        Some(&b) => b,
        None => return Ok(false),
    };
    if !col.iter().all(|&v| v == a || v == b) {
        return Ok(false);
    }
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    if (lo, hi) == (0.0, 1.0) {
        return Ok(true);
    }
    Err(Error::param(
        name,
        format!(
            "column `{name}` takes two values, {lo} and {hi}: a two-valued node is fitted as \
             logistic (Bernoulli) and must be coded 0/1; recode it (e.g. {lo} → 0, {hi} → 1)"
        ),
    ))
}

/// Rows with a positive weight (all rows without weights).
fn positive_rows(n: usize, weights: Option<&[f64]>) -> usize {
    weights.map_or(n, |w| w.iter().filter(|&&w| w > 0.0).count())
}

/// The design's columns scaled by `√wᵢ` (for the collinearity check of a weighted fit).
fn weighted(design: &[(String, Vec<f64>)], weights: Option<&[f64]>) -> Vec<(String, Vec<f64>)> {
    match weights {
        None => design.to_vec(),
        Some(w) => design
            .iter()
            .map(|(n, c)| {
                (
                    n.clone(),
                    c.iter().zip(w).map(|(v, w)| v * w.sqrt()).collect(),
                )
            })
            .collect(),
    }
}

/// Least-squares fit of one node: `(coefficients, residual standard deviation)`. With
/// `weights`, weighted least squares (rows scaled by `√wᵢ`) and the scale
/// `sqrt(Σ wᵢ rᵢ² / (Σ wᵢ − p))`: whole-number weights give the fit of the data with row `i`
/// repeated `wᵢ` times.
fn least_squares(
    name: &str,
    y: &[f64],
    design: &[(String, Vec<f64>)],
    weights: Option<&[f64]>,
) -> Result<(Vec<f64>, f64)> {
    let n = y.len();
    let p = design.len() + 1;
    let wt = |i: usize| weights.map_or(1.0, |w| w[i]);
    too_few_rows(name, positive_rows(n, weights), p)?;
    let a = Mat::from_fn(n, p, |i, j| {
        wt(i).sqrt() * if j == 0 { 1.0 } else { design[j - 1].1[i] }
    });
    let qr = a.qr();
    // without pivoting, a tiny R_jj means column j lies in the span of the columns before it
    check_collinear(name, qr.thin_R(), &weighted(design, weights))?;
    let b = Mat::from_fn(n, 1, |i, _| wt(i).sqrt() * y[i]);
    let beta = qr.solve_lstsq(&b);
    let beta: Vec<f64> = (0..p).map(|j| beta[(j, 0)]).collect();
    let rss: f64 = (0..n)
        .map(|i| {
            let fit = beta[0]
                + design
                    .iter()
                    .zip(&beta[1..])
                    .map(|((_, col), b)| b * col[i])
                    .sum::<f64>();
            wt(i) * (y[i] - fit).powi(2)
        })
        .sum();
    let total: f64 = (0..n).map(wt).sum();
    let scale = (rss / (total - p as f64)).sqrt();
    let mean = (0..n).map(|i| wt(i) * y[i]).sum::<f64>() / total;
    let sd = ((0..n).map(|i| wt(i) * (y[i] - mean).powi(2)).sum::<f64>() / (total - 1.0)).sqrt();
    if !beta.iter().all(|b| b.is_finite()) || !scale.is_finite() {
        return Err(Error::param(
            name,
            format!("the least-squares fit of `{name}` is not finite"),
        ));
    }
    if scale <= 1e-10 * sd {
        return Err(Error::param(
            name,
            format!(
                "`{name}` is an exact function of its parents (no residual variance), so it has \
                 no noise to fit"
            ),
        ));
    }
    Ok((beta, scale))
}

impl Scm {
    /// Fits a model to `data` on the given graph (each node with its parents, as
    /// [`parse_graph`] or [`Graph::parent_sets`](super::Graph::parent_sets) return it): per
    /// node, least squares of its column on an intercept and its parents' columns (plus the
    /// fixed nonlinear basis of [`FitKind::Additive`]), with normal noise whose scale is the
    /// residual standard deviation `sqrt(RSS / (n − p))`.
    ///
    /// **Binary nodes.** A node whose column takes exactly the two values 0 and 1 gets a
    /// logistic node (`X = 1{U < sigmoid(eta)}`, `X ~ Bernoulli(sigmoid(eta))`) whose predictor
    /// `eta` has the same regressors (linear in the parents, plus the additive basis for
    /// [`FitKind::Additive`]), estimated by maximum likelihood: Newton/IRLS from zero with step
    /// halving until `max|Δβ| ≤ 1e-10 · (1 + max|β|)`, at most 100 steps. (Quasi-)complete
    /// separation (a fitted probability within 1e-12 of 0 or 1, or a singular Hessian there) and
    /// non-convergence are errors naming the node. A column with two values other than 0 and 1
    /// is an error asking to recode it to 0/1 (it is not recoded silently). Samples of a fitted
    /// logistic node are 0/1.
    ///
    /// Every node must be a column of `data`, finite and not constant; the graph must be acyclic
    /// (a cycle is named), the regressors of a node not collinear and the node not an exact
    /// function of them. Columns outside the graph are ignored.
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, FitKind, Noise, Node, Scm};
    /// let truth = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Normal { scale: 0.5 }),
    /// ]).unwrap();
    /// let data = truth.sample(&ceteris::Engine::cpu(), &[], 5000, 1).unwrap().data;
    /// let fitted = Scm::fit(&data, &parse_graph("X->Y").unwrap(), FitKind::Linear).unwrap();
    /// let e = fitted.exact(&[ceteris::scm::Intervention::atomic("X", 1.0)], "Y").unwrap();
    /// assert!((e.mean - 3.0).abs() < 0.05);
    ///
    /// // a 0/1 column becomes a logistic node, and its samples are 0/1
    /// let truth = Scm::new(vec![
    ///     Node::linear("Z", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::logistic("T", 0.5, &[("Z", 1.0)], vec![]),
    /// ]).unwrap();
    /// let data = truth.sample(&ceteris::Engine::cpu(), &[], 5000, 2).unwrap().data;
    /// let fitted = Scm::fit(&data, &parse_graph("Z->T").unwrap(), FitKind::Linear).unwrap();
    /// assert_eq!(fitted.nodes()[1].kind, ceteris::scm::NodeType::Logistic);
    /// assert!((fitted.nodes()[1].coefficients[0].1 - 1.0).abs() < 0.2); // se ≈ 0.04
    /// let s = fitted.sample(&ceteris::Engine::cpu(), &[], 100, 3).unwrap().data;
    /// assert!(s.column("T").unwrap().iter().all(|&t| t == 0.0 || t == 1.0));
    /// ```
    pub fn fit(data: &Dataset, graph: &[(String, Vec<String>)], kind: FitKind) -> Result<Scm> {
        if graph.is_empty() {
            return Err(Error::param("graph", "the graph has no nodes"));
        }
        // every parent is a node; validate names and acyclicity before fitting anything
        let mut spec: Vec<(String, Vec<String>)> = graph.to_vec();
        for (_, parents) in graph {
            for p in parents {
                if !spec.iter().any(|(n, _)| n == p) {
                    spec.push((p.clone(), Vec::new()));
                }
            }
        }
        let skeleton = Scm::new(
            spec.iter()
                .map(|(n, ps)| {
                    let coef: Vec<(&str, f64)> = ps.iter().map(|p| (p.as_str(), 0.0)).collect();
                    Node::linear(n, 0.0, &coef, Noise::Normal { scale: 1.0 })
                })
                .collect(),
        )?;
        for (name, _) in &spec {
            let col = data.finite_column(name)?;
            if col.iter().all(|&v| v == col[0]) {
                return Err(Error::ConstantColumn(name.clone()));
            }
        }
        let mut nodes = Vec::with_capacity(spec.len());
        for node in &skeleton.nodes {
            let name = &node.name;
            let y = data.column(name)?;
            let parents = node.parents();
            let mut design: Vec<(String, Vec<f64>)> = Vec::new();
            let mut basis: Vec<(Func, String, f64, f64)> = Vec::new(); // (fn, parent, scale, shift)
            for p in &parents {
                design.push((p.clone(), data.column(p)?.to_vec()));
            }
            if kind == FitKind::Additive {
                for p in &parents {
                    let x = data.column(p)?;
                    let mut distinct: Vec<f64> = x.to_vec();
                    distinct.sort_by(f64::total_cmp);
                    distinct.dedup();
                    if distinct.len() < 4 {
                        continue;
                    }
                    let n = x.len() as f64;
                    let mean = x.iter().sum::<f64>() / n;
                    let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
                    let (scale, shift) = (1.0 / sd, -mean / sd);
                    for func in [Func::Tanh, Func::Square] {
                        design.push((
                            format!("{}({p})", func.name()),
                            x.iter().map(|v| func.apply(scale * v + shift)).collect(),
                        ));
                        basis.push((func, p.clone(), scale, shift));
                    }
                }
            }
            let binary = is_binary(name, y)?;
            let (beta, noise) = if binary {
                (logistic_mle(name, y, &design, None)?, None)
            } else {
                let (beta, scale) = least_squares(name, y, &design, None)?;
                (beta, Some(Noise::Normal { scale }))
            };
            let coef: Vec<(&str, f64)> = parents
                .iter()
                .zip(&beta[1..])
                .map(|(p, b)| (p.as_str(), *b))
                .collect();
            let terms: Vec<Term> = basis
                .into_iter()
                .zip(&beta[1 + parents.len()..])
                .map(
                    |((func, parent, inner_scale, inner_shift), &weight)| Term::Unary {
                        func,
                        parent,
                        weight,
                        inner_scale,
                        inner_shift,
                    },
                )
                .collect();
            nodes.push(match noise {
                None => Node::logistic(name, beta[0], &coef, terms),
                Some(noise) if terms.is_empty() => Node::linear(name, beta[0], &coef, noise),
                Some(noise) => Node::additive(name, beta[0], &coef, terms, noise),
            });
        }
        Scm::named("fitted", nodes)
    }

    /// The coefficients of this model's structure refitted to `data`: the same parents, node
    /// types and terms (with their inner scales and shifts), new intercepts, coefficients, term
    /// weights and normal noise scales, as [`Scm::fit`] estimates them (least squares; maximum
    /// likelihood for logistic nodes). A bootstrap refits this way so that every replicate's
    /// model has the structure of the estimate's, even where a resample changes what
    /// [`Scm::fit`] would choose (a three-valued column that is 0/1 in one resample, a parent
    /// with fewer distinct values).
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, FitKind, Node, Noise, Scm};
    /// use ceteris::{Dataset, Engine};
    /// let truth = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Normal { scale: 0.5 }),
    /// ]).unwrap();
    /// let data = truth.sample(&Engine::cpu(), &[], 500, 1).unwrap().data;
    /// let fitted = Scm::fit(&data, &parse_graph("X->Y").unwrap(), FitKind::Linear).unwrap();
    /// // refitting the fitted structure to the same data gives the same model
    /// assert_eq!(fitted.refit(&data).unwrap().to_json(), fitted.to_json());
    /// ```
    pub fn refit(&self, data: &Dataset) -> Result<Scm> {
        self.refit_weighted(data, None)
    }

    /// [`Scm::refit`] with a non-negative weight per row (`None`: all 1): weighted least
    /// squares and weighted maximum likelihood, the noise scale `sqrt(Σ wᵢ rᵢ² / (Σ wᵢ − p))`.
    /// Whole-number weights give the refit of the data with row `i` repeated `wᵢ` times; any
    /// weights (the Bayesian bootstrap's) work.
    ///
    /// ```
    /// use ceteris::scm::{parse_graph, FitKind, Node, Noise, Scm};
    /// use ceteris::{Dataset, Engine};
    /// let truth = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Normal { scale: 0.5 }),
    /// ]).unwrap();
    /// let data = truth.sample(&Engine::cpu(), &[], 6, 1).unwrap().data;
    /// let fitted = Scm::fit(&data, &parse_graph("X->Y").unwrap(), FitKind::Linear).unwrap();
    /// // weight 2 on row 0 is the data with row 0 twice
    /// let w = [2.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    /// let twice = Dataset::new()
    ///     .with_column("X", [&data.column("X").unwrap()[..1], data.column("X").unwrap()].concat()).unwrap()
    ///     .with_column("Y", [&data.column("Y").unwrap()[..1], data.column("Y").unwrap()].concat()).unwrap();
    /// let a = fitted.refit_weighted(&data, Some(&w)).unwrap();
    /// let b = fitted.refit(&twice).unwrap();
    /// let slope = |m: &Scm| m.nodes()[1].coefficients[0].1;
    /// assert!((slope(&a) - slope(&b)).abs() < 1e-12);
    /// ```
    pub fn refit_weighted(&self, data: &Dataset, weights: Option<&[f64]>) -> Result<Scm> {
        if let Some(w) = weights {
            if w.len() != data.n_rows() {
                return Err(Error::param(
                    "weights",
                    format!("{} weights for {} rows", w.len(), data.n_rows()),
                ));
            }
            if let Some(bad) = w.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
                return Err(Error::param(
                    "weights",
                    format!("{bad} is not a non-negative weight"),
                ));
            }
        }
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let name = &node.name;
            let y = data.finite_column(name)?;
            let kept = |i: usize| weights.is_none_or(|w| w[i] > 0.0);
            let first = (0..y.len()).find(|&i| kept(i)).unwrap_or(0);
            if (0..y.len()).filter(|&i| kept(i)).all(|i| y[i] == y[first]) {
                return Err(Error::ConstantColumn(name.clone()));
            }
            let mut design: Vec<(String, Vec<f64>)> = Vec::new();
            for (p, _) in &node.coefficients {
                design.push((p.clone(), data.finite_column(p)?.to_vec()));
            }
            for t in &node.terms {
                design.push(match t {
                    Term::Unary {
                        func,
                        parent,
                        inner_scale,
                        inner_shift,
                        ..
                    } => (
                        format!("{}({parent})", func.name()),
                        data.finite_column(parent)?
                            .iter()
                            .map(|v| func.apply(inner_scale * v + inner_shift))
                            .collect(),
                    ),
                    Term::Product { parents, .. } => {
                        let cols = parents
                            .iter()
                            .map(|p| data.finite_column(p))
                            .collect::<Result<Vec<_>>>()?;
                        (
                            parents.join("*"),
                            (0..y.len())
                                .map(|i| cols.iter().map(|c| c[i]).product())
                                .collect(),
                        )
                    }
                });
            }
            let logistic = node.kind == NodeType::Logistic;
            let (beta, noise) = if logistic {
                (logistic_mle(name, y, &design, weights)?, None)
            } else {
                let (beta, scale) = least_squares(name, y, &design, weights)?;
                (beta, Some(Noise::Normal { scale }))
            };
            let k = node.coefficients.len();
            let mut out = node.clone();
            out.intercept = beta[0];
            for (c, b) in out.coefficients.iter_mut().zip(&beta[1..]) {
                c.1 = *b;
            }
            for (t, b) in out.terms.iter_mut().zip(&beta[1 + k..]) {
                match t {
                    Term::Unary { weight, .. } | Term::Product { weight, .. } => *weight = *b,
                }
            }
            out.noise = noise;
            nodes.push(out);
        }
        Scm::named("fitted", nodes)
    }
}
