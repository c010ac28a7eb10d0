//! `ceteris discover`: its arguments (background knowledge included) and its run, PC-stable,
//! CD-NOD or FCI printed as JSON, DOT or a table.

use super::data_args::{with_report, DataArgs};
use super::independence::{build_test, TestOpts};
use crate::output::{print_json, Progress};
use ceteris::discovery::{Fci, Knowledge, Pc};
use ceteris::scm::{split_once_unquoted, split_unquoted, unquote_name};
use ceteris::{Dataset, Engine, Error};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    data: DataArgs,
    /// Columns to use, comma separated (default: all but --domain).
    #[arg(long, value_delimiter = ',')]
    columns: Vec<String>,
    #[command(flatten)]
    t: TestOpts,
    /// pc, cdnod (needs --domain; the default when --domain is given) or fci (a PAG: latent
    /// confounders allowed; takes --alpha, --max-depth and the knowledge flags).
    #[arg(long)]
    algorithm: Option<String>,
    /// true (PC-stable, the default) or false (the original order-dependent PC).
    #[arg(long)]
    stable: Option<bool>,
    /// Unshielded colliders: 0 sepset (default), 1 maxP, 2 definite maxP (causal-learn's uc_rule).
    #[arg(long)]
    uc_rule: Option<u8>,
    /// Collider conflicts: -1 rule default, 0 overwrite, 1 bidirected, 2 keep existing (default),
    /// 3 stronger colliders first, 4 stronger* (causal-learn's uc_priority).
    #[arg(long, allow_hyphen_values = true)]
    uc_priority: Option<i8>,
    /// Significance level of the tests.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Largest conditioning-set size.
    #[arg(long)]
    max_depth: Option<usize>,
    /// CD-NOD: column holding the domain or time index.
    #[arg(long)]
    domain: Option<String>,
    /// Forbidden edges, e.g. `a->b,c->d` (quote names holding `,`, `;` or `->`: `"p,q"->b`).
    #[arg(long)]
    forbid: Vec<String>,
    /// Required edges, e.g. `a->b`.
    #[arg(long)]
    require: Vec<String>,
    /// Tiers, earliest first: `a,b;c;d` (no edge from a later tier into an earlier one; names
    /// quoted as in --forbid).
    #[arg(long)]
    tiers: Option<String>,
    /// auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    backend: String,
    /// json, dot or table.
    #[arg(long, default_value = "json")]
    format: String,
}

/// Runs `ceteris discover`.
pub(crate) fn run(a: Args) -> Result<(), Error> {
    // the chosen columns and the domain (a label: any text); every column without --columns
    let mut used = a.columns.clone();
    if !used.is_empty() {
        used.extend(a.domain.iter().cloned());
    }
    let mut labels: Vec<String> = a.domain.iter().cloned().collect();
    if a.t.is_discrete() {
        // chisq/gsq: every column is discrete, text labels factorised (dg: the text ones)
        labels = a.data.columns_or_header(&used)?;
    }
    let data = a.data.read(&used, &labels, a.t.keeps_missing())?;
    run_on(&a, &data).map_err(|e| data.at_lines(e))
}

