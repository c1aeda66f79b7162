#include "http/tcp_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/tls_context_cache.hpp"
#include "http/tls_verify.hpp"

#include <plexbutler/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdexcept>

#include <sys/socket.h>

namespace plexbutler::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

long long millisecond_count(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

// Races a deferred operation against the timer: the first to complete cancels the other. Completes
// with the order (order[0] == 1: the timer won), the operation's results, then the timer's error.
// A parallel group of the two operations themselves: no coroutine frames (`||` spawns one per side).
template <class Operation>
auto race_timer(Operation operation, asio::steady_timer& timer)
{
    return asio::experimental::make_parallel_group(std::move(operation), timer.async_wait(asio::deferred))
        .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
}

error_code map_handshake_error(SSL* ssl, const error_code& ec, const std::string& server,
                               const tls_verify_state& verified, std::string& msg)
{
    if (!verified.failure.empty()) { // the verify callback named the cause
        msg = "for " + server + ": " + verified.failure;
        return error::certificate_verification_failed;
    }
    const bool openssl_error = ec.category() == asio::error::get_ssl_category();
    const auto packed = static_cast<unsigned long>(ec.value());
    long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK || (openssl_error && ERR_GET_REASON(packed) == SSL_R_CERTIFICATE_VERIFY_FAILED)) {
        msg = "for " + server + ": " +
              (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify)) : ec.message());
        return error::certificate_verification_failed;
    }
    msg = "with " + server + ": " + (openssl_error ? describe_handshake_error(packed, ec.message()) : ec.message());
    return error::tls_handshake_failed;
}

} // namespace

void socket_aborter::operator()() const noexcept
{
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_RDWR);
}

socket_aborter tcp_or_tls_stream::make_aborter() noexcept { return socket_aborter(tcp_.native_handle()); }

tcp_transport::tcp_transport(const client_options& opts, const endpoint& ep)
    : opts_(&opts), ep_(&ep), pins_(opts.pinned_public_keys),
      verify_policy_(make_tls_verify_policy(
          opts.tls_verify, !opts.ca_file.empty() || !opts.ca_path.empty() || opts.ssl_context != nullptr, ep.host,
          pins_))
{
    if (!pins_.empty() && !ep.https)
        throw std::invalid_argument("client_options.pinned_public_keys need an https:// server URL (the server is " +
                                    ep.origin + ")");
    if (ep.https)
        tls_ = client_tls_context(opts);
}

void tcp_transport::keep_session(SSL_SESSION* session, const spki_sha256* key)
{
    if (session == nullptr || SSL_SESSION_is_resumable(session) != 1)
        return;
    // A copy: OpenSSL marks a connection's own session not resumable when the connection is freed
    // without a close_notify, as an evicted one is (TLS 1.1 and later no longer require that).
    ssl_session_ptr kept(SSL_SESSION_dup(session));
    if (!kept)
        return;
    std::lock_guard lk(session_mu_);
    session_ = std::move(kept);
    session_key_.reset();
    if (key != nullptr)
        session_key_ = *key;
}

tcp_transport::offered_session tcp_transport::session_to_offer()
{
    std::lock_guard lk(session_mu_);
    if (!session_ || SSL_SESSION_get_protocol_version(session_.get()) >= TLS1_3_VERSION)
        return {std::move(session_), std::exchange(session_key_, std::nullopt)}; // a TLS 1.3 ticket is offered once
    SSL_SESSION_up_ref(session_.get());
    return {ssl_session_ptr(session_.get()), session_key_};
}

void tcp_transport::first_response_read(stream_type& s)
{
    SSL* tls = s.tls();
    if (tls == nullptr || !opts_->tls_session_resumption)
        return;
    // A session other than the handshake's: a TLS 1.3 ticket arrived (each makes a new session).
    if (SSL_SESSION* now = SSL_get0_session(tls); now != s.handshake_session.get())
        keep_session(now, s.peer_key.get());
    s.handshake_session.reset();
    s.peer_key.reset();
}

