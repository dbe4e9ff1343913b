#!/usr/bin/env bash
# Benchmark: wall time and peak memory of `arena eval` (the unseen-single task, baselines only) on
# raw-count screens of growing size, against an earlier arena binary in the same run (BEFORE=path;
# one that made the dataset dense). Synthetic screens (bench/make_screen.py counts: 200
# perturbations, each knocking out its gene, 2,000 controls, 5,000 genes, 10% stored, CSR). Checks
# that both binaries write the same per_perturbation.parquet byte for byte and the same
# scorecard.json apart from its timing fields. Writes bench/results/eval_memory.md.
#   BEFORE=/path/to/old/arena bash bench/eval_memory.sh [WORKDIR]   (default /tmp/arena-eval-memory)
# Environment: ARENA=path/to/arena skips the release build; SIZES="140 290 ..." cells per
# perturbation (default 140 290 590 1190: 30,000 to 240,000 cells).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-eval-memory}
sizes=${SIZES:-140 290 590 1190}
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
[ -x .venv/bin/python ] || { echo "missing .venv: run bash scripts/python-env.sh" >&2; exit 1; }
arena=$(arena_binary)
before=${BEFORE:-}
mkdir -p "$work" bench/results

# scorecard.json without the fields that time the run.
untimed() {
  .venv/bin/python -c 'import json, sys
card = json.load(open(sys.argv[1]))
for key in ("started_utc", "wall_seconds", "rows_per_second"):
    card.get("run", {}).pop(key, None)
print(json.dumps(card, sort_keys=True))' "$1"
}

run_eval() { # BINARY DATA OUT
  /usr/bin/time -v "$1" eval --dataset "$2" --perturbation-column target --control-label ctrl --out "$3" \
    > /dev/null 2> "$3.time" || { cat "$3.time" >&2; exit 1; }
}

rows=()
for per in $sizes; do
  echo "bench: $per cells per perturbation" >&2
  rm -rf "$work/data" "$work/new" "$work/old" && mkdir -p "$work/data"
  shape=$(.venv/bin/python bench/make_screen.py "$work/data" 200 "$per" 2000 5000 0.1 0 counts)
  size=$(du -m "$work/data/real.h5ad" | awk '{print $1}')
  wait_quiet
  loads=$(load_averages)
  run_eval "$arena" "$work/data/real.h5ad" "$work/new"
  if [ -n "$before" ]; then
    wait_quiet
    loads="$loads; $(load_averages)"
    run_eval "$before" "$work/data/real.h5ad" "$work/old"
    same=yes
    cmp -s "$work/new/per_perturbation.parquet" "$work/old/per_perturbation.parquet" || same=NO
    [ "$(untimed "$work/new/scorecard.json")" = "$(untimed "$work/old/scorecard.json")" ] || same=NO
    old="$(wall "$work/old.time") s | $(rss "$work/old.time") |"
    ratio=$(awk -v a="$(rss "$work/old.time")" -v b="$(rss "$work/new.time")" 'BEGIN{printf "%.1f", a/b}')
  else
    old="– | – |"; ratio="–"; same="–"
  fi
  rows+=("| ${shape%%,*} | $size MiB | $(wall "$work/new.time") s | $(rss "$work/new.time") | $old $ratio | $same | $loads |")
done
{
  echo "# Peak memory of \`arena eval\` on raw-count screens"
  echo
  echo "\`arena eval --dataset real.h5ad --perturbation-column target --control-label ctrl\` (task unseen-single,"
  echo "baselines, noise ceiling and gaming probes; 1,000 bootstrap resamples). Synthetic screens"
  echo "(bench/make_screen.py counts): 200 perturbations, 2,000 control cells, 5,000 genes, 10% of values"
  echo "stored as raw counts, CSR. Before: \`${before:-none}\`. $(nproc) cores;"
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); load average at the end: $(load_averages)."
  echo
  echo "| cells | file | now: wall | peak RSS (MiB) | before: wall | peak RSS (MiB) | memory before / now | same scorecard and per-perturbation table | load 1/5/15 before now; before |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Command: \`${QUIET_WAIT:+QUIET_WAIT=$QUIET_WAIT }${BEFORE:+BEFORE=$BEFORE }${ARENA:+ARENA=$ARENA }${SIZES:+SIZES=\"$SIZES\" }bash bench/eval_memory.sh $work\`"
} > bench/results/eval_memory.md
rm -rf "$work/data"
cat bench/results/eval_memory.md
