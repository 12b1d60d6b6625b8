#!/usr/bin/env bash
# The cost of the plugin ABI: storage-fs through its plugin (berthd's path)
# versus the same FsDriver called directly, in one run, on the same directory.
#
#   scripts/bench/abi/run.sh                 build (Release, build-abibench/), run, print
#   ABI_BENCH_REPETITIONS=10                 repetitions per benchmark (medians reported)
#   ABI_BENCH_MIN_TIME=0.5                   seconds per repetition
#   ABI_BENCH_E2E=0                          skip the end-to-end round trips (wrk)
#   ABI_BENCH_BUILD=DIR  ABI_BENCH_JOBS=2    build directory, parallel jobs
#
# Results (JSON, console log) stay in $ABI_BENCH_BUILD/abi-results/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
build=${ABI_BENCH_BUILD:-$root/build-abibench}
reps=${ABI_BENCH_REPETITIONS:-10}
min_time=${ABI_BENCH_MIN_TIME:-0.5}
jobs=${ABI_BENCH_JOBS:-2}
e2e=${ABI_BENCH_E2E:-1}
out=$build/abi-results
python=${PYTHON:-python3}

echo "== building (Release) in $build" >&2
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DBERTH_BUILD_TESTS=OFF -DBERTH_BUILD_BENCHMARKS=ON >/dev/null
targets=(abi_bench)
# berthd and the plugins it loads at start, for the end-to-end round trips.
[[ $e2e == 1 ]] && targets+=(berthd plugins/all)
cmake --build "$build" -j "$jobs" --target "${targets[@]}" >&2
mkdir -p "$out"

echo "== abi_bench: $reps interleaved repetitions x ${min_time}s per benchmark" >&2
"$build/bin/abi_bench" \
    --benchmark_repetitions="$reps" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_min_time="$min_time" \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/abi_bench.json" --benchmark_out_format=json \
    >"$out/abi_bench.console.txt"

args=("$out/abi_bench.json")
if [[ $e2e == 1 ]]; then
  echo "== end to end: wrk -t1 -c1 against berthd" >&2
  "$python" "$here/e2e.py" --berthd "$build/bin/berthd" >"$out/e2e.json"
  args+=("$out/e2e.json")
fi

echo >&2
"$python" "$here/compare.py" "${args[@]}"
