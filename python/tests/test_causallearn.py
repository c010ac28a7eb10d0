"""The causal-learn drop-in (``ceteris.causallearn``): causal-learn's own ``pc``, ``cdnod`` and
``fci`` on ceteris' tests give causal-learn's graphs, on the cases causal-learn itself produced
(tests/reference/discovery_reference.json and pc_settings_reference.json, made by causal-learn
0.1.4.8: see their generators), and on runs of causal-learn's own tests here."""

import json

import numpy as np
import pytest

import ceteris
import ceteris.causallearn as ccl

cl = pytest.importorskip("causallearn", reason="causal-learn is not installed")
from causallearn.search.ConstraintBased.CDNOD import cdnod  # noqa: E402
from causallearn.search.ConstraintBased.FCI import fci  # noqa: E402
from causallearn.search.ConstraintBased.PC import pc  # noqa: E402
from causallearn.utils import cit  # noqa: E402


@pytest.fixture(scope="module")
def discovery_cases(reference_dir):
    with open(reference_dir / "discovery_reference.json") as f:
        return {c["name"]: c for c in json.load(f)["cases"]}


@pytest.fixture(scope="module")
def settings_cases(reference_dir):
    with open(reference_dir / "pc_settings_reference.json") as f:
        return json.load(f)["cases"]


def _data(case):
    return np.asarray(case["data"], dtype=float).T  # stored column-major


@pytest.mark.parametrize("name", ["fisherz_0", "fisherz_3", "fisherz_6", "fisherz_13",
                                  "kci_5", "kci_6"])
def test_pc_same_graph_as_causallearn(discovery_cases, name):
    case = discovery_cases[name]
    with ccl.use(backend="cpu"):
        cg = pc(_data(case), case["alpha"], case["test"], stable=True, uc_rule=0, uc_priority=2,
                show_progress=False)
    assert type(cg.test).__name__ == f"Ceteris_{case['test']}"
    assert cg.G.graph.tolist() == case["graph"]


def test_pc_fisherz_pvalues_equal_causallearns(discovery_cases):
    """The p-values causal-learn recorded for its own Fisher-z, through the CIT interface."""
    case = discovery_cases["fisherz_6"]
    test = ccl.CIT(_data(case), "fisherz", backend="cpu")
    for x, y, s, p in case["pvalues"]:
        assert test(x, y, s) == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_cdnod_same_graph_as_causallearn(discovery_cases):
    for name in ("cdnod_fisherz", "cdnod_kci"):
        case = discovery_cases[name]
        c = np.asarray(case["domain"], dtype=float).reshape(-1, 1)
        with ccl.use(backend="cpu"):
            cg = cdnod(_data(case), c, case["alpha"], case["test"], stable=True, uc_rule=0,
                       uc_priority=2, show_progress=False)
        assert cg.G.graph.tolist() == case["graph"], name


def test_every_pc_setting_same_graph_as_causallearn(settings_cases):
    """stable, uc_rule and uc_priority are causal-learn's own code; chisq and gsq too."""
    runs = 0
    for case in settings_cases:
        data = _data(case)
        with ccl.use(backend="cpu"):
            for run in case["runs"]:
                if "error" in run:  # a setting causal-learn refuses (an AssertionError)
                    with pytest.raises(AssertionError):
                        pc(data, case["alpha"], case["test"], stable=run["stable"],
                           uc_rule=run["uc_rule"], uc_priority=run["uc_priority"],
                           show_progress=False)
                    continue
                cg = pc(data, case["alpha"], case["test"], stable=run["stable"],
                        uc_rule=run["uc_rule"], uc_priority=run["uc_priority"],
                        show_progress=False)
                assert cg.G.graph.tolist() == run["graph"], (case["name"], run)
                runs += 1
    assert runs > 100


def test_fci_same_graph_as_causallearns_own_test(discovery_cases):
    """fci has no stored reference: causal-learn's own fisherz run here is the reference."""
    case = discovery_cases["fisherz_6"]
    data = _data(case)
    g_ref, _ = fci(data, "fisherz", 0.05, show_progress=False, verbose=False)
    with ccl.use(backend="cpu"):
        g, _ = fci(data, "fisherz", 0.05, show_progress=False, verbose=False)
    assert g.graph.tolist() == g_ref.graph.tolist()


