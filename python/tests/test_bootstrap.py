"""ceteris.bootstrap against scipy.stats.bootstrap (same statistic, independent draws), with
tolerances from the Monte-Carlo error of B resamples, and against the library's own built-ins
(same seed: the same draws)."""

import math
import os

import numpy as np
import pytest
import scipy
import scipy.stats

import ceteris

B = 9999


def _mc_sd_of_se(reps: np.ndarray) -> float:
    """Monte-Carlo sd of a bootstrap standard error from B replicates (kurtosis-aware:
    var(s^2) ~ (m4 - s^4) / B, delta method to s)."""
    r = reps[np.isfinite(reps)]
    s2 = r.var(ddof=1)
    m4 = np.mean((r - r.mean()) ** 4)
    return math.sqrt(max(m4 - s2 * s2, 0.0) / len(r)) / (2 * math.sqrt(s2))


def _mc_sd_of_quantile(reps: np.ndarray, p: float) -> float:
    """Monte-Carlo sd of the p-quantile of B replicates: sqrt(p(1-p)/B) / f(q), with the density
    f estimated from the replicates around q (half-width a quarter of their sd)."""
    r = np.sort(reps[np.isfinite(reps)])
    q = np.quantile(r, p)
    h = 0.25 * r.std(ddof=1)
    f = np.mean(np.abs(r - q) <= h) / (2 * h)
    return math.sqrt(p * (1 - p) / len(r)) / f


def _close(a: float, b: float, sd_each: float, k: float = 5.0) -> bool:
    return abs(a - b) <= k * math.sqrt(2.0) * sd_each


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return np.random.default_rng(2026).gamma(2.0, 1.5, size=150)


@pytest.mark.parametrize("name,func", [("mean", np.mean), ("median", np.median)])
def test_builtin_matches_scipy(sample, name, func):
    ours = ceteris.bootstrap(sample, name, n_resamples=B, method=["percentile", "BCa"], seed=1,
                             backend="cpu", bootstrap_distribution=True)
    theirs = scipy.stats.bootstrap((sample,), func, n_resamples=B, method="percentile",
                                   rng=np.random.default_rng(7) if _scipy_has_rng() else None,
                                   **({} if _scipy_has_rng() else {"random_state": 7}))
    reps = ours.bootstrap_distribution
    assert reps.shape == (B,)
    assert ours.estimate == pytest.approx(float(func(sample)), rel=1e-12)
    assert _close(ours.standard_error, theirs.standard_error, _mc_sd_of_se(reps))
    lo, hi = ours.intervals["percentile"]
    assert _close(lo, theirs.confidence_interval.low, _mc_sd_of_quantile(reps, 0.025))
    assert _close(hi, theirs.confidence_interval.high, _mc_sd_of_quantile(reps, 0.975))
    # scipy's names and shapes
    assert ours.confidence_interval == ours.intervals["percentile"]
    assert ours.method == "percentile" and "bca" in ours.intervals
    assert isinstance(ours.confidence_interval, tuple)
    assert ours.confidence_interval._fields == ("low", "high")


def _scipy_has_rng() -> bool:
    major, minor = (int(v) for v in scipy.__version__.split(".")[:2])
    return (major, minor) >= (1, 15)


def test_callable_matches_scipy_bca(sample):
    """The same Python callable under both packages, BCa intervals: within Monte-Carlo error."""

    def stat(x):
        return float(np.mean(x) / np.std(x, ddof=1))

    ours = ceteris.bootstrap((sample,), stat, n_resamples=4999, seed=3,
                             bootstrap_distribution=True)
    kw = {"rng": np.random.default_rng(11)} if _scipy_has_rng() else {"random_state": 11}
    theirs = scipy.stats.bootstrap((sample,), stat, n_resamples=4999, vectorized=False, **kw)
    reps = ours.bootstrap_distribution
    assert ours.estimate == pytest.approx(stat(sample), rel=1e-12)
    assert _close(ours.standard_error, theirs.standard_error, _mc_sd_of_se(reps))
    # BCa endpoints are replicate quantiles at adjusted levels; the adjusted levels themselves
    # carry Monte-Carlo error through z0, hence the wider factor
    lo, hi = ours.confidence_interval
    assert _close(lo, theirs.confidence_interval.low, _mc_sd_of_quantile(reps, 0.025), k=7)
    assert _close(hi, theirs.confidence_interval.high, _mc_sd_of_quantile(reps, 0.975), k=7)
    assert ours.backend.startswith("cpu")


def test_callable_reproduces_builtin_draws(sample):
    """A callable sees the rows the built-in statistic's replicate draws: same seed, same
    replicates (to rounding)."""
    a = ceteris.bootstrap(sample, "mean", n_resamples=499, seed=5, method="percentile",
                          backend="cpu", bootstrap_distribution=True)
    b = ceteris.bootstrap(sample, np.mean, n_resamples=499, seed=5, method="percentile",
                          bootstrap_distribution=True)
    np.testing.assert_allclose(a.bootstrap_distribution, b.bootstrap_distribution, rtol=1e-12)
    assert a.confidence_interval == pytest.approx(b.confidence_interval, rel=1e-12)


def test_callable_on_dataframe_and_paired_tuple():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    r = ceteris.bootstrap(df, lambda d: float(d["a"].corr(d["b"])), n_resamples=199, seed=1,
                          method="percentile", bootstrap_distribution=True)
    assert r.estimate == pytest.approx(df["a"].corr(df["b"]), rel=1e-12)
    r2 = ceteris.bootstrap((df["a"].to_numpy(), df["b"].to_numpy()),
                           lambda x, y: float(np.corrcoef(x, y)[0, 1]), n_resamples=199, seed=1,
                           method="percentile", bootstrap_distribution=True)
    np.testing.assert_allclose(r2.bootstrap_distribution, r.bootstrap_distribution, rtol=1e-9)


