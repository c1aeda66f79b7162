#ifndef PLEXBUTLER_HTTP_TLS_SOCKET_HPP
#define PLEXBUTLER_HTTP_TLS_SOCKET_HPP

// TLS over a connected TCP socket, with OpenSSL reading and writing the socket's descriptor itself
// (through a BIO over the descriptor, non-blocking) and the reactor only waiting for readiness.
//
// Why not Asio's ssl::stream: it runs OpenSSL over a BIO pair, so each stream owns two 17 KiB
// record buffers of its own plus the pair's two 17 KiB halves, and every record is copied twice
// on its way. An idle pooled connection could give that memory back only by destroying the stream,
// and the next request then allocated (and zeroed) it again: four 17 KiB allocations per request
// in a fleet. Here the only buffers are OpenSSL's record buffers: `tls_free_buffers` gives them
// back while a connection idles, and OpenSSL takes them again on the next read or write.

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>

namespace plexbutler::detail {

/// Owns an `SSL*` reference (SSL_free).
struct ssl_deleter {
    void operator()(SSL* p) const noexcept;
};
/// Owns an `SSL_SESSION*` reference (SSL_SESSION_free).
struct ssl_session_deleter {
    void operator()(SSL_SESSION* p) const noexcept;
};
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;
using ssl_session_ptr = std::unique_ptr<SSL_SESSION, ssl_session_deleter>;

/// A client TLS connection over the connected socket `fd`, made from `ctx`: OpenSSL reads and
/// writes the descriptor itself, without blocking and without SIGPIPE (send with MSG_NOSIGNAL).
/// Partial writes are on, and read-ahead (one recv takes every record that arrived). Null when
/// OpenSSL cannot allocate it.
ssl_ptr make_client_tls(SSL_CTX* ctx, int fd) noexcept;

/// Idle: frees OpenSSL's record buffers of `ssl` (taken again by the next read or write). Does
/// nothing, and returns false, while bytes are inside them (they would be lost).
bool tls_free_buffers(SSL* ssl) noexcept;

/// The OpenSSL call of one step of a TLS operation.
enum class tls_call { handshake, read, write };

/// What a step needs before the operation can go on: nothing (it is complete: `ec` tells how),
/// or the socket readable, or writable.
enum class tls_want { done, read, write };

/// One step: the OpenSSL call (SSL_do_handshake, SSL_read_ex or SSL_write_ex) with the buffer
/// `data`/`size`. A read goes on while records are buffered and the buffer has room. Errors are
/// Asio's: `asio::error::eof` after a close_notify, `ssl::error::stream_truncated` when the
/// connection ended without one, the system error of a failed send or recv, and OpenSSL's packed
/// error in Asio's ssl category otherwise (what Asio's ssl::stream reports for each).
tls_want tls_step(SSL* ssl, tls_call call, void* data, std::size_t size, std::size_t& transferred,
                  boost::system::error_code& ec) noexcept;

/// The composed operation of `async_tls`: steps, waiting for the socket between them.
class tls_op {
public:
    tls_op(boost::asio::ip::tcp::socket& socket, SSL* ssl, tls_call call, void* data, std::size_t size) noexcept
        : socket_(&socket), ssl_(ssl), data_(data), size_(size), call_(call)
    {
    }

    /// Started: a read with nothing buffered waits for the socket first (the response has not
    /// arrived yet when a request was just written); a step that completes at once is posted (a
    /// handler is never called from its initiating function).
    template <class Self>
    void operator()(Self& self)
    {
        if (ssl_ == nullptr) { // no TLS state: the connect did not make it
            complete_later(self, boost::asio::error::not_connected);
            return;
        }
        if (call_ == tls_call::read && size_ != 0 && SSL_has_pending(ssl_) == 0) {
            wait(self, tls_want::read);
            return;
        }
        if (const tls_want want = tls_step(ssl_, call_, data_, size_, transferred_, ec_); want != tls_want::done) {
            wait(self, want);
            return;
        }
        complete_later(self, ec_);
    }

    /// The socket is ready (or the wait failed: cancelled, or the socket closed), or the posted
    /// completion runs.
    template <class Self>
    void operator()(Self& self, boost::system::error_code wait_ec)
    {
        if (posted_) {
            self.complete(ec_, transferred_);
            return;
        }
        if (wait_ec) {
            self.complete(wait_ec, 0);
            return;
        }
        if (const tls_want want = tls_step(ssl_, call_, data_, size_, transferred_, ec_); want != tls_want::done) {
            wait(self, want);
            return;
        }
        self.complete(ec_, transferred_);
    }

private:
    template <class Self>
    void complete_later(Self& self, boost::system::error_code ec)
    {
        ec_ = ec;
        posted_ = true;
        boost::asio::post(socket_->get_executor(), boost::asio::append(std::move(self), boost::system::error_code()));
    }

    template <class Self>
    void wait(Self& self, tls_want want)
    {
        socket_->async_wait(want == tls_want::read ? boost::asio::socket_base::wait_read
                                                   : boost::asio::socket_base::wait_write,
                            std::move(self));
    }

    boost::asio::ip::tcp::socket* socket_;
    SSL* ssl_;
    void* data_;
    std::size_t size_;
    std::size_t transferred_ = 0;
    boost::system::error_code ec_;
    tls_call call_;
    bool posted_ = false;
};

/// Runs `call` on `ssl` (over `socket`'s descriptor) to completion: `void(error_code, std::size_t)`.
/// At most one read and one write at a time, never from two threads at once (OpenSSL's rule; a
/// pooled connection does one exchange step at a time). Per-operation cancellation is the socket
/// wait's (terminal); after a cancelled or failed operation the connection is not reused. Reads and writes take the first
/// non-empty buffer of the sequence, as Asio's ssl::stream does.
template <class Token>
auto async_tls(boost::asio::ip::tcp::socket& socket, SSL* ssl, tls_call call, void* data, std::size_t size,
               Token&& token)
{
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        tls_op(socket, ssl, call, data, size), token, socket);
}

} // namespace plexbutler::detail

#endif
