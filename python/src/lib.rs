//! `ceteris._core`: the PyO3 extension module under the `ceteris` Python package.
//!
//! A thin layer over the library's public API. Tables arrive as column names and 1-D float64
//! numpy arrays (the Python layer, `python/ceteris/_data.py`, turns DataFrames, labels, booleans
//! and missing values into those, as the CLI does for CSV files); each array is read in place
//! (zero-copy borrow) and copied once into the library's [`Dataset`]. Results come back as the
//! library's serde JSON (the CLI's keys) plus numpy arrays for long vectors; the Python layer
//! wraps them in result classes. Every computation runs with the GIL released (`py.detach`);
//! progress callbacks and Python statistics re-attach only for their own call.
//!
//! Errors: [`ceteris::Error`] becomes `ceteris.CeterisError` (a `ValueError`) or one of its
//! subclasses `UnknownColumnError`, `ParameterError` and `GpuError`, with the library's message.

use ceteris::bootstrap::{BootstrapOptions, BootstrapRun};
use ceteris::discovery::{Fci, Knowledge, Pc};
use ceteris::independence::{IndependenceTest, Query, Tester};
use ceteris::scm::{read_graph, EffectInterval, FitKind, Intervention, Scm, Sweep};
use ceteris::{
    BootstrapResult, Cancel, CustomBootstrap, Dataset, Engine, Error, IntervalMethod, Roles,
    Scheme, Shard,
};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

create_exception!(
    ceteris,
    CeterisError,
    PyValueError,
    "An error reported by ceteris (bad data, bad parameter, GPU failure), with the library's message."
);
create_exception!(
    ceteris,
    UnknownColumnError,
    CeterisError,
    "A column (or node) name that is not in the data (or model)."
);
create_exception!(
    ceteris,
    ParameterError,
    CeterisError,
    "A parameter outside its domain, or one the call would ignore."
);
create_exception!(
    ceteris,
    GpuError,
    CeterisError,
    "A GPU failure (no adapter, out of memory, device lost) with backend=\"gpu\"."
);

/// The Python exception of a library error.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::UnknownColumn { .. } => UnknownColumnError::new_err(msg),
        Error::InvalidParameter { .. } => ParameterError::new_err(msg),
        Error::Gpu { .. } | Error::NoAdapter(_) => GpuError::new_err(msg),
        Error::Cancelled => PyKeyboardInterrupt::new_err(msg),
        _ => CeterisError::new_err(msg),
    }
}

/// Ctrl-C for a run with the GIL released: a [`Cancel`] token whose poll, between the library's
/// batches, re-attaches the GIL and runs Python's signal handlers (`py.check_signals()`); an
/// exception they raise (KeyboardInterrupt) cancels the run and is raised after it.
struct Interrupt {
    cancel: Cancel,
    raised: Arc<Mutex<Option<PyErr>>>,
}

impl Interrupt {
    fn new() -> Self {
        let raised: Arc<Mutex<Option<PyErr>>> = Arc::default();
        let keep = raised.clone();
        let cancel = Cancel::with_poll(move || {
            Python::attach(|py| match py.check_signals() {
                Ok(()) => false,
                Err(e) => {
                    keep.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert(e);
                    true
                }
            })
        });
        Interrupt { cancel, raised }
    }

    /// The Python exception of a library error: the signal handler's own for a cancelled run.
    fn err(&self, e: Error) -> PyErr {
        if matches!(e, Error::Cancelled) {
            if let Some(raised) = self.raised.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return raised;
            }
        }
        py_err(e)
    }
}

/// `serde_json` to a Python-side JSON string.
fn json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string(v).map_err(|e| CeterisError::new_err(format!("JSON: {e}")))
}

/// One engine per backend name for the life of the process: a GPU engine owns its device and
/// its compiled pipelines, which are worth keeping between calls.
fn engine(name: &str) -> PyResult<Arc<Engine>> {
    static ENGINES: OnceLock<Mutex<HashMap<String, Arc<Engine>>>> = OnceLock::new();
    let map = ENGINES.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = map.get(name) {
        return Ok(e.clone());
    }
    let e = Arc::new(Engine::from_name(name).map_err(py_err)?);
    map.insert(name.to_string(), e.clone());
    Ok(e)
}

/// The description of the engine `backend` names (`auto`, `cpu`, `gpu`).
#[pyfunction]
fn describe_backend(backend: &str) -> PyResult<String> {
    Ok(engine(backend)?.describe())
}

