#!/usr/bin/env bash
# Validation of the noise ceiling against known truth: on every simulator profile task
# and SEEDS simulator seeds, the expected profile of each test item (the mean of CELLS fresh cells
# of the same simulated world) is scored against the test cells like a model and compared with
# the ceiling's estimate (and the old split-half value). Writes bench/results/ceiling_oracle.md.
#   bash bench/ceiling_oracle.sh [SEEDS] [CELLS]      (defaults: 20 seeds, 2000 cells)
# Environment: CARGO_PROFILE (default dev; `release` is faster to run, slower to build); TASKS=a,b
# limits the tasks (default: sim-unseen-single, sim-combinatorial, sim-multi-step).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-20}
cells=${2:-2000}
profile=${CARGO_PROFILE:-dev}
mkdir -p bench/results
cargo build --profile "$profile" --example validity_sim >&2
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
start=$(date +%s)
table=$("target/$dir/examples/validity_sim" ceiling "$seeds" "$cells")
took=$(( $(date +%s) - start ))
{
  echo "# Noise ceiling vs the simulator's expected profile (\`${TASKS:+TASKS=$TASKS }bash bench/ceiling_oracle.sh $seeds $cells\`)"
  echo
  echo "Made by \`${TASKS:+TASKS=$TASKS }bash bench/ceiling_oracle.sh $seeds $cells\` ($profile build, $(nproc) cores, ${took} s, $(date -u +%Y-%m-%d))."
  echo "The oracle is each test item's expected profile; the ceiling estimate is what \`arena eval\` reports"
  echo "(the index of reliability √(1 − N/V) for correlations, the variance of the mean for mse, the resampled"
  echo "absolute error of the mean for mae); \"old split-half\" is the first ceiling (half A scored against half B)."
  echo "Oracle and estimate are both the scorecard's overall mean: over the headline items (on sim-multi-step, the"
  echo "steps after the first). An unbiased estimate has |estimate − oracle| within about 2 se."
  echo
  echo "$table"
} > bench/results/ceiling_oracle.md
cat bench/results/ceiling_oracle.md
