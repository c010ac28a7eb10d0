//! Coverage study of AIPW intervals with fixed and with refit nuisance models (issue 13).
//!
//! `cargo run --release --example refit_coverage [-- DATASETS N B]` (defaults 500 data sets of
//! n = 2000, B = 500). Data: `x1, x2 ~ N(0, 1)`, `P(t = 1) = 1/(1 + e^{−(−0.2 + 0.8 x1 − 0.5 x2)})`,
//! `y = 1 + 2t + x1 − 0.5 x2 + 0.5 t x1 + N(0, 1)`, so the ATE is 2. For each data set, the 95 %
//! percentile intervals of IPW and AIPW (a) with the nuisance models fit once on the data and held
//! fixed in every resample (`--propensity e --mu0 m0 --mu1 m1`), (b) refit in every resample
//! (`--covariates x1,x2`), and for AIPW (c) cross-fitted over 5 folds in every resample
//! (`--crossfit 5`). Prints a Markdown table with the Monte-Carlo standard error of each coverage.

use ceteris::bootstrap::{EffectBootstrap, Estimator};
use ceteris::rng::{normal, open_unit, Stream};
use ceteris::{Bootstrap, Dataset, Engine, IntervalMethod, Statistic};

fn main() -> ceteris::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (sets, n, b) = (
        *args.first().unwrap_or(&500),
        *args.get(1).unwrap_or(&2000),
        *args.get(2).unwrap_or(&500) as u64,
    );
    let truth = 2.0;
    let engine = Engine::cpu();
    let stream = Stream::new(20261206, 11);
    let (mut covered, mut width) = ([0usize; 5], [0.0f64; 5]);
    let start = std::time::Instant::now();
    for s in 0..sets {
        let draw = |i: usize, k: u32| stream.block(s as u32, (i as u32) * 4 + k);
        let (mut x1, mut x2, mut t, mut y) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let (w0, w1) = (draw(i, 0), draw(i, 1));
            let (a, c) = (normal(w0[0], w0[1]), normal(w0[2], w0[3]));
            let p = 1.0 / (1.0 + (-(-0.2 + 0.8 * a - 0.5 * c)).exp());
            let ti = (open_unit(w1[0]) < p) as u8 as f64;
            let e = normal(w1[2], w1[3]);
            x1.push(a);
            x2.push(c);
            t.push(ti);
            y.push(1.0 + 2.0 * ti + a - 0.5 * c + 0.5 * ti * a + e);
        }
        let data = Dataset::new()
            .with_column("t", t)?
            .with_column("y", y)?
            .with_column("x1", x1)?
            .with_column("x2", x2)?;
        let fits =
            EffectBootstrap::new(Estimator::Aipw, "t", "y", &["x1", "x2"]).nuisance(&data)?;
        let fixed_data = data
            .clone()
            .with_column("e", fits.propensity)?
            .with_column("m0", fits.mu0)?
            .with_column("m1", fits.mu1)?;
        let (t, y, e) = ("t".to_string(), "y".to_string(), "e".to_string());
        let fixed = |stat: Statistic| {
            Bootstrap::new(stat)
                .resamples(b)
                .seed(s as u64)
                .methods(&[IntervalMethod::Percentile])
                .run(&engine, &fixed_data)
        };
        let refit = |est: Estimator, folds: Option<u32>| {
            let boot = EffectBootstrap::new(est, "t", "y", &["x1", "x2"]);
            match folds {
                Some(k) => boot.crossfit(k),
                None => boot,
            }
            .resamples(b)
            .seed(s as u64)
            .methods(&[IntervalMethod::Percentile])
            .run(&engine, &data)
        };
        let results = [
            fixed(Statistic::Ipw {
                treatment: t.clone(),
                outcome: y.clone(),
                propensity: e.clone(),
            })?,
            refit(Estimator::Ipw, None)?,
            fixed(Statistic::Aipw {
                treatment: t,
                outcome: y,
                propensity: e,
                mu0: "m0".into(),
                mu1: "m1".into(),
            })?,
            refit(Estimator::Aipw, None)?,
            refit(Estimator::Aipw, Some(5))?,
        ];
        for (k, r) in results.iter().enumerate() {
            let [lo, hi] = r.intervals["percentile"];
            covered[k] += (lo <= truth && truth <= hi) as usize;
            width[k] += hi - lo;
        }
        if (s + 1) % 25 == 0 {
            // running coverage on stderr, so a cut-short run still says what it found
            eprintln!(
                "{} sets, {:.0} s: covered {covered:?}",
                s + 1,
                start.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "{sets} data sets of n = {n}, B = {b}, nominal 95 %, {:.0} s",
        start.elapsed().as_secs_f64()
    );
    println!("| estimator, nuisance models | coverage | MC s.e. | mean width |");
    println!("|---|---|---|---|");
    let names = [
        "IPW, fixed (fit once)",
        "IPW, refit in every resample",
        "AIPW, fixed (fit once)",
        "AIPW, refit in every resample",
        "AIPW, cross-fit (K = 5) in every resample",
    ];
    for (k, name) in names.iter().enumerate() {
        let c = covered[k] as f64 / sets as f64;
        println!(
            "| {name} | {:.3} | {:.3} | {:.4} |",
            c,
            (c * (1.0 - c) / sets as f64).sqrt(),
            width[k] / sets as f64
        );
    }
    Ok(())
}
