// The build compiles every src/*.cpp; the I/O-free parts of the client live in
// src/detail/ (private) and are compiled through this one translation unit.
#include "detail/classify.cpp"
#include "detail/pool_state.cpp"
#include "detail/request.cpp"
#include "detail/retry.cpp"
