#!/usr/bin/env bash
# Throwaway OpenLDAP server (slapd) for the LDAP auth backend tests.
#
#   tests/ldap/slapd-harness.sh start DIR   build a directory under DIR, start slapd
#                                           on 127.0.0.1, write DIR/env
#   tests/ldap/slapd-harness.sh stop DIR    stop that slapd and remove DIR
#
# The server listens on two free ports picked at start:
#   ldap://127.0.0.1:LDAP_PORT/    plain LDAP, StartTLS offered
#   ldaps://127.0.0.1:LDAPS_PORT/  LDAP over TLS
# Its certificate (SAN IP:127.0.0.1, DNS:localhost) is signed by a CA made
# with openssl at start; the CA is DIR/tls/ca.pem (no system store trusts it).
# Use 127.0.0.1 in URLs: libldap checks "localhost" against the machine's
# own name instead.
#
# Directory (suffix dc=berth,dc=test, mdb backend, memberof + refint overlays):
#   cn=admin,dc=berth,dc=test           rootdn
#   cn=search,dc=berth,dc=test          service account for searches
#   ou=people: uid=alice (developers), uid=bob (qa via uniqueMember, ops via
#     memberUid: no memberOf), uid=carol (developers, admins; has displayName),
#     uid=dave (no groups), cn=Smith\, John (Ops) (uid jsmith; qa), uid=twin
#     (and a second uid=twin under ou=contractors,ou=people)
#   ou=services: uid=robot (objectClass account, not a person)
#   ou=groups: developers, admins (groupOfNames), qa (groupOfUniqueNames),
#     ops (posixGroup)
# Anonymous clients may read everything but userPassword (and bind).
# Unauthenticated binds (a DN with an empty password) succeed as anonymous,
# as on Active Directory, so a client must refuse empty passwords itself.
#
# DIR/env holds KEY=value lines, no quoting and no spaces in values, so it can
# be sourced by a shell or split at the first '=':
#   LDAP_URL LDAPS_URL LDAP_HOST LDAP_PORT LDAPS_PORT LDAP_CA_CERT
#   LDAP_BASE_DN LDAP_PEOPLE_DN LDAP_GROUP_BASE_DN LDAP_ADMIN_GROUP_DN
#   LDAP_ROOT_DN LDAP_ROOT_PASSWORD LDAP_SEARCH_DN LDAP_SEARCH_PASSWORD
#   LDAP_PASSWORD_<USER> for ALICE BOB CAROL DAVE JSMITH TWIN ROBOT
#   LDAP_SLAPD_PID
# start prints the path of DIR/env on stdout; progress goes to stderr.
# Starting on a DIR that holds a server from an earlier run replaces it.
set -euo pipefail

MARKER=".berth-slapd-harness"
SUFFIX="dc=berth,dc=test"
ROOT_DN="cn=admin,$SUFFIX"
ROOT_PW="admin-secret"
SEARCH_DN="cn=search,$SUFFIX"
SEARCH_PW="search-secret"
PEOPLE="ou=people,$SUFFIX"
GROUP_BASE="ou=groups,$SUFFIX"
MODULE_DIR="${BERTH_SLAPD_MODULE_DIR:-/usr/lib/ldap}"
SCHEMA_DIR="${BERTH_SLAPD_SCHEMA_DIR:-/etc/ldap/schema}"

declare -A PASSWORDS=(
  [alice]="alice-secret-1" [bob]="bob-secret-2" [carol]="carol-secret-3"
  [dave]="dave-secret-4" [jsmith]="jsmith-secret-5" [twin]="twin-secret-6"
  [robot]="robot-secret-7")

log() { echo "slapd-harness: $*" >&2; }
die() {
  echo "slapd-harness: $*" >&2
  exit 1
}
usage() {
  echo "usage: $0 start DIR | stop DIR" >&2
  exit 2
}

need() {
  local p
  for p in "$@"; do
    command -v "$p" >/dev/null 2>&1 || [[ -x "/usr/sbin/$p" ]] ||
      die "$p not found; install slapd, ldap-utils and openssl (scripts/install-deps.sh)"
  done
}
sbin() { command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 40000))
    if ! port_in_use "$p"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# Stops the slapd whose pid file is in DIR (if it is still that slapd).
