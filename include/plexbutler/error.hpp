#ifndef PLEXBUTLER_ERROR_HPP
#define PLEXBUTLER_ERROR_HPP

/// @file error.hpp
/// @brief The error category, the diagnostics record and the exception type of plexbutler.

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace plexbutler {

/// @brief Every failure kind this library reports.
///
/// Values are stable; zero is never used (a default-constructed
/// `boost::system::error_code` means success).
///
/// TLS failures carry their cause in `diagnostics::server_message`, one line (docs/tls.md, "TLS errors"):
/// - `certificate_verification_failed`: the server did not prove it is the server asked for. Its
///   certificate chain, its host name or its public key (`client_options::pinned_public_keys`) did
///   not verify: `host name mismatch: the certificate is for a.example, b.example, not c.example`
///   (or `IP address mismatch`), `certificate expired: "CN=..." was valid until 2026-11-29 07:49:37 UTC`,
///   `certificate not yet valid: ...`, `untrusted certificate: "CN=..." is self-signed ...`,
///   `untrusted issuer: ...`, `missing intermediate or unknown CA: ...`, `public key pin mismatch:
///   the server's key is sha256//..., expected sha256//...`. A pin mismatch has no code of its own:
///   like the other causes it means "not the server you asked for", is never retried, and is told
///   apart by its message.
/// - `tls_handshake_failed`: `protocol version: ...` (the server offers nothing newer than TLS 1.1),
///   `the server did not answer with TLS ...` (a plain HTTP server), else OpenSSL's reason.
/// - `timeout`: a handshake the server never answers says `the TLS handshake did not complete`.
enum class error {
    connect_failed = 1,              ///< Name resolution or TCP connect failed.
    tls_handshake_failed,            ///< The TLS handshake failed for a reason other than verification.
    certificate_verification_failed, ///< The certificate chain, host name or public key did not verify.
    timeout,                         ///< The connect timeout or the per-request deadline expired.
    connection_closed,               ///< The server closed or reset the connection before a complete response.
    malformed_http,                  ///< The response is not valid HTTP/1.x (status line, headers, chunking).
    header_too_large,                ///< The response header exceeded `client_options::max_header_bytes`.
    body_too_large,                  ///< The response body exceeded `client_options::max_body_bytes`.
    unsupported_content_encoding,    ///< The response used a `Content-Encoding` the client did not ask for.
    unexpected_content_type,         ///< The response body is not of a content type the operation accepts.
    json_decode_failed,              ///< The body is not valid JSON, exceeds the JSON limits, or has the wrong shape.
    invalid_task_name,               ///< A task name is not one safe URL path segment.
    invalid_header_value,            ///< A token or header value contains CR, LF or NUL.
    invalid_server_url,              ///< The configured server address cannot be used.
    unauthorized,                    ///< HTTP 401 (or 403): the token is missing, wrong or lacks rights.
    not_found,                       ///< HTTP 404 where it is not a normal outcome (unknown task on start, wrong path).
    bad_request,                     ///< HTTP 400.
    server_error,                    ///< HTTP 5xx.
    unexpected_status,               ///< Any other status the operation does not document.
    redirect_not_followed,           ///< HTTP 3xx: redirects are never followed.
    cancelled,                       ///< The operation was cancelled (cancellation slot or client shutdown).
    too_many_waiters,                ///< The pool's wait queue is full.
    client_shut_down,                ///< The client was shut down before the operation started.
    unknown_server,                  ///< A fleet call named a server id that is not in the fleet.
    invalid_options, ///< `client::create`: the client options are invalid (other than URL and header values).
};

/// @brief The `boost::system` category of plexbutler errors (name `"plexbutler"`).
const boost::system::error_category& butler_category() noexcept;

/// @brief Makes an `error_code` from a plexbutler error (found by ADL).
inline boost::system::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), butler_category()}; }

/// @brief One entry of a Plex error body: `{"errors":[{"code":1001,"message":"...","status":401}]}`.
struct plex_error {
    /// Plex error code (e.g. 1001), if present.
    std::optional<std::int64_t> code;
    /// Human-readable message, if present.
    std::optional<std::string> message;
    /// HTTP status echoed by the server, if present.
    std::optional<std::int64_t> status;

    /// @brief Field-wise equality.
    friend bool operator==(const plex_error&, const plex_error&) = default;
};

/// @brief A decoded Plex error body.
struct plex_error_list {
    /// The entries of `errors[]`, in order.
    std::vector<plex_error> errors;

    /// @brief Equal when both lists hold equal entries in the same order.
    friend bool operator==(const plex_error_list&, const plex_error_list&) = default;
};

