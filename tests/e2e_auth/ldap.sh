#!/usr/bin/env bash
# e2e_auth_ldap (auth.mode ldap, against the slapd of tests/ldap over LDAPS):
#   podman login as alice onboards her (GET /users?q=username=alice);
#   the LDAP group developers (member_group by ldap_group_dn) is a developer
#   of a private project: alice (a member) pushes and pulls there, bob (not a
#   member) cannot; carol (in the admin group) is a system administrator;
#   the local admin still signs in with the local password; the LDAP
#   endpoints: ping (no body, good and bad settings, not for non-admins),
#   users/search, users/import (partial failure), groups/search.
source "$(dirname "$0")/auth_lib.sh"

[[ -n ${BERTH_LDAP_ENV:-} && -f ${BERTH_LDAP_ENV} ]] ||
  fail "BERTH_LDAP_ENV ('${BERTH_LDAP_ENV:-}') must name the env file of the slapd fixture"
# shellcheck disable=SC1090
source "$BERTH_LDAP_ENV"
DEV_DN="cn=developers,$LDAP_GROUP_BASE_DN"

berthd_start_config "$(jq -n --arg url "$LDAPS_URL" --arg ca "$LDAP_CA_CERT" \
  --arg sdn "$LDAP_SEARCH_DN" --arg spw "$LDAP_SEARCH_PASSWORD" --arg base "$LDAP_BASE_DN" \
  --arg gbase "$LDAP_GROUP_BASE_DN" --arg admin "$LDAP_ADMIN_GROUP_DN" '
  {auth: {mode: "ldap",
          config: {url: $url, ca_cert: $ca, search_dn: $sdn, search_password: $spw,
                   base_dn: $base, filter: "(objectClass=inetOrgPerson)", uid: "uid",
                   scope: "subtree", group_base_dn: $gbase, group_admin_dn: $admin}}}')"
containers_setup

http GET "$API/systeminfo"
expect_eq "$(jq -r .auth_mode "$HTTP_BODY")" ldap_auth "systeminfo auth_mode"

# ------------------------------------------------------ sign-in, onboarding
log "alice: not known before her first sign-in; podman login onboards her"
http GET "$API/users?q=username%3Dalice"
expect_status 200
expect_eq "$(jq length "$HTTP_BODY")" 0 "users named alice before she signed in"
AF_ALICE=$(authfile alice)
client_ok login-alice podman login --tls-verify=false --authfile "$AF_ALICE" -u alice -p "$LDAP_PASSWORD_ALICE" "$REG"
grep -qi 'Login Succeeded' "$E2E_TMP/login-alice.log" || fail "podman login as alice did not say 'Login Succeeded'"
http GET "$API/users?q=username%3Dalice"
expect_status 200
expect_eq "$(jq length "$HTTP_BODY")" 1 "users named alice after podman login"
expect_eq "$(jq -c '.[0] | [.username, .email, .realname, .sysadmin_flag]' "$HTTP_BODY")" \
  '["alice","alice@berth.test","Alice Liddell",false]' "alice's onboarded record"
client_refused login-alice-bad 'invalid username/password|unauthorized' podman login --tls-verify=false \
  --authfile "$(authfile alice-bad)" -u alice -p "not-$LDAP_PASSWORD_ALICE" "$REG"

# ------------------------------------------------------------ LDAP groups
log "the LDAP group developers becomes a developer of ldapproj"
api_json POST "$API/projects" '{"project_name": "ldapproj", "metadata": {"public": "false"}}' 201
api_json POST "$API/projects/ldapproj/members" \
  "$(jq -nc --arg dn "$DEV_DN" '{role_id: 2, member_group: {group_type: 1, ldap_group_dn: $dn}}')" 201
http GET "$API/projects/ldapproj/members"
expect_status 200
jq -e '[.[] | select(.entity_type == "g" and .role_id == 2)] | length == 1' "$HTTP_BODY" >/dev/null ||
  fail "ldapproj has no developer group member: $(cat "$HTTP_BODY")"
# One group per DN: the member is the group alice's sign-in recorded.
http GET "$API/usergroups?ldap_group_dn=$(jq -rn --arg v "$DEV_DN" '$v|@uri')"
expect_status 200
expect_eq "$(jq length "$HTTP_BODY")" 1 "user groups with the DN $DEV_DN"
expect_eq "$(jq -r '.[0].group_type' "$HTTP_BODY")" 1 "group_type of the developers group"

# DNs are case-insensitive: the group typed as AD or an admin may spell it is
# the same group (here: guest of a second project).
api_json POST "$API/projects" '{"project_name": "ldapcase", "metadata": {"public": "false"}}' 201
api_json POST "$API/projects/ldapcase/members" \
  "$(jq -nc --arg dn "${DEV_DN^^}" '{role_id: 3, member_group: {group_type: 1, ldap_group_dn: $dn}}')" 201
