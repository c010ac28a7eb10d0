//! The batch jobs of the kernel tests: each RCoT/RCIT/RIT or KCI/HSIC (gamma null) query of a batch
//! is prepared on the host (standardised columns, features or factors, Z parts; cached), then every
//! test of the batch runs as one job on the engine's backend and its p-value is finished in f64.

use super::cache::{memo, Cache};
use super::columns::{hstack, median_theta, row_major, std_columns};
use super::cpu;
#[cfg(feature = "gpu")]
use super::gpu;
use super::lowrank::{factor, KernelFn, Points};
use super::null::gamma_sf;
use super::{kci, rff, IndependenceTest, Kernel, TestKind, TestResult, Width};
use crate::data::Dataset;
use crate::engine::{run_on, Engine};
use crate::error::{Error, Result};
use faer::Mat;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

impl IndependenceTest {
    /// The sets and Z part of one checked RCoT/RCIT query (RIT when `z` is empty): standardised
    /// columns (RCIT: Y augmented with the standardised Z), features from the seed, each set
    /// keyed by role and columns. The sets, the bandwidths and the Z part are cached by column
    /// names (the sets behind `Arc`s, so a GPU engine keeps them on the device across batches).
    fn rff_prepare(
        &self,
        data: &Dataset,
        (x, y, z): (&[&str], &[&str], &[&str]),
        cache: &Cache,
        scratch: &crate::memory::Scratch,
    ) -> Result<RffPrepared> {
        if self.num_f == 0 || self.num_f2 == 0 {
            return Err(Error::param(
                "features",
                "feature counts must be at least 1",
            ));
        }
        let (dx, dy) = (x.len(), y.len());
        let rcit = self.kind == TestKind::Rcit && !z.is_empty();
        let sigma =
            |key: &str, rows: &[f64], d: usize| cache.sigma(key, || rff::median_sigma(rows, d));
        let set = |rows, d, features| Arc::new(super::jobs::RffSet { rows, d, features });
        // the features depend on the seed and count as well as the columns
        let tag = format!("{}|{}|", self.seed, self.num_f2);
        let xkey = format!("x{x:?}");
        // RCIT: Y augmented with the standardised Z
        let ykey = if rcit {
            format!("y{y:?}|{z:?}")
        } else {
            format!("y{y:?}")
        };
        // the three sets side by side (their bandwidths and features are independent): a single
        // test would otherwise run the three median widths one after another
        let ((xset, yset), zpart) = rayon::join(
            || {
                rayon::join(
                    || {
                        cache.rff_set(&format!("{tag}{xkey}"), || {
                            let (xs, _) = std_columns(data, x, "x")?;
                            let fx = rff::draw_features(
                                self.seed,
                                0,
                                self.num_f2,
                                dx,
                                sigma(&xkey, &xs, dx),
                            );
                            Ok(set(xs, dx, fx))
                        })
                    },
                    || {
                        cache.rff_set(&format!("{tag}{ykey}"), || {
                            let (ys, _) = std_columns(data, y, "y")?;
                            let (yrows, dyr) = if rcit {
                                let (zs, _) = std_columns(data, z, "z")?;
                                (hstack(&ys, dy, &zs, z.len(), 1.0), dy + z.len())
                            } else {
                                (ys, dy)
                            };
                            let fy = rff::draw_features(
                                self.seed,
                                1,
                                self.num_f2,
                                dyr,
                                sigma(&ykey, &yrows, dyr),
                            );
                            Ok(set(yrows, dyr, fy))
                        })
                    },
                )
            },
            || -> Result<_> {
                if z.is_empty() {
                    return Ok(None);
                }
                let key = format!("{}|{}|{z:?}", self.seed, self.num_f);
                let part = cache.z_part(&key, || {
                    let (zs, _) = std_columns(data, z, "z")?;
                    let fz = rff::draw_features(
                        self.seed,
                        2,
                        self.num_f,
                        z.len(),
                        sigma(&format!("z{z:?}"), &zs, z.len()),
                    );
                    rff::z_part(&zs, z.len(), &fz, scratch)
                })?;
                Ok(Some((key, part)))
            },
        );
        let (xset, yset, zpart) = (xset?, yset?, zpart?);
        Ok(RffPrepared {
            x: (xkey, xset),
            y: (ykey, yset),
            z: zpart,
        })
    }