stop_server() {
  local dir="$1" pid i
  [[ -f "$dir/slapd.pid" ]] || return 0
  pid="$(cat "$dir/slapd.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if ! grep -qa slapd "/proc/$pid/cmdline" 2>/dev/null; then
    rm -f "$dir/slapd.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "slapd $pid did not stop within 10s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$dir/slapd.pid"
}

cmd_stop() {
  local dir="$1"
  [[ -e "$dir" ]] || return 0
  if [[ -n "$(ls -A "$dir" 2>/dev/null)" && ! -e "$dir/$MARKER" ]]; then
    die "$dir was not made by this script; refusing to remove it"
  fi
  stop_server "$dir"
  rm -rf -- "$dir"
  log "stopped and removed $dir"
}

make_tls() {
  local t="$1/tls"
  mkdir -p "$t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$t/ca.key" -out "$t/ca.pem" -days 3 -subj "/O=Berth tests/CN=Berth LDAP test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >"$t/openssl.log" 2>&1 || {
    cat "$t/openssl.log" >&2
    die "could not make the test CA"
  }
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$t/server.key" -out "$t/server.csr" -subj "/O=Berth tests/CN=127.0.0.1" \
    >>"$t/openssl.log" 2>&1 || {
    cat "$t/openssl.log" >&2
    die "could not make the server key"
  }
  cat >"$t/server.ext" <<'EOF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
EOF
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
    -CAcreateserial -CAserial "$t/ca.srl" -days 3 -extfile "$t/server.ext" \
    -out "$t/server.pem" >>"$t/openssl.log" 2>&1 || {
    cat "$t/openssl.log" >&2
    die "could not sign the server certificate"
  }
  chmod 600 "$t/ca.key" "$t/server.key"
}

hash_pw() { "$(sbin slappasswd)" -h '{SSHA}' -s "$1"; }

write_config() {
  local dir="$1" root_hash
  root_hash="$(hash_pw "$ROOT_PW")"
  cat >"$dir/slapd.conf" <<EOF
# Generated by tests/ldap/slapd-harness.sh
include $SCHEMA_DIR/core.schema
include $SCHEMA_DIR/cosine.schema
include $SCHEMA_DIR/inetorgperson.schema
include $SCHEMA_DIR/nis.schema

modulepath $MODULE_DIR
moduleload back_mdb
moduleload memberof
moduleload refint

pidfile $dir/slapd.pid
argsfile $dir/slapd.args
loglevel none
# Like Active Directory and many other servers, accept an "unauthenticated
# bind" (a DN with an empty password) as anonymous: a client that forwards
# an empty password would otherwise be signed in without one.
allow bind_anon_dn

TLSCACertificateFile $dir/tls/ca.pem
TLSCertificateFile $dir/tls/server.pem
TLSCertificateKeyFile $dir/tls/server.key

database mdb
maxsize 67108864
suffix "$SUFFIX"
rootdn "$ROOT_DN"
rootpw $root_hash
directory $dir/db
index objectClass eq
index uid,cn eq,sub
index member,uniqueMember,memberUid eq

# Users get memberOf for their groupOfNames groups.
overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay refint
refint_attributes member uniqueMember

access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by * read
EOF
}

