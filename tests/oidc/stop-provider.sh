#!/usr/bin/env bash
# ctest fixture "oidc" (cleanup): stops the provider start-provider.sh began.
#   stop-provider.sh <state dir>
set -uo pipefail
state=$1
pidfile="$state/provider.pid"
[[ -f $pidfile ]] || exit 0
pid=$(cat "$pidfile")
# Only that pid, and only while it is still our provider.
if [[ -n $pid ]] && grep -q "provider.mjs" "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$pidfile" "$state/provider.json"
echo "stopped the test OpenID Provider"
