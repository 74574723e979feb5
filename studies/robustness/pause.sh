#!/usr/bin/env bash
# Ends a session of the robustness study so that the next one continues from the repository (no
# state survives a machine here except what is committed):
#  1. stops run-seed.sh and its runs (a search keeps its checkpoint of the last finished epoch);
#  2. allocates every run whose snapshot exists but that has no plan.json yet, with the same
#     binary and the run's own scorer and strategy (`aca allocate` is the pipeline's allocation
#     stage: the plan is byte-identical), so the snapshot's weights are no longer needed;
#  3. lists the checkpoints of unfinished searches and trainings (about 6 MB each), which are
#     committed (git add -f) with the rest, so the next session continues them.
# usage: studies/robustness/pause.sh ACA_BINARY STUDY_DIR [ARM_BINARY]
# ARM_BINARY (built at results/COMMIT-otsu-log) allocates the otsu-log arm, which ACA_BINARY
# (results/COMMIT) predates.
set -euo pipefail
aca=$1 dir=$2 arm=${3:-}
pkill -f run-seed.sh || true
pkill -f run-arm.sh || true
pkill -f run-s3-seed.sh || true
pkill -TERM -f "$(basename "$aca") --quiet --threads 1 run --resume" || true
[ -n "$arm" ] && { pkill -TERM -f "$(basename "$arm") --quiet --threads 1 run --resume" || true; }
sleep 3
for run in "$dir"/runs/*/; do
  run=${run%/}
  [ -f "$run/plan.json" ] && continue
  read -r epoch scorer strategy batches < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["config"]
a = c["allocate"]
print(c.get("eval_epoch") or c["search"]["epochs"], a["scorer"], a["strategy"], a.get("batches") or "")
' "$run/run.json")
  snap="$run/search/snapshots/epoch-$(printf %03d "$epoch")"
  [ -f "$snap/supernet.ot" ] || { [ -f "$run/search/genotype.json" ] && snap="$run/search"; }
  [ -f "$snap/supernet.ot" ] && [ -f "$snap/genotype.json" ] || continue
  bin=$aca
  if [ "$strategy" = otsu-log ]; then
    [ -n "$arm" ] || { echo "skipping $(basename "$run"): otsu-log needs ARM_BINARY"; continue; }
    bin=$arm
  fi
  echo "allocating $(basename "$run")"
  OMP_NUM_THREADS=1 "$bin" --quiet --threads 1 allocate --run "$run/search" --epoch "$epoch" \
    --scorer "$scorer" --strategy "$strategy" ${batches:+--batches "$batches"} --device cpu \
    --out "$run/plan.json"
done
echo "checkpoints of unfinished searches and trainings (commit with git add -f):"
for s in "$dir"/searches/*/; do
  [ -f "$s/checkpoint.ot" ] && [ ! -f "$s/genotype.json" ] && echo "  ${s%/}/checkpoint.ot"
done
for t in "$dir"/runs/*/train/; do
  [ -f "$t/checkpoint.ot" ] && [ ! -f "$t/results.json" ] && echo "  ${t%/}/checkpoint.ot"
done
exit 0
