#!/usr/bin/env bash
# s3_registry: berthd on storage-s3 (radosgw, redirect on). Checks:
#   - a chunked upload whose PATCHes each end a writer (writer_close) and the
#     next resumes it (writer_open append): 6 MiB + 3 MiB + 4 MiB + 1 byte on
#     the final PUT, so multipart parts of 5 MiB and buffered tails cross
#     PATCH boundaries; the upload's status reports the size in between; the
#     blob reads back byte for byte;
#   - blob GETs answer 307 to a presigned radosgw URL that works without
#     berthd's credentials, while a tampered signature is refused by radosgw;
#     HEAD is answered by berthd itself;
#   - skopeo pushes and pulls a 12 MiB image, following the redirects;
#   - moves of blobs over 5 MiB use UploadPartCopy (threshold lowered to 5 MiB).
# Run with E2E_S3_JSON=<radosgw fixture>/s3.json (see tests/s3/CMakeLists.txt).
source "$(dirname "$0")/../e2e/lib.sh"
[[ -n ${E2E_S3_JSON:-} ]] || fail "E2E_S3_JSON must name the radosgw fixture's s3.json"
export E2E_S3_REDIRECT=true
# Moves (upload -> blob) above 5 MiB go through multipart UploadPartCopy in
# 5 MiB parts here, the path objects past CopyObject's 5 GiB limit take.
export E2E_S3_EXTRA_CONFIG="    multipart_copy_threshold: 5242880
    multipart_copy_part_size: 5242880"
S3_ENDPOINT=$(jq -r .endpoint "$E2E_S3_JSON")

berthd_start
containers_setup
grep -q '"storage-s3: bucket ' "$BERTHD_LOG" || fail "berthd did not start on storage-s3"

log "a chunked upload across writer close/reopen"
head -c $((13 * 1024 * 1024 + 1)) /dev/urandom >"$E2E_TMP/blob"
digest=sha256:$(sha256sum "$E2E_TMP/blob" | cut -d' ' -f1)
http POST /v2/library/s3-chunked/blobs/uploads/
expect_status 202
loc=$(hdr Location)
offset=0
for mib in 6 3 4; do
  n=$((mib * 1024 * 1024))
  dd if="$E2E_TMP/blob" of="$E2E_TMP/chunk" iflag=skip_bytes,count_bytes skip=$offset count=$n status=none
  http PATCH "$loc" -H "Content-Type: application/octet-stream" \
    -H "Content-Range: $offset-$((offset + n - 1))" --data-binary "@$E2E_TMP/chunk"
  expect_status 202
  offset=$((offset + n))
  expect_eq "$(hdr Range)" "0-$((offset - 1))" "Range after a $mib MiB PATCH"
  loc=$(hdr Location)
  # The upload's status comes from storage (stat of the unfinished upload).
  http GET "$loc"
  expect_status 204
  expect_eq "$(hdr Range)" "0-$((offset - 1))" "upload status after $offset bytes"
done
dd if="$E2E_TMP/blob" of="$E2E_TMP/chunk" iflag=skip_bytes skip=$offset status=none
sep='?'
[[ $loc == *\?* ]] && sep='&'
http PUT "$loc${sep}digest=$digest" -H "Content-Type: application/octet-stream" \
  --data-binary "@$E2E_TMP/chunk"
expect_status 201

log "blob GETs redirect to presigned URLs"
http HEAD "/v2/library/s3-chunked/blobs/$digest"
expect_status 200
expect_eq "$(hdr Content-Length)" "$((13 * 1024 * 1024 + 1))" "HEAD Content-Length"
http GET "/v2/library/s3-chunked/blobs/$digest"
expect_status 307
url=$(hdr Location)
[[ $url == "$S3_ENDPOINT/"*X-Amz-Signature=* ]] || fail "Location is not a presigned URL on $S3_ENDPOINT: $url"
HTTP_AUTH=0 http GET "$url"
expect_status 200
cmp -s "$HTTP_BODY" "$E2E_TMP/blob" || fail "the presigned URL served other bytes than were uploaded"
# Ranges go straight to S3 too.
HTTP_AUTH=0 http GET "$url" -H "Range: bytes=$((6 * 1024 * 1024 - 10))-$((6 * 1024 * 1024 + 9))"
expect_status 206
dd if="$E2E_TMP/blob" of="$E2E_TMP/range" iflag=skip_bytes,count_bytes skip=$((6 * 1024 * 1024 - 10)) count=20 status=none
cmp -s "$E2E_TMP/range" "$HTTP_BODY" ||
  fail "a ranged read across the first part boundary differs"
# radosgw checks the signature: one changed character is refused.
sig=${url##*X-Amz-Signature=}
bad=${url%X-Amz-Signature=*}X-Amz-Signature=$(echo "$sig" | tr '0-9a-f' '1-9a-f0')
HTTP_AUTH=0 http GET "$bad"
expect_status 403
grep -q SignatureDoesNotMatch "$HTTP_BODY" || fail "tampered URL: $(cat "$HTTP_BODY")"
# A blob the repository does not have is still refused by berthd, not redirected.
http GET "/v2/library/s3-chunked/blobs/sha256:$(printf '%064d' 0)"
expect_status 404

log "skopeo push and pull through redirects"
make_image "$E2E_TMP/img" v1 $((12 * 1024 * 1024)) $((100 * 1024)) >/dev/null
d=$(push_layout "$E2E_TMP/img" v1 "$REG/library/s3-img:v1")
pull_verify "$REG/library/s3-img:v1" "$d" "$E2E_TMP/img"

berthd_stop
