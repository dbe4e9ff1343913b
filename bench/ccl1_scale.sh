#!/usr/bin/env bash
# Benchmark at the scale of Arc's CCL_1 screen (1.2 M cells, 5,100 perturbations): a synthetic
# screen (bench/make_screen.py: 5,100 perturbations x 235 cells + 10,000 controls = 1,208,500
# cells, cells grouped by label; two files of about 1.9 GB) scored with `arena score --profile
# PROFILE`, timed against the goals of 503 s (cell-eval2 on one H100) and 8 GB peak.
#   PROFILE=full (default): 2,000 genes, 10% stored, CSR float32 log1p values, scored with
#     --batch-cells BATCH; writes bench/results/ccl1_scale.md.
#   PROFILE=vcc2026: raw UMI counts, 6,000 genes, 3.33% stored (the same number of stored values;
#     each perturbation labelled by its target gene), scored whole (vcc2026 has no batches);
#     writes bench/results/ccl1_scale_vcc2026.md.
#   bash bench/ccl1_scale.sh [WORKDIR]     (default /tmp/arena-ccl1; ~4 GB free per profile)
# Environment: ARENA=path/to/arena skips the release build; PROFILE; BATCH (default 200000);
# TIMEOUT seconds for the scoring run (default 3600).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
base=${1:-/tmp/arena-ccl1}
work=$base
profile=${PROFILE:-full}
batch=${BATCH:-200000}
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
arena=$(arena_binary)
if [ "$profile" = vcc2026 ]; then
  work=$work/counts
  make=(5100 235 10000 6000 0.0333 0 counts)
  options=()
  result=bench/results/ccl1_scale_vcc2026.md
  values="raw UMI counts (1 + Poisson(Gamma(1.5, 2)) where stored; perturbation G<k> knocks out gene k)"
else
  make=(5100 235 10000 2000 0.1 0)
  options=(--batch-cells "$batch" --timings)
  result=bench/results/ccl1_scale.md
  values="log1p values, not raw counts, since the profile scores log1p"
fi
mkdir -p "$work" bench/results
if [ ! -f "$work/real.h5ad" ] || [ ! -f "$work/pred.h5ad" ]; then
  .venv/bin/python bench/make_screen.py "$work" "${make[@]}" > "$work/shape.txt"
fi
rm -rf "$work/out"
wait_quiet
load_before=$(load_averages)
start=$(date +%s)
status=0
timeout "${TIMEOUT:-3600}" /usr/bin/time -v "$arena" score --real "$work/real.h5ad" --pred "$work/pred.h5ad" \
  --control-pert ctrl --profile "$profile" "${options[@]}" --outdir "$work/out" \
  > "$work/score.out" 2> "$work/score.time" || status=$?
took=$(( $(date +%s) - start ))
wall=$(grep "Elapsed (wall clock)" "$work/score.time" | awk -F': ' '{print $2}' || true)
peak=$(rss "$work/score.time" || true)
{
  echo "# \`arena score\` at CCL_1 scale (profile $profile${options:+, --batch-cells $batch})"
  echo
  echo "Data: $(cat "$work/shape.txt"); files of $(du -m "$work/real.h5ad" | awk '{print $1}') MiB each"
  echo "(synthetic, bench/make_screen.py ${make[*]}: $values)."
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC');"
  echo "load average before: $load_before; at the end: $(load_averages)."
  echo
  echo "| run | exit status | wall time | peak RSS (MiB) | goal |"
  echo "|---|---|---|---|---|"
  echo "| \`arena score --profile $profile${options:+ ${options[*]}}\` | $status$([ "$status" = 124 ] && echo " (stopped at the timeout)") | ${wall:-${took} s} | ${peak:-?} | < 503 s, ≤ 8,192 MiB |"
  echo
  if grep -q "\[timings\]" "$work/score.time"; then
    echo '```'
    grep "\[timings\]" "$work/score.time" | tail -25
    echo '```'
    echo
  fi
  echo "Command: \`${ARENA:+ARENA=$ARENA }${PROFILE:+PROFILE=$PROFILE }bash bench/ccl1_scale.sh $base\`"
} > "$result"
cat "$result"
