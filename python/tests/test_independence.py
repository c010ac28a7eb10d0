"""Independence tests: fisherz against numpy/scipy partial correlation, KCI against the stored
causal-learn references (tests/reference/independence_reference.json), the batch call against
single calls, and the input rules."""

import json
import math

import numpy as np
import pytest
import scipy.stats

import ceteris
import pandas as pd


def _fisherz_reference(x, y, z):
    """Fisher's z of the partial correlation of x and y given z: residuals of least squares on
    [1, z], their Pearson correlation r, z = atanh(r) sqrt(n - |Z| - 3), two-sided normal p."""
    n = len(x)
    design = np.column_stack([np.ones(n)] + ([z] if z is not None and z.ndim == 1 else
                                             ([] if z is None else [z])))
    rx = x - design @ np.linalg.lstsq(design, x, rcond=None)[0]
    ry = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r = np.corrcoef(rx, ry)[0, 1]
    k = design.shape[1] - 1
    stat = math.atanh(r) * math.sqrt(n - k - 3)
    return stat, 2 * scipy.stats.norm.sf(abs(stat))


@pytest.mark.parametrize("conditional", [False, True])
def test_fisherz_matches_partial_correlation(conditional):
    rng = np.random.default_rng(11)
    n = 250
    z = rng.normal(size=(n, 2))
    x = z @ [0.8, -0.3] + rng.normal(size=n)
    y = z @ [0.5, 0.6] + 0.2 * x + rng.normal(size=n)
    zz = z if conditional else None
    r = ceteris.fisherz(x, y, zz, backend="cpu")
    stat, p = _fisherz_reference(x, y, zz)
    assert abs(r.statistic) == pytest.approx(abs(stat), rel=1e-9)
    assert r.pvalue == pytest.approx(p, rel=1e-7, abs=1e-12)
    assert r.n == n and r.test == "fisherz"
    s, pv = r  # unpacks like scipy's results
    assert (s, pv) == (r.statistic, r.p_value)


def test_kci_matches_causal_learn_references(reference_dir):
    doc = json.loads((reference_dir / "independence_reference.json").read_text())
    assert len(doc["cases"]) >= 20
    for case in doc["cases"]:
        x = np.array(case["x"]).T
        y = np.array(case["y"]).T
        z = np.array(case["z"]).T if case["z"] else None
        r = ceteris.kci(x, y, z, width=case["width"], backend="cpu")
        assert r.statistic == pytest.approx(case["statistic"], rel=1e-6), case["name"]
        assert abs(r.pvalue - case["p_value"]) <= 1e-4, case["name"]


def test_column_names_and_batch_equal_single_calls():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    n = 200
    z = rng.normal(size=n)
    df = pd.DataFrame({"x": np.tanh(z) + 0.3 * rng.normal(size=n),
                       "y": z ** 2 + 0.3 * rng.normal(size=n), "z": z})
    single = [ceteris.kci("x", "y", data=df, backend="cpu"),
              ceteris.kci("x", "y", "z", data=df, backend="cpu"),
              ceteris.kci(["x", "z"], "y", data=df, backend="cpu")]
    batch = ceteris.independence_batch(df, [("x", "y"), ("x", "y", ["z"]), (["x", "z"], "y")],
                                       test="kci", backend="cpu")
    for a, b in zip(single, batch):
        assert a.pvalue == pytest.approx(b.pvalue, rel=1e-9, abs=1e-12)
        assert a.statistic == pytest.approx(b.statistic, rel=1e-9)
    assert batch[1].z == ["z"] and batch[2].x == ["x", "z"]
    assert batch[0].pvalue < 0.01


def test_batch_errors_raise_or_return():
    data = {"a": np.arange(50.0), "b": np.sin(np.arange(50.0))}
    with pytest.raises(ceteris.UnknownColumnError):
        ceteris.independence_batch(data, [("a", "nope")])
    out = ceteris.independence_batch(data, [("a", "b"), ("a", "a")], test="fisherz",
                                     errors="return")
    assert isinstance(out[0], ceteris.TestResult)


@pytest.mark.parametrize("fn", [ceteris.hsic, ceteris.rcot, ceteris.rcit, ceteris.kci,
                                ceteris.hsic_u])
def test_each_test_detects_dependence(fn):
    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    y = np.cos(2 * x) + 0.2 * rng.normal(size=400)
    r = fn(x, y, backend="cpu")
    assert 0.0 <= r.pvalue < 0.01 and math.isfinite(r.statistic)
    w = rng.normal(size=400)
    assert fn(x, w, backend="cpu").pvalue > 1e-3


