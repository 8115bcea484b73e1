# Cross build for arm64 boxes (Debian bookworm, g++-aarch64-linux-gnu).
#   cmake --preset arm64      or
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cross/toolchains/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(VCGATE_CROSS_DEB_ARCH arm64)
set(VCGATE_CROSS_TRIPLET aarch64-linux-gnu)
set(VCGATE_CROSS_QEMU aarch64)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
