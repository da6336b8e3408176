#!/usr/bin/env bash
# CPU training throughput of Burn (our `bench`, flex backend) beside PyTorch on the same seed models,
# on one machine, in one command: runs `bench` and scripts/bench_pytorch.py (the same models mirrored
# in PyTorch from configs/*.toml) with the same steps and warm-up, then prints a markdown table with
# samples/s of both, the ratio Burn / PyTorch (> 1: Burn is faster) and the peak RSS of both.
#
# Run from anywhere, on an otherwise idle machine:
#   cargo build --bins                                  # builds target/debug/bench
#   pip install torch --index-url https://download.pytorch.org/whl/cpu   # or: pip install torch
#   scripts/bench-vs-pytorch.sh                         # every seed model, 50 steps, 5 warm-up
#   scripts/bench-vs-pytorch.sh --steps 20 --warmup 3 mlp cnn vae
#   scripts/bench-vs-pytorch.sh --threads 4 cnn         # both sides on 4 threads
#   scripts/bench-vs-pytorch.sh --rounds 3              # 3 interleaved rounds, medians (noisy VMs)
# Environment: BENCH (default target/debug/bench), PYTHON (default python3).
# Options: --steps N, --warmup N, --threads N (PyTorch's torch.set_num_threads, and RAYON_NUM_THREADS
# for Burn; default: every core for both), --rounds N (run every model N times on each side, the
# two sides alternating, and report medians and the range of the per-round ratios; default 1),
# --keep DIR (also write the raw JSON lines to DIR), then model names (config stems; default:
# every configs/*.toml but smoke.toml).
set -euo pipefail

cd "$(dirname "$0")/.."
BENCH="${BENCH:-target/debug/bench}"
PYTHON="${PYTHON:-python3}"
steps=50
warmup=5
threads=""
rounds=1
keep=""
models=()

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="${2:?--steps needs a number}"; shift 2 ;;
    --warmup) warmup="${2:?--warmup needs a number}"; shift 2 ;;
    --threads) threads="${2:?--threads needs a number}"; shift 2 ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift 2 ;;
    --keep) keep="${2:?--keep needs a folder}"; shift 2 ;;
    --model) models+=("${2:?--model needs a name}"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "bench-vs-pytorch.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done

for n in "$steps" "$warmup" "$rounds" ${threads:+"$threads"}; do
  case "$n" in ''|*[!0-9]*) echo "bench-vs-pytorch.sh: '$n' is not a whole number" >&2; exit 2 ;; esac
done
[ "$rounds" -ge 1 ] || { echo "bench-vs-pytorch.sh: --rounds must be at least 1" >&2; exit 2; }

if [ ! -x "$BENCH" ]; then
  echo "bench-vs-pytorch.sh: no bench binary at $BENCH; build it first with 'cargo build --bins'" \
       "(or point BENCH at it)." >&2
  exit 1
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "bench-vs-pytorch.sh: $PYTHON not found; set PYTHON to a Python 3.11+ interpreter." >&2
  exit 1
fi
if ! torch_version=$("$PYTHON" -c 'import torch; print(torch.__version__)' 2>/dev/null); then
  echo "bench-vs-pytorch.sh: PyTorch is not importable by $PYTHON. Install it with" >&2
  echo "    $PYTHON -m pip install torch --index-url https://download.pytorch.org/whl/cpu" >&2
  echo "(the CPU build; or '$PYTHON -m pip install torch' from PyPI, whose CUDA build also runs on the CPU" >&2
  echo "but loads more memory). Then run this script again." >&2
  exit 1
fi

