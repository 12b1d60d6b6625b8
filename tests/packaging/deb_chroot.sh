#!/usr/bin/env bash
# The berth package on a clean Debian 12, as an operator installs it:
#   1. cpack builds the .debs; mmdebstrap makes a minimal bookworm root from
#      the machine's own apt sources and `apt-get install`s ./berth_*.deb and
#      ./berth-plugin-dev_*.deb in it, so apt resolves the Depends that
#      dpkg-shlibdeps wrote, and dpkg runs the maintainer scripts for real;
#   2. what postinst made: the `berth` system user, /var/lib/berth, the
#      config readable by root and berth only, the conffile registered;
#   3. berthd runs as the unit runs it (check-config, then serve) as user
#      berth inside the root, and skopeo pushes and pulls an image through it;
#   4. purge removes the config and keeps the data and the user.
# No systemd runs in the root, so postinst only enables the unit
# (deb-systemd-helper); deb_packages.sh checks the unit itself.
#
#   deb_chroot.sh BUILD_DIR        (ctest -L packaging; needs the Debian mirror)
set -euo pipefail
export LC_ALL=C

SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(realpath "$1")
WORK=$(mktemp -d /tmp/berth-deb-chroot.XXXXXX)
chmod 755 "$WORK"
ROOT=$WORK/root
PID=""
T0=$SECONDS

