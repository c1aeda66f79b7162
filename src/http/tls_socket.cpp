#include "http/tls_socket.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <cerrno>
#include <cstdint>

#include <sys/socket.h>

namespace plexbutler::detail {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// The BIO over a socket's descriptor. OpenSSL's socket BIO writes with write(2), which raises
// SIGPIPE when the peer is gone; this one sends with MSG_NOSIGNAL, and never blocks (MSG_DONTWAIT:
// the socket's own mode is Asio's business).
int descriptor(BIO* b) noexcept { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

bool would_block(int e) noexcept { return e == EAGAIN || e == EWOULDBLOCK || e == EINTR; }

int bio_write(BIO* b, const char* data, int size)
{
    BIO_clear_retry_flags(b);
    const ssize_t n = ::send(descriptor(b), data, static_cast<std::size_t>(size), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0)
        return static_cast<int>(n);
    if (would_block(errno))
        BIO_set_retry_write(b);
    return -1;
}

int bio_read(BIO* b, char* data, int size)
{
    BIO_clear_retry_flags(b);
    const ssize_t n = ::recv(descriptor(b), data, static_cast<std::size_t>(size), MSG_DONTWAIT);
    if (n > 0)
        return static_cast<int>(n);
    if (n == 0) {
        BIO_set_flags(b, BIO_FLAGS_IN_EOF); // OpenSSL then reports an unexpected end of the stream
        return 0;
    }
    if (would_block(errno))
        BIO_set_retry_read(b);
    return -1;
}

long bio_ctrl(BIO* b, int cmd, long, void* ptr)
{
    switch (cmd) {
    case BIO_C_GET_FD: // SSL_get_fd
        if (ptr != nullptr)
            *static_cast<int*>(ptr) = descriptor(b);
        return descriptor(b);
    case BIO_CTRL_FLUSH: // nothing is buffered
        return 1;
    case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default: return 0;
    }
}

int bio_create(BIO* b)
{
    BIO_set_data(b, reinterpret_cast<void*>(std::intptr_t{-1}));
    BIO_set_init(b, 1);
    return 1;
}

BIO_METHOD* make_method() noexcept
{
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "plexbutler socket");
    if (m == nullptr)
        return nullptr;
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
}

// Made once, for the life of the process (BIOs refer to it).
const BIO_METHOD* socket_method() noexcept
{
    static BIO_METHOD* const method = make_method();
    return method;
}

error_code map_ssl_error(int ssl_error, int sys_errno) noexcept
{
    const unsigned long packed = ERR_get_error();
    ERR_clear_error();
    switch (ssl_error) {
    case SSL_ERROR_ZERO_RETURN: // the peer's close_notify
        return asio::error::eof;
    case SSL_ERROR_SYSCALL:
        if (packed == 0)
            return sys_errno != 0 ? error_code(sys_errno, boost::system::system_category())
                                  : error_code(asio::ssl::error::stream_truncated);
        break;
    case SSL_ERROR_SSL:
        if (ERR_GET_LIB(packed) == ERR_LIB_SSL && ERR_GET_REASON(packed) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
            return asio::ssl::error::stream_truncated;
        break;
    default: break;
    }
    if (packed == 0) // an OpenSSL failure that left no error
        return asio::ssl::error::unspecified_system_error;
    return error_code(static_cast<int>(packed), asio::error::get_ssl_category());
}

} // namespace

void ssl_deleter::operator()(SSL* p) const noexcept { SSL_free(p); }

void ssl_session_deleter::operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }

ssl_ptr make_client_tls(SSL_CTX* ctx, int fd) noexcept
{
    const BIO_METHOD* method = socket_method();
    if (method == nullptr)
        return nullptr;
    ssl_ptr ssl(SSL_new(ctx));
    if (!ssl)
        return nullptr;
    BIO* bio = BIO_new(method);
    if (bio == nullptr)
        return nullptr;
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
    SSL_set_bio(ssl.get(), bio, bio); // one reference, taken by the SSL for both directions
    SSL_set_connect_state(ssl.get());
    // Partial writes: a write completes with the records sent; the rest is sent by the next one.
    // Moving buffer: after a would-block the same bytes may be retried from another address.
    // Record buffers are kept while in use (no SSL_MODE_RELEASE_BUFFERS): tls_free_buffers
    // frees them when the connection idles.
    SSL_set_mode(ssl.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_clear_mode(ssl.get(), SSL_MODE_RELEASE_BUFFERS);
    SSL_set_read_ahead(ssl.get(), 1);
    return ssl;
}

bool tls_free_buffers(SSL* ssl) noexcept
{
    return SSL_free_buffers(ssl) == 1; // refused while a record (read or not yet sent) is in them
}

tls_want tls_step(SSL* ssl, tls_call call, void* data, std::size_t size, std::size_t& transferred,
                  error_code& ec) noexcept
{
    transferred = 0;
    ec = {};
    if (call != tls_call::handshake && size == 0)
        return tls_want::done;
    ERR_clear_error();
    errno = 0; // an end of stream leaves errno as it was
    int r = 0;
    switch (call) {
    case tls_call::handshake: r = SSL_do_handshake(ssl); break;
    case tls_call::read:
        r = SSL_read_ex(ssl, data, size, &transferred);
        // Records that arrived with this one (read-ahead) fill the rest of the buffer.
        while (r == 1 && transferred < size && SSL_has_pending(ssl) != 0) {
            std::size_t more = 0;
            if (SSL_read_ex(ssl, static_cast<char*>(data) + transferred, size - transferred, &more) != 1) {
                ERR_clear_error(); // the next read meets the same state and reports it
                break;
            }
            transferred += more;
        }
        break;
    case tls_call::write: r = SSL_write_ex(ssl, data, size, &transferred); break;
    }
    if (r == 1)
        return tls_want::done;
    const int sys_errno = errno;
    const int ssl_error = SSL_get_error(ssl, r);
    transferred = 0;
    if (ssl_error == SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return tls_want::read;
    }
    if (ssl_error == SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return tls_want::write;
    }
    ec = map_ssl_error(ssl_error, sys_errno);
    return tls_want::done;
}

} // namespace plexbutler::detail
