//! [`Tester`]: the query API bound to one data set, running single tests and batches (one job per
//! batch where the test has one, else the queries in parallel) over a shared cache.

use super::cache::Cache;
use super::{IndependenceTest, Null, TestKind, TestResult};
use crate::data::Dataset;
use crate::error::Result;
use crate::Engine;
use rayon::prelude::*;

/// A tester bound to one data set: standardised columns, kernel factors and Z-regressions are
/// computed once and shared by every query, and a batch runs its queries in parallel. This is the
/// API causal discovery uses.
///
/// ```
/// use ceteris::{Dataset, Engine, independence::{IndependenceTest, Tester}};
/// let data = Dataset::synthetic(300, 1);
/// let engine = Engine::cpu();
/// let tester = Tester::new(&engine, &data, IndependenceTest::kci());
/// let queries = vec![
///     (vec!["t".to_string()], vec!["y".to_string()], vec!["z".to_string()]),
///     (vec!["x".to_string()], vec!["w".to_string()], vec!["z".to_string()]),
/// ];
/// let results = tester.batch(&queries);
/// assert!(results[0].as_ref().unwrap().p_value < 0.01); // t -> y even given z
/// ```
pub struct Tester<'a> {
    engine: &'a Engine,
    data: &'a Dataset,
    test: IndependenceTest,
    cache: Cache,
    cancel: Option<crate::Cancel>,
}

/// One query of a batch: (X columns, Y columns, Z columns).
pub type Query = (Vec<String>, Vec<String>, Vec<String>);

impl<'a> Tester<'a> {
    /// A tester for `data`.
    pub fn new(engine: &'a Engine, data: &'a Dataset, test: IndependenceTest) -> Self {
        Tester {
            engine,
            data,
            test,
            cache: Cache::default(),
            cancel: None,
        }
    }

    /// A [`Cancel`](crate::Cancel) token checked between chunks of a batch (up to 128 per batch,
    /// of at least 8 queries, 1024 on a GPU;
    /// each query's result does not depend on its chunk): once cancelled, the queries not yet run
    /// answer [`Error::Cancelled`](crate::Error::Cancelled).
    ///
    /// ```
    /// use ceteris::{Cancel, Dataset, Engine, Error, independence::{IndependenceTest, Tester}};
    /// let data = Dataset::synthetic(100, 1);
    /// let engine = Engine::cpu();
    /// let cancel = Cancel::new();
    /// cancel.cancel();
    /// let tester = Tester::new(&engine, &data, IndependenceTest::kci()).cancel(&cancel);
    /// let q = vec![(vec!["t".to_string()], vec!["y".to_string()], vec![])];
    /// assert!(matches!(tester.batch(&q)[0], Err(Error::Cancelled)));
    /// ```
    pub fn cancel(mut self, token: &crate::Cancel) -> Self {
        self.cancel = Some(token.clone());
        self
    }

    /// One test, reusing (and filling) the cache.
    pub fn test(&self, x: &[&str], y: &[&str], z: &[&str]) -> Result<TestResult> {
        self.test
            .run_with(self.engine, self.data, x, y, z, &self.cache)
    }

    /// Many tests in parallel; results in query order.
    pub fn batch(&self, queries: &[Query]) -> Vec<Result<TestResult>> {
        self.batch_with_progress(queries, None)
    }

    /// [`Tester::batch`] with a progress callback `(tests done, total)`.
    pub fn batch_with_progress(
        &self,
        queries: &[Query],
        progress: Option<crate::ProgressFn>,
    ) -> Vec<Result<TestResult>> {
        if self.cancel.is_none() {
            return self.batch_all(queries, progress);
        }
        let total = queries.len() as u64;
        let mut out = Vec::with_capacity(queries.len());
        // a GPU chunk is one job (one submit) for the batched tests: large ones only
        let min = match self.engine.kind() {
            crate::BackendKind::Gpu => 1024,
            _ => 8,
        };
        for r in crate::cancel::slices(&self.cancel, total, min) {
            if crate::cancel::check(&self.cancel).is_err() {
                out.resize_with(queries.len(), || Err(crate::Error::Cancelled));
                return out;
            }
            let offset = r.start;
            let tick = progress.map(|p| move |done: u64, _: u64| p(offset + done, total));
            let tick = tick.as_ref().map(|t| t as crate::ProgressFn);
            out.extend(self.batch_all(&queries[r.start as usize..r.end as usize], tick));
        }
        out
    }

