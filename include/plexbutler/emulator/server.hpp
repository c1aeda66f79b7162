#ifndef PLEXBUTLER_EMULATOR_SERVER_HPP
#define PLEXBUTLER_EMULATOR_SERVER_HPP

/// @file emulator/server.hpp
/// @brief The Butler emulator: an in-process HTTP/HTTPS server with Plex's Butler semantics.

#include <plexbutler/emulator/maintenance_window.hpp>
#include <plexbutler/models.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace plexbutler::emulator {

/// @brief Configuration of an emulator server.
struct server_options {
    /// Address to bind (IPv4 or IPv6 literal, or `localhost`).
    std::string listen_host = "127.0.0.1";
    /// Port; 0 picks a free port (see `server::port()`).
    std::uint16_t port = 0;
    /// When set, requests need this `X-Plex-Token` (header or query) or get 401.
    std::optional<std::string> token;
    /// Threads running the server's own `io_context`.
    unsigned threads = 1;
    /// Task catalogue; empty optional means the built-in default (~20 tasks).
    std::optional<std::vector<butler_task>> tasks;
    /// Maintenance window (default 02:00-05:00 local time).
    maintenance_window window;
    /// How long a started task runs.
    std::chrono::milliseconds task_duration{3000};
    /// Delay added before every response.
    std::chrono::milliseconds latency{0};
    /// Close each connection after this many responses; 0 = never.
    unsigned close_after = 0;
    /// Fraction of requests answered 503, in [0, 1].
    double fail_rate = 0.0;
    /// Seed of the random source (fail rate, scheduling); 0 = random.
    std::uint64_t seed = 0;
    /// PEM certificate chain; with `tls_key_file` enables HTTPS.
    std::string tls_cert_file;
    /// PEM private key.
    std::string tls_key_file;
    /// When set, HTTPS with a self-signed certificate made at start-up for this name.
    std::string tls_self_signed_name;
    /// With `tls_self_signed_name`: where to write that certificate (PEM) for clients to trust. With
    /// `tls_names` or `tls_plex_direct_hash`: where to write the certificate authority's certificate.
    std::string tls_write_ca_file;
    /// When not empty, HTTPS with a certificate made at start-up for these names (host names,
    /// wildcards such as `*.example.test`, IPv4 or IPv6 literals), issued by a certificate authority
    /// also made at start-up ("plexbutler emulator CA"): the server presents its certificate and the
    /// authority's, and `tls_write_ca_file` receives the authority's certificate, the one a client
    /// trusts. Exclusive with the certificate files and `tls_self_signed_name`. Default: none.
    std::vector<std::string> tls_names;
    /// When not empty, the server is a Plex server with this machine hash (32 lower-case hexadecimal
    /// digits): HTTPS as with `tls_names`, with `*.<hash>.plex.direct` added to them, and `url()`
    /// names it by its plex.direct name, e.g. `https://127-0-0-1.<hash>.plex.direct:PORT` (the
    /// listen address with dashes), which a plexbutler client reaches without DNS. Default: empty.
    std::string tls_plex_direct_hash;
    /// When false, logs each request to stderr (tokens redacted).
    bool quiet = true;
    /// Time allowed for a complete request head (and for each write); the connection is closed after it. Also the
    /// keep-alive idle timeout.
    std::chrono::milliseconds request_timeout{10000};
    /// Offset of "local time" from UTC for the window; empty = the system's local time zone.
    std::optional<std::chrono::minutes> utc_offset;
};

/// @brief A running emulator. Starts serving in the constructor, on its own threads.
///
/// Thread-safe: all member functions may be called from any thread.
class server {
public:
    /// @brief Binds, listens and starts serving.
    /// @throws std::runtime_error with a clear message when it cannot (address in use, bad TLS files, ...).
    explicit server(server_options opts);
    /// @brief Stops serving and joins the threads.
    ~server();

    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// @brief The bound port.
    std::uint16_t port() const noexcept;
    /// @brief The base URL, e.g. `http://127.0.0.1:41234` or `https://[::1]:41234`; with
    /// `tls_plex_direct_hash`, `https://127-0-0-1.<hash>.plex.direct:41234`.
    std::string url() const;
    /// @brief Stops accepting, closes connections gracefully and joins the threads. Idempotent.
    ///
    /// Waits up to 2 s for connections to close, then stops the remaining work. Must not be
    /// called from one of the server's own threads (it joins them).
    void stop();

    /// @brief Total requests answered since start.
    std::uint64_t requests_served() const noexcept;

    /// @brief The body `GET /butler` answers with `Accept: application/json` (constant for a catalogue).
    const std::string& json_body() const noexcept;
    /// @brief The body `GET /butler` answers by default (XML, as PMS does).
    const std::string& xml_body() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// @brief The built-in default catalogue (about 20 tasks from both OpenAPI documents).
std::vector<butler_task> default_catalogue();

} // namespace plexbutler::emulator

#endif