write_seed() {
  local dir="$1" u
  declare -A H
  for u in search "${!PASSWORDS[@]}"; do
    if [[ $u == search ]]; then H[$u]="$(hash_pw "$SEARCH_PW")"; else H[$u]="$(hash_pw "${PASSWORDS[$u]}")"; fi
  done
  # Offline part (slapadd): the tree, the service account and the users.
  cat >"$dir/seed-base.ldif" <<EOF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: berth
o: Berth tests

dn: $PEOPLE
objectClass: organizationalUnit
ou: people

dn: ou=contractors,$PEOPLE
objectClass: organizationalUnit
ou: contractors

dn: ou=services,$SUFFIX
objectClass: organizationalUnit
ou: services

dn: $GROUP_BASE
objectClass: organizationalUnit
ou: groups

dn: $SEARCH_DN
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: search
description: service account that looks users and groups up
userPassword: ${H[search]}

dn: uid=alice,$PEOPLE
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@berth.test
userPassword: ${H[alice]}

dn: uid=bob,$PEOPLE
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@berth.test
userPassword: ${H[bob]}

dn: uid=carol,$PEOPLE
objectClass: inetOrgPerson
uid: carol
cn: Carol Danvers
sn: Danvers
displayName: Carol D.
mail: carol@berth.test
userPassword: ${H[carol]}

dn: uid=dave,$PEOPLE
objectClass: inetOrgPerson
uid: dave
cn: Dave Lister
sn: Lister
mail: dave@berth.test
userPassword: ${H[dave]}

dn: cn=Smith\, John (Ops),$PEOPLE
objectClass: inetOrgPerson
uid: jsmith
cn: Smith, John (Ops)
sn: Smith
mail: jsmith@berth.test
userPassword: ${H[jsmith]}

dn: uid=twin,$PEOPLE
objectClass: inetOrgPerson
uid: twin
cn: Twin One
sn: One
userPassword: ${H[twin]}

dn: uid=twin,ou=contractors,$PEOPLE
objectClass: inetOrgPerson
uid: twin
cn: Twin Two
sn: Two
userPassword: ${H[twin]}

dn: uid=robot,ou=services,$SUFFIX
objectClass: account
objectClass: simpleSecurityObject
uid: robot
userPassword: ${H[robot]}
EOF
  # Online part (ldapadd through slapd, so the memberof overlay sees it).
  cat >"$dir/seed-groups.ldif" <<EOF
dn: cn=developers,$GROUP_BASE
objectClass: groupOfNames
cn: developers
description: Developers
member: uid=alice,$PEOPLE
member: uid=carol,$PEOPLE

dn: cn=admins,$GROUP_BASE
objectClass: groupOfNames
cn: admins
description: Berth system administrators
member: uid=carol,$PEOPLE

dn: cn=qa,$GROUP_BASE
objectClass: groupOfUniqueNames
cn: qa
uniqueMember: uid=bob,$PEOPLE
uniqueMember: cn=Smith\, John (Ops),$PEOPLE

dn: cn=ops,$GROUP_BASE
objectClass: posixGroup
cn: ops
gidNumber: 5000
memberUid: bob
EOF
}

