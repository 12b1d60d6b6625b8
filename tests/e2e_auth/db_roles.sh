#!/usr/bin/env bash
# e2e_auth_db_roles (auth.mode db): real clients signed in as users with
# different project roles, a project robot and nobody at all.
#
#   dev1   developer of the private project `priv`: skopeo login + push of an
#          OCI layout, pulled back with every digest verified; podman login +
#          push of a buildah image, podman pull, digest checked
#   guest1 guest of `priv`: podman/skopeo pull work, podman and skopeo push
#          are refused with a clear message
#   anonymous: pull from the public `library` works, from `priv` is refused
#   robot$priv+ci (push+pull): podman login and push work
#   a wrong password: podman login fails; podman logout removes the entry
#   the audit log shows the pushes, the pulls and the failed sign-in
source "$(dirname "$0")/auth_lib.sh"

berthd_start
containers_setup

# ------------------------------------------------------------ the world
log "admin creates users, the private project, members and a robot"
api_json POST "$API/projects" '{"project_name": "priv", "metadata": {"public": "false"}}' 201
for u in dev1 guest1; do
  api_json POST "$API/users" "$(jq -nc --arg u "$u" --arg p "$USER_PASSWORD" \
    '{username: $u, password: $p, email: ($u + "@example.test"), realname: $u}')" 201
done
api_json POST "$API/projects/priv/members" '{"role_id": 2, "member_user": {"username": "dev1"}}' 201
api_json POST "$API/projects/priv/members" '{"role_id": 3, "member_user": {"username": "guest1"}}' 201
http GET "$API/projects/priv/members"
expect_status 200
expect_eq "$(jq -c '[.[] | select(.entity_type == "u") | [.entity_name, .role_name]] | sort' "$HTTP_BODY")" \
  '[["admin","projectAdmin"],["dev1","developer"],["guest1","guest"]]' "members of priv"
api_json POST "$API/robots" '{"name": "ci", "level": "project", "duration": -1,
  "permissions": [{"kind": "project", "namespace": "priv",
                   "access": [{"resource": "repository", "action": "push"},
                              {"resource": "repository", "action": "pull"}]}]}' 201
ROBOT=$(jq -r .name "$HTTP_BODY")
ROBOT_SECRET=$(jq -r .secret "$HTTP_BODY")
expect_eq "$ROBOT" 'robot$priv+ci' "robot name"
[[ -n $ROBOT_SECRET && $ROBOT_SECRET != null ]] || fail "no robot secret in the creation response"

# An image in the public project, pushed by the administrator.
make_image "$E2E_TMP/pub-layout" v1 4096 >/dev/null
d_pub=$(push_layout "$E2E_TMP/pub-layout" v1 "$REG/library/pub:v1")

# -------------------------------------------------------------- dev1
log "dev1: skopeo login, push an OCI layout, pull it back and verify every blob"
AF_DEV_SKOPEO=$(authfile dev1-skopeo)
client_ok login-dev1-skopeo skopeo login --tls-verify=false --authfile "$AF_DEV_SKOPEO" \
  -u dev1 -p "$USER_PASSWORD" "$REG"
grep -qi 'Login Succeeded' "$E2E_TMP/login-dev1-skopeo.log" || fail "skopeo login as dev1 did not say 'Login Succeeded'"
expect_eq "$(jq -r --arg r "$REG" '.auths[$r].auth' "$AF_DEV_SKOPEO" | base64 -d)" "dev1:$USER_PASSWORD" \
  "credentials skopeo login stored"
make_image "$E2E_TMP/app-layout" v1 20000 3000 >/dev/null
d_app=$(push_layout "$E2E_TMP/app-layout" v1 "$REG/priv/app:v1" --authfile "$AF_DEV_SKOPEO")
REGISTRY_AUTH_FILE=$AF_DEV_SKOPEO pull_verify "$REG/priv/app:v1" "$d_app" "$E2E_TMP/app-layout"
REGISTRY_AUTH_FILE=$AF_DEV_SKOPEO pull_verify "$REG/priv/app@$d_app" "$d_app" "$E2E_TMP/app-layout"

