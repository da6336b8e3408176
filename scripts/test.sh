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
#   4. builds the Python package as README installs it (`pip install ./python`, into the virtual
#      environment $MNIST_BURN_VENV, default ~/.cache/mnist-burn/venv, created when missing, with
#      the test extras: pytest, pandas, matplotlib, a Jupyter kernel) and runs its tests, the
#      notebooks in notebooks/ among them (pytest python/tests);
#   5. prints one closing line with the totals over every test binary and pytest: "tests: N passed, N failed".
# `--python-only` as the first argument skips step 3 (cargo test); other arguments go to cargo test, e.g.
# `scripts/test.sh --test sweep` (the Python tests then run too).
# Needs root or sudo for the installs and for Slurm (a machine that has them needs neither).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
start=$(date +%s)

bash scripts/deps.sh chromium vulkan slurm python

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
python_only=0
if [ "${1:-}" = "--python-only" ]; then
  python_only=1
  shift
fi
if [ "$python_only" -eq 0 ]; then
  cargo test --workspace --locked --features wgpu "$@" 2>&1 | tee "$log" || status=$?
fi

# The Python package, built by maturin through pip exactly as README installs it (the `wgpu`
# feature as the tests above, so the GPU code path is the same; `test-build` gives shared crates
# the features cargo test resolved, so the extension links the Burn it built instead of compiling
# Burn again: crates/workspace-hack), and its tests. The binaries the tests compare with are the
# ones cargo test just built.
venv="${MNIST_BURN_VENV:-$HOME/.cache/mnist-burn/venv}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating the virtual environment $venv"
  python3 -m venv "$venv"
fi
py_start=$(date +%s)
MATURIN_PEP517_ARGS="--features wgpu,test-build" CARGO_TARGET_DIR="$target" "$venv/bin/pip" install --quiet --disable-pip-version-check "./python[test]" 2>&1 | tee -a "$log" || status=$?
echo "python package built and installed in $(( $(date +%s) - py_start )) s"
MNIST_BURN_BIN_DIR="$target/debug" "$venv/bin/python" -m pytest python/tests -p no:cacheprovider -q 2>&1 | tee -a "$log" || status=$?

# cargo's last "test result" line is often a crate's doc tests (0 of them); sum every binary's,
# and pytest's closing line ("== 40 passed, 1 failed in 12.3s ==").
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^=+ .* in [0-9.]+s/ || /^[0-9]+ (passed|failed).* in [0-9.]+s/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^(failed|errors?)/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
echo "test.sh: $(( $(date +%s) - start )) s in all"
exit "$status"
