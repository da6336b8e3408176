#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium (offline, fresh profile) and saves a
# screenshot, to check the self-contained page as a browser shows it.
# Needs Debian's chromium: apt-get update && apt-get install -y chromium
# Usage: scripts/check-report.sh RUN_DIR [SCREENSHOT.png]   (after `report --run RUN_DIR`)
set -euo pipefail
run="${1:?usage: scripts/check-report.sh RUN_DIR [SCREENSHOT.png]}"
shot="${2:-$run/report-screenshot.png}"
page="$(cd "$run" && pwd)/report.html"
[ -f "$page" ] || { echo "error: $page does not exist; run \`report --run $run\` first" >&2; exit 1; }
browser="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$browser" ] || { echo "error: chromium not found (apt-get install -y chromium)" >&2; exit 1; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
# Tall window: the whole page in one picture. No network is needed: every figure is a data URI.
"$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" \
  --screenshot="$(realpath -m "$shot")" --window-size=1280,6000 "file://$page" 2>/dev/null
[ -s "$shot" ] || { echo "error: chromium wrote no screenshot" >&2; exit 1; }
echo "wrote $shot"
