#!/usr/bin/env python3
"""PC-chisq and FCI-chisq on the 14 bnlearn benchmark networks, n = 10 000: ceteris `discover`
against causal-learn's `pc` / `fci`, with SHD to the true CPDAG and the true PAG.

For each network (pgmpy's copy of bnlearn's, `pgmpy.utils.get_example_model(name)`, offline in
pgmpy 1.1.2) the script draws `BayesianModelSampling(model).forward_sample(size=10000, seed=0)`,
writes the state names as text to a CSV (ceteris reads them as labels; causal-learn gets integer
codes of the same sorted values, as in `pc_chisq_alarm.py`), then

1. runs ceteris for every case first: `ceteris discover --data CSV --algorithm pc|fci --test chisq
   --alpha 0.05 --backend cpu --format json`, recording its own compute `seconds` (CSV parse and
   process start excluded, as `pc_chisq_alarm.py` does) and the whole-process wall time;
2. then causal-learn, smallest network first, each case in a subprocess capped at --cap seconds
   (30 minutes by default): `pc(codes, 0.05, 'chisq', stable=True, uc_rule=0, uc_priority=2)` and
   `fci(codes, 'chisq', 0.05)`, timed around the call only.

A column with a single level in the sample (a state never drawn otherwise) carries no information
and both programs refuse or choke on it (ceteris: a clear error naming the column), so it is
dropped before either runs, as a user would; the truth graphs are then restricted to the kept
nodes (the dropped node's edges removed) and the row says which columns were dropped.

SHD counts node pairs whose pair of end marks differs from the truth's (a missing, extra or
differently marked edge each count 1). The true CPDAG is causal-learn's `dag2cpdag`. The true PAG
is that of the DAG with no latent or selection variables: causal-learn's `dag2pag` enumerates every
conditioning subset (hopeless beyond ~15 nodes), so `true_pag` below is the same construction with
the DAG's own skeleton and, for each non-adjacent pair, the parents of the non-ancestor of the two
as separating set (a valid d-separating set, which is all FCI's rules need); the orientation loop
is dag2pag's, with causal-learn's rule functions.

Results go to --out as JSON lines, one per (network, algorithm, program) as each finishes, so a
partial run is usable; --table prints the Markdown table from such a file.

Usage (from the crate root, after `cargo build --release`):

    tests/reference/.venv/bin/python benches/rivals/bnlearn_table.py [--out bnlearn.jsonl]
        [--nets asia,cancer,...] [--algos pc,fci] [--cap 1800] [--skip-ceteris]
        [--skip-causal-learn]
    tests/reference/.venv/bin/python benches/rivals/bnlearn_table.py --table bnlearn.jsonl

Made with Python 3.11, numpy, pgmpy 1.1.2, causal-learn 0.1.4.8 (versions in the output).
"""
import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = ["asia", "cancer", "earthquake", "sachs", "survey", "alarm", "barley", "child", "insurance",
        "water", "hailfinder", "hepar2", "win95pts", "andes"]
MARK = {"tail": -1, "arrow": 1, "circle": 2}


def sample(name, n, seed, cache):
    """Sampled data (DataFrame of state names as str), kept columns, dropped columns, DAG edges."""
    import logging
    logging.disable(logging.WARNING)
    from pgmpy.utils import get_example_model
    from pgmpy.sampling import BayesianModelSampling
    model = get_example_model(name)
    csv = os.path.join(cache, f"{name}_{n}_{seed}.csv")
    if os.path.exists(csv):
        import pandas as pd
        df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    else:
        df = BayesianModelSampling(model).forward_sample(size=n, seed=seed, show_progress=False)
        df = df.astype(str)
        df.to_csv(csv, index=False)
    dropped = [c for c in df.columns if df[c].nunique() < 2]
    kept = [c for c in df.columns if c not in dropped]
    if dropped:
        csv = os.path.join(cache, f"{name}_{n}_{seed}_kept.csv")
        if not os.path.exists(csv):
            df[kept].to_csv(csv, index=False)
    codes = np.column_stack([np.unique(df[c], return_inverse=True)[1] for c in kept]).astype(float)
    return csv, kept, dropped, [(a, b) for a, b in model.edges()], codes


def truth_graphs(names, edges):
    """True CPDAG and true PAG (causal-learn G.graph encodings) over the kept nodes."""
    from causallearn.graph.Dag import Dag
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag
    idx = {v: i for i, v in enumerate(names)}
    edges = [(a, b) for a, b in edges if a in idx and b in idx]
    nodes = [GraphNode(v) for v in names]
    dag = Dag(nodes)
    for a, b in edges:
        dag.add_directed_edge(nodes[idx[a]], nodes[idx[b]])
    cpdag = dag2cpdag(dag).graph.astype(int)
    return cpdag, true_pag(names, edges)


