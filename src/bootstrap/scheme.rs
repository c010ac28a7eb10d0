//! Resampling schemes: the [`Scheme`] a user chooses, its CLI spelling, and the resampling plan
//! (units, strata, blocks) it makes of a data set, shared by every kind of bootstrap so that
//! replicate `b` draws the same units in all of them.

use super::plan::{PlanKind, ResamplePlan};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::rng::{Stream, STREAM_RESAMPLE};

/// How resamples are drawn.
///
/// Draw layout (the contract both backends implement; see [`crate::rng`]): for replicate `b`,
/// Philox block `j` has counter `[j, b, 0, 0]`.
/// * `Iid`, `Stratified`, `Cluster` (the iid contract of [`crate::rng`]; units are rows, rows
///   sorted by stratum, or clusters): each stratum's multinomial counts are split exactly over
///   blocks of [`crate::rng::IID_BLOCK`] units by conditional binomials (counters
///   `[c, b, 0, 2]`), the positions are ordered block by block, and position `t` draws uniformly
///   in its block: in a full block (`IID_BLOCK` = 4096 units) from the top 12 bits of 16-bit half
///   `t mod 2` of word `(t / 2) mod 4` of counter `[t / 8, b, 0, 3]` (eight positions per Philox
///   call); in a shorter block by Lemire's method from word `t mod 4` of block `t / 4` (a
///   rejected word is redrawn from counter `[t, b, 0, 1]`). A stratum of at most `IID_BLOCK`
///   units is one block.
/// * `MovingBlock`/`CircularBlock` of length `L`: position `t` is offset `t mod L` in block `t / L`,
///   whose start comes from Philox block `t / L`; moving starts lie in `[0, n − L]`, circular starts
///   in `[0, n)` and wrap.
/// * `Stationary` with mean block length `L`: a new block starts at `t = 0` and wherever word 2 of
///   block `t` is below `⌊2^32 / L⌋`, at the position given by words 0–1; otherwise the next row
///   (circularly) follows.
/// * `Poisson`: row `i` gets weight Poisson(1) from word `i mod 4` of block `i / 4`, by integer CDF
///   thresholds; `Bayesian`: weight `−ln u` (Exp(1)), normalised, i.e. Dirichlet(1, …, 1) weights.
///
/// ```
/// use ceteris::Scheme;
/// let s = Scheme::parse("stationary", None, None, Some(10.0)).unwrap();
/// assert_eq!(s, Scheme::Stationary { block_length: 10.0 });
/// assert!(Scheme::parse("moving-block", None, None, None).is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Scheme {
    /// Rows with replacement.
    Iid,
    /// Rows with replacement within each value of a strata column (e.g. the treatment arm).
    Stratified {
        /// Strata column.
        column: String,
    },
    /// Whole clusters with replacement (panel data).
    Cluster {
        /// Cluster id column.
        column: String,
    },
    /// Bayesian bootstrap: Dirichlet(1, …, 1) row weights.
    Bayesian,
    /// Poisson bootstrap: independent Poisson(1) row weights.
    Poisson,
    /// Moving-block bootstrap for time series.
    MovingBlock {
        /// Block length (rows).
        block_length: usize,
    },
    /// Circular-block bootstrap.
    CircularBlock {
        /// Block length (rows).
        block_length: usize,
    },
    /// Stationary bootstrap (geometric block lengths).
    Stationary {
        /// Mean block length (rows, ≥ 1).
        block_length: f64,
    },
}

impl Scheme {
    /// Parses the CLI spelling with its companion options.
    pub fn parse(
        name: &str,
        strata: Option<&str>,
        cluster: Option<&str>,
        block_length: Option<f64>,
    ) -> Result<Self> {
        let need_block = || {
            block_length.ok_or_else(|| {
                Error::param(
                    "block-length",
                    format!("scheme `{name}` needs --block-length"),
                )
            })
        };
        let whole = |v: f64| -> Result<usize> {
            if v < 1.0 || v.fract() != 0.0 {
                return Err(Error::param(
                    "block-length",
                    format!("{v} is not a whole number of rows >= 1"),
                ));
            }
            Ok(v as usize)
        };
        let uses = |flag: &str| match flag {
            "strata" => name == "stratified",
            "cluster" => name == "cluster",
            _ => matches!(name, "moving-block" | "circular-block" | "stationary"),
        };
        for (flag, given) in [
            ("strata", strata.is_some()),
            ("cluster", cluster.is_some()),
            ("block-length", block_length.is_some()),
        ] {
            let known = [
                "iid",
                "stratified",
                "cluster",
                "bayesian",
                "poisson",
                "moving-block",
                "circular-block",
                "stationary",
            ];
            if given && known.contains(&name) && !uses(flag) {
                return Err(Error::param(
                    flag,
                    format!("scheme `{name}` does not use --{flag} (it would ignore it)"),
                ));
            }
        }
        Ok(match name {
            "iid" => Scheme::Iid,
            "stratified" => Scheme::Stratified {
                column: strata
                    .ok_or_else(|| Error::param("strata", "scheme `stratified` needs --strata"))?
                    .to_string(),
            },
            "cluster" => Scheme::Cluster {
                column: cluster
                    .ok_or_else(|| Error::param("cluster", "scheme `cluster` needs --cluster"))?
                    .to_string(),
            },
            "bayesian" => Scheme::Bayesian,
            "poisson" => Scheme::Poisson,
            "moving-block" => Scheme::MovingBlock {
                block_length: whole(need_block()?)?,
            },
            "circular-block" => Scheme::CircularBlock {
                block_length: whole(need_block()?)?,
            },
            "stationary" => Scheme::Stationary {
                block_length: need_block()?,
            },
            _ => {
                return Err(Error::param(
                    "scheme",
                    format!(
                        "unknown scheme `{name}` (iid, stratified, cluster, bayesian, poisson, \
                         moving-block, circular-block, stationary)"
                    ),
                ))
            }
        })
    }