    /// RCoT/RCIT/RIT tests of a batch of queries: the sets and Z parts prepared on the host
    /// (Z parts in f64, cached), then the moments of every test in one job on the engine's
    /// backend (one submit on a GPU engine), then each p-value in f64.
    pub(super) fn rff_batch(
        &self,
        engine: &Engine,
        data: &Dataset,
        queries: &[(&[&str], &[&str], &[&str])],
        cache: &Cache,
    ) -> Vec<Result<TestResult>> {
        let start = Instant::now();
        let n = data.n_rows();
        let prepared: Vec<Result<RffPrepared>> = queries
            .par_iter()
            .map(|&(x, y, z)| {
                self.check(data, x, y, z)?;
                self.rff_prepare(data, (x, y, z), cache, engine.scratch())
            })
            .collect();
        let mut out: Vec<Option<Result<TestResult>>> = (0..queries.len()).map(|_| None).collect();
        let mut sets: Vec<Arc<super::jobs::RffSet>> = Vec::new();
        let mut set_at: HashMap<String, usize> = HashMap::new();
        let mut zparts: Vec<Arc<rff::ZPart>> = Vec::new();
        let mut z_at: HashMap<String, usize> = HashMap::new();
        let mut tests = Vec::new();
        let mut ok = Vec::new();
        for (q, p) in prepared.into_iter().enumerate() {
            match p {
                Err(e) => out[q] = Some(Err(e)),
                Ok(RffPrepared { x, y, z }) => {
                    let xi = intern(&mut set_at, &mut sets, x.0, x.1);
                    let yi = intern(&mut set_at, &mut sets, y.0, y.1);
                    let zi = z.map(|(key, part)| intern(&mut z_at, &mut zparts, key, part));
                    tests.push(super::jobs::RffTest {
                        x: xi,
                        y: yi,
                        z: zi,
                    });
                    ok.push(q);
                }
            }
        }
        let job = super::jobs::RffJob {
            n,
            sets: &sets,
            zparts: &zparts,
            tests: &tests,
        };
        match run_on!(engine, cpu: cpu::rff_moments(&job), gpu: |ctx| gpu::rff::rff_moments(ctx, &job))
        {
            Err(e) => {
                for &q in &ok {
                    out[q] = Some(Err(match &e {
                        Error::Gpu { kind, message } => Error::Gpu {
                            kind,
                            message: message.clone(),
                        },
                        other => Error::param("test", other.to_string()),
                    }));
                }
            }
            Ok((moments, ran)) => {
                let backend = ran.label("features and moments; Z parts in f64 on the CPU");
                let finished: Vec<Result<(f64, f64)>> = moments
                    .into_par_iter()
                    .map(|m| rff::finish(n, &m?, self.approx))
                    .collect();
                let null = format!("{:?}", self.approx).to_lowercase();
                for (&q, r) in ok.iter().zip(finished) {
                    out[q] = Some(r.map(|sp| {
                        self.result(queries[q], sp, n, null.clone(), backend.clone(), start)
                    }));
                }
            }
        }
        out.into_iter()
            .map(|r| r.expect("every query answered"))
            .collect()
    }