/// Builds a [`Dataset`] from names and float64 columns: a contiguous array is read in place and
/// copied once into the table; a strided one is gathered once.
fn dataset(names: &[String], columns: &[PyReadonlyArray1<'_, f64>]) -> PyResult<Dataset> {
    if names.len() != columns.len() {
        return Err(PyValueError::new_err("one name per column"));
    }
    let mut d = Dataset::new();
    for (name, col) in names.iter().zip(columns) {
        let values = match col.as_slice() {
            Ok(s) => s.to_vec(),
            Err(_) => col.as_array().to_vec(),
        };
        d.push_column(name, values).map_err(py_err)?;
    }
    Ok(d)
}

/// `data` with the label columns' levels set (text columns factorised by the Python side), so the
/// tests that tell discrete from continuous columns (`dg`) see them as the CLI's would.
fn labelled(mut data: Dataset, levels: HashMap<String, Vec<String>>) -> PyResult<Dataset> {
    let mut names: Vec<_> = levels.into_iter().collect();
    names.sort();
    for (name, lv) in names {
        data.set_labels(&name, lv).map_err(py_err)?;
    }
    Ok(data)
}

/// A `(done, total)` progress sink calling a Python callable (with the GIL, only for the call).
fn progress_fn(cb: &Option<Py<PyAny>>) -> Option<impl Fn(u64, u64) + Sync + '_> {
    cb.as_ref().map(|cb| {
        move |done: u64, total: u64| {
            Python::attach(|py| {
                // a failing progress bar must not fail the computation
                let _ = cb.call1(py, (done, total));
            })
        }
    })
}

fn methods(names: &[String]) -> PyResult<Vec<IntervalMethod>> {
    names
        .iter()
        .map(|m| m.parse::<IntervalMethod>().map_err(py_err))
        .collect()
}

/// The run's result as JSON, and the replicates (when kept) as a numpy array.
fn boot_out(
    py: Python<'_>,
    mut r: BootstrapResult,
) -> PyResult<(String, Option<Bound<'_, PyArray1<f64>>>)> {
    let reps = r.replicates.take().map(|v| v.into_pyarray(py));
    Ok((json(&r)?, reps))
}

/// The options of a bootstrap with a built-in statistic, as the Python layer passes them (a dict
/// with every key; `None` is an option not given): the library's [`BootstrapOptions`].
#[derive(Clone, Debug, FromPyObject)]
#[pyo3(from_item_all)]
struct BootOpts {
    statistic: String,
    column: Vec<String>,
    weights: Option<String>,
    treatment: Option<String>,
    outcome: Option<String>,
    propensity: Option<String>,
    mu0: Option<String>,
    mu1: Option<String>,
    covariates: Vec<String>,
    scheme: String,
    strata: Option<String>,
    cluster: Option<String>,
    block_length: Option<f64>,
    n_resamples: u64,
    level: f64,
    methods: Vec<String>,
    seed: u64,
    keep_replicates: bool,
    clip: Option<f64>,
    trim: Option<f64>,
    penalty: Option<f64>,
    crossfit: Option<u32>,
}

/// The run the options make, by the library's rules (the CLI's: `ipw`/`hajek`/`aipw`/`att` with
/// covariates refit their nuisance models in every resample; an option the run would ignore is
/// an error).
fn boot_run(o: &BootOpts) -> Result<BootstrapRun, Error> {
    BootstrapOptions {
        columns: o.column.clone(),
        roles: Roles {
            weights: o.weights.clone(),
            treatment: o.treatment.clone(),
            outcome: o.outcome.clone(),
            propensity: o.propensity.clone(),
            mu0: o.mu0.clone(),
            mu1: o.mu1.clone(),
            covariates: o.covariates.clone(),
        },
        clip: o.clip,
        trim: o.trim,
        penalty: o.penalty,
        crossfit: o.crossfit,
        scheme: Scheme::parse(
            &o.scheme,
            o.strata.as_deref(),
            o.cluster.as_deref(),
            o.block_length,
        )?,
        resamples: o.n_resamples,
        seed: o.seed,
        level: o.level,
        methods: o
            .methods
            .iter()
            .map(|m| m.parse::<IntervalMethod>())
            .collect::<Result<_, _>>()?,
        keep_replicates: o.keep_replicates,
        ..BootstrapOptions::new(&o.statistic)
    }
    .build()
}

