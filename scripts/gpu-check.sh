#!/usr/bin/env bash
# The GPU check, one command on a machine with an NVIDIA GPU (sized for an H100 or H200: under 8
# minutes) that has PyTorch with CUDA but no Rust toolchain and no network. Prepare it here with
# scripts/gpu-build.sh (binaries in .gpu/, Vulkan loader packages in .gl/), then run there, from
# the repository root:
#   scripts/gpu-check.sh [OUT_DIR]
# It
#   1. runs the seed models in PyTorch with CUDA (scripts/bench_pytorch.py --device cuda, one
#      process, about a minute): the baseline, first, because it is cheap and always wanted;
#   2. runs `bench --device wgpu --profile` for every seed model, twice: first with an empty GPU
#      cache (MNIST_BURN_GPU_CACHE, one per model and backend: cold start-up, every kernel
#      compiled and tuned), then with what the first left there (warm). Each line has
#      `first_step_s` (process start to the first step done), `kernels_per_step` and the cache's
#      entries, so the table shows cold and warm start-up and whether the warm process added
#      anything to the cache;
#   3. trains the MLP, the CNN and the dense VAE to their seed targets on the GPU with the warm
#      cache (wall time from process start to the printed test metric), each followed by the same
#      recipe in PyTorch (bench_pytorch.py --train), then the speedrun (99 % in one epoch);
#      then the MLP and the CNN, warm, with wgpu's submission batch (CUBECL_WGPU_MAX_TASKS) at 128
#      and 512 instead of 32;
#   4. runs the same two passes of `bench` on `vulkan` (SPIR-V: its compiled kernels are cached
#      too, so its warm process should add nothing);
#   5. prints one table: samples/s of each and our ratio to PyTorch, start-up cold and warm,
#      kernels per step, and the trainings side by side (scripts/gpu_table.py).
# On the first real run (NVIDIA H200, 2026-11-28, docs/performance.md) one `bench` process took
# 8-90 s, nearly all of it start-up (shader compilation and autotuning; the 120 steps took under
# half a second), and nothing was cached between processes; the budget below keeps the order
# above and skips what does not fit. GPU_CHECK_AUTOTUNE sets CubeCL's autotune level (minimal,
# balanced, extensive, full) to see what start-up it saves.
# Every raw result is kept in OUT_DIR (default gpu-check/): *.jsonl, train logs, table.md.
# Knobs: GPU_CHECK_MODELS (comma-separated config names), GPU_CHECK_STEPS (timed steps, 100),
# GPU_CHECK_WARMUP (20), GPU_CHECK_TRAIN (models to train, "mlp,cnn,vae,speedrun"; empty skips),
# GPU_CHECK_TORCH_DEVICE (cuda), GPU_CHECK_BACKENDS ("wgpu vulkan"), GPU_CHECK_BUDGET_S (the whole
# check's wall-time budget, 450 s: each step's timeout is cut to what is left, and a step that
# would start with under 5 s left is skipped and recorded as such, so the table is always printed).
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-check}"
mkdir -p "$out"
started=$(date +%s)
budget="${GPU_CHECK_BUDGET_S:-450}"
# Seconds a step may take: its own cap, cut to the budget left (0: skip it).
allow() {
  local left=$(( budget - ($(date +%s) - started) ))
  if [ "$left" -lt 5 ]; then echo 0; elif [ "$left" -lt "$1" ]; then echo "$left"; else echo "$1"; fi
}

# Loaders: the driver's ICD is on the machine, the loader library may not be.
if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  if compgen -G ".gl/*.deb" >/dev/null; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  else
    echo "warning: no libvulkan.so.1 and no .gl/*.deb to unpack (scripts/gpu-build.sh downloads them)" >&2
  fi
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES="$nvidia_icd"
fi
[ -n "${GPU_CHECK_AUTOTUNE:-}" ] && export CUBECL_AUTOTUNE_LEVEL="$GPU_CHECK_AUTOTUNE"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

# Binaries: packed ones from .gpu/, else whatever is already built (a local dry run). Python's
# tarfile unpacks the xz archive where no xz tool is installed.
bin=.gpu
if [ -f .gpu/bins.tar.xz ]; then
  python3 -c 'import tarfile; tarfile.open(".gpu/bins.tar.xz").extractall(".gpu")' || exit 2
  chmod +x .gpu/train .gpu/bench