if [ ${#models[@]} -eq 0 ]; then
  for f in configs/*.toml; do
    name=$(basename "$f" .toml)
    [ "$name" = smoke ] || models+=("$name")
  done
fi
for m in "${models[@]}"; do
  [ -f "configs/$m.toml" ] || { echo "bench-vs-pytorch.sh: no config configs/$m.toml" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/burn.jsonl"
: >"$tmp/torch.jsonl"
torch_args=(--steps "$steps" --warmup "$warmup")
if [ -n "$threads" ]; then
  torch_args+=(--threads "$threads")
  export RAYON_NUM_THREADS="$threads"
fi

echo "Burn: $BENCH --device flex; PyTorch $torch_version; $steps steps after $warmup warm-up," \
     "threads: ${threads:-all cores}" >&2
for round in $(seq "$rounds"); do
  i=0
  for m in "${models[@]}"; do
    i=$((i + 1))
    # One process per model and side, so each peak RSS is that model's alone.
    echo "[round $round/$rounds, $i/${#models[@]}] $m: burn" >&2
    "$BENCH" --model "$m" --device flex --steps "$steps" --warmup "$warmup" | tee -a "$tmp/burn.jsonl" >&2 \
      || echo "  burn failed on $m" >&2
    echo "[round $round/$rounds, $i/${#models[@]}] $m: pytorch" >&2
    "$PYTHON" scripts/bench_pytorch.py --model "$m" "${torch_args[@]}" | tee -a "$tmp/torch.jsonl" >&2 \
      || echo "  pytorch failed on $m" >&2
  done
done

if [ -n "$keep" ]; then
  mkdir -p "$keep"
  cp "$tmp/burn.jsonl" "$tmp/torch.jsonl" "$keep/"
  echo "raw JSON lines: $keep/burn.jsonl, $keep/torch.jsonl" >&2
fi

"$PYTHON" - "$tmp/burn.jsonl" "$tmp/torch.jsonl" "${models[@]}" <<'EOF'
import json, os, statistics, sys

def load(path):
    """Every row of every round, per model, in order."""
    rows = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                row = json.loads(line)
                rows.setdefault(row["model"], []).append(row)
    return rows

burn, torch = load(sys.argv[1]), load(sys.argv[2])
models = sys.argv[3:]
t0 = next(iter(torch.values()), [{}])[0]
b0 = next(iter(burn.values()), [{}])[0]
rounds = max((len(v) for v in list(burn.values()) + list(torch.values())), default=1)
rayon = os.environ.get("RAYON_NUM_THREADS")
print(f"Burn {b0.get('adapter', '?')} ({'RAYON_NUM_THREADS=' + rayon if rayon else 'all cores'}) vs "
      f"PyTorch {t0.get('torch_version', '?')} (threads: {t0.get('threads', '?')}), "
      f"{t0.get('steps', b0.get('steps', '?'))} timed steps per model"
      + (f", {rounds} interleaved rounds: medians, and the range of the per-round ratios." if rounds > 1 else "."))
print()
range_head = " ratio range |" if rounds > 1 else ""
range_rule = "---:|" if rounds > 1 else ""
print(f"| model | batch | Burn flex samples/s | PyTorch samples/s | ratio (Burn / PyTorch) |{range_head} Burn peak RSS MiB | PyTorch peak RSS MiB |")
print(f"|---|---:|---:|---:|---:|{range_rule}---:|---:|")
ratios = []
for m in models:
    b, t = burn.get(m, []), torch.get(m, [])
    batch = (b or t or [{}])[0].get("batch_size", "?")
    if b and t and b[0]["batch_size"] != t[0]["batch_size"]:
        batch = f"{b[0]['batch_size']} / {t[0]['batch_size']} (differ!)"
    b_rate = statistics.median(r["samples_per_s"] for r in b) if b else None
    t_rate = statistics.median(r["samples_per_s"] for r in t) if t else None
    bs = f"{b_rate:.1f}" if b else "failed"
    ts = f"{t_rate:.1f}" if t else "failed"
    ratio, spread = "-", "-"
    if b and t and t_rate > 0:
        r = b_rate / t_rate
        ratios.append(r)
        ratio = f"{r:.2f}"
        per_round = [x["samples_per_s"] / y["samples_per_s"] for x, y in zip(b, t) if y["samples_per_s"] > 0]
        if per_round:
            spread = f"{min(per_round):.2f}-{max(per_round):.2f}"
    br = f"{max(r['peak_rss_mb'] for r in b):.0f}" if b else "-"
    tr = f"{max(r['peak_rss_mb'] for r in t):.0f}" if t else "-"
    range_cell = f" {spread} |" if rounds > 1 else ""
    print(f"| {m} | {batch} | {bs} | {ts} | {ratio} |{range_cell} {br} | {tr} |")
if ratios:
    geo = 1.0
    for r in ratios:
        geo *= r
    geo **= 1.0 / len(ratios)
    print()
    print(f"Geometric mean of the ratios over {len(ratios)} models: {geo:.2f} (> 1: Burn is faster).")
if t0.get("torch_import_rss_mb") is not None:
    print(f"PyTorch's RSS right after `import torch`: {t0['torch_import_rss_mb']:.0f} MiB (included in its peak RSS).")
missing = [m for m in models if m not in burn or m not in torch]
sys.exit(1 if missing else 0)
EOF
