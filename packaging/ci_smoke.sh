#!/usr/bin/env bash
# Build the onedir bundle from this checkout and prove it works: --self-test offscreen, size, start-up.
# Called by .ci/run before pytest. Exits non-zero if the build, the dependency check or the self-test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
export QT_QPA_PLATFORM=offscreen

"$PY" packaging/build.py
"$PY" packaging/check_bundle.py dist/playment-submit
echo "bundle size: $(du -sm dist/playment-submit | cut -f1) MiB on disk"

tmp=$(mktemp -d)
PLAYMENT_CONFIG_DIR="$tmp/c" PLAYMENT_DATA_DIR="$tmp/d" XDG_CONFIG_HOME="$tmp" \
  dist/playment-submit/playment-submit --self-test
rm -rf "$tmp"
"$PY" packaging/startup_time.py
