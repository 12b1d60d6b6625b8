#!/usr/bin/env bash
# e2e_helm: Helm charts as OCI artifacts, the way Harbor stores them. helm 3.17
# (fetched from npm into the build tree's cache, see tools.sh) logs in, pushes
# two versions of a chart it created and packaged (one with semver build
# metadata, which helm tags with '_' for '+'), pulls both back byte-identical,
# resolves the latest version and a range through the tag list, and reads
# Chart.yaml / values / rendered templates from the registry. curl checks the
# manifest (helm config and chart layer media types, annotations, digests) and
# the tag list. A private project: the logged-in helm pushes and pulls there,
# the logged-out one still pulls from the public project but not from it.
source "$(dirname "$0")/lib.sh"
source "$E2E_DIR/tools.sh"

readonly OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
readonly HELM_CONFIG=application/vnd.cncf.helm.config.v1+json
readonly HELM_CHART=application/vnd.cncf.helm.chart.content.v1.tar+gzip
readonly CHART=e2e-chart

ensure_helm
berthd_start

export HELM_CONFIG_HOME=$E2E_TMP/helm/config HELM_CACHE_HOME=$E2E_TMP/helm/cache
export HELM_DATA_HOME=$E2E_TMP/helm/data HELM_REGISTRY_CONFIG=$E2E_TMP/helm/registry.json
export KUBECONFIG=$E2E_TMP/helm/no-kubeconfig
unset HELM_DRIVER HELM_NAMESPACE HELM_KUBECONTEXT HELM_DEBUG 2>/dev/null || true
mkdir -p "$HELM_CONFIG_HOME" "$HELM_CACHE_HOME" "$HELM_DATA_HOME"

# helm_ok NAME ARGS...: runs helm (output in $E2E_TMP/NAME.log), must succeed.
helm_ok() {
  local name=$1
  shift
  run_client "$name" "$HELM" "$@"
}

# helm_fails NAME PATTERN ARGS...: helm must fail, saying PATTERN (grep -Ei).
helm_fails() {
  local name=$1 pattern=$2
  shift 2
  if timeout "$E2E_CLIENT_TIMEOUT" "$HELM" "$@" >"$E2E_TMP/$name.log" 2>&1; then
    fail "'helm $*' succeeded, expected a failure: $(cat "$E2E_TMP/$name.log")"
  fi
  grep -Eqi "$pattern" "$E2E_TMP/$name.log" ||
    fail "'helm $*' failed without saying /$pattern/: $(cat "$E2E_TMP/$name.log")"
}

# package VERSION: packages the chart at that version, with a fresh nonce in
# its values; sets PKG (the archive) and NONCE.
package() {
  local version=$1
  NONCE=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
  sed -i "s/^version:.*/version: $version/" "$E2E_TMP/src/$CHART/Chart.yaml"
  sed -i "s/^e2eNonce:.*/e2eNonce: \"$NONCE\"/" "$E2E_TMP/src/$CHART/values.yaml"
  mkdir -p "$E2E_TMP/pkg-$version"
  helm_ok "package-$version" package "$E2E_TMP/src/$CHART" -d "$E2E_TMP/pkg-$version"
  PKG=$E2E_TMP/pkg-$version/$CHART-$version.tgz
  [[ -s $PKG ]] || fail "helm package did not write $PKG: $(cat "$E2E_TMP/package-$version.log")"
}

# push PKG PROJECT: helm push; prints the digest helm reports.
push() {
  local pkg=$1 project=$2
  local name=push-$project-$RANDOM
  helm_ok "$name" push "$pkg" "oci://$REG/$project" --plain-http
  local digest
  digest=$(awk '$1 == "Digest:" { print $2 }' "$E2E_TMP/$name.log")
  [[ $digest == sha256:* ]] || fail "helm push printed no digest: $(cat "$E2E_TMP/$name.log")"
  echo "$digest"
}

