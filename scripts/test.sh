#!/usr/bin/env bash
# Installs what is missing (apt-get), builds Berth and runs every test.
# Extra arguments go to ctest (e.g. -R protocol, -L e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default
ctest --preset default -j2 --timeout 1200 "$@"
