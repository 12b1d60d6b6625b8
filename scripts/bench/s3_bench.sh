#!/usr/bin/env bash
# s3_bench: 1 GiB blob GET through berthd on storage-s3, with and without
# redirect, on a throwaway radosgw (tests/s3/radosgw.py) on this machine's
# loopback. Prints each run's seconds, the medians and redirect/proxy ratio.
#
#   scripts/bench/s3_bench.sh [BERTHD]        # default build/bin/berthd
#   BENCH_S3_JSON=DIR/s3.json ...             # use a radosgw already running
#   BENCH_RUNS=5 BENCH_MIB=1024 ...           # knobs (defaults shown)
#
# One blob is pushed once (a monolithic PUT); two berthd processes share its
# bucket prefix and metadata-free reads are not possible, so the blob is
# pushed to each berthd (same bytes, same key: the second push is a no-op in
# S3). Each GET is `curl -L` to /dev/null, timed by curl (time_total).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BERTHD=$(realpath "${1:-$ROOT/build/bin/berthd}")
RUNS=${BENCH_RUNS:-5}
MIB=${BENCH_MIB:-1024}
[[ -x $BERTHD ]] || { echo "no berthd at $BERTHD (build it first)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/berth-s3-bench.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${BENCH_S3_JSON:-} ]] || /usr/bin/python3 "$ROOT/tests/s3/radosgw.py" stop "$WORK/rgw" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

S3_JSON=${BENCH_S3_JSON:-}
if [[ -z $S3_JSON ]]; then
  /usr/bin/python3 "$ROOT/tests/s3/radosgw.py" start "$WORK/rgw" >&2
  S3_JSON=$WORK/rgw/s3.json
fi
PREFIX=bench-$$-$RANDOM
PASS=Bench-$RANDOM$RANDOM

start_berthd() {  # NAME REDIRECT -> sets URL_<NAME>
  local name=$1 redirect=$2 dir=$WORK/$1
  mkdir -p "$dir"
  jq -r --arg p "$PREFIX" --arg r "$redirect" '"storage:\n  driver: s3\n  config:\n" +
    "    endpoint: \(.endpoint)\n    region: \(.region)\n    bucket: \(.bucket)\n" +
    "    access_key: \(.access_key)\n    secret_key: \(.secret_key)\n" +
    "    force_path_style: true\n    root_prefix: \($p)\n    redirect: \($r)\n"' "$S3_JSON" >"$dir/berth.yml"
  (cd "$dir" && BERTH_CONFIG=$dir/berth.yml BERTH_LISTEN=127.0.0.1:0 BERTH_DATA_DIR=$dir/data \
    BERTH_LOG_LEVEL=warn BERTH_ADMIN_PASSWORD=$PASS exec "$BERTHD" >"$dir/out" 2>"$dir/err") &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    grep -q ' listening on ' "$dir/out" 2>/dev/null && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  local url
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$dir/out" | head -1 || true)
  [[ -n $url ]] || { echo "berthd $name did not start: $(tail -3 "$dir/err")" >&2; exit 1; }
  printf -v "URL_$name" '%s' "$url"
}

echo "writing a ${MIB} MiB random blob" >&2
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/blob"
DIGEST=sha256:$(sha256sum "$WORK/blob" | cut -d' ' -f1)

push() {  # URL
  local loc
  loc=$(curl -sS -u "admin:$PASS" -X POST -D - -o /dev/null "$1/v2/library/bench/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ $loc == http* ]] || loc=$1$loc
  local sep='?'
  [[ $loc == *\?* ]] && sep='&'
  local code
  code=$(curl -sS -u "admin:$PASS" -X PUT -o /dev/null -w '%{http_code}' \
    -H 'Content-Type: application/octet-stream' -T "$WORK/blob" "$loc${sep}digest=$DIGEST")
  [[ $code == 201 ]] || { echo "push to $1 answered $code" >&2; exit 1; }
}

get_seconds() {  # URL -> seconds for one full GET (following redirects)
  curl -sS -L -u "admin:$PASS" -o /dev/null -w '%{time_total} %{http_code} %{size_download}\n' \
    "$1/v2/library/bench/blobs/$DIGEST"
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'; }

start_berthd proxy false
start_berthd redirect true
echo "pushing through both berthd (proxy: $URL_proxy, redirect: $URL_redirect)" >&2
t0=$(date +%s.%N)
push "$URL_proxy"
t1=$(date +%s.%N)
push "$URL_redirect"
printf 'push of %d MiB through berthd (multipart into S3): %.2f s\n' "$MIB" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"

# The redirect really happens (and the proxy really does not).
code=$(curl -sS -u "admin:$PASS" -o /dev/null -w '%{http_code}' "$URL_redirect/v2/library/bench/blobs/$DIGEST")
[[ $code == 307 ]] || { echo "redirect berthd answered $code, not 307" >&2; exit 1; }
code=$(curl -sS -u "admin:$PASS" -r 0-0 -o /dev/null -w '%{http_code}' "$URL_proxy/v2/library/bench/blobs/$DIGEST")
[[ $code == 206 ]] || { echo "proxy berthd answered $code to a range" >&2; exit 1; }

: >"$WORK/proxy.txt"
: >"$WORK/redirect.txt"
for i in $(seq 1 "$RUNS"); do  # alternate, so drift hits both alike
  for mode in proxy redirect; do
    url_var=URL_$mode
    read -r secs code size < <(get_seconds "${!url_var}")
    [[ $code == 200 && $size == $((MIB * 1024 * 1024)) ]] ||
      { echo "$mode GET: status $code, $size bytes" >&2; exit 1; }
    echo "$secs" >>"$WORK/$mode.txt"
    printf 'run %d %-8s %6.2f s  %7.1f MiB/s\n' "$i" "$mode" "$secs" "$(awk -v m="$MIB" -v s="$secs" 'BEGIN{print m/s}')"
  done
done
mp=$(median <"$WORK/proxy.txt")
mr=$(median <"$WORK/redirect.txt")
printf '\n%d MiB blob GET, median of %d: through berthd %.2f s (%.0f MiB/s); redirect to S3 %.2f s (%.0f MiB/s); redirect/proxy time ratio %.2f\n' \
  "$MIB" "$RUNS" "$mp" "$(awk -v m="$MIB" -v s="$mp" 'BEGIN{print m/s}')" \
  "$mr" "$(awk -v m="$MIB" -v s="$mr" 'BEGIN{print m/s}')" "$(awk -v a="$mr" -v b="$mp" 'BEGIN{print a/b}')"
