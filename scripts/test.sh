#!/usr/bin/env bash
# The test command (README.md): sets up prerequisites, then runs every test: the workspace and the guest plugins' native tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# One absolute target dir: the nested wasm builds (built-in and test plugins) then live in
# $CARGO_TARGET_DIR and are shared by the lint and test builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
scripts/setup.sh
cargo test --workspace --locked "$@"
# The standard plugins are a separate (wasm32-wasip2) workspace; their logic is tested natively.
cargo test --manifest-path plugins/Cargo.toml --locked \
    -p aws-guard -p deny-commands -p env-guard -p limits -p redact-secrets -p workdir-jail
