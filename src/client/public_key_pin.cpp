#include <plexbutler/error.hpp>
#include <plexbutler/public_key_pin.hpp>

#include "http/public_key_pins.hpp"
#include "http/request.hpp"
#include "http/tcp_transport.hpp"

#include <boost/asio/this_coro.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

namespace plexbutler {

namespace asio = boost::asio;

std::string public_key_pin(std::string_view certificate_pem)
{
    const std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size())), &BIO_free);
    if (!bio)
        throw std::invalid_argument("public_key_pin: out of memory");
    const std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                                                           &X509_free);
    const auto key = detail::spki_sha256_of(cert.get());
    if (!key)
        throw std::invalid_argument("public_key_pin: no PEM certificate with a public key in the input");
    return detail::pin_string(*key);
}

bool is_public_key_pin(std::string_view pin) noexcept
{
    try {
        return detail::parse_pin(pin).has_value();
    } catch (...) { // std::string allocation only
        return false;
    }
}

asio::awaitable<std::string> fetch_public_key_pin(client_options opts)
{
    // Only the key is read: nothing is verified, no session is kept.
    opts.tls_verify = false;
    opts.pinned_public_keys.clear();
    opts.tls_session_resumption = false;
    const detail::endpoint ep = detail::parse_endpoint(opts);
    if (!ep.https)
        throw std::invalid_argument("fetch_public_key_pin needs an https:// server URL, not " + ep.origin);
    if (opts.connect_timeout.count() < 0 || opts.request_timeout.count() < 0)
        throw std::invalid_argument("client_options timeouts must not be negative");
    detail::tcp_transport transport(opts, ep);
    const auto ex = co_await asio::this_coro::executor;
    const auto conn = transport.make_connection(ex, 4096);
    auto deadline = detail::tcp_transport::clock_type::time_point::max();
    if (opts.request_timeout.count() > 0)
        deadline = detail::tcp_transport::clock_type::now() + opts.request_timeout;
    std::string msg;
    const boost::system::error_code ec = co_await transport.connect(conn->stream, deadline, msg);
    diagnostics diag;
    diag.server = ep.server;
    if (ec) {
        diag.server_message = std::move(msg);
        throw butler_error(ec, std::move(diag));
    }
    if (!conn->stream.peer_key) {
        diag.server_message = "with " + ep.server + ": the server presented no certificate key";
        throw butler_error(error::tls_handshake_failed, std::move(diag));
    }
    co_return detail::pin_string(*conn->stream.peer_key);
}

} // namespace plexbutler
