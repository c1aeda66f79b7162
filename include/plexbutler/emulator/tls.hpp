#ifndef PLEXBUTLER_EMULATOR_TLS_HPP
#define PLEXBUTLER_EMULATOR_TLS_HPP

/// @file emulator/tls.hpp
/// @brief Certificates for the emulator's HTTPS mode and for tests: self-signed ones, and
///        certificate authorities with the certificates they issue.

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
/// order) and the first name as the CN. (An emulator fleet on loopback addresses presents one
/// certificate per server instead, naming its address only and issued by one CA: a certificate
/// with many names costs every client connection the memory of all of them.)
/// @throws std::invalid_argument when `host_names` is empty or holds an empty name.
certificate_pair make_self_signed_certificate(const std::vector<std::string>& host_names,
                                              std::chrono::hours validity = std::chrono::hours{24});

/// @brief What `make_certificate` puts in a certificate.
struct certificate_spec {
    /// `subjectAltName` entries: IPv4 or IPv6 literals (brackets accepted) become `IP:`
    /// entries, anything else a `DNS:` entry (wildcards such as `*.abc.plex.direct` included).
    /// May be empty only for a certificate authority.
    std::vector<std::string> names;
    /// Subject CN; empty: the first of `names` (cut to 64 bytes), or "plexbutler emulator CA".
    std::string common_name;
    /// A certificate authority (`basicConstraints CA:TRUE`, `keyCertSign`, `cRLSign`) rather
    /// than a server certificate (`CA:FALSE`, `digitalSignature`, `serverAuth`).
    bool is_ca = false;
    /// Start of validity relative to now; negative is in the past. Default: one minute ago (clock skew).
    std::chrono::seconds not_before{-60};
    /// End of validity relative to now; negative makes an expired certificate. Must be after `not_before`.
    std::chrono::seconds not_after{std::chrono::hours{24}};
    /// PEM private key to certify instead of a fresh EC P-256 key (lets many certificates
    /// share one key, which makes issuing thousands of them cheap). Empty: a fresh key.
    std::string key_pem;
};

/// @brief Makes a certificate as `spec` says, signed by `issuer`, or self-signed when
///        `issuer` is null.
///
/// X.509 v3, SHA-256 signature, random 127-bit serial, subject and authority key identifiers;
/// the issuer name is the issuer's subject. `issuer` must be a certificate authority made by
/// this function (or any CA whose key matches its certificate). The returned `cert_pem` holds
/// the new certificate only; a server that should present a chain appends the intermediates.
///
/// Thread-safe (no shared state).
/// @param spec what the certificate says.
/// @param issuer the authority that signs it; null for a self-signed certificate.
/// @return the certificate and its private key.
/// @throws std::invalid_argument on an empty name, no names for a server certificate,
///         `not_after <= not_before`, an issuer that is not a CA, or an unreadable `key_pem`;
///         std::runtime_error naming the OpenSSL step that failed.
certificate_pair make_certificate(const certificate_spec& spec, const certificate_pair* issuer = nullptr);

/// @brief Makes a self-signed certificate authority named `common_name`, valid for `validity`.
/// @param common_name the subject CN.
/// @param validity how long it stays valid, from one minute ago.
/// @return the CA certificate (a trust anchor for clients) and its key (to issue with).
/// @throws as `make_certificate`.
certificate_pair make_certificate_authority(std::string_view common_name = "plexbutler emulator CA",
                                            std::chrono::hours validity = std::chrono::hours{24});

} // namespace plexbutler::emulator

#endif
