# Cross build for 32-bit armhf boxes (Debian bookworm, g++-arm-linux-gnueabihf).
#   cmake --preset armhf      or
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cross/toolchains/arm-linux-gnueabihf.cmake
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(VCGATE_CROSS_DEB_ARCH armhf)
set(VCGATE_CROSS_TRIPLET arm-linux-gnueabihf)
set(VCGATE_CROSS_QEMU arm)
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
