#!/usr/bin/env bash
# e2e_podman_search: `podman search HOST/prefix` against berthd. podman asks
# the token service for a token without a scope and lists /v2/_catalog with
# it; an administrator's token carries registry:catalog:*, so the search
# finds the repositories (and only those matching the term). A user who is
# not an administrator gets what Harbor gives: 401 on the catalog, and the
# search fails without listing anything.
source "$(dirname "$0")/lib.sh"

berthd_start
containers_setup

log "two repositories matching the term, one that does not"
make_image "$E2E_TMP/img" v1 4096 >/dev/null
push_layout "$E2E_TMP/img" v1 "$REG/library/e2e-search-alpha:v1" >/dev/null
push_layout "$E2E_TMP/img" v1 "$REG/library/e2e-search-beta:v1" >/dev/null
push_layout "$E2E_TMP/img" v1 "$REG/library/other-repo:v1" >/dev/null

log "podman login and search as the administrator"
rm -f "$REGISTRY_AUTH_FILE"
run_client login-admin podman login --tls-verify=false -u "$E2E_USER" -p "$E2E_PASSWORD" "$REG"
run_client search-admin podman search --tls-verify=false --format '{{.Name}}' "$REG/e2e-search"
found=$(sort "$E2E_TMP/search-admin.log")
expect_eq "$found" "$(printf '%s\n%s' "$REG/library/e2e-search-alpha" "$REG/library/e2e-search-beta")" \
  "podman search $REG/e2e-search as the administrator"
run_client search-admin-all podman search --tls-verify=false --format '{{.Name}}' "$REG/"
grep -qx "$REG/library/other-repo" "$E2E_TMP/search-admin-all.log" ||
  fail "podman search $REG/ does not list library/other-repo: $(cat "$E2E_TMP/search-admin-all.log")"

log "the scope-less token of a user who is not an administrator lists nothing"
http POST /api/v2.0/users -H 'Content-Type: application/json' \
  --data '{"username":"searcher","email":"searcher@example.com","realname":"s","password":"Searcher-Passw0rd"}'
expect_status 201
HTTP_AUTH=0 http GET "/service/token?service=harbor-registry" -u searcher:Searcher-Passw0rd
expect_status 200
token=$(jq -r .token "$HTTP_BODY")
HTTP_AUTH=0 http GET /v2/_catalog -H "Authorization: Bearer $token"
expect_status 401
expect_error UNAUTHORIZED
run_client login-user podman login --tls-verify=false -u searcher -p Searcher-Passw0rd "$REG"
out=$E2E_TMP/search-user.log
if timeout "$E2E_CLIENT_TIMEOUT" podman search --tls-verify=false --format '{{.Name}}' \
    "$REG/e2e-search" >"$out" 2>&1; then
  grep -q e2e-search "$out" && fail "a user who is not an administrator listed the catalog: $(cat "$out")"
else
  grep -qi unauthorized "$out" || { sed 's/^/  | /' "$out" >&2; fail "podman's error does not say unauthorized"; }
fi
log "ok"
