#!/usr/bin/env bash
# Big blob GET over HTTPS next to plain HTTP: one berthd (Release build if
# build-bench/ exists, else build/) serves plain HTTP, another the same build
# with tls.cert/tls.key (a CA and certificate made here); the same random blob
# is uploaded to each, then `curl -o /dev/null` fetches it RUNS times from
# each, alternating. Prints MiB/s per run and the medians.
#
#   scripts/bench/tls_blob_get.sh [MIB (default 1024)] [RUNS (default 5)]
# Plain HTTP goes out through sendfile(2); HTTPS through OpenSSL (pread into a
# 256 KiB buffer, SSL_write), so the ratio is the cost of encryption and the
# copy. Uses only loopback.
set -euo pipefail
cd "$(dirname "$0")/../.."
MIB=${1:-1024}
RUNS=${2:-5}
BERTHD=${BERTHD:-}
if [[ -z $BERTHD ]]; then
  for b in build-bench/bin/berthd build/bin/berthd; do [[ -x $b ]] && { BERTHD=$PWD/$b; break; }; done
fi
[[ -x $BERTHD ]] || { echo "no berthd built (build-bench/ or build/)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/berth-tls-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -days 1 -subj /CN=bench-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -copy_extensions copy \
  -out srv.pem 2>/dev/null

PW=Bench-Admin-1
start() {  # NAME [VAR=value...] -> prints the base URL
  local name=$1
  shift
  env BERTH_LISTEN=127.0.0.1:0 BERTH_DATA_DIR="$WORK/$name" BERTH_ADMIN_PASSWORD=$PW \
    BERTH_LOG_LEVEL=warn "$@" "$BERTHD" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 1 300); do
    grep -q "listening on" "$WORK/$name.out" 2>/dev/null && break
    sleep 0.05
  done
  grep -o 'https\?://127.0.0.1:[0-9]*' "$WORK/$name.out" | head -1
}
PLAIN=$(start plain)
TLS=$(start tls BERTH_TLS_CERT="$WORK/srv.pem" BERTH_TLS_KEY="$WORK/srv.key")
head -c "$((MIB * 1024 * 1024))" /dev/urandom >blob
DIGEST="sha256:$(sha256sum blob | cut -d' ' -f1)"
for base in "$PLAIN" "$TLS"; do   # POST, then one streaming PUT ?digest=
  loc=$(curl -sS --cacert ca.pem -u admin:$PW -X POST -D - -o /dev/null \
    "$base/v2/library/bench/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ $loc == /* ]] && loc=$base$loc
  [[ $loc == *\?* ]] && sep='&' || sep='?'
  code=$(curl -sS --cacert ca.pem -u admin:$PW -o /dev/null -w "%{http_code}" -T blob \
    -H 'Content-Type: application/octet-stream' "$loc${sep}digest=$DIGEST")
  [[ $code == 201 ]] || { echo "upload to $base answered $code" >&2; exit 1; }
done
rm -f blob
get() {  # BASE -> MiB/s
  curl -sS --cacert ca.pem -u admin:$PW -o /dev/null -w '%{speed_download}' \
    "$1/v2/library/bench/blobs/$DIGEST" | awk '{printf "%.0f", $1 / 1048576}'
}
get "$PLAIN" >/dev/null; get "$TLS" >/dev/null   # page cache, connections warm
plain=() tls=()
for i in $(seq 1 "$RUNS"); do
  plain+=("$(get "$PLAIN")")
  tls+=("$(get "$TLS")")
  echo "run $i: http ${plain[-1]} MiB/s, https ${tls[-1]} MiB/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(median "${plain[@]}")
mt=$(median "${tls[@]}")
echo "${MIB} MiB blob GET, median of $RUNS: http (sendfile) $mp MiB/s, https $mt MiB/s, https/http $(awk -v a="$mt" -v b="$mp" 'BEGIN {printf "%.2f", a / b}')"