log "dev1: podman login, push a buildah image, podman pull it back"
AF_DEV=$(authfile dev1)
client_ok login-dev1 podman login --tls-verify=false --authfile "$AF_DEV" -u dev1 -p "$USER_PASSWORD" "$REG"
grep -qi 'Login Succeeded' "$E2E_TMP/login-dev1.log" || fail "podman login as dev1 did not say 'Login Succeeded'"
build_image authe2e-built
client_ok push-dev1-podman podman push --tls-verify=false --authfile "$AF_DEV" \
  --digestfile "$E2E_TMP/d-built" localhost/authe2e-built "docker://$REG/priv/built:v1"
d_built=$(cat "$E2E_TMP/d-built")
[[ $d_built == sha256:* ]] || fail "podman push wrote no digest: '$d_built'"
podman_pull_digest "$AF_DEV" "$REG/priv/built:v1" "$d_built"
# The registry holds what podman pushed (the administrator's view).
http GET /v2/priv/built/manifests/v1 -H 'Accept: application/vnd.oci.image.manifest.v1+json'
expect_status 200
expect_eq "$(sha256_of "$HTTP_BODY")" "$d_built" "sha256 of priv/built:v1 as stored"

# ------------------------------------------------------------- guest1
log "guest1: pulls work, pushes are refused"
AF_GUEST=$(authfile guest1)
client_ok login-guest1 podman login --tls-verify=false --authfile "$AF_GUEST" -u guest1 -p "$USER_PASSWORD" "$REG"
podman_pull_digest "$AF_GUEST" "$REG/priv/built:v1" "$d_built"
REGISTRY_AUTH_FILE=$AF_GUEST pull_verify "$REG/priv/app:v1" "$d_app" "$E2E_TMP/app-layout"
# What a refused push says depends on the client; all of these name the cause.
DENIED='unauthorized|denied|requested access|not authorized|authentication required'
client_refused push-guest1-podman "$DENIED" podman push --tls-verify=false --authfile "$AF_GUEST" \
  localhost/authe2e-built "docker://$REG/priv/guest:v1"
client_refused push-guest1-skopeo "$DENIED" skopeo copy --retry-times 0 --dest-tls-verify=false \
  --authfile "$AF_GUEST" "oci:$E2E_TMP/app-layout:v1" "docker://$REG/priv/guest:v2"
http GET /v2/priv/guest/tags/list
expect_status 404
expect_error NAME_UNKNOWN

# ----------------------------------------------------------- anonymous
log "anonymous: public pull works, private pull is refused"
dir=$E2E_TMP/anon-pub
client_ok pull-anon-pub skopeo copy --retry-times 0 --src-tls-verify=false --src-no-creds \
  "docker://$REG/library/pub:v1" "dir:$dir"
"$PY" "$HELPER" verify-dir "$dir" "$d_pub" "$E2E_TMP/pub-layout" >&2 || fail "anonymous pull of library/pub:v1 did not verify"
AF_NONE=$(authfile nobody)
podman_pull_digest "$AF_NONE" "$REG/library/pub:v1" "$d_pub"
client_refused pull-anon-priv "$DENIED" skopeo copy --retry-times 0 --src-tls-verify=false --src-no-creds \
  "docker://$REG/priv/app:v1" "dir:$E2E_TMP/anon-priv"
client_refused pull-anon-priv-podman "$DENIED" podman pull --tls-verify=false --authfile "$AF_NONE" \
  "$REG/priv/app:v1"
client_refused push-anon-pub "$DENIED" skopeo copy --retry-times 0 --dest-tls-verify=false --dest-no-creds \
  "oci:$E2E_TMP/app-layout:v1" "docker://$REG/library/anon:v1"

