#!/usr/bin/env bash
# Measures the same plugin (deny-downloads, as `cloudops plugin new` scaffolds it) in Rust, Python and JavaScript: component size, first compile, warm load, check time, smallest memory cap (docs/plugin-languages.md).
# Usage: scripts/plugin-languages.sh CLOUDOPS RUST_DIR PY_DIR JS_DIR   (each dir built with `cloudops plugin build`)
set -euo pipefail
bin=$1; shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-8s %10s %14s %12s %16s %12s\n' lang size_mib first_compile_s warm_load_ms check_us_median min_memory_mb
for dir in "$@"; do
    policy=$dir/policy.toml
    lang=$(sed -n 's/^lang = "\(.*\)"/\1/p' "$dir/cloudops-plugin.toml")
    wasm=$(ls "$dir"/*.wasm)
    size=$(stat -c %s "$wasm" | awk '{printf "%.1f", $1 / 1048576}')
    export XDG_CACHE_HOME=$work/cache-$lang
    compile=$("$bin" --json policy validate "$policy" | python3 -c 'import json,sys; print(json.load(sys.stdin)["compiled"][0]["elapsed_ms"] / 1000)')
    # Warm: compiled code from the cache; instantiation and init remain.
    loads=$(for _ in 1 2 3 4 5; do
        s=$(date +%s%N); "$bin" policy validate "$policy" >/dev/null; e=$(date +%s%N)
        echo $(((e - s) / 1000000))
    done | median)
    # The plugin's own step in the decision trace of a one-shot CLI call (20 calls).
    checks=$(for _ in $(seq 20); do
        "$bin" --json --policy "$policy" sh --check 'git status && ls -la | wc -l' \
            | python3 -c 'import json,sys; print(json.load(sys.stdin)["trace"][0]["elapsed_us"])'
    done | median)
    # The smallest memory_mb (whole MiB) under which the plugin loads.
    lo=1 hi=64
    while ((lo < hi)); do
        mid=$(((lo + hi) / 2))
        sed "s/^# limits = .*/limits = { memory_mb = $mid }/" "$policy" > "$dir/.cap.toml"
        if "$bin" policy validate "$dir/.cap.toml" >/dev/null 2>&1; then hi=$mid; else lo=$((mid + 1)); fi
    done
    rm -f "$dir/.cap.toml"
    printf '%-8s %10s %14s %12s %16s %12s\n' "$lang" "$size" "$compile" "$loads" "$checks" "$lo"
done
