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

# The Slurm test (deploy/slurm/test-local.sh) runs a private one-node cluster: slurmctld, slurmd, munged.
if ! command -v slurmctld >/dev/null 2>&1 && [ ! -x /usr/sbin/slurmctld ]; then
  echo "setup: installing slurm-wlm and munge (apt)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# The Postgres storage tests (ARENA_TEST_POSTGRES) need a local server on 127.0.0.1:5432 with
# role `arena` (password `arena`) owning database `arena_test`. No systemd: pg_ctlcluster starts it.
if [ ! -d /usr/lib/postgresql ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "setup: installing postgresql (apt)" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main"' | grep -q .; then
  as_root pg_createcluster "$pg_version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$pg_version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
  echo "setup: starting PostgreSQL $pg_version (cluster main)" >&2
  as_root pg_ctlcluster "$pg_version" main start
fi
pg_sql() { (cd / && as_root runuser -u postgres -- psql -X -q -t -A -v ON_ERROR_STOP=1 -c "$1"); }
if [ "$(pg_sql "SELECT 1 FROM pg_roles WHERE rolname = 'arena'")" != 1 ]; then
  pg_sql "CREATE ROLE arena LOGIN PASSWORD 'arena'"
fi
if [ "$(pg_sql "SELECT 1 FROM pg_database WHERE datname = 'arena_test'")" != 1 ]; then
  pg_sql "CREATE DATABASE arena_test OWNER arena"
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