/// A bootstrap with a built-in statistic: the CLI's `ceteris bootstrap` on a table.
#[pyfunction]
#[pyo3(signature = (names, columns, opts, *, backend="auto", progress=None))]
fn bootstrap<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    opts: BootOpts,
    backend: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, Option<Bound<'py, PyArray1<f64>>>)> {
    let data = dataset(&names, &columns)?;
    let run = boot_run(&opts).map_err(py_err)?;
    let engine = engine(backend)?;
    let stop = Interrupt::new();
    let run = match run {
        BootstrapRun::Statistic(b) => BootstrapRun::Statistic(b.cancel(&stop.cancel)),
        BootstrapRun::Refit(b) => BootstrapRun::Refit(b.cancel(&stop.cancel)),
    };
    let tick = progress_fn(&progress);
    let r = py
        .detach(|| {
            let tick = tick.as_ref().map(|t| t as &(dyn Fn(u64, u64) + Sync));
            run.run_with_progress(&engine, &data, tick)
        })
        .map_err(|e| stop.err(e))?;
    boot_out(py, r)
}

/// Replicates `start..end` of a bootstrap with a built-in statistic ([`ceteris::Bootstrap::shard`],
/// or [`ceteris::bootstrap::EffectBootstrap::shard`] for a refit, on the CPU: `backend="auto"`
/// runs a refit shard on the CPU, `"gpu"` is refused): `(values, std_errors, backend, fallback,
/// fingerprint)`, the [`Shard`]'s fields.
#[pyfunction]
#[pyo3(signature = (names, columns, opts, start, end, *, backend="auto"))]
#[allow(clippy::type_complexity)]
fn bootstrap_shard<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    opts: BootOpts,
    start: u64,
    end: u64,
    backend: &str,
) -> PyResult<(
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    String,
    Option<String>,
    String,
)> {
    let data = dataset(&names, &columns)?;
    let run = boot_run(&opts).map_err(py_err)?;
    let engine = match (&run, backend) {
        (BootstrapRun::Refit(_), "auto") => engine("cpu")?,
        _ => engine(backend)?,
    };
    let s = py
        .detach(|| match &run {
            BootstrapRun::Statistic(b) => b.shard(&engine, &data, start..end),
            BootstrapRun::Refit(b) => b.shard(&engine, &data, start..end),
        })
        .map_err(py_err)?;
    Ok((
        s.values.into_pyarray(py),
        s.std_errors.into_pyarray(py),
        s.backend,
        s.fallback,
        s.fingerprint,
    ))
}

/// The shards' merge ([`ceteris::Bootstrap::combine`], or
/// [`ceteris::bootstrap::EffectBootstrap::combine`] for a refit): `shards` are `(start, values, std_errors,
/// backend, fallback, fingerprint)`; the result as [`bootstrap`]'s.
#[pyfunction]
#[pyo3(signature = (names, columns, opts, shards))]
#[allow(clippy::type_complexity)]
fn bootstrap_combine<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    opts: BootOpts,
    shards: Vec<(
        u64,
        PyReadonlyArray1<'py, f64>,
        PyReadonlyArray1<'py, f64>,
        String,
        Option<String>,
        String,
    )>,
) -> PyResult<(String, Option<Bound<'py, PyArray1<f64>>>)> {
    let data = dataset(&names, &columns)?;
    let run = boot_run(&opts).map_err(py_err)?;
    let shards: Vec<Shard> = shards
        .into_iter()
        .map(|(start, v, se, backend, fallback, fingerprint)| Shard {
            start,
            values: v.as_array().to_vec(),
            std_errors: se.as_array().to_vec(),
            backend,
            fallback,
            seed: opts.seed,
            resamples: opts.n_resamples,
            fingerprint,
        })
        .collect();
    let r = py
        .detach(|| match &run {
            BootstrapRun::Statistic(b) => b.combine(&data, &shards),
            BootstrapRun::Refit(b) => b.combine(&data, &shards),
        })
        .map_err(py_err)?;
    boot_out(py, r)
}

/// A bootstrap of a Python function of the per-row weights of each replicate
/// ([`CustomBootstrap`]); `func(weights) -> float` is called once per resample and once per
/// jackknife unit (BCa), with the GIL, from the library's worker threads. The first exception it
/// raises is re-raised after the run.
#[pyfunction]
#[pyo3(signature = (names, columns, func, *, scheme="iid", strata=None, cluster=None,
    block_length=None, n_resamples=9999, level=0.95,
    methods=vec!["percentile".to_string(), "bca".to_string()], seed=0, keep_replicates=false))]
