#ifndef PLEXBUTLER_EMULATOR_FLEET_PLAN_HPP
#define PLEXBUTLER_EMULATOR_FLEET_PLAN_HPP

// The I/O-free decisions of an emulator fleet: which server a loopback address is, which servers
// get the faults, each server's token and seed. Unit-tested without sockets.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::emulator::detail {

/// The server a connection to the IPv4 address `bytes` is for (`loopback_address` inverted), or
/// nullopt when the address is no server of a fleet of `servers`.
std::optional<std::size_t> loopback_index(const std::array<unsigned char, 4>& bytes, std::size_t servers) noexcept;

/// Exactly `round(fraction * servers)` distinct servers, chosen from `seed` (the same for the same
/// arguments on every platform), in increasing order.
std::vector<std::size_t> choose_faulted(std::size_t servers, double fraction, std::uint64_t seed);

/// `pattern` with every `{i}` replaced by `i` in decimal.
std::string expand_token_pattern(std::string_view pattern, std::size_t i);

/// The seed of server `i`: the fleet's seed for server 0, so a fleet of one is a `server`.
constexpr std::uint64_t server_seed(std::uint64_t fleet_seed, std::size_t i) noexcept
{
    return fleet_seed ^ (static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ULL);
}

/// A token the emulator accepts in its configuration: 1 to 4096 visible ASCII bytes (no space or
/// control byte, so it fits a header field and a whitespace-separated servers file).
bool valid_token(std::string_view token) noexcept;

} // namespace plexbutler::emulator::detail

#endif
