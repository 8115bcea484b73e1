#!/usr/bin/env bash
# Run a cross-built binary under qemu-user with a Debian sysroot as its root
# for libraries: CMAKE_CROSSCOMPILING_EMULATOR of the cross toolchain files,
# so ctest and gtest_discover_tests in a cross build directory go through here.
#
#   cross/qemu-run.sh QEMU_ARCH SYSROOT TRIPLET PROGRAM [ARGS...]
#   e.g. cross/qemu-run.sh aarch64 ~/.cache/vcgate/sysroot-arm64 aarch64-linux-gnu build-arm64/tests/unit/core_test
#
# GStreamer: plugins come from the sysroot. The registry is scanned
# in-process (GST_REGISTRY_FORK=no) because the plugin scanner child would be
# an ARM binary that the host cannot exec without binfmt_misc; the registry is
# cached inside the sysroot (rebuilt with it).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
qarch=$1 sysroot=$2 triplet=$3
shift 3

qemu=$(command -v "qemu-$qarch" || command -v "qemu-$qarch-static" || true)
[ -n "$qemu" ] || { echo "qemu-run: qemu-$qarch not found (apt-get install qemu-user)" >&2; exit 127; }

export GST_PLUGIN_SYSTEM_PATH_1_0="$sysroot/usr/lib/$triplet/gstreamer-1.0"
export GST_REGISTRY_1_0="${VCGATE_GST_REGISTRY:-$sysroot/.gst-registry.bin}"
export GST_REGISTRY_FORK=no
unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH GST_REGISTRY GST_PLUGIN_SCANNER GST_PLUGIN_SCANNER_1_0
exec "$qemu" -L "$sysroot" "$@"
