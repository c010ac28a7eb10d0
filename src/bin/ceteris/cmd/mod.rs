//! The subcommands: one file per command, each with its `Args` (clap) and its `run`, plus the
//! parsing shared by the model commands ([`scm_args`]) and by the commands that bootstrap
//! ([`resample_args`]).

pub(crate) mod bench;
pub(crate) mod bootstrap;
pub(crate) mod counterfactual;
mod data_args;
pub(crate) mod discover;
pub(crate) mod effect;
pub(crate) mod fit;
pub(crate) mod independence;
mod resample_args;
pub(crate) mod sample;
mod scm_args;
pub(crate) mod sweep;
