"""The DoWhy drop-in (``ceteris.dowhy``): DoWhy gcm's test signature, the shapes DoWhy passes,
and ``falsify.falsify_graph`` run on ceteris' tests against DoWhy's own kernel test."""

import functools
import pickle

import numpy as np
import pytest

import ceteris
import ceteris.dowhy as cd


def _chain(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = np.tanh(a) + 0.5 * rng.normal(size=n)
    c = b ** 2 + 0.5 * rng.normal(size=n)
    return a, b, c


def test_signature_and_shapes():
    a, b, c = _chain()
    p1 = cd.kci(a, c)  # (1-D, 1-D): falsify's independence test
    assert p1 < 0.01
    assert cd.kci(a, c, b) > 0.01  # (1-D, 1-D, 2-D or 1-D)
    assert cd.kci(a, c, b.reshape(-1, 1)) == cd.kci(a, c, b)
    # (1-D, 2-D, 2-D) as refute_causal_structure; (2-D, 1-D) as refute_invertible_model
    assert 0 <= cd.kci(a, np.column_stack([c, b]), b[:, None] * 0 + a[:, None]) <= 1
    assert cd.kci(np.column_stack([a, b]), c) < 0.01
    assert cd.kci(a, c) == pytest.approx(ceteris.kci(a, c).pvalue, rel=1e-12)
    assert cd.fisherz(a, b) < 0.01
    assert cd.kci(np.ones(300), c) == 1.0  # as DoWhy's kernel_based
    with pytest.raises(ceteris.ParameterError, match="3-D"):
        cd.kci(np.zeros((10, 2, 2)), c[:10])
    assert isinstance(cd.rcit(a, c, b), float)


def test_pickles_by_reference_and_seeds_from_numpy():
    f = pickle.loads(pickle.dumps(functools.partial(cd.rcit, backend="cpu")))
    a, b, c = _chain(seed=1)
    np.random.seed(7)
    p = f(a, c, b)
    np.random.seed(7)
    assert f(a, c, b) == p  # DoWhy seeds np.random before each test: reproducible


def test_falsify_graph_with_ceteris_tests():
    falsify = pytest.importorskip("dowhy.gcm.falsify", reason="DoWhy is not installed")
    import networkx as nx
    import pandas as pd

    a, b, c = _chain(n=400, seed=2)
    data = pd.DataFrame({"a": a, "b": b, "c": c})
    right = nx.DiGraph([("a", "b"), ("b", "c")])
    wrong = nx.DiGraph([("a", "c"), ("c", "b")])  # says a ⊥ b | c, which the data refute
    kw = dict(independence_test=cd.kci, conditional_independence_test=cd.kci,
              n_permutations=20, n_jobs=1, plot_histogram=False)
    np.random.seed(0)
    r_right = falsify.falsify_graph(right, data, **kw)
    np.random.seed(0)
    r_wrong = falsify.falsify_graph(wrong, data, **kw)
    from dowhy.gcm.falsify import FalsifyConst as F

    def violations(r):
        return r.summary[F.VALIDATE_LMC][F.GIVEN_VIOLATIONS]

    assert violations(r_right) == 0
    assert violations(r_wrong) >= 1
    # DoWhy's own kernel test finds the same violations on this data
    from dowhy.gcm.independence_test import kernel_based

    np.random.seed(0)
    r_ref = falsify.falsify_graph(wrong, data, independence_test=kernel_based,
                              conditional_independence_test=kernel_based, n_permutations=20,
                              n_jobs=1, plot_histogram=False)
    assert violations(r_ref) == violations(r_wrong)
