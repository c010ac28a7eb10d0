//! Joint samples of every node under an intervention set ([`Scm::sample`]).

#[cfg(feature = "gpu")]
use super::gpu;
use super::{Intervention, Scm};
use crate::engine::{run_on, Engine};
use crate::error::{Error, Result};
use crate::rng::{Stream, STREAM_MONTE_CARLO};

impl Scm {
    /// `n` joint samples of every node under the intervention set `set` (`&[]` for observational
    /// data) on the engine's backend, one column per node in topological order
    /// ([`Scm::names`]).
    ///
    /// Sample `i` uses the noise of sample `i` of setting 0 of the noise contract (module docs):
    /// it equals sample `i` of the first setting of a [`Sweep`](super::Sweep) with the same seed
    /// and intervention set (of every setting under common random numbers). On the CPU (rayon, f64)
    /// rows are drawn in parallel blocks straight into the columns; the result does not depend
    /// on the thread count. On a GPU engine `shaders/sweep.wgsl` evaluates the model's flat
    /// program in f32, one thread per sample and every node written out, with the same noise
    /// words: a value differs from the CPU's by the f32 rounding of its structural equations
    /// (in the GPU tests within 2e-5 · (|value| + the node's standard deviation)), and a logistic
    /// node's 0/1 value may differ where its uniform lies within f32 rounding of the threshold
    /// `sigmoid(eta)` (then its descendants differ too). The samples come back in chunks that
    /// fit one storage binding, one submit per chunk. Values that overflow f32 (where f64 may
    /// not) and wgpu failures are [`Error::Gpu`]s; under [`Engine::auto`] (or `cpu_fallback`)
    /// the sampling reruns on the CPU, with the reason logged and in `backend`. Values that are
    /// not finite in f64 are [`Error::NonFinite`].
    ///
    /// ```
    /// use ceteris::scm::{Intervention, Noise, Node, Scm};
    /// let m = Scm::new(vec![
    ///     Node::linear("X", 0.0, &[], Noise::Normal { scale: 1.0 }),
    ///     Node::linear("Y", 1.0, &[("X", 2.0)], Noise::Normal { scale: 1.0 }),
    /// ]).unwrap();
    /// let s = m.sample(&ceteris::Engine::auto(), &[Intervention::atomic("X", 3.0)], 1000, 7).unwrap();
    /// assert_eq!(s.data.names(), ["X", "Y"]);
    /// assert!(s.data.column("X").unwrap().iter().all(|&x| x == 3.0));
    /// println!("sampled on {}", s.backend);
    /// ```
    pub fn sample(
        &self,
        engine: &Engine,
        set: &[Intervention],
        n: usize,
        seed: u64,
    ) -> Result<Samples> {
        if n == 0 || n > u32::MAX as usize {
            return Err(Error::param("samples", "must be between 1 and 2^32 − 1"));
        }
        let plan = self.compile(set)?;
        let job = super::jobs::SampleJob {
            scm: self,
            plan: &plan,
            samples: n as u32,
            stream: Stream::new(seed, STREAM_MONTE_CARLO),
        };
        let (cols, ran) =
            run_on!(engine, cpu: Ok(job.run_cpu()), gpu: |ctx| gpu::scm_samples(ctx, &job))?;
        for (j, col) in cols.iter().enumerate() {
            if let Some(row) = col.iter().position(|v| !v.is_finite()) {
                return Err(Error::NonFinite {
                    column: self.nodes[j].name.clone(),
                    row,
                });
            }
        }
        let mut data = crate::Dataset::new();
        for (node, col) in self.nodes.iter().zip(cols) {
            data.push_column(&node.name, col)?;
        }
        Ok(Samples {
            data,
            backend: ran.label(""),
        })
    }
}

/// Joint samples of every node of a model ([`Scm::sample`]).
#[derive(Clone, Debug)]
pub struct Samples {
    /// One column per node, in topological order ([`Scm::names`]).
    pub data: crate::Dataset,
    /// Where they were drawn (with `(fallback: reason)` when a GPU failure made the sampling
    /// rerun on the CPU).
    pub backend: String,
}

impl Samples {
    /// The samples as an `n × nodes` array, columns in topological order.
    ///
    /// ```
    /// use ceteris::scm::Scm;
    /// let s = Scm::random_linear(4, 1).sample(&ceteris::Engine::cpu(), &[], 100, 7).unwrap();
    /// assert_eq!(s.to_array().shape(), &[100, 4]);
    /// ```
    pub fn to_array(&self) -> ndarray::Array2<f64> {
        self.data.to_array()
    }
}
