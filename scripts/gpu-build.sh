#!/usr/bin/env bash
# Prepares the GPU check for a machine that has a GPU and PyTorch with CUDA but no Rust toolchain
# and no network (see scripts/gpu-check.sh, which runs there):
#   - builds `train` and `bench` with both GPU backends (`--features wgpu,vulkan`), strips them
#     and packs them into .gpu/bins.tar.xz (22 MB: one solid xz archive with a dictionary larger
#     than a binary stores the code the two share once; gzip made 25 MB of each, which with the
#     repository went over the 64 MiB a device call carries);
#   - downloads the Vulkan loader packages (libvulkan1 and the GL dispatch libraries) into .gl/.
# Both folders are ignored by git (.gitignore) and travel with the working tree when a command
# names them (the device tool's `carry`, e.g. carry [".gpu", ".gl"] and command
# `scripts/gpu-check.sh $OUT/gpu-check`). Run from the repository root, here:
#   scripts/gpu-build.sh            # build and download
#   scripts/gpu-build.sh --no-debs  # build only
# A build adding the GPU backends takes 15-20 minutes more on two cores; it uses its own target
# folder so the everyday build is not invalidated.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${GPU_TARGET_DIR:-$HOME/.cache/mnist-burn/target-gpu}"
mkdir -p .gpu

echo "building train and bench with --features wgpu,vulkan into $target ..."
CARGO_TARGET_DIR="$target" cargo build --locked --features wgpu,vulkan --bin train --bin bench
stage=$(mktemp -d)
for bin in train bench; do
  cp "$target/debug/$bin" "$stage/$bin"
  strip "$stage/$bin"
done
rm -f .gpu/*.gz
tar -C "$stage" -cf - train bench | xz -9e -T2 --lzma2=dict=192MiB > .gpu/bins.tar.xz
rm -rf "$stage"
git rev-parse HEAD > .gpu/COMMIT
ls -l .gpu

if [ "${1:-}" != "--no-debs" ]; then
  # The device machine has the NVIDIA driver and its Vulkan ICD but no loader (libvulkan.so.1).
  mkdir -p .gl /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update >/dev/null
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  ls -l .gl
fi
du -sh .gpu .gl 2>/dev/null || true
echo "ready: run scripts/gpu-check.sh on the GPU machine with .gpu and .gl carried along"
