#!/usr/bin/env bash
# HTTP layer overhead: bare axum, axum with vk-monitor's layer, and axum with axum-prometheus
# (comparison only), in one run with the modes interleaved round by round.
#
# Usage: scripts/bench-http.sh [ROUNDS]
#
# For each round and mode, the bench server (examples/http_bench.rs, one tokio worker) is
# started on a free loopback port, warmed up with wrk, then loaded with
# `wrk -t1 -c$CONNECTIONS -d${DURATION}s http://127.0.0.1:PORT/users/42`. The server's CPU time
# (utime + stime from /proc/PID/stat, all its threads) is read before and after the measured
# wrk run. Reported per mode: requests per second (wrk's Requests/sec) and server CPU µs per
# request (CPU seconds / requests completed), the steadier of the two on a shared machine.
#
# Environment: ROUNDS (default 3), DURATION (s, default 10), WARMUP (s, default 2),
# CONNECTIONS (default 32), PIN (default 1: server on cpu0 and wrk on cpu1, when taskset
# exists), CARGO_TARGET_DIR (as for cargo).
# Needs wrk (Debian package `wrk`). Loopback only.

set -euo pipefail

ROUNDS=${1:-${ROUNDS:-3}}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
PIN=${PIN:-1}
PATH_UNDER_TEST=/users/42
MODES=(bare vk-monitor axum-prometheus)

cd "$(dirname "$0")/.."

command -v wrk >/dev/null || {
    echo "wrk not found (Debian: apt-get install wrk)" >&2
    exit 1
}

cargo build --release -p vk-monitor-examples --features bench-compare --example http_bench
target_dir=${CARGO_TARGET_DIR:-target}
BIN="$target_dir/release/examples/http_bench"
[[ -x $BIN ]] || {
    echo "no server binary at $BIN" >&2
    exit 1
}

SERVER_PIN=()
WRK_PIN=()
if [[ $PIN == 1 ]] && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SERVER_PIN=(taskset -c 0)
    WRK_PIN=(taskset -c 1)
fi
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# CPU ticks (utime + stime) of a process, all threads: fields 14 and 15 of /proc/PID/stat,
# counted after the command name, which may hold spaces.
cpu_ticks() {
    local stat
    stat=$(<"/proc/$1/stat")
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $((${12} + ${13}))
}

# Starts the server in mode $1 on a free loopback port; sets SERVER_PID and SERVER_ADDR.
start_server() {
    local log="$WORK/server-$1.log" i
    "${SERVER_PIN[@]}" "$BIN" "$1" 127.0.0.1:0 >"$log" 2>&1 &
    SERVER_PID=$!
    SERVER_ADDR=
    for ((i = 0; i < 100; i++)); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$log")
        [[ -n $SERVER_ADDR ]] && return
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server ($1) exited:" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "server ($1) did not start listening" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

run_wrk() {
    "${WRK_PIN[@]}" wrk -t1 -c"$CONNECTIONS" -d"$1"s "http://$SERVER_ADDR$PATH_UNDER_TEST"
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A RPS US ROUND_RPS ROUND_US
ROWS=()

echo
echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)," \
    "kernel $(uname -r), CLK_TCK $CLK_TCK"
echo "load: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $ROUNDS rounds, warm-up ${WARMUP}s," \
    "${DURATION}s, -t1 -c$CONNECTIONS, GET $PATH_UNDER_TEST;" \
    "pinning: ${SERVER_PIN[*]:-none}${WRK_PIN[*]:+ (server) / ${WRK_PIN[*]} (wrk)}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

for ((round = 1; round <= ROUNDS; round++)); do
    for ((k = 0; k < ${#MODES[@]}; k++)); do
        # Rotate the order each round, so no mode always runs first or last.
        mode=${MODES[$(((k + round - 1) % ${#MODES[@]}))]}
        start_server "$mode"
        run_wrk "$WARMUP" >/dev/null
        before=$(cpu_ticks "$SERVER_PID")
        start=$(date +%s.%N)
        out=$(run_wrk "$DURATION")
        end=$(date +%s.%N)
        after=$(cpu_ticks "$SERVER_PID")
        stop_server

        requests=$(awk '/ requests in / { print $1 }' <<<"$out")
        rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
        if [[ -z $requests || -z $rps || $requests -eq 0 ]]; then
            echo "could not read wrk's output ($mode):" >&2
            echo "$out" >&2
            exit 1
        fi
        if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
            echo "warning ($mode, round $round): $(grep -E 'Non-2xx|Socket errors' <<<"$out")" >&2
        fi
        ticks=$((after - before))
        us=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$requests" \
            'BEGIN { printf "%.2f", t / hz / n * 1e6 }')
        util=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v s="$start" -v e="$end" \
            'BEGIN { printf "%.0f", t / hz / (e - s) * 100 }')
        RPS[$mode]+="$rps "
        US[$mode]+="$us "
        ROUND_RPS[$mode,$round]=$rps
        ROUND_US[$mode,$round]=$us
        ROWS+=("| $round | $mode | $rps | $requests | $ticks | $us | $util% |")
        printf '  round %d  %-16s %10s req/s  %7s µs CPU/request  server CPU %s%%\n' \
            "$round" "$mode" "$rps" "$us" "$util"
    done
done

echo
echo "Per round (server CPU: share of one core during the measured run):"
echo
echo "| round | mode | req/s | requests | CPU ticks | CPU µs/request | server CPU |"
echo "|---:|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"

echo
echo "Medians over $ROUNDS rounds. \"vs bare\": the modes' medians compared; \"paired\": the"
echo "median of each round's comparison with bare in the same round, which cancels drift"
echo "between rounds:"
echo
echo "| mode | req/s | CPU µs/request | throughput vs bare | added CPU µs/request" \
    "| paired throughput | paired added CPU µs |"
echo "|---|---:|---:|---:|---:|---:|---:|"
# shellcheck disable=SC2086
bare_rps=$(median ${RPS[bare]})
# shellcheck disable=SC2086
bare_us=$(median ${US[bare]})
for mode in "${MODES[@]}"; do
    # shellcheck disable=SC2086
    m_rps=$(median ${RPS[$mode]})
    # shellcheck disable=SC2086
    m_us=$(median ${US[$mode]})
    ratios=()
    added=()
    for ((round = 1; round <= ROUNDS; round++)); do
        ratios+=("$(awk -v r="${ROUND_RPS[$mode,$round]}" -v b="${ROUND_RPS[bare,$round]}" \
            'BEGIN { print r / b }')")
        added+=("$(awk -v u="${ROUND_US[$mode,$round]}" -v b="${ROUND_US[bare,$round]}" \
            'BEGIN { print u - b }')")
    done
    awk -v m="$mode" -v r="$m_rps" -v u="$m_us" -v br="$bare_rps" -v bu="$bare_us" \
        -v pr="$(median "${ratios[@]}")" -v pu="$(median "${added[@]}")" \
        'BEGIN { printf "| %s | %.0f | %.2f | %.2f× | %+.2f | %.2f× | %+.2f |\n",
            m, r, u, r / br, u - bu, pr, pu }'
done
