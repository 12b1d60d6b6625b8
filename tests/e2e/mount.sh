#!/usr/bin/env bash
# e2e_mount: cross-repository blob mounts.
#  - skopeo copies library/e2e-mount-a to library/e2e-mount-b on the same
#    registry; it mounts the layers it knows are in -a, and berthd's access
#    log must show those mount requests answered 201 (and no layer uploaded);
#  - an explicit POST ?mount=&from= answers 201 with Location and
#    Docker-Content-Digest, and the mounted blob is readable in the new repo;
#  - a mount from a repository that lacks the blob (or does not exist, or of
#    a digest nobody has) answers 202 with a usable upload Location.
source "$(dirname "$0")/lib.sh"

berthd_start
containers_setup

make_image "$E2E_TMP/img" v1 $((300 * 1024)) $((200 * 1024)) >/dev/null
make_image "$E2E_TMP/other" v1 $((50 * 1024)) >/dev/null
mapfile -t layers < <(jq -r '.layers[]' "$E2E_TMP/img/e2e-image.json")
layer0=${layers[0]}
layer0_file=$E2E_TMP/img/blobs/sha256/${layer0#sha256:}
layer0_size=$(stat -c %s "$layer0_file")

d_a=$(push_layout "$E2E_TMP/img" v1 "$REG/library/e2e-mount-a:v1")
push_layout "$E2E_TMP/other" v1 "$REG/library/e2e-mount-other:v1" >/dev/null

# ------------------------------------------------------------ skopeo a -> b
log "skopeo copy library/e2e-mount-a -> library/e2e-mount-b"
for l in "${layers[@]}"; do
  http HEAD "/v2/library/e2e-mount-b/blobs/$l"
  expect_status 404
done
run_client copy-ab skopeo copy --retry-times 0 --src-tls-verify=false --dest-tls-verify=false \
  --digestfile "$E2E_TMP/d-b" "docker://$REG/library/e2e-mount-a:v1" "docker://$REG/library/e2e-mount-b:v1"
expect_eq "$(cat "$E2E_TMP/d-b")" "$d_a" "digest of the copy in library/e2e-mount-b"
# The access log line is written after the response: poll for it.
deadline=$((SECONDS + 30))
while :; do
  mounts=$(access_log_count POST /v2/library/e2e-mount-b/blobs/uploads/ 201)
  ((mounts >= ${#layers[@]})) && break
  ((SECONDS < deadline)) || fail "expected >= ${#layers[@]} mount requests answered 201 for library/e2e-mount-b, the access log has $mounts"
  sleep 0.1
done
log "$mounts mount requests answered 201 for ${#layers[@]} layers"
# Mounted, not uploaded: no layer-sized upload body reached library/e2e-mount-b.
big_patches=$(jq -R 'fromjson? | select(.msg == "request" and (.method == "PATCH" or .method == "PUT")
  and (.path | startswith("/v2/library/e2e-mount-b/blobs/uploads/")) and .bytes_in >= 100000)' "$BERTHD_LOG" | jq -s length)
expect_eq "$big_patches" 0 "layer-sized uploads to library/e2e-mount-b (should have been mounted)"
pull_verify "$REG/library/e2e-mount-b:v1" "$d_a" "$E2E_TMP/img"

# -------------------------------------------------------- explicit mount
log "explicit mount into library/e2e-mount-c"
http HEAD "/v2/library/e2e-mount-c/blobs/$layer0"
expect_status 404
http POST "/v2/library/e2e-mount-c/blobs/uploads/?mount=$layer0&from=library/e2e-mount-a"
expect_status 201
loc=$(hdr Location)
[[ $loc == "/v2/library/e2e-mount-c/blobs/$layer0" || $loc == "$REG_URL/v2/library/e2e-mount-c/blobs/$layer0" ]] ||
  fail "Location of the mount is '$loc', expected /v2/library/e2e-mount-c/blobs/$layer0"
expect_eq "$(hdr Docker-Content-Digest)" "$layer0" "Docker-Content-Digest of the mount"
http HEAD "$loc"
expect_status 200
expect_eq "$(hdr Content-Length)" "$layer0_size" "Content-Length of the mounted blob"
fetch_blob library/e2e-mount-c "$layer0"
cmp -s "$HTTP_BODY" "$layer0_file" || fail "mounted blob differs from the pushed bytes"
# Mounting again is idempotent.
http POST "/v2/library/e2e-mount-c/blobs/uploads/?mount=$layer0&from=library/e2e-mount-a"
expect_status 201
# The source keeps its blob.
http HEAD "/v2/library/e2e-mount-a/blobs/$layer0"
expect_status 200

# -------------------------------------------------- mounts that cannot be
# check_upload_location REPO: the last response started an upload in REPO;
# prints the Location.
check_upload_location() {
  expect_status 202
  local loc uuid
  loc=$(hdr Location)
  uuid=$(hdr Docker-Upload-UUID)
  [[ $loc =~ ^($REG_URL)?/v2/$1/blobs/uploads/[^/?]+ ]] ||
    fail "Location of the upload is '$loc', expected /v2/$1/blobs/uploads/<id>"
  [[ -n $uuid && $loc == *"$uuid"* ]] || fail "Docker-Upload-UUID '$uuid' is not in the Location '$loc'"
  echo "$loc"
}

log "mount from a repository that lacks the blob"
http POST "/v2/library/e2e-mount-d/blobs/uploads/?mount=$layer0&from=library/e2e-mount-other"
loc=$(check_upload_location library/e2e-mount-d)
http HEAD "/v2/library/e2e-mount-d/blobs/$layer0"
expect_status 404
# The upload it started is real: finish it with the blob's bytes.
sep='?'
[[ $loc == *\?* ]] && sep='&'
http GET "$loc"
expect_status 204
http PUT "$loc${sep}digest=$layer0" -H 'Content-Type: application/octet-stream' --data-binary "@$layer0_file"
expect_status 201
expect_eq "$(hdr Docker-Content-Digest)" "$layer0" "Docker-Content-Digest of the completed upload"
fetch_blob library/e2e-mount-d "$layer0"

log "mount from a repository that does not exist, and of an unknown digest"
unknown=sha256:$(head -c 64 /dev/urandom | sha256sum | cut -d' ' -f1)
for q in "mount=$layer0&from=library/e2e-mount-nonexistent" "mount=$unknown&from=library/e2e-mount-a"; do
  http POST "/v2/library/e2e-mount-e/blobs/uploads/?$q"
  loc=$(check_upload_location library/e2e-mount-e)
  http DELETE "$loc"
  expect_status 204
  http GET "$loc"
  expect_status 404
  expect_error BLOB_UPLOAD_UNKNOWN
done
http HEAD "/v2/library/e2e-mount-e/blobs/$layer0"
expect_status 404
http HEAD "/v2/library/e2e-mount-e/blobs/$unknown"
expect_status 404

berthd_stop
