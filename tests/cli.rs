//! The `ceteris` binary end to end: CSV files in a temporary folder, the CPU backend, JSON and
//! table output, plots, every statistic and scheme, bad input, the quick benchmark, discovery and
//! independence tests.

mod common;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RESAMPLES: &str = "200";
const N: usize = 60;

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p =
            std::env::temp_dir().join(format!("ceteris-cli-test-{}-{}", std::process::id(), tag));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The columns of the standard test file, as (name, values) in header order; the values are
/// written with Rust's round-trip formatting, so reading them back gives the same f64s.
fn columns() -> Vec<(&'static str, Vec<f64>)> {
    let x: Vec<f64> = (0..N)
        .map(|i| ((i * 37 % 101) as f64) / 7.0 + 0.3)
        .collect();
    let z: Vec<f64> = (0..N).map(|i| ((i as f64) * 0.7).sin()).collect();
    let t: Vec<f64> = (0..N).map(|i| ((i * 7 % 5) % 2) as f64).collect();
    let e: Vec<f64> = (0..N)
        .map(|i| 0.2 + 0.6 * ((i * 13 % 17) as f64 + 0.5) / 17.0)
        .collect();
    let y: Vec<f64> = (0..N)
        .map(|i| 1.0 + 2.0 * t[i] + z[i] + 0.1 * x[i] + ((i as f64) * 1.3).cos())
        .collect();
    let mu0: Vec<f64> = z.iter().map(|v| 1.0 + v).collect();
    let mu1: Vec<f64> = z.iter().map(|v| 3.0 + v).collect();
    let w: Vec<f64> = (0..N).map(|i| 0.5 + (i % 7) as f64 / 7.0).collect();
    let g: Vec<f64> = (0..N).map(|i| (i / 6) as f64).collect();
    vec![
        ("x", x),
        ("y", y),
        ("z", z),
        ("t", t),
        ("e", e),
        ("mu0", mu0),
        ("mu1", mu1),
        ("w", w),
        ("g", g),
    ]
}

fn csv_text(cols: &[(&str, Vec<f64>)]) -> String {
    let mut s = cols.iter().map(|c| c.0).collect::<Vec<_>>().join(",");
    s.push('\n');
    for i in 0..cols[0].1.len() {
        let row: Vec<String> = cols.iter().map(|c| format!("{:?}", c.1[i])).collect();
        s.push_str(&row.join(","));
        s.push('\n');
    }
    s
}

fn standard_csv(dir: &TempDir) -> PathBuf {
    dir.write("data.csv", &csv_text(&columns()))
}

fn ceteris(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ceteris"))
        .args(args)
        .env_remove("CETERIS_BACKEND")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the ceteris binary")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `ceteris bootstrap --data FILE --backend cpu --resamples 200 ARGS` and expects success.
fn boot_ok(data: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "bootstrap",
        "--data",
        data.to_str().unwrap(),
        "--backend",
        "cpu",
        "--resamples",
        RESAMPLES,
        "--seed",
        "11",
    ];
    all.extend_from_slice(args);
    let out = ceteris(&all);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert!(
        out.status.success(),
        "{args:?} failed with {:?}:\n{err}",
        out.status.code()
    );
    out
}

fn boot_json(data: &Path, args: &[&str]) -> Value {
    let out = boot_ok(data, args);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}):\n{}", text(&out.stdout)))
}

/// Runs a command that must fail cleanly; returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = ceteris(args);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert!(
        !out.status.success(),
        "{args:?} should fail, but exited 0 with:\n{}",
        text(&out.stdout)
    );
    assert!(
        out.status.code().is_some_and(|c| c != 0),
        "{args:?}: killed by a signal? {:?}",
        out.status
    );
    assert!(!err.trim().is_empty(), "{args:?}: no message on stderr");
    err
}

const KEYS: [&str; 10] = [
    "statistic",
    "estimate",
    "std_error",
    "bias",
    "resamples",
    "scheme",
    "level",
    "backend",
    "seconds",
    "intervals",
];

/// Keys the README documents beyond the main ten.
const EXTRA_KEYS: [&str; 6] = [
    "valid_resamples",
    "seed",
    "bca",
    "fallback",
    "warnings",
    "replicates",
];

