#ifndef PLEXBUTLER_SANSIO_CLASSIFY_HPP
#define PLEXBUTLER_SANSIO_CLASSIFY_HPP

// I/O-free classification of HTTP statuses and transport errors.

#include <plexbutler/error.hpp>
#include <plexbutler/response.hpp>

#include <boost/system/error_code.hpp>

#include <string>
#include <string_view>

namespace plexbutler::detail {

/// The five Butler operations.
enum class operation_kind { list_tasks, start_all, stop_all, start_task, stop_task };

/// What a status means for an operation: a success outcome, or an error.
struct status_class {
    bool success = false;                          ///< True when the status is a normal result.
    task_outcome outcome = task_outcome::accepted; ///< Outcome of a start/stop (meaningful when `success`).
    error err = error::unexpected_status;          ///< Error (meaningful when `!success`).
};

/// How many interim (1xx) responses may precede the final one: RFC 9110 §15.2 allows any
/// number, but a server sending them without end must not hold the operation until its deadline.
inline constexpr unsigned max_interim_responses = 8;

/// What the client does with a response it has just read (RFC 9110 §15.2).
enum class interim_action {
    final_response,      ///< 2xx-5xx: interpret it.
    skip,                ///< 100, 102, 103 or an unknown 1xx: drop it and read the next response.
    switching_protocols, ///< 101: the client never asks for an upgrade, so the connection is lost.
    too_many,            ///< One interim response more than `max_interim_responses`.
};

/// Classifies a response of status `status`; `interim_seen` interim responses preceded it.
interim_action classify_interim(unsigned status, unsigned interim_seen) noexcept;

/// Maps `status` to an outcome or an error for `op` (see the client documentation).
status_class classify_status(operation_kind op, unsigned status) noexcept;

/// True when the media type of `content_type` is `application/json` (parameters and case ignored).
bool is_json_content_type(std::string_view content_type) noexcept;

/// True when `content_encoding` is absent-equivalent (empty or `identity`, case-insensitive).
bool is_identity_encoding(std::string_view content_encoding) noexcept;

/// The `Location` value without its query string and fragment (they may carry tokens).
std::string location_without_query(std::string_view location);

/// The message of a 3xx failure: `HTTP 302 redirect to https://x/y not followed`.
std::string redirect_message(unsigned status, std::string_view location);

/// Maps a Beast/Asio/SSL error of a read or write to a plexbutler error.
/// `operation_aborted` maps to `error::cancelled`, `beast::error::timeout` to `error::timeout`;
/// a plexbutler error (the driver's own verdict on the exchange) maps to itself.
error map_transport_error(const boost::system::error_code& ec) noexcept;

/// True for errors a stale keep-alive connection produces before any response byte
/// (EOF, reset, broken pipe, aborted by peer).
bool is_stale_connection_error(const boost::system::error_code& ec) noexcept;

/// The first `max` bytes of `text`, with bytes outside printable ASCII escaped as `\xNN`.
std::string printable(std::string_view text, std::size_t max = 200);

} // namespace plexbutler::detail

#endif
