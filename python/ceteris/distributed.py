"""``ceteris.distributed``: the bootstrap, batches of independence tests and SCM sweeps split
into shards that run as Ray tasks, merged into exactly the result of the in-process call.

Each function takes the arguments of its local counterpart (:func:`ceteris.bootstrap`,
:func:`ceteris.independence_batch`, :meth:`ceteris.Scm.sweep`, with the model first) plus

``shards`` (default 4)
    How many Ray tasks share the work: replicates ``0..B``, the queries, or the settings are cut
    into ``shards`` contiguous counter ranges. Shard ``k``'s output is a pure function of the
    seed and its range (Philox streams are counter-based: replicate ``b`` and setting ``s`` draw
    the same numbers wherever they are computed), so the merge is the single-process result bit
    for bit: intervals, standard errors, p-values, sweep moments (only ``seconds`` differs).
``remote_options``
    Extra ``ray.remote`` options for the tasks (e.g. ``{"num_cpus": 4}``, ``{"max_retries": 5}``).
    By default a task asks for 1 CPU, or 1 GPU (``num_gpus=1``) when ``backend="gpu"``, and is
    retried up to 3 times if it fails (a lost worker or an exception).

The data go into Ray's object store once (``ray.put``); each task gets that reference, the
options (a small dict) and its range, and returns its part: a bootstrap shard's replicate values
and analytic standard errors (two float64 arrays of its length), a batch's per-query results
(JSON text), a sweep's points (JSON text; the model travels as its scm-json text). The driver
merges them (``Bootstrap::combine`` checks that the shards cover ``0..B`` once each and come
from this run). Ray is started with ``ray.init()`` if it is not already: a local cluster, or
the cluster of ``RAY_ADDRESS`` (see ``python/README.md`` for the cluster recipe).

The refit bootstraps (``ipw``/``hajek``/``aipw``/``att``/``aipw-att`` with ``covariates``) shard
too (``EffectBootstrap::shard``): a replicate's row weights come from the counter-based plan and
its nuisance fits are computed in the run's own batches of replicates (counted from replicate 0,
whatever a shard's bounds), so the merge is the in-process result bit for bit. Their shards run
on the CPU (``backend="auto"`` means the CPU for them, ``"gpu"`` is refused: a device's f32
replicates would not merge with the CPU's), so the merge equals ``ceteris.bootstrap(...,
backend="cpu")``. Python callable statistics run in one process only (:func:`ceteris.bootstrap`):
a callable would have to be pickled to every worker, and the library cannot check that two
workers hold the same function, so a merge could not be guaranteed to be one run's.

Example (not run by the doctests: it starts a Ray cluster)::

    import ray, numpy as np, ceteris, ceteris.distributed as cd
    ray.init(num_cpus=2)
    x = np.random.default_rng(0).normal(size=1000)
    r = cd.bootstrap(x, "mean", n_resamples=100_000, seed=1, shards=4)
    assert r.intervals == ceteris.bootstrap(x, "mean", n_resamples=100_000, seed=1).intervals
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _core, _progress
from ._bootstrap import BootstrapResult, _prepare, _result
from ._core import ParameterError
from ._independence import _batch_inputs, _batch_outputs

__all__ = ["bootstrap", "independence_batch", "sweep"]

# Test hook: a directory; a task that finds `armed` in it renames it to `fired` (atomically, so
# one task only) and kills its worker, which Ray then retries (the tests' "fails once" task).
_FAULT = "CETERIS_TEST_RAY_FAULT"

# the statistics whose nuisance models are refit in every resample when covariates are given
_REFIT = ("ipw", "hajek", "aipw", "att", "aipw-att")


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:  # pragma: no cover - exercised without ray
        raise ImportError("ceteris.distributed needs Ray: pip install ray") from e
    if not ray.is_initialized():
        ray.init()
    return ray


def _ranges(n: int, shards: Any) -> List[Tuple[int, int]]:
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ParameterError(f"invalid parameter `shards`: {shards!r} is not an integer >= 1")
    k = min(shards, n)
    bounds = [n * i // k for i in range(k + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _remote(ray: Any, f: Any, backend: str, remote_options: Optional[Dict[str, Any]]) -> Any:
    opts: Dict[str, Any] = {"num_cpus": 1, "max_retries": 3, "retry_exceptions": True}
    if backend == "gpu":
        opts["num_gpus"] = 1
    opts.update(remote_options or {})
    return ray.remote(**opts)(f)


def _fault() -> None:
    d = os.environ.get(_FAULT)
    if not d:
        return
    try:
        os.rename(os.path.join(d, "armed"), os.path.join(d, "fired"))
    except OSError:
        return
    os._exit(1)


def _gather(ray: Any, refs: List[Any], progress: Any, desc: str) -> List[Any]:
    """The tasks' outputs in order, ticking ``progress`` as shards finish."""
    cb, bar = _progress.make(progress, desc)
    try:
        pending = list(refs)
        done = 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            done += len(ready)
            if cb is not None:
                cb(done, len(refs))
        return ray.get(refs)
    finally:
        bar.close()


