//! The discovery cases of `ceteris bench`: PC-stable with KCI and with Fisher-z on [`sem_data`].

use super::{bench_engines, Args};
use crate::Format;
use ceteris::discovery::Pc;
use ceteris::independence::IndependenceTest;
use ceteris::synthetic::sem_data;
use ceteris::Error;
use serde_json::json;

/// Discovery cases of `ceteris bench`: PC-stable with KCI on 6 nonlinear variables (n = 500) and
/// with Fisher-z on 20 variables (n = 2000), on the CPU and on a GPU engine ([`bench_engines`]).
pub(super) fn run(a: &Args, scale: usize, rows: &mut Vec<serde_json::Value>) -> Result<(), Error> {
    let cases = [
        (
            "pc-kci/6 vars",
            sem_data(500 / scale, 6, 3),
            IndependenceTest::kci(),
        ),
        (
            "pc-fisherz/20 vars",
            sem_data(2000 / scale, 20, 4),
            IndependenceTest::fisher_z(),
        ),
    ];
    for (engine, (name, data, test)) in bench_engines(a)
        .iter()
        .flat_map(|e| cases.iter().map(move |c| (e, c)))
    {
        let r = Pc::new(test.clone()).run(engine, data, &[])?;
        if a.format == Format::Table {
            say!(
                "{:<26} {:>9} {:>7} {:>10.4} {:>12}  {} ({} tests, {} edges)",
                name,
                data.n_rows(),
                "-",
                r.seconds,
                "-",
                r.backend,
                r.tests_run,
                r.edges.len()
            );
        }
        rows.push(json!({
            "case": name, "n": data.n_rows(), "tests": r.tests_run, "seconds": r.seconds,
            "edges": r.edges.len(), "backend": r.backend,
        }));
        super::profile_case(a, engine, rows);
    }
    Ok(())
}
