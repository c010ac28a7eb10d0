"""Inputs as the CLI reads CSV files: booleans 0/1, text label columns factorised with their
levels, missing values an error naming column and row (or dropped with dropna=True), names
kept; numpy arrays in any layout; errors as ceteris.CeterisError subclasses."""

import numpy as np
import pytest

import ceteris


def test_bool_and_nullable_columns():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"flag": [True, False, True, True],
                       "n": pd.array([1, 2, 3, 4], dtype="Int64")})
    r = ceteris.bootstrap(df, "mean", column="flag", n_resamples=99, seed=0, backend="cpu",
                          method="percentile")
    assert r.estimate == pytest.approx(0.75)
    r = ceteris.bootstrap(df, "mean", column="n", n_resamples=99, seed=0, backend="cpu",
                          method="percentile")
    assert r.estimate == pytest.approx(2.5)


def test_missing_values_error_or_drop():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"y": pd.array([1.0, None, 3.0, 4.0, 5.0], dtype="Float64"),
                       "other": [None, "x", "y", "z", "w"]},
                      index=["a", "b", "c", "d", "e"])
    with pytest.raises(ceteris.CeterisError, match=r"column `y`, row 1 \(index 'b'\): missing"):
        ceteris.bootstrap(df, "mean", column="y", n_resamples=99)
    r = ceteris.bootstrap(df, "mean", column="y", n_resamples=99, seed=0, dropna=True,
                          backend="cpu", method="percentile")
    # the unused column `other` (with its own None) is not read
    assert r.rows_dropped == 1 and r.estimate == pytest.approx(13 / 4)
    s = pd.Series([1.0, np.nan, 2.0], name="v")
    with pytest.raises(ceteris.CeterisError, match="column `v`, row 1"):
        ceteris.bootstrap(s, "mean")


def test_text_only_in_label_columns():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"g": pd.Categorical(["hi", "lo"] * 20), "y": np.arange(40.0),
                       "s": ["a"] * 40})
    r = ceteris.bootstrap(df, "mean", column="y", scheme="cluster", cluster="g",
                          n_resamples=99, seed=0, backend="cpu", method="percentile")
    assert r.levels == {"g": ["hi", "lo"]}
    with pytest.raises(ceteris.CeterisError, match="column `s`, row 0: `a` is not a number"):
        ceteris.bootstrap(df, "mean", column="s", n_resamples=99)
    with pytest.raises(ceteris.ParameterError, match="3 levels"):
        bad = pd.DataFrame({"t": ["a", "b", "c"] * 10, "y": np.arange(30.0)})
        ceteris.bootstrap(bad, "diff-means", treatment="t", outcome="y", n_resamples=99)


def test_layouts_give_the_same_answer():
    base = np.random.default_rng(0).normal(size=(200, 3))
    c = np.ascontiguousarray(base[:, 1])
    strided = base[:, 1]  # a view with stride 3
    f32 = c.astype(np.float32).astype(np.float64)
    assert not strided.flags["C_CONTIGUOUS"]
    kw = dict(n_resamples=199, seed=1, backend="cpu", method="percentile")
    a = ceteris.bootstrap(c, "mean", **kw)
    b = ceteris.bootstrap(strided, "mean", **kw)
    d = ceteris.bootstrap(list(c), "mean", **kw)
    assert a.confidence_interval == b.confidence_interval == d.confidence_interval
    assert ceteris.bootstrap(f32.astype(np.float32), "mean", **kw).estimate == \
        pytest.approx(f32.mean(), rel=1e-12)


def test_error_classes():
    x = np.arange(20.0)
    with pytest.raises(ceteris.UnknownColumnError, match="unknown column `q`"):
        ceteris.bootstrap({"x": x}, "mean", column="q")
    with pytest.raises(ceteris.ParameterError, match="unknown statistic"):
        ceteris.bootstrap(x, "mode")
    with pytest.raises(ceteris.ParameterError, match="backend"):
        ceteris.bootstrap(x, "mean", backend="tpu")
    with pytest.raises(ceteris.ParameterError, match="method"):
        ceteris.bootstrap(x, "mean", method="bogus")
    with pytest.raises(ceteris.ParameterError, match="weights"):
        ceteris.bootstrap({"x": x, "w": x}, "mean", column="x", weights="w")
    with pytest.raises(ValueError):  # every ceteris error is a ValueError
        ceteris.bootstrap(x, "mean", confidence_level=1.5)
    for cls in (ceteris.UnknownColumnError, ceteris.ParameterError, ceteris.GpuError):
        assert issubclass(cls, ceteris.CeterisError)
    assert ceteris.CeterisError.__module__ == "ceteris"


def test_names_kept_and_ambiguous_column():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"age (years)": [30.0, 40, 50, 60], "b": [1.0, 2, 3, 5]})
    with pytest.raises(ceteris.ParameterError, match="age \\(years\\), b"):
        ceteris.bootstrap(df, "mean", n_resamples=99)
    r = ceteris.bootstrap(df, "corr", n_resamples=99, seed=0, backend="cpu",
                          method="percentile")
    assert r.estimate == pytest.approx(np.corrcoef(df["age (years)"], df["b"])[0, 1])


def test_gil_released_during_compute():
    """Another Python thread runs while the library computes (the GIL is released)."""
    import threading
    import time

    x = np.random.default_rng(0).normal(size=5000)
    done = threading.Event()
    seconds = []

    def work():
        t0 = time.perf_counter()
        ceteris.bootstrap(x, "mean", n_resamples=200_000, seed=0, backend="cpu",
                          method="percentile")
        seconds.append(time.perf_counter() - t0)
        done.set()

    worker = threading.Thread(target=work)
    ticks = 0
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.002)
    worker.join()
    # with the GIL held for the whole run this loop would tick about once
    assert seconds[0] < 0.05 or ticks >= 5, (ticks, seconds)
