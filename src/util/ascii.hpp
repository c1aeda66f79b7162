#ifndef PLEXBUTLER_UTIL_ASCII_HPP
#define PLEXBUTLER_UTIL_ASCII_HPP

// ASCII helpers for protocol text (header names, media types, tokens): locale-independent,
// the only copies in the tree.

#include <boost/beast/core/string.hpp>

#include <string_view>

namespace plexbutler::detail {

/// ASCII case-insensitive equality (only A-Z fold to a-z; bytes >= 0x80 compare exactly).
inline bool iequals(std::string_view a, std::string_view b) noexcept { return boost::beast::iequals(a, b); }

/// `c` lower-cased if it is an ASCII capital letter, else unchanged.
constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// True for HTTP optional whitespace (RFC 9110 5.6.3: SP and HTAB).
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

/// `s` without leading and trailing optional whitespace (SP, HTAB).
constexpr std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

} // namespace plexbutler::detail

#endif