cleanup() {
  if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  mountpoint -q "$ROOT/proc" 2>/dev/null && umount "$ROOT/proc"
  if [[ -n ${BERTH_PACKAGING_KEEP:-} ]]; then
    echo "kept $WORK" >&2
  elif ! mountpoint -q "$ROOT/proc" 2>/dev/null; then
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
step() { printf '[deb-chroot %3ds] %s\n' $((SECONDS - T0)) "$*" >&2; }
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
for tool in cpack mmdebstrap skopeo chroot mount python3; do
  command -v "$tool" >/dev/null || fail "required tool '$tool' is missing (scripts/install-deps.sh)"
done

step "cpack -G DEB"
cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$WORK/pkgs" >"$WORK/cpack.log" 2>&1 ||
  fail "cpack failed"
BERTH_DEB=$(ls "$WORK"/pkgs/berth_*_amd64.deb | head -1)
DEV_DEB=$(ls "$WORK"/pkgs/berth-plugin-dev_*_all.deb | head -1)

# The machine's own apt sources (deb822 or one-line), so the root gets the
# same archive the build's libraries came from.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [[ -s $f ]] && grep -qv '^[[:space:]]*#' "$f" && sources+=("$f")
done
((${#sources[@]})) || fail "no apt sources on this machine"

step "mmdebstrap bookworm (minbase) + apt-get install ./$(basename "$BERTH_DEB") ./$(basename "$DEV_DEB")"
mmdebstrap --variant=minbase --mode=root --aptopt='Acquire::Retries "3"' \
  --customize-hook="copy-in $BERTH_DEB $DEV_DEB /tmp" \
  --customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/'"$(basename "$BERTH_DEB") /tmp/$(basename "$DEV_DEB")" \
  --customize-hook='rm -f "$1"/tmp/*.deb' \
  bookworm "$ROOT" "${sources[@]}" >"$WORK/mmdebstrap.log" 2>&1 || fail "mmdebstrap / apt-get install failed"
step "installed: $(grep -c '^Setting up' "$WORK/mmdebstrap.log") packages set up in the root"
in_root() { chroot "$ROOT" "$@"; }

# ------------------------------------------------------ what postinst made ---
status=$(in_root dpkg-query -W -f='${Status} ${Version}' berth)
[[ $status == "install ok installed "* ]] || fail "berth is not installed: $status"
[[ $(in_root dpkg-query -W -f='${Status}' berth-plugin-dev) == "install ok installed" ]] ||
  fail "berth-plugin-dev is not installed"
in_root dpkg-query -W -f='${Conffiles}\n' berth | grep -q '^ /etc/berth/berth.yml ' ||
  fail "dpkg did not register /etc/berth/berth.yml as a conffile"
pw=$(in_root getent passwd berth) || fail "postinst created no berth user"
IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
((uid < 1000)) || fail "berth is not a system user (uid $uid)"
[[ $home == /var/lib/berth && $shell == /usr/sbin/nologin ]] || fail "berth user: $pw"
[[ $(in_root stat -c '%U:%G %a' /var/lib/berth) == "berth:berth 750" ]] ||
  fail "/var/lib/berth is $(in_root stat -c '%U:%G %a' /var/lib/berth)"
[[ $(in_root stat -c '%U:%G %a' /etc/berth/berth.yml) == "root:berth 640" ]] ||
  fail "/etc/berth/berth.yml is $(in_root stat -c '%U:%G %a' /etc/berth/berth.yml)"
[[ -L $ROOT/etc/systemd/system/multi-user.target.wants/berth.service ]] ||
  fail "postinst did not enable berth.service"
step "postinst: user $pw, /var/lib/berth berth:berth 750, config root:berth 640, unit enabled"

# ----------------------------------------------- run it as the unit would ---
mount -t proc proc "$ROOT/proc"   # berthd finds its plugins through /proc/self/exe
ADMIN_PW="Chroot-$RANDOM-Admin1"
as_berth() {
  env -i PATH=/usr/bin:/bin BERTH_LISTEN=127.0.0.1:0 BERTH_ADMIN_PASSWORD="$ADMIN_PW" \
    /usr/sbin/chroot --userspec=berth:berth "$ROOT" "$@"
}
pre=$(sed -n 's/^ExecStartPre=//p' "$ROOT/lib/systemd/system/berth.service")
start=$(sed -n 's/^ExecStart=//p' "$ROOT/lib/systemd/system/berth.service")
as_berth $pre >"$WORK/pre.log" 2>&1 || fail "ExecStartPre ($pre) failed"
grep -q "storage.driver 'fs' from /usr/lib/berth/plugins/storage-fs.so" "$WORK/pre.log" ||
  fail "check-config: $(cat "$WORK/pre.log")"
env -i PATH=/usr/bin:/bin BERTH_LISTEN=127.0.0.1:0 BERTH_ADMIN_PASSWORD="$ADMIN_PW" \
  /usr/sbin/chroot --userspec=berth:berth "$ROOT" $start >"$WORK/berthd.out" 2>"$WORK/berthd.log" &
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
step "berthd (user berth, in the root) listens on $url"
[[ $(in_root stat -c %U /var/lib/berth/berth.db) == berth ]] || fail "berth.db is not berth's"

python3 "$SRC/tests/e2e/e2e_helper.py" make-layout "$WORK/layout" v1 4096 200000 >"$WORK/digest"
timeout 180 skopeo copy --retry-times 0 --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" \
  --digestfile "$WORK/pushed" "oci:$WORK/layout:v1" "docker://$HOST/library/chroot:v1" \
  >"$WORK/push.log" 2>&1 || fail "skopeo push failed"
[[ $(cat "$WORK/pushed") == $(cat "$WORK/digest") ]] || fail "pushed digest differs from the layout's"
timeout 180 skopeo copy --retry-times 0 --src-tls-verify=false --src-creds "admin:$ADMIN_PW" \
  "docker://$HOST/library/chroot:v1" "dir:$WORK/pulled" >"$WORK/pull.log" 2>&1 || fail "skopeo pull failed"
python3 "$SRC/tests/e2e/e2e_helper.py" verify-dir "$WORK/pulled" "$(cat "$WORK/digest")" "$WORK/layout" \
  >"$WORK/verify.log" 2>&1 || fail "the pulled image differs"
step "skopeo pushed and pulled library/chroot:v1"
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=""
[[ $rc -eq 0 ]] || fail "berthd exited with $rc on SIGTERM"

# ------------------------------------------------------------------ purge ---
in_root env DEBIAN_FRONTEND=noninteractive dpkg --purge berth >"$WORK/purge.log" 2>&1 || fail "dpkg --purge berth"
[[ -e $ROOT/etc/berth/berth.yml ]] && fail "purge left /etc/berth/berth.yml"
[[ -e $ROOT/usr/bin/berthd ]] && fail "purge left /usr/bin/berthd"
[[ -s $ROOT/var/lib/berth/berth.db ]] || fail "purge removed the registry's data"
in_root getent passwd berth >/dev/null || fail "purge removed the berth user"
step "purge removed the package and its config, kept /var/lib/berth and the user"
step "packaging chroot OK in $((SECONDS - T0)) s"
