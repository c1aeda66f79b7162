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
    /// Total attempts including the first; 1 disables retries.
    unsigned max_attempts = 1;
    /// Backoff before the second attempt.
    std::chrono::milliseconds initial_interval{100};
    /// Upper bound of one backoff.
    std::chrono::milliseconds max_interval{5000};
    /// Growth of the backoff per attempt (>= 1).
    double multiplier = 2.0;
    /// Random +/- fraction applied to each backoff, in [0, 1].
    double jitter = 0.2;
    /// No new attempt starts after this much time since the first.
    std::chrono::milliseconds max_elapsed{30000};
    /// Retry connect failures, resets, early closes and timeouts of one attempt.
    bool retry_connection_errors = true;
    /// HTTP statuses that are retried; `Retry-After` is honoured (capped by `max_interval`).
    std::vector<unsigned> retry_statuses{408, 429, 502, 503, 504};
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
    /// Templated form: `http` or `https` (used when `server_url` is empty).
    std::string protocol = "http";
    /// Templated form: host name, IPv4 or IPv6 address, or `<ip-dashes>.<id>.plex.direct`.
    std::string host = "localhost";
    /// Templated form: port.
    std::uint16_t port = 32400;

    /// Sent as `X-Plex-Token` (never in the URL, never logged). May be empty.
    std::string token;
    /// `X-Plex-Client-Identifier`; empty means a stable default per machine and product.
    std::string client_identifier;
    /// `X-Plex-Product`.
    std::string product = "plexbutler";
    /// `X-Plex-Version`; empty means this library's version.
    std::string version;
    /// `X-Plex-Platform`; empty means not sent.
    std::string platform;
    /// `X-Plex-Platform-Version`; empty means not sent.
    std::string platform_version;
    /// `X-Plex-Device`; empty means not sent.
    std::string device;
    /// `X-Plex-Model`; empty means not sent.
    std::string model;
    /// `X-Plex-Device-Vendor`; empty means not sent.
    std::string device_vendor;
    /// `X-Plex-Device-Name`; empty means not sent.
    std::string device_name;
    /// `X-Plex-Marketplace`; empty means not sent.
    std::string marketplace;

    /// Pool size (>= 1); further operations wait in FIFO order.
    std::size_t max_connections = 8;
    /// Operations allowed to wait for a connection; beyond: `error::too_many_waiters`.
    std::size_t max_waiters = 65536;
    /// Idle keep-alive connections older than this are closed; 0 disables eviction.
    std::chrono::milliseconds idle_timeout{30000};
    /// An idle connection unused for this long frees its read buffer and its TLS buffers (about
    /// 16 KiB, and OpenSSL's two record buffers, about 35 KiB, over TLS); they are allocated again
    /// when it is next used. A connection used back to back keeps them. 0 disables the release.
    std::chrono::milliseconds release_idle_buffers_after{1000};
    /// Resolve + TCP connect + TLS handshake of one connection; 0 means only the deadline applies.
    std::chrono::milliseconds connect_timeout{5000};
    /// Total deadline of one attempt: wait for a connection, connect, TLS, write, read; 0 disables.
    std::chrono::milliseconds request_timeout{10000};

    /// Limit on the response header.
    std::size_t max_header_bytes = 64 * 1024;
    /// Limit on the response body (also the JSON input limit).
    std::size_t max_body_bytes = 1024 * 1024;
    /// Limit on JSON nesting.
    std::size_t max_json_depth = 32;

    /// Verify the server certificate and host name. Default true. Setting false is insecure (the
    /// `pinned_public_keys` are still checked: with pins, false is the same as pins without a CA option).
    bool tls_verify = true;
    /// PEM file of trusted CAs, in addition to the system store. Default empty (the system store only).
    std::string ca_file;
    /// Directory of trusted CAs (hashed names), in addition to the system store. Default empty.
    std::string ca_path;
    /// Caller-supplied TLS context; overrides `ca_file`/`ca_path` (verification settings still apply).
    /// Default null.
    /// Without one, clients with the same `ca_file` and `ca_path` share one context, built (and the
    /// system CA store loaded) by the first of them and freed with the last.
    std::shared_ptr<boost::asio::ssl::context> ssl_context;
    /// Resume the TLS session of an earlier connection of this client when connecting again (an
    /// abbreviated handshake). Default true. Sessions are never shared between clients; a resumed
    /// session is checked against `pinned_public_keys` by the key recorded when it was verified.
    bool tls_session_resumption = true;
    /// Public-key pins in curl's `--pinnedpubkey` form, one per element: `sha256//` followed by the
    /// base64 of the SHA-256 of the server certificate's DER SubjectPublicKeyInfo (get one with
    /// `plexbutler pin`, `fetch_public_key_pin` or `public_key_pin`). Default empty: no pinning.
    ///
    /// When not empty, the server's key must match one of them, on every connection (a resumed TLS
    /// session is checked by the key verified when the session was made); a mismatch fails with
    /// `error::certificate_verification_failed` and a message naming the key found and the pins
    /// expected.
    /// - With no CA option (`ca_file`, `ca_path` and `ssl_context` all unset), a matching key is the
    ///   whole proof: the certificate may be self-signed, expired or for another name (only the
    ///   holder of the pinned private key can complete the handshake). This is curl's
    ///   `--insecure --pinnedpubkey`, the secure alternative to `tls_verify = false`.
    /// - With a CA option, the chain and the host name are verified as without pins, and the key
    ///   must match too.
    ///
    /// The constructor throws `std::invalid_argument` naming the first malformed pin, or when pins
    /// are given for an `http://` server.
    std::vector<std::string> pinned_public_keys;
    /// Connect to the address a plex.direct host name encodes without asking DNS: the host
    /// `192-168-1-10.<hash>.plex.direct` is 192.168.1.10, the way Plex names its servers (`<hash>`
    /// is 32 hexadecimal digits; IPv6 has eight dash-separated groups,
    /// `fd00-0000-0000-0000-0000-0000-0000-0010.<hash>.plex.direct`). Resolvers with DNS-rebinding
    /// protection refuse to answer these names with private addresses; plex.direct's DNS would only
    /// answer the same address. The Host header, SNI and certificate verification keep the full
    /// name, so the certificate still proves the server. On by default; false resolves such names
    /// through DNS. Names of any other form or domain are always resolved. See docs/tls.md.
    bool plex_direct_without_dns = true;
    /// Address overrides with the semantics of curl's `--resolve`: entries
    /// `HOST:PORT:ADDR[,ADDR...]`, IPv6 in brackets (`nas.example:32400:192.168.1.10`,
    /// `[::1]:443:[::1]`). When the server URL's host and port match an entry, connections go to its
    /// addresses, tried in order, without DNS; the Host header, SNI, certificate verification and
    /// the token stay with the URL's host name. Takes precedence over `plex_direct_without_dns`.
    /// Entries for other hosts or ports do nothing, but every entry must be valid
    /// (`std::invalid_argument` otherwise, also for two entries of one host and port). curl's
    /// `+HOST`, `-HOST` and `*` forms are not supported. Default: none.
    std::vector<std::string> address_overrides;

    /// Retry policy (off by default).
    retry_policy retry;
    /// Optional logger; empty disables logging.
    logger_fn logger;
};

