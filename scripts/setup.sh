#!/usr/bin/env bash
# Installs what building and testing cloudops needs on a fresh machine: the wasm32-wasip2 Rust target, the aws CLI, moto, componentize-py and pytest (PyPI); checks for node and npm (JavaScript plugins).
# Idempotent: quick when everything is already there.
set -euo pipefail

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r "$(dirname "$0")/requirements-test.txt"

for tool in aws moto_server componentize-py; do
    command -v "$tool" >/dev/null || { echo "setup: '$tool' is not on PATH after pip install" >&2; exit 1; }
done

# JavaScript plugins: their tests run `npm install` in a scaffolded plugin (componentize-js
# 0.23.0, pinned in its package.json; the rolldown it brings needs Node.js 20.19 or later) and
# `node --test`.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
    fi
fi
node_version=$(node -p 'process.versions.node' 2>/dev/null || echo none)
if ! command -v npm >/dev/null || ! node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1);' 2>/dev/null; then
    echo "setup: JavaScript plugins need Node.js 20.19 or later and npm (found node ${node_version}); install them from https://nodejs.org" >&2
    exit 1
fi
