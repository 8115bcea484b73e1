#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   tools/setup.sh demo   install what is missing, build, run vcgated on configs/demo.yaml
#   tools/setup.sh test   install what is missing, then, each step only after the one before
#                         built: build and run the whole test suite (ctest), make the amd64
#                         .deb and check it (tools/check-deb.sh), a short libFuzzer run of every
#                         fuzz target (tools/fuzz.sh), the test suite again built with
#                         ASan+UBSan (build-asan/), cross-build for arm64, run the arm64 tests
#                         under qemu, make and check the arm64 .deb (cross/test.sh), then install
#                         that package into an arm64 root file system and run the demo there
#                         under qemu (firmware/image/test-rootfs.sh; needs root). Skip parts with
#                         VCGATE_SKIP_FUZZ=1, VCGATE_SKIP_ASAN=1, VCGATE_SKIP_CROSS=1,
#                         VCGATE_SKIP_ROOTFS=1
#   tools/setup.sh deps   only install what is missing
#   tools/setup.sh build  install what is missing and build
#   tools/setup.sh package  install what is missing, build, make the amd64 .deb and check it
#   tools/setup.sh asan   install what is missing, build with ASan+UBSan, run the test suite
#   tools/setup.sh cross [arm64|armhf]  install what is missing, cross-build, run the tests
#                         labelled arm64 under qemu, make and check the .deb (default arm64)
#   tools/setup.sh rootfs install what is missing, install build-arm64's .deb into an arm64
#                         root file system and run the demo there under qemu (needs root)
# Idempotent: packages already installed are not touched, the build directories are reused.
# Every build goes through ccache (~/.cache/ccache), so a second run recompiles only what changed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${VCGATE_BUILD_DIR:-$here/build}
asan_build_dir=${VCGATE_ASAN_BUILD_DIR:-$here/build-asan}
jobs=${VCGATE_JOBS:-$(nproc)}

# ccache: paths under the source tree are hashed relative to it (base_dir) and
# the build directory is not hashed (hash_dir), so a fresh clone elsewhere on
# the same machine (CI) hits the cache that the previous run filled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$here}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

# The sanitizer runs. GStreamer, GLib and ZeroMQ keep allocations for the
# process's life (type registrations, the plugin registry, the default main
# context): LeakSanitizer would report them on every test, so leak checking is
# off (detect_leaks=0) and ASan looks for memory errors only. UBSan stops the
# test at the first finding.
sanitizer_env=(
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
)

# Everything the build, the tests, the demo and the benchmarks need, from Debian 12.
packages=(
  build-essential cmake pkg-config ninja-build
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-rtsp
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev ffmpeg
  libzmq3-dev cppzmq-dev libssl-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsystemd-dev libgpiod-dev
  iproute2 procps
  ccache clang libclang-rt-14-dev
)

# Only for the cross build and its tests under qemu (cross/test.sh).
cross_packages=(
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user dpkg-dev
)
# Only for the arm64 root file system test (firmware/image/test-rootfs.sh):
# arm64 programs run in a chroot through binfmt_misc; debootstrap only for
# the flashable image (make-rootfs.sh without --quick).
rootfs_packages=(
  qemu-user-static binfmt-support debootstrap python3
)

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all $# packages present"
    return
  fi
  echo "setup: installing ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  local werror=OFF
  [ "${CI:-}" = "true" ] && werror=ON
  cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
    -DVCGATE_WERROR=$werror ${VCGATE_CMAKE_ARGS:-}
  cmake --build "$build_dir" -j "$jobs"
}

run_ctest() {
  (cd "$1" && ctest --output-on-failure --timeout 300 -j "$jobs" ${VCGATE_CTEST_ARGS:-})
}

# The whole test suite with AddressSanitizer and UndefinedBehaviorSanitizer
# (VCGATE_SANITIZE): -O1, asserts on, line tables only, to keep the build short.
asan_build() (
  export "${sanitizer_env[@]}"  # the test executables run at build time too (gtest discovery)
  cmake -S "$here" -B "$asan_build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" "${launcher[@]}" \
    -DVCGATE_SANITIZE=ON -DVCGATE_BENCHMARKS=OFF -DVCGATE_WERROR=OFF >/dev/null
  cmake --build "$asan_build_dir" -j "$jobs"
)
asan_test() (
  export "${sanitizer_env[@]}"
  run_ctest "$asan_build_dir"
)

# Wall-clock seconds of each step, printed at the end.
timings=()
step() {
  local name=$1 t=$(date +%s) rc=0
  shift
  echo "setup: === $name ==="
  "$@" || rc=$?
  timings+=("$name $(( $(date +%s) - t )) s exit $rc")
  [ "$rc" -eq 0 ] || echo "setup: $name FAILED (exit $rc)" >&2
  return $rc
}

