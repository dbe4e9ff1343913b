#!/usr/bin/env bash
# Benchmark: `arena score --shard K/N` + `arena merge` against the unsharded run, on the VCC-scale
# dataset of bench/score_vs_cell_eval.sh (40,000 cells x 18,080 genes; made by that script into
# WORKDIR when missing). For N = 1 (the plain run), 2 and 4: every shard in turn (one at a time,
# as a job array with one task per node would run them), its wall time and peak RSS, then the
# merge's; checks that every merged file equals the unsharded run's byte for byte. Writes
# bench/results/shards.md.
#   bash bench/shards.sh [WORKDIR]     (default WORKDIR: /tmp/arena-bench)
# Environment: ARENA=path/to/arena skips the release build; PROFILE (default full);
# QUIET_WAIT=seconds (default 600) to wait before each timed run for the load to drop below 1.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-bench}
profile=${PROFILE:-full}
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
arena=$(arena_binary)
if [ ! -f "$work/real.h5ad" ] || [ ! -f "$work/pred.h5ad" ]; then
  echo "bench: $work/real.h5ad and pred.h5ad missing: run ARENA=$arena bash bench/score_vs_cell_eval.sh $work first" >&2
  exit 1
fi
out=$work/shards
rm -rf "$out" && mkdir -p "$out" bench/results
args=(--real "$work/real.h5ad" --pred "$work/pred.h5ad" --control-pert ctrl --pert-col target --profile "$profile")

timed() { # name, command...: wall seconds and peak MiB into $out/name.time
  local name=$1; shift
  wait_quiet
  /usr/bin/time -v "$@" > "$out/$name.out" 2> "$out/$name.time" || { cat "$out/$name.time" >&2; exit 1; }
}

echo "bench: unsharded" >&2
timed single "$arena" score "${args[@]}" --outdir "$out/single"
rows=()
rows+=("| 1 (plain run) | $(wall "$out/single.time") | $(wall "$out/single.time") | $(rss "$out/single.time") | – | – | – |")
for n in 2 4; do
  walls=() mems=() parts=()
  for k in $(seq 1 "$n"); do
    echo "bench: shard $k/$n" >&2
    timed "s$k-$n" "$arena" score "${args[@]}" --shard "$k/$n" --outdir "$out/$n/part$k"
    walls+=("$(wall "$out/s$k-$n.time")") mems+=("$(rss "$out/s$k-$n.time")") parts+=("$out/$n/part$k")
  done
  echo "bench: merge of $n" >&2
  timed "m$n" "$arena" merge --outdir "$out/$n/merged" "${parts[@]}"
  same=yes
  for f in "$out"/single/*; do cmp -s "$f" "$out/$n/merged/$(basename "$f")" || same=NO; done
  max_wall=$(printf '%s\n' "${walls[@]}" | sort -g | tail -1)
  sum_wall=$(printf '%s\n' "${walls[@]}" | awk '{s += $1} END {printf "%.2f", s}')
  max_mem=$(printf '%s\n' "${mems[@]}" | sort -g | tail -1)
  size=$(du -sm "$out/$n" --exclude merged | awk '{print $1}')
  rows+=("| $n | $max_wall (each: ${walls[*]}) | $sum_wall | $max_mem (each: ${mems[*]}) | $(wall "$out/m$n.time") / $(rss "$out/m$n.time") MiB | $size MiB | $same |")
done
{
  echo "# \`arena score --shard K/N\` + \`arena merge\` vs the unsharded run (profile $profile)"
  echo
  echo "Dataset: bench/vcc_scale.toml (see bench/results/score_vs_cell_eval.md): 300 perturbations, 40,000 cells x"
  echo "18,080 genes, CSR float32 log1p, two 1.15 GB files. Shards run one after another on this machine"
  echo "($(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)), each with every core;"
  echo "on a cluster they run side by side, so the wall time of the job is the slowest shard plus the merge."
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); load average at the end: $(load_averages)."
  echo
  echo "| shards N | slowest shard wall (s) | sum of shard walls (s) | largest shard peak RSS (MiB) | merge wall (s) / peak RSS | partials on disk | merged = unsharded, byte for byte |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Command: \`${ARENA:+ARENA=$ARENA }${PROFILE:+PROFILE=$PROFILE }bash bench/shards.sh $work\`"
} > bench/results/shards.md
cat bench/results/shards.md
