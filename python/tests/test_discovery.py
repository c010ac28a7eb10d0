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


@pytest.fixture(scope="module")
def latent():
    """a -> b <- L -> c <- d with L hidden, and c -> e: FCI's PAG has a o-> b <-> c <-o d and
    c -> e (visible: no confounder), which PC cannot express."""
    rng = np.random.default_rng(3)
    n = 2000
    a, d, hidden = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    b = a + hidden + 0.6 * rng.normal(size=n)
    c = d + hidden + 0.6 * rng.normal(size=n)
    e = 0.9 * c + 0.6 * rng.normal(size=n)
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def test_fci_equals_causallearns_fci(latent):
    pytest.importorskip("causallearn")
    from causallearn.search.ConstraintBased.FCI import fci

    g = ceteris.discover(latent, test="fisherz", alpha=0.05, algorithm="fci", backend="cpu")
    data = np.column_stack([latent[k] for k in g.nodes])
    ref, _ = fci(data, "fisherz", 0.05, show_progress=False, verbose=False)
    assert g.marks.dtype == np.int8
    assert g.marks.tolist() == ref.graph.tolist()
    assert g.to_causallearn().graph.tolist() == ref.graph.tolist()
    # the expected PAG, so the comparison above is not between two empty graphs
    assert _edges(g) == [("a", "b", "partially-directed"), ("b", "c", "bidirected"),
                         ("c", "e", "directed"), ("d", "c", "partially-directed")]
    bc = next(e for e in g.edge_list if e["kind"] == "bidirected")
    assert bc["marks"] == ["arrow", "arrow"]
    i = {n: k for k, n in enumerate(g.nodes)}
    assert g.marks[i["a"], i["b"]] == 2 and g.marks[i["b"], i["a"]] == 1  # a o-> b
    assert "odot" in g.to_dot()
    nx = pytest.importorskip("networkx")
    assert isinstance(g.to_networkx(), nx.DiGraph)


def _cli():
    import os
    import shutil

    exe = os.environ.get("CETERIS_CLI")
    if not exe:
        here = os.path.dirname(os.path.abspath(__file__))
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "..", "target"))
        exe = os.path.join(target, "release", "ceteris")
    if not os.path.isfile(exe):
        exe = shutil.which("ceteris")
    if not exe:
        pytest.skip("the ceteris CLI is not built (cargo build --release; or set CETERIS_CLI)")
    return exe


def test_fci_equals_the_cli(latent, tmp_path):
    import json
    import subprocess

    exe = _cli()
    path = tmp_path / "latent.csv"
    names = list(latent)
    np.savetxt(path, np.column_stack([latent[k] for k in names]), delimiter=",",
               header=",".join(names), comments="", fmt="%.17g")
    out = subprocess.run([exe, "discover", "--data", str(path), "--algorithm", "fci", "--test", "fisherz",
                          "--backend", "cpu", "--format", "json"], check=True,
                         capture_output=True, text=True).stdout
    cli = json.loads(out)
    g = ceteris.discover(latent, test="fisherz", algorithm="fci", backend="cpu")
    assert cli["nodes"] == g.nodes
    assert cli["edges"] == g.edge_list
    assert cli["sepsets"] == g.sepsets
    assert cli["tests_run"] == g.tests_run


def test_fci_refuses_what_it_would_ignore(latent):
    with pytest.raises(ceteris.ParameterError, match="domain"):
        ceteris.discover({**latent, "env": np.arange(2000) % 2}, test="fisherz",
                         algorithm="fci", domain="env")
    with pytest.raises(ceteris.ParameterError, match="fci"):
        ceteris.discover(latent, test="fisherz", algorithm="ges")
