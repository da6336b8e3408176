#!/usr/bin/env bash
# Before/after check of a refactor that must not change speed or results (issue 21b: the `flex`
# kernels moved to crates/flex-kernels): runs two builds of `bench` alternately, round after round,
# on the same models, and prints a markdown table of median samples/s of each and their ratio,
# and the median of the per-round ratios (two runs seconds apart: steadier on a loaded machine).
#
# Run from anywhere, on an otherwise idle machine (each side sees the same load either way):
#   scripts/bench-kernels-move.sh BEFORE_BENCH AFTER_BENCH [--steps N] [--warmup N] [--rounds N] [MODEL...]
# e.g. scripts/bench-kernels-move.sh /work/notes/bin-before/bench target/debug/bench --rounds 3 mlp cnn conv_ae
# Models are config stems of configs/*.toml (default: mlp cnn conv_ae); defaults: 20 steps,
# 3 warm-up, 3 rounds. Both run on `flex` (`--device flex`).
set -euo pipefail

cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,10p "$0"; exit 2; }
before="$1"; after="$2"; shift 2
steps=20; warmup=3; rounds=3; models=()
while [ $# -gt 0 ]; do
    case "$1" in
        --steps) steps="$2"; shift 2 ;;
        --warmup) warmup="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        *) models+=("$1"); shift ;;
    esac
done
[ ${#models[@]} -gt 0 ] || models=(mlp cnn conv_ae)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for round in $(seq "$rounds"); do
    for model in "${models[@]}"; do
        # Alternate which side goes first, so that neither always runs on a warmer machine.
        if [ $((round % 2)) -eq 1 ]; then order="before after"; else order="after before"; fi
        for side in $order; do
            exe="$before"; [ "$side" = after ] && exe="$after"
            "$exe" --model "$model" --device flex --steps "$steps" --warmup "$warmup" \
                | python3 -c 'import json,sys; print(json.load(sys.stdin)["samples_per_s"])' \
                >> "$tmp/$model.$side"
        done
    done
done

python3 - "$tmp" "${models[@]}" <<'PY'
import statistics, sys
tmp, models = sys.argv[1], sys.argv[2:]
print("| model | before samples/s (median) | after samples/s (median) | after / before (medians) | after / before (median of the rounds' adjacent pairs) | before runs | after runs |")
print("|---|---:|---:|---:|---:|---|---|")
for m in models:
    b = [float(x) for x in open(f"{tmp}/{m}.before")]
    a = [float(x) for x in open(f"{tmp}/{m}.after")]
    mb, ma = statistics.median(b), statistics.median(a)
    fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs)
    paired = statistics.median(x / y for x, y in zip(a, b))
    print(f"| {m} | {mb:.0f} | {ma:.0f} | {ma / mb:.3f} | {paired:.3f} | {fmt(b)} | {fmt(a)} |")
PY
