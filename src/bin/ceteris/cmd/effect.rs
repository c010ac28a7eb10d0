//! `ceteris effect`: its arguments and run, the average causal effect of one intervention set
//! against another (`NODE=value` atomic, `NODE+=delta` shift), as JSON or a table.

use super::scm_args::{parse_num, read_model};
use crate::output::print_json;
use ceteris::scm::Intervention;
use ceteris::{Engine, Error};
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[arg(long)]
    model: String,
    #[arg(long)]
    outcome: String,
    /// The alternative set: `NODE=value` (atomic) and `NODE+=delta` (shift), comma separated.
    #[arg(long, allow_hyphen_values = true)]
    alternative: String,
    /// The reference set, as `--alternative` (e.g. `X=0`, or `X+=0` for no shift).
    #[arg(long, allow_hyphen_values = true)]
    reference: String,
    #[arg(long, default_value_t = 100_000)]
    samples: u64,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json or table.
    #[arg(long, default_value = "json")]
    format: String,
}

/// Runs `ceteris effect`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    let model = read_model(&a.model)?;
    let engine = Engine::from_name(&a.backend)?;
    if !["json", "table"].contains(&a.format.as_str()) {
        return Err(Error::param(
            "format",
            format!("unknown format `{}` (json, table)", a.format),
        ));
    }
    // `NODE=value` is atomic, `NODE+=delta` a shift
    let set = |spec: &str, what: &str| -> Result<Vec<Intervention>, Error> {
        spec.split(',')
            .map(|kv| {
                let (n, v) = kv.split_once('=').ok_or_else(|| {
                    Error::param(what, format!("`{kv}` is not NODE=value or NODE+=delta"))
                })?;
                Ok(match n.strip_suffix('+') {
                    Some(n) => Intervention::shift(n.trim(), parse_num(v, what)?),
                    None => Intervention::atomic(n.trim(), parse_num(v, what)?),
                })
            })
            .collect()
    };
    let (alternative, reference) = (
        set(&a.alternative, "alternative")?,
        set(&a.reference, "reference")?,
    );
    let start = Instant::now();
    let e = model.effect(
        &engine,
        &alternative,
        &reference,
        &a.outcome,
        a.samples,
        a.seed,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    if a.format == "table" {
        say!("outcome      {}", a.outcome);
        say!("alternative  {}", a.alternative);
        say!("reference    {}", a.reference);
        say!("ace          {}", e.ace);
        say!("mc_error    {}", e.mc_error);
        say!("samples      {}", a.samples);
        say!("backend      {}", e.backend);
        say!("seconds      {seconds:.4}");
        return Ok(());
    }
    print_json(&json!({
        "outcome": a.outcome, "ace": e.ace, "mc_error": e.mc_error, "samples": a.samples,
        "alternative": a.alternative, "reference": a.reference,
        "backend": e.backend, "seconds": seconds,
    }));
    Ok(())
}
