#!/usr/bin/env bash
# e2e_quota: project storage quotas with a real client (skopeo).
#  - a push into a project whose limit is below the image fails, skopeo
#    reports Harbor's "exceed the configured upper limit" denial, the refused
#    layer is not in the repository and the usage stays within the limit;
#  - after the limit is raised the same push succeeds and pulls back intact,
#    and the usage is exactly the manifest, config and layer sizes;
#  - copying the image to a second repository of the project costs nothing;
#  - deleting both manifests gives the space back.
source "$(dirname "$0")/lib.sh"

berthd_start
containers_setup

api_json() {  # api_json METHOD PATH JSON
  http "$1" "$2" -H 'Content-Type: application/json' --data "$3"
}
quota_field() {  # quota_field PROJECT_ID JQ
  http GET "/api/v2.0/quotas?reference=project&reference_id=$1"
  expect_status 200
  jq -r ".[0]$2" "$HTTP_BODY"
}

log "project e2e-quota limited to 100 KiB"
api_json POST /api/v2.0/projects '{"project_name": "e2e-quota", "storage_limit": 102400}'
expect_status 201
pid=$(hdr Location)
pid=${pid##*/}
qid=$(quota_field "$pid" .id)
expect_eq "$(quota_field "$pid" .hard.storage)" 102400 "hard limit of e2e-quota"

make_image "$E2E_TMP/img" v1 $((300 * 1024)) >/dev/null
want=$(jq -r .manifest "$E2E_TMP/img/e2e-image.json")
layer=$(jq -r '.layers[0]' "$E2E_TMP/img/e2e-image.json")
total=0
for d in "$want" $(jq -r '.blobs[]' "$E2E_TMP/img/e2e-image.json"); do
  total=$((total + $(stat -c %s "$E2E_TMP/img/blobs/sha256/${d#sha256:}")))
done

log "skopeo push over the limit is refused"
out=$E2E_TMP/over.log
if timeout "$E2E_CLIENT_TIMEOUT" skopeo copy --retry-times 0 --dest-tls-verify=false \
    "oci:$E2E_TMP/img:v1" "docker://$REG/e2e-quota/app:v1" >"$out" 2>&1; then
  fail "skopeo pushed a 300 KiB layer into a project limited to 100 KiB"
fi
grep -q "exceed the configured upper limit" "$out" ||
  { sed 's/^/  | /' "$out" >&2; fail "skopeo's error does not carry the quota denial"; }
http HEAD "/v2/e2e-quota/app/blobs/$layer"
expect_status 404
used=$(quota_field "$pid" .used.storage)
((used <= 102400)) || fail "usage $used exceeds the limit after a refused push"

log "raise the limit; the push succeeds and is charged exactly"
api_json PUT "/api/v2.0/quotas/$qid" "{\"hard\": {\"storage\": $((total * 2))}}"
expect_status 200
pushed=$(push_layout "$E2E_TMP/img" v1 "$REG/e2e-quota/app:v1")
pull_verify "$REG/e2e-quota/app:v1" "$pushed" "$E2E_TMP/img"
expect_eq "$(quota_field "$pid" .used.storage)" "$total" "usage after the push"

log "a copy into another repository of the project costs nothing"
run_client copy skopeo copy --retry-times 0 --src-tls-verify=false --dest-tls-verify=false \
  "docker://$REG/e2e-quota/app:v1" "docker://$REG/e2e-quota/copy:v1"
expect_eq "$(quota_field "$pid" .used.storage)" "$total" "usage after the copy"
http GET "/api/v2.0/projects/$pid/summary"
expect_status 200
expect_eq "$(jq -c .quota "$HTTP_BODY")" "{\"hard\":{\"storage\":$((total * 2))},\"used\":{\"storage\":$total}}" \
  "quota in the project summary"

log "deleting both manifests gives the space back"
for repo in app copy; do
  http DELETE "/v2/e2e-quota/$repo/manifests/$pushed"
  expect_status 202
done
expect_eq "$(quota_field "$pid" .used.storage)" 0 "usage after deleting the manifests"

berthd_stop
