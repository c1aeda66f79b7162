#ifndef PLEXBUTLER_TEST_MEMORY_TRANSPORT_HPP
#define PLEXBUTLER_TEST_MEMORY_TRANSPORT_HPP

/// @file memory_transport.hpp
/// @brief The client's pool over in-memory streams (Beast's test::stream) and a manual clock:
/// the real client, its pool, its attempt state machine, its parser and its interpretation,
/// with no socket and no sleeping. Tests move time with `manual_clock::advance`.
///
/// Header-only, so that the fuzz targets can use it without the Catch2 support library.

#include "client/client_impl.hpp"
#include "client/pool_client.hpp"
#include "http/connection.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/error.hpp>

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/fail_count.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace plexbutler::test {

/// @brief A steady clock that only moves when a test moves it. Its time points are
/// steady_clock's, so the pool's bookkeeping and the attempt deadlines need no other type.
/// Not thread-safe: for single-threaded tests.
struct manual_clock {
    using duration = std::chrono::steady_clock::duration;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::steady_clock::time_point;
    static constexpr bool is_steady = true;

    static time_point now() noexcept { return current(); }
    static void advance(duration d) noexcept { current() += d; }

private:
    static time_point& current() noexcept
    {
        static time_point t = time_point{} + std::chrono::hours(1);
        return t;
    }
};

/// @brief Wait traits that let the reactor sleep at most 1 ms at a time, so that timers notice
/// a clock moved by hand within a millisecond of real time.
struct manual_wait_traits {
    static manual_clock::duration to_wait_duration(const manual_clock::duration& d)
    {
        return std::clamp<manual_clock::duration>(d, manual_clock::duration::zero(), std::chrono::milliseconds(1));
    }
    static manual_clock::duration to_wait_duration(const manual_clock::time_point& t)
    {
        return to_wait_duration(t - manual_clock::now());
    }
};

/// @brief A timer on the manual clock.
using manual_timer = boost::asio::basic_waitable_timer<manual_clock, manual_wait_traits>;

namespace detail_memory {

struct stream_state {
    explicit stream_state(const boost::asio::any_io_executor& ex) : stream(ex), timer(ex) {}
    boost::beast::test::stream stream;
    manual_timer timer;
    std::uint64_t generation = 0; // of the deadline: a stale expiry is ignored
    bool timed_out = false;
};

// Completes an operation of the stream: a passed deadline reads as beast::error::timeout, as
// Beast's tcp_stream reports it. Every association of the inner handler is kept.
template <class Handler>
struct completion {
    Handler handler;
    std::shared_ptr<stream_state> state;

    void operator()(boost::system::error_code ec, std::size_t n)
    {
        auto slot = boost::asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected())
            slot.clear();
        if (ec && state->timed_out)
            ec = boost::beast::error::timeout;
        std::move(handler)(ec, n);
    }
};

// Closes the stream, posted to its executor: for a cancelled operation (closing completes the
// operation, whose completion clears the slot that is running this handler) and for the
// pool's shutdown (the memory transport's aborter). The pending read completes with
// operation_aborted; the client never reuses a connection after an error.
struct closer {
    std::weak_ptr<stream_state> state;
    void operator()() const
    {
        if (auto s = state.lock())
            boost::asio::post(s->stream.get_executor(), [w = state] {
                if (auto st = w.lock())
                    st->stream.close();
            });
    }
    void operator()(boost::asio::cancellation_type) const { (*this)(); }
    void reset() noexcept { state.reset(); }
};

// Completes `h` with `ec` on its executor: a step that fails before it starts.
template <class Handler>
void post_error(const boost::asio::any_io_executor& fallback, Handler&& h, boost::system::error_code ec)
{
    auto ex = boost::asio::get_associated_executor(h, fallback);
    boost::asio::post(ex, boost::beast::bind_front_handler(std::forward<Handler>(h), ec, std::size_t{0}));
}

} // namespace detail_memory

/// @brief The byte stream under an in-memory connection: a Beast test::stream with the
/// deadline, idle check and per-operation cancellation the pool client needs. The next layer
/// of the TLS variant of memory_stream.
class memory_link {
public:
    using executor_type = boost::asio::any_io_executor;
    using lowest_layer_type = memory_link; // what asio::ssl::stream asks of its next layer

    explicit memory_link(const executor_type& ex) : s_(std::make_shared<detail_memory::stream_state>(ex)) {}

    executor_type get_executor() noexcept { return s_->stream.get_executor(); }
    lowest_layer_type& lowest_layer() noexcept { return *this; }

    /// The underlying test stream (connect it to a peer, append input, set read sizes).
    boost::beast::test::stream& raw() noexcept { return s_->stream; }

    void expires_at(manual_clock::time_point t)
    {
        expires_never();
        s_->timer.expires_at(t);
        s_->timer.async_wait([w = std::weak_ptr(s_), g = s_->generation](boost::system::error_code ec) {
            auto s = w.lock();
            if (ec || !s || s->generation != g)
                return;
            s->timed_out = true;
            s->stream.close();
        });
    }

