#ifndef PLEXBUTLER_UTIL_RANDOM_HPP
#define PLEXBUTLER_UTIL_RANDOM_HPP

// The one source of jitter for backoffs (client retries, fleet poll backoff).

#include <random>

namespace plexbutler::detail {

/// Uniform in [0, 1), per thread; seeded from std::random_device.
inline double random_unit() noexcept
{
    thread_local std::minstd_rand rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

} // namespace plexbutler::detail

#endif
