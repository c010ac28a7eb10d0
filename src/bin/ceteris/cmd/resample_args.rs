//! Flags shared by the commands that bootstrap (`bootstrap`, `effect --bootstrap`): the
//! resampling scheme with its companion flags, and the interval methods.

use ceteris::{Error, IntervalMethod, Scheme};

/// `--scheme` with `--strata`, `--cluster` and `--block-length`, validated together by
/// [`Scheme::parse`] (a companion flag the scheme does not use is an error).
#[derive(clap::Args)]
pub(crate) struct SchemeArgs {
    /// iid stratified cluster bayesian poisson moving-block circular-block stationary (default
    /// iid).
    #[arg(long)]
    pub(crate) scheme: Option<String>,
    /// Strata column of the stratified scheme.
    #[arg(long)]
    pub(crate) strata: Option<String>,
    /// Cluster id column of the cluster scheme.
    #[arg(long)]
    pub(crate) cluster: Option<String>,
    /// Block length (moving/circular) or mean block length (stationary).
    #[arg(long)]
    pub(crate) block_length: Option<f64>,
}

impl SchemeArgs {
    /// The scheme the flags describe (iid when `--scheme` is absent).
    pub(crate) fn scheme(&self) -> Result<Scheme, Error> {
        Scheme::parse(
            self.scheme.as_deref().unwrap_or("iid"),
            self.strata.as_deref(),
            self.cluster.as_deref(),
            self.block_length,
        )
    }

    /// The first of the flags given on the command line, if any (for commands where they apply
    /// only in some modes).
    pub(crate) fn given(&self) -> Option<&'static str> {
        [
            ("scheme", self.scheme.is_some()),
            ("strata", self.strata.is_some()),
            ("cluster", self.cluster.is_some()),
            ("block-length", self.block_length.is_some()),
        ]
        .into_iter()
        .find(|f| f.1)
        .map(|f| f.0)
    }
}

/// `--method percentile,bca,…` into interval methods.
pub(crate) fn parse_methods(methods: &[String]) -> Result<Vec<IntervalMethod>, Error> {
    methods.iter().map(|m| m.parse()).collect()
}
