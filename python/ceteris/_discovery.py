"""``ceteris.discover``: PC-stable (and CD-NOD, FCI) on batched independence tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _core, _progress
from ._core import ParameterError
from ._data import frame_columns, to_table
from ._independence import _KNOWN, is_discrete, test_options

__all__ = ["discover", "DiscoveryResult"]


@dataclass
class DiscoveryResult:
    """The graph :func:`ceteris.discover` found (a CPDAG for PC, a PAG for FCI).

    Attributes
    ----------
    nodes : list of str
        The variables (CD-NOD's domain column last).
    edge_list : list of dict
        ``{"from", "to", "kind", "marks"}`` with kind ``directed``, ``undirected`` or
        ``bidirected``, and for FCI also ``partially-directed`` (``o->``), ``nondirected``
        (``o-o``) or ``partially-undirected`` (``o-``); ``marks`` is ``[mark at from, mark at
        to]``, each ``tail``, ``arrow`` or ``circle``.
    marks : numpy.ndarray
        ``p x p`` endpoint marks in causal-learn's ``cg.G.graph`` encoding (``marks[i, j]`` is
        the mark at ``i``'s end of the edge ``i *-* j``): ``i -> j`` is ``marks[i, j] = -1,
        marks[j, i] = 1``; undirected ``-1, -1``; bidirected ``1, 1``; a circle (FCI) is ``2``.
    sepsets : dict
        ``"x|y" -> separating set`` of every removed pair.
    tests_run, test, alpha, backend, seconds, changing, details
        The rest of the library's result.

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=400); b = a + rng.normal(size=400)
    >>> g = ceteris.discover({"a": a, "b": b}, test="fisherz")
    >>> g.edges.to_dict("records")
    [{'from': 'a', 'to': 'b', 'kind': 'undirected'}]
    >>> print(g.to_dot().splitlines()[0])
    digraph cpdag {
    """

    nodes: List[str]
    edge_list: List[Dict[str, str]]
    marks: np.ndarray
    sepsets: Dict[str, List[str]]
    tests_run: int
    test: str
    alpha: float
    backend: str
    seconds: float
    changing: Optional[List[str]] = None
    levels: Dict[str, List[str]] = field(default_factory=dict)
    rows_dropped: int = 0
    dot: str = field(default="", repr=False)
    details: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def edges(self) -> Any:
        """The edges as a pandas DataFrame (columns ``from``, ``to``, ``kind``); a list of dicts
        when pandas is not installed."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover
            return list(self.edge_list)
        return pd.DataFrame(self.edge_list, columns=["from", "to", "kind"])

    def to_dot(self) -> str:
        """Graphviz text (undirected edges ``[dir=none]``, bidirected ``[dir=both]``), which
        ``ceteris.Scm.fit`` and the CLI read back."""
        return self.dot

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` on the column names: a directed edge once, any other edge both
        ways, each with its ``kind`` attribute (needs networkx)."""
        try:
            import networkx as nx
        except ImportError as e:
            raise ImportError("to_networkx needs networkx (pip install networkx)") from e
        g = nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for e in self.edge_list:
            g.add_edge(e["from"], e["to"], kind=e["kind"])
            if e["kind"] != "directed":
                g.add_edge(e["to"], e["from"], kind=e["kind"])
        return g

    def to_causallearn(self) -> Any:
        """The graph as a causal-learn ``GeneralGraph`` on the column names, whose ``.graph``
        equals :attr:`marks` (causal-learn's ``cg.G``; needs causal-learn)."""
        from .causallearn import to_general_graph

        return to_general_graph(self.nodes, self.marks)


def discover(
    data: Any,
    test: str = "kci",
    alpha: float = 0.05,
    algorithm: str = "pc",
    *,
    columns: Optional[Sequence[str]] = None,
    max_depth: Optional[int] = None,
    domain: Optional[str] = None,
    forbidden: Sequence[Tuple[str, str]] = (),
    required: Sequence[Tuple[str, str]] = (),
    tiers: Sequence[Sequence[str]] = (),
    backend: str = "auto",
    dropna: bool = False,
    progress: Any = False,
    **options: Any,
) -> DiscoveryResult:
    """Causal discovery: PC-stable, CD-NOD when ``domain`` names a domain/time column, or FCI
    (``algorithm="fci"``: a partial ancestral graph that allows latent confounders).

    With the same test and p-values the graph equals causal-learn's ``pc(data, alpha,
    indep_test, stable=True, uc_rule=0, uc_priority=2)`` (PC), ``cdnod(...)`` (CD-NOD) or
    ``fci(data, indep_test, alpha)`` (FCI: :attr:`DiscoveryResult.marks` is its ``G.graph``,
    circles ``2``). FCI takes ``alpha``, ``max_depth``, ``forbidden``, ``required``, ``tiers``
    and the test options; ``domain`` with FCI is a :class:`ceteris.ParameterError`. ``test``: ``kci``, ``hsic``,
    ``rcot``, ``rcit``, ``fisherz``, ``hsic-u``, ``chisq``, ``gsq`` (discrete columns, text
    allowed), ``dg`` (mixed: text columns discrete, numeric ones continuous); test options
    (``kernel``, ``width``, ``null``,
    ...) as :func:`ceteris.kci`. ``forbidden``/``required``: ``(from, to)`` edges; ``tiers``: a
    tier order (no edge from a later tier to an earlier one). ``progress``: ``True`` for a tqdm
    bar per depth, or a callable ``f(depth, done, total)``.

    >>> import numpy as np, ceteris
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=500); b = rng.normal(size=500)
    >>> c = a + b + 0.5 * rng.normal(size=500)
    >>> g = ceteris.discover({"a": a, "b": b, "c": c}, test="fisherz")
    >>> sorted((e["from"], e["to"], e["kind"]) for e in g.edge_list)
    [('a', 'c', 'directed'), ('b', 'c', 'directed')]

    FCI on the same data: with no other variable to rule out a hidden common cause of ``a`` and
    ``c`` (or of ``b`` and ``c``), the arrowheads at ``c`` stay and the other ends are circles:

    >>> f = ceteris.discover({"a": a, "b": b, "c": c}, test="fisherz", algorithm="fci")
    >>> sorted((e["from"], e["to"], e["kind"]) for e in f.edge_list)
    [('a', 'c', 'partially-directed'), ('b', 'c', 'partially-directed')]
    >>> f.marks.tolist()
    [[0, 0, 2], [0, 0, 2], [1, 1, 0]]
    """
    if algorithm not in ("pc", "cdnod", "fci"):
        raise ParameterError(f"invalid parameter `algorithm`: unknown algorithm `{algorithm}` "
                             "(pc, cdnod, fci)")
    if algorithm == "fci" and domain is not None:
        raise ParameterError("invalid parameter `domain`: `domain` is CD-NOD's; FCI takes alpha, "
                             "max_depth, forbidden, required, tiers and the test options")
    if algorithm == "cdnod" and domain is None:
        raise ParameterError("invalid parameter `domain`: cdnod needs the domain column")
    unknown = [k for k in options if k not in _KNOWN]
    if unknown:
        raise ParameterError(f"invalid parameter `{unknown[0]}`: not an option of discover")
    opts = test_options(test, **options)
    keep_missing = opts["testwise_deletion"] is not None and np.isnan(opts["testwise_deletion"])
    nodes = list(columns) if columns is not None else [
        n for n in frame_columns(data) if n != domain]
    used = nodes + ([domain] if domain else [])
    labels = used if is_discrete(test) else ([domain] if domain else [])
    table = to_table(data, used=used, labels=labels, dropna=dropna, keep_missing=keep_missing)
    cb, bar = _progress.make(progress, f"{test} tests")
    try:
        raw, marks, dot = _core.discover(
            table.names, table.columns, nodes, opts, alpha=alpha, max_depth=max_depth,
            domain=domain, forbidden=[tuple(e) for e in forbidden],
            required=[tuple(e) for e in required], tiers=[list(t) for t in tiers],
            backend=backend, progress=cb, levels=table.levels, algorithm=algorithm)
    finally:
        bar.close()
    d = json.loads(raw)
    p = len(d["nodes"])
    return DiscoveryResult(
        nodes=d["nodes"], edge_list=d["edges"],
        marks=np.asarray(marks, dtype=np.int8).reshape(p, p), sepsets=d.get("sepsets", {}),
        tests_run=int(d["tests_run"]), test=d["test"], alpha=float(d["alpha"]),
        backend=d["backend"], seconds=float(d["seconds"]), changing=d.get("changing"),
        levels=table.levels, rows_dropped=table.rows_dropped, dot=dot, details=d)
