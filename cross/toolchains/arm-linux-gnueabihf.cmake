# Cross build for 32-bit armhf boxes (Debian bookworm, g++-arm-linux-gnueabihf).
#   cmake --preset armhf      or
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cross/toolchains/arm-linux-gnueabihf.cmake
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(VCGATE_CROSS_DEB_ARCH armhf)
set(VCGATE_CROSS_TRIPLET arm-linux-gnueabihf)
set(VCGATE_CROSS_QEMU arm)
# GCC notes on every std::vector<T>::iterator passed by value that the ARM
# calling convention for such arguments changed in GCC 7.1: irrelevant here,
# everything is built by GCC 12 (-Wpsabi), and the notes drown real warnings.
# (CMake reads a toolchain file more than once per configure: append once.)
if(NOT CMAKE_CXX_FLAGS_INIT MATCHES "-Wno-psabi")
  string(APPEND CMAKE_CXX_FLAGS_INIT " -Wno-psabi")
endif()
include("${CMAKE_CURRENT_LIST_DIR}/common.cmake")