    void expires_never()
    {
        ++s_->generation;
        s_->timer.cancel();
    }

    bool has_unsolicited_bytes() noexcept { return !s_->stream.str().empty(); }

    detail_memory::closer make_aborter() noexcept { return detail_memory::closer{s_}; }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token)
    {
        return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
            [s = s_](auto handler, const MutableBufferSequence& b) {
                if (s->timed_out)
                    return detail_memory::post_error(s->stream.get_executor(), std::move(handler),
                                                     boost::beast::error::timeout);
                auto slot = boost::asio::get_associated_cancellation_slot(handler);
                if (slot.is_connected())
                    slot.template emplace<detail_memory::closer>(detail_memory::closer{s});
                s->stream.async_read_some(b, detail_memory::completion<decltype(handler)>{std::move(handler), s});
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token)
    {
        return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
            [s = s_](auto handler, const ConstBufferSequence& b) {
                if (s->timed_out)
                    return detail_memory::post_error(s->stream.get_executor(), std::move(handler),
                                                     boost::beast::error::timeout);
                s->stream.async_write_some(b, detail_memory::completion<decltype(handler)>{std::move(handler), s});
            },
            token, buffers);
    }

private:
    std::shared_ptr<detail_memory::stream_state> s_;
};

/// @brief The I/O steps of an in-memory connection that a fault_injector can make fail.
enum class io_step {
    connect,   ///< The transport's connect; the memory transport resolves nothing, so this is resolve + connect.
    handshake, ///< The client's TLS handshake (https only), as one step.
    write,     ///< One write_some of the connection (above TLS).
    read,      ///< One read_some of the connection (above TLS): header and body reads count one each.
};

/// @brief The name of a step, for messages.
inline const char* to_string(io_step s) noexcept
{
    switch (s) {
    case io_step::connect: return "connect";
    case io_step::handshake: return "handshake";
    case io_step::write: return "write";
    case io_step::read: return "read";
    }
    return "?";
}

/// @brief Beast's fail_count consulted by every step of every connection of a client, in order,
/// so that a test can make the k-th step of an operation fail: the steps Beast's test::stream
/// counts (read, write) plus the connect and the TLS handshake, which it does not have.
/// Single-threaded, like the tests that use it.
struct fault_injector {
    /// @brief Counts from now with `fc` (it outlives the steps that run until `disarm`).
    void arm(boost::beast::test::fail_count& fc)
    {
        count_ = &fc;
        steps.clear();
        failed.reset();
    }
    /// @brief Steps no longer fail nor are recorded.
    void disarm() noexcept { count_ = nullptr; }

    /// @brief Called by a step before it starts: true (with `ec` set) when it must fail.
    bool fail(io_step s, boost::system::error_code& ec)
    {
        if (count_ == nullptr)
            return false;
        steps.push_back(s);
        if (!count_->fail(ec))
            return false;
        if (!failed)
            failed = steps.size() - 1;
        return true;
    }

    std::vector<io_step> steps;        ///< Every step that consulted the counter since `arm`, in order.
    std::optional<std::size_t> failed; ///< Index in `steps` of the first step that failed.

private:
    boost::beast::test::fail_count* count_ = nullptr;
};

/// @brief The client side of an in-memory connection: a memory_link, or TLS over one when the
/// client's server URL is https. Steps consult the client's fault_injector, if any.
class memory_stream {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit memory_stream(const executor_type& ex) : plain_(std::in_place, ex) {}

    /// TLS over the link when `tls_context` is not null; `faults` may be null.
    memory_stream(const executor_type& ex, boost::asio::ssl::context* tls_context,
                  std::shared_ptr<fault_injector> faults)
        : faults_(std::move(faults))
    {
        if (tls_context)
            tls_.emplace(ex, *tls_context);
        else
            plain_.emplace(ex);
    }

    executor_type get_executor() noexcept { return link().get_executor(); }

    memory_link& link() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
    boost::asio::ssl::stream<memory_link>* tls() noexcept { return tls_ ? &*tls_ : nullptr; }

    /// The underlying test stream (connect it to a peer, append input, set read sizes).
    boost::beast::test::stream& raw() noexcept { return link().raw(); }

    void expires_at(manual_clock::time_point t) { link().expires_at(t); }
    void expires_never() { link().expires_never(); }
    bool has_unsolicited_bytes() noexcept { return link().has_unsolicited_bytes(); }
    detail_memory::closer make_aborter() noexcept { return link().make_aborter(); }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token)
    {
        return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
            [self = this](auto handler, const MutableBufferSequence& b) {
                self->start(io_step::read, std::move(handler),
                            [&b](auto& s, auto h) { s.async_read_some(b, std::move(h)); });
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token)
    {
        return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
            [self = this](auto handler, const ConstBufferSequence& b) {
                self->start(io_step::write, std::move(handler),
                            [&b](auto& s, auto h) { s.async_write_some(b, std::move(h)); });
            },
            token, buffers);
    }