elif [ -n "${GPU_CHECK_BIN:-}" ]; then
  bin="$GPU_CHECK_BIN"
else
  echo "error: no binaries in .gpu/ (run scripts/gpu-build.sh first) and GPU_CHECK_BIN is not set" >&2
  exit 2
fi
[ -f .gpu/COMMIT ] && echo "binaries built from commit $(cat .gpu/COMMIT)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'

# The three trained models first: the budget cuts from the end.
models="${GPU_CHECK_MODELS:-mlp,cnn,vae,softmax,mlp_500_300_l2_1e-4,linear_ae_64,deep_denoising_ae,hidden225_ae,single_layer_ae,denoising_ae,deep_ae_dropout,conv_ae,conv_denoising_ae,strided_conv_dae,conv_vae}"
steps="${GPU_CHECK_STEPS:-100}"
warmup="${GPU_CHECK_WARMUP:-20}"
backends="${GPU_CHECK_BACKENDS:-wgpu vulkan}"
torch_device="${GPU_CHECK_TORCH_DEVICE:-cuda}"
IFS=, read -ra names <<< "$models"

# Our throughput on one GPU backend, two processes per model: the first with an empty GPU cache
# (cold: every kernel compiled and tuned), the second with the cache the first left (warm). Each
# line has `first_step_s` (process start to the first step done) and `kernels_per_step`; the warm
# one is the steady-state figure. A model that fails is recorded and the check goes on.
bench_backend() {
  local backend=$1
  : > "$out/bench-$backend.jsonl"
  : > "$out/cold-$backend.jsonl"
  for name in "${names[@]}"; do
    local cache="$out/gpu-cache/$backend-$name"
    rm -rf "$cache"
    for phase in cold warm; do
      local file="$out/bench-$backend.jsonl"
      [ "$phase" = cold ] && file="$out/cold-$backend.jsonl"
      local cap; cap=$(allow 90)
      if [ "$cap" = 0 ]; then
        echo "{\"model\": \"$name\", \"device\": \"$backend\", \"error\": \"skipped: budget spent\"}" >> "$file"
        continue
      fi
      echo "== bench $name on $backend, $phase (timeout ${cap} s)"
      local t0; t0=$(date +%s.%N)
      MNIST_BURN_GPU_CACHE="$cache" timeout "$cap" "$bin/bench" --model "$name" --device "$backend" --steps "$steps" \
        --warmup "$warmup" --profile >> "$file" 2>> "$out/bench-$backend.err" \
        || echo "{\"model\": \"$name\", \"device\": \"$backend\", \"error\": \"exit $?\"}" >> "$file"
      # Process wall time (start, adapter, shader compilation, autotune, data upload, steps).
      local wall; wall=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
      echo "   process wall $wall s: $(tail -n 1 "$file" | cut -c1-160)"
      printf '%s\t%s\t%s\t%s\n' "$backend" "$name" "$phase" "$wall" >> "$out/process-walls.tsv"
    done
  done
}
first_backend="${backends%% *}"

# 1. PyTorch on the same models, same batch sizes, optimizers and data held on the device.
echo "== PyTorch ($torch_device)"
: > "$out/bench-torch.jsonl"
cap=$(allow 200)
if [ "$cap" = 0 ]; then
  echo "PyTorch benchmark skipped: budget spent" >&2
else
  PYTHONUNBUFFERED=1 timeout "$cap" python3 scripts/bench_pytorch.py --device "$torch_device" --names "$models" \
    --steps "$steps" --warmup "$warmup" >> "$out/bench-torch.jsonl" 2> "$out/bench-torch.err" \
    || echo "PyTorch benchmark failed: see $out/bench-torch.err" >&2
fi

# 2. Our throughput on the first backend.
: > "$out/process-walls.tsv"
bench_backend "$first_backend"

