#ifndef PLEXBUTLER_HTTP_TLS_VERIFY_HPP
#define PLEXBUTLER_HTTP_TLS_VERIFY_HPP

// Verification of the server certificate during a TLS handshake: the chain (OpenSSL's result),
// the host name (Asio's ssl::host_name_verification) and the public-key pins, and a one-line
// description of the first failure that names its cause (docs/tls.md, "TLS errors").

#include "http/public_key_pins.hpp"

#include <boost/asio/ssl/verify_context.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace plexbutler::detail {

/// What a client asks of a server certificate (fixed per client).
struct tls_verify_policy {
    /// The chain must lead to a trusted CA and be valid now.
    bool chain = true;
    /// The certificate must name the host of the URL.
    bool host_name = true;
    /// The host name or address checked when `host_name` is set.
    std::string host;
    /// Pins the leaf's key must match (none: any key).
    const public_key_pins* pins = nullptr;
};

/// The policy of a client: `tls_verify` and the CA options decide. With pins and no CA option
/// (`ca_file`, `ca_path`, `ssl_context`), a key that matches a pin is the whole proof (neither
/// the chain nor the name is checked, as curl's `--insecure --pinnedpubkey`); with a CA option
/// both the chain and name and the pin must hold. `tls_verify = false` checks only the pins.
tls_verify_policy make_tls_verify_policy(bool tls_verify, bool has_ca_option, const std::string& host,
                                         const public_key_pins& pins);

/// What the verify callback found during one handshake.
struct tls_verify_state {
    /// SHA-256 of the leaf certificate's public key, once the callback has seen it.
    std::optional<spki_sha256> leaf_key;
    /// The first failure, one line naming its cause; empty when none.
    std::string failure;
};

/// The verify callback of one connection (installed by `tls_verify_callback_scope`): records the
/// leaf's key and the first failure in a state the connection reads after the handshake. Copyable;
/// the state is shared.
class tls_verify_callback {
public:
    tls_verify_callback(const tls_verify_policy& policy, std::shared_ptr<tls_verify_state> state)
        : policy_(&policy), state_(std::move(state))
    {
    }

    bool operator()(bool preverified, boost::asio::ssl::verify_context& ctx) const;

private:
    const tls_verify_policy* policy_; // owned by the transport, which outlives its connections
    std::shared_ptr<tls_verify_state> state_;
};

/// Makes OpenSSL verify the peer of `ssl` with `callback` (SSL_VERIFY_PEER; the callback is found
/// through the SSL's application data and must live while it is installed). Null removes it: a
/// later verification then fails.
void install_tls_verify_callback(SSL* ssl, const tls_verify_callback* callback) noexcept;

/// The certificate's names as a reader would list them: its subjectAltName DNS and IP entries, or
/// `CN=...` when it has none; the first `shown`, then `and N more`.
std::string describe_certificate_names(X509* cert, std::size_t shown = 5);

/// The one-line description of a chain error `error` (X509_V_ERR_*) found at `cert`; `sent` is the
/// number of certificates the server sent. Names expiry dates, untrusted issuers, a missing
/// intermediate.
std::string describe_chain_error(int error, X509* cert, int sent);

/// `"CN=..."` (the subject's common name, or the whole subject in RFC 2253 form when it has none;
/// cut to 100 bytes), or `(no certificate)`.
std::string describe_subject(X509* cert);

/// The one-line description of a TLS handshake failure that is not a verification failure (the
/// OpenSSL reason), naming a protocol version refusal as such.
std::string describe_handshake_error(unsigned long openssl_error, const std::string& fallback);

} // namespace plexbutler::detail

#endif
