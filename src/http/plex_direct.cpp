#include "http/plex_direct.hpp"
#include "util/ascii.hpp"

#include <array>
#include <cstdint>

namespace plexbutler::detail {

namespace {

constexpr std::string_view plex_direct_suffix = ".plex.direct";

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = ascii_lower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

// Splits `text` at `-` into exactly N fields; false on another count or an empty field.
template <std::size_t N>
bool split_fields(std::string_view text, std::array<std::string_view, N>& out) noexcept
{
    std::size_t n = 0;
    for (;;) {
        const auto dash = text.find('-');
        const auto field = text.substr(0, dash);
        if (field.empty() || n == N)
            return false;
        out[n++] = field;
        if (dash == std::string_view::npos)
            return n == N;
        text.remove_prefix(dash + 1);
    }
}

std::optional<boost::asio::ip::address> ipv4_from_label(std::string_view label) noexcept
{
    std::array<std::string_view, 4> fields;
    if (!split_fields(label, fields))
        return std::nullopt;
    boost::asio::ip::address_v4::bytes_type bytes{};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto f = fields[i];
        if (f.size() > 3 || (f.size() > 1 && f.front() == '0'))
            return std::nullopt;
        unsigned value = 0;
        for (const char c : f) {
            if (c < '0' || c > '9')
                return std::nullopt;
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value > 255)
            return std::nullopt;
        bytes[i] = static_cast<unsigned char>(value);
    }
    return boost::asio::ip::address(boost::asio::ip::address_v4(bytes));
}

std::optional<boost::asio::ip::address> ipv6_from_label(std::string_view label) noexcept
{
    std::array<std::string_view, 8> fields;
    if (!split_fields(label, fields))
        return std::nullopt;
    boost::asio::ip::address_v6::bytes_type bytes{};
    for (std::size_t i = 0; i < 8; ++i) {
        const auto f = fields[i];
        if (f.size() > 4)
            return std::nullopt;
        unsigned value = 0;
        for (const char c : f) {
            const int v = hex_value(c);
            if (v < 0)
                return std::nullopt;
            value = value * 16 + static_cast<unsigned>(v);
        }
        bytes[2 * i] = static_cast<unsigned char>(value >> 8);
        bytes[2 * i + 1] = static_cast<unsigned char>(value & 0xff);
    }
    return boost::asio::ip::address(boost::asio::ip::address_v6(bytes));
}

} // namespace

bool is_plex_direct_hash(std::string_view hash) noexcept
{
    if (hash.size() != plex_direct_hash_length)
        return false;
    for (const char c : hash)
        if (hex_value(c) < 0)
            return false;
    return true;
}

std::optional<boost::asio::ip::address> plex_direct_address(std::string_view host) noexcept
{
    if (!host.empty() && host.back() == '.')
        host.remove_suffix(1);
    if (host.size() <= plex_direct_suffix.size() ||
        !iequals(host.substr(host.size() - plex_direct_suffix.size()), plex_direct_suffix))
        return std::nullopt;
    host.remove_suffix(plex_direct_suffix.size());
    // What is left is `<address>.<hash>`, exactly two labels: the hash (32 hex digits) holds no dot.
    const auto dot = host.find('.');
    if (dot == std::string_view::npos)
        return std::nullopt;
    const auto label = host.substr(0, dot);
    if (!is_plex_direct_hash(host.substr(dot + 1)))
        return std::nullopt;
    if (auto v4 = ipv4_from_label(label))
        return v4;
    return ipv6_from_label(label);
}

std::string plex_direct_name(const boost::asio::ip::address& address, std::string_view hash)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    if (address.is_v4()) {
        const auto b = address.to_v4().to_bytes();
        for (std::size_t i = 0; i < b.size(); ++i) {
            if (i > 0)
                out += '-';
            out += std::to_string(b[i]);
        }
    } else {
        const auto b = address.to_v6().to_bytes();
        for (std::size_t i = 0; i < b.size(); ++i) {
            if (i > 0 && i % 2 == 0)
                out += '-';
            out += hex[b[i] >> 4];
            out += hex[b[i] & 0xf];
        }
    }
    out += '.';
    for (const char c : hash)
        out += ascii_lower(c);
    out += plex_direct_suffix;
    return out;
}

} // namespace plexbutler::detail
