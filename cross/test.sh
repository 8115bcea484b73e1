#!/usr/bin/env bash
# Cross-build vcgate for an ARM box, run the tests labelled arm64 under
# qemu-user, make the .deb and check it (tools/check-deb.sh).
#
#   cross/test.sh [arm64|armhf]     sysroot (if missing or stale), configure, build, ctest -L arm64, cpack, check
#
# The architecture: the argument, else $VCGATE_CROSS_ARCH, else arm64
# (armhf: 32-bit boards, qemu-arm). Needs the cross compiler and qemu-user
# (tools/setup.sh cross installs them). Environment: VCGATE_JOBS (default
# nproc), VCGATE_CROSS_BUILD_DIR (default build-ARCH in the source tree),
# VCGATE_CACHE (sysroot cache, default ~/.cache/vcgate),
# VCGATE_CROSS_CMAKE_ARGS (more cmake arguments, e.g. the ccache launcher),
# VCGATE_CROSS_CTEST_ARGS (extra ctest arguments, e.g. -R Zmq),
# VCGATE_CROSS_SERIAL_TESTS (regex of tests run one at a time, default Ingest),
# VCGATE_CROSS_PACKAGE=0 (no package).
# Exit status: 0 when everything built, every labelled test passed and the
# package passed its check.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
arch=${1:-${VCGATE_CROSS_ARCH:-arm64}}
case "$arch" in
  arm64) triplet=aarch64-linux-gnu qemu=qemu-aarch64 ;;
  armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm ;;
  *) echo "cross/test.sh: unknown architecture '$arch' (arm64 or armhf)" >&2; exit 2 ;;
esac
build_dir=${VCGATE_CROSS_BUILD_DIR:-$here/build-$arch}
jobs=${VCGATE_JOBS:-$(nproc)}

missing=()
for tool in "$triplet-g++" "$qemu" cmake ninja pkg-config dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cross/test.sh: missing ${missing[*]}: run tools/setup.sh cross (or apt-get install g++-$triplet qemu-user dpkg-dev)" >&2
  exit 1
fi

t0=$(date +%s)
stamp() { echo "cross[$arch]: $1 ($(( $(date +%s) - t0 )) s)"; }

"$here/cross/make-sysroot.sh" "$arch"
stamp "sysroot ready"

# -Werror stays a native-build matter: the cross GCC inlines differently and
# reports -Wmaybe-uninitialized false positives the native build does not.
cmake -S "$here" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_TOOLCHAIN_FILE="$here/cross/toolchains/$triplet.cmake" \
  -DCMAKE_INSTALL_PREFIX=/usr -DVCGATE_WERROR=OFF ${VCGATE_CROSS_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$jobs"
stamp "cross build done"

cd "$build_dir"
# Real-time GStreamer pipeline tests (encode, then play paced like a camera)
# run one at a time: under emulation two of them at once starve each other and
# their timing assertions fail. Everything else runs in parallel.
serial=${VCGATE_CROSS_SERIAL_TESTS:-Ingest}
status=0
ctest -L arm64 -E "$serial" --output-on-failure --timeout 600 -j "$jobs" ${VCGATE_CROSS_CTEST_ARGS:-} || status=$?
ctest -L arm64 -R "$serial" --output-on-failure --timeout 600 -j 1 ${VCGATE_CROSS_CTEST_ARGS:-} || status=$?
stamp "ctest -L arm64 under $qemu done (status $status)"

# The package, so that its Depends: (dpkg-shlibdeps against the sysroot) and
# contents are checked on every run; VCGATE_CROSS_PACKAGE=0 skips it.
if [ "${VCGATE_CROSS_PACKAGE:-1}" = 1 ]; then
  rm -f "$build_dir"/vcgate_*_"$arch".deb
  if cpack -G DEB >cpack.log 2>&1; then
    package=$(ls -t "$build_dir"/vcgate_*_"$arch".deb | head -1)
    stamp "package: $package"
    "$here/tools/check-deb.sh" "$package" "$arch" >check-deb.log 2>&1 || {
      grep -v ' ok ' check-deb.log; echo "cross[$arch]: the package check failed" >&2; status=1; }
    tail -1 check-deb.log
  else
    cat cpack.log
    echo "cross[$arch]: cpack failed" >&2
    status=1
  fi
fi
exit $status
