#include <plexbutler/client.hpp>
#include <plexbutler/models.hpp>

#include "detail/classify.hpp"
#include "detail/connection.hpp"
#include "detail/pool_state.hpp"
#include "detail/request.hpp"
#include "detail/retry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace plexbutler {

namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

long long to_ms(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

double random_unit()
{
    thread_local std::minstd_rand rng{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

bool is_cancelled(const asio::cancellation_state& st) { return st.cancelled() != asio::cancellation_type::none; }

} // namespace

/// A queued checkout; lives in the waiting coroutine's frame (as `std::optional<waiter>`,
/// whose address is the waiter id), touched only on the pool strand.
struct waiter {
    // The timer runs on the plain executor (no type-erased strand to copy); its wait completes
    // through the pool strand (bind_executor) and it is only touched there.
    explicit waiter(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;      // expiry = the request deadline; cancelled to wake the waiter
    std::optional<grant> granted;
    bool shut_down = false;
};

/// Result of a checkout.
struct lease {
    error_code ec;
    std::size_t slot = 0;
    bool needs_connect = false;
};

/// What `client` holds: the pool client over one of two strand types (see make_client_impl).
class client_impl {
public:
    virtual ~client_impl() = default;
    // `previous` (may be null) must live until the operation completes; it is moved from.
    virtual asio::awaitable<result<tasks_response>> run_list(call_options co, tasks_response* previous) = 0;
    virtual asio::awaitable<result<task_response>> run_outcome(operation_kind op, std::string_view name,
                                                               call_options co) = 0;
    virtual pool_stats stats() const = 0;
    virtual void shutdown() = 0;
    virtual asio::awaitable<void> async_shutdown() = 0;
    virtual const asio::any_io_executor& executor() const noexcept = 0;
    virtual const std::string& origin() const noexcept = 0;
};

template <class Strand>
class pool_client final : public client_impl, public std::enable_shared_from_this<pool_client<Strand>> {
public:
    pool_client(asio::any_io_executor ex, Strand strand, client_options opts)
        : ex_(std::move(ex)), strand_(std::move(strand)), opts_(std::move(opts)), ep_(parse_endpoint(opts_)),
          req_(opts_, ep_), state_(opts_.max_connections == 0 ? 1 : opts_.max_connections, opts_.max_waiters,
                                   opts_.idle_timeout),
          conns_(opts_.max_connections), idle_timer_(strand_)
    {
        if (opts_.max_connections == 0)
            throw std::invalid_argument("client_options.max_connections must be at least 1");
        if (opts_.connect_timeout.count() < 0 || opts_.request_timeout.count() < 0 || opts_.idle_timeout.count() < 0)
            throw std::invalid_argument("client_options timeouts must not be negative");
        if (opts_.max_header_bytes == 0 || opts_.max_body_bytes == 0 || opts_.max_json_depth == 0)
            throw std::invalid_argument("client_options limits must be positive");
        if (auto* msg = validate_retry_policy(opts_.retry))
            throw std::invalid_argument(std::string("client_options.") + msg);
        if (ep_.https)
            setup_tls();
    }

    // ---- the operations ------------------------------------------------------------------------

    // Not coroutines: they return run's awaitable, so an operation is still one frame here.
    asio::awaitable<result<tasks_response>> run_list(call_options co, tasks_response* previous) override
    {
        return run<butler_task_list>(operation_kind::list_tasks, {}, std::move(co), previous);
    }
    asio::awaitable<result<task_response>> run_outcome(operation_kind op, std::string_view name,
                                                       call_options co) override
    {
        return run<task_outcome>(op, name, std::move(co), nullptr);
    }

    // One coroutine frame for the whole operation (retry policy, pool checkout, stale
    // keep-alive retry, write, read, decode): nested frames would defeat Asio's frame recycling.
    // `previous` (a caller's earlier response, or null) becomes the response decoded into: on
    // success it is moved into the result, so its strings and task vector are reused, not allocated.
    // (A pointer, not a by-value parameter: g++ 12 copies temporaries of a co_await expression
    // into the coroutine frame bytewise, which breaks std::string's small-buffer pointer.)
    template <class Content>
    asio::awaitable<result<response<Content>>> run(operation_kind op, std::string_view name, call_options co,
                                                   response<Content>* previous)
    {
        co_await asio::this_coro::throw_if_cancelled(false);
        const retry_policy& policy = co.retry ? *co.retry : opts_.retry;
        if (co.retry) {
            if (auto* msg = validate_retry_policy(policy))
                throw std::invalid_argument(std::string("call_options.") + msg);
        }
        response<Content> reuse; // taken only once nothing can throw: an invalid call leaves it alone
        if (previous != nullptr)
            reuse = std::move(*previous);
        const auto timeout = co.timeout ? *co.timeout : opts_.request_timeout;
        const auto start = pool_clock::now();
        std::optional<waiter> w; // its address is this operation's waiter id in the pool queue
        const auto waiter_id = reinterpret_cast<std::uintptr_t>(&w);
        for (unsigned attempts = 1;; ++attempts) {
            const auto deadline = timeout.count() > 0 ? pool_clock::now() + timeout : pool_clock::time_point::max();
            attempt_info info;
            std::optional<result<response<Content>>> out;
            bool stale_retried = false;
            while (!out) {
                // ---- checkout, on the pool strand ----
                lease l;
                if (shut_down_.load(std::memory_order_relaxed)) {
                    l.ec = error::client_shut_down;
                } else {
                    co_await asio::dispatch(asio::bind_executor(strand_, asio::use_awaitable));
                    auto d = state_.checkout(waiter_id, pool_clock::now());
                    publish_stats();
                    using k = checkout_decision::kind;
                    switch (d.what) {
                    case k::use_idle: l = lease{{}, d.slot, false}; break;
                    case k::open_new: l = lease{{}, d.slot, true}; break;
                    case k::too_many_waiters: l.ec = error::too_many_waiters; break;
                    case k::shut_down: l.ec = error::client_shut_down; break;
                    case k::wait: {
                        w.emplace(ex_);
                        w->timer.expires_at(deadline);
                        error_code ec;
                        co_await w->timer.async_wait(
                            asio::bind_executor(strand_, asio::redirect_error(asio::use_awaitable, ec)));
                        // Back on the strand: a grant wins over a concurrent expiry or cancellation.
                        if (w->granted) {
                            l = lease{{}, w->granted->slot, w->granted->needs_connect};
                        } else if (w->shut_down) {
                            l.ec = error::cancelled;
                        } else {
                            state_.cancel_waiter(waiter_id);
                            publish_stats();
                            l.ec = ec ? error_code(error::cancelled) : error_code(error::timeout);
                        }
                        w.reset();
                        break;
                    }
                    }
                    if (l.ec)
                        co_await asio::post(asio::use_awaitable); // leave the strand before resuming the caller
                }
                if (l.ec) {
                    std::string msg = l.ec == error::timeout ? "after " + std::to_string(to_ms(timeout)) +
                                                                  " ms waiting for a connection to " + ep_.server
                                      : l.ec == error::too_many_waiters ? "too many operations waiting for a connection"
                                      : l.ec == error::client_shut_down ? "client shut down"
                                                                        : "while waiting for a connection";
                    out = fail(static_cast<error>(l.ec.value()), op, name, std::move(msg));
                    break;
                }
                if (is_cancelled(co_await asio::this_coro::cancellation_state)) {
                    release(l.slot, !l.needs_connect);
                    co_await asio::post(asio::use_awaitable);
                    out = fail(error::cancelled, op, name, "cancelled");
                    break;
                }

                // ---- connect when the slot is empty ----
                if (l.needs_connect) {
                    conns_[l.slot] = std::make_unique<connection>(ex_, tls_.get(), read_limit_);
                    created_.fetch_add(1, std::memory_order_relaxed);
                    std::string msg;
                    auto ec = co_await connect(*conns_[l.slot], deadline, msg);
                    if (ec) {
                        release(l.slot, false);
                        out = fail(static_cast<error>(ec.value()), op, name, std::move(msg));
                        break;
                    }
                }
                connection& c = *conns_[l.slot];
                const bool reused = c.served > 0;
                if (reused) {
                    // Bytes nobody asked for arrived while the connection idled: it is out of step
                    // with the server (or closing); never read them as the next response.
                    error_code aec;
                    if (c.tcp().socket().available(aec) > 0 || aec) {
                        release(l.slot, false);
                        log(log_level::debug, "idle connection to " + ep_.server + " received unsolicited bytes; discarded");
                        continue;
                    }
                }

                // ---- write the request, read the response ----
                const std::string* bytes = &req_.fixed(op);
                if (op == operation_kind::start_task || op == operation_kind::stop_task) {
                    req_.render_task(c.request, op, name);
                    bytes = &c.request;
                }
                if (opts_.logger)
                    log(log_level::debug, "-> " + req_.request_line(op, name) + " (" + ep_.server + ")");
                if (timeout.count() > 0)
                    c.tcp().expires_at(deadline); // one deadline for write + read: a dripping server is cut
                else
                    c.tcp().expires_never();
                error_code ec;
                if (c.tls)
                    co_await asio::async_write(*c.tls, asio::buffer(*bytes), asio::redirect_error(asio::use_awaitable, ec));
                else
                    co_await asio::async_write(*c.plain, asio::buffer(*bytes), asio::redirect_error(asio::use_awaitable, ec));
                if (!ec) {
                    c.sink.clear();
                    c.parser.emplace(c.sink, opts_.max_body_bytes);
                    c.parser->header_limit(
                        static_cast<std::uint32_t>(std::min<std::size_t>(opts_.max_header_bytes, UINT32_MAX)));
                    if (c.tls)
                        co_await http::async_read(*c.tls, c.buffer, *c.parser, asio::redirect_error(asio::use_awaitable, ec));
                    else
                        co_await http::async_read(*c.plain, c.buffer, *c.parser, asio::redirect_error(asio::use_awaitable, ec));
                }
                if (ec) {
                    const bool got_some = c.parser && c.parser->got_some();
                    const unsigned status = c.sink.status;
                    c.parser.reset();
                    // Never reuse after an error, cancellation or partial read. The release may run
                    // inline and destroy the connection: `c` is not touched after it.
                    release(l.slot, false);
                    if (reused && !got_some && is_stale_connection_error(ec) && !stale_retried &&
                        !is_cancelled(co_await asio::this_coro::cancellation_state)) {
                        stale_retried = true;
                        retried_.fetch_add(1, std::memory_order_relaxed);
                        log(log_level::debug, "reused connection to " + ep_.server + " was closed; retrying on a new one");
                        continue;
                    }
                    out = fail(map_transport_error(ec), op, name, transport_message(map_transport_error(ec), ec, timeout),
                               status);
                    break;
                }
                // Complete response: keep the connection only for a clean HTTP/1.1 keep-alive exchange.
                const bool reusable = c.parser->keep_alive() && c.sink.version == 11 && c.buffer.size() == 0 &&
                                      !shut_down_.load(std::memory_order_relaxed);
                c.parser.reset();
                ++c.served;
                served_.fetch_add(1, std::memory_order_relaxed);
                if (opts_.logger)
                    log(log_level::debug, "<- HTTP/" + std::to_string(c.sink.version / 10) + "." +
                                              std::to_string(c.sink.version % 10) + " " + std::to_string(c.sink.status) +
                                              " " + printable(c.sink.reason) + " (" + req_.request_line(op, name) + ")");
                info.status = c.sink.status;
                if (!c.sink.retry_after.empty())
                    info.retry_after = parse_retry_after(c.sink.retry_after);
                out = interpret<Content>(op, name, c.sink, reuse);
                release(l.slot, reusable);
            }

            // ---- retry policy ----
            auto& r = *out;
            if (r || attempts >= policy.max_attempts)
                co_return std::move(r);
            attempt_result ar{r.error().code, info.status, info.retry_after};
            auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(pool_clock::now() - start);
            auto d = decide_retry(policy, attempts, elapsed, ar, random_unit());
            if (!d.retry)
                co_return std::move(r);
            log(log_level::info, "retrying " + r.error().diag.request_line + " in " + std::to_string(d.delay.count()) +
                                     " ms after: " + r.error().message());
            asio::steady_timer t(co_await asio::this_coro::executor);
            t.expires_after(d.delay);
            error_code ec;
            co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (is_cancelled(co_await asio::this_coro::cancellation_state) || ec)
                co_return fail(error::cancelled, op, name, "cancelled during retry backoff");
            if (shut_down_.load(std::memory_order_relaxed))
                co_return fail(error::client_shut_down, op, name, "client shut down");
            retried_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    pool_stats stats() const override
    {
        pool_stats s;
        {
            std::lock_guard lk(stats_mu_);
            s = stats_;
        }
        s.connections_created = created_.load(std::memory_order_relaxed);
        s.requests_served = served_.load(std::memory_order_relaxed);
        s.requests_retried = retried_.load(std::memory_order_relaxed);
        return s;
    }

    void shutdown() override
    {
        shut_down_.store(true);
        asio::dispatch(strand_, [self = this->shared_from_this()] { self->do_shutdown(); });
    }

    asio::awaitable<void> async_shutdown() override
    {
        shut_down_.store(true);
        co_await asio::dispatch(asio::bind_executor(strand_, asio::use_awaitable));
        do_shutdown();
        co_await asio::post(asio::use_awaitable); // leave the strand before resuming the caller
    }

    const asio::any_io_executor& executor() const noexcept override { return ex_; }
    const std::string& origin() const noexcept override { return ep_.origin; }

private:
    struct attempt_info {
        unsigned status = 0;
        std::optional<std::chrono::seconds> retry_after;
    };

    // ---- helpers -------------------------------------------------------------------------------

    void log(log_level level, std::string_view msg) const
    {
        if (opts_.logger)
            opts_.logger(level, redact(std::string(msg), opts_.token));
    }

    failure fail(error e, operation_kind op, std::string_view name, std::string message, unsigned status = 0) const
    {
        failure f;
        f.code = e;
        f.diag.http_status = status;
        f.diag.server_message = redact(std::move(message), opts_.token);
        f.diag.request_line = req_.request_line(op, name);
        f.diag.server = ep_.server;
        return f;
    }

    void setup_tls()
    {
        if (opts_.ssl_context) {
            tls_ = opts_.ssl_context;
        } else {
            tls_ = std::make_shared<ssl::context>(ssl::context::tls_client);
            error_code ec;
            tls_->set_default_verify_paths(ec); // a missing system store is not fatal with ca_file
            if (!opts_.ca_file.empty()) {
                tls_->load_verify_file(opts_.ca_file, ec);
                if (ec)
                    throw std::invalid_argument("client_options.ca_file cannot be loaded: " + ec.message());
            }
            if (!opts_.ca_path.empty()) {
                tls_->add_verify_path(opts_.ca_path, ec);
                if (ec)
                    throw std::invalid_argument("client_options.ca_path cannot be used: " + ec.message());
            }
            SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
        }
        if (!opts_.tls_verify)
            log(log_level::warning, "TLS certificate verification is disabled (tls_verify=false): insecure");
    }

    void publish_stats()
    {
        std::lock_guard lk(stats_mu_);
        stats_.open = state_.open();
        stats_.idle = state_.idle();
        stats_.busy = state_.busy();
        stats_.waiting = state_.waiting();
    }

    // ---- pool (strand) -------------------------------------------------------------------------

    void release(std::size_t slot, bool reusable)
    {
        asio::dispatch(strand_, [self = this->shared_from_this(), slot, reusable] { self->do_release(slot, reusable); });
    }

    void do_release(std::size_t slot, bool reusable)
    {
        auto d = state_.release(slot, reusable, pool_clock::now());
        if (d.close)
            conns_[slot].reset();
        if (d.handoff)
            wake(*d.handoff);
        arm_idle_timer();
        publish_stats();
    }

    void wake(const grant& g)
    {
        auto& w = *reinterpret_cast<std::optional<waiter>*>(g.waiter);
        w->granted = g;
        w->timer.cancel();
    }

    void arm_idle_timer()
    {
        if (idle_timer_armed_)
            return;
        auto when = state_.next_idle_expiry();
        if (!when)
            return;
        idle_timer_armed_ = true;
        idle_timer_.expires_at(*when);
        idle_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
            self->idle_timer_armed_ = false;
            if (ec || self->state_.is_shut_down())
                return;
            for (auto slot : self->state_.expire_idle(pool_clock::now()))
                self->conns_[slot].reset();
            self->publish_stats();
            self->arm_idle_timer();
        });
    }

    void do_shutdown()
    {
        auto a = state_.shutdown();
        for (auto id : a.failed_waiters) {
            auto& w = *reinterpret_cast<std::optional<waiter>*>(id);
            w->shut_down = true;
            w->timer.cancel();
        }
        for (auto slot : a.closed_slots)
            conns_[slot].reset();
        idle_timer_.cancel();
        publish_stats();
    }

    // ---- one attempt ---------------------------------------------------------------------------

    error_code map_handshake_error(connection& c, const error_code& ec, std::string& msg) const
    {
        if (ec == beast::error::timeout)
            return error::timeout;
        long verify = SSL_get_verify_result(c.tls->native_handle());
        if (verify != X509_V_OK || ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
            msg = "for " + ep_.server + ": " +
                  (verify != X509_V_OK ? std::string(X509_verify_cert_error_string(verify)) : ec.message());
            return error::certificate_verification_failed;
        }
        msg = "with " + ep_.server + ": " + ec.message();
        return error::tls_handshake_failed;
    }

    asio::awaitable<error_code> connect(connection& c, pool_clock::time_point deadline, std::string& msg)
    {
        co_await asio::this_coro::throw_if_cancelled(false);
        using namespace asio::experimental::awaitable_operators;
        const auto connect_start = pool_clock::now();
        auto cdeadline = deadline;
        if (opts_.connect_timeout.count() > 0)
            cdeadline = std::min(cdeadline, connect_start + opts_.connect_timeout);
        auto timeout_msg = [&] {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(cdeadline - connect_start);
            msg = "after " + std::to_string(to_ms(ms)) + " ms connecting to " + ep_.server;
        };
        error_code ec;
        if (ep_.host_is_ip) {
            tcp::endpoint endpoint(asio::ip::make_address(ep_.host), ep_.port);
            c.tcp().expires_at(cdeadline);
            co_await c.tcp().async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
        } else {
            tcp::resolver resolver(ex_);
            asio::steady_timer timer(ex_);
            timer.expires_at(cdeadline);
            auto r = co_await (resolver.async_resolve(ep_.host, std::to_string(ep_.port), asio::as_tuple(asio::use_awaitable)) ||
                               timer.async_wait(asio::as_tuple(asio::use_awaitable)));
            if (r.index() == 1) {
                auto [tec] = std::get<1>(r);
                if (tec) {
                    msg = "while resolving " + ep_.host;
                    co_return error::cancelled;
                }
                timeout_msg();
                co_return error::timeout;
            }
            auto [rec, results] = std::get<0>(r);
            if (rec) {
                msg = rec == asio::error::operation_aborted ? "while resolving " + ep_.host
                                                           : "resolving " + ep_.host + ": " + rec.message();
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
                msg = "while connecting to " + ep_.server;
                co_return error::cancelled;
            }
            msg = "to " + ep_.server + ": " + ec.message();
            co_return error::connect_failed;
        }
        error_code ignored;
        c.tcp().socket().set_option(tcp::no_delay(true), ignored);
        if (c.tls) {
            if (!ep_.host_is_ip && SSL_ctrl(c.tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                                 const_cast<char*>(ep_.host.c_str())) != 1) {
                msg = "(the TLS server name could not be set)";
                co_return error::tls_handshake_failed;
            }
            if (opts_.tls_verify) {
                c.tls->set_verify_mode(ssl::verify_peer);
                c.tls->set_verify_callback(ssl::host_name_verification(ep_.host));
            } else {
                c.tls->set_verify_mode(ssl::verify_none);
            }
            co_await c.tls->async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (ec == asio::error::operation_aborted) {
                    msg = "during the TLS handshake with " + ep_.server;
                    co_return error::cancelled;
                }
                auto e = map_handshake_error(c, ec, msg);
                if (e == error::timeout)
                    timeout_msg();
                co_return e;
            }
        }
        co_return error_code{};
    }

    std::string transport_message(error e, const error_code& ec, std::chrono::milliseconds timeout) const
    {
        switch (e) {
        case error::timeout:
            return "after " + std::to_string(to_ms(timeout)) + " ms waiting for response from " + ep_.server;
        case error::cancelled: return "while waiting for response from " + ep_.server;
        case error::header_too_large:
            return "response header exceeds " + std::to_string(opts_.max_header_bytes) + " bytes";
        case error::body_too_large: return "response body exceeds " + std::to_string(opts_.max_body_bytes) + " bytes";
        default: return printable(ec.message());
        }
    }

    // On success `r` is filled and moved into the result (its storage reused); on failure it is
    // left for the next attempt.
    template <class Content>
    result<response<Content>> interpret(operation_kind op, std::string_view name, const response_sink& s,
                                        response<Content>& r) const
    {
        const json_limits limits{opts_.max_json_depth, opts_.max_body_bytes};
        if (!is_identity_encoding(s.content_encoding))
            return fail(error::unsupported_content_encoding, op, name,
                        "Content-Encoding: " + printable(s.content_encoding, 64), s.status);
        auto cls = classify_status(op, s.status);
        if (!cls.success) {
            // describe() already prints the status: the message is the reason phrase, and nothing
            // when the body carries Plex errors (they say more than the phrase).
            auto f = fail(cls.err, op, name,
                          cls.err == error::redirect_not_followed ? redirect_message(s.status, s.location)
                                                                  : printable(s.reason, 100),
                          s.status);
            if (is_json_content_type(s.content_type) && !s.body.empty()) {
                if (auto pe = parse_plex_errors(s.body, limits); pe && !pe->errors.empty()) {
                    f.diag.plex_errors = std::move(pe->errors);
                    // A server may echo the token in its error text: it reaches what() and logs.
                    for (auto& e : f.diag.plex_errors)
                        if (e.message)
                            e.message = redact(std::move(*e.message), opts_.token);
                    if (cls.err != error::redirect_not_followed)
                        f.diag.server_message.clear();
                }
            }
            return f;
        }
        if constexpr (std::is_same_v<Content, butler_task_list>) {
            if (!is_json_content_type(s.content_type))
                return fail(error::unexpected_content_type, op, name,
                            "expected application/json, got '" + printable(s.content_type, 100) + "'", s.status);
            auto decoded = parse_task_list_into(s.body, r.content, limits);
            if (!decoded) {
                auto f = fail(error::json_decode_failed, op, name, decoded.error().diag.server_message, s.status);
                f.code = decoded.error().code;
                return f;
            }
        } else {
            r.content = cls.outcome;
        }
        // assign, not operator= from a copy: the strings keep the capacity of a reused response
        r.status = s.status;
        r.content_type.assign(s.content_type);
        r.raw.version = s.version;
        r.raw.status = s.status;
        r.raw.reason.assign(s.reason);
        r.raw.fields.assign(s.fields);
        return std::move(r);
    }

    asio::any_io_executor ex_;
    Strand strand_;
    client_options opts_;
    endpoint ep_;
    request_templates req_;
    std::shared_ptr<ssl::context> tls_;
    pool_state state_;                                 // strand only
    std::vector<std::unique_ptr<connection>> conns_;   // a slot's object belongs to whoever holds the slot
    asio::steady_timer idle_timer_;                    // strand only
    bool idle_timer_armed_ = false;                    // strand only
    mutable std::mutex stats_mu_;
    pool_stats stats_;
    std::atomic<std::uint64_t> created_{0}, served_{0}, retried_{0};
    std::atomic<bool> shut_down_{false};
    // Header + body limits, saturated: what one response can occupy in the read buffer.
    std::size_t read_limit_ = opts_.max_header_bytes > SIZE_MAX - opts_.max_body_bytes
                                  ? SIZE_MAX
                                  : opts_.max_header_bytes + opts_.max_body_bytes;
};

// On an io_context (the common case) the pool strand wraps the concrete executor: a strand over
// any_io_executor converts executors through heap-allocated wrappers on every strand hop
// (Asio's prefer(blocking.possibly) on the type-erased inner executor), 2-3 per request.
std::shared_ptr<client_impl> make_client_impl(asio::any_io_executor ex, client_options opts)
{
    if (const auto* io = ex.target<asio::io_context::executor_type>()) {
        auto strand = asio::make_strand(*io);
        return std::make_shared<pool_client<asio::strand<asio::io_context::executor_type>>>(
            std::move(ex), std::move(strand), std::move(opts));
    }
    auto strand = asio::make_strand(ex);
    return std::make_shared<pool_client<asio::strand<asio::any_io_executor>>>(std::move(ex), std::move(strand),
                                                                              std::move(opts));
}

} // namespace detail

namespace asio = boost::asio;

client::client(asio::any_io_executor ex, client_options opts)
    : impl_(detail::make_client_impl(std::move(ex), std::move(opts)))
{
}

client::client(asio::io_context& ctx, client_options opts) : client(ctx.get_executor(), std::move(opts)) {}

client::~client()
{
    if (impl_)
        impl_->shutdown();
}

namespace {

template <class T>
T value_or_throw(result<T>&& r)
{
    if (!r)
        throw butler_error(std::move(r).error());
    return std::move(*r);
}

} // namespace

// Each public operation is one coroutine frame around `pool_client::run` (two frames in
// all, which Asio's per-thread frame recycling serves without heap allocations).

asio::awaitable<result<tasks_response>> client::try_get_butler_tasks(call_options opts)
{
    auto impl = impl_;
    co_return co_await impl->run_list(std::move(opts), nullptr);
}

// g++ 12 at -O1 with sanitizers warns that the unused failure of a successful result<void> "may be
// used uninitialized" while the coroutine moves it (variant2's storage): a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
asio::awaitable<result<void>> client::try_refresh_butler_tasks(tasks_response& tasks, call_options opts)
{
    auto impl = impl_;
    auto r = co_await impl->run_list(std::move(opts), &tasks); // moves the storage out of `tasks`
    if (r) {
        tasks = std::move(*r); // and back, refilled
        co_return result<void>(boost::system::in_place_value);
    }
    tasks = tasks_response{};
    co_return result<void>(boost::system::in_place_error, std::move(r).error());
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

asio::awaitable<result<task_response>> client::try_start_all_tasks(call_options opts)
{
    auto impl = impl_;
    co_return co_await impl->run_outcome(detail::operation_kind::start_all, {}, std::move(opts));
}

asio::awaitable<result<task_response>> client::try_stop_all_tasks(call_options opts)
{
    auto impl = impl_;
    co_return co_await impl->run_outcome(detail::operation_kind::stop_all, {}, std::move(opts));
}

asio::awaitable<result<task_response>> client::try_start_task(std::string_view name, call_options opts)
{
    auto impl = impl_;
    if (!task_name::is_valid(name))
        co_return task_name::parse(name).error();
    co_return co_await impl->run_outcome(detail::operation_kind::start_task, name, std::move(opts));
}

asio::awaitable<result<task_response>> client::try_stop_task(std::string_view name, call_options opts)
{
    auto impl = impl_;
    if (!task_name::is_valid(name))
        co_return task_name::parse(name).error();
    co_return co_await impl->run_outcome(detail::operation_kind::stop_task, name, std::move(opts));
}

asio::awaitable<tasks_response> client::get_butler_tasks(call_options opts)
{
    auto impl = impl_;
    co_return value_or_throw(co_await impl->run_list(std::move(opts), nullptr));
}

asio::awaitable<void> client::refresh_butler_tasks(tasks_response& tasks, call_options opts)
{
    auto impl = impl_;
    auto r = co_await impl->run_list(std::move(opts), &tasks);
    if (!r) {
        tasks = tasks_response{};
        throw butler_error(std::move(r).error());
    }
    tasks = std::move(*r);
}

asio::awaitable<task_response> client::start_all_tasks(call_options opts)
{
    auto impl = impl_;
    co_return value_or_throw(co_await impl->run_outcome(detail::operation_kind::start_all, {}, std::move(opts)));
}

asio::awaitable<task_response> client::stop_all_tasks(call_options opts)
{
    auto impl = impl_;
    co_return value_or_throw(co_await impl->run_outcome(detail::operation_kind::stop_all, {}, std::move(opts)));
}

asio::awaitable<task_response> client::start_task(const task_name& name, call_options opts)
{
    auto impl = impl_;
    co_return value_or_throw(
        co_await impl->run_outcome(detail::operation_kind::start_task, name.view(), std::move(opts)));
}

asio::awaitable<task_response> client::start_task(std::string_view name, call_options opts)
{
    auto impl = impl_;
    if (!task_name::is_valid(name))
        throw butler_error(task_name::parse(name).error());
    co_return value_or_throw(
        co_await impl->run_outcome(detail::operation_kind::start_task, name, std::move(opts)));
}

asio::awaitable<task_response> client::stop_task(const task_name& name, call_options opts)
{
    auto impl = impl_;
    co_return value_or_throw(
        co_await impl->run_outcome(detail::operation_kind::stop_task, name.view(), std::move(opts)));
}

asio::awaitable<task_response> client::stop_task(std::string_view name, call_options opts)
{
    auto impl = impl_;
    if (!task_name::is_valid(name))
        throw butler_error(task_name::parse(name).error());
    co_return value_or_throw(
        co_await impl->run_outcome(detail::operation_kind::stop_task, name, std::move(opts)));
}

pool_stats client::stats() const { return impl_->stats(); }

asio::awaitable<void> client::async_shutdown()
{
    auto impl = impl_;
    co_await impl->async_shutdown();
}

void client::shutdown() { impl_->shutdown(); }

asio::any_io_executor client::get_executor() const { return impl_->executor(); }

const std::string& client::origin() const noexcept { return impl_->origin(); }

std::string default_client_identifier(std::string_view product)
{
    std::string seed;
    {
        std::ifstream in("/etc/machine-id");
        std::getline(in, seed);
    }
    while (!seed.empty() && (seed.back() == '\n' || seed.back() == ' ' || seed.back() == '\r'))
        seed.pop_back();
    if (seed.empty()) {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) == 0)
            seed = host;
    }
    seed += '\n';
    seed.append(product);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(seed.data(), seed.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len < 16)
        throw std::runtime_error("SHA-256 is not available");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out.push_back('-');
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0x0f]);
    }
    return out;
}

} // namespace plexbutler
