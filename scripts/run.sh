#!/usr/bin/env bash
# Installs what is missing (apt-get), builds berthd with its in-tree plugins
# and runs it on its embedded default: SQLite metadata and filesystem storage
# under ./berth-data. Override with BERTH_LISTEN, BERTH_DATA_DIR or BERTH_CONFIG.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --runtime-only
# Tests are a separate choice of scripts/test.sh; say so explicitly either way,
# since the cache of build/ keeps whatever the last configure set.
cmake --preset default -DBERTH_BUILD_TESTS=OFF >/dev/null
cmake --build --preset default --target berth-runtime
exec build/bin/berthd --config "${BERTH_CONFIG:-config/berth.yml}"
