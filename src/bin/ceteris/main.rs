//! The `ceteris` command line: CSV in, JSON or a table out.
//!
//! This file owns the parser (`Cli`, `Command`, `Format`), the `say!` macro and the one dispatch
//! from a subcommand to its `run` in [`cmd`]; each command's arguments and work live in its own
//! file there, the shared output helpers in [`output`] and the SVG plots in [`plot`].

/// `println!` that ignores a closed stdout (e.g. piped into `head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod cmd;
mod output;
mod plot;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "ceteris",
    version,
    about = "Fast causal-inference loops on the GPU or the CPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Json,
    Table,
}

/// `--format` of the commands that print rows (`sample`, `counterfactual`): the rows as CSV,
/// as JSON (`{column: [values]}` under the library result's field names) or as a table.
#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum RowsFormat {
    Json,
    Table,
    Csv,
}

#[derive(Subcommand)]
enum Command {
    /// Bootstrap a statistic: estimate, standard error, bias and confidence intervals.
    Bootstrap(Box<cmd::bootstrap::Args>),
    /// Kernel independence test (HSIC, KCI): X ⫫ Y, or X ⫫ Y | Z.
    Independence(Box<cmd::independence::Args>),
    /// Intervention sweep on a structural causal model (scm-json/v1).
    Sweep(Box<cmd::sweep::Args>),
    /// Average causal effect between two intervention sets.
    Effect(Box<cmd::effect::Args>),
    /// Causal discovery: PC (stable by default), FCI (--algorithm fci: latent confounders, a PAG) or CD-NOD (--algorithm cdnod with --domain), on batched CI tests.
    Discover(Box<cmd::discover::Args>),
    /// Counterfactual values of every node for one observed unit (additive-noise models).
    Counterfactual(Box<cmd::counterfactual::Args>),
    /// Fit a linear or additive model (scm-json/v1) from a CSV file and a graph.
    Fit(Box<cmd::fit::Args>),
    /// Draw samples from a model (observational, or under interventions) as CSV.
    Sample(Box<cmd::sample::Args>),
    /// Run every capability at standard sizes on built-in synthetic data, on every backend.
    Bench(cmd::bench::Args),
}

fn main() -> ExitCode {
    // before any thread starts: no display-selection Vulkan layer (its stray XDG_RUNTIME_DIR
    // errors on headless machines); see `ceteris::quiet_display_layers`
    #[cfg(feature = "gpu")]
    ceteris::quiet_display_layers();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Bootstrap(a) => cmd::bootstrap::run(*a),
        Command::Independence(a) => cmd::independence::run(*a),
        Command::Sweep(a) => cmd::sweep::run(*a),
        Command::Effect(a) => cmd::effect::run(*a),
        Command::Discover(a) => cmd::discover::run(*a),
        Command::Counterfactual(a) => cmd::counterfactual::run(*a),
        Command::Fit(a) => cmd::fit::run(*a),
        Command::Sample(a) => cmd::sample::run(*a),
        Command::Bench(a) => cmd::bench::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
