#!/usr/bin/env bash
# The speedrun (configs/speedrun.toml): trains it with 5 seeds on two cores, each timed from
# process start to the printed test metric (data loading, model building, the one epoch, the
# validation and test evaluation and the checkpoint included), then the same recipe in PyTorch
# (scripts/speedrun_pytorch.py, 2 threads) with the same seeds, and prints both side by side:
# mean and minimum test accuracy and median wall time.
#
# Run from anywhere, on an otherwise idle machine, after building the train binary:
#   scripts/speedrun.sh                     # seeds 0..4, both sides
#   scripts/speedrun.sh --seeds 3 --no-pytorch
# Environment: TRAIN (default target/debug/train, or $CARGO_TARGET_DIR/debug/train), PYTHON
# (default python3), THREADS (default 2: RAYON_NUM_THREADS for Burn, torch.set_num_threads).
set -euo pipefail

cd "$(dirname "$0")/.."
TRAIN="${TRAIN:-${CARGO_TARGET_DIR:-target}/debug/train}"
PYTHON="${PYTHON:-python3}"
THREADS="${THREADS:-2}"
seeds=5
pytorch=1
config=configs/speedrun.toml
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="${2:?--seeds needs a number}"; shift 2 ;;
    --no-pytorch) pytorch=0; shift ;;
    --config) config="${2:?--config needs a file}"; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "speedrun.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$seeds" in ''|*[!0-9]*|0) echo "speedrun.sh: --seeds '$seeds' is not a whole number >= 1" >&2; exit 2 ;; esac
[ -x "$TRAIN" ] || { echo "speedrun.sh: no train binary at $TRAIN (build it, or set TRAIN)" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
burn_rows=()
torch_rows=()
for ((s = 0; s < seeds; s++)); do
  t0=$(now)
  RAYON_NUM_THREADS="$THREADS" "$TRAIN" --config "$config" --seed "$s" --out "$work/run-$s" --force --no-progress > "$work/burn-$s.log" 2>&1 \
    || { cat "$work/burn-$s.log" >&2; exit 1; }
  t1=$(now)
  acc=$(awk '/^test /{for (i = 1; i <= NF; i++) if ($i == "acc") print $(i + 1)}' "$work/burn-$s.log")
  secs=$(echo "$t1 - $t0" | bc -l)
  burn_rows+=("$acc $secs")
  printf 'burn    seed %d: accuracy %s, %.2f s\n' "$s" "$acc" "$secs"
  rm -rf "$work/run-$s"
  if [ "$pytorch" = 1 ]; then
    t0=$(now)
    line=$(OMP_NUM_THREADS="$THREADS" "$PYTHON" scripts/speedrun_pytorch.py --seed "$s" --threads "$THREADS" 2>/dev/null | tail -1)
    t1=$(now)
    acc=$(echo "$line" | sed -n 's/.*"accuracy": \([0-9.]*\).*/\1/p')
    secs=$(echo "$t1 - $t0" | bc -l)
    torch_rows+=("$acc $secs")
    printf 'pytorch seed %d: accuracy %s, %.2f s\n' "$s" "$acc" "$secs"
  fi
done

summarize() {
  # stdin: "accuracy seconds" lines → "mean min median_seconds"
  sort -k2 -g | awk '{ a[NR] = $1; t[NR] = $2; sum += $1; if (NR == 1 || $1 < min) min = $1 }
    END { n = NR; med = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2;
          printf "%.4f %.4f %.2f\n", sum / n, min, med }'
}
echo
echo "| side | seeds | mean test accuracy | minimum | median wall time (s) |"
echo "|---|---|---|---|---|"
read -r mean min med < <(printf '%s\n' "${burn_rows[@]}" | summarize)
echo "| Burn (flex, $THREADS threads) | $seeds | $mean | $min | $med |"
if [ "$pytorch" = 1 ]; then
  read -r mean min med < <(printf '%s\n' "${torch_rows[@]}" | summarize)
  echo "| PyTorch $("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null) ($THREADS threads) | $seeds | $mean | $min | $med |"
fi
