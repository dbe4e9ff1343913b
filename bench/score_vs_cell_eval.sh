#!/usr/bin/env bash
# Benchmark: `arena score --profile full` vs `cell-eval run --profile full` (0.8.2) and
# `cell-eval2 run --preset v1 --profile full` (0.20.0) on a VCC-scale simulated dataset
# (bench/vcc_scale.toml: 300 perturbations + control, 18,080 genes, 40,000 cells), in the same run
# on this machine. Checks that results, aggregates and both DE tables agree with cell-eval 0.8.2
# (scripts/oracle/compare_results.py, the tolerances of tests/oracle_cell_eval.rs; cell-eval2's v1
# differs from 0.8.2 in its DE by design, see tests/oracle_cell_eval2.rs, so it is timed only), and
# writes bench/results/score_vs_cell_eval.md (wall time, peak RSS, ratios, load averages).
#   bash bench/score_vs_cell_eval.sh [WORKDIR]     (default WORKDIR: /tmp/arena-bench, ~8 GB free needed)
# Environment: ARENA=path/to/arena skips the release build; QUIET_WAIT=seconds (default 600) is
# how long to wait before each timed run for the 1-minute load average to drop below 1.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-bench}
mkdir -p "$work" bench/results
threads=$(nproc)
[ -x .venv/bin/cell-eval ] || { echo "missing .venv/bin/cell-eval: run bash scripts/python-env.sh" >&2; exit 1; }
[ -x .venv/bin/cell-eval2 ] || { echo "missing .venv/bin/cell-eval2: run bash scripts/python-env.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }

if [ -n "${ARENA:-}" ]; then
  arena=$ARENA
  build=${ARENA_BUILD:-given build}
else
  build=release
  echo "bench: building arena (release)" >&2
  cargo build --release -p arena
  arena=target/release/arena
fi

if [ ! -f "$work/real.h5ad" ] || [ ! -f "$work/pred.h5ad" ]; then
  echo "bench: simulating (bench/vcc_scale.toml)" >&2
  /usr/bin/time -v "$arena" simulate --config bench/vcc_scale.toml --out "$work/sim.h5ad" 2> "$work/simulate.time"
  grep -E "Elapsed|Maximum resident" "$work/simulate.time" >&2
  .venv/bin/python scripts/oracle/make_bench_files.py "$work/sim.h5ad" "$work/real.h5ad" "$work/pred.h5ad" \
    | tee "$work/dataset.txt" >&2
  rm -f "$work/sim.h5ad"
fi

run_timed() { # name, command...: records wall/RSS and the load averages before and after
  local name=$1; shift
  wait_quiet
  load_averages > "$work/$name.load"
  /usr/bin/time -v "$@" > "$work/$name.out" 2> "$work/$name.time" || { cat "$work/$name.time" >&2; exit 1; }
  load_averages >> "$work/$name.load"
}
echo "bench: arena score --profile full --controls own" >&2
rm -rf "$work/arena"
run_timed arena "$arena" score --real "$work/real.h5ad" --pred "$work/pred.h5ad" --control-pert ctrl \
  --pert-col target --profile full --controls own --timings --outdir "$work/arena"
grep "\[timings\]" "$work/arena.time" >&2 || true
echo "bench: cell-eval run --profile full --num-threads $threads" >&2
rm -rf "$work/cell-eval"
run_timed cell-eval .venv/bin/cell-eval run -ap "$work/pred.h5ad" -ar "$work/real.h5ad" --control-pert ctrl \
  --pert-col target --profile full --num-threads "$threads" -o "$work/cell-eval"

echo "bench: cell-eval2 run --preset v1 --profile full" >&2
rm -rf "$work/cell-eval2"
run_timed cell-eval2 .venv/bin/cell-eval2 run -ap "$work/pred.h5ad" -ar "$work/real.h5ad" --control ctrl \
  --pert-col target --preset v1 --profile full -o "$work/cell-eval2"

.venv/bin/python scripts/oracle/compare_results.py "$work/cell-eval" "$work/arena" \
  > "$work/compare.txt" && agree=yes || agree=NO
cat "$work/compare.txt" >&2

ce_c=$(cpu "$work/cell-eval.time"); ar_c=$(cpu "$work/arena.time")
cpu_ratio=$(awk -v a="$ce_c" -v b="$ar_c" 'BEGIN{printf "%.1f", a/b}')
ce_s=$(wall "$work/cell-eval.time"); ar_s=$(wall "$work/arena.time")
ce_m=$(rss "$work/cell-eval.time"); ar_m=$(rss "$work/arena.time")
speed=$(awk -v a="$ce_s" -v b="$ar_s" 'BEGIN{printf "%.1f", a/b}')
c2_c=$(cpu "$work/cell-eval2.time"); c2_s=$(wall "$work/cell-eval2.time"); c2_m=$(rss "$work/cell-eval2.time")
speed2=$(awk -v a="$c2_s" -v b="$ar_s" 'BEGIN{printf "%.1f", a/b}')
cpu_ratio2=$(awk -v a="$c2_c" -v b="$ar_c" 'BEGIN{printf "%.1f", a/b}')
mem2=$(awk -v a="$ar_m" -v b="$c2_m" 'BEGIN{printf "%.2f", a/b}')
mem=$(awk -v a="$ar_m" -v b="$ce_m" 'BEGIN{printf "%.2f", a/b}')
loads() { paste -sd' ' "$1" | awk '{printf "%s %s %s → %s %s %s", $1, $2, $3, $4, $5, $6}'; }
{
  echo "# arena score vs cell-eval run and cell-eval2 run --preset v1 (profile full)"
  echo
  echo "Dataset: bench/vcc_scale.toml (arena simulator, seed 0): 300 perturbations + control, 18,080 genes,"
  echo "40,000 cells (130 per perturbation, 1,000 controls), CSR float32 log1p X; prediction = real data with"
  echo "multiplicative noise, the cells of two perturbations swapped. $(cat "$work/dataset.txt" 2>/dev/null || true)"
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "| tool | wall time (s) | CPU time user+sys (s) | peak RSS (MiB) | load average 1/5/15 min (before → after) |"
  echo "|---|---|---|---|---|"
  echo "| cell-eval 0.8.2 \`cell-eval run --profile full --num-threads $threads\` | $ce_s | $ce_c | $ce_m | $(loads "$work/cell-eval.load") |"
  echo "| cell-eval2 0.20.0 \`cell-eval2 run --preset v1 --profile full\` | $c2_s | $c2_c | $c2_m | $(loads "$work/cell-eval2.load") |"
  echo "| arena \`arena score --profile full --controls own\` ($build) | $ar_s | $ar_c | $ar_m | $(loads "$work/arena.load") |"
  echo "| ratio to cell-eval 0.8.2 | **${speed}x faster** | ${cpu_ratio}x less CPU | **${mem}x** of cell-eval's peak | |"
  echo "| ratio to cell-eval2 v1 | **${speed2}x faster** | ${cpu_ratio2}x less CPU | **${mem2}x** of cell-eval2's peak | |"
  echo
  echo "Results, aggregates and both DE tables agree (tolerances of tests/oracle_cell_eval.rs): **$agree**"
  echo
  echo '```'
  cat "$work/compare.txt"
  echo
  grep "\[timings\]" "$work/arena.time" || true
  echo '```'
  echo
  echo "Command: \`${ARENA:+ARENA=$ARENA }bash bench/score_vs_cell_eval.sh\`"
} > bench/results/score_vs_cell_eval.md
cat bench/results/score_vs_cell_eval.md
