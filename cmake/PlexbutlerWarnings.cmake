# plexbutler_set_warnings(target): the project's warning flags, errors when PLEXBUTLER_WERROR is on.
function(plexbutler_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wconversion -Wsign-conversion)
  if(PLEXBUTLER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