    /// The CLI spelling.
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Iid => "iid",
            Scheme::Stratified { .. } => "stratified",
            Scheme::Cluster { .. } => "cluster",
            Scheme::Bayesian => "bayesian",
            Scheme::Poisson => "poisson",
            Scheme::MovingBlock { .. } => "moving-block",
            Scheme::CircularBlock { .. } => "circular-block",
            Scheme::Stationary { .. } => "stationary",
        }
    }
}

/// The number of rows, checked: at least one, and below 2^32 (draws are `u32`).
pub(crate) fn check_rows(data: &Dataset) -> Result<usize> {
    let n = data.n_rows();
    if n == 0 {
        return Err(Error::EmptyData("the data set has no rows".into()));
    }
    if n >= u32::MAX as usize {
        return Err(Error::param("data", "more than 2^32 - 1 rows"));
    }
    Ok(n)
}

/// A scheme over the data as a resampling plan, and each unit's rows (`None`: unit `i` is row
/// `i`; stratified units are single rows sorted by stratum, cluster units their clusters' rows).
/// Checks the scheme's columns and block length. Shared by [`Bootstrap`] and
/// [`CustomBootstrap`], so both draw the same units for replicate `b`.
pub(crate) fn scheme_plan(
    scheme: &Scheme,
    seed: u64,
    data: &Dataset,
) -> Result<(ResamplePlan, Option<Vec<Vec<usize>>>)> {
    let n = check_rows(data)?;
    // Unit order and plan.
    let stream = Stream::new(seed, STREAM_RESAMPLE);
    let iid = |units: usize| PlanKind::Strata {
        offsets: vec![0, units as u32],
    };
    let block = |len: usize| -> Result<u32> {
        if len == 0 || len > n {
            return Err(Error::param(
                "block-length",
                format!("{len} must be between 1 and the number of rows ({n})"),
            ));
        }
        Ok(len as u32)
    };
    // `groups`: for each unit, its rows (None: unit i is row i).
    let (kind, groups): (PlanKind, Option<Vec<Vec<usize>>>) = match scheme {
        Scheme::Iid => (iid(n), None),
        Scheme::Bayesian => (PlanKind::Bayesian, None),
        Scheme::Poisson => (PlanKind::Poisson, None),
        Scheme::MovingBlock { block_length } => (
            PlanKind::MovingBlock {
                len: block(*block_length)?,
            },
            None,
        ),
        Scheme::CircularBlock { block_length } => (
            PlanKind::CircularBlock {
                len: block(*block_length)?,
            },
            None,
        ),
        Scheme::Stationary { block_length } => {
            if !(*block_length >= 1.0 && *block_length <= n as f64) {
                return Err(Error::param(
                    "block-length",
                    format!("{block_length} must be between 1 and the number of rows ({n})"),
                ));
            }
            let thr = ((4294967296.0 / block_length).floor() as u64).min(u32::MAX as u64);
            (
                PlanKind::Stationary {
                    coin_thr: thr as u32,
                },
                None,
            )
        }
        Scheme::Stratified { column } => {
            let s = data.finite_column(column)?;
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| s[a].total_cmp(&s[b]));
            let mut offsets = vec![0u32];
            for i in 1..n {
                if s[order[i]] != s[order[i - 1]] {
                    offsets.push(i as u32);
                }
            }
            offsets.push(n as u32);
            (
                PlanKind::Strata { offsets },
                Some(order.into_iter().map(|r| vec![r]).collect()),
            )
        }
        Scheme::Cluster { column } => {
            let c = data.finite_column(column)?;
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| c[a].total_cmp(&c[b]));
            let mut groups: Vec<Vec<usize>> = Vec::new();
            for (i, &r) in order.iter().enumerate() {
                if i == 0 || c[r] != c[order[i - 1]] {
                    groups.push(Vec::new());
                }
                groups.last_mut().unwrap().push(r);
            }
            if groups.len() < 2 {
                return Err(Error::TooFewRows {
                    what: format!("distinct clusters in `{column}`"),
                    need: 2,
                    got: groups.len(),
                });
            }
            (iid(groups.len()), Some(groups))
        }
    };
    let units = groups.as_ref().map_or(n, Vec::len);
    Ok((
        ResamplePlan {
            units: units as u32,
            kind,
            stream,
        },
        groups,
    ))
}
