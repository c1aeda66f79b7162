#ifndef PLEXBUTLER_RESPONSE_HPP
#define PLEXBUTLER_RESPONSE_HPP

/// @file response.hpp
/// @brief What a Butler operation returns: status, content type, raw head and typed content.

#include <plexbutler/models.hpp>

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

namespace plexbutler {

/// @brief The raw head of an HTTP response: status line and header fields as received.
struct raw_response {
    unsigned version = 11; ///< HTTP version, 10 or 11.
    unsigned status = 0;   ///< Status code.
    std::string reason;    ///< Reason phrase.
    std::string fields;    ///< Header fields, one `Name: value\r\n` line each, in received order.

    /// @brief The status line, e.g. `HTTP/1.1 200 OK`.
    std::string status_line() const;
    /// @brief The value of the first header field named `name` (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const noexcept;
};

/// @brief The outcome of a start or stop operation, as the caller switches on it.
enum class task_outcome {
    started,         ///< 200 on start (the task started or was scheduled); 200 on start-all.
    already_running, ///< 202 on start: the task was already running.
    stopped,         ///< 200 on stop (a running task stopped or a scheduled one unscheduled); 200 on stop-all.
    not_running,     ///< 404 on stop of one task: no such task was running or scheduled.
    accepted,        ///< Any other 2xx status (see `response::status`).
};

/// @brief A printable name of an outcome (`"started"`, `"already running"`, ...).
std::string_view to_string(task_outcome o) noexcept;

/// @brief A successful response with its typed content.
template <class Content>
struct response {
    unsigned status = 0;      ///< HTTP status code.
    std::string content_type; ///< `Content-Type` of the response (empty when absent).
    raw_response raw;         ///< Status line and header fields.
    Content content{};        ///< The typed content.
};

/// @brief Response of `get_butler_tasks`.
using tasks_response = response<butler_task_list>;
/// @brief Response of `start_task`, `stop_task`, `start_all_tasks`, `stop_all_tasks`.
using task_response = response<task_outcome>;

/// @brief Prints `to_string(o)`, e.g. `already running`.
/// @param os the stream. @param o the outcome. @return `os`.
std::ostream& operator<<(std::ostream& os, task_outcome o);
/// @brief Prints the status line and the header fields, one per line (`\n`), bytes outside
/// printable ASCII escaped as `\xNN`.
/// @param os the stream. @param r the response head. @return `os`.
std::ostream& operator<<(std::ostream& os, const raw_response& r);
/// @brief Prints `HTTP <status>: <content>`, the content as its own `operator<<` prints it.
/// @param os the stream. @param r the response. @return `os`.
std::ostream& operator<<(std::ostream& os, const tasks_response& r);
/// @brief Prints `HTTP <status>: <outcome>`, e.g. `HTTP 202: already running`.
/// @param os the stream. @param r the response. @return `os`.
std::ostream& operator<<(std::ostream& os, const task_response& r);

} // namespace plexbutler

#endif