# The amd64 package of the native build, and its check.
package() {
  (cd "$build_dir" && rm -f vcgate_*_amd64.deb && cpack -G DEB >cpack.log 2>&1) || {
    cat "$build_dir/cpack.log"; return 1; }
  "$here/tools/check-deb.sh" "$(ls -t "$build_dir"/vcgate_*.deb | head -1)"
}

# Cross-build for arm64 (or $1) and run the tests labelled arm64 under
# qemu-user; make and check the package.
cross_test() {
  install_missing "${cross_packages[@]}"
  VCGATE_JOBS=$jobs VCGATE_CROSS_CMAKE_ARGS="${launcher[*]} ${VCGATE_CROSS_CMAKE_ARGS:-}" \
    "$here/cross/test.sh" "${1:-arm64}"
}

# The arm64 package of the cross build installed into an arm64 root file
# system, the demo run there under qemu; vcgate-sub and vcgatectl of the
# native build watch it from the host.
rootfs_test() {
  [ "$(id -u)" -eq 0 ] || {
    echo "setup: the root file system test needs root (chroot, device nodes); VCGATE_SKIP_ROOTFS=1 skips it" >&2
    return 1; }
  install_missing "${rootfs_packages[@]}"
  local deb
  deb=$(ls -t "${VCGATE_CROSS_BUILD_DIR:-$here/build-arm64}"/vcgate_*_arm64.deb 2>/dev/null | head -1 || true)
  [ -n "$deb" ] || { echo "setup: no arm64 package: run tools/setup.sh cross first" >&2; return 1; }
  VCGATE_JOBS=$jobs VCGATE_HOST_BUILD_DIR=$build_dir "$here/firmware/image/test-rootfs.sh" "$deb"
}

case "${1:-}" in
  deps) install_missing "${packages[@]}" ;;
  build) install_missing "${packages[@]}"; build ;;
  package) install_missing "${packages[@]}"; build; package ;;
  demo)
    install_missing "${packages[@]}"; build
    shift
    mkdir -p /tmp/vcgate-demo
    exec "$build_dir/gateway/daemon/vcgated" --config "$here/configs/demo.yaml" "$@"
    ;;
  test)
    # Cheapest first, so that a broken build or a failing test shows within
    # minutes; a step that does not build stops the run, a failing test does
    # not (the later steps still say what else is wrong).
    install_missing "${packages[@]}"
    step "native build" build
    native=0 package=0 fuzz=0 asan=0 cross=0 rootfs=0
    step "native tests" run_ctest "$build_dir" || native=$?
    step "amd64 package and check" package || package=$?
    if [ "${VCGATE_SKIP_FUZZ:-0}" != 1 ]; then
      step "fuzz ${VCGATE_FUZZ_SECONDS:-30} s per target" \
        env VCGATE_JOBS="$jobs" "$here/tools/fuzz.sh" "${VCGATE_FUZZ_SECONDS:-30}" || fuzz=$?
    fi
    if [ "${VCGATE_SKIP_ASAN:-0}" != 1 ]; then
      step "asan build" asan_build
      step "asan tests" asan_test || asan=$?
    fi
    if [ "${VCGATE_SKIP_CROSS:-0}" != 1 ]; then
      step "arm64 cross build, tests, package and check" cross_test arm64 || cross=$?
    fi
    if [ "${VCGATE_SKIP_ROOTFS:-0}" != 1 ]; then
      if [ "${VCGATE_SKIP_CROSS:-0}" = 1 ]; then
        echo "setup: root file system test skipped: it needs the arm64 package of the cross step"
      else
        step "arm64 package in an arm64 root file system" rootfs_test || rootfs=$?
      fi
    fi
    printf 'setup: %s\n' "${timings[@]}"
    echo "setup: native tests exit $native, amd64 package exit $package, fuzz exit $fuzz, asan tests exit $asan," \
         "arm64 cross exit $cross, rootfs exit $rootfs"
    [ "$native" -eq 0 ] && [ "$package" -eq 0 ] && [ "$fuzz" -eq 0 ] && [ "$asan" -eq 0 ] && [ "$cross" -eq 0 ] \
      && [ "$rootfs" -eq 0 ]
    ;;
  asan)
    install_missing "${packages[@]}"
    asan_build
    asan_test
    ;;
  cross)
    install_missing "${packages[@]}"
    cross_test "${2:-arm64}"
    ;;
  rootfs)
    install_missing "${packages[@]}"
    build
    rootfs_test
    ;;
  *)
    sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