#[allow(clippy::too_many_arguments)]
fn bootstrap_weights<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    func: Py<PyAny>,
    scheme: &str,
    strata: Option<String>,
    cluster: Option<String>,
    block_length: Option<f64>,
    n_resamples: u64,
    level: f64,
    methods: Vec<String>,
    seed: u64,
    keep_replicates: bool,
) -> PyResult<(String, Option<Bound<'py, PyArray1<f64>>>)> {
    let data = dataset(&names, &columns)?;
    let scheme = Scheme::parse(scheme, strata.as_deref(), cluster.as_deref(), block_length)
        .map_err(py_err)?;
    let methods = self::methods(&methods)?;
    let failure: Mutex<Option<PyErr>> = Mutex::new(None);
    let call = |_: &Dataset, w: &[f64]| -> f64 {
        Python::attach(|py| {
            if failure.lock().map(|f| f.is_some()).unwrap_or(true) {
                return f64::NAN;
            }
            let w = w.to_vec().into_pyarray(py);
            match func.call1(py, (w,)).and_then(|v| v.extract::<f64>(py)) {
                Ok(v) => v,
                Err(e) => {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                    f64::NAN
                }
            }
        })
    };
    let stop = Interrupt::new();
    let boot = CustomBootstrap::new(call)
        .cancel(&stop.cancel)
        .scheme(scheme)
        .resamples(n_resamples)
        .seed(seed)
        .level(level)
        .methods(&methods)
        .keep_replicates(keep_replicates);
    let r = py.detach(|| boot.run(&Engine::cpu(), &data));
    if let Some(e) = failure.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(e);
    }
    boot_out(py, r.map_err(|e| stop.err(e))?)
}

/// The options of an independence test (the CLI's `TestOpts`): `None` is a flag not given.
#[derive(Clone, Debug, FromPyObject)]
#[pyo3(from_item_all)]
struct TestOpts {
    test: String,
    null: Option<String>,
    permutations: Option<u32>,
    samples: Option<u32>,
    testwise_deletion: Option<f64>,
    tolerance: Option<f64>,
    width: Option<String>,
    kernel: Option<String>,
    seed: Option<u64>,
}

/// The library's [`TestOptions`] (options named `` `name` `` in errors, as Python spells keyword
/// arguments).
fn build_test(a: &TestOpts) -> Result<IndependenceTest, Error> {
    ceteris::independence::TestOptions {
        test: a.test.clone(),
        null: a.null.clone(),
        permutations: a.permutations,
        samples: a.samples,
        testwise_deletion: a.testwise_deletion,
        tolerance: a.tolerance,
        width: a.width.clone(),
        kernel: a.kernel.clone(),
        seed: a.seed,
    }
    .build()
}

/// One test or many over one table: `queries` are `(x, y, z)` column lists; returns, per query,
/// the result's JSON or the error (as an exception object, not raised).
#[pyfunction]
#[pyo3(signature = (names, columns, queries, opts, *, backend="auto", progress=None,
    levels=HashMap::new()))]
#[allow(clippy::too_many_arguments)]
fn independence<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    queries: Vec<Query>,
    opts: TestOpts,
    backend: &str,
    progress: Option<Py<PyAny>>,
    levels: HashMap<String, Vec<String>>,
) -> PyResult<Vec<Py<PyAny>>> {
    let data = labelled(dataset(&names, &columns)?, levels)?;
    let test = build_test(&opts).map_err(py_err)?;
    let engine = engine(backend)?;
    let tick = progress_fn(&progress);
    let stop = Interrupt::new();
    let out = py.detach(|| {
        let tester = Tester::new(&engine, &data, test).cancel(&stop.cancel);
        let tick = tick.as_ref().map(|t| t as &(dyn Fn(u64, u64) + Sync));
        tester.batch_with_progress(&queries, tick)
    });
    if stop.cancel.is_cancelled() {
        return Err(stop.err(Error::Cancelled));
    }
    out.into_iter()
        .map(|r| -> PyResult<Py<PyAny>> {
            Ok(match r {
                Ok(r) => json(&r)?.into_pyobject(py)?.into_any().unbind(),
                Err(e) => py_err(e).into_value(py).into_any(),
            })
        })
        .collect()
}

