#!/usr/bin/env bash
# e2e_docker_manifest: the docker CLI's manifest commands, which talk to the
# registry themselves (no Docker engine runs here: DOCKER_HOST points at a
# socket nobody listens on). Every docker command tries HTTPS first and falls
# back to HTTP only on an HTTP status line, so request lines that a TLS
# ClientHello can parse into must get one. Two single-arch Docker schema 2
# images (amd64, arm64) pushed with skopeo into a private project; `docker
# login` (client side, credentials in a private DOCKER_CONFIG); `docker
# manifest create` / `annotate` (arm64 variant v8) / `push --purge` of a list
# into library, which cross-project mounts every blob (201s in the access log)
# and puts the children by digest; `docker manifest inspect` (plain and -v)
# and curl agree on the Docker manifest list: Content-Type, digest, both
# children by digest with their platforms, children byte-identical to the
# sources, their blobs served from library. A second list inside the source
# repository (no mounts); after `docker logout` the public list still
# inspects, the private image does not, and a push is refused.
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/tools.sh"

readonly DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
readonly DOCKER_LIST=application/vnd.docker.distribution.manifest.list.v2+json
readonly OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
readonly OCI_INDEX=application/vnd.oci.image.index.v1+json
readonly ACCEPT_ALL="$DOCKER_LIST, $DOCKER_MANIFEST, $OCI_INDEX, $OCI_MANIFEST"
readonly SRC=e2e-src/app

ensure_docker
DOCKER_MAJOR=$("$DOCKER" --version | sed -nE 's/^Docker version ([0-9]+)\..*/\1/p')
[[ $DOCKER_MAJOR =~ ^[0-9]+$ ]] || fail "cannot tell the version of $DOCKER: $("$DOCKER" --version 2>&1)"
berthd_start
containers_setup

export DOCKER_CONFIG=$E2E_TMP/docker
export DOCKER_HOST=unix://$E2E_TMP/docker/no-engine.sock
unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_API_VERSION 2>/dev/null || true
mkdir -p "$DOCKER_CONFIG"

# docker_ok NAME ARGS...: runs the docker CLI, which must succeed; stdout in
# $E2E_TMP/NAME.log, stderr in NAME.err (E2E_DOCKER_DEBUG=1 adds docker -D).
docker_ok() {
  local name=$1 rc=0
  shift
  timeout "$E2E_CLIENT_TIMEOUT" "$DOCKER" ${E2E_DOCKER_DEBUG:+-D} "$@" \
    >"$E2E_TMP/$name.log" 2>"$E2E_TMP/$name.err" || rc=$?
  if [[ $rc -ne 0 ]]; then
    cat "$E2E_TMP/$name.log" "$E2E_TMP/$name.err" | sed 's/^/  | /' | tail -n 40 >&2
    fail "'docker $*' exited with status $rc"
  fi
}

# docker_fails NAME PATTERN ARGS...: the docker CLI must fail saying PATTERN.
docker_fails() {
  local name=$1 pattern=$2
  shift 2
  if timeout "$E2E_CLIENT_TIMEOUT" "$DOCKER" "$@" </dev/null >"$E2E_TMP/$name.log" 2>&1; then
    fail "'docker $*' succeeded, expected a failure: $(cat "$E2E_TMP/$name.log")"
  fi
  grep -Eqi "$pattern" "$E2E_TMP/$name.log" ||
    fail "'docker $*' failed without saying /$pattern/: $(cat "$E2E_TMP/$name.log")"
}

# check_manifest_response DIGEST MEDIA_TYPE: the last response is that manifest.
check_manifest_response() {
  expect_status 200
  expect_eq "$(hdr Content-Type)" "$2" "Content-Type of manifest $1"
  expect_eq "$(hdr Docker-Content-Digest)" "$1" "Docker-Content-Digest of manifest $1"
  expect_eq "$(sha256_of "$HTTP_BODY")" "$1" "sha256 of the body of manifest $1"
  expect_eq "$(jq -r '.mediaType // empty' "$HTTP_BODY")" "$2" "mediaType field of manifest $1"
}

