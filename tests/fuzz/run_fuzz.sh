#!/usr/bin/env bash
# Runs one libFuzzer target for ctest (tests/fuzz/CMakeLists.txt).
#   run_fuzz.sh replay BIN SEED_DIR REGRESSION_DIR
#       runs every seed and regression input once; fails on any crash
#   run_fuzz.sh fuzz BIN SEED_DIR WORK_DIR SECONDS
#       fuzzes for SECONDS from the seeds; new inputs go to WORK_DIR/corpus
#       (never into the source tree), a crash to WORK_DIR/artifacts/
set -euo pipefail
mode=$1 bin=$2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
case $mode in
  replay)
    seeds=$3 regressions=$4
    shopt -s nullglob
    inputs=("$seeds"/* "$regressions"/*)
    files=()
    for f in "${inputs[@]}"; do [[ -f $f && $(basename "$f") != README* ]] && files+=("$f"); done
    echo "replaying ${#files[@]} inputs"
    # A 1 MiB stack (a server thread's, not the 8 MiB of a main thread): the
    # deep-nesting regressions overflow it, when unfixed, with 40 KB inputs.
    ulimit -s 1024
    # With file arguments libFuzzer runs each input once and exits non-zero
    # on the first crash or sanitizer report.
    ((${#files[@]} == 0)) || exec "$bin" -rss_limit_mb=2048 "${files[@]}"
    ;;
  fuzz)
    seeds=$3 work=$4 secs=$5
    mkdir -p "$work/corpus" "$work/artifacts"
    exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
    ;;
  *) echo "usage: $0 replay|fuzz ..." >&2; exit 2 ;;
esac