http_as alice "$LDAP_PASSWORD_ALICE" GET "$API/projects/ldapcase"
expect_status 200
expect_eq "$(jq -r .current_user_role_id "$HTTP_BODY")" 3 "alice's role in ldapcase (group DN ${DEV_DN^^})"

# A group DN the directory does not know is refused, not recorded.
api_json POST "$API/projects/ldapcase/members" \
  '{"role_id": 3, "member_group": {"group_type": 1, "ldap_group_dn": "cn=nosuch,ou=groups,dc=berth,dc=test"}}' 404
api_json POST "$API/projects/ldapcase/members" \
  '{"role_id": 3, "member_group": {"group_type": 1, "ldap_group_dn": "not a dn at all"}}' 400 404

log "alice (in developers) pushes and pulls; bob (not in it) cannot"
make_image "$E2E_TMP/ldap-layout" v1 8000 >/dev/null
d_app=$(push_layout "$E2E_TMP/ldap-layout" v1 "$REG/ldapproj/app:v1" --authfile "$AF_ALICE")
REGISTRY_AUTH_FILE=$AF_ALICE pull_verify "$REG/ldapproj/app:v1" "$d_app" "$E2E_TMP/ldap-layout"
AF_BOB=$(authfile bob)
client_ok login-bob podman login --tls-verify=false --authfile "$AF_BOB" -u bob -p "$LDAP_PASSWORD_BOB" "$REG"
DENIED='unauthorized|denied|requested access|not authorized|authentication required'
client_refused push-bob "$DENIED" skopeo copy --retry-times 0 --dest-tls-verify=false --authfile "$AF_BOB" \
  "oci:$E2E_TMP/ldap-layout:v1" "docker://$REG/ldapproj/bob:v1"
client_refused pull-bob "$DENIED" skopeo copy --retry-times 0 --src-tls-verify=false --authfile "$AF_BOB" \
  "docker://$REG/ldapproj/app:v1" "dir:$E2E_TMP/bob-pull"
http GET /v2/ldapproj/bob/tags/list
expect_status 404

# ------------------------------------------------------------- carol, admin
log "carol (LDAP admin group) is a system administrator"
http_as carol "$LDAP_PASSWORD_CAROL" GET "$API/users/current"
expect_status 200
# The admin group grants administration (admin_role_in_auth); the stored
# sysadmin_flag stays what administrators set, as in Harbor.
expect_eq "$(jq -c '[.username, .sysadmin_flag, .admin_role_in_auth]' "$HTTP_BODY")" '["carol",false,true]' \
  "carol's current user"
http_as carol "$LDAP_PASSWORD_CAROL" GET "$API/users?page_size=100"
expect_status 200
jq -e '[.[] | .username] | index("alice") != null' "$HTTP_BODY" >/dev/null || fail "carol's user list lacks alice"
http_as alice "$LDAP_PASSWORD_ALICE" GET "$API/users"
expect_status 403
http_as bob "$LDAP_PASSWORD_BOB" GET "$API/users/current"
expect_status 200
expect_eq "$(jq -r .sysadmin_flag "$HTTP_BODY")" false "bob's sysadmin_flag"

# An administrator's grant survives the user's next sign-in: the directory's
# admin group is recorded apart from the flag.
BOB_ID=$(http_as bob "$LDAP_PASSWORD_BOB" GET "$API/users/current" >/dev/null; jq -r .user_id "$HTTP_BODY")
api_json PUT "$API/users/$BOB_ID/sysadmin" '{"sysadmin_flag": true}' 200
http_as bob "$LDAP_PASSWORD_BOB" GET "$API/users?page_size=5"
expect_status 200
http_as bob "$LDAP_PASSWORD_BOB" GET "$API/users/current"
expect_eq "$(jq -c '[.sysadmin_flag, .admin_role_in_auth]' "$HTTP_BODY")" '[true,false]' "bob after the grant"
api_json PUT "$API/users/$BOB_ID/sysadmin" '{"sysadmin_flag": false}' 200

log "the local administrator still signs in with the local password"
http_as admin "$E2E_PASSWORD" GET "$API/users/current"
expect_status 200
expect_eq "$(jq -c '[.username, .sysadmin_flag]' "$HTTP_BODY")" '["admin",true]' "admin's current user"
HTTP_AUTH=0 http POST /c/login --data-urlencode principal=admin --data-urlencode "password=$E2E_PASSWORD"
expect_status 200
[[ -n $(hdr X-Harbor-CSRF-Token) ]] || fail "POST /c/login answered without X-Harbor-CSRF-Token"
hdr Set-Cookie | grep -q '^sid=' || fail "POST /c/login set no sid cookie"
client_ok login-admin podman login --tls-verify=false --authfile "$(authfile admin)" -u admin -p "$E2E_PASSWORD" "$REG"
HTTP_AUTH=0 http POST /c/login --data-urlencode principal=admin --data-urlencode "password=not-$E2E_PASSWORD"
expect_status 401