    /// The centred factors of one checked KCI/HSIC query and, when conditional, its Z part
    /// (causal-learn's widths; X augmented with Z / 2), each cached by kernel, θ and columns.
    pub(super) fn kci_prepare(
        &self,
        data: &Dataset,
        (x, y, z): (&[&str], &[&str], &[&str]),
        cache: &Cache,
    ) -> Result<KciPrepared> {
        let n = data.n_rows();
        // residual trace of the factors, relative to the mean kernel diagonal: the X and Y factors
        // enter the statistic linearly (relative error ≈ tol / n); the Z factor is amplified by
        // up to 1/ε through (Kz + εI)⁻¹, so it is kept 1000× tighter
        let tol = self.tolerance * n as f64;
        let tol_z = self.tolerance.min(1e-12) * n as f64;
        let (xs, xraw) = std_columns(data, x, "x")?;
        let (ys, yraw) = std_columns(data, y, "y")?;
        if z.is_empty() {
            let bracket = if n < 200 {
                0.8
            } else if n < 1200 {
                0.5
            } else {
                0.3
            };
            let theta = |raw: &[Vec<f64>], what: &str| -> Result<f64> {
                let d = raw.len();
                Ok(match self.width {
                    Width::Empirical => d as f64 / (bracket * bracket),
                    Width::Median => median_theta(&row_major(raw), d, what)?,
                    Width::Fixed(s) => 1.0 / (s * s),
                })
            };
            let (tx, ty) = (theta(&xraw, "x")?, theta(&yraw, "y")?);
            let kx = format!("{:?}|{}|xs:{:?}", self.kernel, tx, x);
            let lx = cache.factor(&kx, || {
                kci::centred(factor(
                    &Points {
                        data: &xs,
                        d: x.len(),
                    },
                    self.kfn(tx),
                    tol,
                ))
            });
            let ky = format!("{:?}|{}|ys:{:?}", self.kernel, ty, y);
            let ly = cache.factor(&ky, || {
                kci::centred(factor(
                    &Points {
                        data: &ys,
                        d: y.len(),
                    },
                    self.kfn(ty),
                    tol,
                ))
            });
            return Ok(KciPrepared {
                x: (kx, lx),
                y: (ky, ly),
                z: None,
            });
        }
        let (zs, _) = std_columns(data, z, "z")?;
        let dz = z.len();
        let w = if n < 200 {
            1.2
        } else if n < 1200 {
            0.7
        } else {
            0.4
        };
        // X augmented with Z / 2
        let dxa = x.len() + dz;
        let xa = hstack(&xs, x.len(), &zs, dz, 0.5);
        let theta = |rows: &[f64], d: usize, what: &str| -> Result<f64> {
            Ok(match self.width {
                Width::Empirical => 1.0 / (w * w * dz as f64),
                Width::Median => median_theta(rows, d, what)?,
                Width::Fixed(s) => 1.0 / (s * s),
            })
        };
        let tx = theta(&xa, dxa, "x")?;
        let ty = theta(&ys, y.len(), "y")?;
        let tz = theta(&zs, dz, "z")?;
        let kx = format!("{:?}|{}|xa:{:?}|z:{:?}", self.kernel, tx, x, z);
        let lx = cache.factor(&kx, || {
            kci::centred(factor(&Points { data: &xa, d: dxa }, self.kfn(tx), tol))
        });
        let ky = format!("{:?}|{}|ys:{:?}", self.kernel, ty, y);
        let ly = cache.factor(&ky, || {
            kci::centred(factor(
                &Points {
                    data: &ys,
                    d: y.len(),
                },
                self.kfn(ty),
                tol,
            ))
        });
        let lz = cache.factor(
            &format!(
                "{:?}|{}|zs:{:?}|z:{:?}",
                self.kernel,
                tz,
                z,
                [] as [&str; 0]
            ),
            || kci::centred(factor(&Points { data: &zs, d: dz }, self.kfn(tz), tol_z)),
        );
        let zkey = format!("{:?}|{tz}|z:{z:?}|eps:{}", self.kernel, self.epsilon);
        let zp = memo(&cache.kci_z, &zkey, || {
            Ok(Arc::new(kci::ZPart::new(lz, self.epsilon)))
        })?;
        Ok(KciPrepared {
            x: (kx, lx),
            y: (ky, ly),
            z: Some((zkey, zp)),
        })
    }

