#ifndef PLEXBUTLER_TEST_SCRIPTED_SERVER_HPP
#define PLEXBUTLER_TEST_SCRIPTED_SERVER_HPP

/// @file scripted_server.hpp
/// @brief A scriptable in-process HTTP test server for client tests: every
/// accepted connection plays a script of exact bytes, delays, closes and resets,
/// and every request the client sent is recorded byte for byte.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace plexbutler::test {

/// @brief One step of a connection script.
struct script_step {
    /// @brief What the step does.
    enum class kind {
        read_request, ///< Read one HTTP/1.x request (head + Content-Length body) and record it; end the script on EOF.
        send,         ///< Write `bytes` at once.
        drip,         ///< Write `bytes` in pieces of `chunk` bytes, sleeping `delay` before each.
        pause,        ///< Sleep `delay`.
        close,        ///< Graceful close (FIN).
        reset,        ///< Abortive close: SO_LINGER 0, so the peer sees a TCP reset.
        hang,         ///< Read and discard until the peer closes (or the server stops); never answer.
        repeat,       ///< Restart the script from its first step (keep-alive serving).
    };
    kind what = kind::send;             ///< The action.
    std::string bytes;                  ///< Data for `send` and `drip`.
    std::chrono::milliseconds delay{0}; ///< Delay for `drip` and `pause`.
    std::size_t chunk = 1;              ///< Piece size for `drip`.
};

/// @brief The script one connection plays, built fluently:
/// `script{}.read_request().send(http_response(200, "{}")).repeat()`.
class script {
public:
    /// @brief Read (and record) one request.
    script& read_request();
    /// @brief Write exact bytes.
    script& send(std::string bytes);
    /// @brief `read_request()` then `send(bytes)`.
    script& respond(std::string bytes) { return read_request().send(std::move(bytes)); }
    /// @brief Write `bytes` in `chunk`-byte pieces with `interval` before each piece.
    script& drip(std::string bytes, std::chrono::milliseconds interval, std::size_t chunk = 1);
    /// @brief Sleep.
    script& pause(std::chrono::milliseconds d);
    /// @brief Graceful close.
    script& close();
    /// @brief TCP reset (SO_LINGER 0 then close).
    script& reset();
    /// @brief Keep the connection open without answering until the peer closes.
    script& hang();
    /// @brief Loop back to the first step.
    script& repeat();
    /// @brief The steps, in order.
    const std::vector<script_step>& steps() const noexcept { return steps_; }

private:
    std::vector<script_step> steps_;
};

/// @brief Builds response bytes: status line, `Content-Type` (omitted when empty),
/// `Content-Length`, `extra_headers` (each ending in CRLF), blank line, body.
std::string http_response(unsigned status, std::string_view body = {},
                          std::string_view content_type = "application/json", std::string_view extra_headers = {},
                          std::string_view reason = {});

/// @brief A test server on a loopback address (ephemeral port) running on its own thread.
///
/// Accepted connections take scripts from a FIFO queue (`push`); when it is
/// empty they play the default script (`set_default`; initially: close at once).
/// Thread-safe: the test thread may push scripts and read recordings while the
/// server runs.
class scripted_server {
public:
    /// @brief Binds `address`:0 (an IPv4 or IPv6 literal, default 127.0.0.1) and starts serving.
    /// @throws boost::system::system_error when the address cannot be bound (e.g. no IPv6 loopback).
    explicit scripted_server(std::string_view address = "127.0.0.1");
    /// @brief Stops the server and joins its thread.
    ~scripted_server();
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    /// @brief The next accepted connection plays `s`.
    void push(script s);
    /// @brief Connections play `s` when no pushed script is left.
    void set_default(script s);
    /// @brief The bound port.
    std::uint16_t port() const noexcept { return port_; }
    /// @brief `http://127.0.0.1:<port>` (IPv6 in brackets: `http://[::1]:<port>`).
    std::string url() const;
    /// @brief Every request read so far (raw bytes), in arrival order.
    std::vector<std::string> requests() const;
    /// @brief Number of connections accepted so far.
    std::size_t connections() const;
    /// @brief Waits until at least `n` requests were recorded; false on timeout.
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
    /// @brief Stops accepting and closes every connection (idempotent).
    void stop();

    struct impl; ///< Implementation detail.

private:
    std::shared_ptr<impl> impl_;
    std::uint16_t port_ = 0;
    std::string host_; // as it appears in a URL
    std::thread thread_;
};

} // namespace plexbutler::test

#endif