# ---------------------------------------------------------- LDAP endpoints
log "ldap/ping without a body, with good and bad settings"
http POST "$API/ldap/ping"
expect_status 200
expect_eq "$(jq -c '[.success, .message]' "$HTTP_BODY")" '[true,"success"]' "ldap/ping without a body"
http POST "$API/ldap/ping" -H 'Content-Type: application/json' --data-binary ''
expect_status 200
expect_eq "$(jq -r .success "$HTTP_BODY")" true "ldap/ping with an empty body"
ping_body() {
  jq -nc --arg url "$LDAP_URL" --arg sdn "$LDAP_SEARCH_DN" --arg spw "$1" --arg base "$LDAP_BASE_DN" \
    '{ldap_url: $url, ldap_search_dn: $sdn, ldap_search_password: $spw, ldap_base_dn: $base,
      ldap_uid: "uid", ldap_scope: 2, ldap_connection_timeout: 5}'
}
api_json POST "$API/ldap/ping" "$(ping_body "$LDAP_SEARCH_PASSWORD")" 200
expect_eq "$(jq -r .success "$HTTP_BODY")" true "ldap/ping with the right settings (plain ldap://)"
api_json POST "$API/ldap/ping" "$(ping_body "wrong-password")" 200
expect_eq "$(jq -r .success "$HTTP_BODY")" false "ldap/ping with a wrong search password"
[[ -n $(jq -r '.message // empty' "$HTTP_BODY") ]] || fail "a failed ldap/ping gives no message"
log "failed ping says: $(jq -r .message "$HTTP_BODY")"
api_json POST "$API/ldap/ping" "$(jq -nc --arg base "$LDAP_BASE_DN" '{ldap_url: "ldap://127.0.0.1:1", ldap_base_dn: $base}')" 200
expect_eq "$(jq -r .success "$HTTP_BODY")" false "ldap/ping of a closed port"
http_as alice "$LDAP_PASSWORD_ALICE" POST "$API/ldap/ping"
expect_status 403
# The settings of the ping were not kept: sign-in still works.
http_as alice "$LDAP_PASSWORD_ALICE" GET "$API/users/current"
expect_status 200

log "ldap/users/search, ldap/users/import, ldap/groups/search"
http GET "$API/ldap/users/search?username=ali"
expect_status 200
expect_eq "$(jq -c '[.[] | [.username, .realname, .email]]' "$HTTP_BODY")" \
  '[["alice","Alice Liddell","alice@berth.test"]]' "LDAP users matching ali"
http GET "$API/ldap/users/search?username=nobody-like-this"
expect_status 200
expect_eq "$(jq length "$HTTP_BODY")" 0 "LDAP users matching nobody-like-this"
http_as bob "$LDAP_PASSWORD_BOB" GET "$API/ldap/users/search?username=ali"
expect_status 403

http GET "$API/users?q=username%3Ddave"
expect_eq "$(jq length "$HTTP_BODY")" 0 "users named dave before the import"
api_json POST "$API/ldap/users/import" '{"ldap_uid_list": ["dave", "nosuch"]}' 404
expect_eq "$(jq -c '[.[] | .uid]' "$HTTP_BODY")" '["nosuch"]' "uids the import could not import"
[[ -n $(jq -r '.[0].error // empty' "$HTTP_BODY") ]] || fail "the failed import names no error"
http GET "$API/users?q=username%3Ddave"
expect_status 200
expect_eq "$(jq -c '[.[] | [.username, .email]]' "$HTTP_BODY")" '[["dave","dave@berth.test"]]' "dave after the import"
api_json POST "$API/ldap/users/import" '{"ldap_uid_list": ["dave"]}' 200
# An imported user can be made a member by name before signing in.
api_json POST "$API/projects/ldapproj/members" '{"role_id": 3, "member_user": {"username": "dave"}}' 201
http_as dave "$LDAP_PASSWORD_DAVE" GET "$API/projects/ldapproj"
expect_status 200
expect_eq "$(jq -r .current_user_role_id "$HTTP_BODY")" 3 "dave's role in ldapproj"

http GET "$API/ldap/groups/search?groupname=dev"
expect_status 200
expect_eq "$(jq -c '[.[] | [.group_name, .ldap_group_dn]]' "$HTTP_BODY")" \
  "$(jq -nc --arg dn "$DEV_DN" '[["developers", $dn]]')" "LDAP groups matching dev"
http GET "$API/ldap/groups/search?groupdn=$(jq -rn --arg v "$LDAP_ADMIN_GROUP_DN" '$v|@uri')"
expect_status 200
expect_eq "$(jq -c '[.[] | .group_name]' "$HTTP_BODY")" '["admins"]' "LDAP group by DN"

berthd_stop
