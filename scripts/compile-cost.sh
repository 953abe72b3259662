#!/usr/bin/env bash
# Compile cost of `#[monitored]`: a generated crate of FNS functions, built plain, with
# `#[vk_monitor::monitored]` on every function and with `#[tracing::instrument(skip_all)]` on
# every function, crate-only (its dependencies are built once first and not timed).
#
# Usage: scripts/compile-cost.sh [prepare | measure | generate DIR]
#
#   prepare       generate the crates and build them and their dependencies (debug and release),
#                 untimed. A build: it need not run on an idle machine.
#   measure       (the default) prepare if needed, then for each profile and variant: RUNS
#                 builds of the crate alone (`touch src/lib.rs`, `CARGO_INCREMENTAL=0`), each
#                 timed as the wall-clock seconds of `cargo build`. Prints every run, the best,
#                 and the milliseconds per annotated fn over plain (best against best).
#   generate DIR  only write the crates into DIR (to look at their expansion or IR by hand).
#
# The crates are a small workspace in a temporary directory, with the repository's Cargo.lock
# (same dependency versions), depending on this repository's `vk-monitor` by path with its
# default features, as an application would. Every FNS functions are a mix, one fifth each:
# sync fns returning a plain value, sync fns returning `Result` (with `?`), async fns returning a
# plain value, async fns returning `Result`, and methods (`&self`, sync and async in turn). A
# `drive()` fn calls every one and polls every future once, so that each body and each future's
# `poll` is code-generated, as it would be in a program that uses them.
#
# Environment: FNS (default 100), RUNS (default 3), PROFILES (default "debug release"),
# VARIANTS (default "plain monitored tracing"; plain is required), CARGO_TARGET_DIR (the
# crates build in "$CARGO_TARGET_DIR/compile-cost", default target/compile-cost).

set -euo pipefail

FNS=${FNS:-100}
RUNS=${RUNS:-3}
read -r -a PROFILES <<<"${PROFILES:-debug release}"
read -r -a VARIANTS <<<"${VARIANTS:-plain monitored tracing}"
[[ " ${VARIANTS[*]} " == *" plain "* ]] || {
    echo "VARIANTS must include plain, the baseline" >&2
    exit 1
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/compile-cost
export CARGO_INCREMENTAL=0

attribute() {
    case $1 in
    plain) ;;
    monitored) echo "#[vk_monitor::monitored]" ;;
    tracing) echo "#[tracing::instrument(skip_all)]" ;;
    *)
        echo "unknown variant $1" >&2
        exit 1
        ;;
    esac
}

# The lib.rs of one variant.
generate_lib() {
    local attr
    attr=$(attribute "$1")
    cat <<'EOF'
#![allow(clippy::all, unused)]
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

#[derive(Debug)]
pub struct AppError(u64);

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "app error {}", self.0)
    }
}

impl std::error::Error for AppError {}

pub struct Service {
    pub base: u64,
}

fn poll_once<F: Future>(future: F) -> Option<F::Output> {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}
EOF
    local i drive="" methods=""
    for ((i = 0; i < FNS; i++)); do
        case $((i % 5)) in
        0)
            printf '\n%s\npub fn sync_value_%d(a: u64, b: u64) -> u64 {\n    a.wrapping_mul(b) ^ %d\n}\n' "$attr" "$i" "$i"
            drive+="    n ^= sync_value_$i(n, $i);"$'\n'
            ;;
        1)
            printf '\n%s\npub fn sync_result_%d(s: &str) -> Result<u64, std::num::ParseIntError> {\n    let v: u64 = s.trim().parse()?;\n    Ok(v + %d)\n}\n' "$attr" "$i" "$i"
            drive+="    n ^= sync_result_$i(\"$i\").unwrap_or(0);"$'\n'
            ;;
        2)
            printf '\n%s\npub async fn async_value_%d(a: u64) -> u64 {\n    a.rotate_left(%d)\n}\n' "$attr" "$i" "$((i % 63))"
            drive+="    n ^= poll_once(async_value_$i(n)).unwrap_or(0);"$'\n'
            ;;
        3)
            printf '\n%s\npub async fn async_result_%d(s: String) -> Result<usize, AppError> {\n    if s.is_empty() {\n        return Err(AppError(%d));\n    }\n    Ok(s.len() + %d)\n}\n' "$attr" "$i" "$i" "$i"
            drive+="    n ^= poll_once(async_result_$i(n.to_string())).and_then(Result::ok).unwrap_or(0) as u64;"$'\n'
            ;;
        4)
            if ((i % 10 == 4)); then
                methods+=$(printf '\n    %s\n    pub fn method_%d(&self, x: u64) -> Result<u64, AppError> {\n        if x == %d { Err(AppError(x)) } else { Ok(self.base + x) }\n    }\n' "$attr" "$i" "$i")
                drive+="    n ^= service.method_$i(n).unwrap_or(0);"$'\n'
            else
                methods+=$(printf '\n    %s\n    pub async fn async_method_%d(&self, x: u64) -> u64 {\n        self.base ^ x ^ %d\n    }\n' "$attr" "$i" "$i")
                drive+="    n ^= poll_once(service.async_method_$i(n)).unwrap_or(0);"$'\n'
            fi
            ;;
        esac
    done
    printf '\nimpl Service {%s\n}\n' "$methods"
    printf '\n/// Calls every fn once, polling every future once.\npub fn drive(seed: u64) -> u64 {\n    let service = Service { base: seed };\n    let mut n = seed;\n%s    n\n}\n' "$drive"
}

