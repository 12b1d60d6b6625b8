#!/usr/bin/env bash
# e2e_tags: tag listing and pagination. Seven tags pushed with skopeo;
# /tags/list?n=3 is followed through its Link headers (<...>; rel="next") and
# must yield every tag exactly once, in lexical (byte) order, three per page,
# with no Link on the last page. Once every tag is deleted, the list is
# "tags": [] (an empty array, never null).
source "$(dirname "$0")/lib.sh"

readonly REPO=library/e2e-tags
tags=(v1.0 latest 2024-01 rc_1 stable v1.1 V2)

berthd_start
containers_setup

make_image "$E2E_TMP/img" v1 $((64 * 1024)) >/dev/null
want_digest=$(jq -r .manifest "$E2E_TMP/img/e2e-image.json")
log "pushing ${#tags[@]} tags"
for t in "${tags[@]}"; do
  push_layout "$E2E_TMP/img" v1 "$REG/$REPO:$t" >/dev/null
done
expected=$(printf '%s\n' "${tags[@]}" | LC_ALL=C sort)

# link_next: the URL of the last response's rel="next" Link ("" if none).
link_next() {
  local link
  link=$(hdr Link)
  [[ -z $link ]] && return 0
  local re='^<([^>]+)>; *rel="?next"?$'
  [[ $link =~ $re ]] || fail "malformed Link header: '$link'"
  echo "${BASH_REMATCH[1]}"
}

log "following Link headers from /v2/$REPO/tags/list?n=3"
url="/v2/$REPO/tags/list?n=3"
collected=()
sizes=()
pages=0
while [[ -n $url ]]; do
  ((++pages <= 10)) || fail "more than 10 pages for ${#tags[@]} tags"
  http GET "$url"
  expect_status 200
  expect_eq "$(jq -r .name "$HTTP_BODY")" "$REPO" "name in tags page $pages"
  jq -e '.tags | type == "array"' "$HTTP_BODY" >/dev/null || fail "tags of page $pages is not an array"
  mapfile -t page < <(jq -r '.tags[]' "$HTTP_BODY")
  sizes+=("${#page[@]}")
  collected+=("${page[@]}")
  url=$(link_next)
  if [[ -n $url ]]; then
    [[ $url == *"n=3"* ]] || fail "next link '$url' does not keep n=3"
    [[ $url == /v2/$REPO/tags/list\?* || $url == $REG_URL/v2/$REPO/tags/list\?* ]] ||
      fail "next link '$url' does not point at /v2/$REPO/tags/list"
  fi
done
expect_eq "${sizes[*]}" "3 3 1" "tags per page"
expect_eq "$(printf '%s\n' "${collected[@]}")" "$expected" "tags collected through the Link headers"

log "page sizes at and beyond the tag count"
http GET "/v2/$REPO/tags/list?n=${#tags[@]}"
expect_status 200
expect_eq "$(jq -r '.tags[]' "$HTTP_BODY")" "$expected" "tags with n=${#tags[@]}"
expect_eq "$(hdr Link)" "" "Link header when n equals the number of tags"
http GET "/v2/$REPO/tags/list"
expect_status 200
expect_eq "$(jq -r '.tags[]' "$HTTP_BODY")" "$expected" "tags without n"
expect_eq "$(hdr Link)" "" "Link header without n"
# last= on its own continues after the given tag.
third=$(sed -n 3p <<<"$expected")
http GET "/v2/$REPO/tags/list?n=2&last=$third"
expect_status 200
expect_eq "$(jq -r '.tags[]' "$HTTP_BODY")" "$(sed -n 4,5p <<<"$expected")" "tags after last=$third"

run_client list-tags skopeo list-tags --tls-verify=false "docker://$REG/$REPO"
expect_eq "$(jq -r '.Tags[]' "$E2E_TMP/list-tags.log" | LC_ALL=C sort)" "$expected" "skopeo list-tags"

http GET /v2/library/e2e-tags-nonexistent/tags/list
expect_status 404
expect_error NAME_UNKNOWN

log "deleting every tag"
for t in "${tags[@]}"; do
  http DELETE "/v2/$REPO/manifests/$t"
  expect_status 202
done
for q in "" "?n=3"; do
  http GET "/v2/$REPO/tags/list$q"
  expect_status 200
  expect_eq "$(jq -c .tags "$HTTP_BODY")" "[]" "tags of $REPO after deleting every tag (list$q)"
  expect_eq "$(hdr Link)" "" "Link header of an empty tag list"
done
run_client list-tags-empty skopeo list-tags --tls-verify=false "docker://$REG/$REPO"
expect_eq "$(jq -c .Tags "$E2E_TMP/list-tags-empty.log")" "[]" "skopeo list-tags after deleting every tag"
# Deleting tags leaves the manifest itself in place.
http GET "/v2/$REPO/manifests/$want_digest" -H "Accept: application/vnd.oci.image.manifest.v1+json"
expect_status 200

berthd_stop
