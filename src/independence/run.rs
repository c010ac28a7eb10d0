//! One query on its own ([`IndependenceTest::run`]): the query checks shared by every path,
//! test-wise deletion, and the tests that have no batch job (HSIC-u, and KCI/HSIC under the
//! permutation or spectral null).

use super::batch::KciPrepared;
use super::cache::Cache;
use super::columns::{hyppo_median, row_major, std_columns};
use super::lowrank::{factor, KernelFn, Points};
use super::null::gamma_sf;
use super::{kci, IndependenceTest, Kernel, Null, TestKind, TestResult, Width, MIN_ROWS};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::Engine;
use statrs::distribution::ContinuousCDF;
use std::time::Instant;

/// What stays on the CPU when the spectral null's draws run on the GPU.
const SPECTRAL_SPLIT: &str = "spectral draws; factors and eigenvalues on the CPU";

impl IndependenceTest {
    /// Tests X ⫫ Y (| Z when `z` is non-empty) on the named columns.
    pub fn run(
        &self,
        engine: &Engine,
        data: &Dataset,
        x: &[&str],
        y: &[&str],
        z: &[&str],
    ) -> Result<TestResult> {
        // on a pool thread from the start: a test's dozen parallel steps then hand work to the
        // other threads by stealing, not each by a cross-thread injection and wake-up
        rayon::scope(|_| self.run_with(engine, data, x, y, z, &Cache::default()))
    }

