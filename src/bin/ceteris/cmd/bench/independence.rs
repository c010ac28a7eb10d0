//! The independence-test cases of `ceteris bench`: single KCI tests, HSIC permutation nulls and
//! batches of KCI and RCoT tests on [`sem_data`], and the report of one batch that the GPU
//! targets reuse.

use super::{bench_engines, Args};
use crate::Format;
use ceteris::independence::{IndependenceTest, Null, Query, Tester};
use ceteris::synthetic::{sem_data, z1_queries};
use ceteris::{Dataset, Engine};
use serde_json::json;

/// Runs the independence-test cases of `ceteris bench` (the single KCI tests on the CPU only).
pub(super) fn run(a: &Args, scale: usize, rows: &mut Vec<serde_json::Value>) {
    // single KCI tests run on the CPU; the HSIC permutation null and the KCI and RCoT batches
    // also run on a GPU engine
    let engines = bench_engines(a);
    let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    let n_big = 2000 / scale.min(4);
    let perms = if a.quick { 100 } else { 1000 };
    let big = sem_data(n_big, 10, 1);
    let mid = sem_data(1000 / scale.min(4), 10, 2);
    // 1000 distinct tests X ⫫ Y | Z with |Z| = 1 on 16 columns (120 pairs × 14 conditioning columns)
    let small = sem_data(500, 16, 3);
    let batch = z1_queries(16, 1000 / scale);
    // RCoT on the 10-column data set: the |Z| = 1 queries among its columns
    let big_batch = z1_queries(10, 200);
    let cases: Vec<(String, &Dataset, IndependenceTest, Vec<Query>)> = vec![
        (
            format!("kci/cond z1 n={n_big}"),
            &big,
            IndependenceTest::kci(),
            vec![(s(&["v1"]), s(&["v3"]), s(&["v2"]))],
        ),
        (
            format!("kci/uncond n={n_big}"),
            &big,
            IndependenceTest::kci(),
            vec![(s(&["v1"]), s(&["v3"]), vec![])],
        ),
        (
            format!("hsic/perm{perms} n={n_big}"),
            &big,
            IndependenceTest::hsic().null(Null::Permutation(perms)),
            vec![(s(&["v1"]), s(&["v3"]), vec![])],
        ),
        (
            format!("hsic/perm{perms} n={}", mid.n_rows()),
            &mid,
            IndependenceTest::hsic().null(Null::Permutation(perms)),
            vec![(s(&["v1"]), s(&["v3"]), vec![])],
        ),
        (
            format!("kci/batch{} n=500", batch.len()),
            &small,
            IndependenceTest::kci(),
            batch.clone(),
        ),
        (
            format!("rcot/batch{} n=500", batch.len()),
            &small,
            IndependenceTest::rcot(),
            batch.clone(),
        ),
        (
            format!("rcot/batch{} n={n_big}", big_batch.len()),
            &big,
            IndependenceTest::rcot(),
            big_batch,
        ),
    ];
    for (name, data, test, queries) in &cases {
        for engine in &engines {
            if engine.kind() == ceteris::BackendKind::Gpu
                && !name.starts_with("hsic/perm")
                && !name.starts_with("rcot/")
                && !name.starts_with("kci/batch")
            {
                continue;
            }
            row(a, rows, engine, name, data, test, queries);
        }
    }
}

/// Runs one batch of independence tests and reports it (a table line and a JSON row with tests
/// per second).
pub(super) fn row(
    a: &Args,
    rows: &mut Vec<serde_json::Value>,
    engine: &Engine,
    name: &str,
    data: &Dataset,
    test: &IndependenceTest,
    queries: &[Query],
) {
    let start = std::time::Instant::now();
    let tester = Tester::new(engine, data, test.clone());
    let results = tester.batch(queries);
    let secs = start.elapsed().as_secs_f64();
    let failed = results.iter().filter(|r| r.is_err()).count();
    if a.format == Format::Table {
        say!(
            "{:<26} {:>9} {:>7} {:>10.4} {:>12}  {} ({} tests{})",
            name,
            data.n_rows(),
            "-",
            secs,
            "-",
            engine.describe(),
            queries.len(),
            if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            }
        );
    }
    rows.push(json!({
        "case": name, "n": data.n_rows(), "tests": queries.len(), "seconds": secs,
        "tests_per_s": queries.len() as f64 / secs, "backend": engine.describe(), "failed": failed,
    }));
    super::profile_case(a, engine, rows);
}
