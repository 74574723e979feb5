#!/usr/bin/env python3
"""The study's table in docs/robustness.md from a sweep folder's collect/groups.csv: per search
length (rows) and arm (columns) test top-1 as mean ± std (n), then parameters, normal-cell skip
edges and identity shares.

Then, from collect/runs.csv, the paired table: each ACA arm's test top-1 minus the baseline's
of the same seed and search length, as mean ± std (n) and how many of the pairs the arm wins.

usage: studies/robustness/arm-table.py FOLDER   (study or s3, after `aca sweep collect`)
"""
import csv, os, statistics, sys

here = os.path.dirname(os.path.abspath(__file__))
folder = sys.argv[1] if len(sys.argv) > 1 else "s3"
if folder not in ("study", "s3"):
    sys.exit(f"arm-table.py: unknown folder {folder!r}: expected study or s3")
collect = os.path.join(here, folder, "collect")
for name in ("groups.csv", "runs.csv"):
    if not os.path.isfile(os.path.join(collect, name)):
        sys.exit(f"arm-table.py: {os.path.join(collect, name)} is missing: run `aca sweep collect "
                 f"studies/robustness/{folder}` first")
rows = list(csv.DictReader(open(os.path.join(collect, "groups.csv"))))
baseline = {"study": "darts", "s3": "s3"}[folder]
arms = [(baseline, "all", "DARTS" if folder == "study" else "S3 (DARTS)")]
aca_space = next((r["space"] for r in rows if r["space"] != baseline), None)
if aca_space is None:
    sys.exit(f"arm-table.py: {os.path.join(collect, 'groups.csv')} has no ACA run yet (only {baseline!r})")
arms += [(aca_space, s, f"`{s}`") for s in ["all", "fixed:0.5", "otsu", "otsu-log"]]
epochs = sorted({int(r["eval_epoch"]) for r in rows})
cell = {(int(r["eval_epoch"]), r["space"], r["strategy"]): r for r in rows}


def fmt(r, key, digits, scale=1.0, suffix=""):
    mean, std, n = float(r[key + "_mean"]) * scale, float(r[key + "_std"]) * scale, int(r["n"])
    if n == 1:
        return f"{mean:.{digits}f}{suffix} (1)"
    return f"{mean:.{digits}f} ± {std:.{digits}f}{suffix} ({n})"


def line(label, key, digits, scale=1.0, suffix="", only=None):
    out = [label]
    for space, strategy, _ in arms:
        vals = []
        for e in epochs:
            r = cell.get((e, space, strategy))
            vals.append("—" if r is None else fmt(r, key, digits, scale, suffix).split(" (")[0])
        out.append(" / ".join(vals) if only is None or only(space, strategy) else "—")
    return "| " + " | ".join(out) + " |"


print("| search epochs (steps) | " + " | ".join(a[2] for a in arms) + " |")
print("|---" * (len(arms) + 1) + "|")
for e in epochs:
    out = [f"{e} ({e * 100:,})"]
    for space, strategy, _ in arms:
        r = cell.get((e, space, strategy))
        out.append("—" if r is None else fmt(r, "top1", 2))
    print("| " + " | ".join(out) + " |")
means = ["mean over the lengths"]
for space, strategy, _ in arms:
    vals = [float(cell[(e, space, strategy)]["top1_mean"]) for e in epochs if (e, space, strategy) in cell]
    means.append(f"{sum(vals) / len(vals):.2f}" if len(vals) == len(epochs) else "—")
print("| " + " | ".join(means) + " |")
print(line(f"parameters (k) at {' / '.join(map(str, epochs))}", "params", 0, 1e-3))
print(line(f"normal-cell skip edges at {' / '.join(map(str, epochs))}", "skip_normal", 1,
           only=lambda space, strategy: space == baseline))
print(line(f"identity share, normal cell, at {' / '.join(map(str, epochs))}", "identity_normal", 2,
           only=lambda space, strategy: space != baseline))


runs = list(csv.DictReader(open(os.path.join(collect, "runs.csv"))))
top1 = {(int(r["eval_epoch"]), r["space"], r["strategy"], r["seed"]): float(r["top1"]) for r in runs}


def paired(keys):
    diffs = [top1[k] - top1[(k[0], baseline, "all", k[3])] for k in keys
             if (k[0], baseline, "all", k[3]) in top1]
    if not diffs:
        return "—"
    spread = f" ± {statistics.stdev(diffs):.2f}" if len(diffs) > 1 else ""
    wins = sum(d > 0 for d in diffs)
    return f"{statistics.mean(diffs):+.2f}{spread} ({len(diffs)}; wins {wins})"


print()
print("| search epochs (steps) | " + " | ".join(a[2] for a in arms[1:]) + " |")
print("|---" * len(arms) + "|")
for e in epochs + [None]:
    out = [f"{e} ({e * 100:,})" if e else "all lengths"]
    for space, strategy, _ in arms[1:]:
        out.append(paired([k for k in top1 if k[1:3] == (space, strategy) and (e is None or k[0] == e)]))
    print("| " + " | ".join(out) + " |")
