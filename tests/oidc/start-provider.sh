#!/usr/bin/env bash
# ctest fixture "oidc" (setup): installs oidc-provider when needed and starts
# tests/oidc/provider.mjs in the background on 127.0.0.1 with a random port.
#   start-provider.sh <tests/oidc source dir> <state dir>
# Writes <state dir>/provider.json (issuer, clients, users, signing keys),
# <state dir>/provider.pid and <state dir>/provider.log.
set -euo pipefail
src=$1
state=$2
mkdir -p "$state"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "ERROR: '$tool' is not installed; the OIDC tests need Node.js 20+ and npm" >&2
    exit 1
  fi
done

# A provider left over by an interrupted run of this build directory.
bash "$src/stop-provider.sh" "$state" >/dev/null 2>&1 || true

# npm ci once per package-lock.json (node_modules is shared by every build
# directory, hence the lock).
(
  flock 9
  want=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
  stamp="$src/node_modules/.berth-package-lock.sha256"
  if [[ ! -f $stamp || "$(cat "$stamp")" != "$want" ]]; then
    echo "installing oidc-provider into $src/node_modules (npm ci)"
    if ! (cd "$src" && npm ci --no-audit --no-fund --loglevel=error) >"$state/npm.log" 2>&1; then
      cat "$state/npm.log" >&2
      echo "ERROR: 'npm ci' failed in $src: could not install oidc-provider (is the npm registry reachable?)" >&2
      exit 1
    fi
    echo "$want" >"$stamp"
  fi
) 9>"${TMPDIR:-/tmp}/berth-oidc-npm-$(id -u).lock"

rm -f "$state/provider.json"
setsid node "$src/provider.mjs" "$state/provider.json" >"$state/provider.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$state/provider.pid"
for _ in $(seq 1 300); do
  if [[ -s $state/provider.json ]]; then
    grep '^issuer ' "$state/provider.log" || true
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$state/provider.log" >&2
    echo "ERROR: the test OpenID Provider exited before it listened" >&2
    exit 1
  fi
  sleep 0.1
done
cat "$state/provider.log" >&2
echo "ERROR: the test OpenID Provider did not start within 30 s" >&2
bash "$src/stop-provider.sh" "$state" || true
exit 1
