#!/usr/bin/env bash
# The test command (README.md): sets up prerequisites, then runs every test: the workspace, the guest plugins' native tests and the Python and JavaScript SDKs' tests.
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
# The Python and JavaScript plugin SDKs' own tests (plugins scaffolded from them are built
# and tested by the CLI's tests, tests/cli/polyglot.rs).
python3 -m pytest -q -p no:cacheprovider sdk/python/tests
(cd sdk/js && node --test)