fn run_on(a: &Args, data: &Dataset) -> Result<(), Error> {
    let test = build_test(&a.t)?;
    // edges `FROM->TO`, comma separated, names quoted where they hold a separator
    let edges = |specs: &[String], what: &str| -> Result<Vec<(String, String)>, Error> {
        let mut out = Vec::new();
        for spec in specs {
            for e in split_unquoted(spec, ",", what)? {
                let (f, t) = split_once_unquoted(e, "->", what)?.ok_or_else(|| {
                    Error::param(what, format!("`{}` is not an edge FROM->TO", e.trim()))
                })?;
                out.push((unquote_name(f, what)?, unquote_name(t, what)?));
            }
        }
        Ok(out)
    };
    let mut k = Knowledge::new();
    for (f, t) in edges(&a.forbid, "forbid")? {
        k = k.forbid(&f, &t);
    }
    for (f, t) in edges(&a.require, "require")? {
        k = k.require(&f, &t);
    }
    if let Some(spec) = &a.tiers {
        let mut tiers: Vec<Vec<String>> = Vec::new();
        for t in split_unquoted(spec, ";", "tiers")? {
            let mut tier = Vec::new();
            for n in split_unquoted(t, ",", "tiers")? {
                if !n.trim().is_empty() {
                    tier.push(unquote_name(n, "tiers")?);
                }
            }
            tiers.push(tier);
        }
        if tiers.iter().any(Vec::is_empty) {
            return Err(Error::param("tiers", format!("`{spec}` has an empty tier")));
        }
        let tiers: Vec<Vec<&str>> = tiers
            .iter()
            .map(|t| t.iter().map(String::as_str).collect())
            .collect();
        let refs: Vec<&[&str]> = tiers.iter().map(Vec::as_slice).collect();
        k = k.tiers(&refs);
    }
    let format = a.format.as_str();
    if !matches!(format, "json" | "dot" | "table") {
        return Err(Error::param(
            "format",
            format!("unknown format `{format}` (json, dot, table)"),
        ));
    }
    match (a.algorithm.as_deref(), &a.domain) {
        (None | Some("pc"), None) | (None | Some("cdnod"), Some(_)) => {}
        (Some("pc"), Some(_)) => {
            return Err(Error::param(
                "domain",
                "--domain is CD-NOD's; use --algorithm cdnod (or leave --algorithm out)",
            ))
        }
        (Some("cdnod"), None) => {
            return Err(Error::param(
                "algorithm",
                "cdnod needs --domain (the column holding the domain or time index)",
            ))
        }
        (Some("fci"), _) => {
            // options FCI would ignore are refused
            let ignored = [
                ("domain", a.domain.is_some()),
                ("stable", a.stable.is_some()),
                ("uc-rule", a.uc_rule.is_some()),
                ("uc-priority", a.uc_priority.is_some()),
            ];
            if let Some((flag, _)) = ignored.iter().find(|(_, given)| *given) {
                return Err(Error::param(
                    *flag,
                    format!("--{flag} is not an FCI option (FCI takes --alpha, --max-depth, --forbid, --require, --tiers and the test options)"),
                ));
            }
        }
        (Some(other), _) => {
            return Err(Error::param(
                "algorithm",
                format!("unknown algorithm `{other}` (pc, cdnod, fci)"),
            ))
        }
    }
    let engine = Engine::from_name(&a.backend)?;
    let cols: Vec<&str> = a.columns.iter().map(String::as_str).collect();
    let progress = Progress::new("tests");
    let tick = |level: usize, done: u64, total: u64| {
        progress.tick_with_message(format!("level {level}"), done, total);
    };
    if a.algorithm.as_deref() == Some("fci") {
        let fci = Fci::new(test)
            .alpha(a.alpha)
            .max_depth(a.max_depth)
            .knowledge(k);
        let r = fci.run_with_progress(&engine, data, &cols, Some(&tick))?;
        progress.finish();
        return print_result(a, data, &r, format);
    }
    let pc = Pc::new(test)
        .stable(a.stable.unwrap_or(true))
        .uc_rule(a.uc_rule.unwrap_or(0))
        .uc_priority(a.uc_priority.unwrap_or(2))
        .alpha(a.alpha)
        .max_depth(a.max_depth)
        .knowledge(k)
        .domain(a.domain.as_deref());
    let r = pc.run_with_progress(&engine, data, &cols, Some(&tick))?;
    progress.finish();
    print_result(a, data, &r, format)
}

fn print_result(
    a: &Args,
    data: &Dataset,
    r: &ceteris::discovery::DiscoveryResult,
    format: &str,
) -> Result<(), Error> {
    match format {
        "dot" => say!("{}", r.to_dot().trim_end()),
        "table" => {
            for e in &r.edges {
                say!("{} {} {}", e.from, e.kind.arrow(), e.to);
            }
            say!(
                "{} tests in {} levels, {:.3} s on {}",
                r.tests_run,
                r.levels.len(),
                r.seconds,
                r.backend
            );
            for b in &r.borderline {
                say!(
                    "borderline: {} _||_ {} | {} (p = {:.6}, alpha = {})",
                    b.x,
                    b.y,
                    b.z.join(","),
                    b.p_value,
                    r.alpha
                );
            }
            a.data.say_report(data);
        }
        _ => print_json(&with_report(r, a.data.report(data))),
    }
    Ok(())
}
