#!/usr/bin/env bash
# Builds the fuzz targets in fuzz/ (cargo-fuzz, libFuzzer) and runs each for SECONDS (default 30); fails on any crash, hang or leak found. Long runs: fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
# cargo-fuzz passes nightly-only flags to rustc; the stable toolchain accepts them with this.
export RUSTC_BOOTSTRAP=1
# The instrumented build shares nothing with the workspace's: it gets its own target dir.
export CARGO_TARGET_DIR="$PWD/fuzz/target"
if ! cargo fuzz --version >/dev/null 2>&1; then
    # A debug build of the driver: it only runs cargo and the fuzzers, and builds in half the time.
    cargo install cargo-fuzz --version 0.13.2 --locked --debug
fi
# No sanitizer: the code under test is safe Rust (ASan would only slow the build and the runs);
# libFuzzer still catches panics, stack overflows, timeouts and memory blow-ups.
san=(-s none)
cargo fuzz build "${san[@]}"
# Committed seeds per target (read-only inputs; new finds go to fuzz/corpus/TARGET, ignored by git).
seeds_for() {
    case "$1" in
        policy_parse) echo policies ;;
        normalize_shell) echo fuzz/seeds/normalize_shell ;;
    esac
}
for t in $(cargo fuzz list); do
    mkdir -p "fuzz/corpus/$t"
    log="fuzz/target/$t.log"
    # shellcheck disable=SC2046
    if ! cargo fuzz run "${san[@]}" "$t" "fuzz/corpus/$t" $(seeds_for "$t") -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "fuzz: $t FAILED (reproducer in fuzz/artifacts/$t/; full output in $log)" >&2
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t: $runs inputs in ${secs}s, no failure"
done
