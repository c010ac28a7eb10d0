//! Issue 14, "no silent misuse": no stray errors on success (the display-selection Vulkan layer
//! on a headless machine), memory checked before allocating, too few resamples flagged, the real
//! cause of a statistic undefined in every resample, and `--format`/`--backend` on every command.

use super::*;

/// A GPU run on a machine without a display session (`XDG_RUNTIME_DIR` unset) prints no
/// `XDG_RUNTIME_DIR` error: the binary keeps Mesa's device-select layer out of its Vulkan
/// instance (`NODEVICE_SELECT=1`). Whether or not an adapter is found (lavapipe is in CI), the
/// only thing on stderr may be ceteris's own messages.
#[test]
fn a_gpu_run_on_a_headless_machine_prints_no_display_errors() {
    let dir = TempDir::new("headless");
    let data = standard_csv(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_ceteris"))
        .args([
            "bootstrap",
            "--data",
            data.to_str().unwrap(),
            "--column",
            "x",
            "--resamples",
            "50",
            "--backend",
            "gpu",
        ])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .env_remove("CETERIS_BACKEND")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the ceteris binary");
    let err = text(&out.stderr);
    assert!(!err.contains("XDG_RUNTIME_DIR"), "stderr:\n{err}");
    assert!(!err.contains("panicked"), "stderr:\n{err}");
    if out.status.success() {
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert!(v["backend"].as_str().unwrap().starts_with("gpu"), "{v}");
        assert!(err.trim().is_empty(), "a successful run printed:\n{err}");
    } else {
        // no adapter on this machine: ceteris's own error, nothing else
        assert!(err.starts_with("error: "), "{err}");
    }
}

/// A refit effect whose nuisance fits fail in every resample names the cause (here resample 0
/// drew no treated row: 2 of 30 rows are treated), not another scheme.
#[test]
fn refit_undefined_in_every_resample_names_the_cause() {
    let dir = TempDir::new("refit-undefined");
    let n = 30;
    let t: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i == 4 || i == 19))).collect();
    let y: Vec<f64> = (0..n).map(|i| (i as f64).sin() + 2.0 * t[i]).collect();
    let z: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
    let data = dir.write("d.csv", &csv_text(&[("t", t), ("y", y), ("z", z)]));
    // seed 113 is one whose two resamples both fail (found by a scan; the draws are Philox's)
    let err = fails(&[
        "bootstrap", "--data", data.to_str().unwrap(), "--backend", "cpu", "--statistic", "ipw",
        "--treatment", "t", "--outcome", "y", "--covariates", "z", "--resamples", "2", "--seed",
        "113",
    ]);
    assert!(err.contains("undefined in all 2 resamples"), "{err}");
    assert!(err.contains("no row of arm t = 1"), "{err}");
    assert!(!err.contains("stratified"), "{err}");
}

/// Too few resamples for the level is a warning in the JSON (and the table).
#[test]
fn too_few_resamples_for_the_level_warn() {
    let dir = TempDir::new("few-resamples");
    let data = standard_csv(&dir);
    // 200 resamples (boot_json's): (200 + 1)(1 − 0.95)/2 ≈ 5 per tail; at 0.8, ≈ 20
    let v = boot_json(&data, &["--column", "x"]);
    let w = v["warnings"].as_array().unwrap();
    assert!(
        w.iter().any(|w| w.as_str().unwrap().contains("too few resamples for level 0.95")),
        "{v}"
    );
    let v = boot_json(&data, &["--column", "x", "--level", "0.8"]);
    let w = v["warnings"].as_array().unwrap();
    assert!(!w.iter().any(|w| w.as_str().unwrap().contains("too few")), "{v}");
}

/// Memory is checked before allocating: a run whose replicates would not fit is an error that
/// says how much it needs, how much is available and what to change (before, the allocator
/// aborted with a backtrace). `CETERIS_MEMORY_LIMIT` pins what is available, so the refusal does
/// not depend on the machine; 4e9 resamples (about 240 GiB) are refused on any machine.
#[test]
fn runs_too_large_for_memory_are_refused_before_allocating() {
    let dir = TempDir::new("memory");
    let data = standard_csv(&dir);
    let d = data.to_str().unwrap();
    let run = |args: &[&str], limit: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ceteris"));
        c.args(args).env_remove("CETERIS_BACKEND");
        match limit {
            Some(l) => c.env("CETERIS_MEMORY_LIMIT", l),
            None => c.env_remove("CETERIS_MEMORY_LIMIT"),
        };
        let out = c.output().expect("run the ceteris binary");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        text(&out.stderr)
    };
    let boot = |resamples: &'static str| {
        vec![
            "bootstrap", "--data", d, "--column", "x", "--backend", "cpu", "--resamples",
            resamples,
        ]
    };
    let err = run(&boot("1000000000"), Some("1073741824"));
    assert!(err.starts_with("error: invalid parameter `resamples`"), "{err}");
    assert!(err.contains("needs about") && err.contains("GiB"), "{err}");
    assert!(err.contains("1.0 GiB is available"), "{err}");
    assert!(err.contains("use fewer resamples (about"), "{err}");
    assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{err}");
    let err = run(&boot("4000000000"), None);
    assert!(err.contains("needs about") && err.contains("is available"), "{err}");
    // a huge n × n kernel request: exact factors (--tolerance 0) of 200 000 rows
    let n = 200_000;
    let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
    let big = dir.write("big.csv", &csv_text(&[("a", a), ("b", b)]));
    let err = run(
        &[
            "independence", "--data", big.to_str().unwrap(), "--backend", "cpu", "--test", "kci",
            "--x", "a", "--y", "b", "--tolerance", "0",
        ],
        None,
    );
    assert!(err.starts_with("error: invalid parameter `tolerance`"), "{err}");
    assert!(err.contains("200000 × 200000") && err.contains("is available"), "{err}");
    assert!(err.contains("positive tolerance"), "{err}");
}
