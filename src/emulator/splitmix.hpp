#ifndef PLEXBUTLER_EMULATOR_SPLITMIX_HPP
#define PLEXBUTLER_EMULATOR_SPLITMIX_HPP

#include <cstdint>

namespace plexbutler::emulator::detail {

/// splitmix64: a reproducible, lock-free random draw per request index.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

} // namespace plexbutler::emulator::detail

#endif
