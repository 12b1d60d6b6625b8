#!/usr/bin/env bash
# The abidiff gate: the current plugin.h must describe exactly the ABI of the
# committed baseline. Any difference fails; an intended (append-only) change
# updates the baseline in the same commit (see plugin-api/ABI.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/abi/dump-abi.sh" "$root/plugin-api/include" "$tmp/current.abi"
if ! abidiff "$root/plugin-api/abi/berth_plugin-1.abi" "$tmp/current.abi" > "$tmp/report"; then
  cat "$tmp/report"
  echo "plugin.h no longer matches plugin-api/abi/berth_plugin-1.abi." >&2
  echo "If the change is an allowed append, follow 'Changing the ABI' in plugin-api/ABI.md." >&2
  exit 1
fi
echo "plugin ABI matches the committed baseline"
