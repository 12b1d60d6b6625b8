#!/usr/bin/env bash
# e2e_auth_oidc (auth.mode oidc, against the oidc-provider of tests/oidc):
#   the browser sign-in without a browser: GET /c/oidc/login -> the
#   provider (tests/oidc/login.mjs signs in) -> berthd's callback with the
#   oidc_state cookie -> 302 and a sid cookie; with that session:
#   /users/current (alice onboarded, her OIDC groups recorded, a role through
#   the group berth-devs), a CLI secret (PUT with, and refused without, the
#   CSRF header); podman login with the CLI secret, push and pull in a
#   project where berth-devs are developers; carol (berth-admins) is a system
#   administrator; the CLI secret opens no browser session (POST /c/login);
#   an ID token from the provider is accepted as a bearer token on the API
#   (a tampered one, or one issued to another client, is not); a tampered
#   state, a missing state cookie or a reused code on the callback is refused;
#   /system/oidc/ping for admins only; logout ends the session.
source "$(dirname "$0")/auth_lib.sh"

STATE_FILE=${BERTH_OIDC_STATE:-}
[[ -n $STATE_FILE && -s $STATE_FILE ]] ||
  fail "BERTH_OIDC_STATE ('$STATE_FILE') must name provider.json of the oidc fixture"
LOGIN_JS=$E2E_AUTH_DIR/../oidc/login.mjs
command -v node >/dev/null || fail "node is needed for $LOGIN_JS"
ISSUER=$(jq -r .issuer "$STATE_FILE")
CLIENT_ID=berth-e2e
CLIENT_SECRET=$(jq -r --arg c "$CLIENT_ID" '.clients[] | select(.client_id == $c) | .client_secret' "$STATE_FILE")
[[ -n $CLIENT_SECRET ]] || fail "the test OpenID Provider has no client $CLIENT_ID (tests/oidc/provider.mjs)"

# external_url must be known before berthd starts (it is the callback the
# provider redirects to): a free port, tried again if taken meanwhile.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  rc=0
  berthd_start_config "$(jq -n --arg ext "http://127.0.0.1:$port" --arg iss "$ISSUER" \
    --arg id "$CLIENT_ID" --arg secret "$CLIENT_SECRET" '
    {external_url: $ext,
     auth: {mode: "oidc",
            config: {endpoint: $iss, client_id: $id, client_secret: $secret,
                     scope: "openid,profile,email,groups", groups_claim: "groups",
                     admin_group: "berth-admins"}}}')" "$port" || rc=$?
  [[ $rc -eq 0 ]] && break
  [[ $rc -eq 3 && $attempt -lt 5 ]] || fail "could not start berthd on a free port"
done
containers_setup
CALLBACK=$REG_URL/c/oidc/callback

# param URL NAME: a query parameter of URL, decoded.
param() {
  "$PY" -c 'import sys, urllib.parse as u
v = u.parse_qs(u.urlsplit(sys.argv[1]).query).get(sys.argv[2])
print(v[0] if v else "")' "$1" "$2"
}

