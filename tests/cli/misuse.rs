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
    let t: Vec<f64> = (0..n)
        .map(|i| f64::from(u8::from(i == 4 || i == 19)))
        .collect();
    let y: Vec<f64> = (0..n).map(|i| (i as f64).sin() + 2.0 * t[i]).collect();
    let z: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
    let data = dir.write("d.csv", &csv_text(&[("t", t), ("y", y), ("z", z)]));
    // seed 113 is one whose two resamples both fail (found by a scan; the draws are Philox's)
    let err = fails(&[
        "bootstrap",
        "--data",
        data.to_str().unwrap(),
        "--backend",
        "cpu",
        "--statistic",
        "ipw",
        "--treatment",
        "t",
        "--outcome",
        "y",
        "--covariates",
        "z",
        "--resamples",
        "2",
        "--seed",
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
        w.iter().any(|w| w
            .as_str()
            .unwrap()
            .contains("too few resamples for level 0.95")),
        "{v}"
    );
    let v = boot_json(&data, &["--column", "x", "--level", "0.8"]);
    let w = v["warnings"].as_array().unwrap();
    assert!(
        !w.iter().any(|w| w.as_str().unwrap().contains("too few")),
        "{v}"
    );
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
            "bootstrap",
            "--data",
            d,
            "--column",
            "x",
            "--backend",
            "cpu",
            "--resamples",
            resamples,
        ]
    };
    let err = run(&boot("1000000000"), Some("1073741824"));
    assert!(
        err.starts_with("error: invalid parameter `resamples`"),
        "{err}"
    );
    assert!(err.contains("needs about") && err.contains("GiB"), "{err}");
    assert!(err.contains("1.0 GiB is available"), "{err}");
    assert!(err.contains("use fewer resamples (about"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{err}"
    );
    let err = run(&boot("4000000000"), None);
    assert!(
        err.contains("needs about") && err.contains("is available"),
        "{err}"
    );
    // a huge n × n kernel request: exact factors (--tolerance 0) of 200 000 rows
    let n = 200_000;
    let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
    let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.11).cos()).collect();
    let big = dir.write("big.csv", &csv_text(&[("a", a), ("b", b)]));
    let err = run(
        &[
            "independence",
            "--data",
            big.to_str().unwrap(),
            "--backend",
            "cpu",
            "--test",
            "kci",
            "--x",
            "a",
            "--y",
            "b",
            "--tolerance",
            "0",
        ],
        None,
    );
    assert!(
        err.starts_with("error: invalid parameter `tolerance`"),
        "{err}"
    );
    assert!(
        err.contains("200000 × 200000") && err.contains("is available"),
        "{err}"
    );
    assert!(err.contains("positive tolerance"), "{err}");
}

const MODEL: &str = r#"{"format":"scm-json/v1","nodes":[
{"name":"A","parents":[],"type":"linear","intercept":0,"coefficients":{},"noise":{"dist":"normal","scale":1}},
{"name":"B","parents":["A"],"type":"linear","intercept":1,"coefficients":{"A":2},"noise":{"dist":"normal","scale":0.5}}]}"#;

/// `base` then `extra`.
fn cat<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

fn ok(args: &[&str]) -> String {
    let out = ceteris(args);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    text(&out.stdout)
}

