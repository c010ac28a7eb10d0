//! The model's building blocks: noise laws, the unary functions of additive terms, terms, node
//! types, structural equations ([`Node`]) and interventions ([`Intervention`]).

use crate::rng::open_unit;

/// Exogenous noise (mean zero except `Uniform`, whose bounds are explicit).
#[derive(Clone, Debug, PartialEq)]
pub enum Noise {
    /// Normal with standard deviation `scale`.
    Normal {
        /// Standard deviation (> 0).
        scale: f64,
    },
    /// Uniform on `[low, high]`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound (> low).
        high: f64,
    },
    /// Laplace with scale `b` (variance 2b²).
    Laplace {
        /// Scale (> 0).
        scale: f64,
    },
}

impl Noise {
    pub(super) fn variance(&self) -> f64 {
        match *self {
            Noise::Normal { scale } => scale * scale,
            Noise::Uniform { low, high } => (high - low).powi(2) / 12.0,
            Noise::Laplace { scale } => 2.0 * scale * scale,
        }
    }

    pub(super) fn mean(&self) -> f64 {
        match *self {
            Noise::Uniform { low, high } => 0.5 * (low + high),
            _ => 0.0,
        }
    }

    /// Uniform and Laplace draws from one word (normal draws are paired, see `Scm::sample`).
    pub(super) fn draw(&self, w: u32) -> f64 {
        match *self {
            Noise::Normal { .. } => unreachable!("normal noise is drawn in pairs"),
            Noise::Uniform { low, high } => low + (high - low) * open_unit(w),
            Noise::Laplace { scale } => {
                let u = open_unit(w) - 0.5;
                -scale * u.signum() * (1.0 - 2.0 * u.abs()).ln()
            }
        }
    }
}

/// A unary function of an additive term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// x
    Identity,
    /// tanh x
    Tanh,
    /// x²
    Square,
    /// x³
    Cube,
    /// sin x
    Sin,
    /// cos x
    Cos,
    /// eˣ
    Exp,
    /// 1/(1+e⁻ˣ)
    Sigmoid,
    /// max(x, 0)
    Relu,
    /// |x|
    Abs,
    /// log(1+eˣ)
    Softplus,
}

pub(super) const FUNCS: [(&str, Func); 11] = [
    ("identity", Func::Identity),
    ("tanh", Func::Tanh),
    ("square", Func::Square),
    ("cube", Func::Cube),
    ("sin", Func::Sin),
    ("cos", Func::Cos),
    ("exp", Func::Exp),
    ("sigmoid", Func::Sigmoid),
    ("relu", Func::Relu),
    ("abs", Func::Abs),
    ("softplus", Func::Softplus),
];

impl Func {
    pub(super) fn apply(self, x: f64) -> f64 {
        match self {
            Func::Identity => x,
            Func::Tanh => x.tanh(),
            Func::Square => x * x,
            Func::Cube => x * x * x,
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Exp => x.exp(),
            Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Func::Relu => x.max(0.0),
            Func::Abs => x.abs(),
            Func::Softplus => x.exp().ln_1p(),
        }
    }

    pub(super) fn name(self) -> &'static str {
        FUNCS.iter().find(|(_, f)| *f == self).expect("listed").0
    }
}

/// A nonlinear term of an additive or logistic node.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// `weight · f(inner_scale · parent + inner_shift)`.
    Unary {
        /// The function.
        func: Func,
        /// Its parent.
        parent: String,
        /// Outer weight.
        weight: f64,
        /// Inner scale.
        inner_scale: f64,
        /// Inner shift.
        inner_shift: f64,
    },
    /// `weight · Π parents` (two or more parents).
    Product {
        /// Parents.
        parents: Vec<String>,
        /// Weight.
        weight: f64,
    },
}

/// Node type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeType {
    /// `eta + N`, no terms.
    Linear,
    /// `eta + N` with nonlinear terms.
    Additive,
    /// `1{U < sigmoid(eta)}`.
    Logistic,
}

/// One structural equation.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Unique name.
    pub name: String,
    /// Type.
    pub kind: NodeType,
    /// Intercept.
    pub intercept: f64,
    /// Linear coefficients by parent.
    pub coefficients: Vec<(String, f64)>,
    /// Nonlinear terms.
    pub terms: Vec<Term>,
    /// Noise (None for logistic nodes).
    pub noise: Option<Noise>,
}