def test_options_and_errors():
    x = np.random.default_rng(0).normal(size=100)
    r = ceteris.hsic(x, x ** 2, null="permutation", permutations=200, seed=4, backend="cpu")
    assert r.null.startswith("permutation")
    with pytest.raises(ceteris.ParameterError, match="kernel"):
        ceteris.kci(x, x, kernel="cubic")
    with pytest.raises(ceteris.ParameterError, match="bogus"):
        ceteris.kci(x, x, bogus=1)
    with pytest.raises(ceteris.CeterisError):
        ceteris.kci(x, x[:50])
    assert issubclass(ceteris.CeterisError, ValueError)


def test_batch_as_frame():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(8)
    z = rng.normal(size=200)
    df = pd.DataFrame({"x": z + rng.normal(size=200), "y": z + rng.normal(size=200), "z": z})
    out = ceteris.independence_batch(df, [("x", "y"), ("x", "y", "z"), ("x", "x")],
                                     test="fisherz", errors="return", as_frame=True)
    assert list(out.columns) == ["x", "y", "z", "statistic", "pvalue", "n", "error"]
    assert out["z"].tolist() == ["", "z", ""]
    assert out["pvalue"][0] < 0.01 and pd.isna(out["error"][0])
    assert isinstance(out["error"][2], str)


def _discrete_reference(x, y, z, g):
    """causal-learn's Chisq_or_Gsq, from its documented rules: per observed stratum of z the
    table of x and y, E = n_sx n_sy / n_s, chisq sum (O - E)^2 / E or G 2 sum O ln(O/E), degrees
    of freedom sum over strata of (x values seen - 1)(y values seen - 1); scipy for each
    stratum's statistic (chi2_contingency without Yates' correction)."""
    strata = [np.zeros(len(x), dtype=bool) | True] if z is None else [z == v for v in np.unique(z)]
    stat, dof = 0.0, 0
    for m in strata:
        xs, ys = x[m], y[m]
        ux, uy = np.unique(xs), np.unique(ys)
        if len(ux) < 2 or len(uy) < 2:
            continue
        table = np.array([[np.sum((xs == a) & (ys == b)) for b in uy] for a in ux])
        res = scipy.stats.chi2_contingency(table, correction=False,
                                           lambda_="log-likelihood" if g else None)
        stat += res[0]
        dof += (len(ux) - 1) * (len(uy) - 1)
    return stat, scipy.stats.chi2.sf(stat, dof)


@pytest.mark.parametrize("g", [False, True])
@pytest.mark.parametrize("conditional", [False, True])
def test_chisq_gsq_match_scipy_contingency(g, conditional):
    rng = np.random.default_rng(21)
    n = 600
    z = rng.integers(0, 3, size=n)
    x = (z + rng.integers(0, 2, size=n)) % 3
    y = np.where(rng.uniform(size=n) < 0.3, x, rng.integers(0, 4, size=n))
    labels = np.array(["lo", "mid", "hi"], dtype=object)[x]  # text: factorised as the CLI
    fn = ceteris.gsq if g else ceteris.chisq
    r = fn(labels, y, z if conditional else None, backend="cpu")
    codes = np.unique(labels, return_inverse=True)[1]
    stat, p = _discrete_reference(codes, y, z if conditional else None, g)
    assert r.statistic == pytest.approx(stat, rel=1e-10)
    assert r.pvalue == pytest.approx(p, rel=1e-8, abs=1e-300)
    with pytest.raises(ceteris.ParameterError, match="kernel"):
        fn(x, y, kernel="rbf")


def test_ignored_options_are_errors():
    x = np.random.default_rng(0).normal(size=100)
    with pytest.raises(ceteris.ParameterError, match="permutations"):
        ceteris.kci(x, x ** 2, permutations=100)
    with pytest.raises(ceteris.ParameterError, match="Fisher-z"):
        ceteris.fisherz(x, x ** 2, width="median")


def _check_chi2_p(name, ours, ref_p, ref_stat, n, ds):
    """hyppo's p-value chi2.sf(n·s + 1, 1): within 1e-6 when p >= 1e-4; below, −ln p against
    chi2.logsf within the change of −ln sf that the statistic's tolerance ds makes (its
    derivative in s is n times the χ²₁ hazard, below n·(1/2 + 1/x) at x = n·s + 1), as
    tests/independence.rs's check_chi2_p."""
    if ref_p >= 1e-4:
        assert abs(ours - ref_p) <= 1e-6, (name, ours, ref_p)
        return
    x = n * ref_stat + 1.0
    lr = -scipy.stats.chi2.logsf(x, 1)
    tol = n * (0.5 + 1.0 / x) * ds + 1e-12 * lr
    assert abs(-math.log(ours) - lr) <= tol, (name, ours, lr, tol)


