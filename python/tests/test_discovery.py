"""ceteris.discover: a collider found from data, the result's forms (DataFrame, DOT, networkx,
causal-learn's endpoint marks) and knowledge."""

import numpy as np
import pytest

import ceteris


@pytest.fixture(scope="module")
def collider():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 600
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    c = a + b + 0.5 * rng.normal(size=n)
    d = 0.8 * c + 0.5 * rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d})


def _edges(g):
    return sorted((e["from"], e["to"], e["kind"]) for e in g.edge_list)


@pytest.mark.parametrize("test", ["fisherz", "kci"])
def test_collider_and_meek(collider, test):
    g = ceteris.discover(collider, test=test, alpha=0.01, backend="cpu")
    assert _edges(g) == [("a", "c", "directed"), ("b", "c", "directed"),
                         ("c", "d", "directed")]
    df = g.edges
    assert list(df.columns) == ["from", "to", "kind"] and len(df) == 3
    i = {n: k for k, n in enumerate(g.nodes)}
    # causal-learn's encoding: a -> c is marks[a, c] = -1 (tail), marks[c, a] = 1 (arrow)
    assert g.marks[i["a"], i["c"]] == -1 and g.marks[i["c"], i["a"]] == 1
    assert g.marks[i["a"], i["b"]] == 0
    assert g.to_dot().startswith("digraph")
    assert "a|b" in g.sepsets or "b|a" in g.sepsets


def test_networkx(collider):
    nx = pytest.importorskip("networkx")
    g = ceteris.discover(collider, test="fisherz", alpha=0.01, backend="cpu").to_networkx()
    assert isinstance(g, nx.DiGraph)
    assert set(g.edges()) == {("a", "c"), ("b", "c"), ("c", "d")}


def test_knowledge_and_columns(collider):
    g = ceteris.discover(collider, test="fisherz", columns=["a", "b", "c"],
                         forbidden=[("a", "c")], backend="cpu")
    assert g.nodes == ["a", "b", "c"]
    assert ("a", "c", "directed") not in _edges(g)
    with pytest.raises(ceteris.UnknownColumnError):
        ceteris.discover(collider, columns=["a", "zz"])
    with pytest.raises(ceteris.ParameterError):
        ceteris.discover(collider, algorithm="ges")


def test_fit_on_discovered_graph(collider):
    g = ceteris.discover(collider, test="fisherz", alpha=0.01, backend="cpu")
    m = ceteris.Scm.fit(collider, g)
    assert set(m.nodes) == {"a", "b", "c", "d"}
    eff = m.effect({"a": 1.0}, {"a": 0.0}, "d", backend="cpu")
    assert eff.estimate == pytest.approx(0.8, abs=0.1)


def test_progress_per_depth(collider):
    seen = []
    ceteris.discover(collider, test="fisherz", backend="cpu",
                     progress=lambda depth, done, total: seen.append((depth, done, total)))
    assert seen and seen[0][0] == 0
    assert any(d == t for _, d, t in seen)


def test_discrete_collider_with_text_labels():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(7)
    n = 3000
    a = rng.integers(0, 2, size=n)
    b = rng.integers(0, 2, size=n)
    c = np.where(rng.uniform(size=n) < 0.85, a + b, rng.integers(0, 3, size=n))
    df = pd.DataFrame({"a": np.array(["no", "yes"], dtype=object)[a], "b": b.astype(bool),
                       "c": c})
    for test in ("chisq", "gsq"):
        g = ceteris.discover(df, test=test, alpha=0.01, backend="cpu")
        assert _edges(g) == [("a", "c", "directed"), ("b", "c", "directed")], test