# ------------------------------------------------------ plain HTTP probe
# docker (like every Go client) tries HTTPS first on an insecure registry and
# falls back to HTTP only when the answer to its ClientHello starts "HTTP/".
# A ClientHello can happen to parse as a request line whose version is binary
# junk; that must still get an HTTP/1.1 status line, not the junk echoed.
log "TLS-looking request lines get an HTTP/1.1 400"
for line in '\x16\x03\x01 /\xaa \x03\x03' 'GET /v2/ HTTP/9' 'GET /v2/ SPDY/3.1'; do
  first=$("$PY" - "${REG##*:}" "$line" <<'EOF_PY'
import socket, sys
line = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
s.sendall(line + b"\r\nHost: x\r\n\r\n")
data = b""
while b"\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(repr(data.split(b"\r\n")[0])[2:-1])
EOF_PY
) || fail "probe with request line '$line' failed"
  [[ $first == "HTTP/1.1 400 "* ]] || fail "request line '$line' was answered with status line '$first', expected HTTP/1.1 400"
done

# ------------------------------------------------------ source images
log "two single-arch images (Docker schema 2) pushed with skopeo into a private project"
http POST /api/v2.0/projects -H 'Content-Type: application/json' \
  --data '{"project_name": "e2e-src", "metadata": {"public": "false"}}'
expect_status 201
E2E_IMAGE_ARCH=amd64 make_image "$E2E_TMP/amd64" v1 $((96 * 1024)) $((160 * 1024)) >/dev/null
E2E_IMAGE_ARCH=arm64 make_image "$E2E_TMP/arm64" v1 $((128 * 1024)) >/dev/null
declare -A SRC_DIGEST=()
for arch in amd64 arm64; do
  run_client "push-$arch" skopeo copy --retry-times 0 --dest-tls-verify=false --format v2s2 \
    --digestfile "$E2E_TMP/digest-$arch" "oci:$E2E_TMP/$arch:v1" "docker://$REG/$SRC:$arch"
  SRC_DIGEST[$arch]=$(cat "$E2E_TMP/digest-$arch")
  http GET "/v2/$SRC/manifests/$arch" -H "Accept: $ACCEPT_ALL"
  check_manifest_response "${SRC_DIGEST[$arch]}" "$DOCKER_MANIFEST"
  cp "$HTTP_BODY" "$E2E_TMP/src-$arch.json"
  if ((DOCKER_MAJOR < 23)); then
    # Older CLIs (Debian bookworm's docker.io is 20.10) push each child again
    # re-serialized the way docker itself writes manifests (json.MarshalIndent
    # with three spaces) without a tag, so a compact child (skopeo's) comes out
    # under another digest and the list then names a child the repository
    # lacks (MANIFEST_BLOB_UNKNOWN, rightly). Give such a CLI its own format.
    "$PY" -c 'import json, sys; sys.stdout.write(json.dumps(json.load(open(sys.argv[1])), indent=3))' \
      "$E2E_TMP/src-$arch.json" >"$E2E_TMP/src-$arch.indented.json"
    http PUT "/v2/$SRC/manifests/$arch" -H "Content-Type: $DOCKER_MANIFEST" \
      --data-binary "@$E2E_TMP/src-$arch.indented.json"
    expect_status 201
    SRC_DIGEST[$arch]=$(sha256_of "$E2E_TMP/src-$arch.indented.json")
    expect_eq "$(hdr Docker-Content-Digest)" "${SRC_DIGEST[$arch]}" "digest of the re-indented $arch manifest"
    mv "$E2E_TMP/src-$arch.indented.json" "$E2E_TMP/src-$arch.json"
  fi
