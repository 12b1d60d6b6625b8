#!/usr/bin/env bash
# The README's main command on this checkout, as a new user runs it:
# scripts/run.sh builds and starts berthd; once it prints its URL, skopeo
# pushes an image as the administrator and pulls it back byte for byte; then
# berthd is stopped with SIGTERM and must exit cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=$(mktemp -d /tmp/berth-readme-smoke.XXXXXX)
RUN_PID=""
cleanup() {
  if [[ -n "$RUN_PID" ]] && kill -0 "$RUN_PID" 2>/dev/null; then
    kill -TERM "$RUN_PID" 2>/dev/null || true
    wait "$RUN_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { printf '[readme-smoke %3ds] %s\n' "$SECONDS" "$*" >&2; }

export BERTH_ADMIN_PASSWORD="Smoke-$RANDOM-Pw1"
export BERTH_LISTEN=127.0.0.1:0          # a free port; the URL is printed
export BERTH_DATA_DIR="$WORK/data"

say "scripts/run.sh (builds berthd and its plugins, then starts it)"
scripts/run.sh >"$WORK/run.out" 2>"$WORK/run.err" &
RUN_PID=$!

url=""
for _ in $(seq 1 3600); do           # the first build may take a while
  url=$(grep -o 'listening on http://[^ ]*' "$WORK/run.out" 2>/dev/null | head -1 | cut -d' ' -f3 || true)
  [[ -n "$url" ]] && break
  if ! kill -0 "$RUN_PID" 2>/dev/null; then
    say "scripts/run.sh exited before berthd listened:"
    tail -n 40 "$WORK/run.out" "$WORK/run.err" >&2
    exit 1
  fi
  sleep 1
done
[[ -n "$url" ]] || { say "no URL after an hour"; exit 1; }
host=${url#http://}
say "berthd listens on $url"

# skopeo is a test tool, not a runtime dependency of run.sh.
command -v skopeo >/dev/null || scripts/install-deps.sh

python3 tests/e2e/e2e_helper.py make-layout "$WORK/layout" v1 4096 100000 >"$WORK/digest"
creds="admin:$BERTH_ADMIN_PASSWORD"
skopeo copy --retry-times 0 --dest-tls-verify=false --dest-creds "$creds" \
  --digestfile "$WORK/pushed" "oci:$WORK/layout:v1" "docker://$host/library/smoke:v1" >&2
[[ "$(cat "$WORK/pushed")" == "$(cat "$WORK/digest")" ]] || {
  say "pushed digest $(cat "$WORK/pushed") != layout's $(cat "$WORK/digest")"; exit 1; }
skopeo copy --retry-times 0 --src-tls-verify=false --src-creds "$creds" \
  "docker://$host/library/smoke:v1" "dir:$WORK/pulled" >&2
python3 tests/e2e/e2e_helper.py verify-dir "$WORK/pulled" "$(cat "$WORK/digest")" "$WORK/layout"
say "push and pull as admin verified"

kill -TERM "$RUN_PID"
rc=0
wait "$RUN_PID" || rc=$?
RUN_PID=""
[[ $rc -eq 0 ]] || { say "berthd exited with $rc on SIGTERM"; tail -n 20 "$WORK/run.err" >&2; exit 1; }
say "berthd stopped cleanly"