def _boot_shard(table: Any, opts: Dict[str, Any], start: int, end: int, backend: str) -> Any:
    _fault()
    names, columns = table
    return (start,) + tuple(_core.bootstrap_shard(names, columns, opts, start, end,
                                                  backend=backend))


def bootstrap(data: Any, statistic: Any, *, shards: int = 4,
              remote_options: Optional[Dict[str, Any]] = None, backend: str = "auto",
              progress: Any = False, **kwargs: Any) -> BootstrapResult:
    """:func:`ceteris.bootstrap` (same arguments, a built-in statistic) with the ``n_resamples``
    replicates split into ``shards`` Ray tasks; the result is the in-process one bit for bit.
    ``progress=True`` shows a bar over the shards.

    The refit statistics (``ipw``, ``hajek``, ``aipw``, ``att``, ``aipw-att`` with
    ``covariates``) shard on the CPU: their merge equals ``ceteris.bootstrap(...,
    backend="cpu")`` (``backend="gpu"`` is a :class:`ceteris.ParameterError`). A Python callable
    ``statistic`` is refused: it runs in one process only (see the module docs).
    """
    if callable(statistic):
        raise ParameterError("invalid parameter `statistic`: a Python callable runs in one "
                             "process only (use ceteris.bootstrap)")
    if "crossfit" not in kwargs:
        kwargs["crossfit"] = None
    defaults = dict(n_resamples=9999, confidence_level=0.95, method="BCa", scheme="iid",
                    strata=None, cluster=None, block_length=None, covariates=None,
                    treatment=None, outcome=None, seed=None, column=None, weights=None,
                    propensity=None, mu0=None, mu1=None, clip=None, trim=None, penalty=None,
                    bootstrap_distribution=False, dropna=False, rng=None, random_state=None)
    unknown = set(kwargs) - set(defaults) - {"crossfit"}
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    defaults.update(kwargs)
    table, opts, methods = _prepare(data, statistic, **defaults)
    if backend == "gpu" and statistic in _REFIT and opts["covariates"]:
        raise ParameterError(f"invalid parameter `backend`: the shards of `{statistic}` with "
                             "covariates (a refit bootstrap) run on the CPU (a device's f32 "
                             "replicates would not merge with the CPU's): use backend=\"cpu\" "
                             "or \"auto\"")
    ranges = _ranges(opts["n_resamples"], shards)
    ray = _ray()
    ref = ray.put((table.names, table.columns))
    task = _remote(ray, _boot_shard, backend, remote_options)
    refs = [task.remote(ref, opts, a, b, backend) for a, b in ranges]
    parts = _gather(ray, refs, progress, "shards")
    raw, reps = _core.bootstrap_combine(table.names, table.columns, opts, list(parts))
    return _result(raw, reps, table, methods)


