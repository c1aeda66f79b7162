#ifndef PLEXBUTLER_BENCH_MICRO_HPP
#define PLEXBUTLER_BENCH_MICRO_HPP

/// @file micro.hpp
/// @brief Benchmarks of plexbutler-micro that are registered at run time.

namespace plexbutler::bench {

/// @brief Registers decode benchmarks for every task-list payload in test/fixtures.
void register_fixture_benchmarks();

} // namespace plexbutler::bench

#endif
