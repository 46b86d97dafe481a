#!/usr/bin/env bash
# The test command (README.md): sets up prerequisites, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --locked "$@"