cmd_start() {
  local dir="$1" port port_tls attempt started=0 i
  need openssl slapd slapadd slappasswd slaptest ldapwhoami ldapadd ldapsearch
  for m in back_mdb memberof refint; do
    [[ -e "$MODULE_DIR/$m.so" || -e "$MODULE_DIR/$m.la" ]] ||
      die "slapd module $m not found in $MODULE_DIR (set BERTH_SLAPD_MODULE_DIR)"
  done

  if [[ -e "$dir" ]]; then
    if [[ -n "$(ls -A "$dir")" && ! -e "$dir/$MARKER" ]]; then
      die "$dir exists and was not made by this script; give an empty or new directory"
    fi
    stop_server "$dir"
    rm -rf -- "$dir"
  fi
  mkdir -p "$dir/db"
  touch "$dir/$MARKER"

  make_tls "$dir"
  write_config "$dir"
  write_seed "$dir"
  "$(sbin slaptest)" -Q -u -f "$dir/slapd.conf" >"$dir/slaptest.log" 2>&1 || {
    cat "$dir/slaptest.log" >&2
    die "slapd rejected the generated configuration $dir/slapd.conf"
  }
  "$(sbin slapadd)" -q -f "$dir/slapd.conf" -l "$dir/seed-base.ldif" >"$dir/slapadd.log" 2>&1 || {
    cat "$dir/slapadd.log" >&2
    die "slapadd failed"
  }

  for ((attempt = 0; attempt < 5; attempt++)); do
    port="$(pick_port)" || die "no free port found"
    port_tls="$(pick_port)" || die "no free port found"
    [[ "$port" != "$port_tls" ]] || continue
    # slapd forks into the background once its listeners are bound; its
    # stdio goes to a file so it holds no pipe of whoever started us.
    if "$(sbin slapd)" -f "$dir/slapd.conf" \
      -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$port_tls/" \
      </dev/null >"$dir/slapd.out" 2>&1; then
      started=1
      break
    fi
    # slapd reports bind failures to syslog, not to its output, so any
    # failure here may be a port another process took since pick_port:
    # try fresh ports (the configuration itself was checked by slaptest).
    log "slapd did not start on ports $port/$port_tls (attempt $((attempt + 1))): $(tail -c 300 "$dir/slapd.out")"
  done
  [[ $started -eq 1 ]] || die "slapd failed to start on 5 pairs of free ports (config $dir/slapd.conf)"

  # Ready once the service account can bind over both listeners.
  for ((i = 0; i < 200; i++)); do
    if ldapwhoami -x -H "ldap://127.0.0.1:$port/" -D "$SEARCH_DN" -w "$SEARCH_PW" >/dev/null 2>&1 &&
      LDAPTLS_CACERT="$dir/tls/ca.pem" LDAPTLS_REQCERT=demand \
        ldapwhoami -x -H "ldaps://127.0.0.1:$port_tls/" -D "$SEARCH_DN" -w "$SEARCH_PW" >/dev/null 2>&1; then
      break
    fi
    sleep 0.1
  done
  if ! ldapwhoami -x -H "ldap://127.0.0.1:$port/" -D "$SEARCH_DN" -w "$SEARCH_PW" >/dev/null 2>"$dir/whoami.log"; then
    cat "$dir/whoami.log" "$dir/slapd.out" >&2 || true
    stop_server "$dir"
    die "slapd did not answer on ldap://127.0.0.1:$port/ within 20s"
  fi

  ldapadd -x -H "ldap://127.0.0.1:$port/" -D "$ROOT_DN" -w "$ROOT_PW" \
    -f "$dir/seed-groups.ldif" >"$dir/ldapadd.log" 2>&1 || {
    cat "$dir/ldapadd.log" >&2
    stop_server "$dir"
    die "adding the groups failed"
  }
  # The memberof overlay must have given carol both groups.
  if [[ $(ldapsearch -x -LLL -H "ldap://127.0.0.1:$port/" -b "uid=carol,$PEOPLE" -s base memberOf |
    grep -ci '^memberOf:') -ne 2 ]]; then
    stop_server "$dir"
    die "the memberof overlay did not maintain memberOf"
  fi

  local pid
  pid="$(cat "$dir/slapd.pid")"
  {
    echo "LDAP_URL=ldap://127.0.0.1:$port"
    echo "LDAPS_URL=ldaps://127.0.0.1:$port_tls"
    echo "LDAP_HOST=127.0.0.1"
    echo "LDAP_PORT=$port"
    echo "LDAPS_PORT=$port_tls"
    echo "LDAP_CA_CERT=$dir/tls/ca.pem"
    echo "LDAP_BASE_DN=$SUFFIX"
    echo "LDAP_PEOPLE_DN=$PEOPLE"
    echo "LDAP_GROUP_BASE_DN=$GROUP_BASE"
    echo "LDAP_ADMIN_GROUP_DN=cn=admins,$GROUP_BASE"
    echo "LDAP_ROOT_DN=$ROOT_DN"
    echo "LDAP_ROOT_PASSWORD=$ROOT_PW"
    echo "LDAP_SEARCH_DN=$SEARCH_DN"
    echo "LDAP_SEARCH_PASSWORD=$SEARCH_PW"
    for u in alice bob carol dave jsmith twin robot; do
      echo "LDAP_PASSWORD_${u^^}=${PASSWORDS[$u]}"
    done
    echo "LDAP_SLAPD_PID=$pid"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
  log "slapd $pid serving $SUFFIX on ldap://127.0.0.1:$port and ldaps://127.0.0.1:$port_tls"
  echo "$dir/env"
}

[[ $# -eq 2 ]] || usage
action="$1"
dir="$2"
[[ -n "$dir" ]] || usage
dir="$(realpath -m -- "$dir")"
[[ "$dir" != "/" ]] || die "refusing to use /"
case "$action" in
  start) cmd_start "$dir" ;;
  stop) cmd_stop "$dir" ;;
  *) usage ;;
esac
