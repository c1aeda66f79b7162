#ifndef PLEXBUTLER_BENCH_ALLOC_COUNTER_HPP
#define PLEXBUTLER_BENCH_ALLOC_COUNTER_HPP

/// @file alloc_counter.hpp
/// @brief Count of global `operator new` calls, kept by the replacement in alloc_counter.cpp.

#include <cstdint>

namespace plexbutler::bench {

/// @brief Number of calls of any global `operator new` form since the program started.
///
/// Only meaningful in a binary that links alloc_counter.cpp (which replaces the
/// global allocation functions). Thread-safe (relaxed atomic read).
std::uint64_t allocation_count() noexcept;

/// @brief The same count for the calling thread only (e.g. a client's thread beside an
/// in-process server's threads).
std::uint64_t thread_allocation_count() noexcept;

} // namespace plexbutler::bench

#endif
