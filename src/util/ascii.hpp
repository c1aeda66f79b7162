#ifndef PLEXBUTLER_UTIL_ASCII_HPP
#define PLEXBUTLER_UTIL_ASCII_HPP

// ASCII helpers for protocol text (header names, media types, tokens): locale-independent,
// the only copies in the tree.

#include <cstddef>
#include <string_view>

namespace plexbutler::detail {

/// `c` lower-cased if it is an ASCII capital letter, else unchanged.
constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// ASCII case-insensitive equality (only A-Z fold to a-z; bytes >= 0x80 compare exactly).
// Not boost::beast::iequals: Boost 1.81's reads one byte past the end of each view when the last
// bytes differ only in case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

/// True for HTTP optional whitespace (RFC 9110 5.6.3: SP and HTAB).
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

/// True for the characters of a Plex token: ASCII letters, digits and `-` `.` `_` `~` (the unreserved
/// characters of RFC 3986, which a token may use unescaped in a URL).
constexpr bool is_token_char(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

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