done
d_amd=${SRC_DIGEST[amd64]} d_arm=${SRC_DIGEST[arm64]}
# Every blob the list's children need: configs and layers of both images.
nblobs=$(jq -s '[.[] | .config.digest, .layers[].digest] | unique | length' \
  "$E2E_TMP/src-amd64.json" "$E2E_TMP/src-arm64.json")
expect_eq "$nblobs" 5 "distinct blobs of the two source images"

# ---------------------------------------------------------------- login
log "docker login (client side, no engine)"
docker_fails login-bad 'unauthorized|401|incorrect|denied' \
  login "$REG" -u "$E2E_USER" -p "not-$E2E_PASSWORD"
printf '%s' "$E2E_PASSWORD" >"$E2E_TMP/password"
docker_ok login login "$REG" -u "$E2E_USER" --password-stdin <"$E2E_TMP/password"
grep -q "Login Succeeded" "$E2E_TMP/login.log" || fail "docker login did not say 'Login Succeeded': $(cat "$E2E_TMP/login.log")"
expect_eq "$(jq -r --arg r "$REG" '.auths[$r].auth // empty' "$DOCKER_CONFIG/config.json" | base64 -d)" \
  "$E2E_USER:$E2E_PASSWORD" "credentials docker login stored for $REG"

docker_ok inspect-src manifest inspect --insecure "$REG/$SRC:arm64"
jq -S . "$E2E_TMP/src-arm64.json" >"$E2E_TMP/want.json"
jq -S . "$E2E_TMP/inspect-src.log" | cmp -s - "$E2E_TMP/want.json" ||
  fail "docker manifest inspect $SRC:arm64 differs from the pushed manifest: $(cat "$E2E_TMP/inspect-src.log")"

# ------------------------------------------------- list in another project
LIST=$REG/library/e2e-multi:1
log "docker manifest create / annotate / push $LIST"
docker_ok create manifest create --insecure "$LIST" "$REG/$SRC:amd64" "$REG/$SRC:arm64"
docker_ok annotate manifest annotate "$LIST" "$REG/$SRC:arm64" --os linux --arch arm64 --variant v8
# The local list, before the push, already has both children and the variant.
docker_ok inspect-local manifest inspect "$LIST"
expect_eq "$(jq -c '[.manifests[] | [.digest, .platform.architecture, (.platform.variant // "")]] | sort' "$E2E_TMP/inspect-local.log")" \
  "$(jq -cn --arg a "$d_amd" --arg b "$d_arm" '[[$a, "amd64", ""], [$b, "arm64", "v8"]] | sort')" \
  "children of the local list"
mounts_before=$(access_log_count POST /v2/library/e2e-multi/blobs/uploads/ 201)
expect_eq "$mounts_before" 0 "mounts into library/e2e-multi before the push"
docker_ok push manifest push --insecure --purge "$LIST"
d_list=$(grep -Eo 'sha256:[0-9a-f]{64}' "$E2E_TMP/push.log" | tail -n 1) ||
  fail "docker manifest push printed no digest: $(cat "$E2E_TMP/push.log")"
[[ ! -e $DOCKER_CONFIG/manifests ]] || [[ -z $(find "$DOCKER_CONFIG/manifests" -type f) ]] ||
  fail "docker manifest push --purge left the local list: $(find "$DOCKER_CONFIG/manifests" -type f)"

log "the pushed list through curl"
http GET /v2/library/e2e-multi/manifests/1 -H "Accept: $ACCEPT_ALL"
check_manifest_response "$d_list" "$DOCKER_LIST"
list=$E2E_TMP/list.json
cp "$HTTP_BODY" "$list"
expect_eq "$(jq -r .schemaVersion "$list")" 2 "schemaVersion of the list"
expect_eq "$(jq '.manifests | length' "$list")" 2 "number of children in the list"
expect_eq "$(jq -c '[.manifests[] | [.digest, .mediaType, .platform.os, .platform.architecture, (.platform.variant // "")]] | sort' "$list")" \
  "$(jq -cn --arg a "$d_amd" --arg b "$d_arm" --arg mt "$DOCKER_MANIFEST" \
    '[[$a, $mt, "linux", "amd64", ""], [$b, $mt, "linux", "arm64", "v8"]] | sort')" \
  "children of library/e2e-multi:1 (digest, media type, platform)"