#[test]
fn json_output_has_the_documented_keys_and_all_methods() {
    let dir = TempDir::new("json");
    let data = standard_csv(&dir);
    let v = boot_json(
        &data,
        &[
            "--statistic",
            "mean",
            "--column",
            "x",
            "--method",
            "percentile,basic,normal,bca,studentized",
            "--level",
            "0.9",
        ],
    );
    let obj = v.as_object().expect("a JSON object");
    for k in KEYS {
        assert!(obj.contains_key(k), "missing key `{k}` in {v}");
    }
    for k in obj.keys() {
        assert!(
            KEYS.contains(&k.as_str()) || EXTRA_KEYS.contains(&k.as_str()),
            "undocumented key `{k}`"
        );
    }
    assert!(
        !obj.contains_key("replicates"),
        "replicates without --keep-replicates"
    );
    assert_eq!(v["statistic"], "mean");
    assert_eq!(v["scheme"], "iid");
    assert_eq!(v["resamples"].as_u64(), Some(200));
    assert_eq!(v["valid_resamples"].as_u64(), Some(200));
    assert_eq!(v["seed"].as_u64(), Some(11));
    assert_eq!(v["level"].as_f64(), Some(0.9));
    assert!(
        v["backend"].as_str().unwrap().starts_with("cpu"),
        "{}",
        v["backend"]
    );
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    assert!(v["std_error"].as_f64().unwrap() > 0.0);
    assert!(v["bias"].as_f64().unwrap().is_finite());

    let x = &columns()[0].1;
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let est = v["estimate"].as_f64().unwrap();
    assert!(
        (est - mean).abs() < 1e-12,
        "estimate {est} vs CSV mean {mean}"
    );

    let iv = v["intervals"].as_object().unwrap();
    let mut names: Vec<&str> = iv.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["basic", "bca", "normal", "percentile", "studentized"]
    );
    for (m, pair) in iv {
        let pair = pair.as_array().unwrap();
        assert_eq!(pair.len(), 2, "{m}");
        let (lo, hi) = (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap());
        assert!(lo < est && est < hi, "{m}: [{lo}, {hi}] around {est}");
    }
    let bca = &v["bca"];
    assert!(
        bca["z0"].is_number() && bca["acceleration"].is_number(),
        "{bca}"
    );
    assert_eq!(bca["levels"].as_array().map(Vec::len), Some(2));
}

#[test]
fn default_methods_are_percentile_and_bca() {
    let dir = TempDir::new("defaults");
    let data = standard_csv(&dir);
    let v = boot_json(&data, &["--column", "x"]);
    assert_eq!(v["statistic"], "mean");
    let mut names: Vec<&String> = v["intervals"].as_object().unwrap().keys().collect();
    names.sort_unstable();
    assert_eq!(names, ["bca", "percentile"]);
}

#[test]
fn keep_replicates_includes_them() {
    let dir = TempDir::new("keep");
    let data = standard_csv(&dir);
    let v = boot_json(&data, &["--column", "x", "--keep-replicates"]);
    assert_eq!(v["replicates"].as_array().map(Vec::len), Some(200));
}

#[test]
fn table_format_prints_estimate_and_methods() {
    let dir = TempDir::new("table");
    let data = standard_csv(&dir);
    let out = boot_ok(
        &data,
        &[
            "--statistic",
            "mean",
            "--column",
            "x",
            "--method",
            "percentile,basic,normal,bca,studentized",
            "--format",
            "table",
        ],
    );
    let s = text(&out.stdout);
    assert!(
        serde_json::from_str::<Value>(&s).is_err(),
        "table output is JSON:\n{s}"
    );
    let x = &columns()[0].1;
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    assert!(
        s.contains(&format!("{mean:.6}")),
        "no estimate {mean:.6} in:\n{s}"
    );
    assert!(s.contains("mean"), "{s}");
    for m in ["percentile", "basic", "normal", "bca", "studentized"] {
        assert!(
            s.lines().any(|l| l.trim_start().starts_with(m)),
            "no `{m}` row in:\n{s}"
        );
    }
}

#[test]
fn plot_writes_an_svg() {
    let dir = TempDir::new("plot");
    let data = standard_csv(&dir);
    let svg = dir.path("out.svg");
    let v = boot_json(
        &data,
        &[
            "--column",
            "x",
            "--method",
            "percentile,bca",
            "--plot",
            svg.to_str().unwrap(),
        ],
    );
    // the plot keeps replicates internally but does not print them unless asked
    assert!(v.get("replicates").is_none());
    let body = std::fs::read_to_string(&svg).expect("the SVG file exists");
    assert!(
        body.trim_start().starts_with("<svg") || body.contains("<svg"),
        "not an SVG: {}",
        &body[..body.len().min(200)]
    );
    assert!(body.trim_end().ends_with("</svg>"), "truncated SVG");

    // table output with a plot too
    let svg2 = dir.path("out2.svg");
    boot_ok(
        &data,
        &[
            "--statistic",
            "median",
            "--column",
            "x",
            "--format",
            "table",
            "--plot",
            svg2.to_str().unwrap(),
        ],
    );
    assert!(std::fs::read_to_string(&svg2).unwrap().contains("<svg"));
}

