#!/usr/bin/env bash
# Start-up cost of the cloudops CLI: `cloudops run --policy <3 plugins> -- true` against a bare
# `/usr/bin/true`, with hyperfine. Targets: <= 5 ms median with a warm compile cache,
# <= 300 ms on the very first run (empty cache: every plugin compiled). Also measured: the same
# command as a client of a running `cloudops server` (`--server SOCKET`), whose plugins are
# already loaded.
#
# Usage: crates/cli/benches/cli-start.sh [PATH-TO-CLOUDOPS [BASELINE]]
#   (default: a release build linked as shipped: scripts/dist.sh release)
set -euo pipefail
cd "$(dirname "$0")/../../.."
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install -y hyperfine" >&2; exit 1; }
BIN=${1:-}
BASE=${2:-}
if [[ -z "$BIN" ]]; then
    # A release build linked as shipped binaries are (statically, where the toolchain can).
    BIN=$(scripts/dist.sh release | tail -n 1)
fi
work=$(mktemp -d)
server_pid=
trap '[[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
# Three plugins that each check every request: the host's test plugins (built here), so the
# figure does not depend on which built-in plugins exist.
wasm_target="${CARGO_TARGET_DIR:-target}/wasm"
CARGO_TARGET_DIR="$wasm_target" cargo build --release --quiet --target wasm32-wasip2 \
    --manifest-path plugins/Cargo.toml -p test-allow-all -p test-deny-pattern -p test-rewrite >&2
for p in allow_all deny_pattern rewrite; do
    cp "$wasm_target/wasm32-wasip2/release/test_$p.wasm" "$work/$p.wasm"
done
cat > "$work/policy.toml" <<'TOML'
version = 1
[plugins.allow-all]
source = "allow_all.wasm"
[plugins.no-rm]
source = "deny_pattern.wasm"
config = { programs = ["rm", "mkfs"], substrings = ["rm -rf"] }
[plugins.clamp]
source = "rewrite.wasm"
config = { strip_env = ["AWS_SECRET_ACCESS_KEY"] }
[[rules]]
name = "everything"
plugins = ["allow-all", "no-rm", "clamp"]
TOML
export XDG_CACHE_HOME="$work/cache"
run=("$BIN" run --policy "$work/policy.toml" -- true)
"${run[@]}" # check that it works at all (and fill the cache)
# A warm start also knows the plugin files' hashes without reading them; a file's hash is
# remembered only once it has been left unchanged for 2 s (see crates/plugin-host/src/cache.rs).
sleep 2.1
"${run[@]}"

mkdir -m 700 "$work/run"
"$BIN" -q server --socket "$work/run/s.sock" --idle-timeout 10m &
server_pid=$!
served=("$BIN" --server "$work/run/s.sock" run --policy "$work/policy.toml" -- true)
for _ in $(seq 100); do [[ -S "$work/run/s.sock" ]] && break; sleep 0.05; done
"${served[@]}" # the server loads the policy

echo "== warm compile cache; then the same as a client of cloudops server" >&2
hyperfine -N --warmup 20 --runs 200 --export-json "$work/warm.json" "/usr/bin/true" "${run[*]}" "${served[*]}"

echo "== first run (empty compile cache each time)" >&2
hyperfine -N --runs 10 --prepare "rm -rf $work/cache" --export-json "$work/cold.json" "${run[*]}"

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
warm = json.load(open(f"{work}/warm.json"))["results"]
cold = json.load(open(f"{work}/cold.json"))["results"][0]
true_ms = warm[0]["median"] * 1e3
cli_ms = warm[1]["median"] * 1e3
served_ms = warm[2]["median"] * 1e3
print(f"median /usr/bin/true            {true_ms:7.2f} ms")
print(f"median cloudops run (warm)      {cli_ms:7.2f} ms   overhead {cli_ms - true_ms:6.2f} ms   target <= 5 ms")
print(f"median cloudops run (server)    {served_ms:7.2f} ms   overhead {served_ms - true_ms:6.2f} ms")
print(f"median cloudops run (first run) {cold['median'] * 1e3:7.2f} ms   target <= 300 ms")
PY

if [[ -n "$BASE" ]]; then
    "$BASE" run --policy "$work/policy.toml" -- true # its own cache entries, if its layout differs
    "$BASE" run --policy "$work/policy.toml" -- true
    echo "== interleaved: $BIN against $BASE" >&2
    python3 - "$work/policy.toml" "$BIN" "$BASE" <<'PY'
import os, statistics, sys, time
policy, new, base = sys.argv[1:]
cmds = [["/usr/bin/true"]] + [[b, "run", "--policy", policy, "--", "true"] for b in (new, base)]
null = os.open(os.devnull, os.O_WRONLY)
def once(argv):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
    _, status = os.waitpid(pid, 0)
    assert status == 0, (argv, status)
    return (time.perf_counter_ns() - t0) / 1e6
for c in cmds:
    for _ in range(10):
        once(c)
times = [[] for _ in cmds]
for _ in range(400):
    for t, c in zip(times, cmds):
        t.append(once(c))
for name, t in zip(("/usr/bin/true", "new", "baseline"), times):
    print(f"median {name:<14} {statistics.median(t):7.2f} ms")
diff = statistics.median(a - b for a, b in zip(times[1], times[2]))
print(f"median of the per-round differences, new - baseline: {diff:+.2f} ms")
PY
fi
