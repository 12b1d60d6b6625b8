#!/usr/bin/env bash
# e2e_podman_buildah: images built from scratch with buildah, pushed with
# buildah and podman (OCI and Docker schema 2), pulled back with podman and
# inspected; a two-arch OCI index (`manifest push --all --format oci`) and a
# Docker manifest list (`--format v2s2`) fetched with curl and checked: media
# types and Content-Type, digests, both children retrievable by digest, and
# `skopeo inspect --raw` byte-identical.
source "$(dirname "$0")/lib.sh"

readonly OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
readonly OCI_INDEX=application/vnd.oci.image.index.v1+json
readonly DOCKER_MANIFEST=application/vnd.docker.distribution.manifest.v2+json
readonly DOCKER_LIST=application/vnd.docker.distribution.manifest.list.v2+json
readonly ACCEPT_ALL="$OCI_INDEX, $OCI_MANIFEST, $DOCKER_LIST, $DOCKER_MANIFEST"

berthd_start
containers_setup

# build_image NAME ARCH FORMAT: commits localhost/NAME from scratch holding
# /payload.bin (fresh random bytes, kept as $E2E_TMP/payload-NAME).
build_image() {
  local name=$1 arch=$2 format=$3 ctr
  head -c $((192 * 1024 + RANDOM)) /dev/urandom >"$E2E_TMP/payload-$name"
  ctr=$(timeout "$E2E_CLIENT_TIMEOUT" buildah from scratch) || fail "buildah from scratch failed"
  run_client "copy-$name" buildah copy "$ctr" "$E2E_TMP/payload-$name" /payload.bin
  run_client "config-$name" buildah config --arch "$arch" --os linux --label "berth.e2e=$name" "$ctr"
  run_client "commit-$name" buildah commit --rm --format "$format" "$ctr" "localhost/$name"
}

# check_manifest_response DIGEST MEDIA_TYPE: the last response is that manifest.
check_manifest_response() {
  local digest=$1 mt=$2
  expect_status 200
  expect_eq "$(hdr Content-Type)" "$mt" "Content-Type of manifest $digest"
  expect_eq "$(hdr Docker-Content-Digest)" "$digest" "Docker-Content-Digest of manifest"
  expect_eq "$(sha256_of "$HTTP_BODY")" "$digest" "sha256 of the manifest body"
  expect_eq "$(jq -r '.mediaType // empty' "$HTTP_BODY")" "$mt" "mediaType field of manifest $digest"
}

# check_image_blobs REPO MANIFEST_FILE ARCH: config and layers of an image
# manifest are retrievable and hash right; the config names ARCH.
check_image_blobs() {
  local repo=$1 mf=$2 arch=$3 cfg layer
  cfg=$(jq -r .config.digest "$mf")
  fetch_blob "$repo" "$cfg"
  expect_eq "$(jq -r .architecture "$HTTP_BODY")" "$arch" "architecture in config $cfg"
  for layer in $(jq -r '.layers[].digest' "$mf"); do
    fetch_blob "$repo" "$layer"
  done
}

# podman_pull_check REF DIGEST NAME: removes the local image, podman pulls REF
# and checks the recorded digest and the payload inside the image.
podman_pull_check() {
  local ref=$1 digest=$2 name=$3 ctr mnt
  run_client "rmi-$name" podman rmi -f "localhost/$name"
  run_client "pull-$name" podman pull --tls-verify=false "$ref"
  run_client "inspect-$name" podman image inspect "$ref"
  local insp=$E2E_TMP/inspect-$name.log
  expect_eq "$(jq -r '.[0].Digest' "$insp")" "$digest" "podman image inspect .Digest of $ref"
  jq -e --arg d "${ref%:*}@$digest" '.[0].RepoDigests | index($d)' "$insp" >/dev/null ||
    fail "podman image inspect .RepoDigests of $ref lacks ${ref%:*}@$digest: $(jq -c '.[0].RepoDigests' "$insp")"
  expect_eq "$(jq -r '.[0].Labels["berth.e2e"]' "$insp")" "$name" "label of the pulled image"
  # The file inside the pulled image is the one that was built.
  ctr=$(timeout "$E2E_CLIENT_TIMEOUT" buildah from --pull=never "$ref") || fail "buildah from $ref failed"
  mnt=$(timeout "$E2E_CLIENT_TIMEOUT" buildah mount "$ctr") || fail "buildah mount failed"
  cmp -s "$mnt/payload.bin" "$E2E_TMP/payload-$name" || fail "payload in the pulled $ref differs from the built one"
  run_client "umount-$name" buildah umount "$ctr"
  run_client "rm-$name" buildah rm "$ctr"
}

