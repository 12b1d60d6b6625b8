#!/usr/bin/env bash
# The Debian packages, end to end, on a staging root:
#   1. cpack builds berth_*.deb and berth-plugin-dev_*.deb from the build tree;
#   2. their control data: Depends from dpkg-shlibdeps, the conffile, the
#      maintainer scripts, and which files each package holds;
#   3. both are unpacked (dpkg -x) into a staging root; `systemd-analyze
#      verify` accepts the unit there, and its offline security exposure is
#      printed;
#   4. berthd is started the way the unit starts it (its ExecStartPre, then its
#      ExecStart, as an unprivileged user, with the packaged config and
#      BERTH_DATA_DIR / BERTH_LISTEN standing in for StateDirectory and the
#      port), finds its plugins under the staging root, and skopeo pushes and
#      pulls an image through it; `--check-config` refuses broken configs;
#   5. the out-of-tree example plugin (a copy of plugins/examples/notifier-file)
#      is built against the unpacked berth-plugin-dev only, and the packaged
#      berthd loads it (`berthd plugins list`).
#
#   deb_packages.sh BUILD_DIR "PLUGIN..."     (ctest -L packaging)
set -euo pipefail
export LC_ALL=C

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(realpath "$1")
PLUGINS=($2)
WORK=$(mktemp -d /tmp/berth-deb.XXXXXX)
chmod 755 "$WORK"                      # the unprivileged berthd reads the root
PID=""
T0=$SECONDS

