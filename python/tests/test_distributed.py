"""ceteris.distributed on a local Ray cluster (`ray.init(num_cpus=2)`): the bootstrap, a batch of
tests and a sweep in 4 shards (4 Ray tasks) equal the in-process call bit for bit, also when a
task's worker dies once and Ray retries it."""

import os

import numpy as np
import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed (python/run-tests.sh installs it: pip install ray); "
    "the distributed tests need it")

import ceteris  # noqa: E402
import ceteris.distributed as cd  # noqa: E402


@pytest.fixture(scope="module")
def fault_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("ray-fault")
    # set before ray.init: the workers inherit it (see ceteris.distributed._fault)
    os.environ["CETERIS_TEST_RAY_FAULT"] = str(d)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield d
    ray.shutdown()
    del os.environ["CETERIS_TEST_RAY_FAULT"]


def _same_boot(a, b):
    assert a.standard_error == b.standard_error
    assert a.estimate == b.estimate and a.bias == b.bias
    assert a.intervals == b.intervals
    assert a.confidence_interval == b.confidence_interval
    assert a.valid_resamples == b.valid_resamples
    if a.bootstrap_distribution is not None:
        assert np.array_equal(a.bootstrap_distribution, b.bootstrap_distribution, equal_nan=True)
    da = {k: v for k, v in a.details.items() if k != "seconds"}
    db = {k: v for k, v in b.details.items() if k != "seconds"}
    assert da == db


def _data():
    rng = np.random.default_rng(7)
    n = 500
    t = (rng.uniform(size=n) < 0.4).astype(float)
    return {"t": t, "y": 1.5 * t + rng.normal(size=n), "x": rng.normal(size=n)}


@pytest.mark.parametrize("statistic,kw", [
    ("mean", dict(column="y", method=["percentile", "BCa", "basic"])),
    ("diff-means", dict(treatment="t", outcome="y", method=["BCa", "studentized"],
                        scheme="stratified", strata="t")),
    ("median", dict(column="x", method="percentile", scheme="bayesian")),
])
def test_bootstrap_four_shards_equal_one_run(fault_dir, statistic, kw):
    data = _data()
    local = ceteris.bootstrap(data, statistic, n_resamples=20_000, seed=11, backend="cpu",
                              bootstrap_distribution=True, **kw)
    dist = cd.bootstrap(data, statistic, n_resamples=20_000, seed=11, backend="cpu",
                        bootstrap_distribution=True, shards=4, **kw)
    _same_boot(dist, local)


@pytest.mark.parametrize("statistic,kw", [
    ("ipw", dict(method=["percentile", "BCa", "basic"])),
    ("hajek", dict(method=["BCa"], clip=0.02)),
    ("aipw", dict(method=["percentile", "BCa"], scheme="stratified", strata="t")),
    ("att", dict(method=["BCa", "basic"], trim=0.05)),
    ("aipw-att", dict(method=["percentile", "BCa"], crossfit=3)),
])
def test_refit_bootstrap_four_shards_equal_one_run(fault_dir, statistic, kw):
    # issue 15: the nuisance models refit in every resample; 1001 replicates in 4 shards cut
    # the batches of 32 replicates (250, 500, 750), and the merge is the one run bit for bit
    data = _data()
    common = dict(treatment="t", outcome="y", covariates=["x"], n_resamples=1001, seed=5,
                  bootstrap_distribution=True, **kw)
    local = ceteris.bootstrap(data, statistic, backend="cpu", **common)
    dist = cd.bootstrap(data, statistic, shards=4, **common)  # backend="auto": the CPU
    assert dist.details["nuisance"] == local.details["nuisance"]
    assert len(local.intervals) == len(kw["method"])
    _same_boot(dist, local)


def test_refit_shards_refuse_the_gpu_and_callables_stay_refused(fault_dir):
    data = _data()
    with pytest.raises(ceteris.ParameterError, match="backend"):
        cd.bootstrap(data, "ipw", treatment="t", outcome="y", covariates=["x"],
                     n_resamples=100, backend="gpu", shards=2)
    with pytest.raises(ceteris.ParameterError, match="one process"):
        cd.bootstrap(data, lambda w: float(w.sum()), n_resamples=100, shards=2)


