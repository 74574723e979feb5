#!/usr/bin/env python3
"""The compute the robustness study took: the seconds of every finished search and training epoch.

usage: studies/robustness/compute.py   (from anywhere)
Every run here ran at one thread, so an epoch's wall seconds are its CPU seconds (give or take the
other core's load). Epochs lost to a stop before their checkpoint are not counted, nor is the
2026-11-28 start that was lost with its machine (docs/robustness.md).
"""
import glob, json, os

here = os.path.dirname(os.path.abspath(__file__))


def seconds(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return len(rows), sum(r.get("seconds", 0.0) for r in rows)


def main():
    total = 0.0
    print("| folder | searches (epochs) | search CPU-h | trainings (epochs) | training CPU-h |")
    print("|---|---|---:|---|---:|")
    for folder in ["pilot", "study", "s3", "peers", "confirm"]:
        root = os.path.join(here, folder)
        if folder == "pilot":
            search = glob.glob(os.path.join(root, "*.metrics.jsonl"))
            train = []
        else:
            search = glob.glob(os.path.join(root, "searches", "*", "metrics.jsonl"))
            train = glob.glob(os.path.join(root, "runs", "*", "train", "metrics.jsonl"))
        s = [seconds(p) for p in search]
        t = [seconds(p) for p in train]
        s_h = sum(x for _, x in s) / 3600
        t_h = sum(x for _, x in t) / 3600
        total += s_h + t_h
        print(f"| {folder} | {len(s)} ({sum(n for n, _ in s)}) | {s_h:.1f} | "
              f"{len(t)} ({sum(n for n, _ in t)}) | {t_h:.1f} |")
    print(f"\ntotal: {total:.1f} CPU-hours")


if __name__ == "__main__":
    main()
