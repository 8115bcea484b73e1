#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   tools/setup.sh demo   install what is missing, build, run vcgated on configs/demo.yaml
#   tools/setup.sh test   install what is missing, build, run the whole test suite (ctest),
#                         then cross-build for arm64 and run the arm64 tests under qemu
#                         (VCGATE_SKIP_CROSS=1 skips the cross part)
#   tools/setup.sh deps   only install what is missing
#   tools/setup.sh build  install what is missing and build
#   tools/setup.sh cross  install what is missing, cross-build for arm64, run its tests under qemu
# Idempotent: packages already installed are not touched, the build directory is reused.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${VCGATE_BUILD_DIR:-$here/build}
jobs=${VCGATE_JOBS:-$(nproc)}

# Everything the build, the tests, the demo and the benchmarks need, from Debian 12.
packages=(
  build-essential cmake pkg-config ninja-build
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libgstrtspserver-1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-rtsp
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev ffmpeg
  libzmq3-dev cppzmq-dev libsodium-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libsystemd-dev libgpiod-dev
  iproute2 procps
)

# Only for the cross build and its tests under qemu (cross/test-arm64.sh).
cross_packages=(
  g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user dpkg-dev
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
  cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVCGATE_WERROR=$werror ${VCGATE_CMAKE_ARGS:-}
  cmake --build "$build_dir" -j "$jobs"
}

# Cross-build for arm64 and run the tests labelled arm64 under qemu-user.
cross_test() {
  install_missing "${cross_packages[@]}"
  VCGATE_JOBS=$jobs "$here/cross/test-arm64.sh"
}

case "${1:-}" in
  deps) install_missing "${packages[@]}" ;;
  build) install_missing "${packages[@]}"; build ;;
  demo)
    install_missing "${packages[@]}"; build
    shift
    mkdir -p /tmp/vcgate-demo
    exec "$build_dir/gateway/daemon/vcgated" --config "$here/configs/demo.yaml" "$@"
    ;;
  test)
    install_missing "${packages[@]}"; build
    native=0
    (cd "$build_dir" && ctest --output-on-failure --timeout 300 -j "$jobs" ${VCGATE_CTEST_ARGS:-}) || native=$?
    cross=0
    if [ "${VCGATE_SKIP_CROSS:-0}" != 1 ]; then
      cross_test || cross=$?
    fi
    echo "setup: native tests exit $native, arm64 cross tests exit $cross"
    [ "$native" -eq 0 ] && [ "$cross" -eq 0 ]
    ;;
  cross)
    install_missing "${packages[@]}"
    cross_test
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
