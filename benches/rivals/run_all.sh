#!/usr/bin/env bash
# One benchmark run: ceteris' `bench` (full sizes) and the rivals (numpy loops, scipy.stats.bootstrap)
# back to back on the same machine, then the ratios as a Markdown table for BENCHMARKS.md.
# Needs: numpy, scipy (pip install numpy scipy). The full `bench` (every capability, including
# the 1000 × 100 000 sweep and discovery) plus the rivals take about 15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-target/bench-run}
mkdir -p "$out"
cargo build --release --quiet
./target/release/ceteris bench --format json --backend "${BACKEND:-all}" > "$out/ours.json"
python3 benches/rivals/bootstrap_rivals.py --skip-scipy-percentile --out "$out/rivals.json" > /dev/null
python3 - "$out/ours.json" "$out/rivals.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))["results"]
riv = json.load(open(sys.argv[2]))
res = riv["results"]
pairs = [
    ("mean/iid/percentile", "numpy_loop_mean", "mean, n=1e6, B=10 000, percentile"),
    ("mean/iid/bca", "scipy_bca_mean_batch100", "BCa of the mean, n=1e5, B=1000"),
    ("ipw/iid/percentile", "numpy_loop_ipw", "IPW ATE, n=1e5, B=1000"),
]
print(f"machine: {riv.get('machine')}; numpy {riv.get('numpy')}, scipy {riv.get('scipy')}\n")
print("| case | rival | rival s | backend | ceteris s | speed-up |")
print("|---|---|---|---|---|---|")
for case, rname, label in pairs:
    r = res.get(rname, {})
    rs = r.get("seconds")
    for o in ours:
        if o["case"] != case:
            continue
        ratio = f"{rs / o['seconds']:.1f}x" if rs else "n/a"
        rtxt = f"{rs:.2f}" if rs else r.get("error", "failed")[:40]
        print(f"| {label} | {rname} | {rtxt} | {o['backend'].split(';')[0]} | {o['seconds']:.3f} | {ratio} |")
print()
print("| case | n | B | backend | seconds | Mdraws/s |")
print("|---|---|---|---|---|---|")
for o in (o for o in ours if "resamples" in o):
    print(f"| {o['case']} | {o['n']} | {o['resamples']} | {o['backend'].split(';')[0]} | {o['seconds']:.3f} | {o['mdraws_per_s']:.0f} |")
PY