def true_pag(names, edges):
    import networkx as nx
    from itertools import combinations
    from causallearn.graph.Edge import Edge
    from causallearn.graph.Endpoint import Endpoint
    from causallearn.graph.GeneralGraph import GeneralGraph
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.search.ConstraintBased.FCI import (rulesR1R2cycle, ruleR3, ruleR4B, ruleR5,
                                                        ruleR6, ruleR7, rule8, rule9, rule10)
    from causallearn.utils.DAG2PAG import mod_endpoint
    from causallearn.utils.cit import CIT, d_separation
    p = len(names)
    idx = {v: i for i, v in enumerate(names)}
    dg = nx.DiGraph()
    dg.add_nodes_from(range(p))
    for a, b in edges:
        dg.add_edge(idx[a], idx[b])
    parents = [set(dg.predecessors(i)) for i in range(p)]
    desc = [nx.descendants(dg, i) for i in range(p)]
    nodes = [GraphNode(v) for v in names]
    pag = GeneralGraph(nodes)
    adj = set()
    for a, b in edges:
        i, j = idx[a], idx[b]
        adj.add((i, j))
        adj.add((j, i))
        pag.add_edge(Edge(nodes[i], nodes[j], Endpoint.CIRCLE, Endpoint.CIRCLE))
    sepset = {}
    for i, j in combinations(range(p), 2):
        if (i, j) in adj:
            continue
        s = parents[i] if j not in desc[i] else parents[j]  # pa(x) separates x from non-descendants
        sepset[(i, j)] = set(s)
        sepset[(j, i)] = set(s)
    # unshielded colliders: z adjacent to both, x, y not adjacent, z not in sepset
    for (i, j), s in sepset.items():
        if i > j:
            continue
        for z in range(p):
            if z in (i, j) or z in s or (i, z) not in adj or (j, z) not in adj:
                continue
            for x in (i, j):
                e = pag.get_edge(nodes[x], nodes[z])
                pag.remove_edge(e)
                mod_endpoint(e, nodes[z], Endpoint.ARROW)
                pag.add_edge(e)
    data = np.empty(shape=(0, p))
    cit = CIT(data, method=d_separation, true_dag=dg)
    change = True
    with contextlib.redirect_stdout(io.StringIO()):
        while change:
            change = False
            change = rulesR1R2cycle(pag, None, change, False)
            change = ruleR3(pag, sepset, None, change, False)
            change = ruleR4B(pag, -1, data, cit, 0.05, sep_sets=sepset, change_flag=change, bk=None,
                             verbose=False)
            change = ruleR5(pag, changeFlag=change, verbose=False)
            change = ruleR6(pag, changeFlag=change)
            change = ruleR7(pag, changeFlag=change)
            change = rule8(pag, nodes=nodes, changeFlag=change)
            change = rule9(pag, nodes=nodes, changeFlag=change)
            change = rule10(pag, changeFlag=change)
    return pag.graph.astype(int)


def shd(g, truth):
    p = len(truth)
    return int(sum(1 for i in range(p) for j in range(i + 1, p)
                   if (g[i, j], g[j, i]) != (truth[i, j], truth[j, i])))


def edges_of(g):
    p = len(g)
    return int(sum(1 for i in range(p) for j in range(i + 1, p) if g[i, j] != 0))


def worker(algo, npy, out):
    """causal-learn in a child process (so the cap can kill it)."""
    codes = np.load(npy)
    import logging
    logging.disable(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()):
        if algo == "pc":
            from causallearn.search.ConstraintBased.PC import pc
            t0 = time.perf_counter()
            cg = pc(codes, 0.05, "chisq", stable=True, uc_rule=0, uc_priority=2,
                    show_progress=False)
            s = time.perf_counter() - t0
            g = cg.G.graph
        else:
            from causallearn.search.ConstraintBased.FCI import fci
            t0 = time.perf_counter()
            G, _ = fci(codes, "chisq", 0.05, show_progress=False)
            s = time.perf_counter() - t0
            g = G.graph
    np.savez(out, graph=np.asarray(g, dtype=int), seconds=s)


def run_ceteris(binary, csv, names, algo, cap):
    t0 = time.perf_counter()
    r = subprocess.run([binary, "discover", "--data", csv, "--algorithm", algo, "--test", "chisq",
                        "--alpha", "0.05", "--backend", "cpu", "--format", "json"],
                       capture_output=True, text=True, timeout=cap)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        return {"error": r.stderr.strip()[:500]}, None
    out = json.loads(r.stdout)
    p = len(names)
    g = np.zeros((p, p), int)
    pos = {v: i for i, v in enumerate(names)}
    for e in out["edges"]:
        i, j = pos[e["from"]], pos[e["to"]]
        g[i, j] = MARK[e["marks"][0]]
        g[j, i] = MARK[e["marks"][1]]
    return {"seconds": out["seconds"], "process_s": wall, "tests_run": out["tests_run"]}, g


