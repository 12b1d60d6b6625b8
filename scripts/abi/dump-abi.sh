#!/usr/bin/env bash
# Builds the ABI probe against a plugin.h and writes its ABI description.
#   scripts/abi/dump-abi.sh INCLUDE_DIR OUT.abi
# A release baseline: scripts/abi/dump-abi.sh plugin-api/include plugin-api/abi/berth_plugin-1.<minor>.abi
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
include=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c99 -g -O0 -fPIC -shared -fvisibility=hidden -I "$include" \
  "$root/tests/abi/abi_probe.c" -o "$tmp/libberth_abi_probe.so"
abidw --no-show-locs --no-corpus-path --no-comp-dir-path --drop-private-types \
  --out-file "$out" "$tmp/libberth_abi_probe.so"
