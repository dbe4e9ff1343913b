#!/usr/bin/env bash
# Benchmark: peak memory of `arena score` against the number of cells, all at once and in batches
# (--batch-cells), on synthetic screens of growing size (bench/make_screen.py: 100 perturbations,
# 2,000 controls, 2,000 genes, 10% stored, cells grouped by label; from 32,000 to 1,202,000
# cells). Checks that the batched outputs equal the unbatched ones byte for byte. Writes
# bench/results/rss_vs_cells.md.
#   bash bench/rss_vs_cells.sh [WORKDIR]     (default /tmp/arena-rss; needs ~8 GB free at the top size)
# Environment: ARENA=path/to/arena skips the release build; SIZES="300 1500 ..." cells per
# perturbation; BATCH (default 200000) cells per batch; PROFILE (default vcc: DE, mae, PDS).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-rss}
sizes=${SIZES:-300 1500 3000 6000 12000}
batch=${BATCH:-200000}
profile=${PROFILE:-vcc}
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "missing .venv: run bash scripts/python-env.sh" >&2; exit 1; }
arena=$(arena_binary)
mkdir -p "$work" bench/results
rows=()
for per in $sizes; do
  echo "bench: $per cells per perturbation" >&2
  rm -rf "$work/data" "$work/all" "$work/batched" && mkdir -p "$work/data"
  shape=$(.venv/bin/python bench/make_screen.py "$work/data" 100 "$per" 2000 2000 0.1 0)
  size=$(du -m "$work/data/real.h5ad" | awk '{print $1}')
  args=(score --real "$work/data/real.h5ad" --pred "$work/data/pred.h5ad" --control-pert ctrl --profile "$profile")
  /usr/bin/time -v "$arena" "${args[@]}" --outdir "$work/all" > /dev/null 2> "$work/all.time" || { cat "$work/all.time" >&2; exit 1; }
  /usr/bin/time -v "$arena" "${args[@]}" --batch-cells "$batch" --outdir "$work/batched" > /dev/null 2> "$work/batched.time" \
    || { cat "$work/batched.time" >&2; exit 1; }
  same=yes
  for f in "$work"/all/*; do cmp -s "$f" "$work/batched/$(basename "$f")" || same=NO; done
  rows+=("| ${shape%%,*} | $size MiB | $(wall "$work/all.time") s | $(rss "$work/all.time") | $(wall "$work/batched.time") s | $(rss "$work/batched.time") | $same |")
done
{
  echo "# Peak memory of \`arena score\` against the number of cells (profile $profile)"
  echo
  echo "Synthetic screens (bench/make_screen.py): 100 perturbations, 2,000 control cells, 2,000 genes, 10% of"
  echo "values stored, CSR float32, cells grouped by label; the prediction is the real data with 10%"
  echo "multiplicative noise. Batched: \`--batch-cells $batch\`. $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC');"
  echo "load average at the end: $(load_averages)."
  echo
  echo "| cells | one file | all at once: wall | peak RSS (MiB) | batched: wall | peak RSS (MiB) | same outputs, byte for byte |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Command: \`${ARENA:+ARENA=$ARENA }${SIZES:+SIZES=\"$SIZES\" }bash bench/rss_vs_cells.sh $work\`"
} > bench/results/rss_vs_cells.md
rm -rf "$work/data"
cat bench/results/rss_vs_cells.md