http HEAD /v2/library/e2e-multi/manifests/1 -H "Accept: $ACCEPT_ALL"
expect_status 200
expect_eq "$(hdr Content-Type)" "$DOCKER_LIST" "Content-Type of HEAD on the list"
expect_eq "$(hdr Docker-Content-Digest)" "$d_list" "Docker-Content-Digest of HEAD on the list"
expect_eq "$(hdr Content-Length)" "$(stat -c %s "$list")" "Content-Length of HEAD on the list"
http GET "/v2/library/e2e-multi/manifests/$d_list" -H "Accept: $DOCKER_LIST"
check_manifest_response "$d_list" "$DOCKER_LIST"
cmp -s "$HTTP_BODY" "$list" || fail "library/e2e-multi@$d_list differs from library/e2e-multi:1"
for arch in amd64 arm64; do
  d=${SRC_DIGEST[$arch]}
  expect_eq "$(jq -r --arg d "$d" '.manifests[] | select(.digest == $d) | .size' "$list")" \
    "$(stat -c %s "$E2E_TMP/src-$arch.json")" "size of the $arch child in the list"
  # docker put the child into library/e2e-multi by digest, byte for byte...
  http GET "/v2/library/e2e-multi/manifests/$d" -H "Accept: $DOCKER_MANIFEST"
  check_manifest_response "$d" "$DOCKER_MANIFEST"
  cmp -s "$HTTP_BODY" "$E2E_TMP/src-$arch.json" || fail "the $arch child in library/e2e-multi differs from $SRC:$arch"
  # ...and every blob it names is served from there.
  cfg=$(jq -r .config.digest "$E2E_TMP/src-$arch.json")
  fetch_blob library/e2e-multi "$cfg"
  expect_eq "$(jq -r .architecture "$HTTP_BODY")" "$arch" "architecture in the config of the $arch child"
  for layer in $(jq -r '.layers[].digest' "$E2E_TMP/src-$arch.json"); do
    fetch_blob library/e2e-multi "$layer"
  done
done
# The blobs came by cross-project mount (docker insists on 201 for each).
mounts=$(access_log_count POST /v2/library/e2e-multi/blobs/uploads/ 201)
((mounts >= nblobs)) || fail "only $mounts blob mounts (201) into library/e2e-multi, expected at least $nblobs"
uploads=$(access_log_count POST /v2/library/e2e-multi/blobs/uploads/ 202)
expect_eq "$uploads" 0 "blob uploads (202) into library/e2e-multi"
http GET /v2/library/e2e-multi/tags/list
expect_status 200
expect_eq "$(jq -c .tags "$HTTP_BODY")" '["1"]' "tags of library/e2e-multi"

log "docker manifest inspect of the pushed list"
docker_ok inspect-list manifest inspect --insecure "$LIST"
jq -S . "$list" >"$E2E_TMP/want.json"
jq -S . "$E2E_TMP/inspect-list.log" | cmp -s - "$E2E_TMP/want.json" ||
  fail "docker manifest inspect $LIST differs from the list curl got: $(cat "$E2E_TMP/inspect-list.log")"
docker_ok inspect-list-v manifest inspect --insecure -v "$LIST"
expect_eq "$(jq -c '[.[] | [.Descriptor.digest, .Descriptor.platform.architecture, .SchemaV2Manifest.config.digest]] | sort' "$E2E_TMP/inspect-list-v.log")" \
  "$(jq -cn --arg a "$d_amd" --arg b "$d_arm" \
    --arg ca "$(jq -r .config.digest "$E2E_TMP/src-amd64.json")" --arg cb "$(jq -r .config.digest "$E2E_TMP/src-arm64.json")" \
    '[[$a, "amd64", $ca], [$b, "arm64", $cb]] | sort')" \
  "docker manifest inspect -v of $LIST (descriptor, platform, child config)"
