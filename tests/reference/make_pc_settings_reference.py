#!/usr/bin/env python3
"""Generate tests/reference/pc_settings_reference.json: causal-learn's PC graph for EVERY setting
combination, with the fisherz, chisq and gsq tests, and chisq/gsq statistics and p-values.

Made with: Python 3.11, numpy, scipy, causal-learn 0.1.4.8 (the versions that made the
checked-in JSON are in its "generated_by" object).

Regenerate from the crate root with:

    tests/reference/.venv/bin/python tests/reference/make_pc_settings_reference.py
    (or /work/main/tests/reference/.venv/bin/python ...)

Deterministic (numpy.random.default_rng(seed) per case). Continuous data (linear-Gaussian) is
rounded to 6 decimals before causal-learn runs, so the JSON holds exactly its inputs; discrete
data are integer codes drawn from random conditional probability tables.

Per graph case: the data (column-major), the true DAG (child -> parents), alpha, the test, and
for every combination of stable in {True, False}, uc_rule in {0, 1, 2}, uc_priority in
{-1, 0, 1, 2, 3, 4} the output `cg.G.graph` of

    pc(data, alpha, test, stable=stable, uc_rule=uc_rule, uc_priority=uc_priority,
       show_progress=False)

or the error causal-learn raised (uc_rule 2 takes priorities -1, 2, 3, 4 only).

"cit" holds chisq/gsq queries on discrete data: causal-learn's CIT p-value and the statistic and
degrees of freedom it passed to scipy's chi2.sf (captured by wrapping `cit.chi2`), including
sparse strata (empty rows and columns), zero degrees of freedom (p = 1) and tiny p-values.
"""
import itertools
import json
import platform
import time

import numpy as np
import scipy
import scipy.stats
import causallearn
import causallearn.utils.cit as citmod
from causallearn.search.ConstraintBased.PC import pc
from causallearn.utils.cit import CIT

try:
    from importlib.metadata import version
    CL_VERSION = version("causal-learn")
except Exception:  # pragma: no cover
    CL_VERSION = "unknown"


def random_dag(rng, p, degree):
    prob = degree / max(p - 1, 1)
    return [[i for i in range(j) if rng.random() < prob] for j in range(p)]


def linear(rng, parents, n):
    p = len(parents)
    x = np.zeros((n, p))
    for j in range(p):
        acc = np.zeros(n)
        for i in parents[j]:
            w = rng.uniform(0.3, 1.2) * rng.choice([-1.0, 1.0])
            acc += w * x[:, i] / max(np.std(x[:, i]), 1e-9)
        x[:, j] = acc + rng.standard_normal(n)
    return np.round(x, 6)


def discrete(rng, parents, n, levels):
    """Categorical nodes with random CPTs (Dirichlet(0.7) rows) over the parents' configurations."""
    p = len(parents)
    card = [int(rng.choice(levels)) for _ in range(p)]
    x = np.zeros((n, p), dtype=np.int64)
    for j in range(p):
        configs = int(np.prod([card[i] for i in parents[j]])) if parents[j] else 1
        cpt = rng.dirichlet(0.7 * np.ones(card[j]), size=configs)
        idx = np.zeros(n, dtype=np.int64)
        for i in parents[j]:
            idx = idx * card[i] + x[:, i]
        u = rng.random(n)
        cum = np.cumsum(cpt[idx], axis=1)
        x[:, j] = np.minimum((u[:, None] > cum).sum(axis=1), card[j] - 1)
    return x


def graph_case(name, seed, p, n, degree, test, alpha):
    rng = np.random.default_rng(seed)
    parents = random_dag(rng, p, degree)
    if test == "fisherz":
        data = linear(rng, parents, n)
    else:
        data = discrete(rng, parents, n, [2, 3, 4]).astype(float)
    runs = []
    t0 = time.time()
    for stable, rule, prio in itertools.product([True, False], [0, 1, 2], [-1, 0, 1, 2, 3, 4]):
        entry = {"stable": stable, "uc_rule": rule, "uc_priority": prio}
        try:
            cg = pc(data, alpha, test, stable=stable, uc_rule=rule, uc_priority=prio,
                    show_progress=False)
            entry["graph"] = cg.G.graph.astype(int).tolist()
        except AssertionError:
            entry["error"] = "AssertionError"
        runs.append(entry)
    distinct = len({json.dumps(r.get("graph")) for r in runs})
    print(f"{name}: {distinct} distinct graphs over {len(runs)} settings, "
          f"{time.time() - t0:.1f} s")
    return {
        "name": name,
        "seed": seed,
        "test": test,
        "alpha": alpha,
        "parents": parents,
        "runs": runs,
        "data": [data[:, j].tolist() for j in range(p)],
    }


class Capture:
    """Stands in for scipy.stats.chi2 inside causal-learn's cit module: records sf's arguments."""

    def __init__(self):
        self.last = None

    def sf(self, x, df):
        self.last = (float(x), int(df))
        return scipy.stats.chi2.sf(x, df)


def cit_cases():
    rng = np.random.default_rng(7)
    parents = [[], [0], [0], [1, 2], [3], [], [4, 5]]
    n = 400
    data = discrete(rng, parents, n, [2, 3, 4])
    # a sparse column (6 levels, one rare) and a strong copy (tiny p-values)
    rare = rng.integers(0, 5, n)
    rare[:3] = 5
    copy = np.where(rng.random(n) < 0.9, data[:, 3], rng.integers(0, 4, n))
    # a duplicate of column 0: conditioning on it leaves one value of column 0 per stratum (df 0)
    data = np.column_stack([data, rare, copy, data[:, 0].copy()])
    queries = [
        (0, 1, []), (1, 2, []), (1, 2, [0]), (0, 3, [1, 2]), (3, 8, []), (3, 8, [4]),
        (0, 6, [1, 2, 3]), (4, 7, [0, 1, 2, 3]), (5, 7, [2, 8]), (0, 4, [1, 2, 3, 5, 6, 7]),
        (1, 7, [0, 2, 3, 4, 5, 6, 8]), (2, 3, [7]), (6, 8, [3, 4, 5]), (0, 1, [9]), (1, 9, [0]),
    ]
    out = []
    cap = Capture()
    real = citmod.chi2
    citmod.chi2 = cap
    try:
        for method in ["chisq", "gsq"]:
            test = CIT(data, method)
            for x, y, z in queries:
                cap.last = None
                p = float(test(x, y, z))
                stat, df = cap.last if cap.last is not None else (None, 0)
                out.append({"test": method, "x": x, "y": y, "z": z, "p": p,
                            "statistic": stat, "df": df})
    finally:
        citmod.chi2 = real
    return {"data": [data[:, j].astype(float).tolist() for j in range(data.shape[1])],
            "queries": out}


def main():
    cases = []
    for k in range(6):
        cases.append(graph_case(f"fisherz_{k}", 900 + k, 5 + k % 4, 200 + 50 * (k % 3),
                                2.5 + 0.25 * (k % 2), "fisherz", 0.05))
    for k in range(4):
        cases.append(graph_case(f"chisq_{k}", 910 + k, 5 + k, 400, 2.5, "chisq", 0.05))
    for k in range(4):
        cases.append(graph_case(f"gsq_{k}", 920 + k, 5 + k, 400, 2.5, "gsq", 0.05))
    out = {
        "generated_by": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "causal-learn": CL_VERSION,
        },
        "cases": cases,
        "cit": cit_cases(),
    }
    with open("tests/reference/pc_settings_reference.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
