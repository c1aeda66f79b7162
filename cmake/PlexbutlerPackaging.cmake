# Installation and Debian packages (included by the top-level CMakeLists.txt after the targets).
#
# Two install components, one Debian package each (`cpack -G DEB` in a build configured with
# CMAKE_INSTALL_PREFIX=/usr):
#   dev    libplexbutler-dev: the static libraries libplexbutler.a and libplexbutler_emulator.a,
#          the headers, the CMake package (plexbutler::plexbutler, plexbutler::emulator) and
#          plexbutler.pc
#   tools  plexbutler: the programs plexbutler and plexbutler-emulator, their man pages and their
#          bash completion
# The libraries are static (no shared-library ABI to keep and no third package): the dev
# package depends on the -dev packages of Boost and OpenSSL that a consumer links with, and
# the tools package on the runtime packages its programs load (dpkg-shlibdeps finds them).

# Static libraries that consumers may link into shared objects too.
set_target_properties(plexbutler plexbutler_emulator PROPERTIES POSITION_INDEPENDENT_CODE ON)

# ---- dev: library, headers, CMake package, pkg-config ----------------------
install(DIRECTORY include/plexbutler DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(TARGETS plexbutler plexbutler_emulator EXPORT plexbutlerTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT plexbutlerTargets NAMESPACE plexbutler:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/plexbutler
  COMPONENT dev)
configure_package_config_file(cmake/plexbutlerConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/plexbutlerConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/plexbutler)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/plexbutlerConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/plexbutlerConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/plexbutlerConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/plexbutler COMPONENT dev)

# plexbutler.pc: paths below ${prefix} where the install directories are relative, so that
# `pkg-config --define-variable=prefix=DIR` relocates an unpacked package. The prefix is the one
# of the installation (`cmake --install --prefix DIR`, or /usr for cpack), written at install time.
set(PLEXBUTLER_PC_PREFIX "@PLEXBUTLER_INSTALL_PREFIX@")
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(PLEXBUTLER_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(PLEXBUTLER_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
configure_file(cmake/plexbutler.pc.in ${CMAKE_CURRENT_BINARY_DIR}/plexbutler.pc.in @ONLY)
install(CODE "
  file(READ \"${CMAKE_CURRENT_BINARY_DIR}/plexbutler.pc.in\" pc)
  string(REPLACE \"@PLEXBUTLER_INSTALL_PREFIX@\" \"\${CMAKE_INSTALL_PREFIX}\" pc \"\${pc}\")
  file(WRITE \"${CMAKE_CURRENT_BINARY_DIR}/plexbutler.pc\" \"\${pc}\")" COMPONENT dev)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/plexbutler.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)

# ---- tools: programs, man pages, bash completion ---------------------------
if(TARGET plexbutler_cli AND TARGET plexbutler_emulator_main)
  install(TARGETS plexbutler_cli plexbutler_emulator_main RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools)

  # Man pages made by help2man from each program's --help (plus man/NAME.h2m) into build/man,
  # gzipped as Debian installs them (test/package/tests.cmake checks them when it finds the same tools). --version-string: the page names the version, not the Boost and OpenSSL of the
  # build machine that --version prints. Without help2man there are none (scripts/install-deps.sh
  # installs it; the package stage of scripts/test.sh checks that the package has them).
  find_program(PLEXBUTLER_HELP2MAN help2man)
  find_program(PLEXBUTLER_GZIP gzip)
  if(PLEXBUTLER_HELP2MAN AND PLEXBUTLER_GZIP)
    set(man_pages)
    foreach(program plexbutler plexbutler-emulator)
      if(program STREQUAL "plexbutler")
        set(target plexbutler_cli)
        set(summary "manage the Butler tasks of Plex Media Servers")
      else()
        set(target plexbutler_emulator_main)
        set(summary "a Butler API emulator of Plex Media Server")
      endif()
      set(page ${PROJECT_BINARY_DIR}/man/${program}.1)
      add_custom_command(OUTPUT ${page} ${page}.gz
        COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
        COMMAND ${PLEXBUTLER_HELP2MAN} --no-info --section=1 --name=${summary} --version-string=${PROJECT_VERSION}
          --include=${PROJECT_SOURCE_DIR}/man/${program}.h2m --output=${page} $<TARGET_FILE:${target}>
        COMMAND ${PLEXBUTLER_GZIP} -9 -n -f -k ${page}
        DEPENDS ${target} ${PROJECT_SOURCE_DIR}/man/${program}.h2m
        COMMENT "help2man: ${program}.1"
        VERBATIM)
      list(APPEND man_pages ${page}.gz)
    endforeach()
    add_custom_target(plexbutler_man ALL DEPENDS ${man_pages})
    install(FILES ${man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT tools)
  else()
    message(STATUS "plexbutler: help2man or gzip not found: the man pages are not built")
  endif()

  # bash-completion loads a completion on demand from a file named after the command.
  install(FILES tools/completion/plexbutler.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
    RENAME plexbutler COMPONENT tools)
  install(FILES tools/completion/plexbutler-emulator.bash
    DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME plexbutler-emulator COMPONENT tools)
endif()

# ---- CPack: Debian packages -------------------------------------------------
set(CPACK_PACKAGE_NAME plexbutler)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "plexbutler maintainers" CACHE STRING "Maintainer field of the Debian packages")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_LIST_DIR}/PlexbutlerCPackOptions.cmake)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libplexbutler-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The first line of a description is the package's summary.
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "C++20 coroutine client library for the Plex Media Server Butler API (development files)
The static libraries libplexbutler.a (the client) and libplexbutler_emulator.a (the Butler
emulator), their headers, a CMake package (find_package(plexbutler)) and a pkg-config file
(pkg-config plexbutler). Built on Boost.Asio/Beast, Boost.JSON, Boost.URL and OpenSSL.")
# What a consumer compiles and links with: the Boost headers and CMake packages (system, json,
# url, as plexbutlerConfig.cmake finds them), the Boost.JSON/URL libraries, OpenSSL.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libboost1.81-dev, libboost-system1.81-dev, libboost-json1.81-dev, libboost-url1.81-dev, libssl-dev")
set(CPACK_DEBIAN_DEV_PACKAGE_SUGGESTS "cmake, pkgconf")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME plexbutler)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION net)
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
  "Command line client and Butler emulator for Plex Media Server
plexbutler lists, starts and stops the Butler (scheduled maintenance) tasks of one Plex Media
Server or of many; plexbutler-emulator serves the Butler API over HTTP or HTTPS for tests.
With man pages and bash completion.")
# Runtime libraries (Boost.JSON/URL, libssl3, libstdc++, libc) from the programs' NEEDED entries.
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SUGGESTS "bash-completion")

include(CPack)