# check_chart_manifest PROJECT TAG VERSION DIGEST PKG: what helm pushed, as curl sees it.
check_chart_manifest() {
  local project=$1 tag=$2 version=$3 digest=$4 pkg=$5 repo=$1/$CHART
  http GET "/v2/$repo/manifests/$tag" -H "Accept: $OCI_MANIFEST"
  expect_status 200
  expect_eq "$(hdr Content-Type)" "$OCI_MANIFEST" "Content-Type of $repo:$tag"
  expect_eq "$(hdr Docker-Content-Digest)" "$digest" "Docker-Content-Digest of $repo:$tag (helm push said)"
  expect_eq "$(sha256_of "$HTTP_BODY")" "$digest" "sha256 of the manifest of $repo:$tag"
  local m=$E2E_TMP/manifest-$project-$tag.json
  cp "$HTTP_BODY" "$m"
  expect_eq "$(jq -r .schemaVersion "$m")" 2 "schemaVersion of $repo:$tag"
  expect_eq "$(jq -r .config.mediaType "$m")" "$HELM_CONFIG" "config media type of $repo:$tag"
  expect_eq "$(jq '.layers | length' "$m")" 1 "number of layers of $repo:$tag"
  expect_eq "$(jq -r '.layers[0].mediaType' "$m")" "$HELM_CHART" "layer media type of $repo:$tag"
  expect_eq "$(jq -r '.layers[0].digest' "$m")" "$(sha256_of "$pkg")" "layer digest of $repo:$tag vs the packaged chart"
  expect_eq "$(jq -r '.layers[0].size' "$m")" "$(stat -c %s "$pkg")" "layer size of $repo:$tag"
  expect_eq "$(jq -r '.annotations["org.opencontainers.image.title"]' "$m")" "$CHART" "title annotation of $repo:$tag"
  expect_eq "$(jq -r '.annotations["org.opencontainers.image.version"]' "$m")" "$version" "version annotation of $repo:$tag"
  # The chart layer is the archive, byte for byte; the config is Chart.yaml as JSON.
  fetch_blob "$repo" "$(jq -r '.layers[0].digest' "$m")"
  cmp -s "$HTTP_BODY" "$pkg" || fail "the chart layer of $repo:$tag differs from $pkg"
  fetch_blob "$repo" "$(jq -r .config.digest "$m")"
  expect_eq "$(jq -r .name "$HTTP_BODY")/$(jq -r .version "$HTTP_BODY")/$(jq -r .apiVersion "$HTTP_BODY")" \
    "$CHART/$version/v2" "name/version/apiVersion in the helm config blob of $repo:$tag"
  http HEAD "/v2/$repo/manifests/$tag" -H "Accept: $OCI_MANIFEST"
  expect_status 200
  expect_eq "$(hdr Docker-Content-Digest)" "$digest" "Docker-Content-Digest of HEAD $repo:$tag"
  expect_eq "$(hdr Content-Length)" "$(stat -c %s "$m")" "Content-Length of HEAD $repo:$tag"
}

# pull_check REF VERSION PKG [helm args]: helm pull gives back PKG byte for byte.
pull_check() {
  local ref=$1 version=$2 pkg=$3
  shift 3
  local d=$E2E_TMP/pulled.$RANDOM$RANDOM
  mkdir -p "$d"
  helm_ok "pull-${version//[^a-z0-9]/_}-$RANDOM" pull "$ref" --plain-http -d "$d" "$@"
  local got=("$d"/*)
  [[ ${#got[@]} -eq 1 && -f ${got[0]} ]] || fail "helm pull $ref $* wrote '$(ls "$d")', expected one archive"
  # (helm 3.17 names the file after the reference when it holds a digest)
  [[ $ref == *@* || ${got[0]} == "$d/$CHART-$version.tgz" ]] ||
    fail "helm pull $ref $* wrote ${got[0]##*/}, expected $CHART-$version.tgz"
  cmp -s "${got[0]}" "$pkg" || fail "helm pull $ref $* gave an archive that differs from $pkg"
  rm -rf "$d"
}

# ------------------------------------------------------------------ login
log "helm registry login"
helm_fails login-bad 'unauthorized|401|denied|authenticat' \
  registry login "$REG" --insecure -u "$E2E_USER" -p "not-$E2E_PASSWORD"
helm_ok login registry login "$REG" --insecure -u "$E2E_USER" -p "$E2E_PASSWORD"
grep -q "Login Succeeded" "$E2E_TMP/login.log" || fail "helm registry login did not say 'Login Succeeded': $(cat "$E2E_TMP/login.log")"
jq -e --arg r "$REG" '.auths[$r].auth' "$HELM_REGISTRY_CONFIG" >/dev/null ||
  fail "helm's registry config holds no credentials for $REG: $(cat "$HELM_REGISTRY_CONFIG")"

