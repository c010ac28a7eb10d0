"""Reference values for RCoT / RCIT / RIT from causal-learn 0.1.4.8 (causallearn.utils.RCIT).

causal-learn draws its random Fourier features from numpy's global generator, so this script
records the features it drew (W already divided by sigma, b), and the sigma of each variable set;
the Rust test feeds the same features to ceteris and compares statistics and p-values for the
lpb4, hbe, gamma and chi2 null approximations.

momentchi2 0.1.8 calls np.math.factorial, which numpy 2 removed, so causal-learn silently falls
back from lpb4 to hbe; we restore np.math = math before importing it so lpb4 is really computed.

Run: python3 tests/reference/make_rcot_reference.py  (writes tests/reference/rcot_reference.json)
"""
import json, math, sys, platform, zlib
import numpy as np
np.math = math  # momentchi2 needs it (see above)
import scipy, causallearn
from importlib.metadata import version
from causallearn.utils.RCIT import RCIT as mod

recorded = []
orig = mod.RCIT.random_fourier_features

def recording(self, x, w=None, b=None, num_f=None, sigma=None):
    if num_f is None:
        num_f = 25
    r, c = x.shape
    if (sigma == 0) | (sigma is None):
        sigma = 1
    w = (1 / sigma) * np.random.normal(size=(num_f, c))
    bcol = 2 * np.pi * np.random.uniform(size=(num_f, 1))
    recorded.append({"w": w.ravel().tolist(), "b": bcol.ravel().tolist(), "sigma": float(sigma)})
    b = np.tile(bcol, (1, r))
    return orig(self, x, w=w, b=b, num_f=num_f, sigma=sigma)

mod.RCIT.random_fourier_features = recording
mod.RIT.random_fourier_features = recording

def case(name, x, y, z, rcit):
    out = {"name": name, "rcit": rcit, "x": x.T.tolist(), "y": y.T.tolist(),
           "z": [] if z is None else z.T.tolist(), "results": {}}
    for approx in ["lpd4", "hbe", "gamma", "chi2"]:
        recorded.clear()
        np.random.seed(zlib.crc32(f"{name}|{approx}".encode()))
        if z is None:
            p, sta = mod.RIT(approx=approx).compute_pvalue(x, y)
            feats = {"x": recorded[0], "y": recorded[1]}
        else:
            p, sta = mod.RCIT(approx=approx, rcit=rcit).compute_pvalue(x, y, z)
            feats = {"z": recorded[0], "x": recorded[1], "y": recorded[2]}
        out["results"][approx] = {"statistic": float(sta), "p_value": float(p), "features": feats}
    return out

rng = np.random.default_rng(2026)
cases = []
for n, kind in [(200, "fork"), (500, "collider"), (300, "indep"), (800, "dep"), (250, "fork3")]:
    zc = rng.normal(size=(n, 3 if kind == "fork3" else 1))
    e1, e2 = rng.normal(size=n), rng.normal(size=n)
    if kind == "fork":
        x = np.tanh(zc[:, 0]) + 0.5 * e1; y = np.sin(zc[:, 0]) + 0.5 * e2
    elif kind == "fork3":
        x = np.tanh(zc.sum(1)) + 0.5 * e1; y = np.sin(zc[:, 0] - zc[:, 2]) + 0.5 * e2
    elif kind == "collider":
        x, y = e1, e2; zc = (x + y + 0.3 * rng.normal(size=n))[:, None]
    elif kind == "indep":
        x, y = e1, e2 ** 2
    else:
        x = e1; y = np.sin(2 * x) + 0.5 * e2
    x, y = x[:, None], y[:, None]
    if kind in ("indep", "dep"):
        cases.append(case(f"rit_{kind}_n{n}", x, y, None, False))
    else:
        cases.append(case(f"rcot_{kind}_n{n}", x, y, zc, False))
        cases.append(case(f"rcit_{kind}_n{n}", x, y, zc, True))

json.dump({"generated_by": {"script": "tests/reference/make_rcot_reference.py",
                            "python": platform.python_version(), "numpy": np.__version__,
                            "scipy": scipy.__version__, "causal-learn": version("causal-learn"),
                            "momentchi2": version("momentchi2")},
           "cases": cases}, open("tests/reference/rcot_reference.json", "w"))
print("wrote", len(cases), "cases")