private:
    // Consults the injector, then starts `op(stream, handler)` on the TLS or the plain stream.
    template <class Handler, class Op>
    void start(io_step step, Handler&& handler, Op op)
    {
        boost::system::error_code ec;
        if (faults_ && faults_->fail(step, ec))
            return detail_memory::post_error(get_executor(), std::forward<Handler>(handler), ec);
        if (tls_)
            op(*tls_, std::forward<Handler>(handler));
        else
            op(*plain_, std::forward<Handler>(handler));
    }

    std::optional<memory_link> plain_;
    std::optional<boost::asio::ssl::stream<memory_link>> tls_;
    std::shared_ptr<fault_injector> faults_;
};

/// @brief What stands behind the in-memory connections of a client: called once per connect
/// with the client's new stream. Return an error to refuse the connection (the client reports
/// error::connect_failed), or connect `client.raw()` to a peer and serve it (over TLS when
/// `client.tls()` is not null: the client then handshakes).
using memory_acceptor = std::function<boost::system::error_code(memory_stream& client)>;

/// @brief A pool-client transport over in-memory streams and the manual clock.
struct memory_transport {
    using clock_type = manual_clock;
    using timer_type = manual_timer;
    using stream_type = memory_stream;
    using connection_type = detail::basic_connection<memory_stream>;
    using aborter_type = detail_memory::closer;

    std::shared_ptr<memory_acceptor> accept;
    std::shared_ptr<boost::asio::ssl::context> tls; ///< Set for https: the client's context.
    std::shared_ptr<fault_injector> faults;         ///< May be null.
    std::string host;                               ///< The name the server certificate must have.
    bool verify = true;                             ///< client_options::tls_verify.

    std::unique_ptr<connection_type> make_connection(const boost::asio::any_io_executor& ex, std::size_t read_limit)
    {
        return std::make_unique<connection_type>(read_limit, ex, tls.get(), faults);
    }

    /// Connects through `accept`, then handshakes (https) by `deadline`. The errors are those of
    /// tcp_transport::connect: connect_failed, tls_handshake_failed, certificate_verification_failed, timeout.
    boost::asio::awaitable<boost::system::error_code> connect(memory_stream& s, manual_clock::time_point deadline,
                                                              std::string& msg) const
    {
        namespace asio = boost::asio;
        boost::system::error_code ec;
        if (!(faults && faults->fail(io_step::connect, ec)))
            ec = (*accept)(s);
        if (ec) {
            msg = "to the memory server: " + ec.message();
            co_return error::connect_failed;
        }
        if (!s.tls())
            co_return boost::system::error_code{};
        if (faults && faults->fail(io_step::handshake, ec)) {
            msg = "with the memory server: " + ec.message();
            co_return error::tls_handshake_failed;
        }
        if (verify) {
            s.tls()->set_verify_mode(asio::ssl::verify_peer);
            s.tls()->set_verify_callback(asio::ssl::host_name_verification(host));
        }
        if (deadline != detail::attempt_time::max())
            s.expires_at(deadline);
        co_await s.tls()->async_handshake(asio::ssl::stream_base::client,
                                          asio::redirect_error(asio::use_awaitable, ec));
        s.expires_never();
        if (!ec)
            co_return boost::system::error_code{};
        msg = "with the memory server: " + ec.message();
        if (ec == boost::beast::error::timeout)
            co_return error::timeout;
        if (SSL_get_verify_result(s.tls()->native_handle()) != X509_V_OK)
            co_return error::certificate_verification_failed;
        co_return error::tls_handshake_failed;
    }
};

/// @brief The real pool client (on a strand of `ctx`) over connections that `accept` serves.
/// `opts.server_url` only names the server in requests and messages; nothing is resolved. An
/// https URL makes every connection TLS, trusting `opts.ssl_context` (required for https).
/// The steps of every connection consult `faults` when it is not null.
inline client make_memory_client(boost::asio::io_context& ctx, client_options opts, memory_acceptor accept,
                                 std::shared_ptr<fault_injector> faults = {}, detail::pool_tuning tuning = {})
{
    using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
    auto shared = std::make_shared<memory_acceptor>(std::move(accept));
    auto impl = std::make_shared<detail::pool_client<strand_type, memory_transport>>(
        ctx.get_executor(), boost::asio::make_strand(ctx), std::move(opts),
        [shared, faults = std::move(faults)](const client_options& o, const detail::endpoint& ep) {
            if (ep.https && !o.ssl_context)
                throw std::invalid_argument("the memory transport needs client_options.ssl_context for https");
            return memory_transport{shared, ep.https ? o.ssl_context : nullptr, faults, ep.host, o.tls_verify};
        },
        tuning);
    return detail::client_access::make(std::move(impl));
}

} // namespace plexbutler::test

template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct boost::asio::associator<Associator, plexbutler::test::detail_memory::completion<Handler>, DefaultCandidate> {
    using type = typename Associator<Handler, DefaultCandidate>::type;
    static type get(const plexbutler::test::detail_memory::completion<Handler>& c,
                    const DefaultCandidate& d = DefaultCandidate()) noexcept
    {
        return Associator<Handler, DefaultCandidate>::get(c.handler, d);
    }
};

#endif
