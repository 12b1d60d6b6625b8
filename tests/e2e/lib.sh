# Shared helpers for Berth's end-to-end tests: real clients (skopeo, podman,
# buildah, curl) against a live berthd. Sourced by every test script, which is
# run as `bash <script> /path/to/berthd`.
#
# What it gives a test:
#   berthd_start [DATA_DIR] / berthd_stop / berthd_kill9   one berthd on port 0;
#       sets REG (127.0.0.1:PORT), REG_URL, BERTHD_PID, BERTHD_LOG (JSON stderr)
#       berthd authenticates /v2: the initial administrator ($E2E_USER,
#       password $E2E_PASSWORD, set through BERTH_ADMIN_PASSWORD) is used by
#       curl (Basic) and by the clients (through the auth file).
#       With E2E_S3_JSON (tests/s3's radosgw fixture) berthd keeps blobs in S3.
#   containers_setup [REG...]   isolated vfs storage, registries.conf, auth file
#   make_image DIR TAG SIZE...  an OCI layout with random gzip'd layers (prints digest)
#   push_layout DIR TAG REPO:TAG [skopeo args]    prints the pushed manifest digest
#   pull_verify REPO_REF DIGEST [LAYOUT]          skopeo pull to dir: + digest checks
#   http METHOD URL_PATH [curl args]              sets HTTP_STATUS, HTTP_HEADERS, HTTP_BODY
#   hdr NAME / expect_status CODE... / expect_error CODE / expect_eq A B WHAT
#   fail MSG                    prints context (stack, last HTTP exchange, log) and exits 1
#   bg_start NAME CMD...        background job, killed at cleanup; bg_wait NAME sets BG_RC
# Everything lives under E2E_TMP, removed at exit whatever happened.

set -eEuo pipefail
shopt -s inherit_errexit 2>/dev/null || true
export LC_ALL=C

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_NAME=$(basename "$0" .sh)
PY=/usr/bin/python3
HELPER="$E2E_DIR/e2e_helper.py"

BERTHD_BIN=${1:-}
if [[ -z $BERTHD_BIN || ! -x $BERTHD_BIN ]]; then
  echo "usage: bash $0 /path/to/berthd (got '${BERTHD_BIN}')" >&2
  exit 2
fi
BERTHD_BIN=$(realpath "$BERTHD_BIN")
for tool in skopeo podman buildah curl jq setpriv sha256sum "$PY"; do
  command -v "$tool" >/dev/null || { echo "$E2E_NAME: required tool '$tool' is missing" >&2; exit 1; }
done

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/berth-e2e-$E2E_NAME.XXXXXX")
BERTHD_PID=""
BERTHD_STARTS=0
BERTHD_LOG=""
BERTHD_OUT=""
REG=""
REG_URL=""
HTTP_STATUS=""
HTTP_HEADERS="$E2E_TMP/http.headers"
HTTP_BODY="$E2E_TMP/http.body"
HTTP_LAST=""
HTTP_AUTH=1
E2E_USER=admin
E2E_PASSWORD="E2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
declare -A BG_PIDS=()
E2E_T0=$SECONDS

# Timeouts (seconds): generous, the machine is small and shared.
: "${E2E_CLIENT_TIMEOUT:=180}"
: "${E2E_START_TIMEOUT:=60}"

log() { printf '[%s %3ds] %s\n' "$E2E_NAME" $((SECONDS - E2E_T0)) "$*" >&2; }

fail() {
  local i
  # A failure inside $(...) has already been reported by the subshell.
  if [[ -e $E2E_TMP/.failed ]]; then
    echo "FAIL [$E2E_NAME]: (see above) $*" >&2
    exit 1
  fi
  : >"$E2E_TMP/.failed"
  {
    echo
    echo "FAIL [$E2E_NAME]: $*"
    for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
      echo "  at ${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]} in ${FUNCNAME[$i]}"
    done
    if [[ -n $HTTP_LAST ]]; then
      echo "--- last HTTP exchange: $HTTP_LAST -> $HTTP_STATUS"
      [[ -f $HTTP_HEADERS ]] && tr -d '\r' <"$HTTP_HEADERS" | sed 's/^/  < /'
      [[ -f $HTTP_BODY ]] && head -c 2000 "$HTTP_BODY" | sed 's/^/  | /' && echo
    fi
    if [[ -n $BERTHD_LOG && -f $BERTHD_LOG ]]; then
      echo "--- last lines of berthd's log ($BERTHD_LOG):"
      tail -n 25 "$BERTHD_LOG" | sed 's/^/  /'
    fi
  } >&2
  exit 1
}

