#!/usr/bin/env python3
"""Markdown table of one or more discovery_rivals.py outputs (for BENCHMARKS.md)."""
import json
import sys

print("| case | nodes | rows | test | true edges | causal-learn s | ceteris s | speed-up | same graph | SHD causal-learn | SHD ceteris | ceteris tests |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    doc = json.load(open(path))
    for name, r in doc["results"].items():
        cl = r.get("causal_learn_seconds")
        capped = r.get("causal_learn_capped_at")
        cls = f"> {capped:.0f} (capped)" if cl is None else f"{cl:.3f}"
        sp = f"> {capped / r['ceteris_seconds']:.0f}×" if cl is None else f"**{cl / r['ceteris_seconds']:.0f}×**"
        same = "—" if cl is None else ("yes" if r["graphs_equal"] else "no")
        shd_cl = "—" if cl is None else r["causal_learn_shd"]
        print(f"| {name} | {r['nodes']} | {r['rows']} | {r['test']} | {r['edges_true']} | {cls} | "
              f"{r['ceteris_seconds']:.3f} | {sp} | {same} | {shd_cl} | {r['ceteris_shd']} | {r['ceteris_tests']} |")