    pub(super) fn run_with(
        &self,
        engine: &Engine,
        data: &Dataset,
        x: &[&str],
        y: &[&str],
        z: &[&str],
        cache: &Cache,
    ) -> Result<TestResult> {
        let start = Instant::now();
        let marked = match self.deletion {
            // NaN marks missing values: drop them from every column of the test
            Some(m) if m.is_nan() => Some((m, x.iter().chain(y).chain(z).collect::<Vec<_>>())),
            Some(m) if !z.is_empty() => Some((m, z.iter().collect())),
            _ => None,
        };
        if let Some((marker, cols)) = marked {
            // keep the rows where no marked column holds the marker; test on them alone
            let zc = cols
                .iter()
                .map(|c| data.column(c))
                .collect::<Result<Vec<_>>>()?;
            let hit = |v: f64| {
                if marker.is_nan() {
                    v.is_nan()
                } else {
                    v == marker
                }
            };
            let keep: Vec<usize> = (0..data.n_rows())
                .filter(|&i| zc.iter().all(|c| !hit(c[i])))
                .collect();
            let mut sub = Dataset::new();
            for c in x.iter().chain(y).chain(z) {
                if sub.column(c).is_ok() {
                    continue; // a column named twice: the check below reports it
                }
                let col = data.column(c)?;
                sub.push_column(c, keep.iter().map(|&i| col[i]).collect())?;
            }
            let plain = IndependenceTest {
                deletion: None,
                ..self.clone()
            };
            let mut r = plain.run_with(engine, &sub, x, y, z, &Cache::default())?;
            r.seconds = start.elapsed().as_secs_f64();
            return Ok(r);
        }
        self.check(data, x, y, z)?;
        let n = data.n_rows();
        if self.kind == TestKind::FisherZ {
            return self
                .fisher_z_batch(engine, data, &[(x, y, z)], cache)
                .remove(0);
        }
        if self.kind == TestKind::Dg {
            return self.dg_run(engine, data, (x, y, z), cache);
        }
        if matches!(self.kind, TestKind::Chisq | TestKind::Gsq) {
            return self
                .discrete_batch(engine, data, &[(x, y, z)], cache)
                .remove(0);
        }
        if matches!(self.kind, TestKind::Rcot | TestKind::Rcit) {
            return self.rff_batch(engine, data, &[(x, y, z)], cache).remove(0);
        }
        if matches!(self.kind, TestKind::Kci | TestKind::Hsic) && self.null == Null::Gamma {
            return self.kci_batch(engine, data, &[(x, y, z)], cache).remove(0);
        }
        // the backend that ran the null's device part (permutations or spectral draws), and what
        // stayed on the CPU
        let mut null_backend: Option<(String, &str)> = None;
        let mut null_draws: Option<Vec<f64>> = None;
        let mut keep = |draws: Vec<f64>| {
            if self.keep_null {
                null_draws = Some(draws);
            }
        };
        let (statistic, p_value) = if self.kind == TestKind::HsicU {
            if self.null != Null::Gamma {
                return Err(Error::param(
                    "null",
                    "hsic-u uses hyppo's chi-square approximation; use --test hsic for permutation or spectral nulls",
                ));
            }
            if self.kernel != Kernel::Gaussian {
                return Err(Error::param("kernel", "hsic-u uses the Gaussian kernel"));
            }
            let tol = self.tolerance * n as f64;
            let (_, xraw) = std_columns(data, x, "x")?;
            let (_, yraw) = std_columns(data, y, "y")?;
            let (xr, yr) = (row_major(&xraw), row_major(&yraw));
            let sigma = match self.width {
                Width::Fixed(s) => s,
                _ => hyppo_median(&xr, x.len())?,
            };
            let kfn = KernelFn::Gaussian {
                theta: 1.0 / (sigma * sigma),
            };
            let fx = factor(
                &Points {
                    data: &xr,
                    d: x.len(),
                },
                kfn,
                tol,
            )
            .to_mat();
            let fy = factor(
                &Points {
                    data: &yr,
                    d: y.len(),
                },
                kfn,
                tol,
            )
            .to_mat();
            let stat = kci::unbiased_correlation(&fx, &fy);
            let chi = statrs::distribution::ChiSquared::new(1.0).expect("one degree of freedom");
            (stat, chi.sf(stat * n as f64 + 1.0))
        } else {
            let KciPrepared {
                x: (kx, lx),
                y: (ky, ly),
                z: zpart,
            } = self.kci_prepare(data, (x, y, z), cache)?;
            match zpart {
                None => {
                    let m = kci::unconditional(&lx, &ly);
                    let p = match self.null {
                        Null::Gamma => gamma_sf(m)?,
                        Null::Permutation(perms) => {
                            let (p, ran, draws) =
                                self.permutation_p(engine, &lx, &ly, m.statistic, perms)?;
                            keep(draws);
                            null_backend = Some((ran, "permutations; factors on the CPU"));
                            p
                        }
                        Null::Spectral(draws) => {
                            let w = kci::spectral_weights_uncond(&lx, &ly)?;
                            let (p, ran, d) = self.spectral_p(engine, &w, m.statistic, draws)?;
                            keep(d);
                            null_backend = Some((ran, SPECTRAL_SPLIT));
                            p
                        }
                    };
                    (m.statistic, p)
                }
                Some((_, zp)) => {
                    let mx = zp.regressed(&kx, &lx)?;
                    let my = zp.regressed(&ky, &ly)?;
                    let mo = kci::conditional(&mx, &my, self.threshold)?;
                    let p = match self.null {
                        Null::Spectral(draws) => {
                            let w = kci::spectral_weights_cond(&mx, &my, self.threshold)?;
                            let (p, ran, d) = self.spectral_p(engine, &w, mo.statistic, draws)?;
                            keep(d);
                            null_backend = Some((ran, SPECTRAL_SPLIT));
                            p
                        }
                        _ => gamma_sf(mo)?,
                    };
                    (mo.statistic, p)
                }
            }
        };
        let null = match (self.kind, self.null) {
            (TestKind::Rcot | TestKind::Rcit, _) => format!("{:?}", self.approx).to_lowercase(),
            (_, Null::Gamma) => "gamma".into(),
            (_, Null::Permutation(p)) => format!("permutation:{p}"),
            (_, Null::Spectral(d)) => format!("spectral:{d}"),
        };
        let backend = match null_backend {
            Some((b, split)) if b.starts_with("gpu") => format!("{b} ({split})"),
            Some((b, _)) => b,
            None if engine.kind() == crate::BackendKind::Gpu => {
                format!("{} (hsic-u runs on the CPU)", engine.cpu_name())
            }
            None => engine.cpu_name(),
        };
        let mut result = self.result((x, y, z), (statistic, p_value), n, null, backend, start);
        result.null_draws = null_draws;
        Ok(result)
    }

