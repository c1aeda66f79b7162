#include "http/address_override.hpp"
#include "util/ascii.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

namespace plexbutler::detail {

namespace {

namespace ip = boost::asio::ip;

[[noreturn]] void refuse(std::string_view entry, std::string_view why)
{
    throw std::invalid_argument("address override \"" + std::string(entry) + "\": " + std::string(why) +
                                " (expected HOST:PORT:ADDR[,ADDR...], IPv6 in brackets)");
}

bool is_host_name_char(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

std::optional<ip::address> ipv4_literal(std::string_view text)
{
    boost::system::error_code ec;
    const auto a = ip::make_address_v4(std::string(text), ec); // inet_pton: four decimal parts only
    if (ec)
        return std::nullopt;
    return ip::address(a);
}

std::optional<ip::address> ipv6_literal(std::string_view text)
{
    boost::system::error_code ec;
    const auto a = ip::make_address_v6(std::string(text), ec);
    if (ec)
        return std::nullopt;
    return ip::address(a);
}

// One address of the list: IPv4, or IPv6 in brackets.
ip::address parse_target(std::string_view entry, std::string_view text)
{
    if (text.empty())
        refuse(entry, "empty address");
    if (text.front() == '[') {
        if (text.size() < 3 || text.back() != ']')
            refuse(entry, "unclosed bracket in address " + std::string(text));
        if (auto a = ipv6_literal(text.substr(1, text.size() - 2)))
            return *a;
        refuse(entry, "not an IPv6 address: " + std::string(text));
    }
    if (auto a = ipv4_literal(text))
        return *a;
    if (ipv6_literal(text))
        refuse(entry, "write the IPv6 address " + std::string(text) + " in brackets");
    refuse(entry, "not an IP address: " + std::string(text));
}

} // namespace

bool address_override::matches(std::string_view h, std::uint16_t p) const
{
    if (p != port)
        return false;
    if (host_ip) {
        const auto other = h.find(':') != std::string_view::npos ? ipv6_literal(h) : ipv4_literal(h);
        return other && *other == *host_ip;
    }
    return iequals(h, host);
}

address_override parse_address_override(std::string_view entry)
{
    address_override out;
    if (entry.empty())
        refuse(entry, "empty entry");
    if (entry.front() == '+' || entry.front() == '-')
        refuse(entry, "curl's +HOST and -HOST forms are not supported");
    std::string_view rest = entry;
    if (rest.front() == '[') {
        const auto close = rest.find(']');
        if (close == std::string_view::npos)
            refuse(entry, "unclosed bracket in the host");
        out.host_ip = ipv6_literal(rest.substr(1, close - 1));
        if (!out.host_ip)
            refuse(entry, "not an IPv6 address: " + std::string(rest.substr(0, close + 1)));
        out.host = out.host_ip->to_string();
        rest.remove_prefix(close + 1);
        if (rest.empty() || rest.front() != ':')
            refuse(entry, "missing port");
        rest.remove_prefix(1);
    } else {
        const auto colon = rest.find(':');
        if (colon == std::string_view::npos)
            refuse(entry, "missing port");
        const auto host = rest.substr(0, colon);
        if (host.empty())
            refuse(entry, "empty host");
        if (host == "*")
            refuse(entry, "curl's * (any host) form is not supported");
        if (!std::all_of(host.begin(), host.end(), is_host_name_char))
            refuse(entry, "not a host name: " + std::string(host));
        out.host_ip = ipv4_literal(host);
        out.host.reserve(host.size());
        for (const char c : host)
            out.host += ascii_lower(c);
        rest.remove_prefix(colon + 1);
    }
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos)
        refuse(entry, "missing address");
    const auto port = rest.substr(0, colon);
    unsigned long value = 0;
    for (const char c : port) {
        if (c < '0' || c > '9' || value > 65535) {
            value = 0;
            break;
        }
        value = value * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port.empty() || port.size() > 5 || value == 0 || value > 65535)
        refuse(entry, "the port is not a number from 1 to 65535");
    out.port = static_cast<std::uint16_t>(value);
    rest.remove_prefix(colon + 1);
    for (;;) {
        const auto comma = rest.find(',');
        out.addresses.push_back(parse_target(entry, rest.substr(0, comma)));
        if (comma == std::string_view::npos)
            break;
        rest.remove_prefix(comma + 1);
    }
    return out;
}

std::vector<address_override> parse_address_overrides(const std::vector<std::string>& entries)
{
    std::vector<address_override> out;
    out.reserve(entries.size());
    // One key per host and port: `host` is lower case, and an IP literal's text is canonical (IPv4
    // takes only one spelling, IPv6 is written back by to_string). A set: a fleet may list thousands.
    std::set<std::pair<std::string, std::uint16_t>> seen;
    for (const auto& e : entries) {
        out.push_back(parse_address_override(e));
        if (!seen.emplace(out.back().host, out.back().port).second)
            refuse(e, "a second entry for the same host and port");
    }
    return out;
}

} // namespace plexbutler::detail
