"""``ceteris.bootstrap``: scipy.stats.bootstrap's call and result, on ceteris' resampling engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _core, _progress
from ._core import CeterisError, ParameterError
from ._data import Table, check_treatment, frame_columns, is_dataframe, to_table

try:  # scipy's own namedtuple, so results compare and print alike
    from scipy.stats._common import ConfidenceInterval  # type: ignore
except Exception:  # pragma: no cover - scipy absent or moved
    from collections import namedtuple

    ConfidenceInterval = namedtuple("ConfidenceInterval", ["low", "high"])  # type: ignore

__all__ = ["bootstrap", "BootstrapResult", "ConfidenceInterval"]

_METHODS = ("percentile", "basic", "normal", "bca", "studentized")
# statistics reading one column, and two columns, of the data
_ONE = ("mean", "var", "std", "median", "weighted-mean")
_TWO = ("ratio-means", "corr")


@dataclass
class BootstrapResult:
    """The result of :func:`ceteris.bootstrap`, shaped like ``scipy.stats.bootstrap``'s.

    Attributes
    ----------
    confidence_interval : ConfidenceInterval
        ``(low, high)`` of the first method asked (scipy's namedtuple).
    bootstrap_distribution : numpy.ndarray or None
        The ``n_resamples`` replicate statistics (NaN where a resample left the statistic
        undefined) when ``bootstrap_distribution=True`` was passed, else ``None``.
    standard_error : float
        Standard deviation of the valid replicates (ddof=1), as scipy's.
    estimate : float
        The statistic on the data.
    intervals : dict
        ``method -> ConfidenceInterval`` for every method asked (``"bca"``, ``"percentile"``...).
    overlap : dict or None
        Overlap diagnostics of ``ipw``, ``hajek``, ``aipw``, ``att`` and ``aipw-att`` (per arm: propensity range,
        effective sample size).
    warnings : list of str
        Degenerate cases and dropped replicates, explained.
    backend : str
        Where it ran (``cpu (rayon, N threads)``, the GPU adapter, or a fallback reason).
    bias, n_resamples, valid_resamples, seed, confidence_level, method, statistic, scheme,
    seconds, levels, rows_dropped, details
        The rest of the library's result (``details`` is all of it, as the CLI's JSON).
    """

    confidence_interval: Any
    bootstrap_distribution: Optional[np.ndarray]
    standard_error: float
    estimate: float
    intervals: Dict[str, Any]
    overlap: Optional[Dict[str, Any]]
    warnings: List[str]
    backend: str
    bias: float
    n_resamples: int
    valid_resamples: int
    seed: int
    confidence_level: float
    method: str
    statistic: str
    scheme: str
    seconds: float
    levels: Dict[str, List[str]] = field(default_factory=dict)
    rows_dropped: int = 0
    details: Dict[str, Any] = field(default_factory=dict, repr=False)


def _methods(method: Union[str, Sequence[str]]) -> List[str]:
    names = [method] if isinstance(method, str) else list(method)
    if not names:
        raise ParameterError("invalid parameter `method`: no interval method given")
    out = []
    for m in names:
        low = str(m).lower()
        if low not in _METHODS:
            raise ParameterError(
                f"invalid parameter `method`: unknown interval method `{m}` "
                "(percentile, basic, normal, BCa, studentized)"
            )
        if low not in out:
            out.append(low)
    return out


def _seed(seed: Optional[int]) -> int:
    if seed is None:
        return int(np.random.default_rng().integers(0, 2**63))
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"invalid parameter `seed`: {seed!r} is not an integer >= 0")
    return int(seed)


def _seed_from(r: Any) -> int:
    """A seed from scipy's ``rng``/``random_state``: an int as it is, a generator drawn once."""
    if isinstance(r, (int, np.integer)) and not isinstance(r, bool):
        return int(r)
    if isinstance(r, np.random.Generator):
        return int(r.integers(0, 2**63))
    if isinstance(r, np.random.RandomState):
        return int(r.randint(0, 2**62))
    raise ParameterError(f"invalid parameter `rng`: {r!r} is not an int or a numpy generator")


