#!/usr/bin/env bash
# Benchmarks the incremental batch job (issue #14): DAYS daily runs
# (--date 2026-11-01, -02, ...) of the batchjob binary over a landing root to
# which, before each run, the objects of POSTS new posts are added, one
# record each (flush.size=1), to the three topics (3 x POSTS objects): the
# sample generator's dirty records (pkg/batch/testdata/gen, each day with
# --skip the posts of the days before), drawn with replacement from ROWS sample rows, in
# PARTITIONS partitions per topic (by ind, as Kafka keyed by ind), the offsets
# of each partition continuing day after day. Each day prints the objects the
# incremental run read, its wall and CPU time and peak RSS; on FULL_DAYS a --full run over
# everything landed so far, into a separate warehouse, is timed too. Once on
# the local file system (landing root and warehouses are directories) and once
# on the local stack's S3 (versitygw: landing root s3://$PINPIPE_S3_BUCKET/
# bench-inc-STAMP/topics, warehouses beside it, SQLite catalogs in a local
# temporary directory). The summary gives day DAYS / day 1 of the incremental
# runs (issue #14: within 1.5x), the same for the medians of days DAYS-2 to
# DAYS and days 1 to 3 (steadier), the median of the last third of the days
# against days 1-3 and the runs' total time (what compares two commits run
# one after the other), and the full runs' times.
#
#   scripts/bench-incremental.sh [POSTS [DAYS]]        (defaults: 667 30, 2,001 objects a day; 5-6 minutes on two busy cores)
#   STORES=file scripts/bench-incremental.sh           only the file store (STORES="file s3" by default)
#   FULL_DAYS="1 30" PARTITIONS=1 ROWS=11000 scripts/bench-incremental.sh     (FULL_DAYS="": no --full runs)
#   BATCHJOB=/path/to/batchjob scripts/bench-incremental.sh    runs that binary instead of building one
#   BATCH_FLAGS=--report=false scripts/bench-incremental.sh   adds flags to every run
#   KEEP=1 scripts/bench-incremental.sh                keeps the data (the temporary directory and
#                                                      the S3 prefix are printed)
#   AGAIN=8 scripts/bench-incremental.sh               on the file store, then runs day 1 and day DAYS
#                                                      again 8 times each, alternated, each time on a copy
#                                                      (hard links) of the state and landing root it had
#                                                      (default 6; 0: none): one run varies by a third on a
#                                                      busy machine, the medians of alternated runs do not
# The S3 part needs the local stack (make stack-up). Every run goes under
# /usr/bin/time; the load average before it is printed with it.
set -euo pipefail
POSTS=${1:-667}
N=$((3 * POSTS)) # objects a day
DAYS=${2:-30}
STORES=${STORES:-file s3}
BATCH_FLAGS=${BATCH_FLAGS:-}
FULL_DAYS=${FULL_DAYS-1 10 20 30}
AGAIN=${AGAIN:-6}
PARTITIONS=${PARTITIONS:-3}
ROWS=${ROWS:-1000000}
PREFIX=124a514b9149
cd "$(dirname "$0")/.."
REPO=$(pwd)
DIR=$(mktemp -d /tmp/pinpipe-bench-incremental.XXXXXX)
S3ROOT=""
cleanup() {
  if [[ -n "$S3ROOT" && -x "$DIR/gen" ]]; then "$DIR/gen" --out "$S3ROOT" --delete || true; fi
  rm -rf "$DIR"
}
if [[ -n "${KEEP:-}" ]]; then echo "data kept in $DIR" >&2; else trap cleanup EXIT; fi

if [[ -n "${BATCHJOB:-}" ]]; then
  cp "$BATCHJOB" "$DIR/batchjob"
else
  go build -trimpath -o "$DIR/batchjob" ./cmd/batchjob
fi

go build -o "$DIR/gen" ./pkg/batch/testdata/gen