# oidc_begin JAR: GET /c/oidc/login with a fresh cookie jar; sets AUTH_URL.
oidc_begin() {
  local jar=$1
  rm -f "$jar"
  HTTP_AUTH=0 http GET /c/oidc/login -b "$jar" -c "$jar"
  expect_status 302
  AUTH_URL=$(hdr Location)
  [[ $AUTH_URL == "$ISSUER"/* ]] || fail "/c/oidc/login redirects to '$AUTH_URL', not to the provider $ISSUER"
  expect_eq "$(param "$AUTH_URL" redirect_uri)" "$CALLBACK" "redirect_uri berthd sends"
  expect_eq "$(param "$AUTH_URL" client_id)" "$CLIENT_ID" "client_id berthd sends"
  expect_eq "$(param "$AUTH_URL" response_type)" code "response_type berthd sends"
  expect_eq "$(param "$AUTH_URL" scope)" "openid profile email groups" "scope berthd sends"
  [[ -n $(param "$AUTH_URL" state) && -n $(param "$AUTH_URL" nonce) ]] || fail "no state or nonce in $AUTH_URL"
  grep -q $'\toidc_state\t'"$(param "$AUTH_URL" state)." "$jar" ||
    fail "berthd set no oidc_state cookie holding the state: $(cat "$jar")"
}

# oidc_provider_login LOGIN: signs LOGIN in at the provider; sets CB_URL.
oidc_provider_login() {
  CB_URL=$(timeout 60 node "$LOGIN_JS" "$AUTH_URL" "$1" 2>"$E2E_TMP/login-$1.err") ||
    fail "the provider sign-in of $1 failed: $(cat "$E2E_TMP/login-$1.err")"
  [[ $CB_URL == "$CALLBACK?"* ]] || fail "the provider redirected $1 to '$CB_URL', not to $CALLBACK"
  [[ -n $(param "$CB_URL" code) ]] || fail "no code in the callback $CB_URL"
}

# oidc_signin LOGIN JAR: the whole browser flow; the session is in JAR and
# its CSRF token in CSRF.
oidc_signin() {
  local login=$1 jar=$2
  oidc_begin "$jar"
  oidc_provider_login "$login"
  HTTP_AUTH=0 http GET "$CB_URL" -b "$jar" -c "$jar"
  expect_status 302
  expect_eq "$(hdr Location)" / "where the callback sends $login"
  grep -Eq $'\tsid\t[0-9a-f]{64}$' "$jar" || fail "the callback set no sid cookie for $login: $(cat "$jar")"
  HTTP_AUTH=0 http GET "$API/users/current" -b "$jar"
  expect_status 200
  CSRF=$(hdr X-Harbor-CSRF-Token)
  [[ -n $CSRF ]] || fail "a session request got no X-Harbor-CSRF-Token"
  log "$login signed in through the provider"
}

# ------------------------------------------------------------- alice
log "alice: the browser flow"
http GET "$API/users?q=username%3Dalice"
expect_eq "$(jq length "$HTTP_BODY")" 0 "users named alice before she signed in"
JAR_ALICE=$E2E_TMP/alice.jar
oidc_signin alice "$JAR_ALICE"
CSRF_ALICE=$CSRF
expect_eq "$(jq -c '[.username, .email, .realname, .sysadmin_flag, .admin_role_in_auth]' "$HTTP_BODY")" \
  '["alice","alice@example.test","Alice Liddell",false,false]' "alice's current user (session)"
ALICE_ID=$(jq -r .user_id "$HTTP_BODY")
grep -q $'\toidc_state\t.' "$JAR_ALICE" && fail "the oidc_state cookie was not cleared after the sign-in"
http GET "$API/users?q=username%3Dalice"
expect_eq "$(jq -c '[.[] | .user_id]' "$HTTP_BODY")" "[$ALICE_ID]" "alice onboarded"
http GET "$API/usergroups?page_size=100"
expect_status 200
expect_eq "$(jq -c '[.[] | select(.group_type == 3) | .group_name] | sort' "$HTTP_BODY")" '["berth-devs","qa"]' \
  "OIDC groups recorded from alice's ID token"

log "the CLI secret: refused without the CSRF header, set with it"
HTTP_AUTH=0 http PUT "$API/users/$ALICE_ID/cli_secret" -b "$JAR_ALICE" \
  -H 'Content-Type: application/json' --data-binary '{"secret": ""}'
expect_status 403
HTTP_AUTH=0 http PUT "$API/users/$ALICE_ID/cli_secret" -b "$JAR_ALICE" -H "X-Harbor-CSRF-Token: $CSRF_ALICE" \
  -H 'Content-Type: application/json' --data-binary '{"secret": ""}'
expect_status 200
CLI_SECRET=$(jq -r .secret "$HTTP_BODY")
[[ ${#CLI_SECRET} -ge 8 ]] || fail "the generated CLI secret '$CLI_SECRET' is too short"

log "admin makes the OIDC group berth-devs a developer of oidcproj"
api_json POST "$API/projects" '{"project_name": "oidcproj", "metadata": {"public": "false"}}' 201
api_json POST "$API/projects/oidcproj/members" '{"role_id": 2, "member_group": {"group_name": "berth-devs", "group_type": 3}}' 201
HTTP_AUTH=0 http GET "$API/projects/oidcproj" -b "$JAR_ALICE"
expect_status 200
expect_eq "$(jq -r .current_user_role_id "$HTTP_BODY")" 2 "alice's role in oidcproj (through berth-devs)"

log "podman login with the CLI secret, push and pull"
AF_ALICE=$(authfile alice)
client_refused login-alice-nosecret 'invalid username/password|unauthorized' podman login --tls-verify=false \
  --authfile "$(authfile alice-bad)" -u alice -p "Not-The-Secret-1" "$REG"
client_ok login-alice podman login --tls-verify=false --authfile "$AF_ALICE" -u alice -p "$CLI_SECRET" "$REG"
grep -qi 'Login Succeeded' "$E2E_TMP/login-alice.log" || fail "podman login as alice did not say 'Login Succeeded'"
make_image "$E2E_TMP/oidc-layout" v1 6000 >/dev/null
d_app=$(push_layout "$E2E_TMP/oidc-layout" v1 "$REG/oidcproj/app:v1" --authfile "$AF_ALICE")
REGISTRY_AUTH_FILE=$AF_ALICE pull_verify "$REG/oidcproj/app:v1" "$d_app" "$E2E_TMP/oidc-layout"
podman_pull_digest "$AF_ALICE" "$REG/oidcproj/app:v1" "$d_app"
DENIED='unauthorized|denied|requested access|not authorized|authentication required'
# The CLI secret is for registry clients: it opens no browser session (as
# in Harbor); the local administrator still signs in there.
HTTP_AUTH=0 http POST /c/login --data-urlencode principal=alice --data-urlencode "password=$CLI_SECRET"
expect_status 401
hdr Set-Cookie | grep -q '^sid=' && fail "POST /c/login with a CLI secret set a session cookie"
HTTP_AUTH=0 http POST /c/login --data-urlencode principal=admin --data-urlencode "password=$E2E_PASSWORD"
expect_status 200
hdr Set-Cookie | grep -q '^sid=' || fail "the local administrator got no session from POST /c/login"
client_refused push-alice-library "$DENIED" skopeo copy --retry-times 0 --dest-tls-verify=false \
  --authfile "$AF_ALICE" "oci:$E2E_TMP/oidc-layout:v1" "docker://$REG/library/alice:v1"

# On the API the CLI secret opens only what registry clients need (project
# list/create, systeminfo, ping), never account management (as in Harbor).
http_as alice "$CLI_SECRET" GET "$API/projects"
expect_status 200
http_as alice "$CLI_SECRET" GET "$API/users/current"
expect_status 401
http_as alice "$CLI_SECRET" PUT "$API/users/$ALICE_ID/cli_secret" \
  -H 'Content-Type: application/json' --data-binary '{"secret": "Another-Secret-9"}'
expect_status 401
http_as alice "$CLI_SECRET" PUT "$API/users/1/password" \
  -H 'Content-Type: application/json' --data-binary '{"new_password": "Taken-Over-1"}'
expect_status 401
http_as admin "$E2E_PASSWORD" GET "$API/users/current"
expect_status 200

# ------------------------------------------------------------- carol
log "carol (berth-admins) is a system administrator"
JAR_CAROL=$E2E_TMP/carol.jar
oidc_signin carol "$JAR_CAROL"
# The admin group grants administration (admin_role_in_auth); the stored
# sysadmin_flag stays what administrators set, as in Harbor.
expect_eq "$(jq -c '[.username, .sysadmin_flag, .admin_role_in_auth]' "$HTTP_BODY")" '["carol",false,true]' \
  "carol's current user (session)"
HTTP_AUTH=0 http GET "$API/users?page_size=100" -b "$JAR_CAROL"
expect_status 200
jq -e '[.[] | .username] | index("alice") != null' "$HTTP_BODY" >/dev/null || fail "carol's user list lacks alice"
HTTP_AUTH=0 http GET "$API/users" -b "$JAR_ALICE"
expect_status 403

# ------------------------------------------------------- ID token as bearer
log "an ID token from the provider is a bearer credential on the API"
AUTH_URL="$ISSUER/auth?response_type=code&client_id=$CLIENT_ID&redirect_uri=$(jq -rn '"http://127.0.0.1:9/c/oidc/callback"|@uri')&scope=openid%20profile%20email%20groups&state=e2e-state&nonce=e2e-nonce"
CB_URL=$(timeout 60 node "$LOGIN_JS" "$AUTH_URL" alice 2>"$E2E_TMP/login-token.err") ||
  fail "the provider sign-in for an ID token failed: $(cat "$E2E_TMP/login-token.err")"
TOKEN_ENDPOINT=$(curl -sS --max-time 30 "$ISSUER/.well-known/openid-configuration" | jq -r .token_endpoint)
ID_TOKEN=$(curl -sS --max-time 30 -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=authorization_code \
  --data-urlencode "code=$(param "$CB_URL" code)" --data-urlencode "redirect_uri=http://127.0.0.1:9/c/oidc/callback" \
  "$TOKEN_ENDPOINT" | jq -r '.id_token // empty')
[[ $ID_TOKEN == *.*.* ]] || fail "the provider issued no ID token"
HTTP_AUTH=0 http GET "$API/users/current" -H "Authorization: Bearer $ID_TOKEN"
expect_status 200
expect_eq "$(jq -c '[.username, .user_id]' "$HTTP_BODY")" "[\"alice\",$ALICE_ID]" "user of the bearer ID token"
HTTP_AUTH=0 http GET "$API/projects/oidcproj" -H "Authorization: Bearer $ID_TOKEN"
expect_status 200
expect_eq "$(jq -r .current_user_role_id "$HTTP_BODY")" 2 "alice's role in oidcproj (bearer ID token)"
# Issued to another client of the same provider: the audience is not berthd's.
OTHER_ID=$(jq -r '.clients[0].client_id' "$STATE_FILE")
OTHER_SECRET=$(jq -r '.clients[0].client_secret' "$STATE_FILE")
OTHER_REDIRECT=$(jq -r '.redirect_uri' "$STATE_FILE")
[[ $OTHER_ID != "$CLIENT_ID" ]] || fail "clients[0] of the provider is $CLIENT_ID itself"
AUTH_URL="$ISSUER/auth?response_type=code&client_id=$OTHER_ID&redirect_uri=$(jq -rn --arg r "$OTHER_REDIRECT" '$r|@uri')&scope=openid%20profile%20groups&state=e2e-state2&nonce=e2e-nonce2"
CB_URL=$(timeout 60 node "$LOGIN_JS" "$AUTH_URL" carol 2>"$E2E_TMP/login-token2.err") ||
  fail "the provider sign-in for $OTHER_ID failed: $(cat "$E2E_TMP/login-token2.err")"
OTHER_TOKEN=$(curl -sS --max-time 30 -u "$OTHER_ID:$OTHER_SECRET" -d grant_type=authorization_code \
  --data-urlencode "code=$(param "$CB_URL" code)" --data-urlencode "redirect_uri=$OTHER_REDIRECT" \
  "$TOKEN_ENDPOINT" | jq -r '.id_token // empty')
[[ $OTHER_TOKEN == *.*.* ]] || fail "the provider issued no ID token to $OTHER_ID"
HTTP_AUTH=0 http GET "$API/users/current" -H "Authorization: Bearer $OTHER_TOKEN"
expect_status 401
# Tampered: another payload under the same signature.
IFS=. read -r h p s <<<"$ID_TOKEN"
forged_payload=$(printf '%s' "$p" | tr '_-' '/+' | "$PY" -c '
import base64, json, sys
s = sys.stdin.read(); s += "=" * (-len(s) % 4)
c = json.loads(base64.b64decode(s)); c["preferred_username"] = "carol"; c["groups"] = ["berth-admins"]
print(base64.urlsafe_b64encode(json.dumps(c).encode()).decode().rstrip("="))')
HTTP_AUTH=0 http GET "$API/users/current" -H "Authorization: Bearer $h.$forged_payload.$s"
expect_status 401
HTTP_AUTH=0 http GET "$API/users/current" -H "Authorization: Bearer $h.$p.${s:0:${#s}-4}AAAA"
expect_status 401

# ------------------------------------------------------- tampered state
log "the callback refuses a tampered state and a missing state cookie"
JAR_T=$E2E_TMP/tamper.jar
oidc_begin "$JAR_T"
oidc_provider_login alice
good_state=$(param "$CB_URL" state)
bad_state=$(printf '%s' "$good_state" | tr '0-9a-f' '1-9a-f0')
HTTP_AUTH=0 http GET "${CB_URL/state=$good_state/state=$bad_state}" -b "$JAR_T" -c "$JAR_T"
expect_status 401
grep -q $'\tsid\t' "$JAR_T" && fail "a callback with a tampered state set a session cookie"
HTTP_AUTH=0 http GET "$CB_URL"
expect_status 401
# The same callback with its own state and cookie works: the refusals were the state's.
HTTP_AUTH=0 http GET "$CB_URL" -b "$JAR_T" -c "$JAR_T"
expect_status 302
grep -Eq $'\tsid\t[0-9a-f]{64}$' "$JAR_T" || fail "the untampered callback set no session"
# A code is good once.
HTTP_AUTH=0 http GET "$CB_URL" -b "oidc_state=$good_state.$(param "$AUTH_URL" nonce)"
expect_status 401

# --------------------------------------------------------------- ping
log "system/oidc/ping: administrators only"
http POST "$API/system/oidc/ping"
expect_status 200
api_json POST "$API/system/oidc/ping" "$(jq -nc --arg u "$ISSUER" '{url: $u, verify_cert: true}')" 200
http POST "$API/system/oidc/ping" -H 'Content-Type: application/json' --data-binary '{"url": "http://127.0.0.1:1"}'
[[ $HTTP_STATUS != 200 ]] || fail "system/oidc/ping of a closed port answered 200"
HTTP_AUTH=0 http POST "$API/system/oidc/ping" -b "$JAR_ALICE" -H "X-Harbor-CSRF-Token: $CSRF_ALICE"
expect_status 403
HTTP_AUTH=0 http POST "$API/system/oidc/ping" -b "$JAR_CAROL" -H "X-Harbor-CSRF-Token: $CSRF"
expect_status 200

# -------------------------------------------------------------- logout
log "logout ends alice's session"
HTTP_AUTH=0 http GET /c/log_out -b "$JAR_ALICE" -c "$JAR_ALICE"
expect_status 200
HTTP_AUTH=0 http GET "$API/users/current" -b "$JAR_ALICE"
expect_status 401
# The CLI secret outlives the browser session.
client_ok login-alice-again podman login --tls-verify=false --authfile "$(authfile alice2)" -u alice -p "$CLI_SECRET" "$REG"

berthd_stop