/// @brief What is known about a failure beyond its error code.
///
/// Never contains the token: the request line carries no query string and the
/// messages are redacted before they are stored.
struct diagnostics {
    /// HTTP status of the response, 0 when none was read.
    unsigned http_status = 0;
    /// Plex `errors[]` entries from the response body, if any.
    std::vector<plex_error> plex_errors;
    /// Short detail: a decode path, a peer message, a status reason (printable ASCII, bounded).
    std::string server_message;
    /// e.g. `POST /butler/BackupDatabase` (never contains the token).
    std::string request_line;
    /// The origin the request went to, e.g. `127.0.0.1:32400`.
    std::string server;

    /// @brief A one-line human description of `ec` with these diagnostics.
    ///
    /// Format: `<ec.message()>[ <server_message>][ (HTTP <status>)][: <plex message>[ (code <n>)]][ [<request_line>]]`.
    /// Control and non-ASCII bytes are escaped as `\xNN`; the result is at most 512 bytes
    /// (longer descriptions end in `...`).
    std::string describe(boost::system::error_code ec) const;
};

/// @brief An error code with its diagnostics: the error type of the non-throwing API.
struct failure {
    /// What went wrong.
    boost::system::error_code code;
    /// Details of what went wrong.
    diagnostics diag;

    /// @brief Same as `diag.describe(code)`.
    std::string message() const { return diag.describe(code); }
};

/// @brief The exception thrown by the throwing API.
///
/// Derived from `boost::system::system_error`; `code()` is the error code and
/// `what()` is a one-line description that never contains the token.
class butler_error : public boost::system::system_error {
public:
    /// @brief Builds the exception from a code and its diagnostics.
    butler_error(boost::system::error_code ec, diagnostics diag);
    /// @brief Builds the exception from a `failure`.
    explicit butler_error(failure f);

    /// @brief The diagnostics of the failure.
    const diagnostics& diag() const noexcept { return diag_; }

    /// @brief `diag().describe(code())`: one printable line, never the token.
    const char* what() const noexcept override;

private:
    diagnostics diag_;
    std::string what_;
};

/// @name Printing
/// `operator<<` writes one line of text (no newline); the definitions live in the library, so
/// this header pulls in only `<iosfwd>`. Nothing printed ever contains the token.
/// @{

/// @brief Prints the error's message, e.g. `unauthorized`.
/// @param os the stream. @param e the error. @return `os`.
std::ostream& operator<<(std::ostream& os, error e);
/// @brief Prints the entry as JSON, e.g. `{"code":1001,"message":"User could not be authenticated","status":401}`.
/// @param os the stream. @param e the entry. @return `os`.
std::ostream& operator<<(std::ostream& os, const plex_error& e);
/// @brief Prints the body as JSON, `{"errors":[...]}`.
/// @param os the stream. @param l the list. @return `os`.
std::ostream& operator<<(std::ostream& os, const plex_error_list& l);
/// @brief Prints `f.message()`, e.g. `unauthorized (HTTP 401): User could not be authenticated (code 1001) [GET /butler]`.
/// @param os the stream. @param f the failure. @return `os`.
std::ostream& operator<<(std::ostream& os, const failure& f);
/// @}

/// @brief Throws `butler_error(f)`; makes `boost::system::result<T, failure>::value()` throw it.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

/// @brief Secrets at least this long are redacted wherever they occur in a text; shorter ones only
/// where they stand as a whole value (see `redact`). The CLI refuses shorter tokens.
inline constexpr std::size_t redact_anywhere_length = 8;

/// @brief `text` with each occurrence of `secret` replaced by `<redacted>`, without garbling the rest.
///
/// The rule, so that a secret never leaks and a short one never mangles a message:
/// - A secret of `redact_anywhere_length` (8) or more characters is redacted wherever it occurs,
///   also inside a longer word: a real Plex token (about 20 characters) is never printed.
/// - A shorter secret is redacted only where it stands as a whole value: neither neighbour is a
///   token character (ASCII letter, digit, `-`, `.`, `_`, `~`). A one-character token `1` turns
///   `token 1` into `token <redacted>` but leaves `127.0.0.1` and `connect` alone.
/// - Overlapping or adjacent occurrences become one `<redacted>`: no piece of the secret is left.
/// - An occurrence lying inside a `<redacted>` already in `text` is not one: redacting twice
///   changes nothing, and a secret such as `dac` or `redacted` does not mangle the marker.
/// - A secret equal to a common word (`connection`) is redacted where that word appears: the
///   function cannot tell the word from the secret.
///
/// The empty secret changes nothing.
std::string redact(std::string text, std::string_view secret);

} // namespace plexbutler

namespace boost::system {
/// @brief Lets `plexbutler::error` convert implicitly to `error_code`.
template <>
struct is_error_code_enum<plexbutler::error> : std::true_type {
};
} // namespace boost::system

#endif
