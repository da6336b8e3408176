#!/usr/bin/env bash
# Serves a sweep directory with the real TensorBoard (needs `pip install tensorboard`), on
# 127.0.0.1 only, and asks its HParams plugin what the HParams tab shows, as the frontend does
# (POST /data/plugin/hparams/experiment and /session_groups): it must list the sweep's varied keys
# and `seed` as hyperparameters, one session per trial with that trial's values, and for each
# session the final test metrics of its test.json and its last validation/loss. Done with both of
# TensorBoard's loaders (the Python one, --load_fast=false, and the Rust data server, =true).
# Usage: scripts/check-hparams.sh [SWEEP_DIR]
#   Without SWEEP_DIR, a tiny sweep (2 learning rates x 2 seeds, 1 epoch on 300 images) is run
#   into a temporary directory first with target/debug/sweep (`cargo build`; SWEEP=path to override).
# TENSORBOARD and PYTHON name the commands to use (default: tensorboard, python3).
set -euo pipefail
tensorboard="${TENSORBOARD:-tensorboard}"
python="${PYTHON:-python3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
tb_pid=""
cleanup() {
    if [ -n "$tb_pid" ]; then kill "$tb_pid" 2>/dev/null || true; wait "$tb_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

sweep_dir="${1:-}"
if [ -z "$sweep_dir" ]; then
    cat > "$tmp/base.toml" <<EOF
[experiment]
name = "hparams-check"
seed = 1
[data]
set = "mnist"
dir = "$root/data/mnist"
validation_fraction = 0.1
train_limit = 300
test_limit = 100
[model]
kind = "mlp"
hidden = [8]
[training]
epochs = 1
batch_size = 50
loss = "cross_entropy"
learning_rate = 0.1
optimizer = { kind = "sgd" }
EOF
    cat > "$tmp/sweep.toml" <<'EOF'
[sweep]
name = "hparams-check"
base = "base.toml"
repeats = 2
[grid]
"training.learning_rate" = [0.05, 0.2]
EOF
    sweep_dir="$tmp/sweep"
    "${SWEEP:-$root/target/debug/sweep}" --config "$tmp/sweep.toml" --out "$sweep_dir" --jobs 2
fi

echo "event files:"
(cd "$sweep_dir" && find . -name '*tfevents*' | sort | sed 's/^/  /')

for fast in false true; do
    port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$tensorboard" --logdir "$sweep_dir" --host 127.0.0.1 --port "$port" --load_fast="$fast" \
        --reload_interval 1 > "$tmp/tensorboard.log" 2>&1 &
    tb_pid=$!
    echo "== tensorboard --load_fast=$fast"
    "$python" - "$sweep_dir" "$port" <<'PY' || { cat "$tmp/tensorboard.log"; exit 1; }
import json, math, pathlib, re, sys, time, tomllib, urllib.request

sweep, port = pathlib.Path(sys.argv[1]), sys.argv[2]

def post(route, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/data/plugin/hparams/{route}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)

trials = sorted(p.parent for p in sweep.glob("*/test.json"))
groups_request = {"experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"], "colParams": [], "startIndex": 0, "sliceSize": 1000}
# The server needs a moment to start and to load the runs.
deadline, last = time.time() + 60, None
while True:
    try:
        exp = post("experiment", {"experimentName": ""})
        groups = post("session_groups", groups_request)
        sessions = [s for g in groups.get("sessionGroups", []) for s in g["sessions"]]
        if len(sessions) == len(trials) and all(len(s.get("metricValues", [])) == len(exp.get("metricInfos", [])) for s in sessions):
            break
        last = f"{len(sessions)} sessions of {len(trials)} trials so far"
    except OSError as e:
        last = e
    if time.time() > deadline:
        sys.exit(f"TensorBoard never showed the sweep: {last}")
    time.sleep(1)

hparams = [h["name"] for h in exp["hparamInfos"]]
metrics = [m["name"]["tag"] for m in exp["metricInfos"]]
print("hyperparameters:", ", ".join(f"{h['name']} ({h['type']}: {[v for v in h.get('domainDiscrete', [])]})" for h in exp["hparamInfos"]))
print("metrics:", ", ".join(metrics))
assert "seed" in hparams, hparams

def text(v):
    """A config value as the sweep's trial names (and its text hyperparameters) write it."""
    if isinstance(v, float):
        return re.sub(r"e([-+]?)0*(\d)", lambda m: "e" + m.group(1).replace("+", "") + m.group(2), repr(v))
    if isinstance(v, list):
        return "[" + ",".join(text(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(f"{k}={text(x)}" for k, x in v.items()) + "}"
    return str(v).lower() if isinstance(v, bool) else str(v)

def config_value(config, key):
    if key == "seed":
        return config["experiment"]["seed"]
    for part in key.split("."):
        config = config[part]
    return config
assert "test/accuracy" in metrics and "test/loss" in metrics and "validation/loss" in metrics, metrics
for g in sorted(groups["sessionGroups"], key=lambda g: g["name"]):
    (s,) = g["sessions"]
    values = g["hparams"]
    shown = {m["name"]["tag"]: m["value"] for m in s["metricValues"]}
    print(f"  {s['name']}: {s['status']}; " + ", ".join(f"{k}={values[k]}" for k in hparams) + "; " + ", ".join(f"{k}={shown[k]:.6g}" for k in metrics))
    # A session is a run: the trial's tensorboard/ directory, where `train` writes its scalars.
    assert s["name"].endswith("/tensorboard"), s["name"]
    trial = sweep / s["name"][: -len("/tensorboard")]
    assert s["status"] == "STATUS_SUCCESS", s
    # Each hyperparameter has the value of the trial's config.toml.
    config = tomllib.loads((trial / "config.toml").read_text())
    for k in hparams:
        want, got = config_value(config, k), values[k]
        assert (float(got) == float(want)) if isinstance(got, (int, float)) and not isinstance(want, (list, dict, str)) else text(want) == got, (k, want, got)
    test = json.loads((trial / "test.json").read_text())
    for tag in metrics:
        if tag.startswith("test/"):
            want = test[tag[len("test/"):]]
            assert math.isclose(shown[tag], want, rel_tol=1e-6), (tag, shown[tag], want)
print(f"ok: the HParams tab lists {len(trials)} sessions with their hyperparameters and metrics")
PY
    kill "$tb_pid"; wait "$tb_pid" 2>/dev/null || true; tb_pid=""
done
