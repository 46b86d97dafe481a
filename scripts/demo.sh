#!/usr/bin/env bash
# The main job (README.md): sets up prerequisites, builds, and runs a tour of the engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo run --release --locked -q -p cloudops-execution-engine --example quickstart
