# shellcheck shell=bash
# Shared helpers for the e2e_auth suite: real registry clients and the
# management API against a live berthd in each auth mode (db, ldap, oidc).
# Sourced by every test script, which ctest runs as
# `bash <script> /path/to/berthd`.
#
# Builds on tests/e2e/lib.sh (berthd on a free port with a private data
# directory, isolated vfs container storage, the `http` helper, `fail`,
# cleanup at exit) and adds:
#   berthd_start_config CONFIG_JSON [PORT]   berthd with `--config` (the
#       configuration is JSON, which is YAML) on port 0 or PORT
#   free_port                 a port nobody listens on right now
#   http_as USER PASSWORD METHOD PATH [curl args]   `http` with other Basic credentials
#   api_json METHOD PATH JSON [EXPECTED_STATUS...]  admin API call with a JSON body
#   authfile NAME             path of a fresh, empty auth file for one identity
#   client_ok NAME CMD...     run a client that must succeed (output in $E2E_TMP/NAME.log)
#   client_refused NAME REGEX CMD...   run a client that must FAIL, with
#       output matching REGEX (grep -Ei); the message is logged
#   build_image NAME          buildah image from scratch (localhost/NAME) with a random payload
#   audit_fetch FILE          every audit-log entry (all pages) as one JSON array
#   audit_expect FILE JQ_FILTER WHAT   at least one entry satisfies JQ_FILTER
# Everything lives under E2E_TMP and is removed at exit.

E2E_AUTH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/lib.sh
source "$E2E_AUTH_DIR/../e2e/lib.sh"

