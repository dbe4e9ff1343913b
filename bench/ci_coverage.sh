#!/usr/bin/env bash
# Coverage of the scorecards' 95% CIs. Per simulator profile task, one fixed world with
# a pool of test perturbations; the baselines are fitted once and held fixed; each replicate
# draws every cell fresh (SimConfig::cell_seed) and n test units at random from the pool, and
# every interval method is checked against the true value (the pool's expected score, from
# TRUTH further fresh-cell datasets, pearson_delta against the population μ_ctrl).
# Writes bench/results/ci_coverage.md (OUT=FILE writes FILE instead).
#   bash bench/ci_coverage.sh [REPLICATES] [TRUTH] [RESAMPLES] [FIRST]   (defaults: 200, 200, 1000, 0)
# FIRST offsets the replicates' cell seeds, so that a second run adds replicates to an earlier one
# (`validity_sim summary` pools the counts of several tables).
# Environment: CARGO_PROFILE (default dev); TASKS=a,b limits the tasks (default: sim-unseen-single,
# sim-unseen-single@design — a pool with the task's own regulator share —, sim-combinatorial,
# sim-multi-step).
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-200}
truth=${2:-200}
resamples=${3:-1000}
first=${4:-0}
profile=${CARGO_PROFILE:-dev}
out=${OUT:-bench/results/ci_coverage.md}
mkdir -p bench/results
cargo build --profile "$profile" --example validity_sim >&2
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
start=$(date +%s)
table=$("target/$dir/examples/validity_sim" coverage "$reps" "$truth" "$resamples" "$first")
took=$(( $(date +%s) - start ))
{
  echo "# Coverage of the 95% CIs on the simulator (\`${TASKS:+TASKS=$TASKS }${OUT:+OUT=$OUT }bash bench/ci_coverage.sh $reps $truth $resamples $first\`)"
  echo
  echo "Made by \`${TASKS:+TASKS=$TASKS }${OUT:+OUT=$OUT }bash bench/ci_coverage.sh $reps $truth $resamples $first\` ($profile build, $(nproc) cores, ${took} s, load $(cut -d' ' -f1-3 /proc/loadavg) at the end, $(date -u +%Y-%m-%d))."
  echo "Methods, all over the same resampling units (perturbations; whole sequences on sim-multi-step) with"
  echo "the training controls redrawn for pearson_delta: \"Student t, metric's scale\" is what scorecards report"
  echo "(t interval on atanh / logit / log scale, bias-corrected by the control redraws); \"bootstrap-t\" on"
  echo "that scale and on the raw scale (the previous scorecard interval); BCa; percentile."
  echo
  echo "$table"
} > "$out"
cat "$out"
