"""Logistic-regression references for `Scm::fit` of a binary (0/1) node.

Writes tests/reference/logit_reference.json. Run from the crate root:
    tests/reference/.venv/bin/python tests/reference/make_logit_reference.py
Needs numpy and statsmodels (the file records the versions it was made with). Deterministic:
every draw comes from numpy.random.default_rng(20261206).

Data (drawn in this order, n = 500):
    z  = rng.normal(size=n)
    w  = rng.uniform(-2, 2, size=n)
    t  = rng.binomial(1, 1 / (1 + exp(-(-0.4 + 1.2 z - 0.7 w + 0.5 tanh(2 z))))) as 0.0/1.0
z and w are rounded to 10 significant digits before anything is fitted, so the stored columns
are exactly the inputs behind the stored values.

Cases (statsmodels `Logit(t, X).fit(method="newton", tol=1e-14, maxiter=200)`):
* `linear`: X = [1, z, w]  (ceteris FitKind::Linear on the graph z -> t, w -> t);
* `additive`: X = [1, z, w, tanh(a_z), a_z^2, tanh(a_w), a_w^2] with a_p = (p - mean(p)) / sd(p),
  sd with ddof = 1: the basis of FitKind::Additive, parents in the order z, w (ceteris's parents
  are sorted by name: w before z, so the test matches coefficients by name).
Recorded: `params` (intercept first) and `bse`, the model's standard errors.
A second data set, `separated` (t = 1{z > 0} on the same z), makes statsmodels raise
PerfectSeparationError (or warn), recorded as `separated_statsmodels`.
"""
import json
import sys
import warnings

import numpy as np
import statsmodels
import statsmodels.api as sm

rng = np.random.default_rng(20261206)
n = 500
z = rng.normal(size=n)
w = rng.uniform(-2, 2, size=n)
z = np.array([float(f"{v:.10g}") for v in z])
w = np.array([float(f"{v:.10g}") for v in w])
eta = -0.4 + 1.2 * z - 0.7 * w + 0.5 * np.tanh(2 * z)
t = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)


def fit(X):
    r = sm.Logit(t, X).fit(method="newton", tol=1e-14, maxiter=200, disp=0)
    assert r.mle_retvals["converged"]
    return {"params": list(map(float, r.params)), "bse": list(map(float, r.bse))}


def std(p):
    return (p - p.mean()) / p.std(ddof=1)


linear = fit(np.column_stack([np.ones(n), z, w]))
az, aw = std(z), std(w)
additive = fit(
    np.column_stack([np.ones(n), z, w, np.tanh(az), az**2, np.tanh(aw), aw**2])
)

sep = (z > 0).astype(float)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    try:
        sm.Logit(sep, np.column_stack([np.ones(n), z])).fit(disp=0)
        separated = "converged"
    except Exception as e:  # PerfectSeparationError or a PerfectSeparationWarning
        separated = type(e).__name__

out = {
    "generated_by": {
        "script": "tests/reference/make_logit_reference.py",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "statsmodels": statsmodels.__version__,
    },
    "z": list(map(float, z)),
    "w": list(map(float, w)),
    "t": list(map(float, t)),
    "linear": linear,
    "additive": {
        "names": ["intercept", "z", "w", "tanh(z)", "square(z)", "tanh(w)", "square(w)"],
        **additive,
    },
    "separated_statsmodels": separated,
}
with open("tests/reference/logit_reference.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print(json.dumps({k: out[k] for k in ["linear", "additive", "separated_statsmodels"]}, indent=1))
