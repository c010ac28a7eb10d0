//! `ceteris bench --only work-index` (issue 18, "Deliver (GPU)" item 4): the flags it refuses, and
//! on an adapter (lavapipe will do) a quick run's JSON rows and its failure above `--max-index`.

use super::*;

#[test]
fn work_index_refuses_the_cpu_backend_and_misplaced_flags() {
    let err = fails(&["bench", "--only", "work-index", "--backend", "cpu"]);
    assert!(err.contains("backend"), "{err}");
    let err = fails(&["bench", "--only", "work-index", "--max-index", "0"]);
    assert!(err.contains("max-index"), "{err}");
    let err = fails(&["bench", "--only", "work-index", "--repeat", "0"]);
    assert!(err.contains("repeat"), "{err}");
    let err = fails(&["bench", "--only", "work-index", "--profile"]);
    assert!(err.contains("profile"), "{err}");
    // the work-index flags with another capability would be ignored: an error
    let err = fails(&["bench", "--quick", "--only", "scm", "--repeat", "2"]);
    assert!(err.contains("repeat"), "{err}");
    let err = fails(&["bench", "--quick", "--only", "scm", "--max-index", "2"]);
    assert!(err.contains("max-index"), "{err}");
}

#[test]
fn work_index_reports_every_workload_and_fails_above_the_limit() {
    if common::gpu().is_none() {
        return; // no adapter: skipped with a printed reason (a failure under CETERIS_REQUIRE_GPU=1)
    }
    // every index, the reference's 1 included, exceeds 1e-9: the run prints its rows, then fails
    let out = ceteris(&[
        "bench",
        "--only",
        "work-index",
        "--quick",
        "--repeat",
        "1",
        "--max-index",
        "1e-9",
        "--format",
        "json",
    ]);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("max-index") && err.contains("median/iid"),
        "{err}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["workload"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "mean/iid (reference)",
            "median/iid",
            "mean/iid/bca",
            "ipw/iid (fixed e)",
            "aipw/refit",
            "hsic/permutation",
            "kci/batch z1",
            "rcot/batch z1",
            "scm/sweep own noise",
            "scm/sweep shared noise",
        ]
    );
    assert_eq!(rows[0]["index"].as_f64(), Some(1.0));
    for r in rows {
        let (c, g) = (
            r["cpu_seconds"].as_f64().unwrap(),
            r["gpu_seconds"].as_f64().unwrap(),
        );
        assert!(c > 0.0 && g > 0.0, "{r}");
        let ratio = r["ratio"].as_f64().unwrap();
        assert!((ratio - g / c).abs() <= 1e-12 * ratio, "{r}");
        let index = r["index"].as_f64().unwrap();
        let want = ratio / rows[0]["ratio"].as_f64().unwrap();
        assert!((index - want).abs() <= 1e-12 * want, "{r}");
    }
}