e2e_cleanup() {
  local rc=$?
  set +e
  trap - ERR
  local name
  for name in "${!BG_PIDS[@]}"; do
    kill -KILL "${BG_PIDS[$name]}" 2>/dev/null
  done
  if [[ -n $BERTHD_PID ]] && kill -0 "$BERTHD_PID" 2>/dev/null; then
    kill -TERM "$BERTHD_PID" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$BERTHD_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$BERTHD_PID" 2>/dev/null
  fi
  wait 2>/dev/null
  if [[ -d $E2E_TMP/containers ]]; then
    # vfs layers are plain directories, but be sure nothing is left mounted.
    grep -F " $E2E_TMP/" /proc/self/mounts | awk '{print $2}' | sort -r |
      while read -r m; do umount -l "$m" 2>/dev/null; done
  fi
  if [[ $rc -ne 0 && -n ${E2E_KEEP_TMP:-} ]]; then
    echo "$E2E_NAME: keeping $E2E_TMP" >&2
  else
    rm -rf "$E2E_TMP"
  fi
  if [[ $rc -eq 0 ]]; then
    log "PASS ($((SECONDS - E2E_T0)) s)"
  fi
  exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM
trap 'fail "command failed (exit $?): $BASH_COMMAND"' ERR

# ---------------------------------------------------------------- berthd ----

# berthd_start [DATA_DIR]: starts berthd on a free port and waits for its one
# stdout line. berthd dies with this script even if the script is SIGKILLed.
berthd_start() {
  local data=${1:-$E2E_TMP/data}
  BERTHD_STARTS=$((BERTHD_STARTS + 1))
  BERTHD_OUT=$E2E_TMP/berthd.$BERTHD_STARTS.stdout
  BERTHD_LOG=$E2E_TMP/berthd.$BERTHD_STARTS.log
  local config=""
  if [[ -n ${E2E_S3_JSON:-} ]]; then
    # Blobs in S3 (tests/s3's radosgw): the same suite, storage.driver s3,
    # under a key prefix of this run's own; E2E_S3_REDIRECT=true for 307s.
    config=$E2E_TMP/berth-s3.yml
    [[ -f $config ]] || jq -r --arg prefix "e2e-$E2E_NAME-$$-$RANDOM" --arg redirect "${E2E_S3_REDIRECT:-false}" '
      "storage:\n  driver: s3\n  config:\n" +
      "    endpoint: \(.endpoint)\n    region: \(.region)\n    bucket: \(.bucket)\n" +
      "    access_key: \(.access_key)\n    secret_key: \(.secret_key)\n" +
      "    force_path_style: true\n    root_prefix: \($prefix)\n" +
      "    multipart_chunk_size: 5242880\n    redirect: \($redirect)\n"' "$E2E_S3_JSON" >"$config" ||
      fail "cannot read $E2E_S3_JSON"
    # More driver settings, as YAML lines indented under storage.config.
    [[ -z ${E2E_S3_EXTRA_CONFIG:-} ]] || printf '%s\n' "$E2E_S3_EXTRA_CONFIG" >>"$config"
  fi
  (
    unset BERTH_CONFIG BERTH_PLUGIN_DIRS BERTH_METADATA_DRIVER BERTH_POSTGRES_DSN BERTH_EXTERNAL_URL
    [[ -z $config ]] || export BERTH_CONFIG=$config
    cd "$E2E_TMP"
    BERTH_LISTEN=127.0.0.1:0 BERTH_DATA_DIR=$data BERTH_LOG_LEVEL=info \
      BERTH_ADMIN_PASSWORD=$E2E_PASSWORD exec setpriv --pdeathsig KILL -- "$BERTHD_BIN" >"$BERTHD_OUT" 2>"$BERTHD_LOG"
  ) &
  BERTHD_PID=$!
  local deadline=$((SECONDS + E2E_START_TIMEOUT)) line=""
  while :; do
    if [[ -s $BERTHD_OUT ]] && line=$(grep -m1 ' listening on http://' "$BERTHD_OUT"); then
      break
    fi
    if ! kill -0 "$BERTHD_PID" 2>/dev/null; then
      wait "$BERTHD_PID" || true
      fail "berthd exited before it was listening; stdout: $(cat "$BERTHD_OUT")"
    fi
    ((SECONDS < deadline)) || fail "berthd did not print its listening line within ${E2E_START_TIMEOUT} s"
    sleep 0.05
  done
  [[ $line =~ ^berthd\ [0-9][0-9.]*\ listening\ on\ http://(127\.0\.0\.1:[0-9]+)\ \(data\ in\ (.*)\)$ ]] ||
    fail "unexpected listening line: '$line'"
  REG=${BASH_REMATCH[1]}
  REG_URL=http://$REG
  [[ ${BASH_REMATCH[2]} == "$data" ]] || fail "listening line names data dir '${BASH_REMATCH[2]}', expected '$data'"
  log "berthd #$BERTHD_STARTS (pid $BERTHD_PID) listening on $REG_URL, data in $data"
}

# berthd_stop: SIGTERM, then insists on a clean exit with status 0 and on
# exactly one line ever printed on stdout.
berthd_stop() {
  [[ -n $BERTHD_PID ]] || return 0
  kill -TERM "$BERTHD_PID"
  local deadline=$((SECONDS + 60))
  while kill -0 "$BERTHD_PID" 2>/dev/null; do
    ((SECONDS < deadline)) || fail "berthd did not stop within 60 s of SIGTERM"
    sleep 0.1
  done
  local rc=0
  wait "$BERTHD_PID" || rc=$?
  BERTHD_PID=""
  [[ $rc -eq 0 ]] || fail "berthd exited with status $rc after SIGTERM"
  local lines
  lines=$(wc -l <"$BERTHD_OUT")
  [[ $lines -eq 1 ]] || fail "berthd printed $lines lines on stdout, expected exactly 1: $(cat "$BERTHD_OUT")"
}

berthd_kill9() {
  kill -KILL "$BERTHD_PID"
  wait "$BERTHD_PID" 2>/dev/null || true
  log "berthd (pid $BERTHD_PID) killed with SIGKILL"
  BERTHD_PID=""
}

# access_log_count METHOD PATH STATUS [LOG]: how many access-log lines match.
access_log_count() {
  local log=${4:-$BERTHD_LOG}
  jq -R --arg m "$1" --arg p "$2" --argjson s "$3" \
    'fromjson? | select(.msg == "request" and .method == $m and .path == $p and .status == $s)' \
    "$log" | jq -s length
}

# ------------------------------------------------------------------ HTTP ----

# http METHOD PATH [curl args...]: one request to berthd (PATH starts with /,
# or is a full http:// URL), as the administrator unless HTTP_AUTH=0. Sets
# HTTP_STATUS; headers/body in files.
http() {
  local method=$1 path=$2
  shift 2
  local url=$path
  [[ $url == http://* ]] || url=$REG_URL$path
  HTTP_LAST="$method $url"
  local how=(-X "$method")
  [[ $method == HEAD ]] && how=(--head)
  [[ $HTTP_AUTH == 1 ]] && how+=(-u "$E2E_USER:$E2E_PASSWORD")
  HTTP_STATUS=$(curl -sS --max-time 120 "${how[@]}" -o "$HTTP_BODY" -D "$HTTP_HEADERS" \
    -w '%{http_code}' "$@" "$url") || fail "curl $method $url failed"
}

# hdr NAME: a header of the last response ("" if absent).
hdr() {
  tr -d '\r' <"$HTTP_HEADERS" | awk -v n="$(echo "$1" | tr 'A-Z' 'a-z')" '
    { i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }'
}

expect_status() {
  local s
  for s in "$@"; do [[ $HTTP_STATUS == "$s" ]] && return 0; done
  fail "expected HTTP status $* for $HTTP_LAST, got $HTTP_STATUS"
}

# expect_error CODE: the last response is an OCI error whose first code is CODE.
expect_error() {
  local code
  code=$(jq -r '.errors[0].code // empty' "$HTTP_BODY" 2>/dev/null) || code=""
  [[ $code == "$1" ]] || fail "expected error code $1 for $HTTP_LAST, got '${code}'"
}

expect_eq() {
  [[ "$1" == "$2" ]] || fail "$3: got '$1', expected '$2'"
}

sha256_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# fetch_blob REPO DIGEST: GETs a blob and checks status, size and sha256.
fetch_blob() {
  http GET "/v2/$1/blobs/$2"
  expect_status 200
  expect_eq "$(sha256_of "$HTTP_BODY")" "$2" "sha256 of blob fetched from $1"
  expect_eq "$(hdr Docker-Content-Digest)" "$2" "Docker-Content-Digest of blob $2"
}

# ------------------------------------------------------------- clients ------

# containers_setup [EXTRA_REGISTRY...]: private container storage and
# configuration for skopeo/podman/buildah; REG (and any extra) is insecure.
containers_setup() {
  local c=$E2E_TMP/containers
  mkdir -p "$c/graph" "$c/run" "$c/tmp" "$c/volumes"
  cat >"$c/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$c/graph"
runroot = "$c/run"
EOF
  {
    echo 'unqualified-search-registries = []'
    local r
    for r in "$REG" "$@"; do
      [[ -n $r ]] || continue
      printf '[[registry]]\nlocation = "%s"\ninsecure = true\n' "$r"
    done
  } >"$c/registries.conf"
  cat >"$c/containers.conf" <<EOF
[engine]
tmp_dir = "$c/tmp"
volume_path = "$c/volumes"
events_logger = "file"
events_logfile_path = "$c/events.log"
EOF
  local creds
  creds=$(printf '%s:%s' "$E2E_USER" "$E2E_PASSWORD" | base64 -w0)
  for r in "$REG" "$@"; do
    if [[ -n $r ]]; then printf '%s\n' "$r"; fi
  done | jq -R . | jq -s --arg a "$creds" '{auths: (map({key: ., value: {auth: $a}}) | from_entries)}' \
    >"$c/auth.json"
  # skopeo's blob-info cache (which blobs it saw in which repository, what it
  # uses to decide on cross-repository mounts) is system-wide for root and
  # loses records when many clients write it at once. A private one per test:
  # c/image puts it under XDG_DATA_HOME when it believes it is not root.
  mkdir -p "$c/bin" "$c/xdg"
  local real_skopeo
  real_skopeo=$(PATH=${PATH//$c\/bin:/} command -v skopeo)
  printf '#!/bin/sh\nexport _CONTAINERS_ROOTLESS_UID=65534 XDG_DATA_HOME="%s"\nexec "%s" "$@"\n' \
    "$c/xdg" "$real_skopeo" >"$c/bin/skopeo"
  chmod +x "$c/bin/skopeo"
  [[ :$PATH: == *":$c/bin:"* ]] || export PATH="$c/bin:$PATH"
  export CONTAINERS_STORAGE_CONF=$c/storage.conf
  export CONTAINERS_REGISTRIES_CONF=$c/registries.conf
  export CONTAINERS_CONF=$c/containers.conf
  export REGISTRY_AUTH_FILE=$c/auth.json
  unset DOCKER_CONFIG REGISTRY_AUTH_FILE_OVERRIDE 2>/dev/null || true
}

# run_client LOGNAME CMD...: runs a client with a timeout, output to a log
# file that is shown if it fails.
run_client() {
  local name=$1
  shift
  local out=$E2E_TMP/$name.log rc=0
  timeout "$E2E_CLIENT_TIMEOUT" "$@" >"$out" 2>&1 || rc=$?
  if [[ $rc -ne 0 ]]; then
    sed 's/^/  | /' "$out" | tail -n 40 >&2
    fail "'$*' exited with status $rc"
  fi
}

# make_image DIR TAG SIZE...: OCI layout with one random gzip'd layer per SIZE.
make_image() {
  local dir=$1 tag=$2
  shift 2
  "$PY" "$HELPER" make-layout "$dir" "$tag" "$@" || fail "make-layout $dir failed"
}

# push_layout LAYOUT TAG DEST_REF [skopeo args]: prints the pushed digest and
# checks it equals the layout's manifest digest (skopeo must not rewrite it).
push_layout() {
  local layout=$1 tag=$2 dest=$3
  shift 3
  local df=$E2E_TMP/digest.$RANDOM$RANDOM
  run_client "push-${dest//[^a-z0-9]/_}" skopeo copy --retry-times 0 --dest-tls-verify=false \
    --digestfile "$df" "$@" "oci:$layout:$tag" "docker://$dest"
  local pushed want
  pushed=$(cat "$df")
  want=$(jq -r .manifest "$layout/e2e-image.json")
  expect_eq "$pushed" "$want" "digest of $dest pushed from $layout"
  echo "$pushed"
}

# pull_verify REF DIGEST [LAYOUT]: skopeo pulls REF (registry/repo:tag or
# @digest) into a dir: and checks every digest (see e2e_helper.py verify-dir).
pull_verify() {
  local ref=$1 digest=$2 layout=${3:-}
  local dir=$E2E_TMP/pull.$RANDOM$RANDOM
  run_client "pull-${ref//[^a-z0-9]/_}" skopeo copy --retry-times 0 --src-tls-verify=false \
    "docker://$ref" "dir:$dir"
  "$PY" "$HELPER" verify-dir "$dir" "$digest" $layout >&2 || fail "verification of $ref failed"
  rm -rf "$dir"
}

# ----------------------------------------------------------- background -----

# bg_start NAME CMD...: runs CMD in the background (output in $E2E_TMP/NAME.log).
bg_start() {
  local name=$1
  shift
  "$@" >"$E2E_TMP/$name.log" 2>&1 &
  BG_PIDS[$name]=$!
}

bg_running() { kill -0 "${BG_PIDS[$1]}" 2>/dev/null; }

# bg_wait NAME [TIMEOUT]: waits for a background job; sets BG_RC to its exit
# status (not a command substitution: only this shell can wait for its jobs).
bg_wait() {
  local name=$1 timeout=${2:-$E2E_CLIENT_TIMEOUT}
  local deadline=$((SECONDS + timeout))
  while bg_running "$name"; do
    ((SECONDS < deadline)) || fail "background job $name still running after ${timeout} s"
    sleep 0.1
  done
  BG_RC=0
  wait "${BG_PIDS[$name]}" || BG_RC=$?
  unset "BG_PIDS[$name]"
}
