//! The `ceteris` binary end to end: CSV files in a temporary folder, the CPU backend, JSON and
//! table output, plots, every statistic and scheme, bad input, the quick benchmark, discovery and
//! independence tests, and the issue-14 misuse checks (`misuse`).
//!
//! This file holds the temporary folder, the standard test file and the helpers that run the
//! binary; the tests are in the submodules: `bootstrap` (JSON and table output, plots, every
//! statistic and scheme), `bad_input`, `bench`, `discover` (with `sample`) and `independence`.

#[path = "../common/mod.rs"]
mod common;

mod backend;
mod bad_input;
mod bench;
mod bootstrap;
mod discover;
mod independence;
mod ingest;
mod misuse;
mod work_index;

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
