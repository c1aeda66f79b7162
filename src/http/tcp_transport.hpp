#ifndef PLEXBUTLER_HTTP_TCP_TRANSPORT_HPP
#define PLEXBUTLER_HTTP_TCP_TRANSPORT_HPP

// The production transport of the pool client: TCP or TLS over TCP, steady_clock timers.
// A transport provides clock_type, timer_type, stream_type, make_connection() and connect();
// the test transport (test/support/memory_transport.hpp) provides the same over in-memory
// streams and a manual clock.

#include "http/connection.hpp"
#include "http/public_key_pins.hpp"
#include "http/request.hpp"
#include "http/tls_socket.hpp"
#include "http/tls_verify.hpp"

#include <plexbutler/options.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace plexbutler::detail {

/// Aborts the I/O of one connection from any thread: shuts its socket down (both directions), so
/// that pending and later reads and writes fail at once. Not an owner: it names the descriptor of
/// the stream it was made from, which must stay open while the aborter is set. The pool keeps
/// that promise: it holds its aborters under its abort lock and resets one before it closes the
/// connection, and the stream never closes its socket by itself (deadlines are the pool's: the
/// one deadline of an exchange shuts the socket down through this same aborter).
class socket_aborter {
public:
    socket_aborter() = default;
    explicit socket_aborter(int fd) noexcept : fd_(fd) {}

    /// Pending and later reads and writes of the socket fail at once.
    void operator()() const noexcept;
    /// Forgets the descriptor (before the socket is closed).
    void reset() noexcept { fd_ = -1; }

private:
    int fd_ = -1;
};

/// A TCP socket, or TLS over one (http/tls_socket.hpp), behind one AsyncReadStream/AsyncWriteStream
/// interface. It has no timers of its own: the pool runs one deadline per exchange (and connect
/// runs its own), so a read or a write arms and cancels nothing. Per-operation cancellation is
/// the socket's (a TLS operation waits on the socket).
///
/// TLS holds no buffers of its own: OpenSSL reads and writes the socket, and its record buffers
/// are freed while the connection idles (`park`) and taken again by the next read or write.
/// Neither movable nor copyable (the TLS state refers to the socket's descriptor).
class tcp_or_tls_stream {
public:
    using executor_type = boost::asio::any_io_executor;
    using socket_type = boost::asio::ip::tcp::socket;

    /// TLS when `tls_context` is not null (its state made by the first `tls()`, at connect, so
    /// that a connection made ahead holds none), else plain TCP.
    tcp_or_tls_stream(const executor_type& ex, boost::asio::ssl::context* tls_context)
        : tcp_(ex), tls_context_(tls_context)
    {
    }
    tcp_or_tls_stream(const tcp_or_tls_stream&) = delete;
    tcp_or_tls_stream& operator=(const tcp_or_tls_stream&) = delete;

    executor_type get_executor() noexcept { return tcp_.get_executor(); }

    socket_type& tcp() noexcept { return tcp_; }
    /// Whether this stream speaks TLS.
    bool uses_tls() const noexcept { return tls_context_ != nullptr; }
    /// The TLS connection state over the socket (made on first use, once the socket is open), or
    /// null for plain TCP or when OpenSSL cannot allocate it.
    SSL* tls() noexcept
    {
        if (!ssl_ && tls_context_ != nullptr && tcp_.is_open())
            ssl_ = make_client_tls(tls_context_->native_handle(), tcp_.native_handle());
        return ssl_.get();
    }

    /// Opens the socket (IPv4) before the connect, which reuses its descriptor state when the
    /// address is IPv4 and otherwise reopens it (Asio keeps closed descriptors' states for reuse).
    /// For connections made ahead (`pool_tuning::prepare_first_connection`). Errors are ignored:
    /// the connect opens the socket then.
    void open_ahead() noexcept
    {
        boost::system::error_code ignored;
        tcp_.open(boost::asio::ip::tcp::v4(), ignored);
    }

    /// What aborts this stream's I/O from another thread (its connected socket's descriptor).
    socket_aborter make_aborter() noexcept;

    /// Bytes nobody asked for (or an error) are waiting on the socket or inside the TLS layer.
    bool has_unsolicited_bytes() noexcept
    {
        boost::system::error_code ec;
        return tcp_.available(ec) > 0 || ec || (ssl_ && SSL_has_pending(ssl_.get()) != 0);
    }

    /// Idle: frees OpenSSL's record buffers, keeping the connection state. Does nothing over plain
    /// TCP or while TLS bytes are buffered (they would be lost). No I/O may be pending. Returns
    /// whether the stream is parked.
    bool park() noexcept
    {
        parked_ = ssl_ && tls_free_buffers(ssl_.get());
        return parked_;
    }
    /// In use again: the next read or write takes the record buffers back.
    void unpark() noexcept { parked_ = false; }
    bool parked() const noexcept { return parked_; }

    /// TLS: the session right after the handshake, held until the first response is read (the
    /// transport then tells a session from a later ticket by its address).
    ssl_session_ptr handshake_session;
    /// TLS: the server key this connection verified (the certificate's in a full handshake, the one
    /// recorded with the session when it resumed one), held until the first response is read (it
    /// goes with a TLS 1.3 ticket into the transport's session slot).
    std::unique_ptr<const spki_sha256> peer_key;

