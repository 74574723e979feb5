#!/usr/bin/env bash
# Runs a sweep folder's runs in the order of ORDER_FILE (one run name per line; `#` comments),
# JOBS at a time (default 2), each `aca run --resume` with one thread (what `aca sweep run`
# starts), so `aca sweep status|collect|compare DIR` read the folder. A worker claims the next
# unclaimed run (an atomic mkdir under /tmp/robust/claims), so runs start in the file's order and
# only the runs still running when work stops are lost; a run whose summary.txt exists is done. A
# run that fails is tried up to three times. Touch /tmp/robust/queue.hold to stop before the next run.
# Several queues on one folder share the claims (start a second one to use more cores); a queue
# stopped by hand leaves its claims behind: remove /tmp/robust/claims before starting it again.
# usage: studies/robustness/run-queue.sh ACA_BINARY SWEEP_DIR ORDER_FILE [JOBS]
set -uo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 ACA_BINARY SWEEP_DIR ORDER_FILE [JOBS]" >&2
  exit 2
fi
aca=$1 dir=$2 order=$3 jobs=${4:-2}
[ -x "$aca" ] || { echo "$0: $aca is not an executable aca binary" >&2; exit 2; }
[ -f "$dir/sweep.json" ] || { echo "$0: $dir/sweep.json is missing: run \`aca sweep plan FILE --dir $dir\` first" >&2; exit 2; }
[ -f "$order" ] || { echo "$0: order file $order is missing" >&2; exit 2; }
mapfile -t names < <(grep -v '^\s*\(#\|$\)' "$order")
for name in "${names[@]}"; do
  [ -f "$dir/runs/$name/run.json" ] || { echo "$0: $name (in $order) is not a run of $dir" >&2; exit 2; }
done
hold=/tmp/robust/queue.hold
# Keyed by the folder's real path, so that queues started as `confirm` and `/abs/.../confirm` share.
claims=/tmp/robust/claims/$(realpath "$dir" | tr '/' '_')
mkdir -p "$claims"

run() {
  local name=$1
  for try in 1 2 3; do
    echo "$(date -u +%FT%TZ) start $name (try $try)"
    if OMP_NUM_THREADS=1 "$aca" --quiet --threads 1 run --resume --no-progress --device cpu \
      --out "$dir/runs/$name" >>"$dir/runs/$name/sweep.log" 2>&1; then
      echo "$(date -u +%FT%TZ) end   $name"
      return 0
    fi
    [ -e "$hold" ] && return 0
    echo "$(date -u +%FT%TZ) FAILED $name"
  done
}

worker() {
  for name in "${names[@]}"; do
    [ -e "$hold" ] && return 0
    [ -f "$dir/runs/$name/summary.txt" ] && continue
    mkdir "$claims/$name" 2>/dev/null || continue
    run "$name"
  done
}

for _ in $(seq "$jobs"); do worker & sleep 2; done
wait
