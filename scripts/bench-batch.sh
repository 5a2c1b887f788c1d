#!/usr/bin/env bash
# Benchmarks the batch job end to end on the local file system: generates
# POSTS sample posts (3 lines each: pin, geo, user; rows repeat, as the
# original emulator sent them) in objects of PER_OBJECT lines, then runs the
# batchjob binary under /usr/bin/time -v and reports lines/s and peak RSS.
#
#   scripts/bench-batch.sh [POSTS [PER_OBJECT]]      (defaults: 1000000 10000)
#   BENCH_DIR=/tmp/x KEEP=1 scripts/bench-batch.sh 3000000
#   BATCHJOB_FLAGS="--gc-percent 100" scripts/bench-batch.sh     extra batchjob flags
#   BATCHJOB_CPUPROFILE=/tmp/cpu.prof scripts/bench-batch.sh      a CPU profile of the run
#   BATCHJOB=/path/to/batchjob OUT_FLAG=--output scripts/bench-batch.sh
#       runs that binary (A/B comparisons with a version before the Iceberg
#       tables, whose output flag was --output) instead of building one
# The output is a warehouse directory with its SQLite catalog (the default
# for a local warehouse); the run's publish and maintenance are timed.
set -euo pipefail
POSTS=${1:-1000000}
PER_OBJECT=${2:-10000}
PREFIX=124a514b9149
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-$(mktemp -d /tmp/pinpipe-bench-batch.XXXXXX)}
[[ -n "${KEEP:-}" ]] || trap 'rm -rf "$DIR"' EXIT
mkdir -p "$DIR"

if [[ -n "${BATCHJOB:-}" ]]; then
  cp "$BATCHJOB" "$DIR/batchjob"
else
  go build -trimpath -o "$DIR/batchjob" ./cmd/batchjob
fi
if [[ ! -d "$DIR/topics-$POSTS-$PER_OBJECT" ]]; then
  go run ./pkg/batch/testdata/gen --out "$DIR/topics-$POSTS-$PER_OBJECT" --prefix "$PREFIX" \
    --posts "$POSTS" --per-object "$PER_OBJECT"
fi
rm -rf "$DIR/out"
LOAD=$(cut -d" " -f1-3 /proc/loadavg)
/usr/bin/time -v -o "$DIR/time.txt" "$DIR/batchjob" --input "$DIR/topics-$POSTS-$PER_OBJECT" \
  --prefix "$PREFIX" "${OUT_FLAG:---warehouse}" "$DIR/out" --date 2026-11-24 --json --progress never ${BATCHJOB_FLAGS:-} >"$DIR/summary.json"

LOAD="$LOAD" python3 scripts/bench-report.py "$DIR/summary.json" "$DIR/time.txt" lines "posts=$POSTS"