# What helm does for every token: an OAuth2 POST with a form body, refused
# (405, as Harbor's token service does), then the GET on the same keep-alive
# connection, which must not be read as the rest of the POST's body.
pair=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code}/%{num_connects} ' -X POST \
  --data "grant_type=password&username=$E2E_USER&password=nope&service=harbor-registry&scope=repository%3Alibrary%2F$CHART%3Apull" \
  "$REG_URL/service/token" \
  --next -sS --max-time 60 -o /dev/null -w '%{http_code}/%{num_connects}' -u "$E2E_USER:$E2E_PASSWORD" \
  "$REG_URL/service/token?service=harbor-registry&scope=repository%3Alibrary%2F$CHART%3Apull") ||
  fail "curl POST then GET /service/token failed"
expect_eq "$pair" "405/1 200/0" "token POST then GET on one connection (status/new connections)"

http POST /api/v2.0/projects -H 'Content-Type: application/json' \
  --data '{"project_name": "e2e-charts", "metadata": {"public": "false"}}'
expect_status 201

# ---------------------------------------------------------- first version
log "helm create, package, push 0.1.0"
mkdir -p "$E2E_TMP/src"
helm_ok create create "$E2E_TMP/src/$CHART"
echo 'e2eNonce: ""' >>"$E2E_TMP/src/$CHART/values.yaml"
cat >"$E2E_TMP/src/$CHART/templates/e2e-configmap.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "e2e-chart.fullname" . }}-e2e
data:
  nonce: {{ .Values.e2eNonce | quote }}
  chartVersion: {{ .Chart.Version | quote }}
EOF
helm_ok lint lint "$E2E_TMP/src/$CHART"
package 0.1.0
pkg1=$PKG nonce1=$NONCE
d1=$(push "$pkg1" library)
check_chart_manifest library 0.1.0 0.1.0 "$d1" "$pkg1"
http GET "/v2/library/$CHART/tags/list"
expect_status 200
expect_eq "$(jq -c .tags "$HTTP_BODY")" '["0.1.0"]' "tags of library/$CHART after the first push"
expect_eq "$(jq -r .name "$HTTP_BODY")" "library/$CHART" "name in the tag list"

log "the artifact API sees a CHART with Harbor's additions"
http GET "/api/v2.0/projects/library/repositories/$CHART/artifacts/0.1.0"
expect_status 200
expect_eq "$(jq -r .type "$HTTP_BODY")" CHART "type of the chart helm pushed"
expect_eq "$(jq -r .digest "$HTTP_BODY")" "$d1" "digest of the chart artifact"
expect_eq "$(jq -r .extra_attrs.version "$HTTP_BODY")" 0.1.0 "extra_attrs.version of the chart"
expect_eq "$(jq -r '.addition_links | keys | join(",")' "$HTTP_BODY")" "dependencies,readme.md,values.yaml" \
  "addition links of the chart"
http GET "/api/v2.0/projects/library/repositories/$CHART/artifacts/0.1.0/additions/values.yaml"
expect_status 200
grep -q "e2eNonce: \"$nonce1\"" "$HTTP_BODY" || fail "values.yaml addition lacks the packaged nonce"
http GET "/api/v2.0/projects/library/repositories/$CHART/artifacts/0.1.0/additions/dependencies"
expect_status 200
expect_eq "$(jq -c . "$HTTP_BODY")" "[]" "dependencies of a chart without any"

log "helm pull / show / template 0.1.0"
pull_check "oci://$REG/library/$CHART" 0.1.0 "$pkg1" --version 0.1.0
helm_ok show-chart-1 show chart "oci://$REG/library/$CHART" --version 0.1.0 --plain-http
grep -qx "name: $CHART" "$E2E_TMP/show-chart-1.log" || fail "helm show chart lacks 'name: $CHART': $(cat "$E2E_TMP/show-chart-1.log")"
grep -qx "version: 0.1.0" "$E2E_TMP/show-chart-1.log" || fail "helm show chart lacks 'version: 0.1.0': $(cat "$E2E_TMP/show-chart-1.log")"
grep -qx "apiVersion: v2" "$E2E_TMP/show-chart-1.log" || fail "helm show chart lacks 'apiVersion: v2': $(cat "$E2E_TMP/show-chart-1.log")"
helm_ok show-values-1 show values "oci://$REG/library/$CHART" --version 0.1.0 --plain-http
grep -qx "e2eNonce: \"$nonce1\"" "$E2E_TMP/show-values-1.log" || fail "helm show values lacks the nonce $nonce1"
helm_ok template-1 template e2e "oci://$REG/library/$CHART" --version 0.1.0 --plain-http
grep -q "nonce: \"$nonce1\"" "$E2E_TMP/template-1.log" || fail "helm template from the registry lacks the nonce $nonce1"

