//! The degenerate-Gaussian likelihood-ratio test (`dg`) for mixed continuous and discrete
//! columns, after Andrews, Ramsey & Cooper (2019), "Learning high-dimensional directed acyclic
//! graphs with mixed data-types", *Proceedings of Machine Learning Research* 104 (KDD 2019
//! Workshop on Causal Discovery), 4–21.
//!
//! The method:
//! * every discrete column (a column read as labels, [`Dataset::levels`] `Some`) with `k` levels
//!   is embedded as `k − 1` indicator columns, one per level but the first (the paper embeds all
//!   `k` and drops the one that makes the covariance degenerate; with the intercept the two
//!   embeddings span the same space, so the likelihoods are equal); continuous columns stay as
//!   they are;
//! * the embedded columns are treated as jointly Gaussian, and `X ⫫ Y | Z` is the likelihood-ratio
//!   test of the Gaussian regression of X on `(Y, Z)` against X on Z (maximum-likelihood
//!   covariances, divisor n), which is symmetric in X and Y:
//!   `LR = n · [ln det Σ_XZ + ln det Σ_YZ − ln det Σ_XYZ − ln det Σ_Z]` (`ln det Σ_∅ = 0`);
//! * under independence `LR ~ χ²` with `dim X · dim Y` degrees of freedom (dimensions after
//!   embedding); the p-value is its upper tail.
//!
//! With one continuous X, LR is the OLS likelihood-ratio statistic `n ln(RSS₀ / RSS₁)` of adding
//! Y's columns to the regression of X on Z (statsmodels' `compare_lr_test`); with all columns
//! discrete it is a Gaussian approximation to the G-test. The test is tested against statsmodels
//! and a numpy closed form (`tests/reference/make_mixed_reference.py`), for calibration (null
//! rejection rates at α within the Monte-Carlo band) and for power.
//!
//! It runs on the CPU whatever the engine (`backend` says so): the covariances are small
//! (`dim X + dim Y + dim Z` square) and f64. Columns are embedded and centred once per tester
//! and shared by its queries (a discovery search shares one tester).
//!
//! Errors, each naming the column: a discrete column with one level, or more than
//! [`super::MAX_LEVELS`] levels; a constant continuous column; X, Y and Z whose embedded
//! columns are collinear (the covariance is singular).

use super::cache::{memo, Cache};
use super::{IndependenceTest, TestResult};
use crate::data::Dataset;
use crate::error::{Error, Result};
use faer::{Mat, Side};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use std::sync::Arc;
use std::time::Instant;

/// One column's embedding: centred columns, each scaled to unit variance (the statistic is
/// invariant to the scale of each embedded column).
pub(super) struct Embedded {
    cols: Vec<Vec<f64>>,
}

