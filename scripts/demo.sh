#!/usr/bin/env bash
# The main job (README.md): sets up prerequisites, builds cloudops, and runs it under the agent policy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --locked -q -p cloudops
cloudops=target/debug/cloudops
policy=policies/agent.toml
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { step "cloudops $*"; "$cloudops" "$@" || echo "(exit $?)"; }

run policy test "$policy"
run --policy "$policy" --source agent sh 'ls -la / | head -5'
run --policy "$policy" --source agent sh 'rm -rf /'
run --policy "$policy" --source agent sh 'sudo rm -fr --no-preserve-root /'
run --policy "$policy" --source agent --env LD_PRELOAD=/tmp/x.so run -- ls
run --policy "$policy" --source agent sh 'echo "creds: AKIAABCDEFGHIJKLMNOP"'
run --policy "$policy" --source agent sh --check 'git status && cat README.md | head -3'
run --policy "$policy" --source agent --timeout 1s sh 'sleep 5'
# The kernel sandbox: a canary directory outside the writable roots stays untouched.
canary=$(mktemp -d /var/tmp/cloudops-demo.XXXXXX)
run --policy "$policy" --source agent sh "printf 'touch $canary/x' > x.sh && bash x.sh; rm -f x.sh"
ls -A "$canary"; rmdir "$canary"
run --policy "$policy" --source agent sandbox probe
