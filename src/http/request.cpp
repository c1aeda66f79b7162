#include "http/request.hpp"
#include "http/address_override.hpp"
#include "http/plex_direct.hpp"
#include "util/ascii.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/version.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/pchars.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <stdexcept>

namespace plexbutler::detail {

namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
    return out;
}

constexpr std::string_view accept_list = "Accept: application/json\r\naccepts: application/json\r\n";
constexpr std::string_view accept_task = "Accept: text/html, application/json;q=0.9, */*;q=0.1\r\n";

// Appends `name` as one percent-encoded path segment (Boost.URL; `/` is encoded too).
void append_segment(std::string& out, std::string_view name)
{
    boost::urls::encode(name, boost::urls::pchars, {}, boost::urls::string_token::append_to(out));
}

} // namespace

bool has_forbidden_header_chars(std::string_view value) noexcept
{
    // RFC 9110 field values allow HTAB, SP, VCHAR and obs-text: any other control byte
    // (CR, LF, NUL, ESC, DEL, ...) would make the request invalid or split it.
    return std::any_of(value.begin(), value.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7f;
    });
}

endpoint parse_endpoint(const client_options& opts)
{
    std::string url = opts.server_url;
    if (url.empty()) {
        if (opts.host.empty())
            throw std::invalid_argument("client_options.host is empty");
        if (has_forbidden_header_chars(opts.host) || opts.host.find_first_of("/?#@ ") != std::string::npos)
            throw std::invalid_argument("client_options.host is not a host name or address");
        const bool v6 = opts.host.find(':') != std::string::npos && opts.host.front() != '[';
        url = opts.protocol + "://" + (v6 ? "[" + opts.host + "]" : opts.host) + ":" + std::to_string(opts.port);
    }
    auto r = boost::urls::parse_uri(url);
    if (!r)
        throw std::invalid_argument("server URL is not a valid absolute URL: " + r.error().message());
    const auto& u = *r;
    endpoint ep;
    auto scheme = lower(u.scheme());
    if (scheme == "https")
        ep.https = true;
    else if (scheme != "http")
        throw std::invalid_argument("server URL scheme must be http or https, not '" + scheme + "'");
    if (u.has_userinfo())
        throw std::invalid_argument("server URL must not contain user information");
    if (u.has_query())
        throw std::invalid_argument("server URL must not contain a query");
    if (u.has_fragment())
        throw std::invalid_argument("server URL must not contain a fragment");
    switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
        ep.host = u.host_address();
        ep.host_is_ip = true;
        break;
    case boost::urls::host_type::ipv6:
        ep.host = u.host_address();
        ep.host_is_ip = ep.host_is_ipv6 = true;
        break;
    case boost::urls::host_type::name:
        ep.host = lower(u.encoded_host());
        if (ep.host.empty() || ep.host.find('%') != std::string::npos)
            throw std::invalid_argument("server URL host is not a valid host name");
        break;
    default: throw std::invalid_argument("server URL has no usable host");
    }
    const std::uint16_t default_port = ep.https ? 443 : 80;
    if (u.has_port()) {
        const auto digits = u.port();
        unsigned long value = 0;
        for (char ch : digits) {
            value = value * 10 + static_cast<unsigned long>(ch - '0');
            if (value > 65535)
                break;
        }
        if (digits.empty() || value == 0 || value > 65535)
            throw std::invalid_argument("server URL port is not a number in 1..65535");
        ep.port = static_cast<std::uint16_t>(value);
    } else {
        ep.port = default_port;
    }
    std::string path(u.encoded_path());
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    if (!path.empty() && path.front() != '/')
        throw std::invalid_argument("server URL path must be absolute");
    ep.path_prefix = path;

    std::string host_lit = ep.host_is_ipv6 ? "[" + ep.host + "]" : ep.host;
    ep.server = host_lit + ":" + std::to_string(ep.port);
    ep.origin = scheme + "://" + ep.server;
    ep.host_header = ep.port == default_port ? host_lit : ep.server;

    // An override comes first (curl's --resolve), then a plex.direct name, then DNS.
    for (const auto& o : parse_address_overrides(opts.address_overrides)) {
        if (!o.matches(ep.host, ep.port))
            continue;
        for (const auto& a : o.addresses)
            ep.connect_to.emplace_back(a, ep.port);
        ep.connect_source = address_source::override_list;
    }
    if (ep.connect_to.empty() && !ep.host_is_ip && opts.plex_direct_without_dns) {
        if (const auto a = plex_direct_address(ep.host)) {
            ep.connect_to.emplace_back(*a, ep.port);
            ep.connect_source = address_source::plex_direct;
        }
    }
    return ep;
}