# ------------------------------------------------ single images, both formats
log "OCI image: buildah push, podman pull"
build_image e2e-oci amd64 oci
run_client push-oci buildah push --tls-verify=false --digestfile "$E2E_TMP/d-oci" \
  localhost/e2e-oci "docker://$REG/library/e2e-podman:oci"
d_oci=$(cat "$E2E_TMP/d-oci")
http GET /v2/library/e2e-podman/manifests/oci -H "Accept: $ACCEPT_ALL"
check_manifest_response "$d_oci" "$OCI_MANIFEST"
cp "$HTTP_BODY" "$E2E_TMP/m-oci.json"
expect_eq "$(jq -r .config.mediaType "$E2E_TMP/m-oci.json")" application/vnd.oci.image.config.v1+json "OCI config media type"
check_image_blobs library/e2e-podman "$E2E_TMP/m-oci.json" amd64
http HEAD /v2/library/e2e-podman/manifests/oci -H "Accept: $ACCEPT_ALL"
expect_status 200
expect_eq "$(hdr Content-Type)" "$OCI_MANIFEST" "Content-Type of HEAD on the OCI manifest"
expect_eq "$(hdr Docker-Content-Digest)" "$d_oci" "Docker-Content-Digest of HEAD"
expect_eq "$(hdr Content-Length)" "$(stat -c %s "$E2E_TMP/m-oci.json")" "Content-Length of HEAD"
podman_pull_check "$REG/library/e2e-podman:oci" "$d_oci" e2e-oci

log "Docker schema 2 image: podman push --format v2s2, podman pull"
build_image e2e-docker amd64 docker
run_client push-docker podman push --tls-verify=false --format v2s2 --digestfile "$E2E_TMP/d-docker" \
  localhost/e2e-docker "docker://$REG/library/e2e-podman:docker"
d_docker=$(cat "$E2E_TMP/d-docker")
http GET /v2/library/e2e-podman/manifests/docker -H "Accept: $ACCEPT_ALL"
check_manifest_response "$d_docker" "$DOCKER_MANIFEST"
cp "$HTTP_BODY" "$E2E_TMP/m-docker.json"
expect_eq "$(jq -r .schemaVersion "$E2E_TMP/m-docker.json")" 2 "schemaVersion of the Docker manifest"
expect_eq "$(jq -r .config.mediaType "$E2E_TMP/m-docker.json")" application/vnd.docker.container.image.v1+json "Docker config media type"
expect_eq "$(jq -r '.layers[0].mediaType' "$E2E_TMP/m-docker.json")" application/vnd.docker.image.rootfs.diff.tar.gzip "Docker layer media type"
check_image_blobs library/e2e-podman "$E2E_TMP/m-docker.json" amd64
# By digest too, and the digest is what skopeo reports.
http GET "/v2/library/e2e-podman/manifests/$d_docker" -H "Accept: $DOCKER_MANIFEST"
check_manifest_response "$d_docker" "$DOCKER_MANIFEST"
run_client inspect-docker skopeo inspect --tls-verify=false "docker://$REG/library/e2e-podman:docker"
expect_eq "$(jq -r .Digest "$E2E_TMP/inspect-docker.log")" "$d_docker" "skopeo inspect .Digest of the Docker image"
podman_pull_check "$REG/library/e2e-podman:docker" "$d_docker" e2e-docker

run_client tags-podman skopeo list-tags --tls-verify=false "docker://$REG/library/e2e-podman"
expect_eq "$(jq -c '.Tags | sort' "$E2E_TMP/tags-podman.log")" '["docker","oci"]' "tags of library/e2e-podman"

