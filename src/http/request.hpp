#ifndef PLEXBUTLER_HTTP_REQUEST_HPP
#define PLEXBUTLER_HTTP_REQUEST_HPP

// Server address parsing (Boost.URL) and request rendering: the constant header
// block is rendered once; per request only the request line varies.

#include "sansio/classify.hpp"

#include <plexbutler/options.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::detail {

/// Where the addresses of `endpoint::connect_to` come from.
enum class address_source : unsigned char {
    dns,           ///< none: `host` is resolved (or is an IP literal)
    override_list, ///< an entry of `client_options::address_overrides`
    plex_direct,   ///< the address a plex.direct host name encodes
};

/// Where requests go, parsed once from the options.
struct endpoint {
    bool https = false;
    std::string host;        ///< Host name or address, IPv6 without brackets.
    bool host_is_ip = false; ///< True for IPv4/IPv6 literals (no SNI, no resolution).
    bool host_is_ipv6 = false;
    std::uint16_t port = 0;
    std::string path_prefix; ///< Encoded path prefix without trailing `/` (empty or like `/plex`).
    std::string origin;      ///< `scheme://host:port`.
    std::string server;      ///< `host:port` with IPv6 in brackets (diagnostics).
    std::string host_header; ///< `Host` value: port only when not the scheme default.
    /// Addresses to connect to, in order, instead of resolving `host` (which still names the server
    /// for the Host header, SNI and certificate verification). Empty: resolve `host`.
    std::vector<boost::asio::ip::tcp::endpoint> connect_to;
    address_source connect_source = address_source::dns;
};

/// Parses `server_url` or the templated fields, and the address overrides (every entry, even
/// those for other hosts); sets `connect_to` from the matching override, else from a plex.direct
/// name when `plex_direct_without_dns` is set. @throws std::invalid_argument.
endpoint parse_endpoint(const client_options& opts);

/// True when `value` contains a control character other than HTAB (CR, LF, NUL, DEL, ...).
bool has_forbidden_header_chars(std::string_view value) noexcept;

/// The requests of one client. Only the task-list request, polled all the time, is kept rendered
/// (one string per client, held for its lifetime: 10,000 of them in a fleet); the other
/// operations are rendered on demand into a caller's buffer from the header block inside it.
class request_templates {
public:
    /// Validates the header values and renders the list request. @throws std::invalid_argument.
    request_templates(const client_options& opts, const endpoint& ep);

    /// The full bytes of the list request (`GET <prefix>/butler`): constant, sent without a copy.
    const std::string& list() const noexcept { return list_; }

    /// Renders the full request of `op` into `out`, replacing its contents and reusing its capacity
    /// (no allocation once `out` has held a request as long). `name` is the task of start_task and
    /// stop_task (one percent-encoded path segment), ignored otherwise. For list_tasks, a copy of
    /// `list()`.
    void render(std::string& out, operation_kind op, std::string_view name = {}) const;

    /// The request target of `op` (`/butler` or `/butler/Name`, with prefix), for diagnostics.
    std::string target(operation_kind op, std::string_view name = {}) const;

    /// `GET /butler` etc. for diagnostics and logs.
    std::string request_line(operation_kind op, std::string_view name = {}) const;

    /// The header block common to all requests, from `Host` to `User-Agent`, each line ending in
    /// CRLF (a view into `list()`).
    std::string_view common_headers() const noexcept
    {
        return std::string_view(list_).substr(common_pos_, common_len_);
    }

private:
    /// `<prefix>/butler` (a view into `list()`, after `GET `).
    std::string_view butler_target() const noexcept { return std::string_view(list_).substr(4, target_len_); }

    std::string list_;
    std::uint32_t target_len_ = 0;
    std::uint32_t common_pos_ = 0;
    std::uint32_t common_len_ = 0;
};

/// The HTTP method of an operation.
std::string_view method_of(operation_kind op) noexcept;

} // namespace plexbutler::detail

#endif
