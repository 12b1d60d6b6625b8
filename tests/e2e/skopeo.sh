#!/usr/bin/env bash
# e2e_skopeo: skopeo pushes and pulls a single-layer, a multi-layer and a
# 50 MiB (random, incompressible) image. Every pulled blob must hash to its
# digest, the pulled manifest must hash to the pushed digest, and
# `skopeo inspect` / `skopeo list-tags` must agree with what was pushed.
source "$(dirname "$0")/lib.sh"

berthd_start
containers_setup

log "building OCI layouts"
make_image "$E2E_TMP/single" v1 $((256 * 1024)) >/dev/null
make_image "$E2E_TMP/multi" v1 $((64 * 1024)) $((300 * 1024)) 1 $((1024 * 1024)) >/dev/null
make_image "$E2E_TMP/big" v1 $((50 * 1024 * 1024)) >/dev/null

log "pushing"
d_single=$(push_layout "$E2E_TMP/single" v1 "$REG/library/e2e-single:v1")
d_multi=$(push_layout "$E2E_TMP/multi" v1 "$REG/library/e2e-multi:v1")
d_multi2=$(push_layout "$E2E_TMP/multi" v1 "$REG/library/e2e-multi:v2")
expect_eq "$d_multi2" "$d_multi" "digest of the second tag of the same image"
d_big=$(push_layout "$E2E_TMP/big" v1 "$REG/library/e2e-big:v1")

log "pulling and verifying"
pull_verify "$REG/library/e2e-single:v1" "$d_single" "$E2E_TMP/single"
pull_verify "$REG/library/e2e-multi:v1" "$d_multi" "$E2E_TMP/multi"
pull_verify "$REG/library/e2e-multi:v2" "$d_multi" "$E2E_TMP/multi"
pull_verify "$REG/library/e2e-multi@$d_multi" "$d_multi" "$E2E_TMP/multi"
pull_verify "$REG/library/e2e-big:v1" "$d_big" "$E2E_TMP/big"

# The 50 MiB layer really is incompressible and really went through.
big_layer=$(jq -r '.layers[0]' "$E2E_TMP/big/e2e-image.json")
big_size=$(jq -r '.layer_sizes[0]' "$E2E_TMP/big/e2e-image.json")
((big_size >= 50 * 1024 * 1024)) || fail "the big layer is only $big_size bytes"
http HEAD "/v2/library/e2e-big/blobs/$big_layer"
expect_status 200
expect_eq "$(hdr Content-Length)" "$big_size" "Content-Length of the 50 MiB layer"
# A ranged read of its tail matches the local bytes.
http GET "/v2/library/e2e-big/blobs/$big_layer" -H "Range: bytes=$((big_size - 4096))-"
expect_status 206
tail -c 4096 "$E2E_TMP/big/blobs/sha256/${big_layer#sha256:}" | cmp -s - "$HTTP_BODY" ||
  fail "the last 4096 bytes of the big layer differ from what was pushed"

log "skopeo inspect"
run_client inspect skopeo inspect --tls-verify=false "docker://$REG/library/e2e-multi:v1"
insp=$E2E_TMP/inspect.log
expect_eq "$(jq -r .Digest "$insp")" "$d_multi" "skopeo inspect .Digest"
expect_eq "$(jq -r .Name "$insp")" "$REG/library/e2e-multi" "skopeo inspect .Name"
expect_eq "$(jq -c .Layers "$insp")" "$(jq -c .layers "$E2E_TMP/multi/e2e-image.json")" "skopeo inspect .Layers"
expect_eq "$(jq -r .Architecture "$insp")/$(jq -r .Os "$insp")" "amd64/linux" "skopeo inspect platform"
expect_eq "$(jq -r '.Labels["berth.e2e.nonce"]' "$insp")" \
  "$(jq -r '.config.Labels["berth.e2e.nonce"]' "$E2E_TMP/multi/blobs/sha256/$(jq -r '.config | sub("sha256:"; "")' "$E2E_TMP/multi/e2e-image.json")")" \
  "skopeo inspect label from the config blob"
expect_eq "$(jq -c '.RepoTags | sort' "$insp")" '["v1","v2"]' "skopeo inspect .RepoTags"

run_client inspect-raw skopeo inspect --raw --tls-verify=false "docker://$REG/library/e2e-big:v1"
cmp -s "$E2E_TMP/inspect-raw.log" "$E2E_TMP/big/blobs/sha256/${d_big#sha256:}" ||
  fail "skopeo inspect --raw differs from the pushed manifest bytes"

run_client inspect-config skopeo inspect --config --raw --tls-verify=false "docker://$REG/library/e2e-single:v1"
cfg=$(jq -r .config "$E2E_TMP/single/e2e-image.json")
cmp -s "$E2E_TMP/inspect-config.log" "$E2E_TMP/single/blobs/sha256/${cfg#sha256:}" ||
  fail "skopeo inspect --config --raw differs from the pushed config blob"

log "skopeo list-tags"
run_client list-tags skopeo list-tags --tls-verify=false "docker://$REG/library/e2e-multi"
expect_eq "$(jq -r .Repository "$E2E_TMP/list-tags.log")" "$REG/library/e2e-multi" "list-tags .Repository"
expect_eq "$(jq -c '.Tags | sort' "$E2E_TMP/list-tags.log")" '["v1","v2"]' "list-tags of library/e2e-multi"
run_client list-tags-big skopeo list-tags --tls-verify=false "docker://$REG/library/e2e-big"
expect_eq "$(jq -c .Tags "$E2E_TMP/list-tags-big.log")" '["v1"]' "list-tags of library/e2e-big"

# A pull of something that does not exist fails.
if timeout "$E2E_CLIENT_TIMEOUT" skopeo inspect --tls-verify=false "docker://$REG/library/e2e-single:nope" \
  >"$E2E_TMP/missing.log" 2>&1; then
  fail "skopeo inspect of a missing tag succeeded"
fi
grep -qi "manifest unknown" "$E2E_TMP/missing.log" ||
  fail "skopeo's error for a missing tag does not say 'manifest unknown': $(cat "$E2E_TMP/missing.log")"

berthd_stop