def test_callable_exception_propagates(sample):
    def bad(x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ceteris.bootstrap(sample, bad, n_resamples=50, seed=0)


def test_callable_refuses_order_dependent_schemes(sample):
    with pytest.raises(ceteris.ParameterError, match="row order"):
        ceteris.bootstrap(sample, np.mean, scheme="moving-block", block_length=5)


def test_result_fields_and_methods(sample):
    r = ceteris.bootstrap(sample, "std", n_resamples=999, seed=2, backend="cpu",
                          method=["basic", "normal", "percentile"], confidence_level=0.9)
    assert set(r.intervals) == {"basic", "normal", "percentile"}
    assert r.method == "basic" and r.confidence_interval == r.intervals["basic"]
    assert r.confidence_level == 0.9 and r.n_resamples == 999 and r.seed == 2
    assert r.bootstrap_distribution is None and isinstance(r.warnings, list)
    assert r.details["statistic"] == "std" and r.overlap is None


def test_seed_none_draws_and_reports_a_seed(sample):
    a = ceteris.bootstrap(sample, "mean", n_resamples=99, method="percentile", backend="cpu")
    b = ceteris.bootstrap(sample, "mean", n_resamples=99, method="percentile", backend="cpu",
                          seed=a.seed)
    assert a.confidence_interval == b.confidence_interval


def test_ipw_overlap_and_refit():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    n = 600
    x = rng.normal(size=n)
    e = 1 / (1 + np.exp(-x))
    t = (rng.uniform(size=n) < e)
    y = 2.0 * t + x + rng.normal(size=n)
    df = pd.DataFrame({"t": t, "x": x, "y": y, "e": e})  # t is bool: read as 0/1
    fixed = ceteris.bootstrap(df, "ipw", treatment="t", outcome="y", propensity="e",
                              n_resamples=499, seed=0, method="percentile", backend="cpu")
    assert fixed.overlap is not None and "treated" in fixed.overlap
    refit = ceteris.bootstrap(df, "aipw", treatment="t", outcome="y", covariates=["x"],
                              n_resamples=199, seed=0, method="percentile", backend="cpu")
    assert refit.details["nuisance"] == "refit"
    lo, hi = refit.confidence_interval
    assert lo < 2.0 < hi
    with pytest.raises(ceteris.ParameterError, match="propensity"):
        ceteris.bootstrap(df, "ipw", treatment="t", outcome="y", propensity="e",
                          covariates=["x"], n_resamples=99)
    # the library's rules (BootstrapOptions, shared with the CLI): crossfit is aipw-refit only
    xfit = ceteris.bootstrap(df, "aipw", treatment="t", outcome="y", covariates=["x"],
                             crossfit=2, n_resamples=99, seed=0, method="percentile",
                             backend="cpu")
    assert xfit.details["crossfit_folds"] == 2
    with pytest.raises(ceteris.ParameterError, match="`crossfit`"):
        ceteris.bootstrap(df, "ipw", treatment="t", outcome="y", covariates=["x"], crossfit=2,
                          n_resamples=99)
    with pytest.raises(ceteris.ParameterError, match="`trim`"):
        ceteris.bootstrap(df, "mean", column="y", trim=0.05, n_resamples=99)


def test_stratified_with_text_labels():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"arm": ["b", "a"] * 50, "y": np.arange(100.0)})
    r = ceteris.bootstrap(df, "diff-means", treatment="arm", outcome="y", scheme="stratified",
                          strata="arm", n_resamples=199, seed=0, method="percentile",
                          backend="cpu")
    assert r.levels["arm"] == ["a", "b"]
    # arm "b" (code 1) holds the even rows, "a" (code 0) the odd: mean(even) - mean(odd) = -1
    assert r.estimate == pytest.approx(-1.0)


def test_progress_callback_and_tqdm(sample):
    seen = []
    ceteris.bootstrap(sample, "mean", n_resamples=2000, seed=0, backend="cpu",
                      method="percentile", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] == 2000
    pytest.importorskip("tqdm")
    r = ceteris.bootstrap(sample, "mean", n_resamples=500, seed=0, backend="cpu",
                          method="percentile", progress=True)
    assert r.n_resamples == 500


def test_gpu_backend_agrees_within_f32():
    """The GPU backend (lavapipe in CI) draws the same resamples in f32."""
    x = np.random.default_rng(9).normal(size=300)
    try:
        g = ceteris.bootstrap(x, "mean", n_resamples=999, seed=4, backend="gpu",
                              method="percentile")
    except ceteris.GpuError as e:
        if os.environ.get("CETERIS_REQUIRE_GPU") == "1":
            raise
        pytest.skip(f"no GPU adapter: {e}")
    c = ceteris.bootstrap(x, "mean", n_resamples=999, seed=4, backend="cpu",
                          method="percentile")
    assert g.standard_error == pytest.approx(c.standard_error, rel=1e-4)
    assert not g.backend.startswith("cpu")


def test_scipy_seed_spellings(sample):
    kw = dict(n_resamples=99, method="percentile", backend="cpu")
    a = ceteris.bootstrap(sample, "mean", seed=12, **kw)
    assert ceteris.bootstrap(sample, "mean", rng=12, **kw).confidence_interval == \
        a.confidence_interval
    assert ceteris.bootstrap(sample, "mean", random_state=12, **kw).seed == 12
    g = ceteris.bootstrap(sample, "mean", rng=np.random.default_rng(0), **kw)
    assert g.seed == int(np.random.default_rng(0).integers(0, 2**63))
    with pytest.raises(TypeError):
        ceteris.bootstrap(sample, "mean", seed=1, rng=2)
