#!/usr/bin/env bash
# Latency of `cloudops hook claude-code` under policies/agent.toml (the six built-in plugins), per
# call, as a coding agent runs it before each shell command: with a warm compile cache, and as a
# client of a running `cloudops server`, beside `/bin/true` fed the same input. Targets: <= 10 ms
# median (warm cache), <= 5 ms median (with the decision server). hyperfine runs each command
# through a shell (for the `< input` redirection) and subtracts the shell's own start-up.
#
# Usage: crates/cli/benches/hook-latency.sh [PATH-TO-CLOUDOPS]
#   (default: target/release/cloudops; build it with `cargo build --release -p cloudops`)
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install -y hyperfine" >&2; exit 1; }
BIN=$(realpath "${1:-target/release/cloudops}")
POLICY=$(realpath policies/agent.toml)
work=$(mktemp -d)
server_pid=
trap '[[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"
mkdir -p "$work/project"
fixtures=crates/cli/tests/fixtures/hooks/claude-code
for f in shell-allowed shell-denied; do
    sed "s#/tmp/project#$work/project#g" "$fixtures/$f.json" > "$work/$f.json"
done
hook=("$BIN" --policy "$POLICY" hook claude-code)
"${hook[@]}" < "$work/shell-denied.json" | grep -q '"deny"' || { echo "the hook did not deny rm -rf /" >&2; exit 1; }
# A warm start also knows the plugin files' hashes; see crates/cli/benches/cli-start.sh.
sleep 2.1
mkdir -m 700 "$work/run"
"$BIN" -q server --socket "$work/run/s.sock" --idle-timeout 10m &
server_pid=$!
for _ in $(seq 100); do [[ -S "$work/run/s.sock" ]] && break; sleep 0.05; done
served=("$BIN" --server "$work/run/s.sock" --policy "$POLICY" hook claude-code)
"${served[@]}" < "$work/shell-allowed.json" # the server loads the policy

hyperfine --warmup 20 --runs 200 --export-json "$work/h.json" \
    "/bin/true < $work/shell-allowed.json" \
    "${hook[*]} < $work/shell-allowed.json" \
    "${hook[*]} < $work/shell-denied.json" \
    "${served[*]} < $work/shell-allowed.json" >&2
python3 - "$work/h.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
med = [x["median"] * 1000 for x in r]
names = ["/bin/true", "hook, allowed (ls -la)", "hook, denied (rm -rf /)", "hook via server, allowed"]
targets = [None, 10.0, 10.0, 5.0]
print(f"{'':28} {'median ms':>10} {'x /bin/true':>12} {'target ms':>10}")
for n, m, t in zip(names, med, targets):
    ok = "" if t is None else ("  met" if m <= t else "  NOT met")
    print(f"{n:28} {m:10.2f} {m / med[0]:12.1f} {('' if t is None else f'{t:.0f}'):>10}{ok}")
PY