def _batch_shard(table: Any, queries: List[Any], opts: Dict[str, Any], backend: str) -> Any:
    _fault()
    names, columns = table
    out = _core.independence(names, columns, queries, opts, backend=backend)
    # exceptions travel as (class name, message): the driver rebuilds ceteris' own classes
    return [r if isinstance(r, str) else (type(r).__name__, str(r)) for r in out]


def independence_batch(data: Any, queries: Sequence[Tuple[Any, ...]], *, test: str = "kci",
                       shards: int = 4, remote_options: Optional[Dict[str, Any]] = None,
                       backend: str = "auto", dropna: bool = False, errors: str = "raise",
                       as_frame: bool = False, progress: Any = False,
                       **options: Any) -> Any:
    """:func:`ceteris.independence_batch` (same arguments) with the queries split into
    ``shards`` Ray tasks; each query's result is the in-process one bit for bit."""
    if errors not in ("raise", "return"):
        raise ParameterError("invalid parameter `errors`: `raise` or `return`")
    prepared = _batch_inputs(data, queries, test, dropna, options)
    if prepared is None:
        return []
    table, qs, opts = prepared
    ranges = _ranges(len(qs), shards)
    ray = _ray()
    ref = ray.put((table.names, table.columns))
    task = _remote(ray, _batch_shard, backend, remote_options)
    refs = [task.remote(ref, qs[a:b], opts, backend) for a, b in ranges]
    res: List[Any] = []
    for part in _gather(ray, refs, progress, f"{test} shards"):
        for r in part:
            if isinstance(r, str):
                res.append(r)
            else:
                cls = getattr(_core, r[0], None)
                cls = cls if isinstance(cls, type) and issubclass(cls, Exception) \
                    else _core.CeterisError
                res.append(cls(r[1]))
    return _batch_outputs(res, qs, errors, as_frame)


def _sweep_shard(model: str, outcome: str, sets: List[Any], kw: Dict[str, Any], a: int,
                 b: int) -> str:
    _fault()
    m = _core._Scm.from_json(model)
    return m.sweep(outcome, sets, range=(a, b), **kw)


def sweep(scm: Any, outcome: str, settings: Any, *, shards: int = 4,
          remote_options: Optional[Dict[str, Any]] = None, shifts: Any = None,
          samples: int = 10_000, quantiles: Sequence[float] = (), seed: int = 0,
          common_random_numbers: bool = True, nodes: Sequence[str] = (),
          backend: str = "auto", progress: Any = False) -> Any:
    """``scm.sweep(outcome, settings, ...)`` (:meth:`ceteris.Scm.sweep`, same arguments) with
    the settings split into ``shards`` Ray tasks; every row is the in-process one bit for bit.
    """
    from ._scm import _sweep_frame, _sweep_sets

    sets = _sweep_sets(settings, shifts)
    if not sets:
        raise ParameterError("invalid parameter `do`: the sweep has no settings")
    kw = dict(samples=int(samples), quantiles=[float(q) for q in quantiles], seed=int(seed),
              common_random_numbers=bool(common_random_numbers), nodes=list(nodes),
              backend=backend)
    ranges = _ranges(len(sets), shards)
    ray = _ray()
    start = time.perf_counter()
    model = ray.put(scm.to_json())
    sets_ref = ray.put(sets)
    task = _remote(ray, _sweep_shard, backend, remote_options)
    refs = [task.remote(model, outcome, sets_ref, kw, a, b) for a, b in ranges]
    parts = [json.loads(p) for p in _gather(ray, refs, progress, "shards")]
    d = parts[0]
    d["points"] = [pt for p in parts for pt in p["points"]]
    fallback = [p["backend"] for p in parts if "fallback" in p["backend"]]
    if fallback:
        d["backend"] = fallback[0]
    d["seconds"] = time.perf_counter() - start
    return _sweep_frame(d)
