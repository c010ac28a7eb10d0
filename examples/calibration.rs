//! Calibration and power of the kernel independence tests.
//!
//! `cargo run --release --example calibration [-- DATASETS]` (default 500 data sets per row).
//! Null rows: X, Y (and Z) generated so the (conditional) independence holds; the rejection rate at
//! α = 0.05 should lie within 0.05 ± 2·sqrt(0.05·0.95/DATASETS). Power rows: two weak
//! dependences per kind (`alt`: a sine, `alt2`: a square).
//! Prints a Markdown table for BENCHMARKS.md.

use ceteris::independence::{IndependenceTest, Null};
use ceteris::rng::{open_unit, Stream};
use ceteris::{Dataset, Engine};

fn normals(stream: &Stream, set: u32, col: u32, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let w = stream.block(set, (col << 20) + i as u32);
            let (u1, u2) = (open_unit(w[0]), open_unit(w[1]));
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        })
        .collect()
}

/// (x, y, z) for a scenario.
fn scenario(name: &str, stream: &Stream, set: u32, n: usize) -> Dataset {
    let (a, b, c) = (
        normals(stream, set, 0, n),
        normals(stream, set, 1, n),
        normals(stream, set, 2, n),
    );
    let (x, y, z): (Vec<f64>, Vec<f64>, Vec<f64>) = match name {
        // independent
        "null-uncond" => (a.clone(), b.iter().map(|v| v * v).collect(), c),
        // weak nonlinear dependence
        "alt-uncond" => (
            a.clone(),
            a.iter()
                .zip(&b)
                .map(|(x, e)| 0.3 * (2.0 * x).sin() + e)
                .collect(),
            c,
        ),
        // fork: X <- Z -> Y, independent given Z
        "null-cond" => (
            c.iter().zip(&a).map(|(z, e)| z.tanh() + 0.5 * e).collect(),
            c.iter()
                .zip(&b)
                .map(|(z, e)| (1.5 * z).sin() + 0.5 * e)
                .collect(),
            c,
        ),
        // weak non-monotone dependence (zero correlation)
        "alt2-uncond" => (
            a.clone(),
            a.iter().zip(&b).map(|(x, e)| 0.3 * x * x + e).collect(),
            c,
        ),
        // X -> Y through a square, Z a common cause: dependent given Z, uncorrelated given Z
        "alt2-cond" => {
            let x: Vec<f64> = c.iter().zip(&a).map(|(z, e)| z.tanh() + 0.5 * e).collect();
            let y = (0..n)
                .map(|i| (1.5 * c[i]).sin() + 0.3 * x[i] * x[i] + 0.5 * b[i])
                .collect();
            (x, y, c)
        }
        // X -> Y with Z a common cause: dependent given Z
        "alt-cond" => {
            let x: Vec<f64> = c.iter().zip(&a).map(|(z, e)| z.tanh() + 0.5 * e).collect();
            let y = (0..n)
                .map(|i| (1.5 * c[i]).sin() + 0.3 * x[i] + 0.5 * b[i])
                .collect();
            (x, y, c)
        }
        _ => unreachable!(),
    };
    Dataset::new()
        .with_column("x", x)
        .unwrap()
        .with_column("y", y)
        .unwrap()
        .with_column("z", z)
        .unwrap()
}

fn main() -> ceteris::Result<()> {
    let sets: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let engine = Engine::cpu();
    let stream = Stream::new(2027, 11);
    let bound = 2.0 * (0.05f64 * 0.95 / sets as f64).sqrt();
    println!("rejection rate at alpha = 0.05 over {sets} data sets per row (null rows should lie in 0.05 ± {bound:.3})\n");
    println!("| test | null | scenario | n | rejection rate | seconds per test |");
    println!("|---|---|---|---|---|---|");
    let rows: Vec<(&str, IndependenceTest, &str, bool)> = vec![
        ("hsic", IndependenceTest::hsic(), "gamma", false),
        (
            "hsic",
            IndependenceTest::hsic().null(Null::Permutation(200)),
            "permutation:200",
            false,
        ),
        (
            "hsic",
            IndependenceTest::hsic().null(Null::Spectral(1000)),
            "spectral:1000",
            false,
        ),
        ("kci", IndependenceTest::kci(), "gamma", false),
        ("kci", IndependenceTest::kci(), "gamma", true),
        (
            "kci",
            IndependenceTest::kci().null(Null::Spectral(1000)),
            "spectral:1000",
            false,
        ),
        (
            "kci",
            IndependenceTest::kci().null(Null::Spectral(1000)),
            "spectral:1000",
            true,
        ),
        ("rcot", IndependenceTest::rcot(), "lpb4", false),
        ("rcot", IndependenceTest::rcot(), "lpb4", true),
        ("rcit", IndependenceTest::rcit(), "lpb4", true),
    ];
    for n in [200usize, 500] {
        for (name, test, null, cond) in &rows {
            for kind in ["null", "alt", "alt2"] {
                let scen = format!("{kind}-{}", if *cond { "cond" } else { "uncond" });
                let mut rejected = 0;
                let start = std::time::Instant::now();
                for s in 0..sets {
                    let d = scenario(&scen, &stream, s + 1_000_000 * n as u32, n);
                    let z: &[&str] = if *cond { &["z"] } else { &[] };
                    let r = test
                        .clone()
                        .seed(s as u64)
                        .run(&engine, &d, &["x"], &["y"], z)?;
                    rejected += (r.p_value < 0.05) as u32;
                }
                println!(
                    "| {name} | {null} | {scen} | {n} | {:.3} | {:.4} |",
                    rejected as f64 / sets as f64,
                    start.elapsed().as_secs_f64() / sets as f64
                );
            }
        }
    }
    Ok(())
}
