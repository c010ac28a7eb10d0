#!/usr/bin/env python3
"""Generate tests/reference/discovery_reference.json (PC-stable and CD-NOD graphs).

Made with: Python 3.11.7, numpy 2.4.6, scipy 1.17.1, causal-learn 0.1.4.8 (the versions
that made the checked-in JSON are in its "generated_by" object).

Regenerate from the crate root with:

    python3 tests/reference/make_discovery_reference.py

Deterministic: each case draws its data from numpy.random.default_rng(seed); every value is
rounded to 6 decimals *before* causal-learn runs, so the JSON holds exactly its inputs.

Per case: the data (column-major, with names), the true DAG (child -> parents), the call,
and causal-learn's output graph `cg.G.graph` (its endpoint-mark matrix: i -> j is
graph[i][j] = -1, graph[j][i] = 1). For Fisher-z cases the p-values of every test causal-learn
ran are recorded too ("pvalues": [x, y, [S...], p] with x < y), so the Rust test can check the
test itself as well as the graph.

Calls:
  pc(data, alpha, test, stable=True, uc_rule=0, uc_priority=2, show_progress=False[, background_knowledge])
  cdnod(data, c_indx, alpha, test, stable=True, uc_rule=0, uc_priority=2, show_progress=False)
"""
import json
import platform
import time

import numpy as np
import scipy
import causallearn
from causallearn.search.ConstraintBased.PC import pc
from causallearn.search.ConstraintBased.CDNOD import cdnod
from causallearn.utils.PCUtils.BackgroundKnowledge import BackgroundKnowledge
from causallearn.graph.GraphNode import GraphNode


def random_dag(rng, p, degree):
    """Parents of node j among 0..j-1, each with probability degree / (p - 1)."""
    prob = degree / max(p - 1, 1)
    return [[i for i in range(j) if rng.random() < prob] for j in range(p)]


def sample(rng, parents, n, nonlinear, shift=None, signs=True):
    """Additive-noise data; shift[j] (an n-vector) is added to node j's equation. With
    signs=False every weight is positive (no cancelling paths: the benchmarks' SHD then
    measures the method, not near-unfaithful draws)."""
    p = len(parents)
    x = np.zeros((n, p))
    for j in range(p):
        e = rng.standard_normal(n)
        acc = np.zeros(n)
        for i in parents[j]:
            w = rng.uniform(0.6, 1.4) * (rng.choice([-1.0, 1.0]) if signs else 1.0)
            if nonlinear:
                f = [np.tanh, np.sin, lambda v: 0.5 * v * v - 0.5][(i + j) % 3]
                acc += w * f(x[:, i] / max(np.std(x[:, i]), 1e-9) * 1.5)
            else:
                acc += w * x[:, i] / max(np.std(x[:, i]), 1e-9)
        x[:, j] = acc + (0.5 if nonlinear else 1.0) * e
        if shift is not None and j in shift:
            x[:, j] += shift[j]
    return np.round(x, 6)


def fisherz_pvalues(cg):
    out = []
    for key, p in cg.test.pvalue_cache.items():
        if ";" not in key:
            continue  # cache metadata (data hash, method name)
        xy, _, s = key.partition("|")
        a, b = xy.split(";")
        z = [int(v) for v in s.split(".")] if s else []
        out.append([int(a), int(b), z, float(p)])
    out.sort(key=lambda r: (len(r[2]), r[0], r[1], r[2]))
    return out


def case(name, seed, p, n, degree, nonlinear, test, alpha, bk=None, domains=None):
    rng = np.random.default_rng(seed)
    parents = random_dag(rng, p, degree)
    shift = None
    if domains is not None:
        # CD-NOD: the mechanisms of the nodes in `changing` shift with the domain index c
        k, changing = domains
        c = np.repeat(np.arange(k), n // k).astype(float)
        shift = {j: 1.5 * (c - (k - 1) / 2) for j in changing}
    data = sample(rng, parents, n, nonlinear, shift)
    names = [f"X{j + 1}" for j in range(p)]
    entry = {
        "name": name,
        "seed": seed,
        "test": test,
        "alpha": alpha,
        "parents": parents,
    }
    t0 = time.time()
    if domains is not None:
        cg = cdnod(data, c.reshape(-1, 1), alpha, test, stable=True, uc_rule=0, uc_priority=2,
                   show_progress=False)
        entry["domain"] = c.tolist()
        entry["changing"] = changing
    else:
        kw = {}
        if bk is not None:
            know = BackgroundKnowledge()
            for a, b in bk.get("forbid", []):
                know.add_forbidden_by_node(GraphNode(names[a]), GraphNode(names[b]))
            for a, b in bk.get("require", []):
                know.add_required_by_node(GraphNode(names[a]), GraphNode(names[b]))
            for t, tier in enumerate(bk.get("tiers", [])):
                for a in tier:
                    know.add_node_to_tier(GraphNode(names[a]), t)
            kw["background_knowledge"] = know
            entry["knowledge"] = bk
        cg = pc(data, alpha, test, stable=True, uc_rule=0, uc_priority=2, show_progress=False,
                node_names=names, **kw)
    entry["seconds"] = round(time.time() - t0, 3)
    entry["graph"] = cg.G.graph.astype(int).tolist()
    if test == "fisherz":
        entry["pvalues"] = fisherz_pvalues(cg)
    entry["data"] = [data[:, j].tolist() for j in range(p)]
    return entry


def main():
    cases = []
    # Fisher-z: many random DAGs, linear-Gaussian, deep levels and collider conflicts
    for k in range(16):
        p = 5 + k % 8
        cases.append(case(f"fisherz_{k}", 100 + k, p, 300 + 100 * (k % 4), 2.0 + 0.25 * (k % 5),
                          False, "fisherz", 0.05))
    # Fisher-z with background knowledge
    cases.append(case("fisherz_knowledge_tiers", 300, 7, 400, 2.5, False, "fisherz", 0.05,
                      bk={"tiers": [[0, 1, 2], [3, 4], [5, 6]]}))
    cases.append(case("fisherz_knowledge_forbid_require", 301, 7, 400, 2.5, False, "fisherz",
                      0.05, bk={"forbid": [[6, 5], [4, 2]], "require": [[1, 2]]}))
    # KCI: nonlinear DAGs
    cases.append(case("kci_5", 400, 5, 200, 2.0, True, "kci", 0.05))
    cases.append(case("kci_6", 401, 6, 250, 2.0, True, "kci", 0.05))
    # CD-NOD with Fisher-z and with KCI
    cases.append(case("cdnod_fisherz", 500, 6, 600, 2.0, False, "fisherz", 0.05,
                      domains=(3, [1, 4])))
    cases.append(case("cdnod_kci", 501, 4, 240, 1.5, True, "kci", 0.05, domains=(2, [2])))
    out = {
        "generated_by": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "causal-learn": causallearn.__version__ if hasattr(causallearn, "__version__")
            else "0.1.4.8",
        },
        "cases": cases,
    }
    with open("tests/reference/discovery_reference.json", "w") as f:
        json.dump(out, f, separators=(",", ":"))
    for c in cases:
        print(c["name"], c["seconds"], "s")


if __name__ == "__main__":
    main()