/// PC (or CD-NOD with `domain`), or FCI with `algorithm="fci"`, over `nodes`: the result's JSON,
/// the endpoint marks (causal-learn's encoding, row-major; a PAG's circles are 2) and the DOT
/// text.
#[pyfunction]
#[pyo3(signature = (names, columns, nodes, opts, *, alpha=0.05, max_depth=None, domain=None,
    forbidden=vec![], required=vec![], tiers=vec![], backend="auto", progress=None,
    levels=HashMap::new(), algorithm="pc"))]
#[allow(clippy::too_many_arguments)]
fn discover<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    nodes: Vec<String>,
    opts: TestOpts,
    alpha: f64,
    max_depth: Option<usize>,
    domain: Option<String>,
    forbidden: Vec<(String, String)>,
    required: Vec<(String, String)>,
    tiers: Vec<Vec<String>>,
    backend: &str,
    progress: Option<Py<PyAny>>,
    levels: HashMap<String, Vec<String>>,
    algorithm: &str,
) -> PyResult<(String, Vec<i8>, String)> {
    let fci =
        match (algorithm, &domain) {
            ("fci", Some(_)) => return Err(py_err(Error::param(
                "domain",
                "`domain` is CD-NOD's; FCI takes alpha, max_depth, forbidden, required, tiers and \
                 the test options",
            ))),
            ("fci", None) => true,
            ("pc" | "cdnod", _) => false,
            (other, _) => {
                return Err(py_err(Error::param(
                    "algorithm",
                    format!("unknown algorithm `{other}` (pc, cdnod, fci)"),
                )))
            }
        };
    let data = labelled(dataset(&names, &columns)?, levels)?;
    let test = build_test(&opts).map_err(py_err)?;
    let engine = engine(backend)?;
    let mut k = Knowledge::new();
    for (a, b) in &forbidden {
        k = k.forbid(a, b);
    }
    for (a, b) in &required {
        k = k.require(a, b);
    }
    if !tiers.is_empty() {
        let t: Vec<Vec<&str>> = tiers
            .iter()
            .map(|t| t.iter().map(String::as_str).collect())
            .collect();
        let t: Vec<&[&str]> = t.iter().map(Vec::as_slice).collect();
        k = k.tiers(&t);
    }
    let stop = Interrupt::new();
    enum Search {
        Pc(Pc),
        Fci(Fci),
    }
    let search = if fci {
        Search::Fci(
            Fci::new(test)
                .cancel(&stop.cancel)
                .alpha(alpha)
                .max_depth(max_depth)
                .knowledge(k),
        )
    } else {
        Search::Pc(
            Pc::new(test)
                .cancel(&stop.cancel)
                .alpha(alpha)
                .max_depth(max_depth)
                .knowledge(k)
                .domain(domain.as_deref()),
        )
    };
    let tick = progress.as_ref().map(|cb| {
        move |level: usize, done: u64, total: u64| {
            Python::attach(|py| {
                let _ = cb.call1(py, (level, done, total));
            })
        }
    });
    let cols: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let r = py
        .detach(|| {
            let tick = tick
                .as_ref()
                .map(|t| t as &(dyn Fn(usize, u64, u64) + Sync));
            match &search {
                Search::Pc(pc) => pc.run_with_progress(&engine, &data, &cols, tick),
                Search::Fci(fci) => fci.run_with_progress(&engine, &data, &cols, tick),
            }
        })
        .map_err(|e| stop.err(e))?;
    Ok((json(&r)?, r.marks().to_vec(), r.to_dot()))
}

/// The nodes of a graph (text, JSON or DOT, as `read_graph` reads it) with their parents, in
/// order: what `Scm.fit` reads of a table.
#[pyfunction]
fn graph_parents(graph: &str) -> PyResult<Vec<(String, Vec<String>)>> {
    read_graph(graph)
        .and_then(|g| g.parent_sets())
        .map_err(py_err)
}

/// A structural causal model (scm-json v1), validated.
#[pyclass(name = "_Scm", module = "ceteris._core", frozen)]
struct PyScm {
    scm: Scm,
}

