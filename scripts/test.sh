#!/usr/bin/env bash
# Installs what is missing (apt-get), builds Berth and runs every test.
# Extra arguments go to ctest (e.g. -R protocol, -L e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# BERTH_BUILD_TESTS=ON explicitly: scripts/run.sh may have turned it off in
# the same build directory's cache.
cmake --preset default -DBERTH_BUILD_TESTS=ON >/dev/null
cmake --build --preset default
# A run that executes no test is a failure, not a pass.
ctest --preset default -j2 --timeout 1200 --no-tests=error "$@"
