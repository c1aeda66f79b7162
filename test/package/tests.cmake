# CTest tests of what the tools package installs besides the programs (included by
# test/CMakeLists.txt): the bash completion, the man pages, --version. The package stage of
# scripts/test.sh runs the same scripts on the installed files of the Debian packages
# (test/package/run.sh).
find_program(PLEXBUTLER_BASH bash REQUIRED)
set(package_dir ${CMAKE_CURRENT_SOURCE_DIR}/package)

add_test(NAME package_completion
  COMMAND ${PLEXBUTLER_BASH} ${package_dir}/completion.sh
    ${PROJECT_SOURCE_DIR}/tools/completion/plexbutler.bash ${PROJECT_SOURCE_DIR}/tools/completion/plexbutler-emulator.bash
    $<TARGET_FILE:plexbutler_cli> $<TARGET_FILE:plexbutler_emulator_main>)
set_tests_properties(package_completion PROPERTIES TIMEOUT 60 LABELS package)

# Registered where help2man and gzip make the pages in build/man (cmake/PlexbutlerPackaging.cmake,
# which runs after this file and finds the same programs); man-db renders them.
find_program(PLEXBUTLER_HELP2MAN help2man)
find_program(PLEXBUTLER_GZIP gzip)
find_program(PLEXBUTLER_MAN man)
if(PLEXBUTLER_HELP2MAN AND PLEXBUTLER_GZIP AND PLEXBUTLER_MAN)
  add_test(NAME package_man
    COMMAND ${PLEXBUTLER_BASH} ${package_dir}/man.sh ${PROJECT_BINARY_DIR}/man
      $<TARGET_FILE:plexbutler_cli> $<TARGET_FILE:plexbutler_emulator_main>)
  set_tests_properties(package_man PROPERTIES TIMEOUT 60 LABELS package)
else()
  message(STATUS "plexbutler: no help2man or no man: test package_man not registered")
endif()

# --version names the library, Boost and OpenSSL.
foreach(target plexbutler_cli plexbutler_emulator_main)
  add_test(NAME package_version_${target} COMMAND $<TARGET_FILE:${target}> --version)
  set_tests_properties(package_version_${target} PROPERTIES LABELS package PASS_REGULAR_EXPRESSION
    "^plexbutler[-a-z]* [0-9]+\\.[0-9]+\\.[0-9]+\nplexbutler library [0-9.]+\nBoost 1\\.[0-9]+\\.[0-9]+ \\(BOOST_LIB_VERSION 1_[0-9]+\\)\nOpenSSL [0-9]")
endforeach()