# job KIND STORE DAY INPUT WAREHOUSE CATALOG [FLAGS...]: one timed run, one
# line printed and appended to $DIR/results.tsv.
job() {
  local kind=$1 store=$2 day=$3 input=$4 wh=$5 cat=$6
  shift 6
  local date load catflag=()
  date=$(date -u -d "2026-11-01 +$((day - 1)) days" +%Y-%m-%d)
  load=$(cut -d" " -f1-3 /proc/loadavg)
  [[ -n "$cat" ]] && catflag=(--catalog "$cat")
  if ! /usr/bin/time -f '%e %M %U %S' -o "$DIR/time.txt" "$DIR/batchjob" --input "$input" --prefix "$PREFIX" \
    --warehouse "$wh" "${catflag[@]}" --date "$date" --json --progress never $BATCH_FLAGS "$@" >"$DIR/summary.json" 2>"$DIR/stderr.txt"; then
    echo "batchjob failed ($kind, $store, day $day):" >&2
    cat "$DIR/stderr.txt" >&2
    exit 1
  fi
  python3 - "$DIR/summary.json" "$DIR/time.txt" "$kind" "$store" "$day" "$load" "$N" >>"$DIR/results.tsv" <<'EOF'
import json, sys
summary, timefile, kind, store, day, load, n = sys.argv[1:]
s = json.load(open(summary))
wall, rss_kb, user, sys_ = open(timefile).read().split()[-4:]
c = s["counts"]
per = "/".join(str(c[t]["objects"]) for t in ("pin", "geo", "user"))
tm = s["timings"]
gaps = len(s.get("gaps") or [])
print("\t".join(map(str, [kind, store, day, s["objects"], per, s["lines"], wall, f"{float(user)+float(sys_):.1f}",
      int(rss_kb)//1024, s["full"], tm["list_ms"], tm["read_ms"], tm.get("merge_ms", 0), tm["compute_ms"],
      tm["write_ms"], tm["publish_ms"], gaps, load, tm.get("scan_ms", 0)])))
EOF
  tail -n 1 "$DIR/results.tsv" | awk -F'\t' '{printf "%-11s %-4s day %2d  objects %6d (%s)  lines %6d  wall %6.2fs  cpu %5.1fs  rss %4d MiB  full=%s  list %s read %s (state scan %s) merge %s compute %s write %s publish %s ms  gaps %s  load %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $19, $13, $14, $15, $16, $17, $18}'
}

is_full_day() { [[ " $FULL_DAYS " == *" $1 "* ]]; }

# copy_state SRC DST: DST becomes a copy of the file store's directory SRC
# (landing root and warehouses) as hard links, but the SQLite catalog, the
# only file written in place. Locations in the catalog and the metadata are
# absolute: a copy is run only once moved back to SRC's path.
copy_state() {
  rm -rf "$2"
  cp -al "$1" "$2"
  local f
  for f in "$1"/warehouse*/catalog.db*; do
    [[ -e "$f" ]] || continue
    rm "$2/${f#"$1"/}"
    cp "$f" "$2/${f#"$1"/}"
  done
}

for store in $STORES; do
  case $store in
  file)
    input="$DIR/file/topics"
    inc_wh="$DIR/file/warehouse" inc_cat=""
    full_wh="$DIR/file/warehouse-full" full_cat=""
    mkdir -p "$input"
    ;;
  s3)
    [[ -f .stack/env ]] || { echo "no .stack/env: run make stack-up first" >&2; exit 1; }
    # shellcheck disable=SC1091
    . .stack/env
    S3ROOT="s3://${PINPIPE_S3_BUCKET:-pinpipe}/bench-inc-$(date -u +%Y%m%dT%H%M%S)-$$"
    [[ -z "${KEEP:-}" ]] || echo "S3 data kept under $S3ROOT" >&2
    input="$S3ROOT/topics"
    inc_wh="$S3ROOT/warehouse" inc_cat="sqlite://$DIR/s3-catalog.db"
    full_wh="$S3ROOT/warehouse-full" full_cat="sqlite://$DIR/s3-catalog-full.db"
    ;;
  *) echo "unknown store $store (want file or s3)" >&2; exit 1 ;;
  esac
  echo "== $store: $N new one-record objects per day, $DAYS days, $PARTITIONS partitions per topic, posts drawn from $ROWS rows; --full on days $FULL_DAYS"
  for day in $(seq 1 "$DAYS"); do
    "$DIR/gen" --out "$input" --prefix "$PREFIX" --posts $((day * POSTS)) --skip $(((day - 1) * POSTS)) --rows "$ROWS" \
      --per-object 1 --partitions "$PARTITIONS" 2>>"$DIR/gen.log"
    if [[ $store == file && $AGAIN -gt 0 && ($day == 1 || $day == "$DAYS") ]]; then
      copy_state "$DIR/file" "$DIR/before-$day"
    fi
    job incremental "$store" "$day" "$input" "$inc_wh" "$inc_cat"
    if is_full_day "$day"; then
      job full "$store" "$day" "$input" "$full_wh" "$full_cat" --full
    fi
  done
  if [[ $store == file && $AGAIN -gt 0 ]]; then
    echo "== file: day 1 and day $DAYS again, $AGAIN times each, alternated, each on a copy of the state it had"
    for _ in $(seq 1 "$AGAIN"); do
      for day in 1 "$DAYS"; do
        copy_state "$DIR/before-$day" "$DIR/file"
        job again "$store" "$day" "$input" "$inc_wh" "$inc_cat"
      done
    done
    rm -rf "$DIR/before-1" "$DIR/before-$DAYS"
  fi
