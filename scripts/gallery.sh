#!/usr/bin/env bash
# Refreshes README's pictures (docs/gallery/*.png and the playground, docs/figures/playground.png)
# from real runs: trains the seed configs below (or reuses a finished run in artifacts/gallery/),
# draws each one's report, copies the figures README shows, and photographs the playground over
# those runs. Run from the repository root after building (`cargo build --release` or the dev build):
#   scripts/gallery.sh            # train what is missing, then draw
#   scripts/gallery.sh --retrain  # train every run again
# Takes about 10 minutes on two CPU cores (the VAE's 50 epochs are most of it).
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir="${BIN_DIR:-}"
if [ -z "$bin_dir" ]; then
  for d in target/release target/debug "${CARGO_TARGET_DIR:-/nonexistent}/release" "${CARGO_TARGET_DIR:-/nonexistent}/debug"; do
    if [ -x "$d/train" ] && [ -x "$d/report" ]; then bin_dir="$d"; break; fi
  done
fi
[ -n "$bin_dir" ] || { echo "error: no built train/report binaries (run cargo build first, or set BIN_DIR)" >&2; exit 2; }
retrain="${1:-}"
mkdir -p docs/gallery

# config  →  figures README shows (source file in the run's plots/ → name under docs/gallery/)
runs=(
  "mlp:confusion.png=mlp_confusion.png mistakes.png=mlp_mistakes.png loss_curves.png=mlp_loss_curves.png"
  "vae:latent_manifold.png=vae_manifold.png latent_scatter.png=vae_latent_scatter.png"
  "deep_denoising_ae:denoising.png=denoising.png"
  "linear_ae_64:pca_variance.png=linear_ae_64_pca_variance.png reconstructions.png=linear_ae_64_reconstructions.png"
  "speedrun:"
)

for entry in "${runs[@]}"; do
  name="${entry%%:*}"
  figures="${entry#*:}"
  run="artifacts/gallery/$name"
  if [ "$retrain" = "--retrain" ] || ! grep -q '"finished": true' "$run/run.json" 2>/dev/null; then
    echo "== training $name"
    "$bin_dir/train" --config "configs/$name.toml" --out "$run" --force --progress-every 30
  fi
  echo "== report $name"
  "$bin_dir/report" --run "$run" >/dev/null
  for pair in $figures; do
    src="$run/plots/${pair%%=*}"
    dst="docs/gallery/${pair#*=}"
    if [ -f "$src" ]; then cp "$src" "$dst"; echo "   $dst"; else echo "   (no ${pair%%=*} in $run/plots)" >&2; fi
  done
done
# The playground over these runs (README's picture): the page, a real test digit clicked, every
# model's answer (examples/playground_shot.rs; Debian's chromium).
echo "== playground"
bash scripts/deps.sh chromium
if [ -x "$bin_dir/examples/playground_shot" ]; then
  "$bin_dir/examples/playground_shot" artifacts/gallery docs/figures/playground.png "${PLAYGROUND_DIGIT:-0}"
else
  cargo run --quiet --example playground_shot -- artifacts/gallery docs/figures/playground.png "${PLAYGROUND_DIGIT:-0}"
fi
ls -l docs/gallery docs/figures/playground.png
