# Shared by the toolchain files: a Debian cross compiler plus a sysroot made by
# cross/make-sysroot.sh. Expects VCGATE_CROSS_DEB_ARCH (arm64, armhf),
# VCGATE_CROSS_TRIPLET (aarch64-linux-gnu, ...), VCGATE_CROSS_QEMU (aarch64, arm)
# and CMAKE_SYSTEM_PROCESSOR to be set by the including file.
#
# The sysroot: -DVCGATE_SYSROOT=DIR, else $VCGATE_SYSROOT, else
# ${VCGATE_CACHE:-$HOME/.cache/vcgate}/sysroot-ARCH (where make-sysroot.sh puts it).
set(CMAKE_SYSTEM_NAME Linux)

if(NOT VCGATE_SYSROOT)
  if(DEFINED ENV{VCGATE_SYSROOT})
    set(VCGATE_SYSROOT "$ENV{VCGATE_SYSROOT}")
  elseif(DEFINED ENV{VCGATE_CACHE})
    set(VCGATE_SYSROOT "$ENV{VCGATE_CACHE}/sysroot-${VCGATE_CROSS_DEB_ARCH}")
  else()
    set(VCGATE_SYSROOT "$ENV{HOME}/.cache/vcgate/sysroot-${VCGATE_CROSS_DEB_ARCH}")
  endif()
endif()
if(NOT EXISTS "${VCGATE_SYSROOT}/usr/lib/${VCGATE_CROSS_TRIPLET}")
  message(FATAL_ERROR "No ${VCGATE_CROSS_DEB_ARCH} sysroot at ${VCGATE_SYSROOT}: "
          "run cross/make-sysroot.sh ${VCGATE_CROSS_DEB_ARCH} (or set VCGATE_SYSROOT)")
endif()
# try_compile projects re-read this file: hand them the same values.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES VCGATE_SYSROOT)

set(CMAKE_C_COMPILER ${VCGATE_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${VCGATE_CROSS_TRIPLET}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${VCGATE_CROSS_TRIPLET})
set(CMAKE_SYSROOT "${VCGATE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${VCGATE_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Shared libraries pulled in indirectly (libgstbase by libgstapp, ...) are
# looked up in the sysroot's multiarch directories at link time.
# (CMake reads the toolchain file more than once per configure: append once.)
if(NOT CMAKE_EXE_LINKER_FLAGS_INIT MATCHES "-rpath-link")
  foreach(dir "${VCGATE_SYSROOT}/usr/lib/${VCGATE_CROSS_TRIPLET}" "${VCGATE_SYSROOT}/lib/${VCGATE_CROSS_TRIPLET}")
    string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${dir}")
    string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,-rpath-link,${dir}")
  endforeach()
endif()

# pkg-config (the host's) reads only the sysroot's .pc files and prefixes
# their -I/-L with the sysroot.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${VCGATE_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${VCGATE_SYSROOT}/usr/lib/${VCGATE_CROSS_TRIPLET}/pkgconfig:${VCGATE_SYSROOT}/usr/share/pkgconfig:${VCGATE_SYSROOT}/usr/lib/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# ctest (and gtest_discover_tests) run target binaries through qemu-user
# with the sysroot as the library root; see cross/qemu-run.sh.
get_filename_component(_vcgate_cross_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR
    "${_vcgate_cross_dir}/qemu-run.sh;${VCGATE_CROSS_QEMU};${VCGATE_SYSROOT};${VCGATE_CROSS_TRIPLET}")
