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

mkdir -p "$work/plugins"
cp "$so" "$work/plugins/"
"$berthd" plugins inspect "$work/plugins/notifier-file.so" | grep -q "provider notifier/file" \
  || fail "berthd plugins inspect does not show the provider"

# The provider's own config lives under plugins.config.<provider name>.
cat > "$work/berth.yml" <<YAML
listen: 127.0.0.1:0
data_dir: $work/data
plugins:
  dirs: [$work/plugins]
  config:
    file: {path: $work/events.jsonl}
notifications:
  initial_backoff_ms: 100
  endpoints:
    - name: audit-file
      type: file
      address: file-sink
YAML
admin_pw='Example-Admin-1'
BERTH_ADMIN_PASSWORD="$admin_pw" "$berthd" --config "$work/berth.yml" > "$work/berthd.out" 2> "$work/berthd.err" &
pid=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$work/berthd.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "berthd exited"
  sleep 0.05
done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/berthd.out")
[[ -n "$port" ]] || fail "berthd did not report its port"
grep -q '"name":"notifier-file"' "$work/berthd.err" || fail "berthd did not load the example"

base="http://127.0.0.1:$port/v2/library/example"
config='{"architecture":"amd64","os":"linux"}'
cdigest="sha256:$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$admin_pw" -X POST --data-binary "$config" \
  -H 'Content-Type: application/octet-stream' "$base/blobs/uploads/?digest=$cdigest")
[[ "$code" == 201 ]] || fail "config upload answered $code"
manifest="{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"$cdigest\",\"size\":${#config}},\"layers\":[]}"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$admin_pw" -X PUT --data-binary "$manifest" \
  -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' "$base/manifests/v1")
[[ "$code" == 201 ]] || fail "manifest push answered $code"
for _ in $(seq 1 100); do
  [[ -s "$work/events.jsonl" ]] && break
  sleep 0.05
done
[[ -s "$work/events.jsonl" ]] || fail "no event reached the example plugin"
python3 - "$work/events.jsonl" <<'PY' || fail "the event line is wrong: $(cat "$work/events.jsonl")"
import json, sys
line = json.loads(open(sys.argv[1]).readline())
assert line["event"] == "PUSH_ARTIFACT", line
assert line["format"] == "Default", line
assert line["payload"]["event_data"]["repository"]["repo_full_name"] == "library/example", line
assert line["payload"]["event_data"]["resources"][0]["tag"] == "v1", line
PY
echo "out-of-tree example plugin built from the installed package and delivered an event"