done

if [[ -n "${BATCHJOB:-}" ]]; then code="binary $BATCHJOB"; else
  code="commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- cmd pkg go.mod go.sum || echo ' with uncommitted changes')"
fi
echo "== summary (N=$N objects per day, $code, $(nproc) cores)"
python3 - "$DIR/results.tsv" "$N" "$DAYS" <<'EOF'
import sys
from collections import defaultdict
path, n, days = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [l.rstrip("\n").split("\t") for l in open(path)]
by = defaultdict(dict)
for r in rows:
    by[(r[0], r[1])][int(r[2])] = r
for store in dict.fromkeys(r[1] for r in rows):
    inc = by[("incremental", store)]
    odd = [d for d, r in sorted(inc.items()) if int(r[3]) != n]
    if 1 in inc and days in inc:
        t1, tn = float(inc[1][6]), float(inc[days][6])
        ok = "within" if tn <= 1.5 * t1 else "NOT within"
        c1, cn = float(inc[1][7]), float(inc[days][7])
        print(f"{store}: incremental day {days} {tn:.2f}s / day 1 {t1:.2f}s = {tn/t1:.2f}x ({ok} 1.5x); "
              f"days 2-{days}: {min(float(r[6]) for d, r in inc.items() if d > 1):.2f}-{max(float(r[6]) for d, r in inc.items() if d > 1):.2f}s; "
              f"CPU-s day {days} {cn:.1f} / day 1 {c1:.1f} = {cn/c1:.2f}x")
    if days >= 6 and all(d in inc for d in (1, 2, 3, days - 2, days - 1, days)):
        # One run of a quarter second varies by a third from run to run:
        # the medians of three days on each side are steadier.
        med = lambda ds: sorted(float(inc[d][6]) for d in ds)[1]
        m1, mn = med((1, 2, 3)), med((days - 2, days - 1, days))
        ok = "within" if mn <= 1.5 * m1 else "NOT within"
        print(f"{store}: median of days {days-2}-{days} {mn:.2f}s / median of days 1-3 {m1:.2f}s = {mn/m1:.2f}x ({ok} 1.5x)")
    if days >= 20 and all(d in inc for d in range(1, days + 1)):
        # The last third of the days against days 1-3, and the runs' sum:
        # what compares two commits (run one after the other).
        import statistics
        wall = lambda ds: [float(inc[d][6]) for d in ds]
        last = range(days - days // 3 + 1, days + 1)
        print(f"{store}: median of days {last[0]}-{days} {statistics.median(wall(last)):.2f}s / median of days 1-3 "
              f"{statistics.median(wall((1, 2, 3))):.2f}s = {statistics.median(wall(last)) / statistics.median(wall((1, 2, 3))):.2f}x; "
              f"the {days} runs {sum(wall(range(1, days + 1))):.1f}s, {sum(float(inc[d][7]) for d in range(1, days + 1)):.1f} CPU-s")
    print(f"{store}: incremental runs reading other than {n} objects: {', '.join(f'day {d} ({inc[d][3]})' for d in odd) or 'none'}")
    again = [r for r in rows if r[0] == "again" and r[1] == store]
    if again:
        import statistics
        w = lambda d: [float(r[6]) for r in again if int(r[2]) == d]
        c = lambda d: [float(r[7]) for r in again if int(r[2]) == d]
        a1, an = statistics.median(w(1)), statistics.median(w(days))
        ok = "within" if an <= 1.5 * a1 else "NOT within"
        print(f"{store}: again, {len(w(1))} runs each, alternated: median of day {days} {an:.3f}s / median of day 1 {a1:.3f}s = {an/a1:.2f}x ({ok} 1.5x); "
              f"day 1 {min(w(1)):.2f}-{max(w(1)):.2f}s, day {days} {min(w(days)):.2f}-{max(w(days)):.2f}s; CPU-s medians {statistics.median(c(1)):.2f} and {statistics.median(c(days)):.2f}")
    full = by[("full", store)]
    print(f"{store}: --full: " + ", ".join(f"day {d} {r[3]} objects {float(r[6]):.2f}s" for d, r in sorted(full.items())))
EOF
