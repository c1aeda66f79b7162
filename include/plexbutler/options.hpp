#ifndef PLEXBUTLER_OPTIONS_HPP
#define PLEXBUTLER_OPTIONS_HPP

/// @file options.hpp
/// @brief Configuration of a `client` and of single calls.

#include <plexbutler/models.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace plexbutler {

/// @brief When and how failed requests are retried. Off by default (`max_attempts == 1`).
///
/// Independently of this policy, a request that fails because a pooled
/// keep-alive connection turned out closed before any response byte arrived is
/// retried once on a fresh connection (every Butler operation is safe to repeat).
struct retry_policy {
    unsigned max_attempts = 1;                                   ///< Total attempts including the first; 1 disables retries.
    std::chrono::milliseconds initial_interval{100};            ///< Backoff before the second attempt.
    std::chrono::milliseconds max_interval{5000};               ///< Upper bound of one backoff.
    double multiplier = 2.0;                                     ///< Growth of the backoff per attempt (>= 1).
    double jitter = 0.2;                                         ///< Random +/- fraction applied to each backoff, in [0, 1].
    std::chrono::milliseconds max_elapsed{30000};               ///< No new attempt starts after this much time since the first.
    bool retry_connection_errors = true;                         ///< Retry connect failures, resets, early closes and timeouts of one attempt.
    std::vector<unsigned> retry_statuses{408, 429, 502, 503, 504}; ///< HTTP statuses that are retried; `Retry-After` is honoured (capped by `max_interval`).
};

/// @brief Log levels of the optional logger.
enum class log_level { debug, info, warning, error };

/// @brief Logger callback; messages never contain the token. Called from the client's I/O threads.
using logger_fn = std::function<void(log_level, std::string_view)>;

/// @brief Configuration of a `client`. Validated once by the constructor (`std::invalid_argument` on nonsense).
struct client_options {
    /// Full server URL: `http://host:port`, `https://host:port`, `http://[::1]:32400`,
    /// optionally with a path prefix for reverse proxies (`https://example.net/plex`).
    /// When empty, the URL is built from `protocol`, `host` and `port` below.
    std::string server_url;
    std::string protocol = "http";          ///< Templated form: `http` or `https` (used when `server_url` is empty).
    std::string host = "localhost";         ///< Templated form: host name, IPv4 or IPv6 address, or `<ip-dashes>.<id>.plex.direct`.
    std::uint16_t port = 32400;             ///< Templated form: port.

    std::string token;                      ///< Sent as `X-Plex-Token` (never in the URL, never logged). May be empty.
    std::string client_identifier;          ///< `X-Plex-Client-Identifier`; empty means a stable default per machine and product.
    std::string product = "plexbutler";     ///< `X-Plex-Product`.
    std::string version;                    ///< `X-Plex-Version`; empty means this library's version.
    std::string platform;                   ///< `X-Plex-Platform`; empty means not sent.
    std::string platform_version;           ///< `X-Plex-Platform-Version`; empty means not sent.
    std::string device;                     ///< `X-Plex-Device`; empty means not sent.
    std::string model;                      ///< `X-Plex-Model`; empty means not sent.
    std::string device_vendor;              ///< `X-Plex-Device-Vendor`; empty means not sent.
    std::string device_name;                ///< `X-Plex-Device-Name`; empty means not sent.
    std::string marketplace;                ///< `X-Plex-Marketplace`; empty means not sent.

    std::size_t max_connections = 8;                     ///< Pool size (>= 1); further operations wait in FIFO order.
    std::size_t max_waiters = 65536;                     ///< Operations allowed to wait for a connection; beyond: `error::too_many_waiters`.
    std::chrono::milliseconds idle_timeout{30000};       ///< Idle keep-alive connections older than this are closed; 0 disables eviction.
    std::chrono::milliseconds connect_timeout{5000};     ///< Resolve + TCP connect + TLS handshake of one connection; 0 means only the deadline applies.
    std::chrono::milliseconds request_timeout{10000};    ///< Total deadline of one attempt: wait for a connection, connect, TLS, write, read; 0 disables.

    std::size_t max_header_bytes = 64 * 1024;   ///< Limit on the response header.
    std::size_t max_body_bytes = 1024 * 1024;   ///< Limit on the response body (also the JSON input limit).
    std::size_t max_json_depth = 32;            ///< Limit on JSON nesting.

    bool tls_verify = true;                     ///< Verify the server certificate and host name. Setting false is insecure.
    std::string ca_file;                        ///< PEM file of trusted CAs, in addition to the system store.
    std::string ca_path;                        ///< Directory of trusted CAs (hashed names), in addition to the system store.
    std::shared_ptr<boost::asio::ssl::context> ssl_context; ///< Caller-supplied TLS context; overrides `ca_file`/`ca_path` (verification settings still apply).

    retry_policy retry;                         ///< Retry policy (off by default).
    logger_fn logger;                           ///< Optional logger; empty disables logging.
};

/// @brief Per-call overrides.
struct call_options {
    std::optional<std::chrono::milliseconds> timeout; ///< Overrides `client_options::request_timeout` for this call.
    std::optional<retry_policy> retry;                ///< Overrides `client_options::retry` for this call.
};

/// @brief Pool statistics, a consistent snapshot.
struct pool_stats {
    std::size_t open = 0;               ///< Connections currently open (idle + busy + connecting).
    std::size_t idle = 0;               ///< Open connections waiting in the pool.
    std::size_t busy = 0;               ///< Connections lent to an operation (including connecting).
    std::size_t waiting = 0;            ///< Operations waiting for a connection.
    std::uint64_t connections_created = 0; ///< Connections opened since construction.
    std::uint64_t requests_served = 0;  ///< Responses fully read (any status).
    std::uint64_t requests_retried = 0; ///< Attempts repeated (stale connection or retry policy).
};

} // namespace plexbutler

#endif