generate() {
    local dir=$1 variant members=""
    mkdir -p "$dir"
    for variant in "${VARIANTS[@]}"; do
        members+="\"$variant\", "
        mkdir -p "$dir/$variant/src"
        cat >"$dir/$variant/Cargo.toml" <<EOF
[package]
name = "compile-cost-$variant"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
vk-monitor = { path = "$ROOT/vk-monitor" }
tracing = { version = "0.1.41", features = ["attributes"] }
EOF
        generate_lib "$variant" >"$dir/$variant/src/lib.rs"
    done
    cat >"$dir/Cargo.toml" <<EOF
[workspace]
resolver = "3"
members = [$members]
EOF
    cp "$ROOT/Cargo.lock" "$dir/Cargo.lock"
}

build() { # profile variant
    local flag=()
    [[ $1 == release ]] && flag=(--release)
    cargo build --quiet "${flag[@]}" --manifest-path "$WORK/Cargo.toml" -p "compile-cost-$2"
}

prepare() {
    local profile variant
    for profile in "${PROFILES[@]}"; do
        for variant in "${VARIANTS[@]}"; do
            build "$profile" "$variant"
        done
    done
}

case ${1:-measure} in
generate)
    [[ -n ${2:-} ]] || {
        echo "usage: $0 generate DIR" >&2
        exit 1
    }
    WORK=$2
    generate "$WORK"
    echo "generated in $WORK"
    exit 0
    ;;
prepare | measure) ;;
*)
    echo "usage: $0 [prepare | measure | generate DIR]" >&2
    exit 1
    ;;
esac

WORK=$(mktemp -d -t vk-compile-cost.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
generate "$WORK"
export CARGO_TARGET_DIR=$TARGET
prepare
[[ ${1:-measure} == prepare ]] && exit 0

echo "compile cost, $FNS fns per crate, crate-only builds, CARGO_INCREMENTAL=0, best of $RUNS"
echo "rustc: $(rustc --version)"
declare -A best
for profile in "${PROFILES[@]}"; do
    for variant in "${VARIANTS[@]}"; do
        runs=()
        for ((run = 0; run < RUNS; run++)); do
            touch "$WORK/$variant/src/lib.rs"
            start=$(date +%s.%N)
            build "$profile" "$variant"
            end=$(date +%s.%N)
            runs+=("$(echo "$end - $start" | bc -l)")
        done
        best[$profile.$variant]=$(printf '%s\n' "${runs[@]}" | sort -g | head -n1)
        printf '%-8s %-10s runs:' "$profile" "$variant"
        printf ' %.3f' "${runs[@]}"
        printf '  best %.3f s\n' "${best[$profile.$variant]}"
    done
done
echo
printf '%-8s %-10s %10s %16s\n' profile variant "best (s)" "ms/fn over plain"
for profile in "${PROFILES[@]}"; do
    for variant in "${VARIANTS[@]}"; do
        b=${best[$profile.$variant]}
        per_fn=$(echo "($b - ${best[$profile.plain]}) * 1000 / $FNS" | bc -l)
        printf '%-8s %-10s %10.3f %16.2f\n' "$profile" "$variant" "$b" "$per_fn"
    done
done
