#!/usr/bin/env bash
# Installs what building and testing cloudops needs on a fresh machine: the wasm32-wasip2 Rust target, the aws CLI and moto (PyPI).
# Idempotent: quick when everything is already there.
set -euo pipefail

if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    -r "$(dirname "$0")/requirements-test.txt"

for tool in aws moto_server; do
    command -v "$tool" >/dev/null || { echo "setup: '$tool' is not on PATH after pip install" >&2; exit 1; }
done