    /// TLS: verifies the server's certificate with `callback` until `end_verification()` (or
    /// until the stream is destroyed: the stream holds the callback).
    void verify_with(const tls_verify_callback& callback)
    {
        verify_callback_ = std::make_unique<tls_verify_callback>(callback);
        install_tls_verify_callback(ssl_.get(), verify_callback_.get());
    }
    /// TLS, after the handshake: the callback is freed; a later verification fails.
    void end_verification() noexcept
    {
        if (ssl_)
            install_tls_verify_callback(ssl_.get(), nullptr);
        verify_callback_.reset();
    }

    /// TLS: the client handshake (`tls()` made first). `void(error_code, std::size_t)`.
    template <class Token>
    auto async_handshake(Token&& token)
    {
        return async_tls(tcp_, ssl_.get(), tls_call::handshake, nullptr, 0, std::forward<Token>(token));
    }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token)
    {
        return boost::asio::async_initiate<ReadToken, void(boost::system::error_code, std::size_t)>(
            [this](auto&& handler, const MutableBufferSequence& b) {
                if (tls_context_ == nullptr) {
                    tcp_.async_read_some(b, std::move(handler));
                    return;
                }
                const auto first = first_buffer<boost::asio::mutable_buffer>(b);
                async_tls(tcp_, ssl_.get(), tls_call::read, first.data(), first.size(), std::move(handler));
            },
            token, buffers);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token)
    {
        return boost::asio::async_initiate<WriteToken, void(boost::system::error_code, std::size_t)>(
            [this](auto&& handler, const ConstBufferSequence& b) {
                if (tls_context_ == nullptr) {
                    tcp_.async_write_some(b, std::move(handler));
                    return;
                }
                const auto first = first_buffer<boost::asio::const_buffer>(b);
                async_tls(tcp_, ssl_.get(), tls_call::write, const_cast<void*>(first.data()), first.size(),
                          std::move(handler));
            },
            token, buffers);
    }

private:
    // The first non-empty buffer of a sequence (an empty one when there is none).
    template <class Buffer, class Sequence>
    static Buffer first_buffer(const Sequence& buffers)
    {
        for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers);
             ++it) {
            Buffer b(*it);
            if (b.size() != 0)
                return b;
        }
        return Buffer();
    }

    socket_type tcp_;
    boost::asio::ssl::context* tls_context_; // null: plain TCP
    ssl_ptr ssl_;                            // the TLS connection state; null for plain TCP and before connect
    std::unique_ptr<tls_verify_callback> verify_callback_; // during the handshake
    bool parked_ = false;
};

/// Connections over TCP (and TLS) to the endpoint of one client.
///
/// TLS sessions are resumed: the last session of a connection to this endpoint is offered by
/// the next handshake. It is kept once a response has been read (TLS 1.3 session tickets arrive
/// after the handshake, with the first records the server sends), and a TLS 1.3 session is
/// offered once only (RFC 8446 §C.4: a ticket is not reused). Sessions are this transport's
/// alone: never shared with another client, so they always belong to this host name.
///
/// Certificates are verified by `tls_verify_callback` as `client_options` ask (chain, host name,
/// public-key pins). A resumed handshake sends no certificate: the key verified when a session was
/// made is kept with it in the slot, and every handshake, full or resumed, is checked against the
/// pins after it completes (`check_pins_after_handshake`).
class tcp_transport {
public:
    using clock_type = std::chrono::steady_clock;
    using timer_type = boost::asio::steady_timer;
    using stream_type = tcp_or_tls_stream;
    using connection_type = basic_connection<stream_type>;
    using aborter_type = socket_aborter;

    /// Takes the TLS context for https (the caller's, or the one shared by the clients of the
    /// same CA file and path) and parses the pins. @throws std::invalid_argument when a CA file or
    /// path is unusable, a pin is malformed, or pins are given for an http:// server.
    tcp_transport(const client_options& opts, const endpoint& ep);

    std::unique_ptr<connection_type> make_connection(const boost::asio::any_io_executor& ex, std::size_t read_limit)
    {
        return std::make_unique<connection_type>(read_limit, ex, tls_.get());
    }

    /// Resolves, connects and (for https) handshakes by `deadline` and the connect timeout.
    /// Returns a plexbutler error (timeout, cancelled, connect_failed, tls_handshake_failed,
    /// certificate_verification_failed) with the detail of the failure in `msg`: one line naming
    /// the cause (docs/tls.md, "TLS errors"). On success `s.peer_key` is the server's verified key.
    boost::asio::awaitable<boost::system::error_code> connect(stream_type& s, clock_type::time_point deadline,
                                                              std::string& msg);

    /// A response was read on `s` for the first time: keeps its TLS session for the next connection.
    void first_response_read(stream_type& s);

    /// TLS handshakes completed, and how many of them resumed a session.
    std::uint64_t tls_handshakes() const noexcept { return handshakes_.load(std::memory_order_relaxed); }
    std::uint64_t tls_resumed() const noexcept { return resumed_.load(std::memory_order_relaxed); }

private:
    /// A session to resume and the server key verified when it was made.
    struct offered_session {
        ssl_session_ptr session;
        std::optional<spki_sha256> key;
    };
    void keep_session(SSL_SESSION* session, const spki_sha256* key);
    offered_session session_to_offer();

    const client_options* opts_; // owned by the pool client, which owns this transport
    const endpoint* ep_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    public_key_pins pins_;
    tls_verify_policy verify_policy_; // refers to pins_
    std::mutex session_mu_;           // connections of one pool connect on any thread
    ssl_session_ptr session_;
    std::optional<spki_sha256> session_key_; // the server key verified when session_ was made
    std::atomic<std::uint64_t> handshakes_{0}, resumed_{0};
};

} // namespace plexbutler::detail

#endif