def _result(raw: str, reps: Optional[np.ndarray], table: Table, methods: List[str]
            ) -> BootstrapResult:
    d = json.loads(raw)
    intervals = {k: ConfidenceInterval(float(v[0]), float(v[1]))
                 for k, v in d.get("intervals", {}).items()}
    first = next((m for m in methods if m in intervals), None)
    ci = intervals[first] if first else ConfidenceInterval(np.nan, np.nan)
    return BootstrapResult(
        confidence_interval=ci,
        bootstrap_distribution=reps,
        standard_error=float(d["std_error"]),
        estimate=float(d["estimate"]),
        intervals=intervals,
        overlap=d.get("overlap"),
        warnings=list(d.get("warnings", [])),
        backend=d["backend"] if not d.get("fallback") else
        f"{d['backend']} (fallback: {d['fallback']})",
        bias=float(d["bias"]),
        n_resamples=int(d["resamples"]),
        valid_resamples=int(d["valid_resamples"]),
        seed=int(d["seed"]),
        confidence_level=float(d["level"]),
        method=first or "",
        statistic=d["statistic"],
        scheme=d["scheme"],
        seconds=float(d["seconds"]),
        levels=table.levels,
        rows_dropped=table.rows_dropped,
        details=d,
    )


def _samples(data: Any) -> "tuple[Any, int, bool]":
    """The data a callable sees: (samples, rows, whether a tuple of paired samples)."""
    if isinstance(data, tuple):
        if not data:
            raise CeterisError("empty data: no samples")
        arrays = [d if is_dataframe(d) else np.asarray(d) for d in data]
        n = len(arrays[0])
        for a in arrays[1:]:
            if len(a) != n:
                raise CeterisError(
                    f"length mismatch: the samples have {n} and {len(a)} rows (ceteris resamples "
                    "the samples of a tuple together, as scipy's paired=True)"
                )
        return arrays, n, True
    if is_dataframe(data):
        return data, len(data), False
    arr = np.asarray(data)
    if arr.ndim == 0:
        raise CeterisError("data must hold at least one row")
    return arr, len(arr), False


def _take(sample: Any, idx: np.ndarray) -> Any:
    if is_dataframe(sample):
        return sample.iloc[idx]
    return sample[idx]


