#!/usr/bin/env bash
# s3_signature: the radosgw the S3 tests run on really checks SigV4
# signatures, so passing tests prove storage-s3 signs correctly:
#   - a request signed with the right secret is answered 200;
#   - the same request signed with a wrong secret is refused (403
#     SignatureDoesNotMatch), and so is an unknown access key;
#   - berthd configured with a wrong secret refuses to start and says why.
# Usage: signature.sh S3_JSON BERTHD
set -euo pipefail
s3=$1 berthd=$2
endpoint=$(jq -r .endpoint "$s3") region=$(jq -r .region "$s3") bucket=$(jq -r .bucket "$s3")
ak=$(jq -r .access_key "$s3") sk=$(jq -r .secret_key "$s3")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# curl signs with SigV4; it signs x-amz-content-sha256 but does not add it.
signed() {  # KEY SECRET -> prints "status code"
  local status
  status=$(curl -sS -o "$tmp/body" -w '%{http_code}' --aws-sigv4 "aws:amz:$region:s3" \
    --user "$1:$2" -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    "$endpoint/$bucket?list-type=2&max-keys=1")
  echo "$status $(sed -n 's:.*<Code>\([^<]*\)</Code>.*:\1:p' "$tmp/body")"
}

got=$(signed "$ak" "$sk")
[[ $got == "200 " ]] || fail "right secret: expected 200, got '$got'"
got=$(signed "$ak" "${sk}x")
[[ $got == "403 SignatureDoesNotMatch" ]] || fail "wrong secret: expected 403 SignatureDoesNotMatch, got '$got'"
got=$(signed "NOSUCHKEY0000000000" "$sk")
[[ $got == "403 InvalidAccessKeyId" ]] || fail "unknown access key: expected 403 InvalidAccessKeyId, got '$got'"
# Unsigned: anonymous access to the bucket is refused too.
status=$(curl -sS -o /dev/null -w '%{http_code}' "$endpoint/$bucket?list-type=2")
[[ $status == 403 ]] || fail "anonymous list: expected 403, got $status"
echo "radosgw: right secret 200, wrong secret and unknown key 403, anonymous 403"

# berthd with a wrong secret_key: the driver's start-up check fails clearly.
cat >"$tmp/berth.yml" <<YML
storage:
  driver: s3
  config:
    endpoint: $endpoint
    region: $region
    bucket: $bucket
    access_key: $ak
    force_path_style: true
YML
rc=0
( cd "$tmp" && BERTH_CONFIG=$tmp/berth.yml BERTH_LISTEN=127.0.0.1:0 BERTH_DATA_DIR=$tmp/data \
    BERTH_SECRET_S3_SECRET_KEY="${sk}x" timeout 60 "$berthd" >"$tmp/out" 2>"$tmp/err" ) || rc=$?
[[ $rc -ne 0 ]] || fail "berthd started with a wrong secret key"
grep -q "SignatureDoesNotMatch" "$tmp/err" || fail "berthd's error does not name the signature: $(tail -5 "$tmp/err")"
grep -q "check access_key and secret_key" "$tmp/err" || fail "berthd's error gives no hint: $(tail -5 "$tmp/err")"
echo "berthd with a wrong secret (from BERTH_SECRET_S3_SECRET_KEY) refused to start: $(grep -o 'storage-s3: [^"]*' "$tmp/err" | head -1)"
# The right secret through the same host secret: berthd starts.
( cd "$tmp" && BERTH_CONFIG=$tmp/berth.yml BERTH_LISTEN=127.0.0.1:0 BERTH_DATA_DIR=$tmp/data2 \
    BERTH_SECRET_S3_SECRET_KEY="$sk" exec setpriv --pdeathsig KILL -- "$berthd" >"$tmp/out2" 2>"$tmp/err2" ) &
pid=$!
for _ in $(seq 1 300); do
  grep -q ' listening on ' "$tmp/out2" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || fail "berthd with the right secret exited: $(tail -5 "$tmp/err2")"
  sleep 0.1
done
grep -q ' listening on ' "$tmp/out2" || fail "berthd with the right secret did not start"
kill -TERM $pid
wait $pid || fail "berthd exited non-zero after SIGTERM"
echo "berthd with the right secret (from BERTH_SECRET_S3_SECRET_KEY) started and stopped"
