#ifndef PLEXBUTLER_EMULATOR_SESSION_HPP
#define PLEXBUTLER_EMULATOR_SESSION_HPP

// One accepted connection: TLS handshake, read a request head, ask the router, write the
// answer (after the configured latency), keep alive or close gracefully; plus the registry
// the server uses to close every live connection when it stops.

#include "emulator/router.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
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

/// What every session of one emulated server shares; outlives them all. Its fault knobs may be
/// changed at any time from any thread: each request reads them once.
struct session_host {
    router& routes;
    session_registry& sessions;
    const std::atomic<bool>& stopping;                ///< Set when the server stops: answer, then close.
    std::chrono::milliseconds request_timeout{10000}; ///< For a request head, each write, and keep-alive idle time.
    bool quiet = true;                                ///< When false, log each request to stderr.
    std::atomic<std::int64_t> latency_ms{0};          ///< Delay before each Butler response.
    std::atomic<unsigned> close_after{0};             ///< Responses per connection; 0 = unlimited.
    std::atomic<bool> down{false};                    ///< New connections are refused or reset.
    std::string log_label;                            ///< Before each log line (a fleet's server id); may be empty.

    std::chrono::milliseconds latency() const noexcept
    {
        return std::chrono::milliseconds{latency_ms.load(std::memory_order_relaxed)};
    }
};

/// A certificate and key presented instead of the TLS context's own (one shared context serves
/// servers whose certificates differ). The pointers are owned elsewhere and outlive the sessions.
struct tls_identity {
    X509* certificate = nullptr;
    EVP_PKEY* key = nullptr;
};

/// Starts serving `socket` on its own executor; over TLS when `tls` is not null, presenting
/// `identity` when it is not null either.
void start_session(session_host& host, boost::asio::ip::tcp::socket socket, boost::asio::ssl::context* tls,
                   const tls_identity* identity = nullptr);

} // namespace plexbutler::emulator::detail

#endif
