#!/usr/bin/env bash
# The long soak (issue 7): 10 000 executions through a 3-plugin policy, a mix of successes, failures, timeouts, cancellations and denials; prints fds, threads and RSS every 500 executions and fails on growth after warm-up (see tests/soak/mod.rs).
#
#   scripts/soak.sh                         # 10 000 executions, 16 at a time (release build)
#   scripts/soak.sh --executions 50000 --concurrency 32
#
# Options: --executions N, --concurrency C, --batch B (executions between samples),
# --warmup W (executions before the baseline), --retain-max R (the engine's retention).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
exec cargo bench --locked -p cloudops-e2e --bench soak -- "$@"
