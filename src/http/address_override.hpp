#ifndef PLEXBUTLER_HTTP_ADDRESS_OVERRIDE_HPP
#define PLEXBUTLER_HTTP_ADDRESS_OVERRIDE_HPP

// Address overrides with the semantics of curl's --resolve (client_options::address_overrides):
// `HOST:PORT:ADDR[,ADDR...]` sends connections for HOST:PORT to those addresses, in order,
// without DNS. I/O-free parsing and matching.

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::detail {

/// One parsed entry.
struct address_override {
    /// Lower-case host name, or an IP literal (IPv6 without brackets) when `host_ip` is set.
    std::string host;
    /// The host as an address when it is an IP literal.
    std::optional<boost::asio::ip::address> host_ip;
    std::uint16_t port = 0;
    /// Where to connect, in the order given (at least one).
    std::vector<boost::asio::ip::address> addresses;

    /// Whether this entry applies to `host` (lower case; IPv6 without brackets) and `port`.
    bool matches(std::string_view host, std::uint16_t port) const;
};

/// Parses one entry, `HOST:PORT:ADDR[,ADDR...]`: HOST a host name or an IPv4 or `[IPv6]` literal,
/// PORT 1 to 65535, each ADDR an IPv4 or `[IPv6]` literal. curl's `+HOST` (expiring entries),
/// `-HOST` (removal) and `*` (any host) forms are refused.
/// @throws std::invalid_argument naming the entry and what is wrong with it.
address_override parse_address_override(std::string_view entry);

/// Parses every entry; two entries for the same host and port are refused (which would win is
/// not obvious). @throws std::invalid_argument.
std::vector<address_override> parse_address_overrides(const std::vector<std::string>& entries);

} // namespace plexbutler::detail

#endif