#[test]
fn every_statistic_runs() {
    let dir = TempDir::new("stats");
    let data = standard_csv(&dir);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("mean", vec!["--column", "x"]),
        ("var", vec!["--column", "x"]),
        ("std", vec!["--column", "x"]),
        ("median", vec!["--column", "x"]),
        ("quantile:0.9", vec!["--column", "x"]),
        ("weighted-mean", vec!["--column", "x", "--weights", "w"]),
        ("diff-means", vec!["--treatment", "t", "--outcome", "y"]),
        ("ratio-means", vec!["--columns", "y,x"]),
        ("corr", vec!["--columns", "x,y"]),
        ("ols:x", vec!["--outcome", "y", "--covariates", "x,z"]),
        (
            "ols:intercept",
            vec!["--outcome", "y", "--covariates", "x,z"],
        ),
        (
            "ipw",
            vec!["--treatment", "t", "--outcome", "y", "--propensity", "e"],
        ),
        (
            "hajek",
            vec!["--treatment", "t", "--outcome", "y", "--propensity", "e"],
        ),
        (
            "aipw",
            vec![
                "--treatment",
                "t",
                "--outcome",
                "y",
                "--propensity",
                "e",
                "--mu0",
                "mu0",
                "--mu1",
                "mu1",
            ],
        ),
    ];
    let cols = columns();
    let col = |n: &str| &cols.iter().find(|c| c.0 == n).unwrap().1;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    for (stat, flags) in cases {
        let mut args = vec![
            "--statistic",
            stat,
            "--method",
            "percentile,basic,normal,bca",
        ];
        args.extend(flags.iter().copied());
        let v = boot_json(&data, &args);
        assert_eq!(v["statistic"], stat, "{v}");
        let est = v["estimate"].as_f64().unwrap_or(f64::NAN);
        assert!(est.is_finite(), "{stat}: estimate {}", v["estimate"]);
        assert!(v["std_error"].as_f64().unwrap() > 0.0, "{stat}: {v}");
        assert_eq!(v["intervals"].as_object().unwrap().len(), 4, "{stat}");
        // a few closed-form checks of the estimate
        let x = col("x");
        let want = match stat {
            "ratio-means" => Some(mean(col("y")) / mean(x)),
            "var" | "std" => {
                let m = mean(x);
                let var = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (N as f64 - 1.0);
                Some(if stat == "var" { var } else { var.sqrt() })
            }
            "median" | "quantile:0.9" => {
                let q = if stat == "median" { 0.5 } else { 0.9 };
                let mut s = x.clone();
                s.sort_by(f64::total_cmp);
                let h = (N as f64 - 1.0) * q;
                let lo = h.floor() as usize;
                Some(s[lo] + (h - lo as f64) * (s[lo + 1] - s[lo]))
            }
            "weighted-mean" => {
                let w = col("w");
                Some(x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w.iter().sum::<f64>())
            }
            "diff-means" => {
                let (t, y) = (col("t"), col("y"));
                let arm = |a: f64| {
                    let v: Vec<f64> = (0..N).filter(|&i| t[i] == a).map(|i| y[i]).collect();
                    mean(&v)
                };
                Some(arm(1.0) - arm(0.0))
            }
            _ => None,
        };
        if let Some(want) = want {
            assert!(
                (est - want).abs() <= 1e-9 * want.abs().max(1.0),
                "{stat}: estimate {est}, expected {want}"
            );
        }
    }
}

#[test]
fn every_scheme_runs() {
    let dir = TempDir::new("schemes");
    let data = standard_csv(&dir);
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("iid", vec![]),
        ("stratified", vec!["--strata", "t"]),
        ("cluster", vec!["--cluster", "g"]),
        ("bayesian", vec![]),
        ("poisson", vec![]),
        ("moving-block", vec!["--block-length", "5"]),
        ("circular-block", vec!["--block-length", "5"]),
        ("stationary", vec!["--block-length", "4.5"]),
    ];
    for (scheme, flags) in &cases {
        for stat in [
            vec!["--statistic", "mean", "--column", "x"],
            vec!["--statistic", "median", "--column", "x"],
            vec![
                "--statistic",
                "diff-means",
                "--treatment",
                "t",
                "--outcome",
                "y",
            ],
        ] {
            let mut args = vec!["--scheme", *scheme, "--method", "percentile,bca"];
            args.extend(flags.iter().copied());
            args.extend(stat.iter().copied());
            let v = boot_json(&data, &args);
            assert_eq!(v["scheme"], *scheme, "{v}");
            assert_eq!(v["resamples"].as_u64(), Some(200));
            assert!(v["estimate"].as_f64().unwrap().is_finite(), "{args:?}: {v}");
            let sd = v["std_error"].as_f64().unwrap();
            assert!(sd.is_finite() && sd > 0.0, "{args:?}: std_error {sd}");
            let iv = v["intervals"].as_object().unwrap();
            assert_eq!(iv.len(), 2, "{args:?}");
        }
    }
}

