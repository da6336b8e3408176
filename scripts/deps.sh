#!/usr/bin/env bash
# Installs the system packages the test suite drives for real, when they are missing:
#   scripts/deps.sh chromium   Debian's chromium (/usr/bin/chromium), for the playground's browser test
#   scripts/deps.sh vulkan     Mesa's software Vulkan driver (lavapipe), for the `wgpu` tests without a GPU
#   scripts/deps.sh slurm      Debian's slurm-wlm and munge, for the Slurm launcher's tests
#   scripts/deps.sh python     a Python 3.9+ with venv and pip, for the Python package's tests
# Several names may be given. Each one already present costs a file check and nothing else. A
# package that cannot be installed stops the script with an error that names it (exit 1); it never
# turns into a skipped test. Needs root or sudo, and Debian's package archive.
set -euo pipefail

# Is the thing named $1 already there?
present() {
  case "$1" in
    chromium) [ -x /usr/bin/chromium ] ;;
    vulkan) compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null && compgen -G '/usr/lib/*/libvulkan.so.1' >/dev/null ;;
    slurm) command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null ;;
    python) python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' 2>/dev/null ;;
  esac
}

# The Debian packages that bring it.
packages() {
  case "$1" in
    chromium) echo chromium ;;
    vulkan) echo mesa-vulkan-drivers libvulkan1 ;;
    slurm) echo slurm-wlm munge ;;
    python) echo python3 python3-venv python3-pip ;;
  esac
}

[ $# -gt 0 ] || { echo "usage: $0 chromium|vulkan|slurm|python..." >&2; exit 2; }
missing=()
for need in "$@"; do
  case "$need" in
    chromium | vulkan | slurm | python) ;;
    *) echo "deps.sh: unknown name '$need' (expected chromium, vulkan, slurm or python)" >&2; exit 2 ;;
  esac
  present "$need" || missing+=("$need")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "error: installing ${missing[*]} needs root or sudo; install the Debian packages $(for m in "${missing[@]}"; do packages "$m"; done | xargs) by hand" >&2; exit 1; }
  SUDO="sudo"
fi
command -v apt-get >/dev/null || { echo "error: no apt-get on this machine; install $(for m in "${missing[@]}"; do packages "$m"; done | xargs) (Debian package names) by hand" >&2; exit 1; }

# Test binaries run in parallel and may ask at the same time: one install at a time, and whoever
# waited looks again before installing.
exec 9>/tmp/mnist-burn-deps.lock
flock 9
updated=0
for need in "${missing[@]}"; do
  present "$need" && continue
  pkgs=$(packages "$need")
  echo "deps.sh: installing $pkgs (for $need)" >&2
  log=$(mktemp)
  if [ $updated -eq 0 ]; then
    $SUDO apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; echo "error: apt-get update failed, so $pkgs cannot be installed" >&2; exit 1; }
    updated=1
  fi
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs >"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "error: could not install the Debian package(s) $pkgs, needed for $need" >&2
    exit 1
  fi
  rm -f "$log"
  present "$need" || { echo "error: installed $pkgs, but $need is still not there" >&2; exit 1; }
done