fn embed(data: &Dataset, name: &str) -> Result<Embedded> {
    let c = data.finite_column(name)?;
    let n = c.len() as f64;
    let raw: Vec<Vec<f64>> = match data.levels(name) {
        Some(levels) => {
            let mut seen = vec![false; levels.len()];
            for &v in c {
                seen[v as usize] = true;
            }
            let used: Vec<usize> = (0..levels.len()).filter(|&k| seen[k]).collect();
            if used.len() < 2 {
                return Err(Error::param(
                    "data",
                    format!(
                        "column `{name}` takes one value only; the dg test needs at least two \
                         levels per discrete column"
                    ),
                ));
            }
            if used.len() > super::MAX_LEVELS {
                return Err(Error::param(
                    "data",
                    format!(
                        "column `{name}` has {} levels, more than the cap of {} for the dg test \
                         (independence::MAX_LEVELS)",
                        used.len(),
                        super::MAX_LEVELS
                    ),
                ));
            }
            used[1..]
                .iter()
                .map(|&k| c.iter().map(|&v| f64::from(v as usize == k)).collect())
                .collect()
        }
        None => {
            if c.iter().all(|&v| v == c[0]) {
                return Err(Error::ConstantColumn(name.to_string()));
            }
            vec![c.to_vec()]
        }
    };
    let cols = raw
        .into_iter()
        .map(|mut v| {
            let m = v.iter().sum::<f64>() / n;
            v.iter_mut().for_each(|x| *x -= m);
            let s = (v.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
            v.iter_mut().for_each(|x| *x /= s);
            v
        })
        .collect();
    Ok(Embedded { cols })
}

/// `ln det` of the covariance of `cols` (empty: 0); `None` when singular.
fn log_det(cols: &[&[f64]], n: usize) -> Option<f64> {
    let k = cols.len();
    if k == 0 {
        return Some(0.0);
    }
    let s = Mat::from_fn(k, k, |i, j| {
        cols[i].iter().zip(cols[j]).map(|(a, b)| a * b).sum::<f64>() / n as f64
    });
    let llt = s.llt(Side::Lower).ok()?;
    let l = llt.L();
    let mut ld = 0.0;
    for i in 0..k {
        // unit-variance columns: a pivot² below 1e-10 is a column that is (to 1e-10 of its
        // variance) a linear combination of the ones before it
        let d = l[(i, i)] * l[(i, i)];
        if d.is_nan() || d <= 1e-10 {
            return None;
        }
        ld += d.ln();
    }
    Some(ld)
}

/// `(LR, degrees of freedom)` of `X ⫫ Y | Z` from embedded columns.
pub(super) fn statistic(
    x: &[&[f64]],
    y: &[&[f64]],
    z: &[&[f64]],
    n: usize,
) -> Option<(f64, usize)> {
    let xz = log_det(&[x, z].concat(), n)?;
    let yz = log_det(&[y, z].concat(), n)?;
    let xyz = log_det(&[x, y, z].concat(), n)?;
    let zz = log_det(z, n)?;
    Some((
        (n as f64 * (xz + yz - xyz - zz)).max(0.0),
        x.len() * y.len(),
    ))
}

/// Upper tail of χ²(df) at `stat`.
pub(super) fn p_value(stat: f64, df: usize) -> f64 {
    ChiSquared::new(df as f64)
        .map(|d| d.sf(stat))
        .unwrap_or(f64::NAN)
}

impl IndependenceTest {
    /// The degenerate-Gaussian likelihood-ratio test for mixed continuous and discrete columns
    /// (Andrews, Ramsey & Cooper 2019; see the `mixed` module docs above the source): discrete
    /// columns (those read as labels, [`Dataset::levels`] `Some`) enter as indicators of their
    /// levels but the first, continuous ones as they are, and the test is the Gaussian
    /// likelihood ratio of X ⫫ Y | Z on those columns, `χ²(dim X · dim Y)` under the null.
    /// X, Y and Z may each hold several columns. Kernel, width and null options do not apply.
    /// A numeric column of category codes is continuous here: read it as labels from text to
    /// treat it as discrete.
    ///
    /// ```
    /// use ceteris::data::CsvOptions;
    /// use ceteris::{Dataset, Engine, independence::IndependenceTest};
    /// // a group label g shifts a continuous y
    /// let mut csv = String::from("g,y\n");
    /// for i in 0..300 {
    ///     let g = ["a", "b", "c"][i % 3];
    ///     let y = (i % 3) as f64 + ((i * 7919) % 1000) as f64 / 1000.0;
    ///     csv.push_str(&format!("{g},{y}\n"));
    /// }
    /// let data = Dataset::read_reader(csv.as_bytes(), "mem", &CsvOptions::new().labels(&["g"]))
    ///     .unwrap();
    /// let r = IndependenceTest::dg().run(&Engine::cpu(), &data, &["g"], &["y"], &[]).unwrap();
    /// assert!(r.p_value < 1e-10);
    /// ```
    pub fn dg() -> Self {
        IndependenceTest {
            kind: super::TestKind::Dg,
            ..Self::kci()
        }
    }

    /// The degenerate-Gaussian likelihood-ratio test of one checked query (see the module docs).
    pub(super) fn dg_run(
        &self,
        engine: &crate::Engine,
        data: &Dataset,
        (x, y, z): (&[&str], &[&str], &[&str]),
        cache: &Cache,
    ) -> Result<TestResult> {
        let start = Instant::now();
        let get = |c: &str| -> Result<Arc<Embedded>> {
            memo(&cache.mixed, c, || Ok(Arc::new(embed(data, c)?)))
        };
        let part = |names: &[&str]| -> Result<Vec<Arc<Embedded>>> {
            names.iter().map(|c| get(c)).collect()
        };
        let (ex, ey, ez) = (part(x)?, part(y)?, part(z)?);
        fn slices(e: &[Arc<Embedded>]) -> Vec<&[f64]> {
            e.iter()
                .flat_map(|c| c.cols.iter().map(|v| v.as_slice()))
                .collect()
        }
        let (sx, sy, sz) = (slices(&ex), slices(&ey), slices(&ez));
        let n = data.n_rows();
        let (stat, df) = statistic(&sx, &sy, &sz, n).ok_or_else(|| {
            Error::param(
                "z",
                format!(
                    "the covariance of X ({}), Y ({}) and Z ({}), discrete columns as indicators, \
                     is singular (a column, or a level's indicator, is a linear combination of \
                     others)",
                    x.join(", "),
                    y.join(", "),
                    z.join(", ")
                ),
            )
        })?;
        let backend = if engine.kind() == crate::BackendKind::Gpu {
            format!("{} (dg runs on the CPU)", engine.cpu_name())
        } else {
            engine.cpu_name()
        };
        Ok(self.result(
            (x, y, z),
            (stat, p_value(stat, df)),
            n,
            "chi2".into(),
            backend,
            start,
        ))
    }
}