# 3. Full trainings to the seed targets on the first backend, timed from process start, with the
# GPU cache the model's benchmark left (a user's second run); the same recipes in PyTorch after
# each; the speedrun (99 % in one epoch) last, ours only.
train_backend="$first_backend"
: > "$out/train.jsonl"
IFS=, read -ra trains <<< "${GPU_CHECK_TRAIN-mlp,cnn,vae,speedrun}"
for name in "${trains[@]}"; do
  [ -n "$name" ] || continue
  cap=$(allow 240)
  if [ "$cap" = 0 ]; then
    echo "{\"model\": \"$name\", \"device\": \"$train_backend\", \"exit\": -1, \"test\": \"skipped: budget spent\"}" >> "$out/train.jsonl"
    continue
  fi
  echo "== train $name on $train_backend (timeout ${cap} s)"
  t0=$(date +%s.%N)
  MNIST_BURN_GPU_CACHE="$out/gpu-cache/$train_backend-$name" timeout "$cap" "$bin/train" --config "configs/$name.toml" \
    --device "$train_backend" --out "$out/runs/$name" --force > "$out/train-$name.log" 2>&1
  code=$?
  t1=$(date +%s.%N)
  test_line=$(grep -m1 '^test' "$out/train-$name.log" || true)
  python3 - "$name" "$train_backend" "$code" "$t0" "$t1" "$test_line" >> "$out/train.jsonl" <<'PY'
import json, sys
name, backend, code, t0, t1, line = sys.argv[1:7]
print(json.dumps({"model": name, "device": backend, "exit": int(code), "wall_s": round(float(t1) - float(t0), 2), "test": line.strip()}))
PY
  tail -n 3 "$out/train-$name.log"
  [ "$name" = speedrun ] && continue
  cap=$(allow 120)
  [ "$cap" = 0 ] && continue
  echo "== train $name in PyTorch ($torch_device, timeout ${cap} s)"
  t0=$(date +%s.%N)
  PYTHONUNBUFFERED=1 timeout "$cap" python3 scripts/bench_pytorch.py --train --model "$name" --device "$torch_device" \
    > "$out/train-torch-$name.json" 2>> "$out/train-torch.err"
  code=$?
  t1=$(date +%s.%N)
  python3 - "$name" "$torch_device" "$code" "$t0" "$t1" "$out/train-torch-$name.json" >> "$out/train.jsonl" <<'PY'
import json, sys
name, device, code, t0, t1, path = sys.argv[1:7]
try:
    r = json.loads(open(path).read().strip().splitlines()[-1])
except Exception:  # noqa: BLE001 - recorded as a failed run
    r = {}
test = " ".join(f"{k} {r[k]:.4f}" for k in ("test_loss", "test_accuracy") if k in r)
print(json.dumps({"model": name, "device": f"pytorch-{device}", "exit": int(code), "wall_s": round(float(t1) - float(t0), 2), "test": test}))
PY
done

# 3b. Submission batching (issue 30, item 3): wgpu records up to CUBECL_WGPU_MAX_TASKS kernels
# (32 by default) into one command buffer before it submits, so a step of 50-80 kernels costs two
# or three submits. The MLP and the CNN again, warm, with 128 and 512: the table sets their
# samples/s beside the default's.
: > "$out/tasks-$first_backend.jsonl"
for name in mlp cnn; do
  [[ ",$models," == *",$name,"* ]] || continue
  for tasks in 128 512; do
    cap=$(allow 45)
    [ "$cap" = 0 ] && break 2
    echo "== bench $name on $first_backend, warm, CUBECL_WGPU_MAX_TASKS=$tasks (timeout ${cap} s)"
    CUBECL_WGPU_MAX_TASKS="$tasks" MNIST_BURN_GPU_CACHE="$out/gpu-cache/$first_backend-$name" timeout "$cap" \
      "$bin/bench" --model "$name" --device "$first_backend" --steps "$steps" --warmup "$warmup" --profile \
      2>> "$out/bench-$first_backend.err" \
      | python3 -c 'import json, sys; [print(json.dumps(dict(json.loads(l), tasks_max=int(sys.argv[1])))) for l in sys.stdin if l.startswith("{")]' "$tasks" \
      >> "$out/tasks-$first_backend.jsonl"
    tail -n 1 "$out/tasks-$first_backend.jsonl" | cut -c1-160
  done
done

# 4. The other backends.
for backend in ${backends#"$first_backend"}; do
  bench_backend "$backend"
done

# 5. One table.
python3 scripts/gpu_table.py "$out" | tee "$out/table.md"
echo "gpu check finished in $(( $(date +%s) - started )) s; results in $out/"
