#!/usr/bin/env bash
# e2e_crash: berthd is killed with SIGKILL in the middle of concurrent pushes
# and restarted on the same data directory.
#
# Before the kill, in parallel:
#   - three skopeo pushes straight to berthd (5-9 MiB; these normally finish);
#   - three skopeo pushes through a throttling proxy (512 KiB/s per
#     connection) of images whose big layer (12-20 MiB) therefore cannot have
#     been completely received when the kill comes (asserted from the clock);
#   - chunked uploads with curl: one completed (PUT answered 201), one paused
#     after its first chunk, one with a rate-limited PATCH in flight and one
#     with a rate-limited final PUT in flight (512 KiB/s: some of their bytes
#     reach the disk, so they resume in the middle of the cut request).
# After the restart:
#   - every push that skopeo reported done is fully pullable, digests verified;
#   - a blob whose upload never completed is not visible (HEAD 404); any blob
#     of an interrupted push that is visible is complete and hashes right;
#   - each interrupted chunked upload either resumes (GET 204 + Range, PATCH
#     continuing at that offset, PUT ?digest= -> 201 with the right digest) or
#     fails cleanly with 404 BLOB_UPLOAD_UNKNOWN and is redone;
#   - re-pushing the interrupted images succeeds and they verify.
source "$(dirname "$0")/lib.sh"

readonly MiB=$((1024 * 1024))
readonly RATE=$((512 * 1024))      # bytes/s per proxied connection
readonly CHUNK_RATE=512k           # curl --limit-rate for in-flight chunks
readonly KILL_DEADLINE_MS=15000    # kill by then whatever happened
readonly CHUNK_REPO=library/e2e-crash-chunks
DATA=$E2E_TMP/data