impl Node {
    /// A linear node `intercept + Σ coef · parent + N`.
    pub fn linear(name: &str, intercept: f64, coefficients: &[(&str, f64)], noise: Noise) -> Node {
        Node {
            name: name.into(),
            kind: NodeType::Linear,
            intercept,
            coefficients: coefficients
                .iter()
                .map(|(p, c)| (p.to_string(), *c))
                .collect(),
            terms: Vec::new(),
            noise: Some(noise),
        }
    }

    /// An additive-noise node with nonlinear terms.
    pub fn additive(
        name: &str,
        intercept: f64,
        coefficients: &[(&str, f64)],
        terms: Vec<Term>,
        noise: Noise,
    ) -> Node {
        Node {
            kind: NodeType::Additive,
            terms,
            ..Node::linear(name, intercept, coefficients, noise)
        }
    }

    /// A logistic (binary) node.
    pub fn logistic(
        name: &str,
        intercept: f64,
        coefficients: &[(&str, f64)],
        terms: Vec<Term>,
    ) -> Node {
        Node {
            kind: NodeType::Logistic,
            noise: None,
            terms,
            ..Node::linear(name, intercept, coefficients, Noise::Normal { scale: 1.0 })
        }
    }

    /// The parents named by coefficients and terms (sorted, unique).
    pub fn parents(&self) -> Vec<String> {
        let mut p: Vec<String> = self.coefficients.iter().map(|(n, _)| n.clone()).collect();
        for t in &self.terms {
            match t {
                Term::Unary { parent, .. } => p.push(parent.clone()),
                Term::Product { parents, .. } => p.extend(parents.iter().cloned()),
            }
        }
        p.sort();
        p.dedup();
        p
    }
}

/// An element of an intervention set.
#[derive(Clone, Debug, PartialEq)]
pub enum Intervention {
    /// `do(node := value)`.
    Atomic {
        /// Target.
        node: String,
        /// Value.
        value: f64,
    },
    /// `node := f(pa, N) + delta`.
    Shift {
        /// Target.
        node: String,
        /// Shift.
        delta: f64,
    },
}

impl Intervention {
    /// Reads a comma-separated list of interventions as the command line writes them:
    /// `NODE=value` is atomic, `NODE+=delta` a shift, e.g. `X=1,M+=0.5`. Names follow the one
    /// rule of [`check_name`](super::check_name); a name holding `,` `=` `+` or `:` is
    /// double-quoted (`"x=1"=2`, `"a,b"+=1`). Errors name `what` (the option) and the item.
    ///
    /// ```
    /// use ceteris::scm::Intervention;
    /// let set = Intervention::parse_list(r#"p44/42=1, "a,b"+=0.5"#, "alternative").unwrap();
    /// assert_eq!(set, [Intervention::atomic("p44/42", 1.0), Intervention::shift("a,b", 0.5)]);
    /// assert!(Intervention::parse_list("X", "alternative").is_err());
    /// assert!(Intervention::parse_list("=1", "alternative").is_err());
    /// ```
    pub fn parse_list(spec: &str, what: &str) -> crate::Result<Vec<Intervention>> {
        use super::names::{split_once_unquoted, split_unquoted, unquote_name};
        let bad =
            |item: &str, why: &str| crate::Error::param(what, format!("`{}`: {why}", item.trim()));
        split_unquoted(spec, ",", what)?
            .into_iter()
            .map(|item| {
                let (n, v) = split_once_unquoted(item, "=", what)?
                    .ok_or_else(|| bad(item, "not NODE=value or NODE+=delta"))?;
                let x = v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(item, &format!("`{}` is not a finite number", v.trim())))?;
                let n = n.trim_end();
                Ok(match n.strip_suffix('+') {
                    Some(n) => Intervention::shift(&unquote_name(n, what)?, x),
                    None => Intervention::atomic(&unquote_name(n, what)?, x),
                })
            })
            .collect()
    }

    /// `do(node := value)`.
    pub fn atomic(node: &str, value: f64) -> Self {
        Intervention::Atomic {
            node: node.into(),
            value,
        }
    }

    /// `node := f(pa, N) + delta`.
    pub fn shift(node: &str, delta: f64) -> Self {
        Intervention::Shift {
            node: node.into(),
            delta,
        }
    }

    pub(super) fn node(&self) -> &str {
        match self {
            Intervention::Atomic { node, .. } | Intervention::Shift { node, .. } => node,
        }
    }
}
