#ifndef PLEXBUTLER_HTTP_PLEX_DIRECT_HPP
#define PLEXBUTLER_HTTP_PLEX_DIRECT_HPP

// Plex's plex.direct host names, `<address>.<hash>.plex.direct`, whose DNS answer is the address
// the first label encodes: I/O-free parsing and formatting, so a client can connect without DNS
// (resolvers with DNS-rebinding protection refuse to answer these names with private addresses).

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace plexbutler::detail {

/// Length of the machine hash label of a plex.direct name: 32 hexadecimal digits, as Plex's.
inline constexpr std::size_t plex_direct_hash_length = 32;

/// The IP address a plex.direct host name encodes, or nullopt when `host` is not exactly one.
///
/// A match is exactly four labels, compared ASCII case-insensitively, with at most one trailing
/// dot (the absolute form of the same name): `<address>.<hash>.plex.direct`, where
/// - `<hash>` is 32 hexadecimal digits;
/// - `<address>` is an IPv4 address with `-` for `.`, four decimal numbers 0 to 255 without
///   leading zeros (`192-168-1-10`; `010` would be octal to some parsers and decimal to others), or
///   an IPv6 address with `-` for `:`, eight groups of 1 to 4 hexadecimal digits, as Plex writes it
///   (`2001-0db8-0000-0000-0000-0000-0000-0001`). The `::` abbreviation is not a form Plex uses
///   (it would put `--`, or a hyphen at the start or end of a label, into a DNS name): not a match.
/// Anything else (another domain, more or fewer labels, another hash length, an address out of
/// range) is not a match, and the caller resolves the name through DNS as any other.
std::optional<boost::asio::ip::address> plex_direct_address(std::string_view host) noexcept;

/// Whether `hash` is a valid machine hash label: 32 hexadecimal digits (either case).
bool is_plex_direct_hash(std::string_view hash) noexcept;

/// The plex.direct host name of `address` under `hash` (lower case): `127-0-0-1.<hash>.plex.direct`,
/// IPv6 with all eight groups written as four digits. The inverse of `plex_direct_address`.
std::string plex_direct_name(const boost::asio::ip::address& address, std::string_view hash);

} // namespace plexbutler::detail

#endif
