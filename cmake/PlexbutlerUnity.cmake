# plexbutler_unity(target [BATCH n]): compile the target's sources in unity batches of n (default
# PLEXBUTLER_UNITY_BATCH). Asio, Beast, Boost.JSON and Catch2 are then parsed, and their templates
# instantiated and compiled, once per batch instead of once per source: the build is most of CI's
# time. Names in anonymous namespaces must therefore be unique within a target. With
# PLEXBUTLER_UNITY_BUILD=OFF every source compiles alone (to check that each includes what it uses).
# Off by default and in the release preset: in one large translation unit g++ inlines less (its
# unit-growth limits), and the Release client ran 7-8 % more instructions per request. The
# presets that build the tests (dev, ci, clang, asan, tsan) turn it on.
option(PLEXBUTLER_UNITY_BUILD "Compile each target's sources in unity batches (test builds)" OFF)
set(PLEXBUTLER_UNITY_BATCH 16 CACHE STRING "Default number of sources in one unity batch")

function(plexbutler_unity target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "BATCH" "")
  if(NOT arg_BATCH)
    set(arg_BATCH ${PLEXBUTLER_UNITY_BATCH})
  endif()
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${PLEXBUTLER_UNITY_BUILD} UNITY_BUILD_BATCH_SIZE ${arg_BATCH})
  # g++ takes the sources included by a unity file for headers and warns about their types in
  # anonymous namespaces (lambdas in coroutine frames), a warning meant for headers only.
  if(PLEXBUTLER_UNITY_BUILD AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wno-subobject-linkage)
  endif()
endfunction()
