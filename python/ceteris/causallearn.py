"""causal-learn drop-in: causal-learn's own ``pc``, ``fci`` and ``cdnod`` on ceteris' tests.

Inside ``with ceteris.causallearn.use():`` every causal-learn search that asks for ``"kci"``,
``"fisherz"``, ``"rcit"``, ``"chisq"`` or ``"gsq"`` gets a ceteris test instead of causal-learn's
own: the search itself (skeleton, orientation rules, background knowledge) is causal-learn's, only
the p-values come from ceteris. :class:`CIT` is the test object itself, with causal-learn's
call signature ``test(X, Y, condition_set) -> p`` (column indices, a float p-value, the same cache
keys), for code that holds a test object.

>>> import numpy as np, ceteris.causallearn as ccl
>>> rng = np.random.default_rng(0)
>>> a = rng.normal(size=300); b = a + rng.normal(size=300); c = b + rng.normal(size=300)
>>> test = ccl.CIT(np.column_stack([a, b, c]), "fisherz")
>>> test(0, 2) < 1e-6, test(0, 2, [1]) > 0.01
(True, True)

How causal-learn's options map (an option ceteris has no equivalent of, with a value other than
causal-learn's default, is a :class:`ceteris.ParameterError`; other keyword arguments are
accepted and ignored, as causal-learn's ``CIT`` does):

- ``kci``: ``kernelX``/``kernelY``/``kernelZ`` (``Gaussian``, ``Linear``, ``Polynomial`` with
  ``polyd``; one kernel for all), ``est_width`` (``empirical``, ``median``, or ``manual`` with
  one ``kwidthx``/``kwidthy``/``kwidthz`` value), ``approx=False`` (the spectral null with
  ``null_ss`` samples); ``use_gp=True`` has no equivalent.
- ``rcit``: ``approx`` (``lpd4``, ``hbe``, ``gaussian``, ``chi2``; causal-learn's ``perm`` has no
  equivalent); ``num_f``, ``num_f2`` at causal-learn's defaults (100, 5).
- ``fisherz``, ``chisq``, ``gsq``: none.

Options of ceteris' own (``backend``, ``seed``, ``null``, ``kernel``, ...) go to :func:`use` or
:class:`CIT`, and apply to every test made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._core import ParameterError
from ._data import to_table
from ._independence import _KNOWN, is_discrete, test_options

__all__ = ["CIT", "use", "TESTS", "to_general_graph"]

#: The causal-learn test names :func:`use` replaces.
TESTS = ("kci", "fisherz", "rcit", "chisq", "gsq")

try:  # the base class causal-learn's searches check for (FCI asserts isinstance)
    from causallearn.utils.cit import CIT_Base as _Base  # type: ignore
except ImportError:  # pragma: no cover - causal-learn not installed: a standalone test object
    _Base = object  # type: ignore

_NO_PARAMS = "NO SPECIFIED PARAMETERS"

# causal-learn's test options: (name, default); a different value needs a ceteris equivalent
_CL_KCI = {"kernelX": "Gaussian", "kernelY": "Gaussian", "kernelZ": "Gaussian", "null_ss": 1000,
           "approx": True, "est_width": "empirical", "polyd": 2, "kwidthx": None, "kwidthy": None,
           "kwidthz": None, "use_gp": False}
_CL_RCIT = {"approx": "lpd4", "num_f": 100, "num_f2": 5, "rcit": True}


def _kci_options(kw: Dict[str, Any]) -> Dict[str, Any]:
    """ceteris options from causal-learn's KCI keyword arguments."""
    out: Dict[str, Any] = {}
    if kw.get("use_gp", False):
        raise ParameterError("invalid parameter `use_gp`: ceteris' KCI has no Gaussian-process "
                             "widths (use_gp=True has no equivalent)")
    kernels = {kw.get(k, "Gaussian") for k in ("kernelX", "kernelY", "kernelZ")}
    if len(kernels) > 1:
        raise ParameterError("invalid parameter `kernelX`: ceteris' KCI uses one kernel for X, Y "
                             f"and Z, not {sorted(kernels)}")
    kernel = kernels.pop()
    names = {"Gaussian": "rbf", "Linear": "linear", "Polynomial": "polynomial"}
    if kernel not in names:
        raise ParameterError(f"invalid parameter `kernelX`: unknown kernel `{kernel}` "
                             "(Gaussian, Linear, Polynomial)")
    if kernel == "Polynomial":
        out["kernel"] = f"polynomial:{int(kw.get('polyd', 2))}"
    elif kernel == "Linear":
        out["kernel"] = "linear"
    est = kw.get("est_width", "empirical")
    if kernel == "Gaussian":
        if est == "median":
            out["width"] = "median"
        elif est == "manual":
            widths = {kw.get(k) for k in ("kwidthx", "kwidthy", "kwidthz")} - {None}
            if len(widths) != 1:
                raise ParameterError("invalid parameter `kwidthx`: est_width='manual' needs one "
                                     "width for X, Y and Z in ceteris")
            out["width"] = float(widths.pop())
        elif est != "empirical":
            raise ParameterError(f"invalid parameter `est_width`: `{est}` (empirical, median, "
                                 "manual)")
    if not kw.get("approx", True):
        out["null"] = "spectral"
        out["samples"] = int(kw.get("null_ss", 1000))
    return out


