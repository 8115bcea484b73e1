#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan) in build-fuzz/
# and runs each on its seed corpus for SECONDS (default 30). Exit status 0 when
# no target crashed, leaked or hit undefined behaviour; otherwise the input that
# did it is in build-fuzz/findings/<target>/ and the log says which.
#
#   tools/fuzz.sh [SECONDS]          build, then run every target
#   tools/fuzz.sh --seeds            rebuild tests/fuzz/corpus/ from the encoders (make_seeds.cpp)
#   FUZZ_TARGETS="fuzz_config" tools/fuzz.sh 600    one target, ten minutes
#
# Environment: VCGATE_FUZZ_BUILD_DIR (default build-fuzz in the source tree),
# VCGATE_JOBS (default nproc), CC/CXX (default clang-14/clang++-14, else clang).
# Uses ccache when it is installed. What a run finds beyond the seeds goes to
# build-fuzz/corpus/<target>/, not into the repository: copy an input into
# tests/fuzz/corpus/<target>/ when it is worth keeping (every crash is).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${VCGATE_FUZZ_BUILD_DIR:-$here/build-fuzz}
jobs=${VCGATE_JOBS:-$(nproc)}
targets=(${FUZZ_TARGETS:-fuzz_bus_messages fuzz_control_requests fuzz_config})

# -max_len per target: a video message with a few tags and a small access
# unit; a command request; a site config the size of the station example.
declare -A max_len=([fuzz_bus_messages]=4096 [fuzz_control_requests]=2048 [fuzz_config]=16384)
# Dictionaries: JSON tokens and field names for the two JSON decoders.
declare -A dict=([fuzz_bus_messages]=json.dict [fuzz_control_requests]=json.dict)

cc=${CC:-$(command -v clang-14 || command -v clang || true)}
cxx=${CXX:-$(command -v clang++-14 || command -v clang++ || true)}
if [ -z "$cc" ] || [ -z "$cxx" ]; then
  echo "fuzz: clang not found: run tools/setup.sh deps (installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
launcher=()
if command -v ccache >/dev/null; then
  # As in tools/setup.sh: a clone elsewhere on this machine hits the same cache.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$here} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

t0=$(date +%s)
cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
  -DVCGATE_FUZZ=ON -DBUILD_TESTING=OFF -DVCGATE_BENCHMARKS=OFF -DVCGATE_WERROR=OFF >/dev/null
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}" fuzz_make_seeds
echo "fuzz: built in $(( $(date +%s) - t0 )) s"

if [ "${1:-}" = "--seeds" ]; then
  "$build_dir/tests/fuzz/fuzz_make_seeds" "$here/tests/fuzz/corpus" "$here"
  echo "fuzz: seeds written to tests/fuzz/corpus/"
  exit 0
fi
seconds=${1:-30}

# Leak checking per input where the code under test is pure; the control
# target's Publisher and its worker thread free what an input posted later,
# on their own thread, which libFuzzer's per-input leak check would misread.
declare -A leaks=([fuzz_bus_messages]=1 [fuzz_control_requests]=0 [fuzz_config]=1)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
for target in "${targets[@]}"; do
  seeds=$here/tests/fuzz/corpus/$target
  work=$build_dir/corpus/$target
  findings=$build_dir/findings/$target
  mkdir -p "$work" "$findings"
  log=$build_dir/$target.log
  echo "fuzz: $target for ${seconds} s (seeds $(ls "$seeds" | wc -l), -max_len=${max_len[$target]})"
  # New inputs go to $work (first directory); the seeds are only read.
  options=()
  [ -n "${dict[$target]:-}" ] && options+=(-dict="$here/tests/fuzz/${dict[$target]}")
  if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=${leaks[$target]}} \
       "$build_dir/tests/fuzz/$target" "$work" "$seeds" "${options[@]}" -max_total_time="$seconds" \
       -max_len="${max_len[$target]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$findings/" >"$log" 2>&1; then
    grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::average_exec_per_sec)" "$log" | tr '\n' ' '
    grep -Eo "cov: [0-9]+ ft: [0-9]+" "$log" | tail -1
  else
    status=1
    echo "fuzz: $target FAILED: input in $findings/, log $log:" >&2
    grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -20 >&2 || tail -30 "$log" >&2
  fi
done
echo "fuzz: done in $(( $(date +%s) - t0 )) s, status $status"
exit $status