#[test]
fn bad_input_fails_cleanly_naming_the_problem() {
    let dir = TempDir::new("bad");
    let data_buf = standard_csv(&dir);
    let data: &Path = &data_buf;
    let d = data.to_str().unwrap();
    let nan_buf = dir.write("nan.csv", "a,b\n1,2\n3,4\n5,NaN\n7,8\n");
    let inf_buf = dir.write("inf.csv", "a,b\n1,2\ninf,4\n5,6\n");
    let word_buf = dir.write("word.csv", "a,b\n1,2\n3,four\n");
    let empty_buf = dir.write("empty.csv", "a,b\n");
    let missing_buf = dir.path("does-not-exist.csv");
    let (nan, inf, word, empty, missing): (&Path, &Path, &Path, &Path, &Path) =
        (&nan_buf, &inf_buf, &word_buf, &empty_buf, &missing_buf);
    // --backend cpu and --resamples 200 unless the case sets them itself (clap rejects a flag
    // given twice, which would make the case pass for the wrong reason)
    let boot = |extra: &[&str], file: &Path| -> String {
        let mut args = vec!["bootstrap", "--data", file.to_str().unwrap()];
        if !extra.contains(&"--backend") {
            args.extend(["--backend", "cpu"]);
        }
        if !extra.contains(&"--resamples") {
            args.extend(["--resamples", RESAMPLES]);
        }
        args.extend_from_slice(extra);
        let err = fails(&args);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(
            !err.contains("cannot be used multiple times"),
            "{args:?}: {err}"
        );
        err
    };
    // (extra args, file, substrings the message must contain)
    let cases: Vec<(Vec<&str>, &Path, Vec<&str>)> = vec![
        (vec!["--column", "nope"], data, vec!["nope", "x, y"]),
        (vec!["--column", "b"], nan, vec!["`b`", "row 2"]),
        (vec!["--column", "a"], inf, vec!["`a`", "row 1"]),
        (vec!["--column", "b"], word, vec!["word.csv", "four"]),
        (vec!["--column", "a"], empty, vec!["empty.csv"]),
        (vec!["--column", "x"], missing, vec!["does-not-exist.csv"]),
        (
            vec!["--statistic", "mode", "--column", "x"],
            data,
            vec!["mode", "statistic"],
        ),
        (
            vec!["--column", "x", "--resamples", "0"],
            data,
            vec!["resamples"],
        ),
        (vec!["--column", "x", "--level", "1.5"], data, vec!["level"]),
        (
            vec!["--column", "x", "--scheme", "jackknife"],
            data,
            vec!["jackknife"],
        ),
        (
            vec!["--column", "x", "--method", "exact"],
            data,
            vec!["exact"],
        ),
        (
            vec![
                "--column",
                "x",
                "--scheme",
                "moving-block",
                "--block-length",
                "0",
            ],
            data,
            vec!["block-length"],
        ),
        (
            vec![
                "--column",
                "x",
                "--scheme",
                "circular-block",
                "--block-length",
                "500",
            ],
            data,
            vec!["block-length"],
        ),
        (
            vec!["--column", "x", "--scheme", "stationary"],
            data,
            vec!["block-length"],
        ),
        (
            vec!["--column", "x", "--scheme", "stratified"],
            data,
            vec!["strata"],
        ),
        (
            vec!["--column", "x", "--scheme", "cluster", "--cluster", "nope"],
            data,
            vec!["nope"],
        ),
        (
            vec!["--statistic", "quantile:1.5", "--column", "x"],
            data,
            vec!["quantile"],
        ),
        (
            vec![
                "--statistic",
                "diff-means",
                "--treatment",
                "x",
                "--outcome",
                "y",
            ],
            data,
            vec!["`x`"],
        ),
        (
            vec![
                "--statistic",
                "ipw",
                "--treatment",
                "t",
                "--outcome",
                "y",
                "--propensity",
                "x",
            ],
            data,
            vec!["`x`"],
        ),
        (
            vec!["--statistic", "weighted-mean", "--column", "x"],
            data,
            vec!["weights"],
        ),
        (
            vec![
                "--statistic",
                "ols:q",
                "--outcome",
                "y",
                "--covariates",
                "x,z",
            ],
            data,
            vec!["`q`"],
        ),
        (
            vec!["--statistic", "var", "--column", "nope"],
            data,
            vec!["nope"],
        ),
        (vec!["--column", "x", "--backend", "tpu"], data, vec!["tpu"]),
    ];
    for (extra, file, needles) in cases {
        let err = boot(&extra, file);
        for n in needles {
            assert!(err.contains(n), "{extra:?}: stderr lacks `{n}`:\n{err}");
        }
    }
    // argument errors from the parser itself
    let err = fails(&["bootstrap", "--backend", "cpu"]);
    assert!(err.contains("--data"), "{err}");
    let err = fails(&["bootstrap", "--data", d, "--resamples", "-3"]);
    assert!(err.contains("resamples") || err.contains("-3"), "{err}");
    let err = fails(&["frobnicate"]);
    assert!(err.contains("frobnicate"), "{err}");
}

