#!/usr/bin/env bash
# Throwaway PostgreSQL 15 for tests.
#
#   scripts/pg-test-server.sh start DIR [PORT]   initdb into DIR, start on 127.0.0.1,
#                                                create database "berth", print the DSN
#   scripts/pg-test-server.sh stop DIR           stop it and remove DIR
#
# Only the DSN goes to stdout (postgresql://postgres@127.0.0.1:PORT/berth);
# progress and errors go to stderr. Without PORT a free one is picked. Running
# as root, the server runs as the "postgres" user (initdb refuses root).
# Starting on a DIR that already holds a server from an earlier run stops and
# replaces it.
set -euo pipefail

MARKER=".berth-pg-test-server"

die() {
  echo "pg-test-server: $*" >&2
  exit 1
}
log() { echo "pg-test-server: $*" >&2; }

usage() {
  echo "usage: $0 start DIR [PORT] | stop DIR" >&2
  exit 2
}

find_bindir() {
  local d
  for d in "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/15/bin; do
    if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

# Runs a command as the server's owner: postgres when we are root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Every directory above DIR must be traversable by the server's user.
make_traversable() {
  local dir="$1" p
  [[ $(id -u) -eq 0 ]] || return 0
  p="$(dirname "$dir")"
  while [[ "$p" != "/" ]]; do
    if ! runuser -u postgres -- test -x "$p"; then
      log "granting search (o+x) permission on $p so the postgres user can reach $dir"
      chmod o+x "$p"
    fi
    p="$(dirname "$p")"
  done
}

port_in_use() {
  # A connection that succeeds means something listens there.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

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

stop_server() {
  local dir="$1" bindir
  [[ -d "$dir" ]] || return 0
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    bindir="$(find_bindir)" || die "PostgreSQL binaries not found (pg_config --bindir, /usr/lib/postgresql/15/bin)"
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 ||
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >&2 || true
  fi
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

cmd_start() {
  local dir="$1" port="${2:-}" bindir attempt
  bindir="$(find_bindir)" || die "PostgreSQL binaries not found (pg_config --bindir, /usr/lib/postgresql/15/bin); install postgresql-15"

  if [[ -e "$dir" ]]; then
    if [[ -n "$(ls -A "$dir")" && ! -e "$dir/$MARKER" ]]; then
      die "$dir exists and was not made by this script; give an empty or new directory"
    fi
    stop_server "$dir"
    rm -rf -- "${dir:?}/data" "$dir/server.log"
  fi
  mkdir -p "$dir"
  touch "$dir/$MARKER"
  chmod 755 "$dir"
  make_traversable "$dir"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir"
  fi

  # The server's user may not be able to enter our working directory.
  cd "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  }

  local fixed_port=1
  [[ -n "$port" ]] || fixed_port=0
  for ((attempt = 0; attempt < 5; attempt++)); do
    if [[ $fixed_port -eq 0 ]]; then
      port="$(pick_port)" || die "no free port found"
    fi
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >&2; then
      break
    fi
    if [[ $fixed_port -eq 1 ]] || ! grep -q "could not bind\|Address already in use" "$dir/server.log"; then
      tail -n 30 "$dir/server.log" >&2 || true
      die "could not start PostgreSQL on port $port"
    fi
    log "port $port was taken; trying another"
    port=""
  done
  [[ -f "$dir/data/postmaster.pid" ]] || die "PostgreSQL did not start"

  "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres berth ||
    die "createdb berth failed (server log: $dir/server.log)"
  echo "$port" >"$dir/port"
  echo "postgresql://postgres@127.0.0.1:$port/berth"
}

[[ $# -ge 2 ]] || usage
action="$1"
dir="$2"
[[ -n "$dir" ]] || usage
dir="$(realpath -m -- "$dir")"
[[ "$dir" != "/" ]] || die "refusing to use /"
case "$action" in
  start)
    [[ $# -le 3 ]] || usage
    if [[ $# -eq 3 ]]; then
      [[ "$3" =~ ^[0-9]+$ && "$3" -ge 1 && "$3" -le 65535 ]] || die "PORT must be 1-65535, got '$3'"
    fi
    cmd_start "$dir" "${3:-}"
    ;;
  stop)
    [[ $# -eq 2 ]] || usage
    cmd_stop "$dir"
    ;;
  *) usage ;;
esac
