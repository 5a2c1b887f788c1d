#!/usr/bin/env bash
# Benchmarks incremental batch runs on a large state (issue #14): a --full
# run over STATE posts (the sample generator's dirty records, objects of
# 1,000 records, 3 partitions per topic, drawn from 1,000,000 rows), then
# DAYS daily runs each after 2,001 new one-record objects (667 posts).
# With BASE set to a commit, the same is done with that commit's batchjob in
# a second warehouse, the two alternated run by run, on the local file
# system.
#
#   scripts/bench-state.sh [STATE [DAYS]]          (defaults: 300000 3; about 1 minute)
#   BASE=0059bc3 scripts/bench-state.sh            against the job at commit 0059bc3
#   BATCHJOB=/path/to/batchjob scripts/bench-state.sh
#
# Each run prints its wall time and peak RSS (/usr/bin/time), and the
# job's own timings (--json).
set -euo pipefail
STATE=${1:-300000}
DAYS=${2:-3}
cd "$(dirname "$0")/.."
DIR=$(mktemp -d /tmp/pinpipe-bench-state.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
if [[ -n "${BATCHJOB:-}" ]]; then
  cp "$BATCHJOB" "$DIR/batchjob-head"
else
  go build -trimpath -o "$DIR/batchjob-head" ./cmd/batchjob
fi
kinds=(head)
if [[ -n "${BASE:-}" ]]; then
  git worktree add -f --detach "$DIR/base" "$BASE" >/dev/null 2>&1
  (cd "$DIR/base" && go build -trimpath -o "$DIR/batchjob-base" ./cmd/batchjob)
  git worktree remove --force "$DIR/base"
  kinds=(base head)
fi
go build -o "$DIR/gen" ./pkg/batch/testdata/gen

run() { # KIND DATE
  local kind=$1 date=$2
  /usr/bin/time -f '%e %M' -o "$DIR/time.txt" "$DIR/batchjob-$kind" --input "$DIR/topics" --prefix bench \
    --warehouse "$DIR/wh-$kind" --date "$date" --json --progress never >"$DIR/summary.json"
  python3 - "$DIR/summary.json" "$DIR/time.txt" "$kind" "$date" <<'EOF'
import json, sys
summary, timefile, kind, date = sys.argv[1:]
s = json.load(open(summary))
wall, rss = open(timefile).read().split()[-2:]
t = s["timings"]
print(f"{kind:4s} {date}  objects {s['objects']:6d}  wall {float(wall):5.2f}s  rss {int(rss)//1024:5d} MiB  "
      f"merge {t['merge_ms']} compute {t['compute_ms']} write {t['write_ms']} publish {t['publish_ms']} ms  "
      f"load {open('/proc/loadavg').read().split()[0]}")
EOF
}

"$DIR/gen" --out "$DIR/topics" --prefix bench --posts "$STATE" --rows 1000000 --per-object 1000 --partitions 3
for kind in "${kinds[@]}"; do run "$kind" 2026-11-01; done
for day in $(seq 1 "$DAYS"); do
  "$DIR/gen" --out "$DIR/topics" --prefix bench --posts $((STATE + day * 667)) --skip $((STATE + (day - 1) * 667)) \
    --rows 1000000 --per-object 1 --partitions 3 2>/dev/null
  order=("${kinds[@]}")
  if ((day % 2 == 0 && ${#kinds[@]} == 2)); then order=(head base); fi # alternate which goes first
  for kind in "${order[@]}"; do run "$kind" "$(printf '2026-11-%02d' $((day + 1)))"; done
done