#[test]
fn plot_to_an_unwritable_path_fails_cleanly() {
    let dir = TempDir::new("badplot");
    let data = standard_csv(&dir);
    let svg = dir.path("no-such-folder/out.svg");
    let err = fails(&[
        "bootstrap",
        "--data",
        data.to_str().unwrap(),
        "--backend",
        "cpu",
        "--resamples",
        RESAMPLES,
        "--column",
        "x",
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(err.contains("out.svg"), "{err}");
}

#[test]
fn bench_quick_json() {
    let out = ceteris(&["bench", "--quick", "--backend", "cpu", "--format", "json"]);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.status.success(), "bench failed: {err}");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bench stdout is not JSON ({e}):\n{}", text(&out.stdout)));
    assert_eq!(v["quick"], true);
    let rows = v["results"].as_array().expect("a `results` array");
    assert!(!rows.is_empty());
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
fn discover_prints_json_dot_and_table() {
    let dir = TempDir::new("discover");
    // x → y ← t (linear): Fisher-z finds the collider
    let n = 400;
    let x: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64) / 101.0).collect();
    let t: Vec<f64> = (0..n).map(|i| ((i * 53 % 97) as f64) / 97.0).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| x[i] + t[i] + 0.2 * ((i * 7 % 13) as f64 / 13.0))
        .collect();
    let data = dir.write("d.csv", &csv_text(&[("x", x), ("t", t), ("y", y)]));
    let d = data.to_str().unwrap();
    let base = [
        "discover",
        "--data",
        d,
        "--test",
        "fisherz",
        "--backend",
        "cpu",
    ];
    let out = ceteris(&base);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "nodes",
        "edges",
        "sepsets",
        "tests_run",
        "seconds",
        "backend",
        "levels",
        "borderline",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert!(edges
        .iter()
        .all(|e| e["to"] == "y" && e["kind"] == "directed"));
    assert_eq!(v["sepsets"]["x|t"], serde_json::json!([]));
    let mut dot = base.to_vec();
    dot.extend(["--format", "dot"]);
    let out = ceteris(&dot);
    let s = text(&out.stdout);
    assert!(
        s.starts_with("digraph") && s.contains("\"x\" -> \"y\";"),
        "{s}"
    );
    let mut table = base.to_vec();
    table.extend(["--format", "table", "--require", "x->t"]);
    let s = text(&ceteris(&table).stdout);
    assert!(s.contains("x --> t") && s.contains("tests in"), "{s}");
    // bad input names the problem
    let mut bad = base.to_vec();
    bad.extend(["--forbid", "x-y"]);
    assert!(fails(&bad).contains("not an edge FROM->TO"));
    let mut bad = base.to_vec();
    bad.extend(["--alpha", "1.5"]);
    assert!(fails(&bad).contains("alpha"));
    let mut bad = base.to_vec();
    bad.extend(["--domain", "nope"]);
    assert!(fails(&bad).contains("nope"));
    let mut bad = base.to_vec();
    bad.extend(["--tiers", "x;;y"]);
    assert!(fails(&bad).contains("empty tier"));
}

