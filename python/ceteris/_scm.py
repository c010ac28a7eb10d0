"""``ceteris.Scm``: structural causal models (scm-json v1), fitted or read, swept and queried."""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core, _progress
from ._core import ParameterError
from ._data import to_table

__all__ = ["Scm", "Effect"]

Setting = Mapping[str, float]


def _set(do: Optional[Setting] = None, shift: Optional[Setting] = None
         ) -> List[Tuple[str, str, float]]:
    out: List[Tuple[str, str, float]] = []
    for node, v in (do or {}).items():
        out.append((str(node), "atomic", float(v)))
    for node, v in (shift or {}).items():
        out.append((str(node), "shift", float(v)))
    return out


def _graph_text(graph: Any) -> str:
    """A graph as ``read_graph`` reads it: text (``"Z->X->Y, Z->Y"``), JSON, DOT, a file path,
    a ``{node: [parents]}`` dict, a list of ``(from, to)`` edges, a networkx DiGraph, or a
    :class:`ceteris.DiscoveryResult`."""
    if hasattr(graph, "to_dot") and callable(graph.to_dot):
        return graph.to_dot()
    if isinstance(graph, (str, os.PathLike)):
        s = os.fspath(graph)
        if "\n" not in s and "->" not in s and os.path.isfile(s):
            with open(s, encoding="utf-8") as f:
                return f.read()
        return s
    if hasattr(graph, "edges") and hasattr(graph, "nodes") and callable(graph.nodes):
        edges = list(graph.edges())
        nodes = list(graph.nodes())
    elif isinstance(graph, Mapping):
        nodes = list(graph)
        edges = [(p, n) for n, ps in graph.items() for p in ps]
    else:
        edges = [tuple(e) for e in graph]
        nodes = []
        for a, b in edges:
            for n in (a, b):
                if n not in nodes:
                    nodes.append(n)
    q = lambda n: '"' + str(n).replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
    lines = ["digraph g {"] + [f"  {q(n)};" for n in nodes] + [
        f"  {q(a)} -> {q(b)};" for a, b in edges] + ["}"]
    return "\n".join(lines)


@dataclass
class Effect:
    """An average causal effect ``E[Y | do(alternative)] - E[Y | do(reference)]``.

    From :meth:`Scm.effect` on a given model: ``estimate`` (the Monte-Carlo average, or the
    closed form) and ``mc_error`` (its Monte-Carlo error, not a statistical one). With ``data=``
    the model is refit in every bootstrap resample: ``standard_error``, ``confidence_interval``
    and ``intervals`` then carry the sampling uncertainty.
    """

    estimate: float
    mc_error: float
    backend: str
    standard_error: Optional[float] = None
    confidence_interval: Any = None
    intervals: Dict[str, Any] = field(default_factory=dict)
    bootstrap_distribution: Optional[np.ndarray] = None
    warnings: List[str] = field(default_factory=list)
    details: Dict[str, Any] = field(default_factory=dict, repr=False)


