#!/usr/bin/env python3
"""Markdown rows of one seed's finished runs of the robustness study, from their summary.txt.

usage: studies/robustness/seed-table.py SEED [FOLDER]   (FOLDER: study (default) or s3)
columns: search epochs (architecture steps), space, strategy, test top-1, parameters,
multiply-adds, normal-cell skip edges, identity share normal / reduce
"""
import re, glob, os, sys
seed = sys.argv[1] if len(sys.argv) > 1 else "0"
folder = sys.argv[2] if len(sys.argv) > 2 else "study"
rows = []
for d in glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{folder}/runs/*seed={seed},*")):
    f = os.path.join(d, "summary.txt")
    if not os.path.isfile(f): continue
    t = open(f).read()
    name = dict(kv.split("=") for kv in os.path.basename(d).split(","))
    top1 = re.search(r"top-1 ([0-9.]+)%", t).group(1)
    params = int(re.search(r"parameters\s+(\d+)", t).group(1))
    macs = re.search(r"multiply-adds\s+([0-9.]+M)", t).group(1)
    ident = re.search(r"identity share\s+normal cells ([0-9.]+)%, reduction cells ([0-9.]+)%", t)
    skips = re.search(r"skip_connect edges in the normal cell: (\d+)", t)
    sk = skips.group(1) if skips else "?"
    idn = f"{float(ident.group(1))/100:.2f} / {float(ident.group(2))/100:.2f}" if ident else "0.00 / 0.00"
    e = int(name["eval_epoch"])
    order = {"darts":0,"s3":0}.get(name["space"],1), {"all":0,"fixed:0.5":1,"otsu":2,"otsu-log":3}[name["strategy"]]
    rows.append((order, e, f"| {e} ({e*100:,}) | {name['space']} | {name['strategy']} | {top1} % | {round(params/1000)}k | {macs} | {sk} | {idn} |"))
for r in sorted(rows): print(r[2])