#[test]
fn sample_then_discover_finds_the_collider() {
    // model A → C ← B (linear-Gaussian): `ceteris sample` writes the data, `discover` finds
    // the collider; `--do A=2` fixes column A
    let dir = TempDir::new("sample");
    let model = dir.write(
        "m.json",
        r#"{"format":"scm-json/v1","nodes":[
{"name":"A","parents":[],"type":"linear","intercept":0,"coefficients":{},"noise":{"dist":"normal","scale":1}},
{"name":"B","parents":[],"type":"linear","intercept":0,"coefficients":{},"noise":{"dist":"normal","scale":1}},
{"name":"C","parents":["A","B"],"type":"linear","intercept":0,"coefficients":{"A":1,"B":1},"noise":{"dist":"normal","scale":0.5}}]}"#,
    );
    let csv = dir.path("s.csv");
    let m = model.to_str().unwrap();
    let out = ceteris(&[
        "sample",
        "--model",
        m,
        "--samples",
        "2000",
        "--seed",
        "3",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = ceteris(&[
        "discover",
        "--data",
        csv.to_str().unwrap(),
        "--test",
        "fisherz",
        "--backend",
        "cpu",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let edges = v["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2, "{v}");
    assert!(
        edges
            .iter()
            .all(|e| e["to"] == "C" && e["kind"] == "directed"),
        "{v}"
    );
    let out = ceteris(&["sample", "--model", m, "--samples", "5", "--do", "A=2"]);
    let s = text(&out.stdout);
    let header: Vec<&str> = s.lines().next().unwrap().split(',').collect();
    let a = header.iter().position(|h| *h == "A").unwrap();
    assert!(
        s.lines()
            .skip(1)
            .all(|l| l.split(',').nth(a) == Some("2.0")),
        "{s}"
    );
    assert!(fails(&["sample", "--model", m, "--do", "Q=1"]).contains("Q"));
}

// ---- ceteris independence ----

/// Rows of the independence data.
const IND_N: usize = 200;

/// A chain a → m → b plus an independent c (standard normals from the tests' own Philox
/// stream), in header order.
fn independence_columns() -> Vec<(&'static str, Vec<f64>)> {
    let a = common::normals(IND_N, 21);
    let (e1, e2, c) = (
        common::normals(IND_N, 22),
        common::normals(IND_N, 23),
        common::normals(IND_N, 24),
    );
    let m: Vec<f64> = (0..IND_N).map(|i| a[i] + 0.5 * e1[i]).collect();
    let b: Vec<f64> = (0..IND_N).map(|i| m[i] + 0.5 * e2[i]).collect();
    vec![("a", a), ("m", m), ("b", b), ("c", c)]
}

/// The same columns as a library data set (the CSV round-trips every f64 exactly).
fn independence_dataset() -> ceteris::Dataset {
    let mut d = ceteris::Dataset::new();
    for (name, v) in independence_columns() {
        d.push_column(name, v).unwrap();
    }
    d
}

/// `ceteris independence --data FILE --backend cpu --seed 7 ARGS`, expected to succeed.
fn indep_ok(data: &Path, args: &[&str]) -> String {
    let mut all = vec![
        "independence",
        "--data",
        data.to_str().unwrap(),
        "--backend",
        "cpu",
        "--seed",
        "7",
    ];
    all.extend_from_slice(args);
    let out = ceteris(&all);
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    assert!(
        out.status.success(),
        "{args:?} failed with {:?}:\n{err}",
        out.status.code()
    );
    text(&out.stdout)
}

fn indep_json(data: &Path, args: &[&str]) -> Value {
    let out = indep_ok(data, args);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}):\n{out}"))
}

/// The keys of one test's JSON: the seven main ones and the README's x, y, z.
const INDEP_KEYS: [&str; 10] = [
    "test",
    "statistic",
    "p_value",
    "n",
    "null",
    "backend",
    "seconds",
    "x",
    "y",
    "z",
];

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// One result object: exactly the documented keys, and the fields the run implies.
fn check_indep_result(v: &Value, test: &str, null: &str, x: &[&str], y: &[&str], z: &[&str]) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = INDEP_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "{v}");
    assert_eq!(v["test"], test, "{v}");
    assert_eq!(v["null"], null, "{v}");
    assert_eq!(v["n"].as_u64(), Some(IND_N as u64), "{v}");
    assert!(
        v["backend"].as_str().unwrap().starts_with("cpu"),
        "{}",
        v["backend"]
    );
    assert!(v["seconds"].as_f64().unwrap() >= 0.0, "{v}");
    assert!(v["statistic"].as_f64().unwrap().is_finite(), "{v}");
    let p = v["p_value"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{v}");
    assert_eq!(names(&v["x"]), x, "{v}");
    assert_eq!(names(&v["y"]), y, "{v}");
    assert_eq!(names(&v["z"]), z, "{v}");
}

/// The library's result for the same data and options (CPU, seed 7, the CLI's defaults).
fn library_result(
    test: ceteris::independence::IndependenceTest,
    x: &[&str],
    y: &[&str],
    z: &[&str],
) -> ceteris::independence::TestResult {
    test.seed(7)
        .run(&ceteris::Engine::cpu(), &independence_dataset(), x, y, z)
        .unwrap()
}

/// Equal up to reading the JSON back: serde_json (without `float_roundtrip`) may parse the
/// printed shortest form one ulp off.
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(b.abs())
}

/// The library test of a `--test` name, and the null its JSON names by default.
fn library_test(name: &str) -> (ceteris::independence::IndependenceTest, &'static str) {
    use ceteris::independence::IndependenceTest;
    match name {
        "hsic" => (IndependenceTest::hsic(), "gamma"),
        "kci" => (IndependenceTest::kci(), "gamma"),
        "rcit" => (IndependenceTest::rcit(), "lpb4"),
        "rcot" => (IndependenceTest::rcot(), "lpb4"),
        other => panic!("{other}"),
    }
}

fn split(list: &str) -> Vec<&str> {
    list.split(',').filter(|c| !c.is_empty()).collect()
}

