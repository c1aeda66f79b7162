#ifndef PLEXBUTLER_EMULATOR_NAMED_TLS_HPP
#define PLEXBUTLER_EMULATOR_NAMED_TLS_HPP

// The emulator's certificates issued by a certificate authority of its own, for the names of
// server_options::tls_names and tls_plex_direct_hash (a Plex server's *.<hash>.plex.direct).

#include <plexbutler/emulator/server.hpp>

#include <cstdint>
#include <string>

namespace plexbutler::emulator::detail {

/// Whether `s` asks for a certificate issued for `tls_names` or `tls_plex_direct_hash`.
bool wants_named_tls(const server_options& s) noexcept;

/// @throws std::invalid_argument on an empty name, a hash that is not 32 lower-case hexadecimal
/// digits, or named certificates combined with certificate files or `tls_self_signed_name`.
void check_named_tls(const server_options& s);

/// A certificate for the names, issued by a certificate authority made for it.
struct named_identity {
    std::string chain_pem; ///< the server's certificate, then the authority's
    std::string key_pem;   ///< the server's private key
    std::string ca_pem;    ///< the authority's certificate (what clients trust)
};

/// Makes the authority and the certificate (`check_named_tls` first). @throws std::runtime_error.
named_identity make_named_identity(const server_options& s);

/// `https://<listen address with dashes>.<hash>.plex.direct:<port>` (`localhost` is 127.0.0.1).
std::string plex_direct_url(const std::string& listen_host, const std::string& hash, std::uint16_t port);

} // namespace plexbutler::emulator::detail

#endif
