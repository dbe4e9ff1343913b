#!/usr/bin/env bash
# Installs what the Virtual Cell Arena needs on a fresh Debian/Ubuntu machine and builds it.
#   scripts/setup.sh              system packages + cargo-nextest + .venv + release build of `arena`
#   scripts/setup.sh --deps-only  system packages + cargo-nextest + .venv only (what the tests need)
# Safe to re-run: every step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

deps_only=false
[ "${1:-}" = "--deps-only" ] && deps_only=true

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# HDF5 (AnnData .h5ad files) is read through the system libhdf5.
if ! pkg-config --exists hdf5 2>/dev/null && [ ! -e /usr/lib/x86_64-linux-gnu/hdf5/serial/libhdf5.so ] && [ ! -e /usr/lib/aarch64-linux-gnu/hdf5/serial/libhdf5.so ]; then
  echo "setup: installing libhdf5-dev and pkg-config (apt)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libhdf5-dev pkg-config >/dev/null
fi

# The browser test (tests/browser.rs) drives Debian's headless Chromium through chromedriver.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  echo "setup: installing chromium and chromium-driver (apt)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "setup: installing cargo-nextest (crates.io)" >&2
  cargo install cargo-nextest --locked
fi

# Python reference implementations and tooling used by the tests (.venv).
bash scripts/python-env.sh

if [ "$deps_only" = false ]; then
  echo "setup: building arena (release)" >&2
  cargo build --release -p arena
fi
echo "setup: done" >&2
