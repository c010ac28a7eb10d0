//! Background knowledge of a search (forbidden and required edges, tiers) and its index form.

use super::graph::Constraints;
use crate::error::{Error, Result};
use std::collections::BTreeSet;

/// Background knowledge: forbidden and required directed edges and a tier order (an edge from a
/// later tier to an earlier one is forbidden), as causal-learn's `BackgroundKnowledge`.
///
/// ```
/// use ceteris::discovery::Knowledge;
/// let k = Knowledge::new().forbid("y", "x").require("a", "b").tiers(&[&["age", "sex"], &["x", "y"]]);
/// assert!(k.is_forbidden("x", "age") && !k.is_forbidden("age", "x"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Knowledge {
    pub(super) forbidden: Vec<(String, String)>,
    pub(super) required: Vec<(String, String)>,
    pub(super) tiers: Vec<Vec<String>>,
}

impl Knowledge {
    /// No knowledge.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forbids the directed edge `from → to`.
    pub fn forbid(mut self, from: &str, to: &str) -> Self {
        self.forbidden.push((from.into(), to.into()));
        self
    }

    /// Requires the directed edge `from → to` (kept in the skeleton and oriented).
    pub fn require(mut self, from: &str, to: &str) -> Self {
        self.required.push((from.into(), to.into()));
        self
    }

    /// Tiers, earliest first: no edge may point from a later tier into an earlier one.
    pub fn tiers(mut self, tiers: &[&[&str]]) -> Self {
        self.tiers = tiers
            .iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect())
            .collect();
        self
    }

    /// Whether there is no knowledge at all.
    pub fn is_empty(&self) -> bool {
        self.forbidden.is_empty() && self.required.is_empty() && self.tiers.is_empty()
    }

    pub(super) fn tier(&self, node: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t.iter().any(|s| s == node))
    }

    /// Whether `from → to` is forbidden (explicitly or by the tiers).
    pub fn is_forbidden(&self, from: &str, to: &str) -> bool {
        self.forbidden.iter().any(|(a, b)| a == from && b == to)
            || matches!((self.tier(from), self.tier(to)), (Some(a), Some(b)) if a > b)
    }

    /// Whether `from → to` is required.
    pub fn is_required(&self, from: &str, to: &str) -> bool {
        self.required.iter().any(|(a, b)| a == from && b == to)
    }

    /// Checks names against the nodes and the rules against each other.
    pub(super) fn validate(&self, nodes: &[String]) -> Result<()> {
        let known = |s: &str| -> Result<()> {
            if nodes.iter().any(|n| n == s) {
                Ok(())
            } else {
                Err(Error::param(
                    "knowledge",
                    format!("unknown node `{s}` (nodes: {})", nodes.join(", ")),
                ))
            }
        };
        for (a, b) in self.forbidden.iter().chain(&self.required) {
            known(a)?;
            known(b)?;
            if a == b {
                return Err(Error::param(
                    "knowledge",
                    format!("edge `{a}` → `{b}` is a self-loop"),
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for t in &self.tiers {
            for s in t {
                known(s)?;
                if !seen.insert(s) {
                    return Err(Error::param(
                        "knowledge",
                        format!("node `{s}` is in more than one tier"),
                    ));
                }
            }
        }
        for (a, b) in &self.required {
            if self.is_forbidden(a, b) {
                return Err(Error::param(
                    "knowledge",
                    format!("edge `{a}` → `{b}` is both required and forbidden (by a rule or the tiers)"),
                ));
            }
            if self.is_required(b, a) {
                return Err(Error::param(
                    "knowledge",
                    format!("edges `{a}` → `{b}` and `{b}` → `{a}` are both required"),
                ));
            }
        }
        Ok(())
    }
}

/// Knowledge resolved to node indices.
pub(super) struct Indexed {
    forbidden: Vec<bool>,
    required: Vec<bool>,
    p: usize,
}

impl Indexed {
    pub(super) fn new(k: &Knowledge, nodes: &[String]) -> Indexed {
        let p = nodes.len();
        let mut forbidden = vec![false; p * p];
        let mut required = vec![false; p * p];
        for (i, a) in nodes.iter().enumerate() {
            for (j, b) in nodes.iter().enumerate() {
                forbidden[i * p + j] = k.is_forbidden(a, b);
                required[i * p + j] = k.is_required(a, b);
            }
        }
        Indexed {
            forbidden,
            required,
            p,
        }
    }
}

impl Constraints for Indexed {
    fn forbidden(&self, from: usize, to: usize) -> bool {
        self.forbidden[from * self.p + to]
    }
    fn required(&self, from: usize, to: usize) -> bool {
        self.required[from * self.p + to]
    }
}
