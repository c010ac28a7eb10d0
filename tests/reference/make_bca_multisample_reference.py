"""BCa acceleration for several independent samples (Efron & Tibshirani eq. 15.36), from scipy.

Writes tests/reference/bca_multisample_reference.json. Run from the crate root:
    python3 tests/reference/make_bca_multisample_reference.py
Needs numpy and scipy (the file records the versions it was made with). The cases:

* scipy's own test `test_BCa_acceleration_against_reference` (two samples, mean(z) − mean(y));
  scipy's test expects a = 0.011008228344026734;
* three samples of unequal sizes from a fixed numpy generator, statistic the mean of all their
  values pooled (ceteris: `mean` under the stratified scheme with the sample as the stratum).

Each acceleration is scipy.stats._resampling._bca_interval's `a_hat` for the samples resampled
independently (`paired=False`), which is how ceteris's stratified scheme resamples strata.
"""
import json
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.stats import _resampling


def accel(data, statistic):
    res = stats.bootstrap(data, statistic, paired=False, n_resamples=999, random_state=1)
    _, _, a_hat = _resampling._bca_interval(
        data, statistic, axis=-1, alpha=0.95, theta_hat_b=res.bootstrap_distribution,
        batch=100, xp=np,
    )
    return float(np.squeeze(a_hat))


def main():
    cases = []
    y = np.array([10, 27, 31, 40, 46, 50, 52, 104, 146], dtype=float)
    z = np.array([16, 23, 38, 94, 99, 141, 197], dtype=float)
    a = accel([z, y], lambda z, y, axis=-1: np.mean(z, axis=axis) - np.mean(y, axis=axis))
    assert abs(a - 0.011008228344026734) < 1e-15, a
    # ceteris: diff-means is mean(outcome | treatment = 1) − mean(outcome | treatment = 0)
    cases.append({"name": "scipy_two_sample", "treated": z.tolist(), "control": y.tolist(),
                  "acceleration": a})
    rng = np.random.default_rng(20261206)
    s0 = rng.lognormal(size=23)
    s1 = rng.normal(size=11)
    s2 = rng.exponential(size=37) * 3.0
    a3 = accel([s0, s1, s2],
               lambda s0, s1, s2, axis=-1: np.mean(np.concatenate([s0, s1, s2], axis=-1), axis=-1))
    cases.append({"name": "three_samples", "samples": [s0.tolist(), s1.tolist(), s2.tolist()],
                  "acceleration": a3})
    out = {
        "generated_by": {
            "script": "tests/reference/make_bca_multisample_reference.py",
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "cases": cases,
    }
    with open("tests/reference/bca_multisample_reference.json", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
