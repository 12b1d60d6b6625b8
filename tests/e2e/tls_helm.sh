#!/usr/bin/env bash
# e2e_tls_helm: helm 3.17 against berthd serving HTTPS (tls.cert/tls.key) with
# verification on: a CA made here, `helm registry login`, `helm push` and
# `helm pull` with --ca-file, byte-identical chart back; without the CA, and
# against a certificate for another host name, helm refuses.
#
# helm resolves registries the containerd way: a loopback host (localhost,
# 127.0.0.1) is always spoken to in plain HTTP. So helm runs in a private
# mount namespace whose /etc/hosts names 127.0.0.1 berth-registry.test, and
# the certificate is for that name. The CA comes from
# berthd itself (GET /api/v2.0/systeminfo/getcert), as Harbor users fetch it.
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/tools.sh"

ensure_helm
command -v openssl >/dev/null || fail "openssl is missing (scripts/install-deps.sh)"

PKI=$E2E_TMP/pki
mkdir -p "$PKI"
ossl() { openssl "$@" >>"$PKI/openssl.log" 2>&1 || fail "openssl $1 failed: $(tail -5 "$PKI/openssl.log")"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ca.key" \
  -out "$PKI/ca.pem" -days 2 -subj /CN=e2e-tls-ca
issue() {  # NAME SAN
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$1.key" \
    -out "$PKI/$1.csr" -subj "/CN=$1" -addext "subjectAltName=$2"
  ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -days 2 \
    -copy_extensions copy -out "$PKI/$1.pem"
}
NAME=berth-registry.test
issue server "DNS:$NAME"
issue wronghost DNS:wrong.example
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$NAME" >"$E2E_TMP/hosts"
# helm with $NAME resolving to 127.0.0.1, nothing changed outside its namespace.
HELM_NS=(unshare --mount sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$E2E_TMP/hosts" "$HELM")

# tls_berthd_start CERT_NAME: berthd on HTTPS; sets REG, BERTHD_PID (cleanup stops it).
tls_berthd_start() {
  BERTHD_STARTS=$((BERTHD_STARTS + 1))
  BERTHD_OUT=$E2E_TMP/berthd.$BERTHD_STARTS.stdout
  BERTHD_LOG=$E2E_TMP/berthd.$BERTHD_STARTS.log
  (
    unset BERTH_CONFIG BERTH_PLUGIN_DIRS BERTH_METADATA_DRIVER BERTH_POSTGRES_DSN BERTH_EXTERNAL_URL
    cd "$E2E_TMP"
    BERTH_LISTEN=127.0.0.1:0 BERTH_DATA_DIR=$E2E_TMP/data.$BERTHD_STARTS BERTH_LOG_LEVEL=info \
      BERTH_ADMIN_PASSWORD=$E2E_PASSWORD BERTH_TLS_CERT=$PKI/$1.pem BERTH_TLS_KEY=$PKI/$1.key \
      BERTH_TLS_CA=$PKI/ca.pem exec setpriv --pdeathsig KILL -- "$BERTHD_BIN" >"$BERTHD_OUT" 2>"$BERTHD_LOG"
  ) &
  BERTHD_PID=$!
  local deadline=$((SECONDS + E2E_START_TIMEOUT)) line=""
  until [[ -s $BERTHD_OUT ]] && line=$(grep -m1 ' listening on https://' "$BERTHD_OUT"); do
    kill -0 "$BERTHD_PID" 2>/dev/null || fail "berthd exited before listening: $(tail -5 "$BERTHD_LOG")"
    ((SECONDS < deadline)) || fail "berthd did not listen within ${E2E_START_TIMEOUT} s"
    sleep 0.05
  done
  [[ $line =~ listening\ on\ https://127\.0\.0\.1:([0-9]+) ]] || fail "unexpected listening line: '$line'"
  PORT=${BASH_REMATCH[1]}
  REG=$NAME:$PORT
  log "berthd #$BERTHD_STARTS (pid $BERTHD_PID) listening on https://$REG with certificate $1"
}

export HELM_CONFIG_HOME=$E2E_TMP/helm/config HELM_CACHE_HOME=$E2E_TMP/helm/cache
export HELM_DATA_HOME=$E2E_TMP/helm/data HELM_REGISTRY_CONFIG=$E2E_TMP/helm/registry.json
export KUBECONFIG=$E2E_TMP/helm/no-kubeconfig
unset HELM_DRIVER HELM_NAMESPACE HELM_KUBECONTEXT HELM_DEBUG 2>/dev/null || true
mkdir -p "$HELM_CONFIG_HOME" "$HELM_CACHE_HOME" "$HELM_DATA_HOME"
helm_fails() {  # NAME PATTERN ARGS...
  local name=$1 pattern=$2
  shift 2
  if timeout "$E2E_CLIENT_TIMEOUT" "${HELM_NS[@]}" "$@" >"$E2E_TMP/$name.log" 2>&1; then
    fail "'helm $*' succeeded, expected a failure"
  fi
  grep -Eqi "$pattern" "$E2E_TMP/$name.log" || fail "'helm $*' failed without /$pattern/: $(cat "$E2E_TMP/$name.log")"
}

tls_berthd_start server
# The CA as a client would fetch it from berthd (trusting it on first use).
curl -sS --insecure -o "$E2E_TMP/fetched-ca.pem" "https://127.0.0.1:$PORT/api/v2.0/systeminfo/getcert" ||
  fail "getcert failed"
cmp -s "$E2E_TMP/fetched-ca.pem" "$PKI/ca.pem" || fail "getcert did not return the CA"
CA=$E2E_TMP/fetched-ca.pem

mkdir -p "$E2E_TMP/src"
run_client create "${HELM_NS[@]}" create "$E2E_TMP/src/tls-chart"
run_client package "${HELM_NS[@]}" package "$E2E_TMP/src/tls-chart" -d "$E2E_TMP/pkg"
PKG=$(ls "$E2E_TMP"/pkg/tls-chart-*.tgz)
VERSION=$(basename "$PKG" .tgz)
VERSION=${VERSION#tls-chart-}

# (helm 3.17.3's `registry login` completes without the CA: it does not
# verify the server there, so no refusal is asserted for it. Push and pull do.)
run_client login "${HELM_NS[@]}" registry login "$REG" -u "$E2E_USER" -p "$E2E_PASSWORD" --ca-file "$CA"
helm_fails push-no-ca 'x509|certificate' push "$PKG" "oci://$REG/library"
run_client push "${HELM_NS[@]}" push "$PKG" "oci://$REG/library" --ca-file "$CA"
grep -q '^Digest: sha256:' "$E2E_TMP/push.log" || fail "helm push printed no digest: $(cat "$E2E_TMP/push.log")"
mkdir -p "$E2E_TMP/pulled"
run_client pull "${HELM_NS[@]}" pull "oci://$REG/library/tls-chart" --version "$VERSION" --ca-file "$CA" \
  -d "$E2E_TMP/pulled"
cmp -s "$PKG" "$E2E_TMP/pulled/$(basename "$PKG")" || fail "the pulled chart differs from the pushed one"
log "helm login/push/pull over verified HTTPS: $(basename "$PKG")"
berthd_stop

tls_berthd_start wronghost
helm_fails login-wrong-host 'x509|certificate is valid for' \
  registry login "$REG" -u "$E2E_USER" -p "$E2E_PASSWORD" --ca-file "$PKI/ca.pem"
helm_fails pull-wrong-host 'x509|certificate is valid for' \
  pull "oci://$REG/library/tls-chart" --version "$VERSION" --ca-file "$PKI/ca.pem" -d "$E2E_TMP/pulled2"
log "helm refused a certificate for another host name"
berthd_stop
log "PASS"
