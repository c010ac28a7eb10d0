#!/usr/bin/env python3
"""Compare two `ceteris` binaries case by case on `ceteris bench`.

Usage: python3 benches/compare_bench.py OLD_BINARY NEW_BINARY RUNS [bench flags...]
e.g.   python3 benches/compare_bench.py /tmp/old/ceteris target/release/ceteris 7 --quick --backend cpu

Runs `bench ... --format json` RUNS times per binary, alternating which goes first, and prints a
Markdown table of the median seconds per case and their ratio (new/old). Python standard library
only.
"""
import collections
import json
import statistics
import subprocess
import sys


def main() -> None:
    old, new, runs, *args = sys.argv[1:]
    res = {"old": collections.defaultdict(list), "new": collections.defaultdict(list)}
    pair = (("old", old), ("new", new))
    for i in range(int(runs)):
        for tag, exe in pair if i % 2 == 0 else pair[::-1]:
            out = subprocess.run(
                [exe, "bench", *args, "--format", "json"], capture_output=True, text=True, check=True
            ).stdout
            seen = collections.Counter()
            for r in json.loads(out)["results"]:
                key = f"{r['case']} n={r.get('n', '')}"
                seen[key] += 1
                if seen[key] > 1:
                    key += f" #{seen[key]}"
                res[tag][key].append(r["seconds"])
    print("| case | old median s | new median s | new/old |")
    print("|---|---|---|---|")
    for k, v in res["old"].items():
        o = statistics.median(v)
        n = statistics.median(res["new"].get(k, [float("nan")]))
        print(f"| {k} | {o:.4g} | {n:.4g} | {n / o:.2f} |")


if __name__ == "__main__":
    main()
