#!/usr/bin/env bash
# The closed-loop discovery curve of the README: scores the reference model on sim-closed-loop
# beside every baseline, the oracle screen (ceiling) and the probes (random screening, strongest
# predicted effects), and writes bench/results/closed_loop_curve.svg and bench/results/closed_loop.md.
#   bash bench/closed_loop.sh
# Environment: CARGO_PROFILE (default dev); the numbers are the same in every profile (seeded).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${CARGO_PROFILE:-dev}
mkdir -p bench/results
cargo build --profile "$profile" --example closed_loop_curve >&2
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
target=${CARGO_TARGET_DIR:-target}
table=$("$target/$dir/examples/closed_loop_curve" bench/results/closed_loop_curve.svg)
{
  echo "# Closed-loop discovery on sim-closed-loop (\`bash bench/closed_loop.sh\`)"
  echo
  echo "Made by \`bash bench/closed_loop.sh\` ($profile build, $(date -u +%Y-%m-%d)): task seed 0 (the simulator's"
  echo "world seed 0), bootstrap seed 0 with 1,000 resamples, random-screen probe seed = the shuffle seed."
  echo "Hits found after each round; intervals are 95% percentile bootstrap over the hits (probes: means only)."
  echo
  echo "$table"
} > bench/results/closed_loop.md
cat bench/results/closed_loop.md