class Scm:
    """A structural causal model (scm-json v1).

    Build one from scm-json (a dict, JSON text or a file path) or fit one to data with
    :meth:`Scm.fit`; then :meth:`sweep` many intervention settings, estimate an
    :meth:`effect`, or compute :meth:`counterfactuals` of observed rows.

    >>> import numpy as np, ceteris
    >>> m = ceteris.Scm({"format": "scm-json/v1", "nodes": [
    ...     {"name": "X", "parents": [], "type": "linear", "intercept": 0,
    ...      "coefficients": {}, "noise": {"dist": "normal", "scale": 1}},
    ...     {"name": "Y", "parents": ["X"], "type": "linear", "intercept": 0,
    ...      "coefficients": {"X": 2}, "noise": {"dist": "normal", "scale": 1}}]})
    >>> round(m.effect({"X": 1}, {"X": 0}, "Y", backend="cpu").estimate, 6)
    2.0
    """

    def __init__(self, model: Union[Mapping[str, Any], str, "os.PathLike[str]"]) -> None:
        if isinstance(model, _core._Scm):
            self._m = model
            return
        if isinstance(model, Mapping):
            text = json.dumps(model)
        else:
            s = os.fspath(model)
            if s.lstrip().startswith("{"):
                text = s
            else:
                with open(s, encoding="utf-8") as f:
                    text = f.read()
        self._m = _core._Scm.from_json(text)

    @classmethod
    def fit(cls, data: Any, graph: Any, kind: str = "linear", *, dropna: bool = False) -> "Scm":
        """Fits the model of ``graph`` to ``data`` (least squares per node; a 0/1 node gets a
        logistic fit). ``kind``: ``linear`` or ``additive`` (tanh and square basis terms).
        ``graph``: ``"Z->X->Y, Z->Y"``, JSON, DOT, a file, ``{node: [parents]}``, ``(from,
        to)`` edges, a networkx DiGraph or a :class:`ceteris.DiscoveryResult` (fully
        oriented).

        >>> import numpy as np, ceteris
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=2000); y = 1 + 3 * x + rng.normal(size=2000)
        >>> m = ceteris.Scm.fit({"x": x, "y": y}, "x->y")
        >>> abs(m.effect({"x": 1}, {"x": 0}, "y").estimate - 3) < 0.1
        True
        """
        text = _graph_text(graph)
        # only the graph's columns are read (the others may hold anything), as the CLI's fit
        nodes = [n for n, _ in _core.graph_parents(text)]
        table = to_table(data, used=nodes, dropna=dropna)
        obj = cls.__new__(cls)
        obj._m = _core._Scm.fit(table.names, table.columns, text, kind)
        return obj

    @property
    def nodes(self) -> List[str]:
        """Node names in topological order."""
        return list(self._m.names())

    def to_json(self) -> str:
        """The model as scm-json v1 text."""
        return self._m.to_json()

    def to_dict(self) -> Dict[str, Any]:
        """The model as an scm-json v1 dict."""
        return json.loads(self._m.to_json())

    def __repr__(self) -> str:
        return f"Scm(nodes={self.nodes!r})"

    def sweep(self, outcome: str, settings: Union[Sequence[Setting], Mapping[str, Sequence[float]]],
              *, shifts: Optional[Sequence[Setting]] = None, samples: int = 10_000,
              quantiles: Sequence[float] = (), seed: int = 0,
              common_random_numbers: bool = True, nodes: Sequence[str] = (),
              backend: str = "auto", progress: Any = False) -> Any:
        """Samples ``outcome`` under many intervention settings in one call.

        ``settings``: a list of ``{node: value}`` dicts (atomic ``do``), or a dict of value lists
        ``{node: [v1, v2, ...]}`` whose product is swept. ``shifts``: per setting, ``{node:
        delta}`` shift interventions (same length as the settings). Returns a pandas DataFrame,
        one row per setting: the intervention values (one column per node, ``shift:NODE`` for
        shifts), ``mean``, ``variance``, ``mc_error`` (Monte-Carlo error of the mean) and one
        ``q{p}`` column per quantile. ``common_random_numbers`` (the default, as the library's
        and the CLI's): every setting sees the same noise draws, so differences between settings
        are precise and a dose-response curve is smooth; each point's mean, variance and
        ``mc_error`` are the same estimates either way. ``False``: each setting its own draws.

        >>> import ceteris
        >>> m = ceteris.Scm.fit({"x": [0., 1, 2, 3, 4, 5], "y": [1., 3.1, 4.9, 7.2, 9, 10.8]},
        ...                     "x->y")
        >>> df = m.sweep("y", {"x": [0, 1, 2]}, samples=2000, quantiles=[0.5])
        >>> list(df.columns)
        ['x', 'mean', 'variance', 'mc_error', 'q0.5']
        """
        sets = _sweep_sets(settings, shifts)
        cb, bar = _progress.make(progress, "settings")
        try:
            raw = self._m.sweep(outcome, sets, samples=int(samples),
                                quantiles=[float(q) for q in quantiles], seed=int(seed),
                                common_random_numbers=common_random_numbers,
                                nodes=list(nodes), backend=backend, progress=cb)
        finally:
            bar.close()
        return _sweep_frame(json.loads(raw))

    def effect(self, alternative: Setting, reference: Setting, outcome: str, *,
               alternative_shift: Optional[Setting] = None,
               reference_shift: Optional[Setting] = None, samples: Optional[int] = None,
               seed: int = 0, backend: str = "auto", data: Any = None, graph: Any = None,
               kind: str = "linear", n_resamples: int = 999, confidence_level: float = 0.95,
               method: Union[str, Sequence[str]] = "percentile", scheme: str = "iid",
               strata: Optional[str] = None, cluster: Optional[str] = None,
               block_length: Optional[float] = None, bootstrap_distribution: bool = False,
               dropna: bool = False, progress: Any = False) -> Effect:
        """The average causal effect of ``do(alternative)`` against ``do(reference)`` on
        ``outcome`` (``{node: value}`` dicts; ``*_shift`` add shift interventions).

        Without ``data``: the model's own Monte-Carlo (common random numbers, ``samples``
        defaults to 100 000), with its Monte-Carlo error. With ``data`` (and the ``graph`` and
        ``kind`` the model was fit with): the model is refit on every bootstrap resample of the
        data and the result carries ``standard_error`` and intervals (the CLI's ``effect
        --data``).
        """
        alt = _set(alternative, alternative_shift)
        ref = _set(reference, reference_shift)
        if data is None:
            for name, given in [("graph", graph), ("strata", strata), ("cluster", cluster),
                                ("block_length", block_length)]:
                if given is not None:
                    raise ParameterError(f"invalid parameter `{name}`: used only with data=")
            d = json.loads(self._m.effect(alt, ref, outcome,
                                          samples=int(samples or 100_000), seed=int(seed),
                                          backend=backend))
            return Effect(estimate=float(d["ace"]), mc_error=float(d["mc_error"]),
                          backend=d["backend"], details=d)
        from ._bootstrap import ConfidenceInterval, _methods

        methods = _methods(method)
        text = _graph_text(graph) if graph is not None else _graph_of(self)
        nodes = [n for n, _ in _core.graph_parents(text)]
        labels = [c for c in (strata, cluster) if c]
        table = to_table(data, used=nodes + labels, labels=labels, dropna=dropna)
        cb, bar = _progress.make(progress, "resamples")
        try:
            raw, reps = _core.effect_interval(
                table.names, table.columns, text, kind, outcome, alt, ref,
                samples=None if samples is None else int(samples), scheme=scheme,
                strata=strata, cluster=cluster, block_length=block_length,
                n_resamples=int(n_resamples), level=confidence_level, methods=methods,
                seed=int(seed), keep_replicates=bootstrap_distribution, backend=backend,
                progress=cb)
        finally:
            bar.close()
        d = json.loads(raw)
        intervals = {k: ConfidenceInterval(float(v[0]), float(v[1]))
                     for k, v in d["intervals"].items()}
        first = next((m for m in methods if m in intervals), None)
        return Effect(estimate=float(d["estimate"]), mc_error=float(d["mc_error"]),
                      backend=d["backend"], standard_error=float(d["std_error"]),
                      confidence_interval=intervals.get(first) if first else None,
                      intervals=intervals, bootstrap_distribution=reps,
                      warnings=list(d.get("warnings", [])), details=d)

    def counterfactuals(self, data: Any, do: Optional[Setting] = None, *,
                        shift: Optional[Setting] = None, noise: bool = False,
                        dropna: bool = False) -> Any:
        """The counterfactual value of every node for every row of ``data`` (which observes
        every node) under ``do`` (``{node: value}``) and ``shift`` (``{node: delta}``): the
        noises are abducted from each row, the interventions applied, the model re-run.

        Returns a DataFrame with the data's index (and, with ``noise=True``, a second one of the
        abducted noises).

        >>> import ceteris
        >>> m = ceteris.Scm.fit({"x": [0., 1, 2, 3], "y": [1., 3.2, 4.8, 7]}, "x->y")
        >>> cf = m.counterfactuals({"x": [1.0], "y": [3.0]}, do={"x": 2})
        >>> slope = m.effect({"x": 1}, {"x": 0}, "y").estimate  # y' = y + slope * (2 - 1)
        >>> abs(float(cf["y"][0]) - (3.0 + slope)) < 1e-9
        True
        """
        table = to_table(data, used=self.nodes, dropna=dropna)
        vals, noises = self._m.counterfactuals(table.names, table.columns, _set(do, shift))
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            out = {k: v for k, v in vals}
            return (out, {k: v for k, v in noises}) if noise else out
        df = pd.DataFrame({k: v for k, v in vals}, index=table.index)
        if noise:
            return df, pd.DataFrame({k: v for k, v in noises}, index=table.index)
        return df


