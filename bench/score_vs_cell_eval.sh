#!/usr/bin/env bash
# Benchmark: `arena score --profile full` vs `cell-eval run --profile full` on a VCC-scale
# simulated dataset (bench/vcc_scale.toml: 300 perturbations + control, 18,080 genes, 40,000 cells),
# in the same run on this machine. Checks that the per-perturbation numbers agree, and writes
# bench/results/score_vs_cell_eval.md (wall time, peak RSS, ratios).
#   bash bench/score_vs_cell_eval.sh [WORKDIR]     (default WORKDIR: /tmp/arena-bench, ~10 GB free needed)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/arena-bench}
mkdir -p "$work" bench/results
threads=$(nproc)
[ -x .venv/bin/cell-eval ] || { echo "missing .venv/bin/cell-eval: run bash scripts/python-env.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }

echo "bench: building arena (release)" >&2
cargo build --release -p arena
arena=target/release/arena

if [ ! -f "$work/real.h5ad" ] || [ ! -f "$work/pred.h5ad" ]; then
  echo "bench: simulating (bench/vcc_scale.toml)" >&2
  /usr/bin/time -v "$arena" simulate --config bench/vcc_scale.toml --out "$work/sim.h5ad" 2> "$work/simulate.time"
  grep -E "Elapsed|Maximum resident" "$work/simulate.time" >&2
  .venv/bin/python scripts/oracle/make_bench_files.py "$work/sim.h5ad" "$work/real.h5ad" "$work/pred.h5ad"
  rm -f "$work/sim.h5ad"
fi

run_timed() { # name, command...
  local name=$1; shift
  /usr/bin/time -v "$@" > "$work/$name.out" 2> "$work/$name.time" || { cat "$work/$name.time" >&2; exit 1; }
}
echo "bench: cell-eval run --profile full --num-threads $threads" >&2
rm -rf "$work/cell-eval"
run_timed cell-eval .venv/bin/cell-eval run -ap "$work/pred.h5ad" -ar "$work/real.h5ad" --control-pert ctrl \
  --pert-col target --profile full --num-threads "$threads" -o "$work/cell-eval"
echo "bench: arena score --profile full --controls own" >&2
rm -rf "$work/arena"
run_timed arena "$arena" score --real "$work/real.h5ad" --pred "$work/pred.h5ad" --control-pert ctrl \
  --pert-col target --profile full --controls own --timings --outdir "$work/arena"
grep "\[timings\]" "$work/arena.time" >&2 || true

.venv/bin/python scripts/oracle/compare_results.py "$work/cell-eval/results.csv" "$work/arena/results.csv" \
  > "$work/compare.txt" && agree=yes || agree=NO
cat "$work/compare.txt" >&2

wall() { # "Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.33" -> seconds
  grep "Elapsed (wall clock)" "$1" | awk -F': ' '{print $2}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'
}
rss() { grep "Maximum resident set size" "$1" | awk -F': ' '{printf "%.0f", $2/1024}'; }
ce_s=$(wall "$work/cell-eval.time"); ar_s=$(wall "$work/arena.time")
ce_m=$(rss "$work/cell-eval.time"); ar_m=$(rss "$work/arena.time")
speed=$(awk -v a="$ce_s" -v b="$ar_s" 'BEGIN{printf "%.1f", a/b}')
mem=$(awk -v a="$ar_m" -v b="$ce_m" 'BEGIN{printf "%.2f", a/b}')
{
  echo "# arena score vs cell-eval run (profile full)"
  echo
  echo "Dataset: bench/vcc_scale.toml (arena simulator, seed 0): 300 perturbations + control, 18,080 genes,"
  echo "40,000 cells, sparse log1p X; prediction = real data with multiplicative noise, two perturbations swapped."
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); $(date -u +%Y-%m-%d)."
  echo
  echo "| tool | wall time (s) | peak RSS (MiB) |"
  echo "|---|---|---|"
  echo "| cell-eval 0.8.2 \`cell-eval run --profile full --num-threads $threads\` | $ce_s | $ce_m |"
  echo "| arena \`arena score --profile full --controls own\` | $ar_s | $ar_m |"
  echo "| ratio | **${speed}x faster** | **${mem}x** of cell-eval's memory |"
  echo
  echo "Per-perturbation numbers agree (tolerances of tests/oracle_cell_eval.rs): **$agree**"
  echo
  echo '```'
  cat "$work/compare.txt"
  echo
  grep "\[timings\]" "$work/arena.time" || true
  echo '```'
  echo
  echo "Command: \`bash bench/score_vs_cell_eval.sh\`"
} > bench/results/score_vs_cell_eval.md
cat bench/results/score_vs_cell_eval.md
