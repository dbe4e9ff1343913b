#!/usr/bin/env bash
# Coverage of the scorecards' 95% CIs (issue 16): REPLICATES simulated datasets per simulator
# profile task are scored with the task's baselines; every baseline's CI per metric is checked
# against the true value (the mean per-item value over TRUTH_SEEDS independent datasets).
# Writes bench/results/ci_coverage.md.
#   bash bench/ci_coverage.sh [REPLICATES] [TRUTH_SEEDS] [RESAMPLES]   (defaults: 200, 40, 1000)
# Environment: CARGO_PROFILE (default dev); TASKS=a,b limits the tasks (default: all three).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-200}
truth=${2:-40}
resamples=${3:-1000}
profile=${CARGO_PROFILE:-dev}
mkdir -p bench/results
cargo build --profile "$profile" --example validity_sim >&2
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
start=$(date +%s)
table=$("target/$dir/examples/validity_sim" coverage "$reps" "$truth" "$resamples")
took=$(( $(date +%s) - start ))
{
  echo "# Coverage of the 95% CIs on the simulator (\`${TASKS:+TASKS=$TASKS }bash bench/ci_coverage.sh $reps $truth $resamples\`)"
  echo
  echo "Made by \`${TASKS:+TASKS=$TASKS }bash bench/ci_coverage.sh $reps $truth $resamples\` ($profile build, $(nproc) cores, ${took} s, $(date -u +%Y-%m-%d))."
  echo "\"studentized\" is the interval scorecards report (bootstrap-t over resampling units: perturbations,"
  echo "whole sequences on sim-multi-step; the training controls redrawn in every replicate for"
  echo "pearson_delta); \"percentile\" is the previous interval (percentile bootstrap over items, controls fixed)."
  echo
  echo "$table"
} > bench/results/ci_coverage.md
cat bench/results/ci_coverage.md
