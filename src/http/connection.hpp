#ifndef PLEXBUTLER_HTTP_CONNECTION_HPP
#define PLEXBUTLER_HTTP_CONNECTION_HPP

// One pooled HTTP/1.1 connection over any stream, with its reusable buffers. Owned exclusively
// by whoever holds its pool slot, so it needs no locking.
//
// `Stream` is an AsyncReadStream and AsyncWriteStream (with Asio's per-operation cancellation)
// that also provides
//   bool has_unsolicited_bytes();  // bytes (or an error) arrived while the connection idled
//   Aborter make_aborter();        // once connected: an object whose operator()() makes the
//                                  // stream's pending and later I/O fail, callable from another
//                                  // thread while the stream lives; reset() forgets the stream
// and optionally `bool park()` / `void unpark()` (free the stream's own buffers while idle, and
// take them back). Deadlines are not the stream's: the pool aborts an exchange whose deadline
// passed. tcp_or_tls_stream in production (http/tcp_transport.hpp), an in-memory stream with a
// manual clock in tests.

#include "http/response_parser.hpp"

#include <boost/beast/core/flat_buffer.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace plexbutler::detail {

/// A connection of the pool: the stream, the read buffer, the parser storage and the request buffer.
template <class Stream>
struct basic_connection {
    /// `read_limit` (header + body limits) bounds the read buffer; `args` construct the stream.
    template <class... Args>
    explicit basic_connection(std::size_t read_limit, Args&&... args)
        : stream(std::forward<Args>(args)...), read_reserve_(std::min<std::size_t>(read_limit, 16 * 1024))
    {
        // Beast reads at most the buffer's free capacity (at least 512 bytes): without a reserve a
        // 5 KB response takes eleven recvmsg. The reserve is made by the first wake(), before the
        // first exchange (not here: a connection may be made ahead of its use); the buffer keeps
        // its capacity while the connection is in use.
        // Hard cap: Beast bounds neither a chunk header's extensions nor trailers while they are
        // incomplete, so a server sending one endless line would grow the buffer until the deadline.
        // Past the cap Beast fails with buffer_overflow (mapped to error::body_too_large).
        buffer.max_size(read_limit);
    }

    /// Idle in the pool for a while: frees the read buffer, the strings of the last response and
    /// request, and what the stream can free (parked TLS). No I/O may be pending.
    void release_buffers()
    {
        buffer.shrink_to_fit(); // nothing is left in it (leftover bytes make a connection unusable)
        sink.release();
        std::string().swap(request);
        if constexpr (requires { stream.park(); })
            stream.park();
        released = true;
    }

    /// Before an exchange: what `release_buffers` freed (or what a new connection has not allocated
    /// yet) is allocated; nothing to do on a connection in use.
    void wake()
    {
        if (!released)
            return;
        buffer.reserve(read_reserve_);
        if constexpr (requires { stream.unpark(); })
            stream.unpark();
        released = false;
    }

    Stream stream;
    boost::beast::flat_buffer buffer;
    std::optional<sink_parser> parser; // Beast parsers are single-use: re-emplaced per request, no heap
    response_sink sink;
    std::string request;      // rendered start/stop-one requests
    std::uint64_t served = 0; // responses read on this connection (> 0: reused)
    bool released = true;     // buffers not allocated: new, or release_buffers() and no wake() since

private:
    std::size_t read_reserve_;
};

} // namespace plexbutler::detail

#endif
