#!/usr/bin/env bash
# Start-up of `cloudops --source agent run -- /bin/true` under policies/agent.toml (the standard
# plugins), side by side in one hyperfine run with its baselines: `/bin/true` alone and cloudops
# with no policy; with a warm compile cache, as a client of a running `cloudops server`, and the
# very first run (empty compile cache). Targets (issue 23): <= 4 ms median warm, <= 2.5 ms as a
# server client, <= 300 ms first run.
#
# Usage: crates/cli/benches/agent-start.sh [PATH-TO-CLOUDOPS]
#   (default: $CARGO_TARGET_DIR/release/cloudops, else target/release/cloudops)
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install -y hyperfine" >&2; exit 1; }
BIN=$(realpath "${1:-${CARGO_TARGET_DIR:-target}/release/cloudops}")
POLICY=$(realpath policies/agent.toml)
work=$(mktemp -d)
server_pid=
trap '[[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/config"
unset CLOUDOPS_POLICY
cd "$work" # no ./cloudops.toml here: the run without a policy finds none
run=("$BIN" --policy "$POLICY" --source agent run -- /bin/true)
bare=("$BIN" run -- /bin/true)
"${run[@]}" # fills the compile cache (and checks that it runs at all)
mkdir -m 700 "$work/run"
"$BIN" -q server --socket "$work/run/s.sock" --idle-timeout 10m &
server_pid=$!
for _ in $(seq 100); do [[ -S "$work/run/s.sock" ]] && break; sleep 0.05; done
served=("$BIN" --server "$work/run/s.sock" --policy "$POLICY" --source agent run -- /bin/true)
"${served[@]}" # the server loads the policy
"$BIN" -v --server "$work/run/s.sock" --policy "$POLICY" --source agent run -- /bin/true 2>&1 >/dev/null | grep -i "decid" >&2 || true

echo "== warm compile cache, as a server client; baselines /bin/true and no policy" >&2
hyperfine -N --warmup 20 --runs "${RUNS:-200}" --export-json "$work/warm.json" \
    "/bin/true" "${bare[*]}" "${run[*]}" "${served[*]}" >&2
echo "== first run (empty compile cache each time)" >&2
hyperfine -N --runs "${COLD_RUNS:-5}" --prepare "rm -rf $work/cache" --export-json "$work/cold.json" "${run[*]}" >&2

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
warm = [r["median"] * 1e3 for r in json.load(open(f"{work}/warm.json"))["results"]]
cold = json.load(open(f"{work}/cold.json"))["results"][0]["median"] * 1e3
rows = [("/bin/true", warm[0], None), ("cloudops, no policy", warm[1], None),
        ("agent.toml, warm cache", warm[2], 4.0), ("agent.toml, server client", warm[3], 2.5),
        ("agent.toml, first run", cold, 300.0)]
print(f"{'cloudops run -- /bin/true':30} {'median ms':>10} {'target ms':>10}")
for name, m, t in rows:
    ok = "" if t is None else ("  met" if m <= t else "  NOT met")
    print(f"{name:30} {m:10.2f} {('' if t is None else f'{t:g}'):>10}{ok}")
PY
