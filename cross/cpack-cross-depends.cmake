# CPACK_PROJECT_CONFIG_FILE of cross builds: computes the shared-library part
# of Depends: for the target architecture. CPack's own SHLIBDEPS asks the
# host's dpkg database, which knows nothing of arm64 libraries; here
# dpkg-shlibdeps runs on a scratch install of the build against the sysroot's
# dpkg database (written by cross/make-sysroot.sh), with DEB_HOST_ARCH set so
# it reads the target's ELF files with the cross objdump.
if(NOT CPACK_GENERATOR STREQUAL "DEB" OR NOT CPACK_VCGATE_SYSROOT)
  return()
endif()

set(_stage "${CPACK_VCGATE_BINARY_DIR}/cpack/shlibdeps")
file(REMOVE_RECURSE "${_stage}")
file(MAKE_DIRECTORY "${_stage}/root" "${_stage}/debian")
file(WRITE "${_stage}/debian/control" "")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env DESTDIR=${_stage}/root
          ${CMAKE_COMMAND} --install "${CPACK_VCGATE_BINARY_DIR}"
  OUTPUT_QUIET RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "cpack-cross-depends: scratch install of ${CPACK_VCGATE_BINARY_DIR} failed")
endif()

file(GLOB_RECURSE _files LIST_DIRECTORIES false "${_stage}/root/*")
set(_elves)
foreach(f IN LISTS _files)
  if(NOT IS_SYMLINK "${f}")
    file(READ "${f}" _magic LIMIT 4 HEX)
    if(_magic STREQUAL "7f454c46")
      list(APPEND _elves "${f}")
    endif()
  endif()
endforeach()
if(NOT _elves)
  message(FATAL_ERROR "cpack-cross-depends: no ELF file installed")
endif()

set(_admindir "${CPACK_VCGATE_SYSROOT}/var/lib/dpkg")
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env DEB_HOST_ARCH=${CPACK_DEBIAN_PACKAGE_ARCHITECTURE}
          dpkg-shlibdeps --admindir=${_admindir}
          -l${CPACK_VCGATE_SYSROOT}/usr/lib/${CPACK_VCGATE_TRIPLET}
          -l${CPACK_VCGATE_SYSROOT}/lib/${CPACK_VCGATE_TRIPLET}
          --warnings=0 -O ${_elves}
  WORKING_DIRECTORY "${_stage}"
  OUTPUT_VARIABLE _out ERROR_VARIABLE _err RESULT_VARIABLE _rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _rc EQUAL 0 OR NOT _out MATCHES "shlibs:Depends=([^\n]*)")
  message(FATAL_ERROR "cpack-cross-depends: dpkg-shlibdeps failed (${_rc}): ${_err}${_out}")
endif()
set(_shlibs "${CMAKE_MATCH_1}")
message(STATUS "cpack-cross-depends: ${CPACK_DEBIAN_PACKAGE_ARCHITECTURE} shlibs: ${_shlibs}")
if(CPACK_DEBIAN_PACKAGE_DEPENDS)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_shlibs}, ${CPACK_DEBIAN_PACKAGE_DEPENDS}")
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_shlibs}")
endif()
file(REMOVE_RECURSE "${_stage}")