def _graph_of(m: Scm) -> str:
    d = m.to_dict()
    return _graph_text({n["name"]: n.get("parents", []) for n in d["nodes"]})


def _sweep_sets(settings: Any, shifts: Optional[Sequence[Setting]]) -> List[Any]:
    """A sweep's settings (a list of dicts, or a dict of value lists whose product is swept) as
    ``(node, kind, value)`` sets."""
    if isinstance(settings, Mapping):
        keys = list(settings)
        grid = [dict(zip(keys, vals)) for vals in
                itertools.product(*[list(settings[k]) for k in keys])]
    else:
        grid = [dict(s) for s in settings]
    if shifts is not None and len(shifts) != len(grid):
        raise ParameterError(f"invalid parameter `shifts`: {len(shifts)} shift sets for "
                             f"{len(grid)} settings")
    return [_set(s, shifts[i] if shifts is not None else None) for i, s in enumerate(grid)]


def _sweep_frame(d: Dict[str, Any]) -> Any:
    """A sweep result's JSON as :meth:`Scm.sweep`'s DataFrame."""
    rows = []
    for pt in d["points"]:
        row: Dict[str, Any] = dict(pt["interventions"])
        row.update({f"shift:{k}": v for k, v in pt["shifts"].items()})
        row.update(mean=pt["mean"], variance=pt["variance"], mc_error=pt["mc_error"])
        row.update({f"q{k}": v for k, v in pt["quantiles"].items()})
        for node, s in pt.get("nodes", {}).items():
            row.update({f"{node}:mean": s["mean"], f"{node}:variance": s["variance"],
                        f"{node}:mc_error": s["mc_error"]})
            row.update({f"{node}:q{k}": v for k, v in s["quantiles"].items()})
        rows.append(row)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return rows
    df = pd.DataFrame(rows)
    df.attrs.update(outcome=d["outcome"], samples=d["samples"], backend=d["backend"],
                    seconds=d["seconds"])
    return df