cleanup() {
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  if [[ -n ${BERTH_PACKAGING_KEEP:-} ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
step() { printf '[deb %3ds] %s\n' $((SECONDS - T0)) "$*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  for f in "$WORK"/*.log; do
    [[ -s $f ]] && { echo "--- $f" >&2; tail -n 25 "$f" >&2; }
  done
  exit 1
}
# Root only (ctest reports a skip otherwise): unpacking as root, then running
# berthd as another user (setpriv/chroot), is what stands in for the package.
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root" >&2
  exit 77
fi
for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze skopeo setpriv cmake ninja python3; do
  command -v "$tool" >/dev/null || fail "required tool '$tool' is missing (scripts/install-deps.sh)"
done

# --------------------------------------------------------------- 1. cpack ---
step "cpack -G DEB"
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkgs" >"$WORK/cpack.log" 2>&1 ||
  fail "cpack failed"
BERTH_DEB=$(ls "$WORK"/pkgs/berth_*_amd64.deb 2>/dev/null | head -1)
DEV_DEB=$(ls "$WORK"/pkgs/berth-plugin-dev_*_all.deb 2>/dev/null | head -1)
[[ -f $BERTH_DEB ]] || fail "no berth_*_amd64.deb in $(ls "$WORK/pkgs")"
[[ -f $DEV_DEB ]] || fail "no berth-plugin-dev_*_all.deb in $(ls "$WORK/pkgs")"
step "built $(basename "$BERTH_DEB") ($(du -k "$BERTH_DEB" | cut -f1) KiB), $(basename "$DEV_DEB") ($(du -k "$DEV_DEB" | cut -f1) KiB)"

# ------------------------------------------------------- 2. control data ---
field() { dpkg-deb -f "$1" "$2"; }
[[ $(field "$BERTH_DEB" Package) == berth ]] || fail "berth package name: $(field "$BERTH_DEB" Package)"
[[ $(field "$DEV_DEB" Package) == berth-plugin-dev ]] || fail "dev package name"
[[ $(field "$DEV_DEB" Architecture) == all ]] || fail "berth-plugin-dev is not Architecture: all"
depends=$(field "$BERTH_DEB" Depends)
step "berth Depends: $depends"
for want in libc6 libstdc++6 libpoco 'libpqxx-6.4' libsqlite3 libssl3 libcurl4 libyaml-cpp adduser; do
  grep -q "$want" <<<"$depends" || fail "berth Depends lacks $want: $depends"
done
# Each dependency must name a real Debian package (shlibdeps resolved it).
deps=($(tr ',|' '\n\n' <<<"$depends" | sed 's/(.*//; s/ //g' | grep -v '^$'))
known=$( (apt-cache show --no-all-versions "${deps[@]}" 2>/dev/null; dpkg-query -s "${deps[@]}" 2>/dev/null) |
  sed -n 's/^Package: //p' | sort -u)
for dep in "${deps[@]}"; do
  grep -qx "$dep" <<<"$known" || fail "berth depends on '$dep', which Debian does not know"
done
dpkg-deb -e "$BERTH_DEB" "$WORK/control"
[[ $(cat "$WORK/control/conffiles") == /etc/berth/berth.yml ]] ||
  fail "conffiles: $(cat "$WORK/control/conffiles")"
for s in postinst prerm postrm; do
  [[ -x $WORK/control/$s ]] || fail "no executable $s"
  sh -n "$WORK/control/$s" || fail "$s is not valid sh"
done
grep -q 'adduser --system' "$WORK/control/postinst" || fail "postinst creates no system user"

dpkg-deb -c "$BERTH_DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$WORK/berth.files"
dpkg-deb -c "$DEV_DEB" | awk '{print $6}' | sed 's|^\./|/|' >"$WORK/dev.files"
has() { grep -qx "$2" "$WORK/$1.files" || fail "$1 package lacks $2"; }
has berth /usr/bin/berthd
has berth /etc/berth/berth.yml
has berth /lib/systemd/system/berth.service
for p in "${PLUGINS[@]}"; do has berth "/usr/lib/berth/plugins/$p.so"; done
has dev /usr/include/berth/plugin.h
has dev /usr/include/berth/plugin_sdk.hpp
has dev /usr/share/cmake/BerthPluginAPI/BerthPluginAPIConfig.cmake
has dev /usr/share/cmake/BerthPluginAPI/BerthPlugin.cmake
grep -q '^/usr/include/' "$WORK/berth.files" && fail "berth ships headers (they belong in berth-plugin-dev)"
grep -q '\.so$' "$WORK/dev.files" && fail "berth-plugin-dev ships a shared object"

# ---------------------------------------------------- 3. staging root, unit ---
ROOT=$WORK/root
dpkg -x "$BERTH_DEB" "$ROOT"
dpkg -x "$DEV_DEB" "$ROOT"
UNIT=$ROOT/lib/systemd/system/berth.service
for d in 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'StateDirectory=berth' 'PrivateTmp=yes' \
         'ProtectHome=yes' 'Restart=on-failure' 'User=berth' \
         'ExecStartPre=/usr/bin/berthd --check-config --config /etc/berth/berth.yml'; do
  grep -qx "$d" "$UNIT" || fail "the unit lacks '$d'"
done
step "systemd-analyze verify"
# The root the unit is verified in holds the package and, standing in for the
# rest of an installed system, the host's targets and slices (verify resolves
# the unit's default dependencies on sysinit.target, system.slice, ...).
mkdir -p "$ROOT/usr/lib/systemd/system" "$ROOT/bin"
cp /lib/systemd/system/*.target /lib/systemd/system/*.slice "$ROOT/usr/lib/systemd/system/"
cp /bin/kill "$ROOT/bin/kill"    # ExecReload's (procps) on a real system
systemd-analyze verify --root="$ROOT" /lib/systemd/system/berth.service >"$WORK/verify.log" 2>&1 ||
  fail "systemd-analyze verify failed: $(cat "$WORK/verify.log")"
[[ -s $WORK/verify.log ]] && fail "systemd-analyze verify warned: $(cat "$WORK/verify.log")"
exposure=$(systemd-analyze security --offline=yes --root="$ROOT" /lib/systemd/system/berth.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for berth.service: \([0-9.]*\).*/\1/p' || true)
step "systemd-analyze security: overall exposure ${exposure:-unknown} (0 = locked down, 10 = exposed)"

# The unit's own command lines, pointed into the staging root.
unit_cmd() {
  sed -n "s/^$1=//p" "$UNIT" | sed "s|/usr/bin/berthd|$ROOT/usr/bin/berthd|; s|/etc/berth/berth.yml|$ROOT/etc/berth/berth.yml|"
}
PRE=$(unit_cmd ExecStartPre)
START=$(unit_cmd ExecStart)
[[ $PRE == *--check-config* && -n $START ]] || fail "no ExecStartPre/ExecStart in the unit"
STATE=$WORK/state                                   # stands in for /var/lib/berth
mkdir -m 0750 "$STATE"
chown nobody:nogroup "$STATE"
ADMIN_PW="Deb-$RANDOM-Admin1"
# As User=berth would: unprivileged, no new privileges, only the unit's
# environment plus what stands in for StateDirectory and a free port.
# Leading VAR=value arguments add to (or override) that environment.
# service_cmd sets SVC to the command line (env and setpriv exec into berthd,
# so a background "${SVC[@]}" & has berthd's own PID); as_service runs it.
service_cmd() {
  local envs=()
  while [[ $# -gt 0 && $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
  SVC=(env -i PATH=/usr/bin:/bin BERTH_DATA_DIR="$STATE" BERTH_LISTEN=127.0.0.1:0
       BERTH_ADMIN_PASSWORD="$ADMIN_PW" "${envs[@]}"
       setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs -- "$@")
}
as_service() { service_cmd "$@"; "${SVC[@]}"; }

# ----------------------------------------------------- 4. run and use it ---
step "check-config failures are clear and non-zero"
check_refuses() {   # WHY PATTERN [VAR=value...] [--config FILE]
  local why=$1 pattern=$2 rc=0
  shift 2
  local envs=() cmd=($PRE)
  while [[ $# -gt 0 && $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
  if [[ ${1:-} == --config ]]; then cmd=("$ROOT/usr/bin/berthd" --check-config --config "$2"); fi
  as_service "${envs[@]}" "${cmd[@]}" >"$WORK/check.out" 2>"$WORK/check.err" || rc=$?
  [[ $rc -ne 0 ]] || fail "check-config accepted $why"
  grep -qF -- "$pattern" "$WORK/check.err" || fail "check-config on $why said: $(cat "$WORK/check.err")"
}
sed 's/^  driver: fs /  driver: swift /' "$ROOT/etc/berth/berth.yml" >"$WORK/swift.yml"
grep -q 'driver: swift' "$WORK/swift.yml" || fail "could not derive a config with another storage driver"
check_refuses "an unknown storage driver" "storage.driver 'swift' is not provided by any loaded plugin" \
  --config "$WORK/swift.yml"
mkdir -m 0755 "$WORK/badplugins"
printf 'not an ELF file' >"$WORK/badplugins/broken.so"
check_refuses "a plugin directory with a broken plugin" "$WORK/badplugins/broken.so" \
  BERTH_PLUGIN_DIRS="$WORK/badplugins"
check_refuses "ldap without its settings" "auth.mode: auth provider 'ldap'" BERTH_AUTH_MODE=ldap
mkdir -m 0755 "$WORK/rootonly"
check_refuses "a data_dir it cannot create" "cannot be created" BERTH_DATA_DIR="$WORK/rootonly/data"
check_refuses "a malformed listen address" "listen must be host:port" BERTH_LISTEN=nowhere
# Checking writes nothing: a data_dir that does not exist yet stays absent.
as_service BERTH_DATA_DIR="$STATE/not-yet" $PRE >"$WORK/check.out" 2>&1 ||
  fail "check-config refused the packaged config: $(cat "$WORK/check.out")"
[[ -e $STATE/not-yet ]] && fail "check-config created the data directory"

step "ExecStartPre: $PRE"
as_service $PRE >"$WORK/pre.log" 2>&1 || fail "ExecStartPre failed"
grep -q "configuration OK" "$WORK/pre.log" || fail "check-config said: $(cat "$WORK/pre.log")"
grep -q "storage.driver 'fs' from $ROOT/usr/lib/berth/plugins/storage-fs.so" "$WORK/pre.log" ||
  fail "the storage plugin did not come from the staging root: $(cat "$WORK/pre.log")"

step "ExecStart: $START"
service_cmd $START
"${SVC[@]}" >"$WORK/berthd.out" 2>"$WORK/berthd.log" &
PID=$!
url=""
for _ in $(seq 1 600); do
  url=$(grep -o 'listening on http://[^ ]*' "$WORK/berthd.out" 2>/dev/null | head -1 | cut -d' ' -f3 || true)
  [[ -n $url ]] && break
  kill -0 "$PID" 2>/dev/null || fail "berthd exited before listening"
  sleep 0.1
done
[[ -n $url ]] || fail "berthd did not listen within 60 s"
HOST=${url#http://}
step "packaged berthd listens on $url"
[[ $(stat -c %U "$STATE/berth.db") == nobody ]] || fail "the metadata is not owned by the service user"
grep -q '"path":"'"$ROOT"'/usr/lib/berth/plugins/auth-db.so"' "$WORK/berthd.log" ||
  fail "berthd did not load the packaged auth-db plugin"

python3 "$SRC/tests/e2e/e2e_helper.py" make-layout "$WORK/layout" v1 4096 300000 >"$WORK/digest"
CREDS="admin:$ADMIN_PW"
timeout 180 skopeo copy --retry-times 0 --dest-tls-verify=false --dest-creds "$CREDS" \
  --digestfile "$WORK/pushed" "oci:$WORK/layout:v1" "docker://$HOST/library/deb:v1" \
  >"$WORK/push.log" 2>&1 || fail "skopeo push failed"
[[ $(cat "$WORK/pushed") == $(cat "$WORK/digest") ]] || fail "pushed digest differs from the layout's"
timeout 180 skopeo copy --retry-times 0 --src-tls-verify=false --src-creds "$CREDS" \
  "docker://$HOST/library/deb:v1" "dir:$WORK/pulled" >"$WORK/pull.log" 2>&1 || fail "skopeo pull failed"
python3 "$SRC/tests/e2e/e2e_helper.py" verify-dir "$WORK/pulled" "$(cat "$WORK/digest")" "$WORK/layout" \
  >"$WORK/verify-pull.log" 2>&1 || fail "the pulled image differs"
step "skopeo pushed and pulled library/deb:v1 ($(cat "$WORK/digest"))"

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=""
[[ $rc -eq 0 ]] || fail "berthd exited with $rc on SIGTERM"

# ------------------------------------- 5. a plugin against berth-plugin-dev ---
step "out-of-tree example plugin against the unpacked berth-plugin-dev"
cp -r "$SRC/plugins/examples/notifier-file" "$WORK/example-src"
cmake -S "$WORK/example-src" -B "$WORK/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$ROOT/usr" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF >"$WORK/example-configure.log" 2>&1 ||
  fail "configuring the example against berth-plugin-dev failed"
found=$(sed -n 's/^BerthPluginAPI_DIR:PATH=//p' "$WORK/example/CMakeCache.txt")
[[ $found == "$ROOT/usr/share/cmake/BerthPluginAPI" ]] || fail "BerthPluginAPI found at '$found'"
cmake --build "$WORK/example" >"$WORK/example-build.log" 2>&1 || fail "building the example failed"
grep -rq "$SRC" "$WORK/example/build.ninja" "$WORK/example/CMakeFiles/rules.ninja" &&
  fail "the example's build reached into the source tree"
grep -q "$ROOT/usr/include" "$WORK/example/build.ninja" || fail "the example did not use the packaged headers"
exports=$(nm -D --defined-only "$WORK/example/notifier-file.so" | awk '{print $3}' | grep -v '^$' || true)
[[ $exports == berth_plugin_entry ]] || fail "the example exports: $exports"
mkdir -m 0755 "$WORK/extra-plugins"
cp "$WORK/example/notifier-file.so" "$WORK/extra-plugins/"
as_service BERTH_PLUGIN_DIRS="$WORK/extra-plugins" "$ROOT/usr/bin/berthd" plugins list \
  --config "$ROOT/etc/berth/berth.yml" >"$WORK/plugins.log" 2>&1 || fail "berthd plugins list failed"
grep -q "^notifier-file 1.0.0" "$WORK/plugins.log" || fail "plugins list lacks the example"
grep -q "file: $WORK/extra-plugins/notifier-file.so" "$WORK/plugins.log" || fail "the example came from elsewhere"
grep -q "provider notifier/file" "$WORK/plugins.log" || fail "the example's provider is missing"
for p in "${PLUGINS[@]}"; do
  grep -q "file: $ROOT/usr/lib/berth/plugins/$p.so" "$WORK/plugins.log" || fail "plugins list lacks $p"
done
grep -q REFUSED "$WORK/plugins.log" && fail "a plugin was refused: $(cat "$WORK/plugins.log")"
as_service BERTH_PLUGIN_DIRS="$WORK/extra-plugins" $PRE >"$WORK/pre2.log" 2>&1 ||
  fail "check-config with the example plugin failed"

step "packaging OK in $((SECONDS - T0)) s"
