# CTest test `consumer_package`: installs this build into a prefix inside the build
# tree, then configures, builds and runs test/consumer against the installed package.
set(PLEXBUTLER_CONSUMER_WORK ${CMAKE_CURRENT_BINARY_DIR}/consumer_package)
add_test(NAME consumer_package
  COMMAND ${CMAKE_COMMAND}
    -DBUILD_DIR=${PROJECT_BINARY_DIR}
    -DSOURCE_DIR=${CMAKE_CURRENT_SOURCE_DIR}/consumer
    -DWORK_DIR=${PLEXBUTLER_CONSUMER_WORK}
    -DCONFIG=$<CONFIG>
    -DCXX_COMPILER=${CMAKE_CXX_COMPILER}
    "-DCXX_FLAGS=${CMAKE_CXX_FLAGS}"
    -DGENERATOR=${CMAKE_GENERATOR}
    -P ${CMAKE_CURRENT_SOURCE_DIR}/consumer/run_consumer.cmake)
set_tests_properties(consumer_package PROPERTIES TIMEOUT 300 LABELS package)