/// One intervention set from `(node, kind, value)` triples, kind `atomic` or `shift`.
fn interventions(set: &[(String, String, f64)]) -> PyResult<Vec<Intervention>> {
    set.iter()
        .map(|(node, kind, v)| match kind.as_str() {
            "atomic" => Ok(Intervention::atomic(node, *v)),
            "shift" => Ok(Intervention::shift(node, *v)),
            other => Err(py_err(Error::param(
                "intervention",
                format!("unknown kind `{other}` (atomic, shift)"),
            ))),
        })
        .collect()
}

type Set = Vec<(String, String, f64)>;

#[pymethods]
impl PyScm {
    /// Reads scm-json v1 text.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyScm {
            scm: Scm::from_json(text).map_err(py_err)?,
        })
    }

    /// Fits the model of `graph` (text, JSON or DOT, as `read_graph` reads) to the table.
    #[staticmethod]
    fn fit<'py>(
        py: Python<'py>,
        names: Vec<String>,
        columns: Vec<PyReadonlyArray1<'py, f64>>,
        graph: &str,
        kind: &str,
    ) -> PyResult<Self> {
        let data = dataset(&names, &columns)?;
        let kind: FitKind = kind.parse().map_err(py_err)?;
        let parents = read_graph(graph)
            .and_then(|g| g.parent_sets())
            .map_err(py_err)?;
        let scm = py
            .detach(|| Scm::fit(&data, &parents, kind))
            .map_err(py_err)?;
        Ok(PyScm { scm })
    }

    /// scm-json v1 text.
    fn to_json(&self) -> String {
        self.scm.to_json()
    }

    /// Node names in topological order.
    fn names(&self) -> Vec<String> {
        self.scm.names().into_iter().map(String::from).collect()
    }

    /// A sweep (or, with `range`, settings `range` of it, [`Sweep::shard`]): the result's JSON.
    #[pyo3(signature = (outcome, settings, *, samples=10_000, quantiles=vec![], seed=0,
        common_random_numbers=true, nodes=vec![], backend="auto", progress=None, range=None))]
    #[allow(clippy::too_many_arguments)]
    fn sweep(
        &self,
        py: Python<'_>,
        outcome: &str,
        settings: Vec<Set>,
        samples: u64,
        quantiles: Vec<f64>,
        seed: u64,
        common_random_numbers: bool,
        nodes: Vec<String>,
        backend: &str,
        progress: Option<Py<PyAny>>,
        range: Option<(usize, usize)>,
    ) -> PyResult<String> {
        let sets = settings
            .iter()
            .map(|s| interventions(s))
            .collect::<PyResult<Vec<_>>>()?;
        let engine = engine(backend)?;
        let nodes: Vec<&str> = nodes.iter().map(String::as_str).collect();
        let sweep = Sweep::new(outcome, sets)
            .nodes(&nodes)
            .samples(samples)
            .quantiles(&quantiles)
            .seed(seed)
            .common_random_numbers(common_random_numbers);
        let stop = Interrupt::new();
        let sweep = sweep.cancel(&stop.cancel);
        let tick = progress_fn(&progress);
        let r = py
            .detach(|| {
                let tick = tick.as_ref().map(|t| t as &(dyn Fn(u64, u64) + Sync));
                match range {
                    Some((a, b)) => sweep.shard_with_progress(&engine, &self.scm, a..b, tick),
                    None => sweep.run_with_progress(&engine, &self.scm, tick),
                }
            })
            .map_err(|e| stop.err(e))?;
        json(&r)
    }

    /// The Monte-Carlo average causal effect of `alternative` against `reference`: JSON.
    #[pyo3(signature = (alternative, reference, outcome, *, samples=100_000, seed=0, backend="auto"))]
    #[allow(clippy::too_many_arguments)]
    fn effect(
        &self,
        py: Python<'_>,
        alternative: Set,
        reference: Set,
        outcome: &str,
        samples: u64,
        seed: u64,
        backend: &str,
    ) -> PyResult<String> {
        let (alt, reference) = (interventions(&alternative)?, interventions(&reference)?);
        let engine = engine(backend)?;
        let r = py
            .detach(|| {
                self.scm
                    .effect(&engine, &alt, &reference, outcome, samples, seed)
            })
            .map_err(py_err)?;
        json(&r)
    }

    /// Counterfactuals of every row of the table under `set`: the values' and the noises'
    /// (names, columns).
    #[allow(clippy::type_complexity)]
    fn counterfactuals<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
        columns: Vec<PyReadonlyArray1<'py, f64>>,
        set: Set,
    ) -> PyResult<(
        Vec<(String, Bound<'py, PyArray1<f64>>)>,
        Vec<(String, Bound<'py, PyArray1<f64>>)>,
    )> {
        let data = dataset(&names, &columns)?;
        let set = interventions(&set)?;
        let cf = py
            .detach(|| self.scm.counterfactuals(&data, &set))
            .map_err(py_err)?;
        let cols = |d: &Dataset| -> Vec<(String, Bound<'py, PyArray1<f64>>)> {
            d.names()
                .iter()
                .map(|n| {
                    let v = d.column(n).expect("a listed column").to_vec();
                    (n.clone(), v.into_pyarray(py))
                })
                .collect()
        };
        Ok((cols(&cf.values), cols(&cf.noise)))
    }
}

/// The bootstrap interval of a fitted model's effect ([`EffectInterval`]): JSON and the
/// replicates when kept.
#[pyfunction]
#[pyo3(signature = (names, columns, graph, kind, outcome, alternative, reference, *,
    samples=None, scheme="iid", strata=None, cluster=None, block_length=None, n_resamples=999,
    level=0.95, methods=vec!["percentile".to_string(), "bca".to_string()], seed=0,
    keep_replicates=false, backend="auto", progress=None))]