#[test]
fn independence_json_for_every_test_matches_the_library() {
    let dir = TempDir::new("indep-json");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    // (test, x, y, z, dependent?) on the chain a → m → b and the independent c
    let cases = [
        ("hsic", "a", "b", "", true),
        ("hsic", "a", "c", "", false),
        ("kci", "a", "b", "", true),
        ("kci", "a", "c", "", false),
        ("kci", "a,c", "b", "", true),
        ("kci", "a", "b", "m", false),
        ("kci", "a", "m", "c", true),
        ("rcit", "a", "b", "", true),
        ("rcit", "a", "b", "m", false),
        ("rcit", "a", "m", "c", true),
        ("rcot", "a", "b", "", true),
        ("rcot", "a", "c", "", false),
        ("rcot", "a", "b", "m", false),
        ("rcot", "a", "m", "c", true),
    ];
    for (name, xs, ys, zs, dependent) in cases {
        let (x, y, z) = (split(xs), split(ys), split(zs));
        let mut args = vec!["--test", name, "--x", xs, "--y", ys];
        if !z.is_empty() {
            args.extend(["--z", zs]);
        }
        let v = indep_json(&data, &args);
        let (lib, null) = library_test(name);
        check_indep_result(&v, name, null, &x, &y, &z);
        let (stat, p) = (
            v["statistic"].as_f64().unwrap(),
            v["p_value"].as_f64().unwrap(),
        );
        let want = library_result(lib, &x, &y, &z);
        assert!(
            same(stat, want.statistic),
            "{args:?}: {stat} vs {}",
            want.statistic
        );
        assert!(same(p, want.p_value), "{args:?}: {p} vs {}", want.p_value);
        // dependent pairs are rejected outright; a ⫫ c and a ⫫ b | m are not
        if dependent {
            assert!(p < 1e-6, "{args:?}: dependent, but p = {p}");
        } else {
            assert!(p > 0.01, "{args:?}: independent, but p = {p}");
        }
    }
}

#[test]
fn independence_numbers_match_independent_references() {
    let dir = TempDir::new("indep-ref");
    let cols = independence_columns();
    let data = dir.write("d.csv", &csv_text(&cols));
    // linear kernel on z-scored (ddof = 1) columns: the centred Gram matrices are x xᵀ and y yᵀ,
    // so HSIC's and KCI's V-statistic Σ Kx∘Ky is (xᵀy)² = ((n − 1) r)²
    let (a, b) = (&cols[0].1, &cols[2].1);
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let sab: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let saa: f64 = a.iter().map(|x| (x - ma) * (x - ma)).sum();
    let sbb: f64 = b.iter().map(|y| (y - mb) * (y - mb)).sum();
    let r = sab / (saa * sbb).sqrt();
    let want = ((n - 1.0) * r).powi(2);
    for test in ["hsic", "kci"] {
        let v = indep_json(
            &data,
            &["--test", test, "--x", "a", "--y", "b", "--kernel", "linear"],
        );
        let stat = v["statistic"].as_f64().unwrap();
        assert!(
            (stat - want).abs() <= 1e-9 * want,
            "{test}: statistic {stat}, ((n − 1) r)² = {want}"
        );
    }
    // permutation null on strongly dependent data: no permuted statistic reaches the observed
    // one, so p = (1 + 0) / (1 + 99) exactly
    let v = indep_json(
        &data,
        &[
            "--test",
            "hsic",
            "--x",
            "a",
            "--y",
            "b",
            "--null",
            "permutation",
            "--permutations",
            "99",
        ],
    );
    check_indep_result(&v, "hsic", "permutation:99", &["a"], &["b"], &[]);
    assert_eq!(v["p_value"].as_f64(), Some(0.01), "{v}");
}