def _rcit_options(kw: Dict[str, Any]) -> Dict[str, Any]:
    for k in ("num_f", "num_f2", "rcit"):
        if k in kw and kw[k] != _CL_RCIT[k]:
            raise ParameterError(f"invalid parameter `{k}`: ceteris' RCIT uses causal-learn's "
                                 f"default {k}={_CL_RCIT[k]!r} only")
    approx = kw.get("approx", "lpd4")
    nulls = {"lpd4": "lpb4", "lpb4": "lpb4", "hbe": "hbe", "gaussian": "gamma", "gamma": "gamma",
             "chi2": "chi2"}
    if approx not in nulls:
        raise ParameterError(f"invalid parameter `approx`: `{approx}` has no ceteris equivalent "
                             "(lpd4, hbe, gaussian, chi2)")
    return {} if approx in ("lpd4", "lpb4") else {"null": nulls[approx]}


def _cache_key(method: str, X: Any, Y: Any, condition_set: Any) -> Tuple[List[int], List[int],
                                                                             List[int], str]:
    """causal-learn's ``get_formatted_XYZ_and_cachekey`` (for use without causal-learn)."""
    s = sorted(set(map(int, condition_set or [])))
    if method != "kci":
        x, y = (int(X), int(Y)) if X < Y else (int(Y), int(X))
        xs, ys = [x], [y]
    else:
        xs = sorted(set(map(int, X))) if isinstance(X, Iterable) else [int(X)]
        ys = sorted(set(map(int, Y))) if isinstance(Y, Iterable) else [int(Y)]
        xs, ys = (xs, ys) if xs < ys else (ys, xs)
    if set(xs + ys) & set(s):
        raise AssertionError("X, Y cannot be in condition_set.")
    j = lambda v: ".".join(map(str, v))  # noqa: E731
    return xs, ys, s, (f"{j(xs)};{j(ys)}|{j(s)}" if s else f"{j(xs)};{j(ys)}")


