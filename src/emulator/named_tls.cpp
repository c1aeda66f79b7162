#include "emulator/named_tls.hpp"

#include "http/plex_direct.hpp"

#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <stdexcept>

namespace plexbutler::emulator::detail {

bool wants_named_tls(const server_options& s) noexcept
{
    return !s.tls_names.empty() || !s.tls_plex_direct_hash.empty();
}

void check_named_tls(const server_options& s)
{
    if (!wants_named_tls(s))
        return;
    if (!s.tls_cert_file.empty() || !s.tls_key_file.empty() || !s.tls_self_signed_name.empty())
        throw std::invalid_argument("server_options.tls_names and tls_plex_direct_hash are exclusive with TLS "
                                    "certificate files and tls_self_signed_name");
    if (std::any_of(s.tls_names.begin(), s.tls_names.end(), [](const std::string& n) { return n.empty(); }))
        throw std::invalid_argument("server_options.tls_names holds an empty name");
    const auto& h = s.tls_plex_direct_hash;
    if (!h.empty() && (!plexbutler::detail::is_plex_direct_hash(h) ||
                       std::any_of(h.begin(), h.end(), [](char c) { return c >= 'A' && c <= 'Z'; })))
        throw std::invalid_argument(
            "server_options.tls_plex_direct_hash must be 32 lower-case hexadecimal digits, as a Plex machine hash");
}

named_identity make_named_identity(const server_options& s)
{
    check_named_tls(s);
    certificate_spec spec;
    spec.names = s.tls_names;
    if (!s.tls_plex_direct_hash.empty())
        spec.names.push_back("*." + s.tls_plex_direct_hash + ".plex.direct");
    const certificate_pair ca = make_certificate_authority();
    certificate_pair leaf = make_certificate(spec, &ca);
    return {leaf.cert_pem + ca.cert_pem, std::move(leaf.key_pem), ca.cert_pem};
}

std::string plex_direct_url(const std::string& listen_host, const std::string& hash, std::uint16_t port)
{
    std::string host = listen_host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host == "localhost")
        host = "127.0.0.1";
    const auto address = boost::asio::ip::make_address(host); // the engine has bound it: a literal
    return "https://" + plexbutler::detail::plex_direct_name(address, hash) + ":" + std::to_string(port);
}

} // namespace plexbutler::emulator::detail
