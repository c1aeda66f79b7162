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

namespace plexbutler::detail {

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
