#!/usr/bin/env bash
# The GPU check, one command on a machine with an NVIDIA GPU (sized for an H100 or H200: under 8
# minutes) that has PyTorch with CUDA but no Rust toolchain and no network. Prepare it here with
# scripts/gpu-build.sh (binaries in .gpu/, Vulkan loader packages in .gl/), then run there, from
# the repository root:
#   scripts/gpu-check.sh [OUT_DIR]
# It
#   1. runs `bench --device wgpu` and `bench --device vulkan` for every seed model,
#   2. trains the MLP, the CNN and the dense VAE to their seed targets on the GPU (wall time from
#      process start to the printed test metric),
#   3. runs the same models in PyTorch with CUDA (scripts/bench_pytorch.py --device cuda),
#   4. prints one table: samples/s of each, and our ratio to PyTorch (scripts/gpu_table.py).
# Every raw result is kept in OUT_DIR (default gpu-check/): *.jsonl, train logs, table.md.
# Knobs: GPU_CHECK_MODELS (comma-separated config names), GPU_CHECK_STEPS (timed steps, 100),
# GPU_CHECK_WARMUP (20), GPU_CHECK_TRAIN (models to train, "mlp,cnn,vae"; empty skips),
# GPU_CHECK_TORCH_DEVICE (cuda), GPU_CHECK_BACKENDS ("wgpu vulkan").
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-gpu-check}"
mkdir -p "$out"
started=$(date +%s)

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
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

# Binaries: gzipped ones from .gpu/, else whatever is already built (a local dry run).
bin=.gpu
if compgen -G ".gpu/*.gz" >/dev/null; then
  for f in .gpu/*.gz; do gunzip -kf "$f"; chmod +x "${f%.gz}"; done
elif [ -n "${GPU_CHECK_BIN:-}" ]; then
  bin="$GPU_CHECK_BIN"
else
  echo "error: no binaries in .gpu/ (run scripts/gpu-build.sh first) and GPU_CHECK_BIN is not set" >&2
  exit 2
fi
[ -f .gpu/COMMIT ] && echo "binaries built from commit $(cat .gpu/COMMIT)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /'

models="${GPU_CHECK_MODELS:-mlp,softmax,mlp_500_300_l2_1e-4,linear_ae_64,deep_denoising_ae,hidden225_ae,single_layer_ae,denoising_ae,deep_ae_dropout,vae,cnn,conv_ae,conv_denoising_ae,strided_conv_dae,conv_vae}"
steps="${GPU_CHECK_STEPS:-100}"
warmup="${GPU_CHECK_WARMUP:-20}"
backends="${GPU_CHECK_BACKENDS:-wgpu vulkan}"
torch_device="${GPU_CHECK_TORCH_DEVICE:-cuda}"
IFS=, read -ra names <<< "$models"

# 1. Our throughput on each GPU backend. A model that fails is recorded and the check goes on.
for backend in $backends; do
  : > "$out/bench-$backend.jsonl"
  for name in "${names[@]}"; do
    echo "== bench $name on $backend"
    timeout 120 "$bin/bench" --model "$name" --device "$backend" --steps "$steps" --warmup "$warmup" \
      >> "$out/bench-$backend.jsonl" 2>> "$out/bench-$backend.err" \
      || echo "{\"model\": \"$name\", \"device\": \"$backend\", \"error\": \"exit $?\"}" >> "$out/bench-$backend.jsonl"
  done
done

# 2. PyTorch on the same models, same batch sizes, optimizers and data held on the device.
echo "== PyTorch ($torch_device)"
: > "$out/bench-torch.jsonl"
PYTHONUNBUFFERED=1 timeout 600 python3 scripts/bench_pytorch.py --device "$torch_device" --names "$models" \
  --steps "$steps" --warmup "$warmup" >> "$out/bench-torch.jsonl" 2> "$out/bench-torch.err" \
  || echo "PyTorch benchmark failed: see $out/bench-torch.err" >&2

# 3. Full trainings to the seed targets on the first backend, timed from process start.
train_backend="${backends%% *}"
: > "$out/train.jsonl"
IFS=, read -ra trains <<< "${GPU_CHECK_TRAIN-mlp,cnn,vae}"
for name in "${trains[@]}"; do
  [ -n "$name" ] || continue
  echo "== train $name on $train_backend"
  t0=$(date +%s.%N)
  timeout 300 "$bin/train" --config "configs/$name.toml" --device "$train_backend" --out "$out/runs/$name" --force \
    > "$out/train-$name.log" 2>&1
  code=$?
  t1=$(date +%s.%N)
  test_line=$(grep -m1 '^test' "$out/train-$name.log" || true)
  python3 - "$name" "$train_backend" "$code" "$t0" "$t1" "$test_line" >> "$out/train.jsonl" <<'PY'
import json, sys
name, backend, code, t0, t1, line = sys.argv[1:7]
print(json.dumps({"model": name, "device": backend, "exit": int(code), "wall_s": round(float(t1) - float(t0), 2), "test": line.strip()}))
PY
  tail -n 3 "$out/train-$name.log"
done

# 4. One table.
python3 scripts/gpu_table.py "$out" | tee "$out/table.md"
echo "gpu check finished in $(( $(date +%s) - started )) s; results in $out/"