now_ms() {
  local t=$EPOCHREALTIME
  echo $((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

log "preparing images and blobs"
direct=(a b c)
slow=(d e f)
make_image "$E2E_TMP/img-a" v1 $((1 * MiB)) $((4 * MiB)) >/dev/null
make_image "$E2E_TMP/img-b" v1 $((3 * MiB)) $((4 * MiB)) >/dev/null
make_image "$E2E_TMP/img-c" v1 $((2 * MiB)) $((7 * MiB)) >/dev/null
make_image "$E2E_TMP/img-d" v1 $((64 * 1024)) $((12 * MiB)) >/dev/null
make_image "$E2E_TMP/img-e" v1 $((64 * 1024)) $((16 * MiB)) >/dev/null
make_image "$E2E_TMP/img-f" v1 $((64 * 1024)) $((20 * MiB)) >/dev/null
# In-flight chunks (2, 3) need > 18 s at CHUNK_RATE: they are cut by the kill.
declare -A CHUNK_SIZE=([0]=$((3 * MiB)) [1]=$((3 * MiB)) [2]=$((12 * MiB)) [3]=$((10 * MiB)))
declare -A CHUNK_DIGEST CHUNK_LOC
for i in 0 1 2 3; do
  head -c "${CHUNK_SIZE[$i]}" /dev/urandom >"$E2E_TMP/chunk$i"
  CHUNK_DIGEST[$i]=$(sha256_of "$E2E_TMP/chunk$i")
done

berthd_start "$DATA"
bg_start proxy "$PY" "$HELPER" throttle-proxy "$E2E_TMP/proxy.port" "$REG" "$RATE"
deadline=$((SECONDS + 30))
until [[ -s $E2E_TMP/proxy.port ]]; do
  bg_running proxy || fail "throttling proxy exited: $(cat "$E2E_TMP/proxy.log")"
  ((SECONDS < deadline)) || fail "throttling proxy did not start"
  sleep 0.05
done
PROXY=127.0.0.1:$(cat "$E2E_TMP/proxy.port")
containers_setup "$PROXY"

# upload_url LOC: absolute URL of an upload Location.
upload_url() { if [[ $1 == http://* ]]; then echo "$1"; else echo "$REG_URL$1"; fi; }

# patch_part I LOC OFFSET LENGTH: PATCHes bytes [OFFSET, OFFSET+LENGTH) of
# chunk I with a Content-Range; expects 202 and the new Range.
patch_part() {
  local i=$1 loc=$2 off=$3 len=$4
  dd if="$E2E_TMP/chunk$i" of="$E2E_TMP/part" bs=1M iflag=skip_bytes,count_bytes \
    skip="$off" count="$len" status=none
  http PATCH "$loc" -H 'Content-Type: application/octet-stream' \
    -H "Content-Range: $off-$((off + len - 1))" --data-binary "@$E2E_TMP/part"
  expect_status 202
  expect_eq "$(hdr Range)" "0-$((off + len - 1))" "Range after PATCHing chunk $i at $off"
}

# start_upload I: POST, then PATCH the first MiB of chunk I.
start_upload() {
  http POST "/v2/$CHUNK_REPO/blobs/uploads/"
  expect_status 202
  CHUNK_LOC[$1]=$(hdr Location)
  patch_part "$1" "${CHUNK_LOC[$1]}" 0 "$MiB"
}

log "chunked uploads before the storm"
start_upload 0
patch_part 0 "${CHUNK_LOC[0]}" "$MiB" $((CHUNK_SIZE[0] - MiB))
sep='?'
[[ ${CHUNK_LOC[0]} == *\?* ]] && sep='&'
http PUT "${CHUNK_LOC[0]}${sep}digest=${CHUNK_DIGEST[0]}"
expect_status 201
start_upload 1
start_upload 2
start_upload 3
for i in 2 3; do
  tail -c +$((MiB + 1)) "$E2E_TMP/chunk$i" >"$E2E_TMP/chunk$i.rest"
done

log "concurrent pushes"
t_start=$(now_ms)
declare -A PUSH_RC
for x in "${direct[@]}"; do
  bg_start "push-$x" skopeo copy --retry-times 0 --dest-tls-verify=false --digestfile "$E2E_TMP/digest-$x" \
    "oci:$E2E_TMP/img-$x:v1" "docker://$REG/library/e2e-crash-$x:v1"
done
for x in "${slow[@]}"; do
  bg_start "push-$x" skopeo copy --retry-times 0 --dest-tls-verify=false --digestfile "$E2E_TMP/digest-$x" \
    "oci:$E2E_TMP/img-$x:v1" "docker://$PROXY/library/e2e-crash-$x:v1"
done
bg_start chunk-patch curl -sS -u "$E2E_USER:$E2E_PASSWORD" --limit-rate "$CHUNK_RATE" -X PATCH -H 'Content-Type: application/octet-stream' \
  -H "Content-Range: $MiB-$((CHUNK_SIZE[2] - 1))" --data-binary "@$E2E_TMP/chunk2.rest" \
  "$(upload_url "${CHUNK_LOC[2]}")"
sep='?'
[[ ${CHUNK_LOC[3]} == *\?* ]] && sep='&'
bg_start chunk-put curl -sS -u "$E2E_USER:$E2E_PASSWORD" --limit-rate "$CHUNK_RATE" -X PUT -H 'Content-Type: application/octet-stream' \
  -H "Content-Range: $MiB-$((CHUNK_SIZE[3] - 1))" --data-binary "@$E2E_TMP/chunk3.rest" \
  "$(upload_url "${CHUNK_LOC[3]}")${sep}digest=${CHUNK_DIGEST[3]}"

# Kill once the direct pushes are over (but not before 3 s, so that the
# throttled ones are well under way), and by the deadline in any case.
while :; do
  elapsed=$(($(now_ms) - t_start))
  ((elapsed >= KILL_DEADLINE_MS)) && break
  if ((elapsed >= 3000)); then
    busy=0
    for x in "${direct[@]}"; do bg_running "push-$x" && busy=1; done
    ((busy == 0)) && break
  fi
  sleep 0.1
done
for job in push-d push-e push-f chunk-patch chunk-put; do
  bg_running "$job" || fail "setup: $job ended before the kill ($(tail -n 3 "$E2E_TMP/$job.log"))"
done
berthd_kill9
t_kill=$(($(now_ms) - t_start))
kill -TERM "${BG_PIDS[proxy]}"
bg_wait proxy 30
log "killed after $t_kill ms"
# The proxied big layers cannot have been received completely by then.
for x in "${slow[@]}"; do
  big=$(jq -r '.layer_sizes[1]' "$E2E_TMP/img-$x/e2e-image.json")
  min_ms=$(((big - 65536 - 16384) * 1000 / RATE))
  ((t_kill < min_ms)) || fail "setup: killed at $t_kill ms, but the $big-byte layer of $x could be complete after $min_ms ms"
done

completed=()
interrupted=()
for x in "${direct[@]}" "${slow[@]}"; do
  bg_wait "push-$x" 120
  PUSH_RC[$x]=$BG_RC
  if ((BG_RC == 0)); then
    expect_eq "$(cat "$E2E_TMP/digest-$x")" "$(jq -r .manifest "$E2E_TMP/img-$x/e2e-image.json")" "digest skopeo pushed for $x"
    completed+=("$x")
  else
    interrupted+=("$x")
  fi
done
for job in chunk-patch chunk-put; do
  bg_wait "$job" 120
  ((BG_RC != 0)) || fail "setup: $job got an answer although berthd was killed: $(cat "$E2E_TMP/$job.log")"
done
log "pushes completed before the kill: ${completed[*]:-none}; interrupted: ${interrupted[*]}"
((${#completed[@]} >= 1)) || fail "no push completed within $t_kill ms: nothing to check for durability"
for x in "${slow[@]}"; do
  ((PUSH_RC[$x] != 0)) || fail "throttled push $x succeeded despite the kill"
done

log "restarting berthd on the same data directory"
berthd_start "$DATA"
containers_setup

log "completed pushes are intact"
for x in "${completed[@]}"; do
  pull_verify "$REG/library/e2e-crash-$x:v1" "$(cat "$E2E_TMP/digest-$x")" "$E2E_TMP/img-$x"
done

log "interrupted pushes left nothing incomplete visible"
visible=0
for x in "${interrupted[@]}"; do
  repo=library/e2e-crash-$x
  http GET "/v2/$repo/manifests/v1" -H "Accept: application/vnd.oci.image.manifest.v1+json"
  expect_status 404
  code=$(jq -r '.errors[0].code' "$HTTP_BODY")
  [[ $code == MANIFEST_UNKNOWN || $code == NAME_UNKNOWN ]] || fail "manifest of interrupted $x: error code $code"
  summary=$E2E_TMP/img-$x/e2e-image.json
  big=""
  [[ " ${slow[*]} " == *" $x "* ]] && big=$(jq -r '.layers[1]' "$summary")
  for blob in $(jq -r '.blobs[]' "$summary"); do
    http HEAD "/v2/$repo/blobs/$blob"
    if [[ $blob == "$big" ]]; then
      expect_status 404
    elif [[ $HTTP_STATUS == 200 ]]; then
      expect_eq "$(hdr Content-Length)" "$(stat -c %s "$E2E_TMP/img-$x/blobs/sha256/${blob#sha256:}")" "size of visible blob $blob"
      fetch_blob "$repo" "$blob"
      visible=$((visible + 1))
    else
      expect_status 404
    fi
  done
done
log "$visible blobs of interrupted pushes were complete and visible; all verified"

log "chunked uploads"
fetch_blob "$CHUNK_REPO" "${CHUNK_DIGEST[0]}"
cmp -s "$HTTP_BODY" "$E2E_TMP/chunk0" || fail "chunk 0 differs after the restart"
resumed=0
restarted=0
for i in 1 2 3; do
  d=${CHUNK_DIGEST[$i]}
  size=${CHUNK_SIZE[$i]}
  loc=${CHUNK_LOC[$i]}
  http HEAD "/v2/$CHUNK_REPO/blobs/$d"
  expect_status 404
  http GET "$loc"
  if [[ $HTTP_STATUS == 204 ]]; then
    range=$(hdr Range)
    [[ $range =~ ^0-([0-9]+)$ ]] || fail "upload $i: Range '$range' after the restart"
    offset=$((BASH_REMATCH[1] + 1))
    [[ -n $(hdr Docker-Upload-UUID) ]] || fail "upload $i: no Docker-Upload-UUID on its status"
    ((offset >= MiB && offset <= size)) || fail "upload $i resumes at $offset, outside [$MiB, $size]"
    # Upload 1 was idle at the kill: exactly its first MiB is there.
    ((i != 1 || offset == MiB)) || fail "upload 1 resumes at $offset, expected exactly $MiB"
    log "upload $i resumes at offset $offset of $size"
    ((offset < size)) && patch_part "$i" "$loc" "$offset" $((size - offset))
    sep='?'
    [[ $loc == *\?* ]] && sep='&'
    http PUT "$loc${sep}digest=$d"
    expect_status 201
    expect_eq "$(hdr Docker-Content-Digest)" "$d" "Docker-Content-Digest of resumed upload $i"
    [[ $(hdr Location) == *"/v2/$CHUNK_REPO/blobs/$d" ]] || fail "Location of resumed upload $i: $(hdr Location)"
    resumed=$((resumed + 1))
  else
    expect_status 404
    expect_error BLOB_UPLOAD_UNKNOWN
    log "upload $i is gone after the restart (404 BLOB_UPLOAD_UNKNOWN); uploading again"
    http POST "/v2/$CHUNK_REPO/blobs/uploads/?digest=$d" -H 'Content-Type: application/octet-stream' \
      --data-binary "@$E2E_TMP/chunk$i"
    expect_status 201
    restarted=$((restarted + 1))
  fi
  fetch_blob "$CHUNK_REPO" "$d"
  cmp -s "$HTTP_BODY" "$E2E_TMP/chunk$i" || fail "chunk $i differs from what was uploaded"
done
log "chunked uploads: $resumed resumed, $restarted redone"

log "re-pushing the interrupted images"
for x in "${interrupted[@]}"; do
  d=$(push_layout "$E2E_TMP/img-$x" v1 "$REG/library/e2e-crash-$x:v1")
  pull_verify "$REG/library/e2e-crash-$x:v1" "$d" "$E2E_TMP/img-$x"
done

berthd_stop