docker_ok inspect-digest manifest inspect --insecure "$REG/library/e2e-multi@$d_list"
jq -S . "$E2E_TMP/inspect-digest.log" | cmp -s - "$E2E_TMP/want.json" ||
  fail "docker manifest inspect by digest differs from the list: $(cat "$E2E_TMP/inspect-digest.log")"
run_client raw-list skopeo inspect --raw --tls-verify=false "docker://$LIST"
cmp -s "$E2E_TMP/raw-list.log" "$list" || fail "skopeo inspect --raw of $LIST differs from the list"
run_client arm-list skopeo inspect --override-arch arm64 --override-variant v8 --tls-verify=false "docker://$LIST"
expect_eq "$(jq -r .Architecture "$E2E_TMP/arm-list.log")" arm64 "architecture of skopeo's arm64/v8 pick from $LIST"
expect_eq "$(jq -c .Layers "$E2E_TMP/arm-list.log")" "$(jq -c '[.layers[].digest]' "$E2E_TMP/src-arm64.json")" \
  "layers of skopeo's arm64/v8 pick from $LIST"

# ---------------------------------------------- list in the same repository
log "a second list inside $SRC (children already there: no mounts)"
docker_ok create-2 manifest create --insecure "$REG/$SRC:multi" "$REG/$SRC:amd64" "$REG/$SRC:arm64"
docker_ok push-2 manifest push --insecure --purge "$REG/$SRC:multi"
d_list2=$(grep -Eo 'sha256:[0-9a-f]{64}' "$E2E_TMP/push-2.log" | tail -n 1) ||
  fail "docker manifest push printed no digest: $(cat "$E2E_TMP/push-2.log")"
http GET "/v2/$SRC/manifests/multi" -H "Accept: $ACCEPT_ALL"
check_manifest_response "$d_list2" "$DOCKER_LIST"
expect_eq "$(jq -c '[.manifests[] | [.digest, .platform.architecture, (.platform.variant // "")]] | sort' "$HTTP_BODY")" \
  "$(jq -cn --arg a "$d_amd" --arg b "$d_arm" '[[$a, "amd64", ""], [$b, "arm64", ""]] | sort')" \
  "children of $SRC:multi"
expect_eq "$(access_log_count POST "/v2/$SRC/blobs/uploads/" 201)" 0 "mounts into $SRC"
http GET "/v2/$SRC/tags/list"
expect_eq "$(jq -c '.tags | sort' "$HTTP_BODY")" '["amd64","arm64","multi"]' "tags of $SRC"

# ---------------------------------------------------------------- logout
log "docker logout: the public list still inspects, the private image does not"
docker_ok logout logout "$REG"
expect_eq "$(jq -r --arg r "$REG" '.auths[$r] // empty' "$DOCKER_CONFIG/config.json")" "" "credentials left after docker logout"
docker_ok inspect-anon manifest inspect --insecure "$LIST"
jq -S . "$E2E_TMP/inspect-anon.log" | cmp -s - "$E2E_TMP/want.json" ||
  fail "anonymous docker manifest inspect $LIST differs from the list: $(cat "$E2E_TMP/inspect-anon.log")"
docker_fails inspect-private-anon 'unauthorized|401|denied|forbidden|403|not found|no such manifest' \
  manifest inspect --insecure "$REG/$SRC:amd64"
docker_ok create-3 manifest create --insecure "$REG/library/e2e-multi:anon" "$REG/library/e2e-multi@$d_amd"
docker_fails push-anon 'unauthorized|401|denied|forbidden|403|authentication required' \
  manifest push --insecure "$REG/library/e2e-multi:anon"
http GET /v2/library/e2e-multi/tags/list
expect_eq "$(jq -c .tags "$HTTP_BODY")" '["1"]' "tags of library/e2e-multi after the refused anonymous push"

berthd_stop