#[test]
fn independence_all_pairs_prints_one_row_per_pair() {
    let dir = TempDir::new("indep-pairs");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    // (z, pairs of the other columns in header order)
    let cases = [("", "a-m a-b a-c m-b m-c b-c"), ("m", "a-b a-c b-c")];
    for test in ["kci", "rcot"] {
        for (zs, pairs) in cases {
            let z = &split(zs)[..];
            let pairs: Vec<(&str, &str)> = pairs
                .split(' ')
                .map(|p| p.split_once('-').unwrap())
                .collect();
            let mut args = vec!["--test", test, "--all-pairs"];
            if !z.is_empty() {
                args.extend(["--z", zs]);
            }
            let v = indep_json(&data, &args);
            let rows = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
            assert_eq!(rows.len(), pairs.len(), "{args:?}: {v}");
            for (row, (x, y)) in rows.iter().zip(&pairs) {
                let (lib, null) = library_test(test);
                check_indep_result(row, test, null, &[x], &[y], z);
                let want = library_result(lib, &[x], &[y], z);
                let stat = row["statistic"].as_f64().unwrap();
                let p = row["p_value"].as_f64().unwrap();
                // the batch shares factors and Z-regressions across pairs: the same numbers as
                // single runs
                assert!(
                    same(stat, want.statistic) && same(p, want.p_value),
                    "{args:?} {x},{y}: {stat} {p} vs {} {}",
                    want.statistic,
                    want.p_value
                );
            }
            // the table: a header and the same rows, numbers to 6 decimals
            args.extend(["--format", "table"]);
            let t = indep_ok(&data, &args);
            let lines: Vec<&str> = t.lines().collect();
            assert_eq!(lines.len(), pairs.len() + 1, "{args:?}:\n{t}");
            let head: Vec<&str> = lines[0].split_whitespace().collect();
            assert_eq!(head, ["x", "y", "z", "statistic", "p_value"], "{t}");
            for ((line, row), (x, y)) in lines[1..].iter().zip(rows).zip(&pairs) {
                let f: Vec<&str> = line.split_whitespace().collect();
                let want_len = if z.is_empty() { 4 } else { 5 };
                assert_eq!(f.len(), want_len, "{line}");
                assert_eq!((f[0], f[1]), (*x, *y), "{line}");
                if !z.is_empty() {
                    assert_eq!(f[2], zs, "{line}");
                }
                let stat: f64 = f[want_len - 2].parse().unwrap();
                let p: f64 = f[want_len - 1].parse().unwrap();
                let tol = |v: f64| 5e-7 * v.abs().max(1.0);
                let js = row["statistic"].as_f64().unwrap();
                let jp = row["p_value"].as_f64().unwrap();
                assert!((stat - js).abs() <= tol(js), "{line} vs {js}");
                assert!((p - jp).abs() <= 5e-7, "{line} vs {jp}");
            }
        }
    }
}

#[test]
fn independence_single_test_table() {
    let dir = TempDir::new("indep-table");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    let v = indep_json(
        &data,
        &["--test", "kci", "--x", "a", "--y", "b", "--z", "m"],
    );
    let t = indep_ok(
        &data,
        &[
            "--test", "kci", "--x", "a", "--y", "b", "--z", "m", "--format", "table",
        ],
    );
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 2, "{t}");
    let f: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&f[..3], ["a", "b", "m"], "{t}");
    let stat: f64 = f[3].parse().unwrap();
    let js = v["statistic"].as_f64().unwrap();
    assert!((stat - js).abs() <= 5e-7 * js.abs().max(1.0), "{t} vs {v}");
}

#[test]
fn independence_bad_input_fails_cleanly_naming_the_problem() {
    let dir = TempDir::new("indep-bad");
    let data = dir.write("d.csv", &csv_text(&independence_columns()));
    let d = data.to_str().unwrap();
    // (args after `independence --data FILE --backend cpu`, substrings the message must contain)
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (vec!["--x", "a", "--y", "nope"], vec!["nope", "a, m, b, c"]),
        (
            vec!["--x", "nope", "--y", "b", "--test", "rcot"],
            vec!["nope"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--z", "nope", "--test", "kci"],
            vec!["nope"],
        ),
        (vec!["--all-pairs", "--z", "nope"], vec!["nope"]),
        (
            vec!["--x", "a", "--y", "b", "--z", "a"],
            vec!["`a`", "--x", "--z"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--z", "b", "--test", "rcot"],
            vec!["`b`", "--y", "--z"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "hsic",
                "--null",
                "permutation",
                "--permutations",
                "0",
            ],
            vec!["permutations", "at least 1"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "kci",
                "--null",
                "permutation",
                "--permutations",
                "0",
            ],
            vec!["permutations", "at least 1"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--permutations", "0"],
            vec!["permutations", "at least 1"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "rcot",
                "--permutations",
                "0",
            ],
            vec!["permutations", "at least 1"],
        ),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--null",
                "spectral",
                "--samples",
                "0",
            ],
            vec!["samples", "at least 1"],
        ),
        (vec!["--x", "a"], vec!["--x and --y"]),
        (vec!["--x", "a", "--y", "b", "--test", "hsci"], vec!["hsci"]),
        (
            vec![
                "--x",
                "a",
                "--y",
                "b",
                "--test",
                "rcot",
                "--null",
                "permutation",
            ],
            vec!["permutation", "rcot"],
        ),
        (
            vec!["--x", "a", "--y", "b", "--kernel", "cosine"],
            vec!["cosine"],
        ),
    ];
    for (extra, needles) in cases {
        let mut args = vec!["independence", "--data", d, "--backend", "cpu"];
        args.extend_from_slice(&extra);
        let err = fails(&args);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        for needle in needles {
            assert!(err.contains(needle), "{extra:?}: `{needle}` not in {err}");
        }
    }
}
