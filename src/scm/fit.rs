//! Fitting a model from data and a graph: least squares per node, normal noise from the residuals.

use super::{Func, Node, Noise, Scm, Term};
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
    /// `X = intercept + Σ b_p · p + N`.
    Linear,
    /// The linear predictor plus, for each parent `p` with at least four distinct values, the
    /// fixed basis `c_p · tanh(z_p) + d_p · z_p²` with `z_p = (p − mean_p) / sd_p` (the parent
    /// standardised by its sample mean and standard deviation, written into the model as the
    /// terms' `inner_shift` and `inner_scale`). Parents with fewer distinct values (binary,
    /// ternary) get only the linear term, because the basis would be collinear with it.
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
/// ```
/// let g = ceteris::scm::parse_graph("Z->X->Y, Z->Y, W").unwrap();
/// assert_eq!(g[2], ("Y".to_string(), vec!["X".to_string(), "Z".to_string()]));
/// assert_eq!(g[3], ("W".to_string(), vec![]));
/// assert!(ceteris::scm::parse_graph("X->,Y").is_err());
/// ```
pub fn parse_graph(spec: &str) -> Result<Vec<(String, Vec<String>)>> {
    let mut graph: Vec<(String, Vec<String>)> = Vec::new();
    let node = |name: &str, graph: &mut Vec<(String, Vec<String>)>| -> usize {
        match graph.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                graph.push((name.to_string(), Vec::new()));
                graph.len() - 1
            }
        }
    };
    for item in spec.split(',') {
        let path: Vec<&str> = item.split("->").map(str::trim).collect();
        if path.iter().any(|n| n.is_empty()) {
            return Err(Error::param(
                "graph",
                format!("`{}` is not NODE, A->B or A->B->C", item.trim()),
            ));
        }
        let mut prev: Option<String> = None;
        for name in path {
            let i = node(name, &mut graph);
            if let Some(p) = prev {
                if !graph[i].1.contains(&p) {
                    graph[i].1.push(p);
                }
            }
            prev = Some(name.to_string());
        }
    }
    Ok(graph)
}

/// Least-squares fit of one node: `(coefficients, residual standard deviation)`.
fn least_squares(name: &str, y: &[f64], design: &[(String, Vec<f64>)]) -> Result<(Vec<f64>, f64)> {
    let n = y.len();
    let p = design.len() + 1;
    if n < p + 2 {
        return Err(Error::TooFewRows {
            what: format!("the fit of `{name}` ({} columns)", p),
            need: p + 2,
            got: n,
        });
    }
    let a = Mat::from_fn(n, p, |i, j| if j == 0 { 1.0 } else { design[j - 1].1[i] });
    let qr = a.qr();
    // without pivoting, a tiny R_jj means column j lies in the span of the columns before it
    let r = qr.thin_R();
    for j in 1..p {
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
    let b = Mat::from_fn(n, 1, |i, _| y[i]);
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
            (y[i] - fit).powi(2)
        })
        .sum();
    let scale = (rss / (n - p) as f64).sqrt();
    let mean = y.iter().sum::<f64>() / n as f64;
    let sd = (y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
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
    /// [`parse_graph`] returns it): per node, least squares of its column on an intercept and its
    /// parents' columns (plus the fixed nonlinear basis of [`FitKind::Additive`]), with normal
    /// noise whose scale is the residual standard deviation `sqrt(RSS / (n − p))`.
    ///
    /// Every node must be a column of `data`, finite and not constant; the graph must be acyclic
    /// (a cycle is named), the regressors of a node not collinear and the node not an exact
    /// function of them. Columns outside the graph are ignored. Binary columns are fitted like
    /// any other (the model has no logistic fit).
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
            let (beta, scale) = least_squares(name, y, &design)?;
            let coef: Vec<(&str, f64)> = parents
                .iter()
                .zip(&beta[1..])
                .map(|(p, b)| (p.as_str(), *b))
                .collect();
            let noise = Noise::Normal { scale };
            nodes.push(if basis.is_empty() {
                Node::linear(name, beta[0], &coef, noise)
            } else {
                let terms = basis
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
                Node::additive(name, beta[0], &coef, terms, noise)
            });
        }
        Scm::named("fitted", nodes)
    }
}
