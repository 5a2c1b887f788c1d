#!/usr/bin/env bash
# Benchmarks the batch job reading one-record objects (the original's
# flush.size=1) from the local stack's versitygw: lays out POSTS sample posts
# (3 objects each: pin, geo, user) under s3://$PINPIPE_S3_BUCKET/bench-s3-POSTS/topics
# with pkg/batch/batchtest (once; kept for re-runs), then runs the batchjob
# binary on them under /usr/bin/time -v and reports objects/s and peak RSS.
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
  --output "$ROOT/out" --date 2026-11-24 --concurrency "$CONCURRENCY" --json --progress never >"$DIR/summary.json"

LOAD="$LOAD" python3 - "$DIR/summary.json" "$DIR/time.txt" "$POSTS" "$CONCURRENCY" <<'PY'
import json, os, re, sys
s = json.load(open(sys.argv[1]))
t = open(sys.argv[2]).read()
wall = t.split("Elapsed (wall clock) time (h:mm:ss or m:ss): ")[1].split("\n")[0]
parts = [float(x) for x in wall.split(":")]
secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
cpu = re.search(r"Percent of CPU this job got: (\d+)%", t).group(1)
tm = s["timings"]
print(f"posts={sys.argv[3]} concurrency={sys.argv[4]} objects={s['objects']} lines={s['lines']} wall={secs:.2f}s "
      f"objects/s={s['objects']/secs:,.0f} peak_rss={rss_kb/1024:.0f}MiB cpu={cpu}% "
      f"(list {tm['list_ms']}ms, read {tm['read_ms']}ms, compute {tm['compute_ms']}ms, "
      f"write {tm['write_ms']}ms, publish {tm['publish_ms']}ms) load_before={os.environ['LOAD']}")
PY
