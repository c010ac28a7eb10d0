"""causal-learn's own `pc` with its KCI, against the same `pc` under `ceteris.causallearn.use()`.

Run with the Python package's test venv (made by python/run-tests.sh, which installs causal-learn):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
        python/.venv/bin/python benches/rivals/causallearn_dropin.py [--case kci_6] [--repeat 3]

The data are causal-learn-derived cases stored in tests/reference/discovery_reference.json. Prints
the package versions, both times (best of --repeat), the ratio and whether the graphs are equal.
"""
import argparse
import json
import pathlib
import sys
import time

from importlib.metadata import version

import numpy as np
from causallearn.search.ConstraintBased.PC import pc

import ceteris
import ceteris.causallearn as ccl

ap = argparse.ArgumentParser()
ap.add_argument("--case", default="kci_6")
ap.add_argument("--alpha", type=float, default=0.05)
ap.add_argument("--repeat", type=int, default=3)
ap.add_argument("--backend", default="cpu")
a = ap.parse_args()

root = pathlib.Path(__file__).resolve().parents[2]
cases = json.loads((root / "tests/reference/discovery_reference.json").read_text())["cases"]
case = {c["name"]: c for c in cases}[a.case]
data = np.asarray(case["data"], dtype=float).T
test = case.get("test", "kci")

t_own = float("inf")
for _ in range(a.repeat):
    t = time.perf_counter()
    own = pc(data, a.alpha, test, show_progress=False)
    t_own = min(t_own, time.perf_counter() - t)
best = float("inf")
with ccl.use(backend=a.backend):
    for _ in range(a.repeat):
        t = time.perf_counter()
        ours = pc(data, a.alpha, test, show_progress=False)
        best = min(best, time.perf_counter() - t)
same = bool((own.G.graph == ours.G.graph).all())
print(
    f"python {sys.version.split()[0]}, causal-learn {version('causal-learn')}, "
    f"ceteris {ceteris.__version__}, numpy {np.__version__}"
)
print(
    f"case {a.case} ({data.shape[0]} x {data.shape[1]}, {test}): causal-learn {t_own:.3f} s, "
    f"under ceteris.causallearn.use() {best:.3f} s, {t_own / best:.0f}x, same graph {same}"
)
