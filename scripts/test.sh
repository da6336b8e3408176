#!/usr/bin/env bash
# The whole test suite, as README documents it and CI (`.ci/run`) runs it, on a fresh machine:
#   1. installs what the tests drive for real when it is missing (Debian's chromium, Mesa's
#      software Vulkan driver, slurm-wlm and munge: scripts/deps.sh); a package that cannot be
#      installed stops here with an error naming it;
#   2. starts a single-node Slurm when none answers (scripts/slurm.sh up), and stops it at the end,
#      but only if this script started it;
#   3. runs `cargo test --workspace --locked --features wgpu` (the GPU code path runs on Mesa's
#      software Vulkan driver when there is no GPU) with any extra arguments given to this script,
#      e.g. `scripts/test.sh --test sweep`;
#   4. prints one closing line with the totals over every test binary: "tests: N passed, N failed".
# Needs root or sudo for the installs and for Slurm (a machine that has them needs neither).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
start=$(date +%s)

bash scripts/deps.sh chromium vulkan slurm

slurm_started=0
log=$(mktemp)
cleanup() {
  rm -f "$log"
  if [ "$slurm_started" -eq 1 ]; then
    bash scripts/slurm.sh down
  fi
}
trap cleanup EXIT
if ! sinfo -h >/dev/null 2>&1; then
  slurm_started=1
  bash scripts/slurm.sh up
fi

# wgpu's Vulkan loader warns without a runtime directory.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi
echo "rustc: $(rustc --version)"
echo "target dir: ${CARGO_TARGET_DIR:-target}"

status=0
cargo test --workspace --locked --features wgpu "$@" 2>&1 | tee "$log" || status=$?
# cargo's last "test result" line is often a crate's doc tests (0 of them); sum every binary's.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
echo "test.sh: $(( $(date +%s) - start )) s in all"
exit "$status"
