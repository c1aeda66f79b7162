#ifndef PLEXBUTLER_HTTP_PUBLIC_KEY_PINS_HPP
#define PLEXBUTLER_HTTP_PUBLIC_KEY_PINS_HPP

// Public-key pins in curl's `sha256//BASE64` form: the SHA-256 of a certificate's DER-encoded
// SubjectPublicKeyInfo, base64-encoded (OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock). I/O-free.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/types.h>

namespace plexbutler::detail {

/// SHA-256 of a DER-encoded SubjectPublicKeyInfo.
using spki_sha256 = std::array<unsigned char, 32>;

/// `sha256//` followed by the base64 of `key` (44 characters).
std::string pin_string(const spki_sha256& key);

/// The pin of `pin` (one `sha256//BASE64`), or empty when it is not one: wrong prefix, not
/// canonical base64 (padding included), or not 32 bytes.
std::optional<spki_sha256> parse_pin(std::string_view pin);

/// SHA-256 of the SubjectPublicKeyInfo of `cert`; empty when `cert` is null or has no usable key.
std::optional<spki_sha256> spki_sha256_of(X509* cert);

/// The pins of one client, parsed once.
class public_key_pins {
public:
    public_key_pins() = default;
    /// @throws std::invalid_argument naming the first pin that is not `sha256//` and the base64 of
    /// 32 bytes (the pin itself is quoted, cut to 80 bytes: it is not a secret).
    explicit public_key_pins(const std::vector<std::string>& pins);

    bool empty() const noexcept { return pins_.empty(); }
    std::size_t size() const noexcept { return pins_.size(); }
    bool contains(const spki_sha256& key) const noexcept;

    /// `public key pin mismatch: the server's key is sha256//..., expected sha256//...[ or ...]`
    /// (at most three expected pins, then `or N more`).
    std::string mismatch_message(const spki_sha256& found) const;

private:
    std::vector<spki_sha256> pins_;
};

/// What a handshake proved about the server's key, checked against the pins once the handshake is
/// done, both for a full handshake (the key of the certificate the verify callback saw) and for a
/// resumed one (no certificate is sent: the key recorded with the session when it was verified).
struct pin_check {
    /// The key the connection is bound to: empty when pins are set and no key is known.
    std::optional<spki_sha256> key;
    /// Empty when the connection may be used; else the one-line reason it may not.
    std::string failure;
};

/// The decision after a completed handshake. `resumed`: the handshake resumed a session;
/// `from_certificate`: the key of the certificate of a full handshake; `from_session`: the key
/// recorded with the offered session. With pins, a resumed session without a recorded key, or a full
/// handshake without a certificate key, is refused: nothing unchecked is ever used.
pin_check check_pins_after_handshake(const public_key_pins& pins, bool resumed,
                                     const std::optional<spki_sha256>& from_certificate,
                                     const std::optional<spki_sha256>& from_session);

} // namespace plexbutler::detail

#endif
