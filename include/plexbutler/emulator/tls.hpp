#ifndef PLEXBUTLER_EMULATOR_TLS_HPP
#define PLEXBUTLER_EMULATOR_TLS_HPP

/// @file emulator/tls.hpp
/// @brief Self-signed certificates for the emulator's HTTPS mode and for tests.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::emulator {

/// @brief A certificate and its private key, both PEM-encoded.
struct certificate_pair {
    std::string cert_pem; ///< `-----BEGIN CERTIFICATE-----` block.
    std::string key_pem;  ///< `-----BEGIN PRIVATE KEY-----` block (PKCS#8, unencrypted).
};

/// @brief Makes a fresh self-signed certificate for `host_name`.
///
/// The key is EC P-256; the certificate is X.509 v3, signed with SHA-256, has a
/// random 127-bit serial, `subjectAltName` `IP:<addr>` when `host_name` is an IPv4
/// or IPv6 literal (brackets around IPv6 are accepted) and `DNS:<name>` otherwise,
/// and `basicConstraints CA:TRUE`, so a client can load `cert_pem` directly as its
/// trust anchor. It is valid from one minute ago (clock skew) for `validity`.
///
/// Thread-safe (no shared state).
/// @throws std::runtime_error naming the OpenSSL step that failed, or
///         std::invalid_argument when `host_name` is empty or `validity` is not positive.
certificate_pair make_self_signed_certificate(std::string_view host_name,
                                              std::chrono::hours validity = std::chrono::hours{24});

/// @brief Makes a fresh self-signed certificate naming every one of `host_names`.
///
/// As the single-name form, with one `subjectAltName` entry per name (`IP:` or `DNS:`, in
/// order) and the first name as the CN. An emulator fleet presents one such certificate for
/// every 254 loopback addresses.
/// @throws std::invalid_argument when `host_names` is empty or holds an empty name.
certificate_pair make_self_signed_certificate(const std::vector<std::string>& host_names,
                                              std::chrono::hours validity = std::chrono::hours{24});

} // namespace plexbutler::emulator

#endif
