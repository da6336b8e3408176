#!/usr/bin/env bash
# Batch normalization exported for PyTorch: runs the inference test `batch_norm_export_matches_burn`
# (a small MLP and CNN with batch normalization trained one epoch, exported), keeping its files,
# then loads each export in PyTorch with strict=True and compares the eval-mode logits with
# Burn's (scripts/check_batchnorm_export.py). Needs python3 with torch.
# Run from anywhere: scripts/check-batchnorm-export.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
keep="$(mktemp -d)"
trap 'rm -rf "$keep"' EXIT
MNIST_BURN_KEEP_EXPORT="$keep" cargo test --workspace --features wgpu --test all -- batch_norm_export_matches_burn >&2
for kind in mlp cnn; do
  "$PYTHON" scripts/check_batchnorm_export.py "$keep/$kind"
done
