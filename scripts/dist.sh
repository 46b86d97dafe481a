#!/usr/bin/env bash
# Builds the cloudops binary as shipped: the `dist` profile (fat LTO), linked statically against glibc where the toolchain can.
#
# Usage: scripts/dist.sh [PROFILE]   (default: dist -> target/dist/cloudops; `release` for a
#                                      quicker build of the same kind, `dev` for a debug one)
#
# A static binary starts ~1.1 ms sooner than a dynamic one (measured on every command:
# crates/cli/benches/cli-start.sh): no dynamic loader, no libraries to map, no symbols to
# look up. `cargo build` cannot ask for it for one binary only (`-C
# target-feature=+crt-static` in RUSTFLAGS also reaches proc-macro crates, which then fail
# to build), so this passes the flag to the final crate alone with `cargo rustc`: only the
# link differs, every dependency is the one `cargo build --profile PROFILE` builds.
# glibc's static libraries come with its development package (Debian: libc6-dev, which any
# Rust build needs anyway; Fedora: glibc-static): without them the binary is linked
# dynamically, with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-dist}

# Can the C toolchain (rustc's linker driver) link a static PIE at all?
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int main(void) { return 0; }\n' > "$probe/p.c"
if "${CC:-cc}" -static-pie -fPIE "$probe/p.c" -o "$probe/p" 2>/dev/null && "$probe/p"; then
    cargo rustc --locked --profile "$profile" -p cloudops --bin cloudops -- -C target-feature=+crt-static
else
    echo "warning: no static glibc here (Debian: libc6-dev; Fedora: glibc-static): linking dynamically" >&2
    cargo build --locked --profile "$profile" -p cloudops
fi
dir=$profile
[[ $profile == dev ]] && dir=debug
echo "${CARGO_TARGET_DIR:-target}/$dir/cloudops"