    /// Validation shared by every test (before any computation).
    pub(super) fn check(&self, data: &Dataset, x: &[&str], y: &[&str], z: &[&str]) -> Result<()> {
        let n = data.n_rows();
        if self.kind == TestKind::FisherZ {
            // its own minimum: n − |Z| − 3 > 0 (it is not a kernel test)
            super::fisherz::check_rows(n, z.len())?;
        } else if n < MIN_ROWS {
            return Err(Error::TooFewRows {
                what: format!("a kernel independence test ({})", self.name()),
                need: MIN_ROWS,
                got: n,
            });
        }
        for (a, ra, b, rb) in [(x, "x", y, "y"), (x, "x", z, "z"), (y, "y", z, "z")] {
            if let Some(c) = a.iter().find(|c| b.contains(c)) {
                return Err(Error::param(
                    rb,
                    format!("column `{c}` is in both --{ra} and --{rb}"),
                ));
            }
        }
        if matches!(self.kind, TestKind::Hsic | TestKind::HsicU) && !z.is_empty() {
            return Err(Error::param(
                "z",
                "HSIC is unconditional; use --test kci for X ⫫ Y | Z",
            ));
        }
        if matches!(self.kind, TestKind::Rcot | TestKind::Rcit)
            && matches!(self.null, Null::Permutation(_))
        {
            return Err(Error::param(
                "null",
                "RCoT/RCIT use moment approximations (lpb4, hbe, gamma, chi2), not permutations",
            ));
        }
        if let Null::Spectral(0) = self.null {
            return Err(Error::param(
                "samples",
                "the spectral null needs at least 1 draw",
            ));
        }
        if let Null::Permutation(p) = self.null {
            if p == 0 {
                return Err(Error::param("permutations", "must be at least 1"));
            }
            if !z.is_empty() {
                return Err(Error::param(
                    "null",
                    "the permutation null is for unconditional tests; use gamma with --z",
                ));
            }
        }
        if !(self.tolerance >= 0.0 && self.tolerance < 1.0) {
            return Err(Error::param(
                "tolerance",
                format!("{} is not in [0, 1)", self.tolerance),
            ));
        }
        // tolerance 0 factors the kernel matrices exactly: n × n each (X, Y, and for a
        // conditional test Z and the regressed X and Y), so check the memory before building them
        let kernel_factors = matches!(self.kind, TestKind::Kci | TestKind::Hsic | TestKind::HsicU);
        if self.tolerance == 0.0 && kernel_factors {
            let matrices: u64 = if z.is_empty() { 3 } else { 6 };
            crate::memory::check(
                "tolerance",
                &format!(
                    "{} with --tolerance 0 on {n} rows ({matrices} exact {n} × {n} kernel factors)",
                    self.name()
                ),
                crate::memory::product(&[n as u64, n as u64, 8, matrices]),
                "give a positive tolerance (low-rank factors; the default 1e-9 keeps statistics \
                 within about 1e-9 of the exact ones) or test fewer rows",
            )?;
        }
        if let Width::Fixed(s) = self.width {
            if !(s > 0.0 && s.is_finite()) {
                return Err(Error::param(
                    "width",
                    format!("{s} is not a positive bandwidth"),
                ));
            }
        }
        // options a test would ignore (a non-default kernel or width where there is none)
        let kernel_free = match self.kind {
            TestKind::FisherZ => Some("the Fisher-z test (a partial correlation) has no kernel"),
            TestKind::Rcot | TestKind::Rcit => {
                Some("RCoT/RCIT use Gaussian random features with median widths")
            }
            TestKind::Chisq | TestKind::Gsq => {
                Some("the chi-square and G tests count contingency tables")
            }
            TestKind::Dg => Some("the dg test is a Gaussian likelihood ratio (no kernel)"),
            _ => None,
        };
        if let Some(why) = kernel_free {
            if self.kernel != Kernel::Gaussian {
                return Err(Error::param(
                    "kernel",
                    format!("{why}: it would ignore --kernel"),
                ));
            }
            if self.width != Width::Empirical {
                return Err(Error::param(
                    "width",
                    format!("{why}: it would ignore --width"),
                ));
            }
        }
        // (hsic-u, whose default width is the median rule, refuses any kernel but the Gaussian)
        if matches!(self.kernel, Kernel::Linear | Kernel::Polynomial(_))
            && self.width != Width::Empirical
            && self.kind != TestKind::HsicU
        {
            return Err(Error::param(
                "width",
                "linear and polynomial kernels have no width: they would ignore --width",
            ));
        }
        if matches!(self.kind, TestKind::Chisq | TestKind::Gsq) {
            if x.len() != 1 || y.len() != 1 {
                return Err(Error::param(
                    if x.len() != 1 { "x" } else { "y" },
                    format!(
                        "the {} test takes exactly one X and one Y column",
                        self.name()
                    ),
                ));
            }
            if !matches!(self.null, Null::Gamma) {
                return Err(Error::param(
                    "null",
                    format!(
                        "the {} test has a chi-square null; permutation and spectral nulls do not apply",
                        self.name()
                    ),
                ));
            }
        }
        if self.kind == TestKind::Dg && !matches!(self.null, Null::Gamma) {
            return Err(Error::param(
                "null",
                "the dg test has a chi-square null; permutation and spectral nulls do not apply",
            ));
        }
        if self.kind == TestKind::FisherZ {
            if x.len() != 1 || y.len() != 1 {
                return Err(Error::param(
                    if x.len() != 1 { "x" } else { "y" },
                    "the Fisher-z test takes exactly one X and one Y column",
                ));
            }
            if !matches!(self.null, Null::Gamma) {
                return Err(Error::param(
                    "null",
                    "the Fisher-z test has a normal null; permutation and spectral nulls do not apply",
                ));
            }
        }
        Ok(())
    }
}