/// @brief Per-call overrides.
struct call_options {
    /// Overrides `client_options::request_timeout` for this call.
    std::optional<std::chrono::milliseconds> timeout;
    /// Overrides `client_options::retry` for this call.
    std::optional<retry_policy> retry;
    /// When not null, a failed operation writes its diagnostics (HTTP status, Plex `errors[]`,
    /// request line; never the token) here before it completes; a successful one leaves it as it
    /// was. This is how callers of the `async_*` functions with a completion token other than
    /// `use_awaitable` (whose `void(error_code, T)` signature has no room for them) get the
    /// diagnostics. The object is the caller's: it must outlive the operation and not be read
    /// until the operation has completed. The fleet ignores it (`server_result` holds each failure).
    diagnostics* diag = nullptr;
};

/// @brief Pool statistics, a consistent snapshot.
struct pool_stats {
    /// Connections currently open (idle + busy + connecting).
    std::size_t open = 0;
    /// Open connections waiting in the pool.
    std::size_t idle = 0;
    /// Connections lent to an operation (including connecting).
    std::size_t busy = 0;
    /// Operations waiting for a connection.
    std::size_t waiting = 0;
    /// Connections opened since construction.
    std::uint64_t connections_created = 0;
    /// Responses fully read (any status).
    std::uint64_t requests_served = 0;
    /// Attempts repeated (stale connection or retry policy).
    std::uint64_t requests_retried = 0;
    /// Idle connections that have freed their buffers (`client_options::release_idle_buffers_after`).
    std::size_t idle_released = 0;
    /// TLS handshakes completed since construction.
    std::uint64_t tls_handshakes = 0;
    /// Of those, the handshakes that resumed an earlier session (`client_options::tls_session_resumption`).
    std::uint64_t tls_resumed = 0;
};

} // namespace plexbutler

#endif
