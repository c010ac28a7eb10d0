"""Spectral-null p-values of causal-learn 0.1.4.8 KCI (approx=False) on four cases of
independence_reference.json, with 20 000 Monte-Carlo draws (numpy's generator, seeded), so the
Rust test can compare its own Philox draws within Monte-Carlo error.

Run: python3 tests/reference/make_spectral_reference.py (writes tests/reference/spectral_reference.json)
"""
import json, platform
import numpy as np
from importlib.metadata import version
from causallearn.utils.KCI.KCI import KCI_UInd, KCI_CInd

ref = json.load(open("tests/reference/independence_reference.json"))
names = ["uind_indep_n150", "uind_linear_weak_n150", "cind_fork_tanh_z1_n150", "cind_chain_lin_z1_n600"]
out = []
for c in ref["cases"]:
    if c["name"] not in names:
        continue
    x, y = np.array(c["x"]).T, np.array(c["y"]).T
    np.random.seed(7)
    if c["kind"] == "uind":
        p, s = KCI_UInd(null_ss=20000, approx=False).compute_pvalue(x, y)
    else:
        p, s = KCI_CInd(nullss=20000, approx=False).compute_pvalue(x, y, np.array(c["z"]).T)
    out.append({"name": c["name"], "draws": 20000, "statistic": float(s), "p_value": float(p)})
    print(c["name"], s, p)
json.dump({"generated_by": {"script": "tests/reference/make_spectral_reference.py",
                            "python": platform.python_version(), "numpy": np.__version__,
                            "causal-learn": version("causal-learn")}, "cases": out},
          open("tests/reference/spectral_reference.json", "w"), indent=1)
