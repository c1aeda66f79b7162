#ifndef PLEXBUTLER_EMULATOR_SESSION_HPP
#define PLEXBUTLER_EMULATOR_SESSION_HPP

// One accepted connection: TLS handshake, read a request head, ask the router, write the
// answer (after the configured latency), keep alive or close gracefully; plus the registry
// the server uses to close every live connection when it stops.

#include "emulator/router.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace plexbutler::emulator::detail {

/// A live connection, as the registry sees it.
class session_base {
public:
    virtual ~session_base() = default;
    /// Closes the connection from any thread (posted to the connection's executor).
    virtual void close_from_server() = 0;
};

/// The live connections. Thread-safe.
class session_registry {
public:
    void add(session_base* s, std::weak_ptr<session_base> w);
    void remove(session_base* s);
    /// Asks every live connection to close; returns at once.
    void close_all();
    /// Connections not yet destroyed.
    int live() const noexcept { return live_.load(); }

private:
    std::mutex mutex_;
    std::unordered_map<session_base*, std::weak_ptr<session_base>> sessions_;
    std::atomic<int> live_{0};
};

/// Per-connection limits, from `server_options`.
struct session_settings {
    std::chrono::milliseconds request_timeout{10000}; ///< For a request head, each write, and keep-alive idle time.
    std::chrono::milliseconds latency{0};             ///< Delay before each Butler response.
    unsigned close_after = 0;                         ///< Responses per connection; 0 = unlimited.
    bool quiet = true;                                ///< When false, log each request to stderr.
};

/// What every session of a server shares; outlives them all.
struct session_host {
    router& routes;
    session_registry& sessions;
    const std::atomic<bool>& stopping; ///< Set when the server stops: answer, then close.
    session_settings settings;
};

/// Starts serving `socket` on its own executor; over TLS when `tls` is not null.
void start_session(session_host& host, boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls);

} // namespace plexbutler::emulator::detail

#endif