    /// KCI/HSIC tests (gamma null) of a batch of queries: the factors and Z parts prepared on
    /// the host (f64, cached), then the statistic and gamma moments of every test in one job on
    /// the engine's backend (see [`IndependenceTest::kci`] for what runs on a GPU), then each
    /// p-value in f64.
    pub(super) fn kci_batch(
        &self,
        engine: &Engine,
        data: &Dataset,
        queries: &[(&[&str], &[&str], &[&str])],
        cache: &Cache,
    ) -> Vec<Result<TestResult>> {
        let start = Instant::now();
        let n = data.n_rows();
        let prepared: Vec<Result<KciPrepared>> = queries
            .par_iter()
            .map(|&(x, y, z)| {
                self.check(data, x, y, z)?;
                self.kci_prepare(data, (x, y, z), cache)
            })
            .collect();
        let mut out: Vec<Option<Result<TestResult>>> = (0..queries.len()).map(|_| None).collect();
        let mut factors: Vec<(String, Arc<Mat<f64>>)> = Vec::new();
        let mut f_at: HashMap<String, usize> = HashMap::new();
        let mut zparts: Vec<Arc<kci::ZPart>> = Vec::new();
        let mut z_at: HashMap<String, usize> = HashMap::new();
        let mut tests = Vec::new();
        let mut ok = Vec::new();
        for (q, p) in prepared.into_iter().enumerate() {
            match p {
                Err(e) => out[q] = Some(Err(e)),
                Ok(KciPrepared { x, y, z }) => {
                    let xi = intern(&mut f_at, &mut factors, x.0.clone(), x);
                    let yi = intern(&mut f_at, &mut factors, y.0.clone(), y);
                    let zi = z.map(|(key, part)| intern(&mut z_at, &mut zparts, key, part));
                    tests.push(super::jobs::KciTest {
                        x: xi,
                        y: yi,
                        z: zi,
                    });
                    ok.push(q);
                }
            }
        }
        let job = super::jobs::KciJob {
            n,
            factors: &factors,
            zparts: &zparts,
            tests: &tests,
            threshold: self.threshold,
        };
        match run_on!(engine, cpu: cpu::kci_moments(&job), gpu: |ctx| gpu::kci::kci_moments(ctx, &job))
        {
            Err(e) => {
                for &q in &ok {
                    out[q] = Some(Err(match &e {
                        Error::Gpu { kind, message } => Error::Gpu {
                            kind,
                            message: message.clone(),
                        },
                        other => Error::param("test", other.to_string()),
                    }));
                }
            }
            Ok((moments, ran)) => {
                let backend =
                    ran.label("products and moments; factors and eigenproblems in f64 on the CPU");
                for (&q, m) in ok.iter().zip(moments) {
                    out[q] = Some(m.and_then(|m| {
                        let sp = (m.statistic, gamma_sf(m)?);
                        Ok(self.result(queries[q], sp, n, "gamma".into(), backend.clone(), start))
                    }));
                }
            }
        }
        out.into_iter()
            .map(|r| r.expect("every query answered"))
            .collect()
    }

    /// The kernel function for a Gaussian-rule θ (σ = 1/√θ for Laplace).
    fn kfn(&self, theta: f64) -> KernelFn {
        match self.kernel {
            Kernel::Gaussian => KernelFn::Gaussian { theta },
            Kernel::Laplace => KernelFn::Laplace {
                sigma: 1.0 / theta.sqrt(),
            },
            Kernel::Linear => KernelFn::Linear,
            Kernel::Polynomial(degree) => KernelFn::Polynomial { degree, c: 1.0 },
        }
    }
}

/// One RCoT/RCIT query ready for a job: its X and Y sets and Z part, each with its key.
struct RffPrepared {
    x: (String, Arc<super::jobs::RffSet>),
    y: (String, Arc<super::jobs::RffSet>),
    z: Option<(String, Arc<rff::ZPart>)>,
}

/// One KCI/HSIC query ready for a job: its keyed centred factors and Z part.
pub(super) struct KciPrepared {
    pub(super) x: (String, Arc<Mat<f64>>),
    pub(super) y: (String, Arc<Mat<f64>>),
    pub(super) z: Option<(String, Arc<kci::ZPart>)>,
}

/// The index of `key`'s item in `items`, pushing `item` the first time `key` is seen.
fn intern<T>(at: &mut HashMap<String, usize>, items: &mut Vec<T>, key: String, item: T) -> usize {
    *at.entry(key).or_insert_with(|| {
        items.push(item);
        items.len() - 1
    })
}
