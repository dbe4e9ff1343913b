#!/usr/bin/env bash
# Benchmark: `arena simulate` at VCC scale (bench/vcc_scale.toml: 40,000 cells x 18,080 genes)
# before and after the streaming writer (arena_sim::stream): wall time, peak RSS and file size,
# and a check that both files hold the same AnnData (bench/same_h5ad.py, exact) and print the same
# content sha256. Writes bench/results/simulate_stream.md.
#   bash bench/simulate_stream.sh [WORKDIR]     (default /tmp/arena-simstream; ~16 GiB RAM for "before")
# Environment: ARENA=path/to/arena skips the release build; BEFORE=path/to/arena built from the
# commit before the streaming writer (required); CONFIG (default bench/vcc_scale.toml); PYTHON
# (default .venv/bin/python, with anndata).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-simstream}
config=${CONFIG:-bench/vcc_scale.toml}
python=${PYTHON:-.venv/bin/python}
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -n "${BEFORE:-}" ] || { echo "set BEFORE to an arena binary built before the streaming writer" >&2; exit 1; }
[ -x "$python" ] || { echo "missing $python: run bash scripts/python-env.sh" >&2; exit 1; }
arena=$(arena_binary)
mkdir -p "$work" bench/results
rows=()
for side in before after; do
  bin=$arena; [ "$side" = before ] && bin=$BEFORE
  wait_quiet
  load=$(load1)
  echo "bench: $side ($bin)" >&2
  /usr/bin/time -v "$bin" simulate --config "$config" --out "$work/$side.h5ad" > /dev/null 2> "$work/$side.time" \
    || { cat "$work/$side.time" >&2; exit 1; }
  sha=$(grep -o 'sha256 of content [0-9a-f]*' "$work/$side.time" | awk '{print $4}')
  echo "$sha" > "$work/$side.sha"
  size=$(du -m "$work/$side.h5ad" | awk '{print $1}')
  rows+=("| $side | $(wall "$work/$side.time") s | $(cpu "$work/$side.time") s | $(rss "$work/$side.time") | $size MiB | $load | \`${sha:0:16}…\` |")
done
same=$("$python" bench/same_h5ad.py "$work/before.h5ad" "$work/after.h5ad" || true)
cmp -s "$work/before.sha" "$work/after.sha" && sha_same=yes || sha_same=NO
{
  echo "# \`arena simulate\`: in memory (before) and streamed (after)"
  echo
  echo "\`arena simulate --config $config\`: $(grep -o 'simulated [0-9]* cells x [0-9]* genes' "$work/after.time" | sed 's/simulated //')."
  echo "$(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the start of each run in the table, at the end: $(load_averages)."
  echo
  echo "| | wall | CPU (user + sys) | peak RSS (MiB) | file | load at start | content sha256 |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Same AnnData (bench/same_h5ad.py, anndata, exact: X, layers, obs, var, obsm, uns): $same."
  echo "Same printed content sha256: $sha_same."
  echo
  echo "Command: \`BEFORE=$BEFORE ${ARENA:+ARENA=$ARENA }bash bench/simulate_stream.sh $work\`"
} > bench/results/simulate_stream.md
cat bench/results/simulate_stream.md