# ------------------------------------------------------- multi-arch lists
# check_list REPO TAG DIGEST LIST_TYPE CHILD_TYPE: the list as curl and skopeo see it.
check_list() {
  local repo=$1 tag=$2 digest=$3 list_mt=$4 child_mt=$5
  http GET "/v2/$repo/manifests/$tag" -H "Accept: $ACCEPT_ALL"
  check_manifest_response "$digest" "$list_mt"
  local list=$E2E_TMP/list-$tag.json
  cp "$HTTP_BODY" "$list"
  expect_eq "$(jq '.manifests | length' "$list")" 2 "number of children in $repo:$tag"
  expect_eq "$(jq -c '[.manifests[].platform.architecture] | sort' "$list")" '["amd64","arm64"]' "architectures in $repo:$tag"
  expect_eq "$(jq -c '[.manifests[].platform.os] | unique' "$list")" '["linux"]' "os in $repo:$tag"
  http HEAD "/v2/$repo/manifests/$tag" -H "Accept: $ACCEPT_ALL"
  expect_status 200
  expect_eq "$(hdr Content-Type)" "$list_mt" "Content-Type of HEAD on $repo:$tag"
  expect_eq "$(hdr Docker-Content-Digest)" "$digest" "Docker-Content-Digest of HEAD on $repo:$tag"
  expect_eq "$(hdr Content-Length)" "$(stat -c %s "$list")" "Content-Length of HEAD on $repo:$tag"
  # The list by digest is the same document.
  http GET "/v2/$repo/manifests/$digest" -H "Accept: $list_mt"
  check_manifest_response "$digest" "$list_mt"
  cmp -s "$HTTP_BODY" "$list" || fail "$repo@$digest differs from $repo:$tag"
  local i child mt size arch
  for i in 0 1; do
    child=$(jq -r ".manifests[$i].digest" "$list")
    mt=$(jq -r ".manifests[$i].mediaType" "$list")
    size=$(jq -r ".manifests[$i].size" "$list")
    arch=$(jq -r ".manifests[$i].platform.architecture" "$list")
    expect_eq "$mt" "$child_mt" "media type of child $i of $repo:$tag"
    http GET "/v2/$repo/manifests/$child" -H "Accept: $child_mt"
    check_manifest_response "$child" "$child_mt"
    expect_eq "$(stat -c %s "$HTTP_BODY")" "$size" "size of child $child"
    cp "$HTTP_BODY" "$E2E_TMP/child-$tag-$i.json"
    check_image_blobs "$repo" "$E2E_TMP/child-$tag-$i.json" "$arch"
    http HEAD "/v2/$repo/manifests/$child" -H "Accept: $child_mt"
    expect_status 200
    expect_eq "$(hdr Content-Type)" "$child_mt" "Content-Type of HEAD on child $child"
  done
  run_client "raw-$tag" skopeo inspect --raw --tls-verify=false "docker://$REG/$repo:$tag"
  cmp -s "$E2E_TMP/raw-$tag.log" "$list" || fail "skopeo inspect --raw of $repo:$tag differs from the pushed list"
  run_client "arm-$tag" skopeo inspect --override-arch arm64 --tls-verify=false "docker://$REG/$repo:$tag"
  expect_eq "$(jq -r .Architecture "$E2E_TMP/arm-$tag.log")" arm64 "skopeo inspect --override-arch arm64 of $repo:$tag"
  expect_eq "$(jq -r .Digest "$E2E_TMP/arm-$tag.log")" "$digest" "skopeo inspect .Digest of $repo:$tag"
}

log "multi-arch OCI index: buildah manifest push --all --format oci"
build_image e2e-amd64 amd64 oci
build_image e2e-arm64 arm64 oci
run_client list-create buildah manifest create e2e-list-oci
run_client list-add1 buildah manifest add e2e-list-oci localhost/e2e-amd64
run_client list-add2 buildah manifest add e2e-list-oci localhost/e2e-arm64
run_client list-push buildah manifest push --all --format oci --tls-verify=false \
  --digestfile "$E2E_TMP/d-index" e2e-list-oci "docker://$REG/library/e2e-multiarch:oci"
d_index=$(cat "$E2E_TMP/d-index")
check_list library/e2e-multiarch oci "$d_index" "$OCI_INDEX" "$OCI_MANIFEST"

