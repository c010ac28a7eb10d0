//! Coverage study: how often each interval method covers the true mean of a lognormal population.
//!
//! `cargo run --release --example coverage [-- DATASETS N B]` (defaults 1000 data sets of n = 50,
//! B = 1999). Data: lognormal(0, 1), true mean e^{1/2}. Prints a Markdown table for BENCHMARKS.md
//! with the Monte-Carlo standard error of each coverage.

use ceteris::rng::{open_unit, Stream};
use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Statistic};

fn main() -> ceteris::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (sets, n, b) = (
        *args.first().unwrap_or(&1000),
        *args.get(1).unwrap_or(&50),
        *args.get(2).unwrap_or(&1999) as u64,
    );
    let truth = 0.5f64.exp();
    let engine = Engine::auto();
    let methods = IntervalMethod::ALL;
    let mut covered = [0usize; 5];
    let mut width = [0.0f64; 5];
    let stream = Stream::new(2026, 7);
    let start = std::time::Instant::now();
    for s in 0..sets {
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let w = stream.block(s as u32, i as u32);
                let (u1, u2) = (open_unit(w[0]), open_unit(w[1]));
                ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()).exp()
            })
            .collect();
        let data = Dataset::new().with_column("x", x)?;
        let r = Bootstrap::new(Statistic::Mean { column: "x".into() })
            .resamples(b)
            .seed(s as u64)
            .methods(&methods)
            .run(&engine, &data)?;
        for (j, m) in methods.iter().enumerate() {
            let [lo, hi] = r.intervals[m.name()];
            covered[j] += (lo <= truth && truth <= hi) as usize;
            width[j] += hi - lo;
        }
    }
    println!(
        "coverage of the 95% intervals for the mean of lognormal(0,1), n = {n}, B = {b}, {sets} data sets \
         ({:.1} s on {})\n",
        start.elapsed().as_secs_f64(),
        engine.describe()
    );
    println!("| method | coverage | MC s.e. | mean width |");
    println!("|---|---|---|---|");
    for (j, m) in methods.iter().enumerate() {
        let p = covered[j] as f64 / sets as f64;
        println!(
            "| {} | {:.3} | {:.3} | {:.3} |",
            m.name(),
            p,
            (p * (1.0 - p) / sets as f64).sqrt(),
            width[j] / sets as f64
        );
    }
    Ok(())
}