/// `sample` and `counterfactual` take `--format` (json, table, csv) and `--backend` like every
/// command; their JSON keys are the library results' field names (`Samples::data`,
/// `Counterfactual{,s}::{values, noise}`) plus `backend` and `seconds`, and the deterministic
/// counterfactuals report the backend they ran on (the CPU; `--backend gpu` is an error).
#[test]
fn sample_and_counterfactual_take_format_and_backend() {
    let dir = TempDir::new("rows-format");
    let model = dir.write("m.json", MODEL);
    let m = model.to_str().unwrap();
    let sample_base = ["sample", "--model", m, "--samples", "5", "--seed", "3"];
    let csv = ok(&cat(&sample_base, &["--backend", "cpu"]));
    assert_eq!(csv.lines().next(), Some("A,B"), "{csv}");
    assert_eq!(csv.lines().count(), 6, "{csv}");
    let v: Value = serde_json::from_str(&ok(&cat(
        &sample_base,
        &["--backend", "cpu", "--format", "json"],
    )))
    .unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["backend", "data", "seconds"], "{v}");
    assert!(v["backend"].as_str().unwrap().starts_with("cpu"), "{v}");
    // the JSON columns are the CSV's numbers (up to serde_json reading the shortest form back
    // an ulp off)
    let first: Vec<f64> = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|c| c.parse().unwrap())
        .collect();
    for (j, node) in ["A", "B"].iter().enumerate() {
        let got = v["data"][node][0].as_f64().unwrap();
        assert!(
            (got - first[j]).abs() <= 4.0 * f64::EPSILON * got.abs(),
            "{v}"
        );
    }
    let t = ok(&cat(
        &sample_base,
        &["--backend", "cpu", "--format", "table"],
    ));
    assert_eq!(
        t.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["A", "B"]
    );
    assert_eq!(t.lines().count(), 6, "{t}");
    let out = dir.path("s.csv");
    let err = fails(&cat(
        &sample_base,
        &["--out", out.to_str().unwrap(), "--format", "csv"],
    ));
    assert!(err.contains("format") && err.contains("--out"), "{err}");
    let t = ok(&cat(
        &sample_base,
        &[
            "--backend",
            "cpu",
            "--out",
            out.to_str().unwrap(),
            "--format",
            "table",
        ],
    ));
    assert!(
        t.contains("rows     5") && t.contains("backend  cpu"),
        "{t}"
    );

    // counterfactual of one unit: A = 1, B = 3.5 gives N_B = 0.5; do(A := 0) gives B = 1.5
    let cf_base = [
        "counterfactual",
        "--model",
        m,
        "--observed",
        "A=1,B=3.5",
        "--do",
        "A=0",
    ];
    let v: Value = serde_json::from_str(&ok(&cat(&cf_base, &["--backend", "cpu"]))).unwrap();
    assert_eq!(v["values"]["B"].as_f64(), Some(1.5), "{v}");
    assert!(v["backend"].as_str().unwrap().starts_with("cpu"), "{v}");
    let t = ok(&cat(&cf_base, &["--format", "table"]));
    let row: Vec<&str> = t
        .lines()
        .find(|l| l.starts_with("B "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row, ["B", "1.500000", "0.500000"], "{t}");
    assert!(t.contains("backend cpu"), "{t}");
    assert_eq!(
        ok(&cat(&cf_base, &["--format", "csv"])).trim(),
        "A,B\n0.0,1.5"
    );
    let err = fails(&cat(&cf_base, &["--backend", "gpu"]));
    assert!(
        err.contains("backend") && err.contains("no GPU path"),
        "{err}"
    );
    // counterfactuals of a file of units: csv by default, JSON keys of `Counterfactuals`
    // unit 2: A = −1, B = 0 gives N_B = 0 − (1 − 2) = 1, so B = 2 under do(A := 0)
    let units = dir.write("u.csv", "A,B\n1,3.5\n-1,0\n");
    let u = units.to_str().unwrap();
    let many_base = ["counterfactual", "--model", m, "--data", u, "--do", "A=0"];
    assert_eq!(ok(&cat(&many_base, &[])).trim(), "A,B\n0.0,1.5\n0.0,2.0");
    let v: Value = serde_json::from_str(&ok(&cat(&many_base, &["--format", "json"]))).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["backend", "noise", "seconds", "values"], "{v}");
    assert_eq!(v["values"]["B"], serde_json::json!([1.5, 2.0]), "{v}");
    assert_eq!(v["noise"]["B"], serde_json::json!([0.5, 1.0]), "{v}");
    let t = ok(&cat(&many_base, &["--format", "table"]));
    assert_eq!(t.lines().count(), 3, "{t}");
}

/// `sweep --exact` samples nothing: `--samples`, `--seed` and `--common-random-numbers` would be
/// ignored and are refused, and `--backend gpu` is refused (the closed form runs on the CPU);
/// `--format table` prints the points as aligned columns.
#[test]
fn sweep_exact_refuses_sampling_flags_and_prints_a_table() {
    let dir = TempDir::new("sweep-exact");
    let model = dir.write("m.json", MODEL);
    let m = model.to_str().unwrap();
    let base = [
        "sweep",
        "--model",
        m,
        "--outcome",
        "B",
        "--do",
        "A=0,1",
        "--exact",
    ];
    for (extra, flag) in [
        (vec!["--samples", "10"], "--samples"),
        (vec!["--seed", "1"], "--seed"),
        (vec!["--common-random-numbers"], "--common-random-numbers"),
        (vec!["--backend", "gpu"], "backend"),
    ] {
        let mut args = base.to_vec();
        args.extend(extra);
        let err = fails(&args);
        assert!(err.contains(flag), "{args:?}: {err}");
    }
    let mut args = base.to_vec();
    args.extend(["--backend", "cpu", "--format", "table"]);
    let t = ok(&args);
    let lines: Vec<Vec<&str>> = t.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines[0], ["A", "mean", "variance", "mc_error"], "{t}");
    // B = 1 + 2A + N(0, 0.25): means 1 and 3, variance 0.25
    assert_eq!(lines[1], ["0.0", "1.0", "0.25", "0.0"], "{t}");
    assert_eq!(lines[2], ["1.0", "3.0", "0.25", "0.0"], "{t}");
}
