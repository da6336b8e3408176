#!/usr/bin/env bash
# Bit-identity check of a refactor that must not change results (issue 21b: the `flex` kernels
# moved to crates/flex-kernels): trains the same short runs with two builds of `train` on `flex`
# and compares every run's metrics.csv (the wall-time columns `seconds` and `time` dropped) and
# its final weights, exported to safetensors by the after build's `export` (or $EXPORT; it only
# reads the checkpoint, the same way for both sides) (the checkpoints' .bpk files
# key tensors by random parameter ids, so they differ between any two runs). Where the two sides
# differ, the before build trains the run once more: a difference it also shows against itself is
# the run's own nondeterminism (thread-order float sums), not the change. Exits non-zero when an
# after/before difference is not matched by a before/before one.
#
#   scripts/identity-kernels-move.sh BEFORE_BIN_DIR AFTER_BIN_DIR [OUT_DIR]
# (each BIN_DIR holds `train`; AFTER_BIN_DIR also `export`), e.g.
#   scripts/identity-kernels-move.sh /work/notes/bin-before target/debug
# With RAYON_NUM_THREADS=1 in the environment every run is single-threaded, so the float sums of
# the convolution gradients run in one order and the conv models compare bit for bit too.
set -euo pipefail

cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,8p "$0"; exit 2; }
before="$1"; after="$2"; out="${3:-$(mktemp -d)}"
mkdir -p "$out"

# name | config | overrides: smoke (MLP, SGD), the MLP (dense kernels), the CNN (convolution,
# pooling, dropout), the conv AE (Adadelta, sigmoid + BCE), the dropout AE (Nadam, fused dropout),
# the strided DAE (transposed convolutions, Adam), the L2 MLP (sum of squares).
runs=(
    "smoke|configs/smoke.toml|"
    "mlp|configs/mlp.toml|--set data.train_limit=2000 --set training.epochs=2"
    "cnn|configs/cnn.toml|--set data.train_limit=512 --set data.test_limit=256 --set training.epochs=1"
    "conv_ae|configs/conv_ae.toml|--set data.train_limit=512 --set data.test_limit=256 --set training.epochs=1"
    "deep_ae_dropout|configs/deep_ae_dropout.toml|--set data.train_limit=1024 --set data.test_limit=256 --set training.epochs=1"
    "strided_conv_dae|configs/strided_conv_dae.toml|--set data.train_limit=512 --set data.test_limit=256 --set training.epochs=1"
    "mlp_l2|configs/mlp_500_300_l2_1e-3.toml|--set data.train_limit=1024 --set data.test_limit=256 --set training.epochs=1"
)

strip() { # metrics.csv without its wall-time columns
    python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
keep = [i for i, h in enumerate(rows[0]) if h not in ("seconds", "time")]
for r in rows:
    print(",".join(r[i] for i in keep))
PY
}

train() { # side dir name config sets
    local bin="$before"; [ "$1" = after ] && bin="$after"
    # shellcheck disable=SC2086
    "$bin/train" --config "$4" $5 --device flex --no-progress --force --out "$out/$2/$3" \
        > "$out/$2-$3.log" 2>&1
    "${EXPORT:-$after/export}" --run "$out/$2/$3" --out "$out/$2/$3/weights.safetensors" --device flex \
        >> "$out/$2-$3.log" 2>&1
}
tensors_equal() { # a.safetensors b.safetensors: same tensor names, shapes and bytes (the
    # header's metadata map is written in hash order, so the files are not compared whole)
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in header.items()}
sys.exit(0 if tensors(sys.argv[1]) == tensors(sys.argv[2]) else 1)
PY
}
same() { # dir1 dir2 name: metrics and weights equal
    diff <(strip "$out/$1/$3/metrics.csv") <(strip "$out/$2/$3/metrics.csv") > /dev/null &&
        tensors_equal "$out/$1/$3/weights.safetensors" "$out/$2/$3/weights.safetensors"
}
verdict() { # dir1 dir2 name
    local m w
    m=identical; diff <(strip "$out/$1/$3/metrics.csv") <(strip "$out/$2/$3/metrics.csv") > /dev/null || m=different
    w=identical; tensors_equal "$out/$1/$3/weights.safetensors" "$out/$2/$3/weights.safetensors" || w=different
    echo "metrics $m, weights $w"
}

echo "| run | metric rows | after vs before | before vs before (only where they differ) |"
echo "|---|---:|---|---|"
status=0
for run in "${runs[@]}"; do
    IFS='|' read -r name config sets <<< "$run"
    train before before "$name" "$config" "$sets"
    train after after "$name" "$config" "$sets"
    control="-"
    if ! same before after "$name"; then
        train before control "$name" "$config" "$sets"
        control="$(verdict before control "$name")"
        same before control "$name" && status=1
    fi
    rows=$(($(wc -l < "$out/before/$name/metrics.csv") - 1))
    echo "| $name | $rows | $(verdict before after "$name") | $control |"
done
exit $status
