#!/usr/bin/env bash
# Where the HTTP bench server's worker spends its time: `perf record` on the worker thread of
# `examples/http_bench.rs` while wrk loads it, as in scripts/bench-http.sh.
#
# Usage: scripts/profile-http.sh MODE [OUT_DIR]
#        scripts/profile-http.sh --report OUT_DIR   (the reports of an earlier recording)
#
# MODE is one of http_bench's (bare, vk-monitor, vk-monitor-sentry-0, vk-monitor-sentry-1,
# axum-prometheus); the Sentry modes get a stand-in endpoint (`http_bench receiver`) pinned
# with wrk. The server runs pinned to cpu0, wrk to cpu1. After a warm-up, perf samples the
# worker thread (`bench-worker`) at FREQ Hz with DWARF call graphs for DURATION seconds of
# load; OUT_DIR (default a temporary directory) keeps `perf.data` and the two reports printed:
# self time by symbol, and the time under each symbol (children), TOP lines each. With
# REPORT=0 it only records, so that the reports (CPU-heavy with DWARF call graphs) can run
# afterwards, with --report, without disturbing other measurements.
#
# Build the server with line tables so that perf can unwind and name inlined frames:
#   CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release \
#       -p vk-monitor-examples --features bench-compare --example http_bench
# Environment: DURATION (s, default 8), WARMUP (s, default 2), CONNECTIONS (default 32), FREQ
# (default 997), TOP (default 45), HTTP_BENCH_BIN (default the release build in
# CARGO_TARGET_DIR, else target). Needs perf, wrk, taskset and curl. Loopback only.

set -euo pipefail

# Prints the two reports of the recording in $1.
report() {
    echo "== self time by symbol (top $TOP) =="
    perf report -i "$1/perf.data" --no-children --sort symbol --stdio -g none \
        --percent-limit 0.3 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "$TOP" |
        tee "$1/self.txt"
    echo
    echo "== time under each symbol, children included (top $TOP) =="
    perf report -i "$1/perf.data" --children --sort symbol --stdio -g none \
        --percent-limit 1 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n "$TOP" |
        tee "$1/children.txt"
}

TOP=${TOP:-45}
if [[ ${1:-} == --report ]]; then
    report "${2:?usage: scripts/profile-http.sh --report OUT_DIR}"
    exit
fi

MODE=${1:?usage: scripts/profile-http.sh MODE [OUT_DIR]}
OUT=${2:-$(mktemp -d)}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
FREQ=${FREQ:-997}

cd "$(dirname "$0")/.."
BIN=${HTTP_BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release/examples/http_bench}
for tool in perf wrk taskset curl; do
    command -v "$tool" >/dev/null || {
        echo "$tool not found" >&2
        exit 1
    }
done
[[ -x $BIN ]] || {
    echo "no server binary at $BIN (see the build command at the top of this script)" >&2
    exit 1
}
mkdir -p "$OUT"

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

# Waits until the process $1, logging to $2, prints its address; prints the address.
wait_listening() {
    local addr i
    for ((i = 0; i < 100; i++)); do
        addr=$(sed -n 's/^listening on //p' "$2")
        [[ -n $addr ]] && echo "$addr" && return
        kill -0 "$1" 2>/dev/null || {
            cat "$2" >&2
            return 1
        }
        sleep 0.1
    done
    return 1
}

DSN=
if [[ $MODE == vk-monitor-sentry-* ]]; then
    taskset -c 1 "$BIN" receiver 127.0.0.1:0 >"$OUT/receiver.log" 2>&1 &
    PIDS+=($!)
    DSN=http://public@$(wait_listening "$!" "$OUT/receiver.log")/1
fi
HTTP_BENCH_SENTRY_DSN=$DSN taskset -c 0 "$BIN" "$MODE" 127.0.0.1:0 >"$OUT/server.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
ADDR=$(wait_listening "$SERVER" "$OUT/server.log")
WORKER=
for task in /proc/"$SERVER"/task/*; do
    if [[ $(<"$task/comm") == bench-worker ]]; then
        WORKER=${task##*/}
        break
    fi
done
[[ -n $WORKER ]] || {
    echo "no bench-worker thread in process $SERVER" >&2
    exit 1
}
URL=http://$ADDR/users/42

taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$WARMUP"s "$URL" >/dev/null
taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"$((DURATION + 2))"s "$URL" >"$OUT/wrk.txt" &
WRK=$!
sleep 1
perf record -q -F "$FREQ" --call-graph dwarf,16384 -t "$WORKER" -o "$OUT/perf.data" \
    -- sleep "$DURATION" 2>"$OUT/perf-record.log"
wait "$WRK"

echo "mode $MODE, worker thread $WORKER, ${DURATION}s at ${FREQ} Hz; wrk:"
grep -E 'Requests/sec|requests in' "$OUT/wrk.txt"
echo
if [[ ${REPORT:-1} != 0 ]]; then
    report "$OUT"
    echo
fi
echo "perf data in $OUT"
