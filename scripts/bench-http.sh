#!/usr/bin/env bash
# HTTP layer overhead: bare axum, axum with vk-monitor's layer (without Sentry, and with a
# Sentry client sampling every request out or in), and axum with axum-prometheus (comparison
# only), in one run with the modes interleaved round by round.
#
# Usage: scripts/bench-http.sh [ROUNDS]
#
# For each round and mode, the bench server (examples/http_bench.rs, one tokio worker thread
# named bench-worker, or WORKERS of them) is started on a free loopback port, warmed up with wrk, then loaded with
# `wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s http://127.0.0.1:PORT/users/42`. The server's
# CPU time (utime + stime from /proc/PID/stat, all its threads) and its worker threads'
# (/proc/PID/task/TID/stat) are read before and after the measured wrk run. Reported per mode:
# requests per second (wrk's Requests/sec), server CPU µs per request (CPU seconds / requests
# completed), the steadier of the two on a shared machine, and the worker thread's share of
# it; the rest is other threads, such as the Sentry client's sending thread. The summaries give
# each mode's median, the paired median (per round: the mode minus the baseline of the same
# round, which cancels the machine's drift between rounds) and the spread of those per-round
# differences (lowest..highest).
#
# The vk-monitor-sentry-* modes send to a stand-in Sentry endpoint on loopback
# (`http_bench receiver`), a separate process started once for the whole run and pinned with
# wrk, so that its CPU is not counted as the server's. It counts the transactions it receives.
#
# Environment: ROUNDS (default 3), DURATION (s, default 10), WARMUP (s, default 2),
# CONNECTIONS (default 32), WORKERS (tokio worker threads of the server, default 1),
# WRK_THREADS (default WORKERS), PIN (default 1: with one worker, server on cpu0, wrk and the
# receiver on cpu1, when taskset exists; with more workers nothing is pinned, the server's
# workers share every core with wrk), MODES (default "bare vk-monitor vk-monitor-sentry-0
# vk-monitor-sentry-1 axum-prometheus"; bare is required), CARGO_TARGET_DIR (as for cargo),
# HTTP_BENCH_BIN (a server binary to run instead of building one, such as a copy built from an
# earlier commit).
# Needs wrk (Debian package `wrk`) and curl. Loopback only.

set -euo pipefail

ROUNDS=${1:-${ROUNDS:-3}}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
WORKERS=${WORKERS:-1}
WRK_THREADS=${WRK_THREADS:-$WORKERS}
PIN=${PIN:-1}
PATH_UNDER_TEST=/users/42
read -r -a MODES <<<"${MODES:-bare vk-monitor vk-monitor-sentry-0 vk-monitor-sentry-1 axum-prometheus}"
[[ " ${MODES[*]} " == *" bare "* ]] || {
    echo "MODES must include bare, the baseline" >&2
    exit 1
}
SENTRY_MODES=()
for mode in "${MODES[@]}"; do
    [[ $mode == vk-monitor-sentry-* ]] && SENTRY_MODES+=("$mode")
done

cd "$(dirname "$0")/.."

command -v wrk >/dev/null || {
    echo "wrk not found (Debian: apt-get install wrk)" >&2
    exit 1
}
command -v curl >/dev/null || {
    echo "curl not found" >&2
    exit 1
}

if [[ -n ${HTTP_BENCH_BIN:-} ]]; then
    BIN=$HTTP_BENCH_BIN # a server built before, such as one of an earlier commit
else
    cargo build --release -p vk-monitor-examples --features bench-compare --example http_bench
    BIN="${CARGO_TARGET_DIR:-target}/release/examples/http_bench"
fi
[[ -x $BIN ]] || {
    echo "no server binary at $BIN" >&2
    exit 1
}

SERVER_PIN=()
WRK_PIN=()
if [[ $PIN == 1 ]] && ((WORKERS == 1)) && command -v taskset >/dev/null && (($(nproc) >= 2)); then
    SERVER_PIN=(taskset -c 0)
    WRK_PIN=(taskset -c 1)