def table(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    by = {}
    for r in rows:
        if "net" in r:
            by.setdefault((r["net"], r["algo"]), {})[r["program"]] = r
    print("| network | nodes | true edges | algorithm | ceteris s | causal-learn s | speed-up | "
          "same graph | SHD ceteris | SHD causal-learn | dropped |")
    print("|---|---:|---:|---|---:|---:|---:|---|---:|---:|---|")
    for net in NETS:
        for algo in ("pc", "fci"):
            d = by.get((net, algo))
            if not d or "ceteris" not in d:
                continue
            ce = d["ceteris"]
            cl = d.get("causal-learn")
            if cl is None:
                cls, sp, same, shdc = "not run", "", "", ""
            elif cl.get("capped"):
                cls, sp, same, shdc = f"> {cl['cap_s']:.0f} (cap)", f"> {cl['cap_s'] / ce['seconds']:.0f}×", "", ""
            elif "error" in cl:
                cls, sp, same, shdc = "error", "", "", ""
            else:
                cls = f"{cl['seconds']:.2f}"
                sp = f"**{cl['seconds'] / ce['seconds']:.0f}×**"
                same = "yes" if cl["same_graph"] else "no"
                shdc = str(cl["shd"])
            ces = f"{ce['seconds']:.3f}" if "seconds" in ce else "error"
            print(f"| {net} | {ce['nodes']} | {ce['true_edges']} | {algo.upper()}-chisq | {ces} | {cls} "
                  f"| {sp} | {same} | {ce.get('shd', '')} | {shdc} | {', '.join(ce['dropped']) or '–'} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=3, metavar=("ALGO", "NPY", "OUT"))
    ap.add_argument("--table")
    ap.add_argument("--out", default="bnlearn.jsonl")
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cap", type=float, default=1800)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "bnlearn_cache"))
    ap.add_argument("--algos", default="pc,fci", help="pc, fci or pc,fci")
    ap.add_argument("--skip-ceteris", action="store_true")
    ap.add_argument("--skip-causal-learn", action="store_true")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "..", "target", "release", "ceteris"))
    args = ap.parse_args()
    algos = args.algos.split(",")
    if not algos or any(a not in ("pc", "fci") for a in algos):
        ap.error(f"--algos: pc, fci or pc,fci, not {args.algos!r}")
    if args.worker:
        return worker(*args.worker)
    if args.table:
        return table(args.table)
    os.makedirs(args.cache, exist_ok=True)
    from importlib.metadata import version
    out = open(args.out, "a")

    def emit(row):
        out.write(json.dumps(row) + "\n")
        out.flush()
        print(json.dumps(row), flush=True)

    emit({"start": time.strftime("%Y-%m-%d %H:%M:%S"), "uptime": os.getloadavg(),
          "versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                       "pgmpy": version("pgmpy"), "causal-learn": version("causal-learn")}})
    nets = args.nets.split(",")
    prepared = {}
    for net in nets:
        csv, kept, dropped, edges, codes = sample(net, args.n, args.seed, args.cache)
        cpdag, pag = truth_graphs(kept, edges)
        prepared[net] = (csv, kept, dropped, edges, codes, cpdag, pag)
    if not args.skip_ceteris:
        for net in nets:
            csv, kept, dropped, edges, codes, cpdag, pag = prepared[net]
            for algo in algos:
                try:
                    res, g = run_ceteris(args.bin, csv, kept, algo, args.cap)
                except subprocess.TimeoutExpired:
                    res, g = {"capped": True, "cap_s": args.cap}, None
                row = {"net": net, "algo": algo, "program": "ceteris", "nodes": len(kept),
                       "true_edges": len(edges), "dropped": dropped, **res,
                       "load": os.getloadavg()[0]}
                if g is not None:
                    row["shd"] = shd(g, cpdag if algo == "pc" else pag)
                    row["edges"] = edges_of(g)
                    np.save(os.path.join(args.cache, f"{net}_{algo}_ceteris.npy"), g)
                emit(row)
    if not args.skip_causal_learn:
        env = dict(os.environ)
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
        env["PYTHONHASHSEED"] = "0"
        order = sorted(nets, key=lambda k: (len(prepared[k][1]), NETS.index(k)))
        for net in order:
            csv, kept, dropped, edges, codes, cpdag, pag = prepared[net]
            npy = os.path.join(args.cache, f"{net}_codes.npy")
            np.save(npy, codes)
            for algo in algos:
                res_path = os.path.join(args.cache, f"{net}_{algo}_cl.npz")
                if os.path.exists(res_path):
                    os.remove(res_path)
                row = {"net": net, "algo": algo, "program": "causal-learn", "nodes": len(kept)}
                try:
                    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", algo,
                                        npy, res_path], env=env, capture_output=True, text=True,
                                       timeout=args.cap)
                    if r.returncode != 0:
                        row["error"] = r.stderr.strip()[-500:]
                    else:
                        z = np.load(res_path)
                        g = z["graph"]
                        row["seconds"] = float(z["seconds"])
                        row["shd"] = shd(g, cpdag if algo == "pc" else pag)
                        row["edges"] = edges_of(g)
                        cep = os.path.join(args.cache, f"{net}_{algo}_ceteris.npy")
                        if os.path.exists(cep):
                            row["same_graph"] = bool((np.load(cep) == g).all())
                except subprocess.TimeoutExpired:
                    row["capped"] = True
                    row["cap_s"] = args.cap
                row["load"] = os.getloadavg()[0]
                emit(row)


if __name__ == "__main__":
    main()