def test_a_task_that_fails_once_is_retried_and_exact(fault_dir):
    data = _data()
    (fault_dir / "armed").write_text("")
    dist = cd.bootstrap(data, "mean", column="y", n_resamples=10_000, seed=3, backend="cpu",
                        shards=4, method=["percentile", "BCa"])
    assert (fault_dir / "fired").exists(), "no task failed"
    (fault_dir / "fired").unlink()
    local = ceteris.bootstrap(data, "mean", column="y", n_resamples=10_000, seed=3,
                              backend="cpu", method=["percentile", "BCa"])
    _same_boot(dist, local)


@pytest.mark.parametrize("test,options", [
    ("kci", {}),
    ("hsic", dict(null="permutation", permutations=300, seed=2)),
    ("rcot", dict(seed=5)),
    ("fisherz", {}),
])
def test_batch_four_shards_equal_one_batch(fault_dir, test, options):
    rng = np.random.default_rng(3)
    z = rng.normal(size=300)
    data = {"x": z + rng.normal(size=300), "y": z + rng.normal(size=300), "z": z,
            "w": rng.normal(size=300)}
    queries = [("x", "y"), ("x", "y", "z"), ("x", "w"), ("y", "w", "z"), ("z", "w"),
               ("x", "z", ["y", "w"]), ("w", "y"), ("x", ["y", "z"])]
    if "null" in options:  # the permutation null is for unconditional tests
        queries = [q for q in queries if len(q) == 2]
    if test == "fisherz":  # one X and one Y column
        queries = [q for q in queries if isinstance(q[1], str)]
    local = ceteris.independence_batch(data, queries, test=test, backend="cpu", **options)
    dist = cd.independence_batch(data, queries, test=test, backend="cpu", shards=4, **options)
    assert [(r.statistic, r.pvalue) for r in dist] == [(r.statistic, r.pvalue) for r in local]


def test_batch_errors_come_back_as_ceteris_errors(fault_dir):
    data = {"x": np.arange(50.0), "y": np.sin(np.arange(50.0))}
    out = cd.independence_batch(data, [("x", "y"), ("x", "x")], test="fisherz", shards=2,
                                errors="return", backend="cpu")
    assert isinstance(out[1], ceteris.CeterisError)


@pytest.mark.parametrize("crn", [False, True])
def test_sweep_four_shards_equal_one_sweep(fault_dir, crn):
    m = ceteris.Scm({"format": "scm-json/v1", "nodes": [
        {"name": "Z", "parents": [], "type": "linear", "intercept": 0.0, "coefficients": {},
         "noise": {"dist": "normal", "scale": 1.0}},
        {"name": "x", "parents": ["Z"], "type": "linear", "intercept": 0.5,
         "coefficients": {"Z": 1.0}, "noise": {"dist": "normal", "scale": 1.0}},
        {"name": "y", "parents": ["x", "Z"], "type": "linear", "intercept": -1.0,
         "coefficients": {"x": 2.0, "Z": 1.5}, "noise": {"dist": "normal", "scale": 0.5}}]})
    grid = {"x": list(np.linspace(-1, 1, 10))}
    local = m.sweep("y", grid, samples=4000, quantiles=[0.1, 0.5], seed=9,
                    common_random_numbers=crn, backend="cpu")
    dist = cd.sweep(m, "y", grid, samples=4000, quantiles=[0.1, 0.5], seed=9,
                    common_random_numbers=crn, backend="cpu", shards=4)
    import pandas as pd

    pd.testing.assert_frame_equal(dist, local, check_exact=True)


def test_shards_must_be_positive(fault_dir):
    with pytest.raises(ceteris.ParameterError, match="shards"):
        cd.bootstrap(np.arange(10.0), "mean", shards=0)
