#!/usr/bin/env bash
# Benchmark at the scale of Arc's CCL_1 screen (1.2 M cells, 5,100 perturbations): a synthetic
# screen (bench/make_screen.py: 5,100 perturbations x 235 cells + 10,000 controls = 1,208,500
# cells, 2,000 genes, 10% stored, CSR float32 log1p, cells grouped by label; two files of about
# 1.9 GB) scored with `arena score --profile PROFILE --batch-cells BATCH`, timed against the goals
# of 503 s (cell-eval2 on one H100) and 8 GB peak. Writes bench/results/ccl1_scale.md.
#   bash bench/ccl1_scale.sh [WORKDIR]     (default /tmp/arena-ccl1; ~4 GB free needed)
# Environment: ARENA=path/to/arena skips the release build; PROFILE (default full); BATCH
# (default 200000); TIMEOUT seconds for the scoring run (default 3600).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-ccl1}
profile=${PROFILE:-full}
batch=${BATCH:-200000}
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
arena=$(arena_binary)
mkdir -p "$work" bench/results
if [ ! -f "$work/real.h5ad" ] || [ ! -f "$work/pred.h5ad" ]; then
  .venv/bin/python bench/make_screen.py "$work" 5100 235 10000 2000 0.1 0 > "$work/shape.txt"
fi
rm -rf "$work/out"
start=$(date +%s)
status=0
timeout "${TIMEOUT:-3600}" /usr/bin/time -v "$arena" score --real "$work/real.h5ad" --pred "$work/pred.h5ad" \
  --control-pert ctrl --profile "$profile" --batch-cells "$batch" --timings --outdir "$work/out" \
  > "$work/score.out" 2> "$work/score.time" || status=$?
took=$(( $(date +%s) - start ))
wall=$(grep "Elapsed (wall clock)" "$work/score.time" | awk -F': ' '{print $2}' || true)
peak=$(rss "$work/score.time" || true)
{
  echo "# \`arena score\` at CCL_1 scale (profile $profile, --batch-cells $batch)"
  echo
  echo "Data: $(cat "$work/shape.txt"); files of $(du -m "$work/real.h5ad" | awk '{print $1}') MiB each"
  echo "(synthetic, bench/make_screen.py: log1p values, not raw counts, since the profile scores log1p)."
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC');"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| run | exit status | wall time | peak RSS (MiB) | goal |"
  echo "|---|---|---|---|---|"
  echo "| \`arena score --profile $profile --batch-cells $batch\` | $status$([ "$status" = 124 ] && echo " (stopped at the timeout)") | ${wall:-${took} s} | ${peak:-?} | < 503 s, ≤ 8,192 MiB |"
  echo
  echo '```'
  grep "\[timings\]" "$work/score.time" | tail -25 || true
  echo '```'
  echo
  echo "Command: \`${ARENA:+ARENA=$ARENA }${PROFILE:+PROFILE=$PROFILE }bash bench/ccl1_scale.sh $work\`"
} > bench/results/ccl1_scale.md
cat bench/results/ccl1_scale.md
