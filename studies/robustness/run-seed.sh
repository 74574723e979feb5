#!/usr/bin/env bash
# Runs the 12 runs of one seed of the robustness study, two at a time, in an order that keeps
# both cores busy and finishes each search's trainings before the next seed's searches start:
#   worker 1: the DARTS-space search, then its trainings, then half of the ACA-space trainings
#   worker 2: the ACA-space search, then the other ACA-space trainings
# usage: studies/robustness/run-seed.sh ACA_BINARY STUDY_DIR SEED
# Each run is `aca run --resume` (what `aca sweep run` starts), so a stopped run continues.
set -euo pipefail
aca=$1 dir=$2 seed=$3
here=$(cd "$(dirname "$0")" && pwd)
# Lays the runs out without running any (the Slurm backend's dry run only writes its script).
[ -d "$dir/runs" ] || "$aca" --quiet sweep run "$here/sweep.toml" --dir "$dir" --backend slurm --dry-run
run() {
  local name="eval_epoch=$1,seed=$seed,space=$2,strategy=$3"
  [ -f "$dir/runs/$name/summary.txt" ] && return 0
  echo "$(date -u +%FT%TZ) start $name"
  OMP_NUM_THREADS=1 "$aca" --quiet --threads 1 run --resume --no-progress --device cpu \
    --out "$dir/runs/$name" >>"$dir/runs/$name/sweep.log" 2>&1 || echo "$(date -u +%FT%TZ) FAILED $name"
  echo "$(date -u +%FT%TZ) end   $name"
}
worker1() {
  for e in 10 20 40; do run $e darts all; done
  for e in 10 20 40; do run $e aca fixed:0.5; done
}
worker2() {
  for e in 10 20 40; do run $e aca all; run $e aca otsu; done
}
worker1 & worker2 & wait
