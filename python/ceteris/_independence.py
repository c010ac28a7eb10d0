"""Independence tests: ``kci``, ``hsic``, ``rcot``, ``rcit``, ``fisherz`` and a batch call."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core, _progress
from ._core import ParameterError
from ._data import frame_columns, is_dataframe, to_table

__all__ = ["TestResult", "kci", "hsic", "hsic_u", "rcot", "rcit", "fisherz", "chisq", "gsq",
           "independence_batch", "test_options"]

Columns = Union[str, Sequence[str]]


@dataclass
class TestResult:
    """The outcome of one test.

    ``statistic`` and ``pvalue`` (scipy's spelling; ``p_value`` is an alias), the rows ``n``,
    the test and its null, the columns tested (``x``, ``y``, ``z``), where it ran (``backend``)
    and its compute time (``seconds``). ``details`` is the library's whole result (the CLI's
    JSON).
    """

    __test__ = False  # not a pytest test class

    statistic: float
    pvalue: float
    test: str
    null: str
    n: int
    x: List[str]
    y: List[str]
    z: List[str]
    backend: str
    seconds: float
    details: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def p_value(self) -> float:
        return self.pvalue

    def __iter__(self):  # ``stat, p = ceteris.kci(x, y)``, as scipy's results unpack
        return iter((self.statistic, self.pvalue))

    @classmethod
    def _from_json(cls, raw: str) -> "TestResult":
        d = json.loads(raw)
        return cls(statistic=float(d["statistic"]), pvalue=float(d["p_value"]), test=d["test"],
                   null=d["null"], n=int(d["n"]), x=d["x"], y=d["y"], z=d["z"],
                   backend=d["backend"], seconds=float(d["seconds"]), details=d)


def test_options(test: str, *, null: Optional[str] = None, permutations: Optional[int] = None,
                 samples: Optional[int] = None, testwise_deletion: Optional[float] = None,
                 tolerance: Optional[float] = None, width: Union[None, str, float] = None,
                 kernel: Optional[str] = None, seed: Optional[int] = None) -> Dict[str, Any]:
    """The options of a test, as the CLI's flags (``--null``, ``--kernel``, ...); ``None`` is
    an option not given (its default), and an option the test would ignore is an error."""
    if isinstance(width, (int, float)) and not isinstance(width, bool):
        width = repr(float(width))
    return dict(test=test, null=null,
                permutations=None if permutations is None else int(permutations),
                samples=None if samples is None else int(samples),
                testwise_deletion=testwise_deletion,
                tolerance=None if tolerance is None else float(tolerance),
                width=None if width is None else str(width),
                kernel=None if kernel is None else str(kernel),
                seed=None if seed is None else int(seed))


def is_discrete(test: str) -> bool:
    """chisq and gsq take discrete columns, dg mixed ones: read as labels (text factorised,
    numbers kept, as the CLI; dg treats the factorised columns as discrete)."""
    return test in ("chisq", "gsq", "dg")


_KNOWN = ("null", "permutations", "samples", "testwise_deletion", "tolerance", "width", "kernel",
          "seed")


def _opts(test: str, options: Dict[str, Any]) -> Dict[str, Any]:
    unknown = [k for k in options if k not in _KNOWN]
    if unknown:
        raise ParameterError(
            f"invalid parameter `{unknown[0]}`: not an option of the {test} test "
            f"({', '.join(_KNOWN)}, backend, dropna, progress)")
    return test_options(test, **options)


def _names(v: Optional[Columns]) -> List[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else [str(c) for c in v]


def _is_names(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, (list, tuple)) and len(v) > 0
                                  and all(isinstance(c, str) for c in v))


def _one(test: str, x: Any, y: Any, z: Any, data: Any, backend: str, dropna: bool,
         options: Dict[str, Any]) -> TestResult:
    opts = _opts(test, options)
    keep_missing = opts["testwise_deletion"] is not None and np.isnan(opts["testwise_deletion"])
    if data is not None:
        xs, ys, zs = _names(x), _names(y), _names(z)
        used = xs + ys + zs
        table = to_table(data, used=used, labels=used if is_discrete(test) else (),
                         dropna=dropna, keep_missing=keep_missing)
    else:
        if _is_names(x) or _is_names(y):
            raise ParameterError("invalid parameter `data`: x and y are column names, so pass "
                                 "the table as data=")
        cols: Dict[str, Any] = {}
        xs, ys, zs = [], [], []
        for prefix, v, out in (("x", x, xs), ("y", y, ys), ("z", z, zs)):
            if v is None:
                continue
            part = frame_columns(v, prefix)
            if is_dataframe(v) or isinstance(v, dict):  # keep its names, prefixed if clashing
                part = {(k if k not in cols else f"{prefix}.{k}"): c for k, c in part.items()}
            for k, c in part.items():
                cols[k] = c
                out.append(k)
        table = to_table(cols, labels=list(cols) if is_discrete(test) else (), dropna=dropna,
                         keep_missing=keep_missing)
    if not xs or not ys:
        raise ParameterError("invalid parameter `x`/`y`: both need at least one column")
    res = _core.independence(table.names, table.columns, [(xs, ys, zs)], opts, backend=backend,
                             levels=table.levels)
    r = res[0]
    if isinstance(r, BaseException):
        raise r
    return TestResult._from_json(r)


def kci(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
        dropna: bool = False, **options: Any) -> TestResult:
    """Kernel conditional independence test (KCI), causal-learn's ``KCI_UInd``/``KCI_CInd``.

    ``x``, ``y``, ``z``: arrays (1-D, or 2-D with one column per variable), or column names of
    ``data`` (a DataFrame or dict of arrays). Options as the CLI's flags: ``null`` (``gamma``,
    ``permutation``, ``spectral``), ``permutations``, ``samples``, ``kernel`` (``rbf``,
    ``laplace``, ``linear``, ``polynomial[:D]``), ``width`` (``empirical``, ``median`` or a
    number), ``tolerance``, ``testwise_deletion``, ``seed``; an option the test would ignore
    (``permutations`` without the permutation null, say) is a :class:`ceteris.ParameterError`.

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=300); y = np.sin(3 * x) + 0.1 * rng.normal(size=300)
    >>> ceteris.kci(x, y, backend="cpu").pvalue < 1e-6
    True
    """
    return _one("kci", x, y, z, data, backend, dropna, options)


def hsic(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
         dropna: bool = False, **options: Any) -> TestResult:
    """HSIC (V-statistic) test of independence; with ``z`` it is KCI. Arguments as :func:`kci`.

    >>> import numpy as np, ceteris
    >>> x = np.random.default_rng(1).normal(size=200)
    >>> ceteris.hsic(x, x ** 2, backend="cpu").pvalue < 0.01
    True
    """
    return _one("hsic", x, y, z, data, backend, dropna, options)


def hsic_u(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
           dropna: bool = False, **options: Any) -> TestResult:
    """hyppo's ``Hsic`` (unbiased, normalised, chi-square null). Arguments as :func:`kci`.

    >>> import numpy as np, ceteris
    >>> x = np.random.default_rng(5).normal(size=200)
    >>> ceteris.hsic_u(x, np.abs(x), backend="cpu").test
    'hsic-u'
    """
    return _one("hsic-u", x, y, z, data, backend, dropna, options)


def rcot(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
         dropna: bool = False, **options: Any) -> TestResult:
    """RCoT (random Fourier features; RIT when ``z`` is None). ``null``: ``lpb4`` (default),
    ``hbe``, ``gamma``, ``chi2``. Arguments as :func:`kci`.

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(2)
    >>> z = rng.normal(size=500); x = z + rng.normal(size=500); y = z + rng.normal(size=500)
    >>> ceteris.rcot(x, y, z, backend="cpu").pvalue > 0.001
    True
    """
    return _one("rcot", x, y, z, data, backend, dropna, options)


def rcit(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
         dropna: bool = False, **options: Any) -> TestResult:
    """RCIT (as RCoT with ``z`` appended to ``y``). Arguments as :func:`rcot`.

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(6)
    >>> z = rng.normal(size=500); x = z + rng.normal(size=500); y = x + rng.normal(size=500)
    >>> ceteris.rcit(x, y, z, backend="cpu").pvalue < 1e-3
    True
    """
    return _one("rcit", x, y, z, data, backend, dropna, options)


def fisherz(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
            dropna: bool = False, **options: Any) -> TestResult:
    """Fisher's z test of zero (partial) correlation. Arguments as :func:`kci`.

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(3)
    >>> z = rng.normal(size=400); x = z + rng.normal(size=400); y = z + rng.normal(size=400)
    >>> ceteris.fisherz(x, y, backend="cpu").pvalue < 1e-6, ceteris.fisherz(x, y, z).pvalue > 1e-3
    (True, True)
    """
    return _one("fisherz", x, y, z, data, backend, dropna, options)


def chisq(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
          dropna: bool = False, **options: Any) -> TestResult:
    """Pearson's chi-square test of conditional independence of discrete columns, as
    causal-learn's ``chisq`` (one x and one y column; any numbers or text labels, 2 to the
    library's maximum of distinct values each). No kernel, width or null options.

    >>> import numpy as np, ceteris
    >>> x = np.arange(400) % 3; y = (np.arange(400) % 3 + np.arange(400) // 7 % 2)
    >>> ceteris.chisq(x, y).pvalue < 1e-10
    True
    """
    return _one("chisq", x, y, z, data, backend, dropna, options)


def gsq(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
        dropna: bool = False, **options: Any) -> TestResult:
    """The G-test (likelihood ratio), as causal-learn's ``gsq``; otherwise as :func:`chisq`.

    >>> import numpy as np, ceteris
    >>> a = np.array(["u", "v"] * 200, dtype=object); b = np.arange(400) // 2 % 2
    >>> ceteris.gsq(a, b).pvalue > 0.5
    True
    """
    return _one("gsq", x, y, z, data, backend, dropna, options)


def dg(x: Any, y: Any, z: Any = None, *, data: Any = None, backend: str = "auto",
       dropna: bool = False, **options: Any) -> TestResult:
    """The degenerate-Gaussian likelihood-ratio test for mixed continuous and discrete columns
    (Andrews, Ramsey & Cooper 2019), as the CLI's ``--test dg``: a column of text labels is
    discrete and enters as indicators of its levels but the first; a numeric column is
    continuous (pass codes as text, e.g. ``df[c].astype(str)``, to make them discrete). The
    statistic is ``n [ln det S_XZ + ln det S_YZ - ln det S_XYZ - ln det S_Z]``, chi-square with
    ``dim X * dim Y`` degrees of freedom under independence. CPU only; no kernel, width or
    null options.

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(1)
    >>> g = rng.choice(np.array(["a", "b", "c"], dtype=object), size=600)
    >>> x = (g == "b") * 1.0 + rng.normal(size=600)
    >>> ceteris.dg(x, g).pvalue < 1e-6, ceteris.dg(rng.normal(size=600), g).pvalue > 1e-3
    (True, True)
    """
    return _one("dg", x, y, z, data, backend, dropna, options)


def independence_batch(data: Any, queries: Sequence[Tuple[Any, ...]], *, test: str = "kci",
                       backend: str = "auto", dropna: bool = False, errors: str = "raise",
                       as_frame: bool = False, progress: Any = False,
                       **options: Any) -> Any:
    """Many tests over one table in one call: ``queries`` are ``(x, y)`` or ``(x, y, z)``
    tuples of column names (each a name or a list of names). The tests run in parallel and share
    kernel factors and Z-regressions; results come in query order.

    ``errors="raise"`` raises the first failing query's error; ``errors="return"`` puts the
    exception in that query's place. ``as_frame=True`` returns a pandas DataFrame instead, one
    row per query (``x``, ``y``, ``z`` joined with commas, ``statistic``, ``pvalue``, ``n``,
    and ``error`` with ``errors="return"``).

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(4)
    >>> z = rng.normal(size=300)
    >>> data = {"x": z + rng.normal(size=300), "y": z + rng.normal(size=300), "z": z}
    >>> rs = ceteris.independence_batch(data, [("x", "y"), ("x", "y", "z")], test="fisherz")
    >>> [r.pvalue < 0.01 for r in rs]
    [True, False]
    """
    if errors not in ("raise", "return"):
        raise ParameterError("invalid parameter `errors`: `raise` or `return`")
    prepared = _batch_inputs(data, queries, test, dropna, options)
    if prepared is None:
        return []
    table, qs, opts = prepared
    cb, bar = _progress.make(progress, f"{test} tests")
    try:
        res = _core.independence(table.names, table.columns, qs, opts, backend=backend,
                                 progress=cb, levels=table.levels)
    finally:
        bar.close()
    return _batch_outputs(res, qs, errors, as_frame)


def _batch_inputs(data: Any, queries: Sequence[Tuple[Any, ...]], test: str, dropna: bool,
                  options: Dict[str, Any]) -> Any:
    """The table, the ``(x, y, z)`` name lists and the test options of a batch (None when it
    has no queries)."""
    opts = _opts(test, options)
    keep_missing = opts["testwise_deletion"] is not None and np.isnan(opts["testwise_deletion"])
    qs = []
    used: List[str] = []
    for q in queries:
        if len(q) not in (2, 3):
            raise ParameterError(f"invalid parameter `queries`: {q!r} is not (x, y) or (x, y, z)")
        triple = (_names(q[0]), _names(q[1]), _names(q[2]) if len(q) == 3 else [])
        qs.append(triple)
        for part in triple:
            used.extend(part)
    if not qs:
        return None
    table = to_table(data, used=used, labels=used if is_discrete(test) else (), dropna=dropna,
                     keep_missing=keep_missing)
    return table, qs, opts


def _batch_outputs(res: List[Any], qs: List[Any], errors: str, as_frame: bool) -> Any:
    """A batch's results (JSON or exception per query) as :func:`independence_batch` returns
    them."""
    out: List[Any] = []
    for r in res:
        if isinstance(r, BaseException):
            if errors == "raise":
                raise r
            out.append(r)
        else:
            out.append(TestResult._from_json(r))
    if not as_frame:
        return out
    import pandas as pd

    rows = []
    for (x, y, z), r in zip(qs, out):
        row: Dict[str, Any] = {"x": ",".join(x), "y": ",".join(y), "z": ",".join(z)}
        if isinstance(r, BaseException):
            row.update(statistic=np.nan, pvalue=np.nan, n=0, error=str(r))
        else:
            row.update(statistic=r.statistic, pvalue=r.pvalue, n=r.n)
            if errors == "return":
                row["error"] = None
        rows.append(row)
    return pd.DataFrame(rows)