class CIT(_Base):  # type: ignore[misc,valid-type]
    """A ceteris test with causal-learn's interface: ``CIT(data, method, **kwargs)`` and then
    ``test(X, Y, condition_set=None) -> p``.

    ``data`` is causal-learn's ``n x p`` array; ``X``, ``Y`` and ``condition_set`` are column
    indices (for ``kci`` and ``rcit``, ``X`` and ``Y`` may be lists of indices). ``method`` is one
    of :data:`TESTS`. causal-learn's options (``kernelX``, ``approx``, ...) map as the module
    documentation says; ``cache_path`` keeps causal-learn's JSON p-value cache (with
    causal-learn installed); ``backend`` and ceteris' own test options (``seed``, ``null``,
    ``kernel``, ``width``, ...) pass to the test. ``.method`` is causal-learn's (``kci`` for KCI
    and RCIT alike), and p-values are cached under causal-learn's keys.

    With causal-learn installed this is a subclass of its ``CIT_Base``, which its searches need.
    """

    def __init__(self, data: Any, method: str = "fisherz", *, backend: str = "auto",
                 cache_path: Optional[str] = None, **kwargs: Any) -> None:
        if method not in TESTS:
            raise ParameterError(f"invalid parameter `method`: ceteris has no `{method}` test "
                                 f"({', '.join(TESTS)})")
        data = np.asarray(data)
        if data.ndim != 2:
            raise ParameterError("invalid parameter `data`: an n x p array (causal-learn's)")
        own = {k: kwargs[k] for k in _KNOWN if k in kwargs}
        cl = {k: v for k, v in kwargs.items() if k not in _KNOWN}
        if method == "kci":
            opts = {**_kci_options(cl), **own}
            params = {k: v for k, v in cl.items() if k in _CL_KCI}
        elif method == "rcit":
            opts = {**_rcit_options(cl), **own}
            params = {k: v for k, v in cl.items() if k in _CL_RCIT}
        else:
            opts, params = own, {}
        self._test = "rcit" if method == "rcit" else method
        self._opts = test_options(self._test, **opts)
        self._backend = backend
        if _Base is not object:
            _Base.__init__(self, data, cache_path=cache_path)
        else:
            self.data = data
            self.data_hash = hashlib.md5(str(data).encode("utf-8")).hexdigest()
            self.sample_size, self.num_features = data.shape
            self.pvalue_cache = {"data_hash": self.data_hash}
        phash = (hashlib.md5(json.dumps({**params, **own, "backend": backend}, sort_keys=True,
                                        default=str).encode("utf-8")).hexdigest()
                 if params or own else _NO_PARAMS)
        # causal-learn's `.method`: "kci" for KCI and RCIT (both take multi-column X and Y)
        self.check_cache_method_consistent("kci" if method in ("kci", "rcit") else method, phash)
        cols = {str(i): np.ascontiguousarray(data[:, i]) for i in range(data.shape[1])}
        table = to_table(cols, labels=list(cols) if is_discrete(method) else ())
        self._names, self._columns = table.names, table.columns

    if _Base is object:
        def check_cache_method_consistent(self, method_name: str, parameters_hash: str) -> None:
            self.method = method_name
            self.pvalue_cache.setdefault("method_name", method_name)
            self.pvalue_cache.setdefault("parameters_hash", parameters_hash)

    def __call__(self, X: Any, Y: Any, condition_set: Optional[Sequence[int]] = None) -> float:
        if _Base is not object:
            xs, ys, s, key = self.get_formatted_XYZ_and_cachekey(X, Y, condition_set)
        else:
            xs, ys, s, key = _cache_key(self.method, X, Y, condition_set)
        if key in self.pvalue_cache:
            return self.pvalue_cache[key]
        q = ([str(i) for i in xs], [str(i) for i in ys], [str(i) for i in s])
        r = _core.independence(self._names, self._columns, [q], self._opts,
                               backend=self._backend)[0]
        if isinstance(r, BaseException):
            raise r
        p = float(json.loads(r)["p_value"])
        self.pvalue_cache[key] = p
        return p


def _factory(method: str, defaults: Dict[str, Any]) -> type:
    def __init__(self: Any, data: Any, **kwargs: Any) -> None:
        CIT.__init__(self, data, method, **{**defaults, **kwargs})

    return type(f"Ceteris_{method}", (CIT,), {"__init__": __init__, "__doc__":
                                               f"ceteris' {method} as a causal-learn test."})


