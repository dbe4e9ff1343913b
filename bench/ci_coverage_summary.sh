#!/usr/bin/env bash
# The coverage tables of bench/ci_coverage.sh pooled and tested against the 0.93 target
# (`validity_sim summary`: per task and n, the pooled coverage and the lowest cell; each cell's
# one-sided exact binomial p-value against 0.93, Holm at 5% over every cell with n >= 12).
# Tables of the same world over disjoint replicate seeds (ci_coverage.sh's FIRST) add up.
#   bash bench/ci_coverage_summary.sh TABLE.md...
# Writes bench/results/ci_coverage_summary.md (OUT=FILE writes FILE instead).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: bash bench/ci_coverage_summary.sh TABLE.md..." >&2; exit 2; }
out=${OUT:-bench/results/ci_coverage_summary.md}
cargo build --example validity_sim >&2
table=$(target/debug/examples/validity_sim summary "$@")
{
  echo "# Coverage of the scorecards' 95% CIs, pooled and tested against the 0.93 target"
  echo
  echo "Made by \`${OUT:+OUT=$OUT }bash bench/ci_coverage_summary.sh $*\` ($(date -u +%Y-%m-%d))."
  echo "Coverage of the interval scorecards report (Student t on the metric's scale), per task and n test"
  echo "units, over every baseline and metric of the tables (\"cells\"). The lowest of many estimated"
  echo "coverages reads low by chance (with ~56 cells per row and 200 replicates each, se ≈ 0.015, the"
  echo "expected lowest is about 0.91 when every true coverage is 0.95), so each cell is tested instead:"
  echo "the one-sided exact binomial p-value of its count if its true coverage were 0.93, Holm at 5% over"
  echo "every cell with n ≥ 12 of all the tables."
  echo
  echo "$table"
} > "$out"
cat "$out"