# ---------------------------------------------------------------- robot
log "robot: podman login and push"
AF_ROBOT=$(authfile robot)
client_ok login-robot podman login --tls-verify=false --authfile "$AF_ROBOT" -u "$ROBOT" -p "$ROBOT_SECRET" "$REG"
client_ok push-robot podman push --tls-verify=false --authfile "$AF_ROBOT" \
  --digestfile "$E2E_TMP/d-robot" localhost/authe2e-built "docker://$REG/priv/robot:v1"
expect_eq "$(cat "$E2E_TMP/d-robot")" "$d_built" "digest of the image the robot pushed"
# Its project only.
client_refused push-robot-library "$DENIED" podman push --tls-verify=false --authfile "$AF_ROBOT" \
  localhost/authe2e-built "docker://$REG/library/robot:v1"

# ------------------------------------------------- wrong password, logout
log "a wrong password is refused; logout forgets the credentials"
AF_BAD=$(authfile bad)
client_refused login-dev1-bad 'invalid username/password|unauthorized' podman login --tls-verify=false \
  --authfile "$AF_BAD" -u dev1 -p "Wrong-Passw0rd" "$REG"
expect_eq "$(jq -c '.auths // {}' "$AF_BAD")" '{}' "auth file after a failed login"
client_ok logout-dev1 podman logout --authfile "$AF_DEV" "$REG"
expect_eq "$(jq -c --arg r "$REG" '.auths[$r] // "none"' "$AF_DEV")" '"none"' "entry for $REG after podman logout"
client_refused push-after-logout "$DENIED" podman push --tls-verify=false --authfile "$AF_DEV" \
  localhost/authe2e-built "docker://$REG/priv/built:v2"
# dev1's password still works (the failed attempt locked nothing).
client_ok login-dev1-again podman login --tls-verify=false --authfile "$AF_DEV" -u dev1 -p "$USER_PASSWORD" "$REG"

# ------------------------------------------------------------ audit log
log "audit log: pushes, pulls and the failed sign-in"
sleep 1 # the audit writer flushes every 200 ms
audit_fetch "$E2E_TMP/audit.json"
audit_expect "$E2E_TMP/audit.json" \
  '.username == "dev1" and .operation == "push" and .resource == "priv/app:v1" and .resource_type == "artifact"' \
  "dev1's skopeo push of priv/app:v1"
audit_expect "$E2E_TMP/audit.json" '.username == "dev1" and .operation == "push" and .resource == "priv/built:v1"' \
  "dev1's podman push of priv/built:v1"
audit_expect "$E2E_TMP/audit.json" '.username == "robot$priv+ci" and .operation == "push" and .resource == "priv/robot:v1"' \
  "the robot's push"
audit_expect "$E2E_TMP/audit.json" '.username == "admin" and .operation == "push" and .resource == "library/pub:v1"' \
  "the administrator's push"
audit_expect "$E2E_TMP/audit.json" '.username == "guest1" and .operation == "pull" and (.resource | startswith("priv/built"))' \
  "guest1's pull of priv/built"
audit_expect "$E2E_TMP/audit.json" '.username == "dev1" and .operation == "pull" and (.resource | startswith("priv/app"))' \
  "dev1's pull of priv/app"
audit_expect "$E2E_TMP/audit.json" '.operation == "pull" and (.resource | startswith("library/pub"))' \
  "the anonymous pull of library/pub"
audit_expect "$E2E_TMP/audit.json" \
  '.username == "dev1" and .operation == "login" and (.operation_result == "failure" or .operation_result == false)' \
  "dev1's failed sign-in"
# Refused operations left no success behind.
jq -e '[.[] | select(.operation == "push" and (.username == "guest1" or (.resource | startswith("priv/guest")) or (.resource | startswith("library/anon"))))] | length == 0' \
  "$E2E_TMP/audit.json" >/dev/null || fail "the audit log records a push that was refused"
# Only project administrators list a project's logs: guest1 sees none.
http_as guest1 "$USER_PASSWORD" GET "$API/audit-logs?page_size=100"
expect_status 200
expect_eq "$(jq length "$HTTP_BODY")" 0 "audit entries guest1 may list"

berthd_stop