# --------------------------------------------------------- second version
# Semver build metadata: helm tags 0.2.0+build.7 as 0.2.0_build.7 (OCI tags
# have no '+') and maps it back when it resolves versions.
log "second version 0.2.0+build.7"
v2=0.2.0+build.7 t2=0.2.0_build.7
package "$v2"
pkg2=$PKG nonce2=$NONCE
[[ $nonce2 != "$nonce1" ]] || fail "the two versions have the same nonce"
d2=$(push "$pkg2" library)
[[ $d2 != "$d1" ]] || fail "both versions were pushed with digest $d1"
check_chart_manifest library "$t2" "$v2" "$d2" "$pkg2"
http GET "/v2/library/$CHART/tags/list"
expect_status 200
expect_eq "$(jq -c '.tags | sort' "$HTTP_BODY")" "[\"0.1.0\",\"$t2\"]" "tags of library/$CHART after the second push"
# The first version is untouched.
check_chart_manifest library 0.1.0 0.1.0 "$d1" "$pkg1"

log "pulling both versions, the latest, a range, by digest"
pull_check "oci://$REG/library/$CHART" 0.1.0 "$pkg1" --version 0.1.0
pull_check "oci://$REG/library/$CHART" "$v2" "$pkg2" --version "$v2"
# No version: helm lists the tags and takes the highest.
pull_check "oci://$REG/library/$CHART" "$v2" "$pkg2"
# A range that only the first version satisfies.
pull_check "oci://$REG/library/$CHART" 0.1.0 "$pkg1" --version '~0.1'
# Tag and digest together: helm checks the manifest digest it gets.
pull_check "oci://$REG/library/$CHART:0.1.0@$d1" 0.1.0 "$pkg1"
helm_ok show-chart-2 show chart "oci://$REG/library/$CHART" --version "$v2" --plain-http
grep -qx "version: $v2" "$E2E_TMP/show-chart-2.log" || fail "helm show chart of $v2 lacks 'version: $v2': $(cat "$E2E_TMP/show-chart-2.log")"
helm_ok template-2 template e2e "oci://$REG/library/$CHART" --plain-http
grep -q "nonce: \"$nonce2\"" "$E2E_TMP/template-2.log" || fail "helm template of the latest version lacks the nonce $nonce2"
grep -q "chartVersion: \"$v2\"" "$E2E_TMP/template-2.log" || fail "helm template of the latest version lacks chartVersion $v2"
helm_fails pull-missing 'not found|unknown|no such|404' pull "oci://$REG/library/$CHART" --version 9.9.9 --plain-http -d "$E2E_TMP"

# --------------------------------------------------------- private project
log "private project: push and pull logged in, refused once logged out"
dp=$(push "$pkg1" e2e-charts)
expect_eq "$dp" "$d1" "digest of the same chart pushed into e2e-charts"
check_chart_manifest e2e-charts 0.1.0 0.1.0 "$dp" "$pkg1"
pull_check "oci://$REG/e2e-charts/$CHART" 0.1.0 "$pkg1" --version 0.1.0
HTTP_AUTH=0 http GET "/v2/e2e-charts/$CHART/manifests/0.1.0" -H "Accept: $OCI_MANIFEST"
expect_status 401

helm_ok logout registry logout "$REG"
jq -e --arg r "$REG" '.auths[$r] == null' "$HELM_REGISTRY_CONFIG" >/dev/null ||
  fail "helm registry logout left credentials for $REG: $(cat "$HELM_REGISTRY_CONFIG")"
# Anonymous pulls: the public project serves them, the private one does not.
pull_check "oci://$REG/library/$CHART" "$v2" "$pkg2" --version "$v2"
helm_fails pull-private-anon 'unauthorized|401|denied|forbidden|403|not found|404' \
  pull "oci://$REG/e2e-charts/$CHART" --version 0.1.0 --plain-http -d "$E2E_TMP"
package 0.3.0
helm_fails push-anon 'unauthorized|401|denied|forbidden|403' \
  push "$PKG" "oci://$REG/library" --plain-http
http GET "/v2/library/$CHART/tags/list"
expect_eq "$(jq -c '.tags | sort' "$HTTP_BODY")" "[\"0.1.0\",\"$t2\"]" "tags of library/$CHART after the refused anonymous push"

berthd_stop
