#ifndef PLEXBUTLER_HTTP_TCP_TRANSPORT_HPP
#define PLEXBUTLER_HTTP_TCP_TRANSPORT_HPP

// The production transport of the pool client: TCP or TLS over TCP, steady_clock timers.
// A transport provides clock_type, timer_type, stream_type, make_connection() and connect();
// the test transport (test/support/memory_transport.hpp) provides the same over in-memory
// streams and a manual clock.

#include "http/connection.hpp"
#include "http/request.hpp"

#include <plexbutler/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace plexbutler::detail {

/// Aborts the I/O of one connection from any thread: shuts its socket down through a duplicate
/// descriptor, which no other socket can be given while this object holds it (the stream may
/// close its own descriptor at any time, e.g. on a timeout). Move-only; empty when default-made.
class socket_aborter {
public:
    socket_aborter() = default;
    explicit socket_aborter(int fd) noexcept : fd_(fd) {}
    socket_aborter(socket_aborter&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    socket_aborter& operator=(socket_aborter&& o) noexcept
    {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    socket_aborter(const socket_aborter&) = delete;
    socket_aborter& operator=(const socket_aborter&) = delete;
    ~socket_aborter() { reset(); }

    /// Pending and later reads and writes of the socket fail at once (both directions shut down).
    void operator()() const noexcept;
    /// Releases the duplicate descriptor.
    void reset() noexcept;

private:
    int fd_ = -1;
};

/// A TCP stream, or a TLS stream over one, behind one AsyncReadStream/AsyncWriteStream
/// interface. Deadlines are Beast's tcp_stream timeouts (reported as beast::error::timeout).
class tcp_or_tls_stream {
public:
    using executor_type = boost::asio::any_io_executor;

    /// A TLS stream when `tls_context` is not null, else plain TCP.
    tcp_or_tls_stream(const executor_type& ex, boost::asio::ssl::context* tls_context)
    {
        if (tls_context)
            tls_.emplace(boost::beast::tcp_stream(ex), *tls_context);
        else
            plain_.emplace(ex);
    }

    executor_type get_executor() noexcept { return tcp().get_executor(); }

    boost::beast::tcp_stream& tcp() noexcept { return tls_ ? tls_->next_layer() : *plain_; }
    boost::asio::ssl::stream<boost::beast::tcp_stream>* tls() noexcept { return tls_ ? &*tls_ : nullptr; }

    void expires_at(std::chrono::steady_clock::time_point t) { tcp().expires_at(t); }
    void expires_never() { tcp().expires_never(); }

    /// What aborts this stream's I/O from another thread (a duplicate of the connected socket).
    socket_aborter make_aborter() noexcept;

    /// Bytes nobody asked for (or an error) are waiting on the socket.
    bool has_unsolicited_bytes() noexcept
    {
        boost::system::error_code ec;
        return tcp().socket().available(ec) > 0 || ec;
    }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token)
    {
        return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
            [this](auto&& handler, const MutableBufferSequence& b) {
                if (tls_)
                    tls_->async_read_some(b, std::move(handler));
                else
                    plain_->async_read_some(b, std::move(handler));
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token)
    {
        return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
            [this](auto&& handler, const ConstBufferSequence& b) {
                if (tls_)
                    tls_->async_write_some(b, std::move(handler));
                else
                    plain_->async_write_some(b, std::move(handler));
            },
            token, buffers);
    }

private:
    std::optional<boost::beast::tcp_stream> plain_;
    std::optional<boost::asio::ssl::stream<boost::beast::tcp_stream>> tls_;
};

/// Connections over TCP (and TLS) to the endpoint of one client.
class tcp_transport {
public:
    using clock_type = std::chrono::steady_clock;
    using timer_type = boost::asio::steady_timer;
    using stream_type = tcp_or_tls_stream;
    using connection_type = basic_connection<stream_type>;
    using aborter_type = socket_aborter;

    /// Sets up the TLS context for https (the caller's, or one with the system store and the
    /// options' CA file and path). @throws std::invalid_argument when a CA file or path is unusable.
    tcp_transport(const client_options& opts, const endpoint& ep);

    std::unique_ptr<connection_type> make_connection(const boost::asio::any_io_executor& ex, std::size_t read_limit)
    {
        return std::make_unique<connection_type>(read_limit, ex, tls_.get());
    }

    /// Resolves, connects and (for https) handshakes by `deadline` and the connect timeout.
    /// Returns a plexbutler error (timeout, cancelled, connect_failed, tls_handshake_failed,
    /// certificate_verification_failed) with the detail of the failure in `msg`.
    boost::asio::awaitable<boost::system::error_code> connect(stream_type& s, clock_type::time_point deadline,
                                                              std::string& msg) const;

private:
    const client_options* opts_; // owned by the pool client, which owns this transport
    const endpoint* ep_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
};

} // namespace plexbutler::detail

#endif
