"""ceteris.Scm: scm-json in (dict, text, file), fit, sweep, effect, counterfactuals, against the
closed forms of linear-Gaussian models (tolerances from the reported Monte-Carlo errors)."""

import json

import numpy as np
import pytest

import ceteris

MODEL = {
    "format": "scm-json/v1",
    "nodes": [
        {"name": "Z", "parents": [], "type": "linear", "intercept": 0.0, "coefficients": {},
         "noise": {"dist": "normal", "scale": 1.0}},
        {"name": "X", "parents": ["Z"], "type": "linear", "intercept": 0.5,
         "coefficients": {"Z": 1.0}, "noise": {"dist": "normal", "scale": 1.0}},
        {"name": "Y", "parents": ["X", "Z"], "type": "linear", "intercept": -1.0,
         "coefficients": {"X": 2.0, "Z": 1.5}, "noise": {"dist": "normal", "scale": 0.5}},
    ],
}


def test_model_sources(tmp_path):
    a = ceteris.Scm(MODEL)
    b = ceteris.Scm(json.dumps(MODEL))
    p = tmp_path / "m.json"
    p.write_text(json.dumps(MODEL))
    c = ceteris.Scm(str(p))
    assert a.nodes == b.nodes == c.nodes == ["Z", "X", "Y"]
    assert ceteris.Scm(a.to_dict()).to_json() == a.to_json()
    with pytest.raises(ceteris.CeterisError, match="format"):
        ceteris.Scm({"nodes": []})


def test_sweep_matches_closed_form():
    pd = pytest.importorskip("pandas")
    m = ceteris.Scm(MODEL)
    df = m.sweep("Y", {"X": [0.0, 1.0, 2.0]}, samples=20000, quantiles=[0.1, 0.5], seed=3,
                 backend="cpu")
    assert isinstance(df, pd.DataFrame) and len(df) == 3
    assert list(df.columns) == ["X", "mean", "variance", "mc_error", "q0.1", "q0.5"]
    for _, row in df.iterrows():
        # E[Y | do(X = x)] = -1 + 2x; Var = 1.5^2 + 0.5^2
        assert abs(row["mean"] - (-1 + 2 * row["X"])) < 5 * row["mc_error"]
        assert row["variance"] == pytest.approx(2.5, rel=0.05)
    shifted = m.sweep("Y", [{}], shifts=[{"X": 1.0}], samples=20000, backend="cpu")
    assert "shift:X" in shifted.columns
    # E[Y | X += 1] = -1 + 2 * (0.5 + 1) = 2
    assert abs(shifted["mean"][0] - 2.0) < 5 * shifted["mc_error"][0]


def test_effect_and_counterfactuals():
    m = ceteris.Scm(MODEL)
    e = m.effect({"X": 1.0}, {"X": 0.0}, "Y", backend="cpu")
    assert e.estimate == pytest.approx(2.0, abs=1e-9)
    units = {"Z": np.array([0.0, 1.0]), "X": np.array([1.0, 0.0]), "Y": np.array([1.0, 3.0])}
    cf, noise = m.counterfactuals(units, do={"X": 2.0}, noise=True)
    # noises of Y: 1 - (-1 + 2 + 0) = 0; 3 - (-1 + 0 + 1.5) = 2.5; under do(X=2): Y = 3 + 1.5Z + N
    np.testing.assert_allclose(cf["Y"].to_numpy(), [3.0, 7.0])
    np.testing.assert_allclose(noise["Y"].to_numpy(), [0.0, 2.5])
    with pytest.raises(ceteris.CeterisError):
        m.effect({"W": 1.0}, {"W": 0.0}, "Y")


def test_fit_and_effect_interval():
    rng = np.random.default_rng(1)
    n = 1500
    z = rng.normal(size=n)
    x = 0.5 + z + rng.normal(size=n)
    y = -1 + 2 * x + 1.5 * z + 0.5 * rng.normal(size=n)
    data = {"Z": z, "X": x, "Y": y}
    m = ceteris.Scm.fit(data, {"Z": [], "X": ["Z"], "Y": ["X", "Z"]})
    coef = {n["name"]: n["coefficients"] for n in m.to_dict()["nodes"]}
    assert coef["Y"]["X"] == pytest.approx(2.0, abs=0.05)
    e = m.effect({"X": 1.0}, {"X": 0.0}, "Y", data=data, n_resamples=199, seed=2,
                 backend="cpu")
    lo, hi = e.confidence_interval
    assert lo < 2.0 < hi and e.standard_error > 0
    m2 = ceteris.Scm.fit(data, "Z->X->Y, Z->Y", kind="additive")
    assert m2.nodes[-1] == "Y"
    with pytest.raises(ceteris.ParameterError):
        ceteris.Scm.fit(data, "Z->X", kind="cubic")


def test_fit_reads_only_the_graph_columns():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    n = 300
    x = rng.normal(size=n)
    df = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=n), "note": ["free text"] * n,
                       "gap": [None] * n})
    m = ceteris.Scm.fit(df, "x->y")
    assert m.nodes == ["x", "y"]
    e = m.effect({"x": 1.0}, {"x": 0.0}, "y", data=df, n_resamples=99, seed=1, backend="cpu")
    assert e.standard_error > 0
    with pytest.raises(ceteris.UnknownColumnError):
        ceteris.Scm.fit(df, "x->w")
