#!/usr/bin/env bash
# Installs everything Berth needs to build, run and test on Debian 12.
# Usage: scripts/install-deps.sh [--runtime-only]
# Safe to re-run: packages already present are skipped quickly.
set -euo pipefail

BUILD_PKGS=(g++ cmake ninja-build ccache pkg-config git
  libpoco-dev libboost-dev libpqxx-dev libpq-dev nlohmann-json3-dev libssl-dev
  libcurl4-openssl-dev libyaml-cpp-dev libsqlite3-dev libgtest-dev libgmock-dev
  libargon2-dev libldap2-dev libarchive-dev)
TEST_PKGS=(postgresql-15 skopeo podman buildah uidmap docker-registry python3 curl jq
  apache2-utils wrk abigail-tools slapd ldap-utils
  openssl procps dpkg-dev systemd mmdebstrap python3-yaml)  # TLS test CA; packaging tests: dpkg-shlibdeps, systemd-analyze, a clean root
# The libFuzzer targets (tests/fuzz): clang and its fuzzer/sanitizer runtimes.
TEST_PKGS+=(clang-14 libclang-rt-14-dev)
# storage-s3 tests: a throwaway Ceph cluster with radosgw (tests/s3/radosgw.py).
TEST_PKGS+=(radosgw ceph-mon ceph-osd)
# Scale-out test and benchmark: several berthd behind a round-robin proxy.
TEST_PKGS+=(haproxy)

pkgs=("${BUILD_PKGS[@]}")
if [[ "${1:-}" != "--runtime-only" ]]; then
  pkgs+=("${TEST_PKGS[@]}")
  # The OIDC test provider runs on Node.js; use the machine's own when present
  # (Debian's nodejs conflicts with NodeSource builds).
  command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# slapd must not try to configure a directory of its own: tests start their own.
echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
