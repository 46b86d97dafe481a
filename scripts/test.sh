#!/usr/bin/env bash
# The test command (README.md): sets up prerequisites, then runs every test: the workspace and the guest plugins' native tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked "$@"
# The standard plugins are a separate (wasm32-wasip2) workspace; their logic is tested natively.
cargo test --manifest-path plugins/Cargo.toml --locked \
    -p aws-guard -p deny-commands -p env-guard -p limits -p redact-secrets -p workdir-jail
