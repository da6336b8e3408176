#!/usr/bin/env bash
# Chaos resume campaign: trains a small MNIST config while killing it with SIGKILL at N random fault
# points (model loading, mid-epoch steps, checkpoint writes, pruning, metrics.csv, state.json,
# run.json and TensorBoard writes), resuming after each kill, and checks that every run ends with
# exactly the metrics.csv (minus its seconds column), final weights, test metrics and TensorBoard
# points of an uninterrupted run. The test suite runs the same check with 10 kills (tests/chaos.rs).
#
# Usage, from anywhere:
#   scripts/chaos-resume.sh            # 100 kills, a random seed (printed, to replay a failure)
#   scripts/chaos-resume.sh 500 42     # 500 kills, seed 42
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-100}"
seed="${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
echo "chaos resume: $kills kills, seed $seed"
start=$(date +%s)
status=0
MNIST_BURN_CHAOS_KILLS="$kills" MNIST_BURN_CHAOS_SEED="$seed" \
  cargo test --locked --test chaos -- --nocapture 2>&1 | grep -E -A3 "^chaos:|panicked|error|test result" || status=$?
echo "wall time: $(( $(date +%s) - start )) s"
exit "$status"