def bootstrap(
    data: Any,
    statistic: Union[str, Callable[..., float]],
    *,
    n_resamples: int = 9999,
    confidence_level: float = 0.95,
    method: Union[str, Sequence[str]] = "BCa",
    scheme: str = "iid",
    strata: Optional[str] = None,
    cluster: Optional[str] = None,
    block_length: Optional[float] = None,
    covariates: Optional[Sequence[str]] = None,
    treatment: Optional[str] = None,
    outcome: Optional[str] = None,
    seed: Optional[int] = None,
    backend: str = "auto",
    column: Union[None, str, Sequence[str]] = None,
    weights: Optional[str] = None,
    propensity: Optional[str] = None,
    mu0: Optional[str] = None,
    mu1: Optional[str] = None,
    clip: Optional[float] = None,
    trim: Optional[float] = None,
    penalty: Optional[float] = None,
    crossfit: Optional[int] = None,
    bootstrap_distribution: bool = False,
    dropna: bool = False,
    progress: Any = False,
    rng: Any = None,
    random_state: Any = None,
) -> BootstrapResult:
    """Bootstrap confidence intervals, with ``scipy.stats.bootstrap``'s call and result.

    Parameters
    ----------
    data : array, Series, DataFrame, dict of arrays, or a tuple of samples
        The rows to resample. A 1-D array is one column named ``x``; a DataFrame keeps its names
        (booleans become 0/1, text and categories in the treatment, strata and cluster columns
        are factorised, missing values are an error unless ``dropna=True``).
    statistic : str or callable
        A built-in statistic, the CLI's names: ``mean``, ``var``, ``std``, ``median``,
        ``quantile:Q``, ``weighted-mean`` (with ``weights``), ``diff-means`` (``treatment``,
        ``outcome``), ``ratio-means``, ``corr`` (two columns), ``ols:NAME`` (``outcome``,
        ``covariates``), ``ipw``, ``hajek``, ``aipw`` (``treatment``, ``outcome``, and either a
        fixed ``propensity`` [and ``mu0``, ``mu1``] or ``covariates`` to refit the nuisance
        models in every resample), ``att`` (``covariates``), ``aipw-att`` (the doubly robust ATT:
        ``covariates``, or a fixed ``propensity`` and ``mu0``). Built-ins run on the GPU or the CPU
        (``backend``).

        Or a Python callable ``f(sample) -> float`` called on the resampled rows (a 1-D array, a
        2-D array's rows, a DataFrame's rows via ``.iloc``, or ``f(*samples)`` for a tuple of
        samples, which are resampled together). It is called once per resample, plus once per
        row for BCa's jackknife, with the GIL held: **much slower** than a built-in statistic
        (it runs at Python speed, on the CPU). Each resample's rows come in row order, each
        repeated as often as it was drawn, so the callable must not depend on the order; the
        ``iid``, ``stratified``, ``cluster`` and ``poisson`` schemes are supported.
    n_resamples, confidence_level, method
        As scipy (``method`` is ``"percentile"``, ``"basic"``, ``"BCa"``, plus ceteris'
        ``"normal"`` and ``"studentized"``, or a list of them: the first gives
        ``confidence_interval``, all appear in ``intervals``).
    scheme : str
        ``iid``, ``stratified`` (``strata``), ``cluster`` (``cluster``), ``bayesian``,
        ``poisson``, ``moving-block``, ``circular-block``, ``stationary`` (``block_length``).
    seed : int or None
        The Philox seed: the same seed draws the same resamples on the CPU and the GPU. ``None``
        draws one (reported in ``result.seed``).
    backend : str
        ``auto`` (a hardware GPU if any, else the CPU), ``cpu`` or ``gpu``.
    bootstrap_distribution : bool
        Keep the replicates (``result.bootstrap_distribution``).
    clip, trim, penalty
        Propensity clipping (``ipw``/``hajek``/``aipw``/``aipw-att``), trimming and an L2 penalty (refit
        with ``covariates``), as the CLI's ``--clip``, ``--trim`` and ``--penalty l2:λ``.
    crossfit : int or None
        Cross-fit the refit nuisance models of ``aipw`` or ``aipw-att`` with ``covariates`` over K folds (the
        CLI's ``--crossfit``).
    progress : bool or callable
        ``True`` shows a tqdm bar (when tqdm is installed); a callable gets ``(done, total)``.
    rng, random_state
        scipy's spellings, accepted for code written for scipy: an int is the ``seed``; a
        ``numpy.random.Generator`` (or ``RandomState``) draws one. At most one of ``seed``,
        ``rng`` and ``random_state``.

    Returns
    -------
    BootstrapResult

    Examples
    --------
    >>> import numpy as np, ceteris
    >>> x = np.random.default_rng(0).normal(size=200)
    >>> r = ceteris.bootstrap(x, "mean", n_resamples=2000, seed=1, backend="cpu")
    >>> bool(r.confidence_interval.low < x.mean() < r.confidence_interval.high)
    True
    >>> r2 = ceteris.bootstrap((x,), np.median, n_resamples=500, seed=1, method="percentile")
    >>> round(r2.estimate, 6) == round(float(np.median(x)), 6)
    True
    """
    if callable(statistic):
        methods = _methods(method)
        seed = _seeds(seed, rng, random_state)
        _check_resamples(n_resamples)
        for name, given in [("covariates", covariates), ("treatment", treatment),
                            ("outcome", outcome), ("column", column), ("weights", weights),
                            ("propensity", propensity), ("mu0", mu0), ("mu1", mu1),
                            ("clip", clip), ("trim", trim), ("penalty", penalty),
                            ("crossfit", crossfit)]:
            if given is not None:
                raise ParameterError(
                    f"invalid parameter `{name}`: a callable statistic does not use it "
                    "(it would ignore it)")
        return _bootstrap_callable(
            data, statistic, n_resamples=int(n_resamples), confidence_level=confidence_level,
            methods=methods, scheme=scheme, strata=strata, cluster=cluster,
            block_length=block_length, seed=seed, keep=bootstrap_distribution, dropna=dropna)
    table, opts, methods = _prepare(
        data, statistic, n_resamples=n_resamples, confidence_level=confidence_level,
        method=method, scheme=scheme, strata=strata, cluster=cluster, block_length=block_length,
        covariates=covariates, treatment=treatment, outcome=outcome, seed=seed, column=column,
        weights=weights, propensity=propensity, mu0=mu0, mu1=mu1, clip=clip, trim=trim,
        penalty=penalty, crossfit=crossfit, bootstrap_distribution=bootstrap_distribution,
        dropna=dropna, rng=rng, random_state=random_state)
    cb, bar = _progress.make(progress, "resamples")
    try:
        raw, reps = _core.bootstrap(table.names, table.columns, opts, backend=backend,
                                    progress=cb)
    finally:
        bar.close()
    return _result(raw, reps, table, methods)


def _seeds(seed: Any, rng: Any, random_state: Any) -> int:
    given = [k for k, v in (("seed", seed), ("rng", rng), ("random_state", random_state))
             if v is not None]
    if len(given) > 1:
        raise TypeError(f"pass at most one of {', '.join(given)}")
    if rng is not None or random_state is not None:
        seed = _seed_from(rng if rng is not None else random_state)
    return _seed(seed)


def _check_resamples(n_resamples: Any) -> None:
    if not isinstance(n_resamples, (int, np.integer)) or isinstance(n_resamples, bool) \
            or n_resamples < 1:
        raise ParameterError(f"invalid parameter `resamples`: {n_resamples!r} is not an "
                             "integer >= 1")