    /// The batch in one go.
    fn batch_all(
        &self,
        queries: &[Query],
        progress: Option<crate::ProgressFn>,
    ) -> Vec<Result<TestResult>> {
        let total = queries.len() as u64;
        let ticks = crate::engine::Ticks::new(progress, total, 1);
        if self.test.kind == TestKind::FisherZ && self.test.deletion.is_none() {
            // one correlation matrix and one dispatch per conditioning-set size
            let refs: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = queries
                .iter()
                .map(|(x, y, z)| (strs(x), strs(y), strs(z)))
                .collect();
            let mut out: Vec<Option<Result<TestResult>>> = refs
                .iter()
                .map(|(x, y, z)| self.test.check(self.data, x, y, z).err().map(Err))
                .collect();
            let ok: Vec<usize> = (0..refs.len()).filter(|&q| out[q].is_none()).collect();
            let batch: Vec<(&[&str], &[&str], &[&str])> = ok
                .iter()
                .map(|&q| (&refs[q].0[..], &refs[q].1[..], &refs[q].2[..]))
                .collect();
            let results = self
                .test
                .fisher_z_batch(self.engine, self.data, &batch, &self.cache);
            for (&q, r) in ok.iter().zip(results) {
                out[q] = Some(r);
            }
            if let Some(p) = progress {
                p(total, total);
            }
            return out.into_iter().map(|r| r.expect("answered")).collect();
        }
        if matches!(self.test.kind, TestKind::Chisq | TestKind::Gsq) && self.test.deletion.is_none()
        {
            // columns coded once, every table counted in parallel
            let refs: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = queries
                .iter()
                .map(|(x, y, z)| (strs(x), strs(y), strs(z)))
                .collect();
            let mut out: Vec<Option<Result<TestResult>>> = refs
                .iter()
                .map(|(x, y, z)| self.test.check(self.data, x, y, z).err().map(Err))
                .collect();
            let ok: Vec<usize> = (0..refs.len()).filter(|&q| out[q].is_none()).collect();
            let batch: Vec<(&[&str], &[&str], &[&str])> = ok
                .iter()
                .map(|&q| (&refs[q].0[..], &refs[q].1[..], &refs[q].2[..]))
                .collect();
            let results = self
                .test
                .discrete_batch(self.engine, self.data, &batch, &self.cache);
            for (&q, r) in ok.iter().zip(results) {
                out[q] = Some(r);
            }
            if let Some(p) = progress {
                p(total, total);
            }
            return out.into_iter().map(|r| r.expect("answered")).collect();
        }
        let kci_gamma = matches!(self.test.kind, TestKind::Kci | TestKind::Hsic)
            && self.test.null == Null::Gamma;
        if (kci_gamma || matches!(self.test.kind, TestKind::Rcot | TestKind::Rcit))
            && self.test.deletion.is_none()
        {
            // one job (one submit on a GPU engine) for every query
            let refs: Vec<(Vec<&str>, Vec<&str>, Vec<&str>)> = queries
                .iter()
                .map(|(x, y, z)| (strs(x), strs(y), strs(z)))
                .collect();
            let batch: Vec<(&[&str], &[&str], &[&str])> = refs
                .iter()
                .map(|(x, y, z)| (&x[..], &y[..], &z[..]))
                .collect();
            let out = if kci_gamma {
                self.test
                    .kci_batch(self.engine, self.data, &batch, &self.cache)
            } else {
                self.test
                    .rff_batch(self.engine, self.data, &batch, &self.cache)
            };
            if let Some(p) = progress {
                p(total, total);
            }
            return out;
        }
        queries
            .par_iter()
            .map(|(x, y, z)| {
                fn r(v: &[String]) -> Vec<&str> {
                    v.iter().map(String::as_str).collect()
                }
                let out = self.test(&r(x), &r(y), &r(z));
                ticks.tick();
                out
            })
            .collect()
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