fi
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d)
SERVER_PID=
RECEIVER_PID=
cleanup() {
    local pid
    for pid in $SERVER_PID $RECEIVER_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
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

# CPU ticks of the threads of process $1 named $2 (the name as in /proc/PID/task/TID/comm).
thread_ticks() {
    local task stat total=0
    for task in /proc/"$1"/task/*; do
        [[ $(<"$task/comm") == "$2" ]] 2>/dev/null || continue
        stat=$(<"$task/stat") || continue
        stat=${stat##*) }
        # shellcheck disable=SC2086
        set -- "$1" "$2" $stat
        total=$((total + ${14} + ${15}))
    done
    echo "$total"
}

# Transactions received so far by the stand-in Sentry endpoint.
received_transactions() {
    curl -sf "http://$RECEIVER_ADDR/stats" | sed -n 's/.*transactions=\([0-9]*\).*/\1/p'
}

# Waits until the process $1, logging to $2, prints its address; prints the address.
wait_listening() {
    local addr i
    for ((i = 0; i < 100; i++)); do
        addr=$(sed -n 's/^listening on //p' "$2")
        [[ -n $addr ]] && echo "$addr" && return
        if ! kill -0 "$1" 2>/dev/null; then
            echo "process $1 exited:" >&2
            cat "$2" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "process $1 did not start listening" >&2
    return 1
}

# Starts the server in mode $1 on a free loopback port; sets SERVER_PID and SERVER_ADDR.
start_server() {
    local log="$WORK/server-$1.log"
    HTTP_BENCH_SENTRY_DSN=${RECEIVER_ADDR:+http://public@$RECEIVER_ADDR/1} HTTP_BENCH_WORKERS=$WORKERS \
        "${SERVER_PIN[@]}" "$BIN" "$1" 127.0.0.1:0 >"$log" 2>&1 &
    SERVER_PID=$!
    SERVER_ADDR=$(wait_listening "$SERVER_PID" "$log") || exit 1
}

# The stand-in Sentry endpoint, a process of its own beside wrk; sets RECEIVER_ADDR.
RECEIVER_ADDR=
if ((${#SENTRY_MODES[@]})); then
    "${WRK_PIN[@]}" "$BIN" receiver 127.0.0.1:0 >"$WORK/receiver.log" 2>&1 &
    RECEIVER_PID=$!
    RECEIVER_ADDR=$(wait_listening "$RECEIVER_PID" "$WORK/receiver.log") || exit 1
fi

stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

run_wrk() {
    "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$1"s "http://$SERVER_ADDR$PATH_UNDER_TEST"
}

# The lowest and highest of the arguments, as LOW..HIGH.
spread() {
    printf '%s\n' "$@" | sort -g | awk 'NR == 1 { low = $1 } { high = $1 }
        END { printf "%+.2f..%+.2f", low, high }'
}

median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A RPS US WORKER ROUND_RPS ROUND_US ROUND_WORKER SENT
ROWS=()

echo
echo "machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)," \
    "kernel $(uname -r), CLK_TCK $CLK_TCK"
echo "load: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $ROUNDS rounds, warm-up ${WARMUP}s," \
    "${DURATION}s, -t$WRK_THREADS -c$CONNECTIONS, GET $PATH_UNDER_TEST, $WORKERS server worker(s);" \
    "pinning: ${SERVER_PIN[*]:-none}${WRK_PIN[*]:+ (server) / ${WRK_PIN[*]} (wrk)}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

for ((round = 1; round <= ROUNDS; round++)); do
    for ((k = 0; k < ${#MODES[@]}; k++)); do
        # Rotate the order each round, so no mode always runs first or last.
        mode=${MODES[$(((k + round - 1) % ${#MODES[@]}))]}
        start_server "$mode"
        run_wrk "$WARMUP" >/dev/null
        [[ -n $RECEIVER_ADDR ]] && received_before=$(received_transactions)
        before=$(cpu_ticks "$SERVER_PID")
        worker_before=$(thread_ticks "$SERVER_PID" bench-worker)
        start=$(date +%s.%N)
        out=$(run_wrk "$DURATION")
        end=$(date +%s.%N)
        after=$(cpu_ticks "$SERVER_PID")
        worker_after=$(thread_ticks "$SERVER_PID" bench-worker)
        # Envelopes of the measured run still queued or in flight arrive in the next half second.
        [[ $mode == vk-monitor-sentry-* ]] && sleep 0.5
        [[ -n $RECEIVER_ADDR ]] && received_after=$(received_transactions)
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
        worker_ticks=$((worker_after - worker_before))
        us=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v n="$requests" \
            'BEGIN { printf "%.2f", t / hz / n * 1e6 }')
        worker_us=$(awk -v t="$worker_ticks" -v hz="$CLK_TCK" -v n="$requests" \
            'BEGIN { printf "%.2f", t / hz / n * 1e6 }')
        util=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v s="$start" -v e="$end" \
            'BEGIN { printf "%.0f", t / hz / (e - s) * 100 }')
        # Transactions received per request served during the measured run (Sentry modes).
        sent=-
        if [[ $mode == vk-monitor-sentry-* ]]; then
            sent=$(awk -v a="$received_after" -v b="$received_before" -v n="$requests" \
                'BEGIN { printf "%.3f", (a - b) / n }')
            SENT[$mode]+="$sent "
        fi
        RPS[$mode]+="$rps "
        US[$mode]+="$us "
        WORKER[$mode]+="$worker_us "
        ROUND_RPS[$mode,$round]=$rps
        ROUND_US[$mode,$round]=$us
        ROUND_WORKER[$mode,$round]=$worker_us
        ROWS+=("| $round | $mode | $rps | $requests | $ticks | $us | $worker_us | $util% | $sent |")
        printf '  round %d  %-20s %10s req/s  %7s µs CPU/request  %7s worker  server CPU %s%%\n' \
            "$round" "$mode" "$rps" "$us" "$worker_us" "$util"
    done
done

echo
echo "Per round (server CPU: share of one core during the measured run; worker: the tokio"
echo "worker thread alone; Sentry transactions: received by the stand-in endpoint per request):"
echo
echo "| round | mode | req/s | requests | CPU ticks | CPU µs/request | worker µs/request" \
    "| server CPU | Sentry transactions/request |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"

echo
echo "Medians over $ROUNDS rounds. \"vs bare\": the modes' medians compared; \"paired\": the"
echo "median of each round's comparison with bare in the same round, which cancels drift"
echo "between rounds:"
echo
echo "| mode | req/s | CPU µs/request | throughput vs bare | added CPU µs/request" \
    "| paired throughput | paired added CPU µs | spread of added CPU µs |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
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
        -v sp="$(spread "${added[@]}")" \
        'BEGIN { printf "| %s | %.0f | %.2f | %.2f× | %+.2f | %.2f× | %+.2f | %s |\n",
            m, r, u, r / br, u - bu, pr, pu, sp }'
done

# The Sentry modes against our layer without Sentry, the cost the Sentry targets are about.
if ((${#SENTRY_MODES[@]})) && [[ " ${MODES[*]} " == *" vk-monitor "* ]]; then
    echo
    echo "Sentry modes against vk-monitor without Sentry, medians over $ROUNDS rounds (\"paired\":"
    echo "the median of each round's difference with vk-monitor in the same round):"
    echo
    echo "| mode | CPU µs/request | worker µs/request | added CPU µs (medians / paired)" \
        "| added worker µs (medians / paired) | spread of added worker µs" \
        "| Sentry transactions/request |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    # shellcheck disable=SC2086
    base_us=$(median ${US[vk-monitor]})
    # shellcheck disable=SC2086
    base_worker=$(median ${WORKER[vk-monitor]})
    for mode in vk-monitor "${SENTRY_MODES[@]}"; do
        # shellcheck disable=SC2086
        m_us=$(median ${US[$mode]})
        # shellcheck disable=SC2086
        m_worker=$(median ${WORKER[$mode]})
        added=()
        added_worker=()
        for ((round = 1; round <= ROUNDS; round++)); do
            added+=("$(awk -v u="${ROUND_US[$mode,$round]}" \
                -v b="${ROUND_US[vk-monitor,$round]}" 'BEGIN { print u - b }')")
            added_worker+=("$(awk -v u="${ROUND_WORKER[$mode,$round]}" \
                -v b="${ROUND_WORKER[vk-monitor,$round]}" 'BEGIN { print u - b }')")
        done
        # shellcheck disable=SC2086
        sent=$([[ -n ${SENT[$mode]:-} ]] && median ${SENT[$mode]} || echo -)
        awk -v m="$mode" -v u="$m_us" -v w="$m_worker" -v bu="$base_us" -v bw="$base_worker" \
            -v pu="$(median "${added[@]}")" -v pw="$(median "${added_worker[@]}")" -v s="$sent" \
            -v sp="$(spread "${added_worker[@]}")" \
            'BEGIN { printf "| %s | %.2f | %.2f | %+.2f / %+.2f | %+.2f / %+.2f | %s | %s |\n",
                m, u, w, u - bu, pu, w - bw, pw, sp, s }'
    done
fi
