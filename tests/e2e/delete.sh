#!/usr/bin/env bash
# e2e_delete: deleting by tag and by digest.
#  - DELETE /v2/<name>/manifests/<tag> removes only that tag: another tag of
#    the same digest, and the digest itself, still resolve;
#  - `skopeo delete` (which resolves the tag and DELETEs the digest) removes
#    the manifest and every tag pointing at it: 404 MANIFEST_UNKNOWN;
#  - other images in the repository are untouched.
source "$(dirname "$0")/lib.sh"

readonly REPO=library/e2e-delete
readonly ACCEPT="Accept: application/vnd.oci.image.manifest.v1+json"

berthd_start
containers_setup

make_image "$E2E_TMP/img" v1 $((128 * 1024)) $((64 * 1024)) >/dev/null
make_image "$E2E_TMP/other" v1 $((96 * 1024)) >/dev/null
d1=$(push_layout "$E2E_TMP/img" v1 "$REG/$REPO:one")
push_layout "$E2E_TMP/img" v1 "$REG/$REPO:two" >/dev/null
d2=$(push_layout "$E2E_TMP/other" v1 "$REG/$REPO:other")

tags_now() {
  http GET "/v2/$REPO/tags/list"
  expect_status 200
  jq -c '.tags | sort' "$HTTP_BODY"
}
expect_eq "$(tags_now)" '["one","other","two"]' "tags before deleting"

# expect_manifest_gone REF: GET and HEAD of the manifest are 404 MANIFEST_UNKNOWN.
expect_manifest_gone() {
  http GET "/v2/$REPO/manifests/$1" -H "$ACCEPT"
  expect_status 404
  expect_error MANIFEST_UNKNOWN
  http HEAD "/v2/$REPO/manifests/$1" -H "$ACCEPT"
  expect_status 404
}

log "delete by tag"
http DELETE "/v2/$REPO/manifests/one"
expect_status 202
expect_manifest_gone one
http GET "/v2/$REPO/manifests/two" -H "$ACCEPT"
expect_status 200
expect_eq "$(hdr Docker-Content-Digest)" "$d1" "digest of tag 'two' after deleting tag 'one'"
http GET "/v2/$REPO/manifests/$d1" -H "$ACCEPT"
expect_status 200
expect_eq "$(tags_now)" '["other","two"]' "tags after deleting 'one'"
run_client inspect-two skopeo inspect --tls-verify=false "docker://$REG/$REPO:two"
expect_eq "$(jq -r .Digest "$E2E_TMP/inspect-two.log")" "$d1" "skopeo inspect of 'two'"
pull_verify "$REG/$REPO:two" "$d1" "$E2E_TMP/img"
# The deleted tag is gone for good: deleting it again is 404.
http DELETE "/v2/$REPO/manifests/one"
expect_status 404
expect_error MANIFEST_UNKNOWN

log "delete by digest with skopeo delete"
run_client delete-two skopeo delete --tls-verify=false "docker://$REG/$REPO:two"
# skopeo resolved the tag and deleted the digest.
deadline=$((SECONDS + 30))
until (($(access_log_count DELETE "/v2/$REPO/manifests/$d1" 202) == 1)); do
  ((SECONDS < deadline)) || fail "no 'DELETE /v2/$REPO/manifests/$d1' answered 202 in the access log"
  sleep 0.1
done
expect_manifest_gone "$d1"
expect_manifest_gone two
expect_eq "$(tags_now)" '["other"]' "tags after deleting $d1"
if timeout "$E2E_CLIENT_TIMEOUT" skopeo inspect --tls-verify=false "docker://$REG/$REPO:two" >"$E2E_TMP/gone.log" 2>&1; then
  fail "skopeo inspect of the deleted image succeeded"
fi
grep -qi "manifest unknown" "$E2E_TMP/gone.log" || fail "skopeo inspect of the deleted image: $(cat "$E2E_TMP/gone.log")"
http DELETE "/v2/$REPO/manifests/$d1"
expect_status 404
expect_error MANIFEST_UNKNOWN

log "the other image is untouched"
pull_verify "$REG/$REPO:other" "$d2" "$E2E_TMP/other"

log "delete by digest with curl"
http DELETE "/v2/$REPO/manifests/$d2"
expect_status 202
expect_manifest_gone other
expect_manifest_gone "$d2"
expect_eq "$(tags_now)" '[]' "tags after deleting every manifest"

berthd_stop