def _prepare(data: Any, statistic: Any, *, n_resamples: int, confidence_level: float,
             method: Union[str, Sequence[str]], scheme: str, strata: Optional[str],
             cluster: Optional[str], block_length: Optional[float],
             covariates: Optional[Sequence[str]], treatment: Optional[str],
             outcome: Optional[str], seed: Optional[int], column: Any, weights: Optional[str],
             propensity: Optional[str], mu0: Optional[str], mu1: Optional[str],
             clip: Optional[float], trim: Optional[float], penalty: Optional[float],
             crossfit: Optional[int], bootstrap_distribution: bool, dropna: bool, rng: Any,
             random_state: Any) -> "tuple[Table, Dict[str, Any], List[str]]":
    """A built-in statistic's table and the options of ``_core.bootstrap`` (every key)."""
    methods = _methods(method)
    seed = _seeds(seed, rng, random_state)
    _check_resamples(n_resamples)
    if not isinstance(statistic, str):
        raise TypeError("statistic must be a built-in name (str) or a callable")
    if isinstance(data, tuple):
        if len(data) != 1:
            raise ParameterError("invalid parameter `data`: a built-in statistic takes one "
                                 "table (or a tuple of one sample)")
        data = data[0]
    cols: List[str]
    if column is None:
        cols = []
    elif isinstance(column, str):
        cols = [column]
    else:
        cols = list(column)
    roles = [weights, treatment, outcome, propensity, mu0, mu1, strata, cluster]
    head = statistic.split(":", 1)[0]
    if not cols and (head in _ONE or head == "quantile" or head in _TWO):
        # the data's own columns, when there is no doubt which
        names = list(frame_columns(data))
        free = [n for n in names if n not in roles]
        need = 2 if head in _TWO else 1
        if len(free) == need:
            cols = free
        else:
            raise ParameterError(
                f"invalid parameter `column`: statistic `{statistic}` needs "
                f"{'two columns' if need == 2 else 'a column'}: pass column=... "
                f"(columns: {', '.join(names)})")
    used = cols + [c for c in roles if c] + list(covariates or [])
    labels = [c for c in (treatment, strata, cluster) if c]
    # no column named (e.g. an unknown statistic): read them all, the library names the error
    table = to_table(data, used=used or None, labels=labels, dropna=dropna)
    check_treatment(table, treatment)
    opts = dict(
        statistic=statistic, column=cols, weights=weights, treatment=treatment, outcome=outcome,
        propensity=propensity, mu0=mu0, mu1=mu1, covariates=list(covariates or []),
        scheme=scheme, strata=strata, cluster=cluster, block_length=block_length,
        n_resamples=int(n_resamples), level=confidence_level, methods=methods, seed=seed,
        keep_replicates=bool(bootstrap_distribution), clip=clip, trim=trim, penalty=penalty,
        crossfit=None if crossfit is None else int(crossfit))
    return table, opts, methods


def _bootstrap_callable(data: Any, f: Callable[..., float], *, n_resamples: int,
                        confidence_level: float, methods: List[str], scheme: str,
                        strata: Optional[str], cluster: Optional[str],
                        block_length: Optional[float], seed: int, keep: bool,
                        dropna: bool) -> BootstrapResult:
    if scheme not in ("iid", "stratified", "cluster", "poisson"):
        raise ParameterError(
            f"invalid parameter `scheme`: a callable statistic sees each resample's rows in row "
            f"order, which scheme `{scheme}` does not allow (iid, stratified, cluster, poisson); "
            "use a built-in statistic")
    samples, n, paired = _samples(data)
    labels = [c for c in (strata, cluster) if c]
    if labels:
        if not is_dataframe(samples):
            raise ParameterError(
                "invalid parameter `strata`/`cluster`: name a column of a DataFrame")
        table = to_table(samples, used=labels, labels=labels, dropna=False)
    else:
        table = Table([], [])
    row = "\x00row"
    table.names.insert(0, row)
    table.columns.insert(0, np.arange(n, dtype=np.float64))
    rows = np.arange(n)

    def call(w: np.ndarray) -> float:
        idx = np.repeat(rows, w.astype(np.int64))
        if paired:
            return float(f(*[_take(s, idx) for s in samples]))
        return float(f(_take(samples, idx)))

    raw, reps = _core.bootstrap_weights(
        table.names, table.columns, call, scheme=scheme, strata=strata, cluster=cluster,
        block_length=block_length, n_resamples=n_resamples, level=confidence_level,
        methods=methods, seed=seed, keep_replicates=keep)
    return _result(raw, reps, table, methods)
