#!/usr/bin/env bash
# The abidiff gate (see plugin-api/ABI.md, "Changing the ABI"):
#  1. the current plugin.h describes exactly the ABI of the newest committed
#     baseline (plugin-api/abi/berth_plugin-1.<newest>.abi): any difference
#     fails, and an intended change adds a new baseline in the same commit;
#  2. against every older 1.x baseline, abidiff may report nothing but data
#     members inserted at the end of structs (and the sizes growing
#     accordingly): no removal, no moved or changed member, no new type for
#     an old one.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$root/scripts/abi/dump-abi.sh" "$root/plugin-api/include" "$tmp/current.abi"
mapfile -t baselines < <(ls "$root"/plugin-api/abi/berth_plugin-1.*.abi | sort -V)
newest=${baselines[-1]}
if ! abidiff "$newest" "$tmp/current.abi" > "$tmp/report"; then
  cat "$tmp/report"
  echo "plugin.h no longer matches $(basename "$newest")." >&2
  echo "If the change is an allowed append, follow 'Changing the ABI' in plugin-api/ABI.md." >&2
  exit 1
fi
echo "plugin ABI matches the committed baseline $(basename "$newest")"
for old in "${baselines[@]:0:${#baselines[@]}-1}"; do
  rc=0
  abidiff "$old" "$tmp/current.abi" > "$tmp/report.old" || rc=$?
  if (( rc & 1 || rc & 2 || rc & 8 )); then
    cat "$tmp/report.old"
    echo "abidiff against $(basename "$old") failed or found an incompatible change (exit $rc)" >&2
    exit 1
  fi
  python3 - "$tmp/report.old" "$(basename "$old")" <<'PY'
import re, sys
report, name = sys.argv[1], sys.argv[2]
allowed = [
    r"Functions changes summary: 0 Removed, \d+ Changed, \d+ Added functions?",
    r"Variables changes summary: 0 Removed, 0 Changed, 0 Added variables?",
    r"\d+ functions? with some indirect sub-type change:",
    r"\[C\] 'function int berth_abi_probe\(.*\)' has some indirect sub-type changes:",
    r"parameter \d+ of type '.*' has sub-type changes:",
    r"in pointed to type '.*':",
    r"in unqualified underlying type '.*':",
    r"underlying type 'struct \w+' changed:",
    r"\d+ data member insertions?:",
]
bad, last_size = [], None
for raw in open(report):
    line = raw.strip()
    if not line:
        continue
    m = re.fullmatch(r"type size changed from (\d+) to (\d+) \(in bits\)", line)
    if m:
        old, new = int(m.group(1)), int(m.group(2))
        if new < old:
            bad.append(line)
        last_size = old
        continue
    m = re.fullmatch(r"'.*', at offset (\d+) \(in bits\)", line)
    if m:
        # An insertion must lie past the end of the older struct.
        if last_size is None or int(m.group(1)) < last_size:
            bad.append(line)
        continue
    if not any(re.fullmatch(p, line) for p in allowed):
        bad.append(line)
if bad:
    print(open(report).read())
    print(f"against {name}: changes other than appended members:", *bad, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"against {name}: only members appended at the ends of structs")
PY
done