asio::awaitable<error_code> tcp_transport::connect(stream_type& c, clock_type::time_point deadline, std::string& msg)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto connect_start = clock_type::now();
    auto cdeadline = deadline;
    if (opts_->connect_timeout.count() > 0)
        cdeadline = std::min(cdeadline, connect_start + opts_->connect_timeout);
    auto timeout_msg = [&] {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(cdeadline - connect_start);
        msg = "after " + std::to_string(millisecond_count(ms)) + " ms connecting to " + ep_->server;
    };
    // A step that the timer won: the deadline passed (timeout), or the timer was cancelled with
    // the whole connect (cancelled, `during` naming the step).
    auto timer_outcome = [&](const error_code& timer_ec, std::string during) -> error_code {
        if (timer_ec) {
            msg = std::move(during);
            return error::cancelled;
        }
        timeout_msg();
        return error::timeout;
    };
    // One timer for the connect and the handshake: the deadline of both is `cdeadline`. The
    // stream has no timers of its own: the timer races each step (race_timer cancels the loser).
    asio::steady_timer timer(c.get_executor());
    timer.expires_at(cdeadline);
    error_code ec;
    bool timer_won = false;
    if (!ep_->connect_to.empty() || ep_->host_is_ip) {
        // An address override or a plex.direct name: no DNS; the addresses are tried in order.
        std::vector<tcp::endpoint> single;
        if (ep_->connect_to.empty())
            single.emplace_back(asio::ip::make_address(ep_->host), ep_->port);
        const auto& endpoints = ep_->connect_to.empty() ? single : ep_->connect_to;
        auto connecting = asio::async_connect(c.tcp(), endpoints, asio::deferred);
        auto [order, cec, connected, tec] = co_await race_timer(std::move(connecting), timer);
        timer_won = order[0] == 1;
        ec = timer_won ? tec : cec;
    } else {
        tcp::resolver resolver(c.get_executor());
        auto resolving = resolver.async_resolve(ep_->host, std::to_string(ep_->port), asio::deferred);
        auto [rorder, rec, results, rtec] = co_await race_timer(std::move(resolving), timer);
        if (rorder[0] == 1)
            co_return timer_outcome(rtec, "while resolving " + ep_->host);
        if (rec) {
            msg = rec == asio::error::operation_aborted ? "while resolving " + ep_->host
                                                        : "resolving " + ep_->host + ": " + rec.message();
            co_return rec == asio::error::operation_aborted ? error_code(error::cancelled)
                                                            : error_code(error::connect_failed);
        }
        auto connecting = asio::async_connect(c.tcp(), results, asio::deferred);
        auto [corder, cec, connected, ctec] = co_await race_timer(std::move(connecting), timer);
        timer_won = corder[0] == 1;
        ec = timer_won ? ctec : cec;
    }
    if (timer_won)
        co_return timer_outcome(ec, "while connecting to " + ep_->server);
    if (ec) {
        if (ec == asio::error::operation_aborted) {
            msg = "while connecting to " + ep_->server;
            co_return error::cancelled;
        }
        msg = "to " + ep_->server;
        if (ep_->connect_source != address_source::dns) {
            msg += " (at ";
            for (std::size_t i = 0; i < ep_->connect_to.size(); ++i)
                msg += (i == 0 ? "" : ", ") + ep_->connect_to[i].address().to_string();
            msg += ep_->connect_source == address_source::plex_direct ? ", the address of its plex.direct name)"
                                                                      : ", from the address overrides)";
        }
        msg += ": " + ec.message();
        co_return error::connect_failed;
    }
    error_code ignored;
    c.tcp().set_option(tcp::no_delay(true), ignored);
    if (c.uses_tls()) {
        SSL* ssl = c.tls();
        if (ssl == nullptr) {
            msg = "with " + ep_->server + ": OpenSSL could not make the connection state";
            co_return error::tls_handshake_failed;
        }
        if (!ep_->host_is_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                         const_cast<char*>(ep_->host.c_str())) != 1) {
            msg = "(the TLS server name could not be set)";
            co_return error::tls_handshake_failed;
        }
        // The callback runs whatever the policy: it records the server's key, which the pins and
        // the resumption slot need (with nothing to verify it accepts every certificate).
        auto verified = std::make_shared<tls_verify_state>();
        c.verify_with(tls_verify_callback(verify_policy_, verified));
        // After the handshake a verification would find no callback and fail: no renegotiation.
        SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
        std::optional<spki_sha256> offered_key;
        if (opts_->tls_session_resumption) {
            if (auto offered = session_to_offer(); offered.session) {
                SSL_set_session(ssl, offered.session.get()); // takes its own reference
                offered_key = offered.key;
            }
        }
        auto handshaking = c.async_handshake(asio::deferred);
        auto [horder, hec, hbytes, htec] = co_await race_timer(std::move(handshaking), timer);
        if (horder[0] == 1) {
            const error_code outcome = timer_outcome(htec, "during the TLS handshake with " + ep_->server);
            if (outcome == error::timeout)
                msg += ": the TLS handshake did not complete (the TCP connection was accepted)";
            co_return outcome;
        }
        ec = hec;
        c.end_verification();
        if (ec) {
            if (ec == asio::error::operation_aborted) {
                msg = "during the TLS handshake with " + ep_->server;
                co_return error::cancelled;
            }
            co_return map_handshake_error(ssl, ec, ep_->server, *verified, msg);
        }
        const bool resumed = SSL_session_reused(ssl) == 1;
        handshakes_.fetch_add(1, std::memory_order_relaxed);
        if (resumed)
            resumed_.fetch_add(1, std::memory_order_relaxed);
        // A resumed handshake runs no verify callback: its key is the one recorded with the session.
        auto checked = check_pins_after_handshake(pins_, resumed, verified->leaf_key, offered_key);
        if (!checked.failure.empty()) {
            msg = "for " + ep_->server + ": " + checked.failure;
            co_return error::certificate_verification_failed;
        }
        if (checked.key)
            c.peer_key = std::make_unique<const spki_sha256>(*checked.key);
        if (opts_->tls_session_resumption) {
            c.handshake_session.reset(SSL_get1_session(ssl));
            if (SSL_version(ssl) < TLS1_3_VERSION) // complete now; TLS 1.3 tickets come later
                keep_session(c.handshake_session.get(), c.peer_key.get());
        }
    }
    co_return error_code{};
}

} // namespace plexbutler::detail
