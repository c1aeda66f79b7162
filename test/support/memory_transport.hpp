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
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

} // namespace detail_memory

/// @brief The client side of an in-memory connection: a Beast test::stream with the
/// deadline, idle check and per-operation cancellation the pool client needs.
class memory_stream {
public:
    using executor_type = boost::asio::any_io_executor;

    explicit memory_stream(const executor_type& ex) : s_(std::make_shared<detail_memory::stream_state>(ex)) {}

    executor_type get_executor() noexcept { return s_->stream.get_executor(); }

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
                    return post_timeout(s, std::move(handler));
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
                    return post_timeout(s, std::move(handler));
                s->stream.async_write_some(b, detail_memory::completion<decltype(handler)>{std::move(handler), s});
            },
            token, buffers);
    }

private:
    template <class Handler>
    static void post_timeout(const std::shared_ptr<detail_memory::stream_state>& s, Handler&& h)
    {
        auto ex = boost::asio::get_associated_executor(h, s->stream.get_executor());
        boost::asio::post(ex, boost::beast::bind_front_handler(std::forward<Handler>(h),
                                                               boost::system::error_code(boost::beast::error::timeout),
                                                               std::size_t{0}));
    }

    std::shared_ptr<detail_memory::stream_state> s_;
};

/// @brief What stands behind the in-memory connections of a client: called once per connect
/// with the client's new stream. Return an error to refuse the connection (the client reports
/// error::connect_failed), or connect `client.raw()` to a peer and serve it.
using memory_acceptor = std::function<boost::system::error_code(memory_stream& client)>;

/// @brief A pool-client transport over in-memory streams and the manual clock.
struct memory_transport {
    using clock_type = manual_clock;
    using timer_type = manual_timer;
    using stream_type = memory_stream;
    using connection_type = detail::basic_connection<memory_stream>;
    using aborter_type = detail_memory::closer;

    std::shared_ptr<memory_acceptor> accept;

    std::unique_ptr<connection_type> make_connection(const boost::asio::any_io_executor& ex, std::size_t read_limit)
    {
        return std::make_unique<connection_type>(read_limit, ex);
    }

    boost::asio::awaitable<boost::system::error_code> connect(memory_stream& s, manual_clock::time_point,
                                                              std::string& msg) const
    {
        auto ec = (*accept)(s);
        if (ec) {
            msg = "to the memory server: " + ec.message();
            co_return error::connect_failed;
        }
        co_return boost::system::error_code{};
    }
};

/// @brief The real pool client (on a strand of `ctx`) over connections that `accept` serves.
/// `opts.server_url` only names the server in requests and messages; nothing is resolved.
inline client make_memory_client(boost::asio::io_context& ctx, client_options opts, memory_acceptor accept)
{
    using strand_type = boost::asio::strand<boost::asio::io_context::executor_type>;
    auto shared = std::make_shared<memory_acceptor>(std::move(accept));
    auto impl = std::make_shared<detail::pool_client<strand_type, memory_transport>>(
        ctx.get_executor(), boost::asio::make_strand(ctx), std::move(opts),
        [shared](const client_options&, const detail::endpoint&) { return memory_transport{shared}; });
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