def test_use_restores_registry():
    before = dict(cit._custom_ci_tests)
    with ccl.use(["kci"]):
        assert cit._custom_ci_tests["kci"].__name__ == "Ceteris_kci"
        assert "fisherz" not in cit._custom_ci_tests or "fisherz" in before
    assert cit._custom_ci_tests == before
    with pytest.raises(RuntimeError):
        with ccl.use():
            raise RuntimeError("restored on errors too")
    assert cit._custom_ci_tests == before
    t = cit.CIT(np.random.default_rng(0).normal(size=(50, 3)), "fisherz")
    assert type(t).__name__ == "FisherZ"  # causal-learn's own again


def test_cit_interface_and_cache():
    rng = np.random.default_rng(1)
    z = rng.normal(size=400)
    data = np.column_stack([z + rng.normal(size=400), z + rng.normal(size=400), z])
    t = ccl.CIT(data, "kci", backend="cpu")
    assert isinstance(t, cit.CIT_Base) and t.method == "kci"
    p = t(1, 0, [2])
    assert "0;1|2" in t.pvalue_cache and t(0, 1, (2,)) == p
    assert p == pytest.approx(ceteris.kci(data[:, 0], data[:, 1], data[:, 2],
                                          backend="cpu").pvalue, rel=1e-12)
    # multi-column X for kci, as causal-learn's
    assert 0 <= t([0, 2], 1) <= 1 and "0.2;1" in t.pvalue_cache
    # causal-learn's KCI p-value on the same data (its own test): close, not bit-equal
    ref = cit.CIT(data, "kci")(0, 1, [2])
    assert p == pytest.approx(ref, abs=0.02)


def test_causallearn_options_map_or_are_refused():
    data = np.random.default_rng(2).normal(size=(200, 3))
    assert ccl.CIT(data, "kci", est_width="median")._opts["width"] == "median"
    assert ccl.CIT(data, "kci", kernelX="Linear", kernelY="Linear",
                   kernelZ="Linear")._opts["kernel"] == "linear"
    assert ccl.CIT(data, "rcit", approx="hbe")._opts["null"] == "hbe"
    with pytest.raises(ceteris.ParameterError, match="use_gp"):
        ccl.CIT(data, "kci", use_gp=True)
    with pytest.raises(ceteris.ParameterError, match="one kernel"):
        ccl.CIT(data, "kci", kernelX="Linear")
    with pytest.raises(ceteris.ParameterError, match="num_f"):
        ccl.CIT(data, "rcit", num_f=50)
    with pytest.raises(ceteris.ParameterError, match="mv_fisherz"):
        ccl.CIT(data, "mv_fisherz")
    with pytest.raises(ceteris.ParameterError, match="tests"):
        with ccl.use(["fastkci"]):
            pass


def test_singular_fisherz_is_a_value_error():
    x = np.random.default_rng(3).normal(size=100)
    t = ccl.CIT(np.column_stack([x, 2 * x, x + 1]), "fisherz")
    with pytest.raises(ValueError):
        t(0, 1, [2])


def test_discover_to_causallearn(discovery_cases):
    case = discovery_cases["fisherz_3"]
    data = _data(case)
    names = [f"X{i + 1}" for i in range(data.shape[1])]
    g = ceteris.discover({n: data[:, i] for i, n in enumerate(names)}, test="fisherz",
                         alpha=case["alpha"], backend="cpu")
    G = g.to_causallearn()
    assert G.graph.tolist() == case["graph"]
    assert [n.get_name() for n in G.get_nodes()] == names
    # causal-learn's own pc on the same data: the same GeneralGraph edges
    cg = pc(data, case["alpha"], "fisherz", stable=True, uc_rule=0, uc_priority=2,
            show_progress=False)
    assert sorted(map(str, G.get_graph_edges())) == sorted(map(str, cg.G.get_graph_edges()))
