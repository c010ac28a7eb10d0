//! Per-call time of single RCoT/RCIT (or KCI) tests, for `benches/rivals/rcit_rivals.py` and
//! `benches/rivals/kci_beside_rcit.py`.
//!
//! `cargo run --release --example rcit_timing -- DATA.csv REPS [rcot|rcit|kci ...]`: reads the CSV
//! (columns `x`, `y` and `z*`), then runs each named test REPS times in this process, every call a
//! fresh [`IndependenceTest::run`] on the CPU engine (nothing cached between calls: standardising,
//! bandwidths, features, the Z regression and the null every time). Prints one JSON line per
//! test: the per-call seconds, the statistic and the p-value. Reading the CSV is not timed.
//!
//! Before the timed calls of each test, untimed calls for at least [`WARM_UP`] (as criterion
//! warms up): on the 2-vCPU benchmark machine the first 10–20 calls of a few milliseconds each
//! ran 1.5–3× slower than the rest with two rayon threads (not with one, and not from the
//! allocator: glibc's trim and mmap thresholds changed nothing), so a fixed single warm-up call
//! measured the machine waking up rather than the test. `rcit_rivals.py` warms causal-learn up
//! for the same time.

use ceteris::independence::IndependenceTest;
use ceteris::{Dataset, Engine};
use std::time::{Duration, Instant};

/// Untimed calls per test before the timed ones, for at least this long.
const WARM_UP: Duration = Duration::from_secs(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, reps) = match args.as_slice() {
        [p, r, ..] => (p.clone(), r.parse::<usize>()?),
        _ => return Err("usage: rcit_timing DATA.csv REPS [rcot|rcit|kci ...]".into()),
    };
    let tests: Vec<&str> = if args.len() > 2 {
        args[2..].iter().map(String::as_str).collect()
    } else {
        vec!["rcot", "rcit"]
    };
    let data = Dataset::from_csv(&path)?;
    let names = data.names();
    let z: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|c| c.starts_with('z'))
        .collect();
    let engine = Engine::cpu();
    for name in tests {
        let test = match name {
            "rcot" => IndependenceTest::rcot(),
            "rcit" => IndependenceTest::rcit(),
            "kci" => IndependenceTest::kci(),
            other => return Err(format!("unknown test {other}").into()),
        };
        let warm = Instant::now();
        while warm.elapsed() < WARM_UP {
            test.run(&engine, &data, &["x"], &["y"], &z)?;
        }
        let mut seconds = Vec::with_capacity(reps);
        let mut last = None;
        for _ in 0..reps {
            let t = Instant::now();
            let r = test.run(&engine, &data, &["x"], &["y"], &z)?;
            seconds.push(t.elapsed().as_secs_f64());
            last = Some(r);
        }
        let r = last.ok_or("REPS must be at least 1")?;
        println!(
            "{{\"test\":\"{name}\",\"n\":{},\"z\":{},\"seconds\":{:?},\"statistic\":{},\"p_value\":{}}}",
            data.n_rows(),
            z.len(),
            seconds,
            r.statistic,
            r.p_value
        );
    }
    Ok(())
}