def test_hsic_u_matches_hyppo(reference_dir):
    """ceteris.hsic_u against hyppo's ``Hsic().test`` on the cases of
    tests/reference/hyppo_reference.json: live when hyppo is installed (python/run-tests.sh
    installs it; its first call compiles numba kernels, cached afterwards), else the values that
    tests/reference/make_hyppo_reference.py stored from hyppo 0.5.2. The statistic to 1e-6
    relative (plus 1e-9 absolute: independent cases sit near 0)."""
    try:
        from hyppo.independence import Hsic
    except ImportError:
        Hsic = None
    doc = json.loads((reference_dir / "hyppo_reference.json").read_text())
    assert len(doc["cases"]) >= 7
    for case in doc["cases"]:
        x = np.array(case["x"], dtype=float).T
        y = np.array(case["y"], dtype=float).T
        n = x.shape[0]
        if Hsic is not None:
            ref_stat, ref_p = (float(v) for v in Hsic().test(x, y))
        else:
            ref_stat, ref_p = case["statistic"], case["p_value"]
        data = {f"x{i}": x[:, i] for i in range(x.shape[1])}
        data.update({f"y{i}": y[:, i] for i in range(y.shape[1])})
        r = ceteris.hsic_u([f"x{i}" for i in range(x.shape[1])],
                           [f"y{i}" for i in range(y.shape[1])], data=data, backend="cpu")
        ds = 1e-6 * abs(ref_stat) + 1e-9
        assert abs(r.statistic - ref_stat) <= ds, (case["name"], r.statistic, ref_stat)
        _check_chi2_p(case["name"], r.pvalue, ref_p, ref_stat, n, ds)


def _dg_closed_form(x, y, z):
    """numpy closed form of the degenerate-Gaussian LRT (Andrews, Ramsey & Cooper 2019): text
    columns as indicators of their levels but the first (sorted), ML covariances."""
    from scipy import stats

    def embed(cols):
        out = []
        for c in cols:
            c = np.asarray(c)
            if c.dtype == object:
                levels = sorted(set(c))
                out += [(c == lv).astype(float) for lv in levels[1:]]
            else:
                out.append(c.astype(float))
        return out

    ex, ey, ez = embed(x), embed(y), embed(z)

    def ldet(cols):
        if not cols:
            return 0.0
        m = np.column_stack(cols)
        return np.linalg.slogdet(np.atleast_2d(np.cov(m, rowvar=False, bias=True)))[1]

    n = len(ex[0])
    lr = n * (ldet(ex + ez) + ldet(ey + ez) - ldet(ex + ey + ez) - ldet(ez))
    return lr, stats.chi2.sf(lr, len(ex) * len(ey))


def test_dg_matches_the_closed_form_on_mixed_columns():
    rng = np.random.default_rng(11)
    n = 800
    g = rng.choice(np.array(["lo", "mid", "hi"], dtype=object), size=n)
    z = rng.normal(size=n)
    x = z + 0.3 * (g == "mid") + rng.normal(size=n)
    h = rng.choice(np.array(["p", "q"], dtype=object), size=n)
    df = pd.DataFrame({"g": g, "z": z, "x": x, "h": h})
    for xs, ys, zs in ((["x"], ["g"], ["z"]), (["g"], ["h"], []), (["x"], ["h"], ["g", "z"])):
        r = ceteris.dg(xs, ys, zs or None, data=df)
        stat, p = _dg_closed_form([df[c].to_numpy() for c in xs], [df[c].to_numpy() for c in ys],
                                  [df[c].to_numpy() for c in zs])
        assert r.statistic == pytest.approx(stat, rel=1e-8, abs=1e-10)
        assert r.pvalue == pytest.approx(p, rel=1e-6, abs=1e-12)
    # the same test in a batch and in discovery (text columns discrete there too)
    rs = ceteris.independence_batch(df, [("x", "g", "z")], test="dg")
    assert rs[0].pvalue == pytest.approx(ceteris.dg("x", "g", "z", data=df).pvalue, rel=1e-12)
    g2 = ceteris.discover(df[["g", "z", "x"]], test="dg", alpha=0.01)
    assert set(g2.nodes) == {"g", "z", "x"}
