#!/usr/bin/env bash
# Benchmarks berthd against Debian's CNCF distribution (docker-registry 2.8)
# on this machine, in one run, and prints medians and berthd/distribution
# ratios against the project's targets.
#
#   scripts/bench/run.sh                         full run (~10 min)
#   BENCH_WRITE_DOCS=1 scripts/bench/run.sh      ... and update docs/benchmarks.md
#   BENCH_RUNS=3 BENCH_DURATION=3 BENCH_BIG_MIB=256 scripts/bench/run.sh   quick look
#   BENCH_ONLY=wrk,big scripts/bench/run.sh      only some steps (push,small,wrk,auth,big)
#   BENCH_ONLY=auth scripts/bench/run.sh         token issuance, Bearer/Basic manifest GET
#                                                vs distribution with token auth (~4 min)
#
# Garbage collection is a separate command (its own build, work dir and
# cleanup): scripts/bench/gc_bench.py — berthd's online GC of 100,000 blobs,
# half unreferenced, vs `docker-registry garbage-collect`, with pull latency
# during GC; knobs BENCH_GC_* in its header.
#
# Other knobs: BENCH_CONNECTIONS, BENCH_PUSH_MIB, BENCH_SMALL_N,
# BENCH_SMALL_CLIENT=python|skopeo, BENCH_BUILD_DIR (default build-bench/),
# BENCH_SKIP_BUILD=1, BENCH_TMPDIR (where the temporary data goes; needs
# ~3.5 GiB free with the default 1 GiB blob). See scripts/bench/bench.py.
#
# Needs: skopeo, curl, wrk, docker-registry, openssl, python3 (stdlib only),
# and a C++ toolchain to build berthd; strace for the auth step's "no password
# hashing on the Bearer path" check. Uses at most 2 build jobs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${BENCH_BUILD_DIR:-$root/build-bench}"

missing=()
for tool in skopeo curl wrk docker-registry openssl /usr/bin/python3 cmake ninja; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "run.sh: missing tools: ${missing[*]} (apt-get install skopeo curl wrk docker-registry openssl cmake ninja-build)" >&2
  exit 2
fi

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  echo "building berthd (Release) in $build"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBERTH_BUILD_TESTS=OFF >/dev/null
  # Every default target: berthd loads whichever plugins its defaults need.
  cmake --build "$build" -j2 >/dev/null
fi
[[ -x "$build/bin/berthd" ]] || { echo "run.sh: no berthd at $build/bin/berthd" >&2; exit 2; }

work="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/berth-bench.XXXXXX")"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Servers the helper started; each wrote its pid file. Kill by pid only.
  # bench.py first (so it starts nothing more), then the servers it started.
  for f in "$work"/bench.py.pid "$work"/*.pid; do
    [[ -e "$f" ]] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BENCH_WORK="$work" BENCH_BUILD_DIR="$build" /usr/bin/python3 "$here/bench.py" "$@" &
echo $! >"$work/bench.py.pid"
wait $!
