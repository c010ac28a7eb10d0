//! Backend choice end to end (issue 19, item 8): `--backend auto|cpu|gpu` and `CETERIS_BACKEND`
//! (which `Engine::auto` reads), on whatever adapter this machine has: `auto` takes a hardware
//! GPU only (never lavapipe), `CETERIS_BACKEND=gpu` takes any adapter, an unknown value is
//! ignored with a warning, and an input too ill-conditioned for f32 is refused by a GPU engine.

use super::*;
use ceteris::Engine;

/// `ceteris ARGS` with `CETERIS_BACKEND` set to `env` (removed when `None`).
fn with_env(env: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ceteris"));
    c.args(args).env("RUST_LOG", "warn");
    match env {
        Some(v) => c.env("CETERIS_BACKEND", v),
        None => c.env_remove("CETERIS_BACKEND"),
    };
    c.output().expect("run the ceteris binary")
}

/// Whether any adapter (software included) and a hardware one are present.
fn adapters() -> (bool, bool) {
    match Engine::gpu() {
        Ok(e) => (true, !e.is_software_gpu()),
        Err(_) => (false, false),
    }
}

fn backend_of(out: &Output) -> (String, Value) {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["backend"].as_str().unwrap().to_string(),
        v["fallback"].clone(),
    )
}

#[test]
fn backend_flag_and_environment_pick_the_documented_engine() {
    let dir = TempDir::new("backend");
    let data = standard_csv(&dir);
    let data = data.to_str().unwrap();
    let args = |backend: &'static str| {
        vec![
            "bootstrap",
            "--data",
            data,
            "--column",
            "x",
            "--resamples",
            "50",
            "--backend",
            backend,
        ]
    };
    let (any, hardware) = adapters();
    let gpu_or_cpu = |gpu: bool| if gpu { "gpu" } else { "cpu" };
    // (CETERIS_BACKEND, --backend, the backend's first word)
    let cases: Vec<(Option<&str>, &str, &str)> = vec![
        (None, "cpu", "cpu"),
        (Some("gpu"), "cpu", "cpu"), // --backend cpu never reads the variable
        (None, "auto", gpu_or_cpu(hardware)),
        (Some("auto"), "auto", gpu_or_cpu(hardware)),
        (Some("cpu"), "auto", "cpu"),
        (Some("gpu"), "auto", gpu_or_cpu(any)),
        (Some("bogus"), "auto", gpu_or_cpu(hardware)),
    ];
    for (env, flag, want) in cases {
        let out = with_env(env, &args(flag));
        let (backend, fallback) = backend_of(&out);
        assert!(
            backend.starts_with(want),
            "CETERIS_BACKEND={env:?} --backend {flag}: {backend}"
        );
        assert!(fallback.is_null(), "{fallback}");
        if env == Some("bogus") {
            let err = text(&out.stderr);
            assert!(err.contains("ignoring CETERIS_BACKEND=bogus"), "{err}");
        }
    }
    // --backend gpu: any adapter, else a clear error
    let out = with_env(None, &args("gpu"));
    if any {
        assert!(backend_of(&out).0.starts_with("gpu"));
    } else {
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.to_lowercase().contains("adapter") || err.contains("gpu"),
            "{err}"
        );
    }
}

/// A correlation of 1 − O(1e-13) on a large offset: too ill-conditioned for the device's f32
/// sums, so an explicit GPU engine (`--backend gpu`, or `CETERIS_BACKEND=gpu`, which names one)
/// refuses it with a `numerics` error instead of a wrong interval.
#[test]
fn a_gpu_engine_refuses_an_ill_conditioned_statistic() {
    let (any, _) = adapters();
    if !any {
        eprintln!("SKIPPED: no GPU adapter");
        return;
    }
    let n = 2000;
    let x: Vec<f64> = (0..n).map(|i| 1e8 + ((i as f64) * 0.37).sin()).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| 2.0 * x[i] + 1e-6 * ((i as f64) * 1.91).cos())
        .collect();
    let dir = TempDir::new("backend-ill");
    let data = dir.write("ill.csv", &csv_text(&[("x", x), ("y", y)]));
    let data = data.to_str().unwrap();
    let args = |backend: &'static str| {
        vec![
            "bootstrap",
            "--data",
            data,
            "--statistic",
            "corr",
            "--columns",
            "x,y",
            "--resamples",
            "50",
            "--backend",
            backend,
        ]
    };
    for (env, flag) in [(None, "gpu"), (Some("gpu"), "auto")] {
        let out = with_env(env, &args(flag));
        assert!(!out.status.success(), "{env:?} {flag}: accepted");
        let err = text(&out.stderr);
        assert!(
            err.contains("numerics") && err.contains("ill-conditioned"),
            "{err}"
        );
    }
    let (backend, _) = backend_of(&with_env(Some("cpu"), &args("auto")));
    assert!(backend.starts_with("cpu"));
}
