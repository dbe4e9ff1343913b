#!/usr/bin/env bash
# Benchmark: `arena score --batch-cells` on files whose cells are scattered (labels in random
# order through the file, as screens written in capture order are), read directly (an earlier
# binary, BEFORE=path: each batch reads the blocks of the file holding its cells, up to all of
# them) and through the perturbation-grouped store (this binary: the first run groups each file
# once into its store under ARENA_CACHE_DIR, the second reuses it). Synthetic screen
# (bench/make_screen.py ... log1p scattered). Profile pds (no DE), so that reading dominates.
# Checks that the three runs write the same files byte for byte. Writes
# bench/results/grouped_store.md.
#   BEFORE=/path/to/old/arena bash bench/grouped_store.sh [WORKDIR]   (default /tmp/arena-grouped)
# Environment: ARENA=path/to/arena skips the release build; PERTS (default 400), PER (300 cells
# per perturbation), BATCH (30000 cells per batch).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-grouped}
perts=${PERTS:-400}
per=${PER:-300}
batch=${BATCH:-30000}
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "missing .venv: run bash scripts/python-env.sh" >&2; exit 1; }
[ -n "${BEFORE:-}" ] || { echo "set BEFORE to an arena binary without the grouped store" >&2; exit 1; }
arena=$(arena_binary)
rm -rf "$work" && mkdir -p "$work/data" bench/results
shape=$(.venv/bin/python bench/make_screen.py "$work/data" "$perts" "$per" 10000 2000 0.1 0 log1p scattered)
size=$(du -m "$work/data/real.h5ad" | awk '{print $1}')
args=(score --real "$work/data/real.h5ad" --pred "$work/data/pred.h5ad" --control-pert ctrl --profile pds --batch-cells "$batch")

run() { # NAME BINARY LABEL
  wait_quiet
  local before; before=$(load_averages)
  ARENA_CACHE_DIR="$work/cache" /usr/bin/time -v "$2" "${args[@]}" --outdir "$work/$1" > /dev/null 2> "$work/$1.time" \
    || { cat "$work/$1.time" >&2; exit 1; }
  echo "| $3 | $(wall "$work/$1.time") s | $(cpu "$work/$1.time") s | $(rss "$work/$1.time") | $before |"
}
rows=()
rows+=("$(run before "$BEFORE" "read directly (before)")")
rows+=("$(run first "$arena" "grouped store: first run (builds it)")")
rows+=("$(run second "$arena" "grouped store: later run (reuses it)")")
same=yes
for f in "$work"/before/*; do
  for run in first second; do cmp -s "$f" "$work/$run/$(basename "$f")" || same=NO; done
done
store=$(du -sm "$work/cache/grouped" | awk '{print $1}')
batches=$(awk -v n="$perts" -v p="$per" -v b="$batch" 'BEGIN{print int((2 * n * p + b - 1) / b)}')
{
  echo "# \`arena score --batch-cells\` on scattered cells: read directly and through the grouped store"
  echo
  echo "${shape%%,*}, ${perts} perturbations x ${per} cells + 10,000 controls, 10% of values stored (log1p, CSR),"
  echo "labels in random order through each file ($size MiB per file; bench/make_screen.py log1p scattered)."
  echo "\`--profile pds --batch-cells $batch\`: about $batches batches, each with every control cell."
  echo "Before: \`$BEFORE\`. $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC'); load average at the end: $(load_averages)."
  echo
  echo "| run | wall | CPU | peak RSS (MiB) | load average 1/5/15 before |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Same files from all three runs, byte for byte: $same. The two stores (real and predicted) take $store MiB."
  echo
  echo "Command: \`BEFORE=$BEFORE ${ARENA:+ARENA=$ARENA }${PERTS:+PERTS=$PERTS }${PER:+PER=$PER }${BATCH:+BATCH=$BATCH }${QUIET_WAIT:+QUIET_WAIT=$QUIET_WAIT }bash bench/grouped_store.sh $work\`"
} > bench/results/grouped_store.md
rm -rf "$work/data" "$work/cache"
cat bench/results/grouped_store.md