#[allow(clippy::too_many_arguments)]
fn effect_interval<'py>(
    py: Python<'py>,
    names: Vec<String>,
    columns: Vec<PyReadonlyArray1<'py, f64>>,
    graph: &str,
    kind: &str,
    outcome: &str,
    alternative: Set,
    reference: Set,
    samples: Option<u64>,
    scheme: &str,
    strata: Option<String>,
    cluster: Option<String>,
    block_length: Option<f64>,
    n_resamples: u64,
    level: f64,
    methods: Vec<String>,
    seed: u64,
    keep_replicates: bool,
    backend: &str,
    progress: Option<Py<PyAny>>,
) -> PyResult<(String, Option<Bound<'py, PyArray1<f64>>>)> {
    let data = dataset(&names, &columns)?;
    let kind: FitKind = kind.parse().map_err(py_err)?;
    let parents = read_graph(graph)
        .and_then(|g| g.parent_sets())
        .map_err(py_err)?;
    let scheme = Scheme::parse(scheme, strata.as_deref(), cluster.as_deref(), block_length)
        .map_err(py_err)?;
    let methods = self::methods(&methods)?;
    let engine = engine(backend)?;
    let mut ei = EffectInterval::new(&parents, kind, outcome)
        .alternative(&interventions(&alternative)?)
        .reference(&interventions(&reference)?)
        .scheme(scheme)
        .resamples(n_resamples)
        .seed(seed)
        .level(level)
        .methods(&methods)
        .keep_replicates(keep_replicates);
    if let Some(s) = samples {
        ei = ei.samples(s);
    }
    let stop = Interrupt::new();
    let ei = ei.cancel(&stop.cancel);
    let tick = progress_fn(&progress);
    let mut r = py
        .detach(|| {
            let tick = tick.as_ref().map(|t| t as &(dyn Fn(u64, u64) + Sync));
            ei.run_with_progress(&engine, &data, tick)
        })
        .map_err(|e| stop.err(e))?;
    let reps = r.replicates.take().map(|v| v.into_pyarray(py));
    Ok((json(&r)?, reps))
}

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // no `XDG_RUNTIME_DIR` noise from Mesa's display-selection layer on headless machines: set
    // at import, before this module starts any thread (Python's own threads do not read the C
    // environment while importing)
    ceteris::quiet_display_layers();
    let py = m.py();
    m.add("CeterisError", py.get_type::<CeterisError>())?;
    m.add("UnknownColumnError", py.get_type::<UnknownColumnError>())?;
    m.add("ParameterError", py.get_type::<ParameterError>())?;
    m.add("GpuError", py.get_type::<GpuError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyScm>()?;
    m.add_function(wrap_pyfunction!(describe_backend, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_weights, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_shard, m)?)?;
    m.add_function(wrap_pyfunction!(bootstrap_combine, m)?)?;
    m.add_function(wrap_pyfunction!(independence, m)?)?;
    m.add_function(wrap_pyfunction!(discover, m)?)?;
    m.add_function(wrap_pyfunction!(effect_interval, m)?)?;
    m.add_function(wrap_pyfunction!(graph_parents, m)?)?;
    Ok(())
}
