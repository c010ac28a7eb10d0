//! `ceteris bench --quick`: its JSON rows, an unknown backend refused, and `--profile`.

use super::*;

#[test]
fn bench_quick_json() {
    let out = ceteris(&["bench", "--quick", "--backend", "cpu", "--format", "json"]);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "bench failed: {err}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bench stdout is not JSON ({e}):\n{}", text(&out.stdout)));
    assert_eq!(v["quick"], true);
    // the JSON contract (issue 19, item 8): exactly these keys, per kind of row
    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }
    assert_eq!(keys(&v), ["quick", "results"]);
    let rows = v["results"].as_array().expect("a `results` array");
    assert!(!rows.is_empty());
    let mut kinds = std::collections::BTreeSet::new();
    for r in rows {
        let k = keys(r);
        let want: &[&str] = if r.get("estimate").is_some() {
            &[
                "backend",
                "case",
                "estimate",
                "mdraws_per_s",
                "n",
                "resamples",
                "seconds",
            ]
        } else if r.get("edges").is_some() {
            &["backend", "case", "edges", "n", "seconds", "tests"]
        } else if r.get("tests").is_some() {
            &[
                "backend",
                "case",
                "failed",
                "n",
                "seconds",
                "tests",
                "tests_per_s",
            ]
        } else {
            &[
                "backend",
                "case",
                "nodes",
                "ns_per_node_sample",
                "samples",
                "seconds",
                "settings",
            ]
        };
        assert_eq!(k, want, "{r}");
        kinds.insert(want[2]);
    }
    // every capability's rows are present (bootstrap, discovery, independence, SCM)
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    for r in rows {
        assert!(r["case"].is_string(), "{r}");
        assert!(r["backend"].as_str().unwrap().starts_with("cpu"), "{r}");
        assert!(r["seconds"].as_f64().unwrap() >= 0.0, "{r}");
        match r.get("estimate") {
            // bootstrap rows
            Some(e) => assert!(e.as_f64().unwrap().is_finite(), "{r}"),
            // discovery rows
            None if r.get("edges").is_some() => {
                assert!(r["tests"].as_u64().unwrap() >= 1, "{r}");
                assert!(r["edges"].as_u64().unwrap() >= 1, "{r}");
            }
            // independence-test rows
            None if r.get("tests").is_some() => {
                assert!(r["tests"].as_u64().unwrap() >= 1, "{r}");
                assert_eq!(r["failed"].as_u64(), Some(0), "{r}");
            }
            // SCM sweep rows
            None => assert!(r["ns_per_node_sample"].as_f64().unwrap() > 0.0, "{r}"),
        }
    }
}

#[test]
fn bench_unknown_backend_fails() {
    let err = fails(&["bench", "--quick", "--backend", "tpu", "--format", "json"]);
    assert!(err.contains("tpu"), "{err}");
}

#[test]
fn bench_profile_with_the_cpu_backend_fails() {
    let err = fails(&["bench", "--quick", "--backend", "cpu", "--profile"]);
    assert!(err.contains("profile"), "{err}");
}

#[test]
fn bench_profile_reports_each_gpu_case() {
    // needs an adapter (lavapipe will do), as the GPU tests do (CETERIS_REQUIRE_GPU=1: required)
    if common::gpu().is_none() {
        return; // no adapter: skipped with a printed reason (a failure under CETERIS_REQUIRE_GPU=1)
    }
    let out = ceteris(&[
        "bench",
        "--quick",
        "--backend",
        "gpu",
        "--only",
        "bootstrap",
        "--profile",
        "--format",
        "json",
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "bench failed: {err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    assert!(!rows.is_empty());
    for r in rows {
        assert!(r["backend"].as_str().unwrap().starts_with("gpu"), "{r}");
        let p = &r["profile"];
        let mut k: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        assert_eq!(
            k,
            [
                "buffers_created",
                "buffers_reused",
                "bytes_read_back",
                "bytes_uploaded",
                "kernels",
                "submits"
            ],
            "{r}"
        );
        // each bootstrap batch takes its output, staging and uniform buffers from the pool
        let buffers =
            p["buffers_created"].as_u64().unwrap() + p["buffers_reused"].as_u64().unwrap();
        assert!(buffers >= 3 * p["submits"].as_u64().unwrap(), "{r}");
        assert!(p["submits"].as_u64().unwrap() >= 1, "{r}");
        // at least one f32 per resample comes back
        assert!(p["bytes_read_back"].as_u64().unwrap() >= 4 * r["resamples"].as_u64().unwrap());
        for kernel in p["kernels"].as_array().unwrap() {
            assert!(!kernel["name"].as_str().unwrap().is_empty(), "{r}");
            assert!(kernel["dispatches"].as_u64().unwrap() >= 1, "{r}");
            assert!(kernel["gpu_seconds"].as_f64().unwrap() > 0.0, "{r}");
        }
    }
}