API=/api/v2.0
# Harbor's password rule: 8-128 characters, upper, lower and digit.
USER_PASSWORD="E2e-Auth-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')X1"

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# berthd_start_config CONFIG_JSON [PORT]: like berthd_start, with
# `--config FILE` holding CONFIG_JSON and listening on PORT (default 0).
# With a fixed PORT taken by someone else in the meantime, it returns 3 so
# the caller can pick another one.
berthd_start_config() {
  local cfg_json=$1 port=${2:-0}
  local data=$E2E_TMP/data cfg=$E2E_TMP/berth-config.yml
  jq . <<<"$cfg_json" >"$cfg" || fail "berthd configuration is not valid JSON: $cfg_json"
  BERTHD_STARTS=$((BERTHD_STARTS + 1))
  BERTHD_OUT=$E2E_TMP/berthd.$BERTHD_STARTS.stdout
  BERTHD_LOG=$E2E_TMP/berthd.$BERTHD_STARTS.log
  (
    unset BERTH_CONFIG BERTH_PLUGIN_DIRS BERTH_METADATA_DRIVER BERTH_POSTGRES_DSN BERTH_EXTERNAL_URL BERTH_AUTH_MODE
    cd "$E2E_TMP"
    BERTH_LISTEN=127.0.0.1:$port BERTH_DATA_DIR=$data BERTH_LOG_LEVEL=info \
      BERTH_ADMIN_PASSWORD=$E2E_PASSWORD exec setpriv --pdeathsig KILL -- \
      "$BERTHD_BIN" --config "$cfg" >"$BERTHD_OUT" 2>"$BERTHD_LOG"
  ) &
  BERTHD_PID=$!
  local deadline=$((SECONDS + E2E_START_TIMEOUT)) line=""
  while :; do
    if [[ -s $BERTHD_OUT ]] && line=$(grep -m1 ' listening on http://' "$BERTHD_OUT"); then
      break
    fi
    if ! kill -0 "$BERTHD_PID" 2>/dev/null; then
      wait "$BERTHD_PID" || true
      BERTHD_PID=""
      if [[ $port != 0 ]] && grep -qi 'in use' "$BERTHD_LOG"; then
        log "port $port was taken meanwhile"
        return 3
      fi
      echo "--- berthd's log:" >&2
      tail -n 20 "$BERTHD_LOG" >&2
      fail "berthd exited before it was listening (config $cfg); stdout: $(cat "$BERTHD_OUT")"
    fi
    ((SECONDS < deadline)) || fail "berthd did not print its listening line within ${E2E_START_TIMEOUT} s"
    sleep 0.05
  done
  [[ $line =~ ^berthd\ [0-9][0-9.]*\ listening\ on\ http://(127\.0\.0\.1:[0-9]+)\ \(data\ in\ (.*)\)$ ]] ||
    fail "unexpected listening line: '$line'"
  REG=${BASH_REMATCH[1]}
  REG_URL=http://$REG
  if [[ $port != 0 ]]; then expect_eq "$REG" "127.0.0.1:$port" "address berthd listens on"; fi
  log "berthd #$BERTHD_STARTS (pid $BERTHD_PID) listening on $REG_URL with $cfg"
}

# http_as USER PASSWORD METHOD PATH [curl args]: one request with USER's
# Basic credentials (HTTP_STATUS, HTTP_HEADERS, HTTP_BODY as for http).
http_as() {
  local user=$1 pw=$2
  shift 2
  HTTP_AUTH=0 http "$1" "$2" -u "$user:$pw" "${@:3}"
}

# api_json METHOD PATH JSON [STATUS...]: an administrator's API call with a
# JSON body; checks the status (default 200 201).
api_json() {
  local method=$1 path=$2 body=$3
  shift 3
  http "$method" "$path" -H 'Content-Type: application/json' --data-binary "$body"
  if [[ $# -gt 0 ]]; then expect_status "$@"; else expect_status 200 201; fi
}

# authfile NAME: a fresh auth file with no credentials, for one identity.
authfile() {
  local f=$E2E_TMP/containers/auth-$1.json
  echo '{}' >"$f"
  echo "$f"
}

client_ok() {
  run_client "$@"
}

# client_refused NAME REGEX CMD...: CMD must fail and say why (REGEX, grep -Ei).
client_refused() {
  local name=$1 re=$2
  shift 2
  local out=$E2E_TMP/$name.log rc=0
  timeout "$E2E_CLIENT_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
  if [[ $rc -eq 0 ]]; then
    sed 's/^/  | /' "$out" | tail -n 20 >&2
    fail "'$*' succeeded, but it must be refused"
  fi
  [[ $rc -ne 124 ]] || fail "'$*' timed out instead of being refused"
  if ! grep -Eiq -- "$re" "$out"; then
    sed 's/^/  | /' "$out" | tail -n 20 >&2
    fail "'$*' failed (status $rc) without a message matching /$re/"
  fi
  log "refused as expected ($name): $(grep -Ei -m1 -- "$re" "$out" | cut -c1-220)"
}

# build_image NAME: localhost/NAME from scratch holding /payload.bin (random).
build_image() {
  local name=$1 ctr
  head -c $((64 * 1024 + RANDOM)) /dev/urandom >"$E2E_TMP/payload-$name"
  ctr=$(timeout "$E2E_CLIENT_TIMEOUT" buildah from scratch) || fail "buildah from scratch failed"
  run_client "copy-$name" buildah copy "$ctr" "$E2E_TMP/payload-$name" /payload.bin
  run_client "config-$name" buildah config --label "berth.e2e=$name" "$ctr"
  run_client "commit-$name" buildah commit --rm --format oci "$ctr" "localhost/$name"
}

# podman_pull_digest AUTHFILE REF DIGEST: removes the name REF locally,
# podman pulls it with AUTHFILE and checks that podman recorded REPO@DIGEST
# (.RepoDigests: .Digest stays the first digest the image was stored under,
# e.g. the one buildah committed when the same image is also local).
podman_pull_digest() {
  local af=$1 ref=$2 digest=$3 n=pull-$RANDOM
  podman untag "$ref" "$ref" >/dev/null 2>&1 || podman rmi -f "$ref" >/dev/null 2>&1 || true
  ! podman image exists "$ref" || fail "could not remove the local $ref before pulling it"
  run_client "$n" podman pull --tls-verify=false --authfile "$af" "$ref"
  run_client "$n-inspect" podman image inspect "$ref"
  jq -e --arg d "${ref%:*}@$digest" '.[0].RepoDigests | index($d)' "$E2E_TMP/$n-inspect.log" >/dev/null ||
    fail "podman image inspect .RepoDigests of $ref lacks ${ref%:*}@$digest: $(jq -c '.[0].RepoDigests' "$E2E_TMP/$n-inspect.log")"
}

# audit_fetch FILE: every audit-log entry, all pages, as one JSON array.
audit_fetch() {
  local out=$1 page=1 n
  echo '[]' >"$out"
  while :; do
    http GET "$API/audit-logs?page=$page&page_size=100"
    expect_status 200
    n=$(jq length "$HTTP_BODY")
    jq -s '.[0] + .[1]' "$out" "$HTTP_BODY" >"$out.tmp" && mv "$out.tmp" "$out"
    ((n == 100)) || break
    page=$((page + 1))
  done
}

# audit_expect FILE JQ_FILTER WHAT: some entry of FILE satisfies JQ_FILTER.
audit_expect() {
  local f=$1 filter=$2 what=$3
  jq -e "[.[] | select($filter)] | length > 0" "$f" >/dev/null || {
    echo "--- audit log:" >&2
    jq -c '.[] | [.username, .operation, .operation_result, .resource_type, .resource]' "$f" | head -60 >&2
    fail "the audit log has no entry for: $what (filter: $filter)"
  }
}
