#!/usr/bin/env bash
# Benchmark: wall time and peak memory of `arena eval` (the unseen-single task, baselines only) on
# raw-count screens of growing size, against an earlier arena binary in the same run (BEFORE=path;
# one that made the dataset dense), and of `arena eval --low-memory` (cells read a group at a time
# from a grouped store: first run builds it, second reuses it). Synthetic screens
# (bench/make_screen.py counts: 200 perturbations, each knocking out its gene, 2,000 controls,
# 5,000 genes, 10% stored, CSR). Checks that every run writes the same per_perturbation.parquet
# byte for byte and the same scorecard.json apart from its timing fields. Writes
# bench/results/eval_memory.md.
#   BEFORE=/path/to/old/arena bash bench/eval_memory.sh [WORKDIR]   (default /tmp/arena-eval-memory)
# Environment: ARENA=path/to/arena skips the release build; SIZES="140 290 ..." cells per
# perturbation (default 140 290 590 1190: 30,000 to 240,000 cells); PERTS="200 400 ..." numbers of
# perturbations, paired with SIZES in order (default 200 for every size); OUT=file for the table
# (default bench/results/eval_memory.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-eval-memory}
sizes=${SIZES:-140 290 590 1190}
read -r -a perts_of <<< "${PERTS:-}"
out_md=${OUT:-bench/results/eval_memory.md}
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

run_eval() { # BINARY DATA OUT [ARGS...]
  local bin=$1 data=$2 out=$3
  shift 3
  ARENA_CACHE_DIR="$work/cache" /usr/bin/time -v "$bin" eval --dataset "$data" --perturbation-column target \
    --control-label ctrl --out "$out" "$@" > /dev/null 2> "$out.time" || { cat "$out.time" >&2; exit 1; }
}

# "yes" when OUT_A and OUT_B hold the same per-perturbation table and untimed scorecard.
same_as() {
  cmp -s "$1/per_perturbation.parquet" "$2/per_perturbation.parquet" \
    && [ "$(untimed "$1/scorecard.json")" = "$(untimed "$2/scorecard.json")" ] && echo yes || echo NO
}

rows=()
i=0
for per in $sizes; do
  perts=${perts_of[$i]:-200}
  i=$((i + 1))
  echo "bench: $perts perturbations of $per cells" >&2
  rm -rf "$work/data" "$work/new" "$work/old" "$work/low-build" "$work/low-reuse" "$work/cache" && mkdir -p "$work/data"
  shape=$(.venv/bin/python bench/make_screen.py "$work/data" "$perts" "$per" 2000 5000 0.1 0 counts)
  size=$(du -m "$work/data/real.h5ad" | awk '{print $1}')
  wait_quiet
  loads=$(load_averages)
  run_eval "$arena" "$work/data/real.h5ad" "$work/new"
  for low in low-build low-reuse; do
    wait_quiet
    loads="$loads; $(load_averages)"
    run_eval "$arena" "$work/data/real.h5ad" "$work/$low" --low-memory
  done
  low="$(wall "$work/low-build.time") s | $(rss "$work/low-build.time") | $(wall "$work/low-reuse.time") s | $(rss "$work/low-reuse.time") |"
  low_same=$( [ "$(same_as "$work/new" "$work/low-build")$(same_as "$work/new" "$work/low-reuse")" = yesyes ] && echo yes || echo NO)
  if [ -n "$before" ]; then
    wait_quiet
    loads="$loads; $(load_averages)"
    run_eval "$before" "$work/data/real.h5ad" "$work/old"
    same=$(same_as "$work/new" "$work/old")
    old="$(wall "$work/old.time") s | $(rss "$work/old.time") |"
    ratio=$(awk -v a="$(rss "$work/old.time")" -v b="$(rss "$work/new.time")" 'BEGIN{printf "%.1f", a/b}')
  else
    old="– | – |"; ratio="–"; same="–"
  fi
  rows+=("| ${shape%%,*} | $perts x $per | $size MiB | $(wall "$work/new.time") s | $(rss "$work/new.time") | $low $low_same | $old $ratio | $same | $loads |")
done
{
  echo "# Peak memory of \`arena eval\` on raw-count screens"
  echo
  echo "\`arena eval --dataset real.h5ad --perturbation-column target --control-label ctrl\` (task unseen-single,"
  echo "baselines, noise ceiling and gaming probes; 1,000 bootstrap resamples). Synthetic screens"
  echo "(bench/make_screen.py counts): perturbations x cells each as listed, 2,000 control cells, 5,000 genes, 10% of values"
  echo "stored as raw counts, CSR. Low memory: the same with \`--low-memory\` (cells read one perturbation at a"
  echo "time from a grouped store in a fresh ARENA_CACHE_DIR; the first run builds it, the second reuses it)."
  echo "Before: \`${before:-none}\`. $(nproc) cores;"
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); load average at the end: $(load_averages)."
  echo
  echo "| cells | perturbations x cells | file | now: wall | peak RSS (MiB) | low memory, building: wall | peak RSS (MiB) | low memory, reusing: wall | peak RSS (MiB) | low memory: same outputs | before: wall | peak RSS (MiB) | memory before / now | before: same outputs | load 1/5/15 before now; low memory (2); before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Command: \`${QUIET_WAIT:+QUIET_WAIT=$QUIET_WAIT }${BEFORE:+BEFORE=$BEFORE }${ARENA:+ARENA=$ARENA }${SIZES:+SIZES=\"$SIZES\" }${PERTS:+PERTS=\"$PERTS\" }${OUT:+OUT=$OUT }bash bench/eval_memory.sh $work\`"
} > "$out_md"
rm -rf "$work/data" "$work/cache"
cat "$out_md"
