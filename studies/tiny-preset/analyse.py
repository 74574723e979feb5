#!/usr/bin/env python3
"""The table of studies/tiny-preset: searched cells against random cells over seeds.

Usage: python3 studies/tiny-preset/analyse.py SWEEP_DIR
Reads SWEEP_DIR/runs/method=M,seed=S/ (search/genotype.json, search/metrics.jsonl,
train/results.json) and prints, per method, the normal-cell entropy (share of uniform) at the end
of the search, the pairwise agreement of the seeds' genotypes (kept edges shared, 0-16, as
aca_space::Genotype::agreement counts them) and the test top-1 (mean, std, n).
"""
import itertools
import json
import statistics
import sys
from pathlib import Path


def agreement(a, b):
    shared = 0
    for cell in ("normal", "reduce"):
        x, y = a[cell], b[cell]
        for node in range(min(len(x), len(y)) // 2):
            theirs = [tuple(p) for p in y[2 * node : 2 * node + 2]]
            for pair in x[2 * node : 2 * node + 2]:
                if tuple(pair) in theirs:
                    theirs.remove(tuple(pair))
                    shared += 1
    return shared


def mean_std(values):
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f} (n={len(values)})"


def main():
    runs = Path(sys.argv[1]) / "runs"
    by_method = {}
    if not runs.is_dir():
        sys.exit(f"analyse.py: {runs} is not a sweep's runs folder")
    for d in sorted(runs.iterdir()):
        fields = dict(kv.split("=", 1) for kv in d.name.split(",") if "=" in kv)
        if "method" not in fields or "seed" not in fields:
            continue
        results = d / "train" / "results.json"
        if not results.is_file():
            continue
        genotype = json.loads((d / "search" / "genotype.json").read_text())
        last = (d / "search" / "metrics.jsonl").read_text().strip().splitlines()[-1]
        learning = json.loads(last).get("learning") or {}
        entropy = learning.get("entropy_normal", 0) / max(learning.get("uniform_entropy", 1), 1e-12)
        top1 = json.loads(results.read_text())["test_top1"] * 100
        by_method.setdefault(fields["method"], []).append((fields["seed"], genotype, entropy, top1))
    print("| method | seeds | normal-cell entropy (% of uniform) | seed agreement (of 16) | test top-1 % |")
    print("|---|---|---|---|---|")
    for method, rows in by_method.items():
        pairs = [agreement(a[1], b[1]) for a, b in itertools.combinations(rows, 2)]
        entropies = [r[2] * 100 for r in rows]
        print(
            f"| {method} | {', '.join(r[0] for r in rows)} | {mean_std(entropies)} | "
            f"{mean_std(pairs)} | {mean_std([r[3] for r in rows])} |"
        )
        for seed, _, e, t in rows:
            print(f"|  | seed {seed} | {e * 100:.1f} |  | {t:.2f} |")


if __name__ == "__main__":
    main()
