//! The cache a [`Tester`](super::Tester) shares between its queries: standardised-column checks,
//! correlations, bandwidths, RFF sets, kernel factors and Z parts, each built once per key
//! ([`memo`]).

use super::{fisherz, kci, rff};
use crate::data::Dataset;
use crate::error::{Error, Result};
use faer::Mat;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Factors and Z-regressions shared by the tests of one [`Tester`](super::Tester), keyed by
/// kernel, width and columns (the X factor of a conditional test also by Z, since X is augmented
/// with Z / 2).
#[derive(Default)]
pub(super) struct Cache {
    mats: Mutex<HashMap<String, Arc<Mat<f64>>>>,
    corr: Mutex<HashMap<(String, String), f64>>,
    sigmas: Mutex<HashMap<String, f64>>,
    zparts: Mutex<HashMap<String, Arc<rff::ZPart>>>,
    rff_sets: Mutex<HashMap<String, Arc<super::jobs::RffSet>>>,
    pub(super) kci_z: Mutex<HashMap<String, Arc<kci::ZPart>>>,
    /// chisq/gsq: columns coded by their sorted distinct values.
    pub(super) codes: Mutex<HashMap<String, Arc<super::discrete::Codes>>>,
    /// dg: columns embedded (discrete ones as indicators), centred and scaled.
    pub(super) mixed: Mutex<HashMap<String, Arc<super::mixed::Embedded>>>,
}

impl Cache {
    /// A feature bandwidth, computed once per key.
    pub(super) fn sigma(&self, key: &str, build: impl FnOnce() -> f64) -> f64 {
        memo(&self.sigmas, key, || Ok(build())).expect("infallible build")
    }

    /// The Z part of RCoT/RCIT, computed once per key.
    pub(super) fn z_part(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<rff::ZPart>,
    ) -> Result<Arc<rff::ZPart>> {
        memo(&self.zparts, key, || Ok(Arc::new(build()?)))
    }

    /// An RCoT/RCIT/RIT variable set, built once per key.
    pub(super) fn rff_set(
        &self,
        key: &str,
        build: impl FnOnce() -> Result<Arc<super::jobs::RffSet>>,
    ) -> Result<Arc<super::jobs::RffSet>> {
        memo(&self.rff_sets, key, build)
    }

    /// Checks that a column is finite and varies (the Fisher-z test's input rules).
    pub(super) fn std_column(&self, data: &Dataset, name: &str) -> Result<()> {
        let key = (name.to_string(), name.to_string());
        if self.corr.lock().expect("cache lock").contains_key(&key) {
            return Ok(());
        }
        let c = data.finite_column(name)?;
        if c.iter().all(|&v| v == c[0]) {
            return Err(Error::ConstantColumn(name.to_string()));
        }
        self.corr.lock().expect("cache lock").insert(key, 1.0);
        Ok(())
    }

    /// Pearson correlation of two checked columns, computed once per pair.
    pub(super) fn correlation(&self, data: &Dataset, a: &str, b: &str) -> Result<f64> {
        let key = if a < b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        if let Some(&r) = self.corr.lock().expect("cache lock").get(&key) {
            return Ok(r);
        }
        let r = fisherz::correlation(data.column(a)?, data.column(b)?);
        self.corr.lock().expect("cache lock").insert(key, r);
        Ok(r)
    }

    fn get(&self, key: &str, build: impl FnOnce() -> Result<Mat<f64>>) -> Result<Arc<Mat<f64>>> {
        memo(&self.mats, key, || Ok(Arc::new(build()?)))
    }

    pub(super) fn factor(&self, key: &str, build: impl FnOnce() -> Mat<f64>) -> Arc<Mat<f64>> {
        self.get(key, || Ok(build())).expect("infallible build")
    }
}

/// The value under `key`, built (outside the lock) and stored when absent. When two threads
/// build the same key at once, the first value stored wins and both get it, so every user of a
/// key shares one value (one `Arc`: the GPU's device cache is keyed by it).
pub(super) fn memo<T: Clone>(
    map: &Mutex<HashMap<String, T>>,
    key: &str,
    build: impl FnOnce() -> Result<T>,
) -> Result<T> {
    if let Some(v) = map.lock().expect("cache lock").get(key) {
        return Ok(v.clone());
    }
    let v = build()?;
    Ok(map
        .lock()
        .expect("cache lock")
        .entry(key.to_string())
        .or_insert(v)
        .clone())
}
