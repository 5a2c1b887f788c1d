#!/usr/bin/env bash
# Benchmarks the batch job reading one-record objects (the original's
# flush.size=1) from the local stack's versitygw: lays out POSTS sample posts
# (3 objects each: pin, geo, user) under s3://$PINPIPE_S3_BUCKET/bench-s3-POSTS/topics
# with pkg/batch/batchtest (once; kept for re-runs), then runs the batchjob
# binary on them under /usr/bin/time -v and reports objects/s and peak RSS.
# The tables go to s3://$PINPIPE_S3_BUCKET/bench-s3-POSTS/warehouse with a
# fresh SQLite catalog per run (so each run creates its tables).
#
#   make stack-up && scripts/bench-batch-s3.sh [POSTS [CONCURRENCY]]   (defaults: 33334 64)
#   REGEN=1 scripts/bench-batch-s3.sh      lays the objects out again
#   BATCHJOB=/path/to/batchjob scripts/bench-batch-s3.sh   runs that binary
#                                          (A/B comparisons) instead of building one
#   S3_ENDPOINT=http://127.0.0.1:19001 scripts/bench-batch-s3.sh   another S3
#                                          server over the same data (default: .stack/env's)
set -euo pipefail
POSTS=${1:-33334}
CONCURRENCY=${2:-64}
PREFIX=124a514b9149
cd "$(dirname "$0")/.."
[[ -f .stack/env ]] || { echo "no .stack/env: run make stack-up first" >&2; exit 1; }
# shellcheck disable=SC1091
. .stack/env
if [[ -n "${S3_ENDPOINT:-}" ]]; then export AWS_ENDPOINT_URL_S3=$S3_ENDPOINT; fi
BUCKET=${PINPIPE_S3_BUCKET:-pinpipe}
ROOT="s3://$BUCKET/bench-s3-$POSTS"
DIR=$(mktemp -d /tmp/pinpipe-bench-batch-s3.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

if [[ -n "${BATCHJOB:-}" ]]; then
  cp "$BATCHJOB" "$DIR/batchjob"
else
  go build -trimpath -o "$DIR/batchjob" ./cmd/batchjob
fi
MARK=".stack/bench-s3-$POSTS.done" # the layout is kept in the bucket between runs
if [[ -n "${REGEN:-}" || ! -f "$MARK" ]]; then
  go run ./pkg/batch/testdata/gen --out "$ROOT/topics" --prefix "$PREFIX" \
    --posts "$POSTS" --per-object 1 --concurrency 128
  touch "$MARK"
fi
LOAD=$(cut -d" " -f1-3 /proc/loadavg)
/usr/bin/time -v -o "$DIR/time.txt" "$DIR/batchjob" --input "$ROOT/topics" --prefix "$PREFIX" \
  --warehouse "$ROOT/warehouse" --catalog "sqlite://$DIR/catalog.db" --date 2026-11-24 --concurrency "$CONCURRENCY" --json --progress never >"$DIR/summary.json"

LOAD="$LOAD" python3 scripts/bench-report.py "$DIR/summary.json" "$DIR/time.txt" objects "posts=$POSTS" "concurrency=$CONCURRENCY"