# A client pulls the arm64 image out of the index.
run_client pull-arm podman pull --tls-verify=false --arch arm64 "$REG/library/e2e-multiarch:oci"
run_client inspect-arm podman image inspect "$REG/library/e2e-multiarch:oci"
expect_eq "$(jq -r '.[0].Architecture' "$E2E_TMP/inspect-arm.log")" arm64 "architecture of the image podman pulled with --arch arm64"
arm_child=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$E2E_TMP/list-oci.json")
arm_cfg=""
for f in "$E2E_TMP"/child-oci-*.json; do
  if [[ $(sha256_of "$f") == "$arm_child" ]]; then arm_cfg=$(jq -r .config.digest "$f"); fi
done
expect_eq "sha256:$(jq -r '.[0].Id' "$E2E_TMP/inspect-arm.log")" "$arm_cfg" "image ID podman pulled for arm64"

log "Docker manifest list: podman manifest push --all --format v2s2"
build_image e2e-amd64-d amd64 docker
build_image e2e-arm64-d arm64 docker
run_client dlist-create podman manifest create e2e-list-docker
run_client dlist-add1 podman manifest add e2e-list-docker containers-storage:localhost/e2e-amd64-d
run_client dlist-add2 podman manifest add e2e-list-docker containers-storage:localhost/e2e-arm64-d
run_client dlist-push podman manifest push --all --format v2s2 --tls-verify=false \
  --digestfile "$E2E_TMP/d-list" e2e-list-docker "docker://$REG/library/e2e-multiarch:docker"
d_list=$(cat "$E2E_TMP/d-list")
check_list library/e2e-multiarch docker "$d_list" "$DOCKER_LIST" "$DOCKER_MANIFEST"

# A client that only understands schema 2 gets the linux/amd64 image.
amd_child=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$E2E_TMP/list-docker.json")
http GET /v2/library/e2e-multiarch/manifests/docker -H "Accept: $DOCKER_MANIFEST"
check_manifest_response "$amd_child" "$DOCKER_MANIFEST"

# buildah and podman send compressed layers with Transfer-Encoding: chunked;
# such a body must be taken as complete when its last chunk arrives, not when
# the client gives up waiting (that took 60 s per layer once).
slow=$(jq -R 'fromjson? | select(.msg == "request" and (.path | contains("/blobs/uploads/"))
  and .duration_ms > 20000) | "\(.method) \(.path) \(.duration_ms) ms"' "$BERTHD_LOG")
[[ -z $slow ]] || fail "upload requests took more than 20 s: $slow"

log "the artifact API lists each index once, its children as platform references"
http GET "/api/v2.0/projects/library/repositories/e2e-multiarch/artifacts?with_tag=true"
expect_status 200
expect_eq "$(jq -r '[.[].digest] | sort | join(" ")' "$HTTP_BODY")" "$(printf '%s\n' "$d_index" "$d_list" | sort | paste -sd' ')" \
  "artifacts of library/e2e-multiarch (indexes only)"
expect_eq "$(jq -r --arg d "$d_index" '.[] | select(.digest == $d) | [.references[].platform.architecture] | sort | join(",")' "$HTTP_BODY")" \
  "amd64,arm64" "platforms of the OCI index's references"
expect_eq "$(jq -r '[.[].type] | unique | join(",")' "$HTTP_BODY")" IMAGE "types of the indexes"
http GET "/api/v2.0/projects/library/repositories/e2e-multiarch/artifacts/$arm_child"
expect_status 200
expect_eq "$(jq -r .extra_attrs.architecture "$HTTP_BODY")" arm64 "extra_attrs.architecture of the arm64 child"
http GET "/api/v2.0/projects/library/repositories/e2e-multiarch/artifacts/$arm_child/additions/build_history"
expect_status 200
[[ $(jq 'length' "$HTTP_BODY") -ge 1 ]] || fail "build_history of the arm64 child is empty"

run_client tags-multi skopeo list-tags --tls-verify=false "docker://$REG/library/e2e-multiarch"
expect_eq "$(jq -c '.Tags | sort' "$E2E_TMP/tags-multi.log")" '["docker","oci"]' "tags of library/e2e-multiarch"

berthd_stop
