#ifndef PLEXBUTLER_PUBLIC_KEY_PIN_HPP
#define PLEXBUTLER_PUBLIC_KEY_PIN_HPP

/// @file public_key_pin.hpp
/// @brief Public-key pins (`client_options::pinned_public_keys`): computing one from a
///        certificate, and reading a server's (trust on first use).

#include <plexbutler/options.hpp>

#include <boost/asio/awaitable.hpp>

#include <string>
#include <string_view>

namespace plexbutler {

/// @brief The pin of the public key of a PEM certificate, in curl's `sha256//BASE64` form.
///
/// The SHA-256 of the certificate's DER-encoded SubjectPublicKeyInfo, base64-encoded: the same
/// value as `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256
/// -binary | base64`, and what `client_options::pinned_public_keys` takes. I/O-free, thread-safe.
/// @param certificate_pem a `-----BEGIN CERTIFICATE-----` block (the first one is used).
/// @return `sha256//` followed by 44 base64 characters.
/// @throws std::invalid_argument when no certificate can be read from `certificate_pem`.
std::string public_key_pin(std::string_view certificate_pem);

/// @brief Whether `pin` is one well-formed pin: `sha256//` and the canonical base64 (with its `=`)
///        of 32 bytes, as `client_options::pinned_public_keys` requires. I/O-free.
bool is_public_key_pin(std::string_view pin) noexcept;

/// @brief Reads the pin of the key the server of `opts` presents (trust on first use).
///
/// Connects to the server as a client with `opts` would (the same address, SNI, timeouts and
/// TLS 1.2 minimum), completes one full TLS handshake, and returns the pin of the key of the
/// certificate the server presented, in `sha256//BASE64` form. Nothing is verified: neither the
/// chain, the name nor any pin in `opts` (the point is to learn the key, so a self-signed server
/// works without `tls_verify = false`), and no request is sent. The pin is only as trustworthy as
/// the network path it was read over: compare it with the server's key through another channel,
/// or read it where no one can interfere, then give it in `client_options::pinned_public_keys`.
///
/// The deadline is `opts.request_timeout` (and `opts.connect_timeout` for the connection).
/// Runs on the awaiting coroutine's executor; cancellation through its cancellation slot.
/// @param opts a client's options with an `https://` server.
/// @return the pin, e.g. `sha256//x4HNafs7QB+ZJ1X2Pk8wQ0SMVF5Vf+a1RoRD3o4cSRU=`.
/// @throws std::invalid_argument when `opts` are unusable or the server is not `https://`;
///         butler_error (`connect_failed`, `timeout`, `tls_handshake_failed`, `cancelled`) when
///         the handshake cannot be completed.
boost::asio::awaitable<std::string> fetch_public_key_pin(client_options opts);

} // namespace plexbutler

#endif
