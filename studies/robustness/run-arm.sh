#!/usr/bin/env bash
# Runs one added arm of the robustness study for one seed: the skip-free space's runs of STRATEGY
# at every evaluated search epoch, one at a time, with the binary built at the arm's commit
# (results/COMMIT-<strategy>). The searches are the study's own (shared, finished first by
# run-seed.sh); each run is `aca run --resume`, so a stopped run continues.
# usage: studies/robustness/run-arm.sh ACA_BINARY STUDY_DIR SEED STRATEGY [EPOCH...]
set -euo pipefail
aca=$1 dir=$2 seed=$3 strategy=$4
shift 4
epochs=("${@:-10 20 40}")
for e in ${epochs[*]}; do
  name="eval_epoch=$e,seed=$seed,space=aca,strategy=$strategy"
  [ -f "$dir/runs/$name/summary.txt" ] && continue
  # The searches belong to run-seed.sh and its binary: never run one from here.
  if [ ! -f "$dir/runs/$name/search/genotype.json" ]; then
    echo "skipping $name: its search has not finished (run-seed.sh runs it)"
    continue
  fi
  echo "$(date -u +%FT%TZ) start $name"
  OMP_NUM_THREADS=1 "$aca" --quiet --threads 1 run --resume --no-progress --device cpu \
    --out "$dir/runs/$name" >>"$dir/runs/$name/sweep.log" 2>&1 || echo "$(date -u +%FT%TZ) FAILED $name"
  echo "$(date -u +%FT%TZ) end   $name"
done
