#include "http/tcp_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <plexbutler/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace plexbutler::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

long long millisecond_count(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

error_code map_handshake_error(ssl::stream<beast::tcp_stream>& tls, const error_code& ec, const std::string& server,
                               std::string& msg)
{
    if (ec == beast::error::timeout)
        return error::timeout;
    long verify = SSL_get_verify_result(tls.native_handle());
    if (verify != X509_V_OK ||
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        msg = "for " + server + ": " +
              (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify)) : ec.message());
        return error::certificate_verification_failed;
    }
    msg = "with " + server + ": " + ec.message();
    return error::tls_handshake_failed;
}

} // namespace

void socket_aborter::operator()() const noexcept
{
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_RDWR);
}

void socket_aborter::reset() noexcept
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

socket_aborter tcp_or_tls_stream::make_aborter() noexcept
{
    const int fd = tcp().socket().native_handle();
    return socket_aborter(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1);
}

tcp_transport::tcp_transport(const client_options& opts, const endpoint& ep) : opts_(&opts), ep_(&ep)
{
    if (!ep.https)
        return;
    if (opts.ssl_context) {
        tls_ = opts.ssl_context;
        return;
    }
    tls_ = std::make_shared<ssl::context>(ssl::context::tls_client);
    error_code ec;
    tls_->set_default_verify_paths(ec); // a missing system store is not fatal with ca_file
    if (!opts.ca_file.empty()) {
        tls_->load_verify_file(opts.ca_file, ec);
        if (ec)
            throw std::invalid_argument("client_options.ca_file cannot be loaded: " + ec.message());
    }
    if (!opts.ca_path.empty()) {
        tls_->add_verify_path(opts.ca_path, ec);
        if (ec)
            throw std::invalid_argument("client_options.ca_path cannot be used: " + ec.message());
    }
    SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
}

asio::awaitable<error_code> tcp_transport::connect(stream_type& c, clock_type::time_point deadline,
                                                   std::string& msg) const
{
    co_await asio::this_coro::throw_if_cancelled(false);
    using namespace asio::experimental::awaitable_operators;
    const auto connect_start = clock_type::now();
    auto cdeadline = deadline;
    if (opts_->connect_timeout.count() > 0)
        cdeadline = std::min(cdeadline, connect_start + opts_->connect_timeout);
    auto timeout_msg = [&] {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(cdeadline - connect_start);
        msg = "after " + std::to_string(millisecond_count(ms)) + " ms connecting to " + ep_->server;
    };
    error_code ec;
    if (ep_->host_is_ip) {
        tcp::endpoint endpoint(asio::ip::make_address(ep_->host), ep_->port);
        c.tcp().expires_at(cdeadline);
        co_await c.tcp().async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    } else {
        tcp::resolver resolver(c.get_executor());
        asio::steady_timer timer(c.get_executor());
        timer.expires_at(cdeadline);
        auto r = co_await (
            resolver.async_resolve(ep_->host, std::to_string(ep_->port), asio::as_tuple(asio::use_awaitable)) ||
            timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (r.index() == 1) {
            auto [tec] = std::get<1>(r);
            if (tec) {
                msg = "while resolving " + ep_->host;
                co_return error::cancelled;
            }
            timeout_msg();
            co_return error::timeout;
        }
        auto [rec, results] = std::get<0>(r);
        if (rec) {
            msg = rec == asio::error::operation_aborted ? "while resolving " + ep_->host
                                                        : "resolving " + ep_->host + ": " + rec.message();
            co_return rec == asio::error::operation_aborted ? error_code(error::cancelled)
                                                            : error_code(error::connect_failed);
        }
        c.tcp().expires_at(cdeadline);
        co_await c.tcp().async_connect(results, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
        if (ec == beast::error::timeout) {
            timeout_msg();
            co_return error::timeout;
        }
        if (ec == asio::error::operation_aborted) {
            msg = "while connecting to " + ep_->server;
            co_return error::cancelled;
        }
        msg = "to " + ep_->server + ": " + ec.message();
        co_return error::connect_failed;
    }
    error_code ignored;
    c.tcp().socket().set_option(tcp::no_delay(true), ignored);
    if (c.tls()) {
        if (!ep_->host_is_ip && SSL_ctrl(c.tls()->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME,
                                         TLSEXT_NAMETYPE_host_name, const_cast<char*>(ep_->host.c_str())) != 1) {
            msg = "(the TLS server name could not be set)";
            co_return error::tls_handshake_failed;
        }
        if (opts_->tls_verify) {
            c.tls()->set_verify_mode(ssl::verify_peer);
            c.tls()->set_verify_callback(ssl::host_name_verification(ep_->host));
        } else {
            c.tls()->set_verify_mode(ssl::verify_none);
        }
        co_await c.tls()->async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (ec == asio::error::operation_aborted) {
                msg = "during the TLS handshake with " + ep_->server;
                co_return error::cancelled;
            }
            auto e = map_handshake_error(*c.tls(), ec, ep_->server, msg);
            if (e == error::timeout)
                timeout_msg();
            co_return e;
        }
    }
    co_return error_code{};
}

} // namespace plexbutler::detail
