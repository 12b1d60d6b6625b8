#!/usr/bin/env bash
# A third party's path: install the plugin-api package to a staging prefix,
# build plugins/examples/notifier-file as a separate CMake project against
# that package only, load the result into berthd and see it deliver events.
#   out_of_tree_example.sh BUILD_DIR BERTHD
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
berthd=$2
work=$(mktemp -d)
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$work/berthd.err" ]] && tail -20 "$work/berthd.err" >&2; exit 1; }

cmake --install "$build" --prefix "$work/stage" --component plugin-api-dev >/dev/null
[[ -f "$work/stage/include/berth/plugin.h" ]] || fail "headers not installed"
cmake -S "$root/plugins/examples/notifier-file" -B "$work/example" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/stage" -DCMAKE_BUILD_TYPE=Release >/dev/null || fail "configure"
cmake --build "$work/example" >/dev/null || fail "build"
so="$work/example/notifier-file.so"
[[ -f "$so" ]] || fail "no notifier-file.so"
exports=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^$' || true)
[[ "$exports" == "berth_plugin_entry" ]] || fail "exports more than the entry symbol: $exports"