std::string_view method_of(operation_kind op) noexcept
{
    switch (op) {
    case operation_kind::list_tasks: return "GET";
    case operation_kind::start_all:
    case operation_kind::start_task: return "POST";
    case operation_kind::stop_all:
    case operation_kind::stop_task: return "DELETE";
    }
    return "GET";
}

request_templates::request_templates(const client_options& opts, const endpoint& ep)
{
    auto check = [](std::string_view value, const char* what) {
        if (has_forbidden_header_chars(value))
            throw std::invalid_argument(std::string("client_options.") + what +
                                        " contains a control character (CR, LF, NUL, ...)");
    };
    // The token's value never appears in the message.
    check(opts.token, "token");
    check(opts.client_identifier, "client_identifier");
    check(opts.product, "product");
    check(opts.version, "version");
    check(opts.platform, "platform");
    check(opts.platform_version, "platform_version");
    check(opts.device, "device");
    check(opts.model, "model");
    check(opts.device_vendor, "device_vendor");
    check(opts.device_name, "device_name");
    check(opts.marketplace, "marketplace");

    // GET <prefix>/butler HTTP/1.1 CRLF, the common header block, the list's Accept headers, CRLF.
    list_ = "GET ";
    list_.append(ep.path_prefix).append("/butler");
    const std::size_t target_len = list_.size() - 4;
    list_.append(" HTTP/1.1\r\n");
    const std::size_t common_pos = list_.size();
    auto add = [this](std::string_view name, std::string_view value) {
        list_.append(name).append(": ").append(value).append("\r\n");
    };
    add("Host", ep.host_header);
    if (!opts.token.empty())
        add("X-Plex-Token", opts.token);
    add("X-Plex-Client-Identifier",
        opts.client_identifier.empty() ? default_client_identifier(opts.product) : opts.client_identifier);
    add("X-Plex-Product", opts.product);
    add("X-Plex-Version", opts.version.empty() ? std::string_view(version_string) : std::string_view(opts.version));
    auto add_opt = [&add](std::string_view name, const std::string& value) {
        if (!value.empty())
            add(name, value);
    };
    add_opt("X-Plex-Platform", opts.platform);
    add_opt("X-Plex-Platform-Version", opts.platform_version);
    add_opt("X-Plex-Device", opts.device);
    add_opt("X-Plex-Model", opts.model);
    add_opt("X-Plex-Device-Vendor", opts.device_vendor);
    add_opt("X-Plex-Device-Name", opts.device_name);
    add_opt("X-Plex-Marketplace", opts.marketplace);
    add("User-Agent", std::string("plexbutler/") + version_string);
    const std::size_t common_len = list_.size() - common_pos;
    list_.append(accept_list).append("\r\n");
    if (list_.size() > UINT32_MAX)
        throw std::invalid_argument("client_options header values are too long");
    target_len_ = static_cast<std::uint32_t>(target_len);
    common_pos_ = static_cast<std::uint32_t>(common_pos);
    common_len_ = static_cast<std::uint32_t>(common_len);
    // Held by every client for its lifetime (10,000 of them in a fleet): no growth slack.
    list_.shrink_to_fit();
}

std::string request_templates::target(operation_kind op, std::string_view name) const
{
    std::string out(butler_target());
    if (op != operation_kind::start_task && op != operation_kind::stop_task)
        return out;
    out += '/';
    append_segment(out, name);
    return out;
}

std::string request_templates::request_line(operation_kind op, std::string_view name) const
{
    std::string line(method_of(op));
    line += ' ';
    line += target(op, name);
    return line;
}

void request_templates::render(std::string& out, operation_kind op, std::string_view name) const
{
    // Reuses `out`'s capacity: no allocation once the connection has sent one such request.
    out.clear();
    if (op == operation_kind::list_tasks) {
        out.append(list_);
        return;
    }
    out.append(method_of(op)).append(" ").append(butler_target());
    if (op == operation_kind::start_task || op == operation_kind::stop_task) {
        out.append("/");
        append_segment(out, name);
    }
    out.append(" HTTP/1.1\r\n");
    out.append(common_headers()).append(accept_task).append("Content-Length: 0\r\n\r\n");
}

} // namespace plexbutler::detail
