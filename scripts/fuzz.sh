#!/usr/bin/env bash
# Long fuzz campaign over every reader: the property tests of crates/data/tests/fuzz.rs (IDX
# files, raw and gzip; data directories) and crates/trainer/tests/fuzz.rs (TOML configs, run.json,
# state.json, model.bpk, whole run directories), run with many more cases than the normal test
# suite gives them and a random seed. Every case must give a typed error or a valid value: never a
# panic, an abort, or an allocation larger than the input justifies.
#
# Usage: scripts/fuzz.sh [TOTAL_CASES] [SEED]
#   TOTAL_CASES  cases over all properties together (default 1000000), split evenly among them
#   SEED         a u64 that makes the campaign reproducible (default: random, printed first)
# Prints each property's case count, then the total and the time taken; exits non-zero when any
# property fails, after printing the failing input and the seed to rerun it with
# (`scripts/fuzz.sh TOTAL_CASES SEED`). About 2 minutes for 1,000,000 cases on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mnist-burn/target}"
# The failing input and the seed are what tell a failure; a backtrace of the runner adds nothing.
export RUST_BACKTRACE=0

total="${1:-1000000}"
seed="${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"
if ! [[ "$total" =~ ^[0-9]+$ && "$seed" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [TOTAL_CASES] [SEED] (both whole numbers)" >&2
  exit 2
fi
targets=(-p mnist-data -p mnist-runs --test fuzz)

# Builds the two test binaries (quiet), then counts their properties so the cases split evenly.
cargo test "${targets[@]}" --no-run --quiet
properties=$(cargo test "${targets[@]}" --quiet -- --list 2>/dev/null | grep -c ': test$' || true)
if [ "$properties" -eq 0 ]; then
  echo "no fuzz properties found (cargo test ${targets[*]} -- --list)" >&2
  exit 1
fi
per=$(( (total + properties - 1) / properties ))
echo "fuzz campaign: ${properties} properties x ${per} cases, seed ${seed}"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
status=0
# --no-fail-fast: a failure in the data crate's binary must not skip the trainer's properties.
MNIST_BURN_FUZZ_CASES="$per" MNIST_BURN_FUZZ_SEED="$seed" \
  cargo test "${targets[@]}" --no-fail-fast -- --nocapture >"$log" 2>&1 || status=$?
elapsed=$(( SECONDS - start ))

# One line per property ("fuzz NAME: N cases, ..."), and the report of any failure.
# (-o: a test harness's progress output may share the line.)
grep -oE 'fuzz [a-z_]+: [0-9]+ cases.*' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "--- failures ---"
  grep -E -A40 'fuzz [a-z_]+ \(MNIST_BURN_FUZZ_SEED' "$log" || tail -n 60 "$log"
fi
# Cases actually run: "N cases," for a property that passed, "N cases run" for one that failed.
cases=$(grep -oE 'fuzz [a-z_]+: [0-9]+ cases' "$log" | awk '{ sum += $3 } END { print sum + 0 }')
echo "fuzz total: ${cases} cases in ${elapsed} s, seed ${seed}: $([ "$status" -eq 0 ] && echo "no failures" || echo "FAILED (rerun: scripts/fuzz.sh ${total} ${seed})")"
exit "$status"