@contextlib.contextmanager
def use(tests: Sequence[str] = TESTS, *, backend: str = "auto", **options: Any) -> Iterator[None]:
    """Run causal-learn's searches on ceteris' tests inside the ``with`` block.

    ``tests``: which causal-learn names to replace (default all of :data:`TESTS`). ``backend``
    and ``options`` (ceteris' test options, e.g. ``seed``) apply to every test made; causal-learn's
    own options, passed to ``pc(..., kernelX=...)`` as usual, map as the module documentation
    says. On exit causal-learn's registry is as it was.

    Uses causal-learn's ``register_ci_test`` registry (0.1.4.2 and later); on older versions it
    replaces ``CIT`` in the modules of ``pc``, ``fci`` and ``cdnod`` and puts it back on exit.

    >>> import numpy as np, ceteris.causallearn as ccl
    >>> from causallearn.search.ConstraintBased.PC import pc
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=400); b = rng.normal(size=400); c = a + b + rng.normal(size=400)
    >>> with ccl.use():
    ...     cg = pc(np.column_stack([a, b, c]), 0.05, "fisherz", show_progress=False)
    >>> type(cg.test).__name__, cg.G.graph.tolist()
    ('Ceteris_fisherz', [[0, 0, -1], [0, 0, -1], [1, 1, 0]])
    """
    try:
        from causallearn.utils import cit  # type: ignore
    except ImportError as e:
        raise ImportError("ceteris.causallearn.use needs causal-learn "
                          "(pip install causal-learn)") from e
    bad = [t for t in tests if t not in TESTS]
    if bad:
        raise ParameterError(f"invalid parameter `tests`: ceteris has no `{bad[0]}` test "
                             f"({', '.join(TESTS)})")
    defaults = {"backend": backend, **options}
    classes = {t: _factory(t, defaults) for t in tests}
    registry = getattr(cit, "_custom_ci_tests", None)
    if registry is not None:
        saved = {t: registry[t] for t in tests if t in registry}
        registry.update(classes)
        try:
            yield
        finally:
            for t in tests:
                registry.pop(t, None)
            registry.update(saved)
        return
    # causal-learn before 0.1.4.2: no registry; swap the factory where the searches look it up
    import importlib

    original = cit.CIT

    def patched(data: Any, method: str = "fisherz", **kwargs: Any) -> Any:
        if method in classes:
            return classes[method](data, **kwargs)
        return original(data, method, **kwargs)

    mods = [cit] + [importlib.import_module(f"causallearn.search.ConstraintBased.{m}")
                    for m in ("PC", "FCI", "CDNOD")]
    saved_mods = [(m, m.CIT) for m in mods if hasattr(m, "CIT")]
    for m, _ in saved_mods:
        m.CIT = patched
    try:
        yield
    finally:
        for m, f in saved_mods:
            m.CIT = f


def to_general_graph(nodes: Sequence[str], marks: np.ndarray) -> Any:
    """A causal-learn ``GeneralGraph`` on ``nodes`` from endpoint marks in its own encoding
    (``marks[i, j]`` is the mark at ``i``'s end: ``i -> j`` is ``-1`` at ``[i, j]`` and ``1`` at
    ``[j, i]``), so that ``G.graph`` equals ``marks``."""
    try:
        from causallearn.graph.Edge import Edge  # type: ignore
        from causallearn.graph.Endpoint import Endpoint  # type: ignore
        from causallearn.graph.GeneralGraph import GeneralGraph  # type: ignore
        from causallearn.graph.GraphNode import GraphNode  # type: ignore
    except ImportError as e:
        raise ImportError("to_causallearn needs causal-learn (pip install causal-learn)") from e
    gn = [GraphNode(str(n)) for n in nodes]
    g = GeneralGraph(gn)
    p = len(gn)
    for i in range(p):
        for j in range(i + 1, p):
            a, b = int(marks[i, j]), int(marks[j, i])
            if a == 0 and b == 0:
                continue
            g.add_edge(Edge(gn[i], gn[j], Endpoint(a), Endpoint(b)))
    return g
