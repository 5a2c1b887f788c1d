#!/usr/bin/env bash
# Benchmarks the gateway (cmd/gateway): single-record requests per second and
# latency percentiles with many concurrent clients, measured with wrk
# (Debian's wrk; .ci/run does not need it, install it with apt-get install wrk):
#   - Kafka: POST /topics/P.pin, one pin record in the REST Proxy JSON format,
#     each 200 sent after the broker acknowledged it (acks=all);
#   - Kinesis: PUT /streams/streaming-P-pin/record, the original's
#     single-record shape, each 200 sent after PutRecord returned.
# against the local stack (kfake, kinesalite). Afterwards it checks on the
# gateway's /metrics that every answered request was a stored record and
# none failed.
#
#   make stack-up && scripts/bench-gateway.sh [SECONDS [CONNECTIONS...]]   (defaults: 20 64 256)
#   GATEWAY_FLAGS="--linger 5ms" scripts/bench-gateway.sh   more flags for the gateway
set -euo pipefail
SECS=${1:-20}
shift || true
CONNS=("$@"); (( $# )) || CONNS=(64 256)
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1; }
[[ -f .stack/env ]] || { echo "no .stack/env: run make stack-up first" >&2; exit 1; }
# shellcheck disable=SC1091
. .stack/env
DIR=$(mktemp -d /tmp/pinpipe-bench-gateway.XXXXXX)
GW_PID=
cleanup() { [[ -n "$GW_PID" ]] && kill "$GW_PID" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
go build -trimpath -o "$DIR/" ./cmd/gateway ./cmd/emit
P=bench$(date +%s)

# The topics and streams (3 partitions, 4 shards would need flags emit does not have: its defaults).
"$DIR/emit" run --from sample --to "kafka://$PINPIPE_KAFKA_BROKERS,kinesis://" --prefix "$P" --count 1 --create --progress off >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
API=127.0.0.1:$(free_port)
METRICS=127.0.0.1:$(free_port)
# shellcheck disable=SC2086
"$DIR/gateway" ${GATEWAY_FLAGS:-} --brokers "$PINPIPE_KAFKA_BROKERS" --kinesis --listen "$API" --metrics "$METRICS" 2>"$DIR/gateway.log" &
GW_PID=$!
for _ in $(seq 1 100); do curl -sf "http://$METRICS/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://$METRICS/healthz" >/dev/null || { cat "$DIR/gateway.log"; exit 1; }

PIN='{"index": 7528, "unique_id": "fbe53c66-3442-4773-b19e-d3ec6f54dddf", "title": "No Title Data Available", "description": "No description available Story format", "poster_name": "User Info Error", "follower_count": "User Info Error", "tag_list": "N,o, ,T,a,g,s, ,A,v,a,i,l,a,b,l,e", "is_image_or_video": "multi-video(story page format)", "image_src": "Image src error.", "downloaded": 0, "save_location": "Local save in /data/mens-fashion", "category": "mens-fashion"}'
printf '{"records":[{"value":%s}]}' "$PIN" >"$DIR/kafka.json"
printf '{"StreamName":"YourStreamName","Data":%s,"PartitionKey":"partition-1"}' "$PIN" >"$DIR/kinesis.json"
cat >"$DIR/post.lua" <<'LUA'
wrk.method = os.getenv("METHOD")
wrk.headers["Content-Type"] = os.getenv("CTYPE")
local f = io.open(os.getenv("BODY"))
wrk.body = f:read("*a")
f:close()
LUA

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
# cpu PID: user+system CPU seconds the process has used.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14+$15)/hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }
BACKEND_PID=
run() { # name method ctype body url
  for c in "${CONNS[@]}"; do
    g0=$(cpu "$GW_PID"); b0=$(cpu "$BACKEND_PID")
    out=$(METHOD=$2 CTYPE=$3 BODY=$4 wrk -t2 -c"$c" -d"${SECS}s" --latency -s "$DIR/post.lua" "$5")
    g1=$(cpu "$GW_PID"); b1=$(cpu "$BACKEND_PID")
    if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "$out"; echo "$1: failed requests" >&2; exit 1; fi
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    printf '%-8s %4d connections: %9s req/s  p50 %8s  p90 %8s  p99 %8s  CPU per request: gateway %s us, %s %s us\n' "$1" "$c" \
      "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '$1=="50%" {print $2}' <<<"$out")" \
      "$(awk '$1=="90%" {print $2}' <<<"$out")" "$(awk '$1=="99%" {print $2}' <<<"$out")" \
      "$(awk -v a="$g0" -v b="$g1" -v n="$n" 'BEGIN {printf "%.0f", (b-a)*1e6/n}')" "$1" \
      "$(awk -v a="$b0" -v b="$b1" -v n="$n" 'BEGIN {printf "%.0f", (b-a)*1e6/n}')"
  done
}
# The backends' processes (the local stack's), for their CPU per request.
BACKEND_PID=$(awk '$1=="kafka" {print $2}' .stack/pids 2>/dev/null || true)
run kafka POST application/vnd.kafka.json.v2+json "$DIR/kafka.json" "http://$API/topics/$P.pin"
BACKEND_PID=$(awk '$1=="kinesis" {print $2}' .stack/pids 2>/dev/null || true)
run kinesis PUT application/json "$DIR/kinesis.json" "http://$API/streams/streaming-$P-pin/record"

m=$(curl -sf "http://$METRICS/metrics")
failed=$(awk '/^pinpipe_gateway_records_total\{.*result="failed"/ {s+=$2} END {print s+0}' <<<"$m")
echo "records stored: $(grep '^pinpipe_gateway_records_total{.*result="stored"' <<<"$m" | tr '\n' ' ')"
[[ "$failed" == 0 ]] || { echo "records failed: $failed" >&2; exit 1; }
kill -TERM "$GW_PID"; wait "$GW_PID"; GW_PID=
