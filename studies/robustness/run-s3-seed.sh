#!/usr/bin/env bash
# Runs one seed of the S3 study (s3.toml) one run at a time: the S3 baseline's three runs (the
# first runs its 40-epoch search), then s3-aca's runs (the first runs its search), then any run
# named after the seed (another seed's leftovers, to balance two of these side by side).
# usage: studies/robustness/run-s3-seed.sh ACA_BINARY S3_DIR SEED|none [RUN_NAME...]
# Each run is `aca run --resume` (what `aca sweep run` starts), so a stopped run continues; a run
# that fails is tried up to three times. Touch /tmp/robust/s3.hold to stop before the next run.
set -uo pipefail
aca=$1 dir=$2 seed=$3
shift 3
hold=/tmp/robust/s3.hold
run() {
  [ -e "$hold" ] && exit 0
  local name=$1
  [ -f "$dir/runs/$name/summary.txt" ] && return 0
  for try in 1 2 3; do
    echo "$(date -u +%FT%TZ) start $name (try $try)"
    if OMP_NUM_THREADS=1 "$aca" --quiet --threads 1 run --resume --no-progress --device cpu \
      --out "$dir/runs/$name" >>"$dir/runs/$name/sweep.log" 2>&1; then
      echo "$(date -u +%FT%TZ) end   $name"
      return 0
    fi
    [ -e "$hold" ] && exit 0
    echo "$(date -u +%FT%TZ) FAILED $name"
  done
}
if [ "$seed" != none ]; then
  for e in 10 20 40; do run "eval_epoch=$e,seed=$seed,space=s3,strategy=all"; done
  for e in 10 20 40; do
    for st in otsu-log all fixed:0.5 otsu; do run "eval_epoch=$e,seed=$seed,space=s3-aca,strategy=$st"; done
  done
fi
for name in "$@"; do run "$name"; done
