#include "emulator/fleet_plan.hpp"

#include "emulator/splitmix.hpp"

#include <plexbutler/emulator/fleet.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace plexbutler::emulator {

std::string loopback_address(std::size_t i)
{
    if (i >= max_loopback_servers)
        throw std::out_of_range("loopback_address: at most " + std::to_string(max_loopback_servers) + " servers");
    return "127.0." + std::to_string(1 + i / 254) + "." + std::to_string(1 + i % 254);
}

namespace detail {

std::optional<std::size_t> loopback_index(const std::array<unsigned char, 4>& bytes, std::size_t servers) noexcept
{
    if (bytes[0] != 127 || bytes[1] != 0 || bytes[2] < 1 || bytes[2] > 254 || bytes[3] < 1 || bytes[3] > 254)
        return std::nullopt;
    const std::size_t i = std::size_t{bytes[2] - 1u} * 254 + (bytes[3] - 1u);
    if (i >= servers)
        return std::nullopt;
    return i;
}

std::vector<std::size_t> choose_faulted(std::size_t servers, double fraction, std::uint64_t seed)
{
    if (!(fraction >= 0.0 && fraction <= 1.0))
        throw std::invalid_argument("fault fraction must be within [0, 1]");
    const auto count = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(servers)));
    std::vector<std::size_t> all(servers);
    std::iota(all.begin(), all.end(), std::size_t{0});
    // Partial Fisher-Yates with our own draws: std distributions differ between libraries.
    for (std::size_t k = 0; k < count; ++k) {
        const std::uint64_t r = splitmix64(seed ^ splitmix64(k));
        const std::size_t j = k + static_cast<std::size_t>(r % (servers - k));
        std::swap(all[k], all[j]);
    }
    all.resize(count);
    std::sort(all.begin(), all.end());
    return all;
}

std::string expand_token_pattern(std::string_view pattern, std::size_t i)
{
    static constexpr std::string_view placeholder = "{i}";
    const std::string index = std::to_string(i);
    std::string out;
    out.reserve(pattern.size() + 8);
    while (!pattern.empty()) {
        const auto at = pattern.find(placeholder);
        out.append(pattern.substr(0, at));
        if (at == std::string_view::npos)
            break;
        out += index;
        pattern.remove_prefix(at + placeholder.size());
    }
    return out;
}

bool valid_token(std::string_view token) noexcept
{
    return !token.empty() && token.size() <= 4096 &&
           std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

} // namespace detail
} // namespace plexbutler::emulator
