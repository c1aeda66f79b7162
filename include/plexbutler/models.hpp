#ifndef PLEXBUTLER_MODELS_HPP
#define PLEXBUTLER_MODELS_HPP

/// @file models.hpp
/// @brief Value types of the Butler API and their Boost.JSON conversions.

#include <plexbutler/error.hpp>

#include <boost/json/fwd.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler {

/// @brief One Butler task as reported by `GET /butler`.
///
/// Every field is optional in both OpenAPI documents: an absent field is
/// `std::nullopt`, so "absent" and `false`/`0` are distinguishable.
///
/// Decoding rules: a JSON `null` is the same as an absent field; unknown fields
/// are ignored; `interval` accepts any JSON number; the booleans accept `true`,
/// `false` and the integers `0` and `1` (PMS' XML form uses "0"/"1") but not
/// strings; strings are kept as UTF-8 byte for byte.
struct butler_task {
    /// Wire name, e.g. `BackupDatabase` (any string the server sends).
    std::optional<std::string> name;
    /// Interval in days; fractional values are kept (0.0.3 types it as a number).
    std::optional<double> interval;
    /// `scheduleRandomized`: run at a random time within the window.
    std::optional<bool> schedule_randomized;
    /// Whether the task is enabled in the server settings.
    std::optional<bool> enabled;
    /// User-friendly title.
    std::optional<std::string> title;
    /// User-friendly description.
    std::optional<std::string> description;

    /// @brief Field-wise equality (an absent field equals only an absent field).
    friend bool operator==(const butler_task&, const butler_task&) = default;
};

/// @brief Which JSON envelope a task list arrived in.
enum class task_list_envelope {
    butler_tasks,    ///< `{"ButlerTasks":{"ButlerTask":[...]}}` (both documents).
    media_container, ///< `{"MediaContainer":{"ButlerTask":[...]}}` (seen in the wild).
};

/// @brief The decoded body of `GET /butler`.
///
/// Encodes (`value_from`) as `{"ButlerTasks":{"ButlerTask":[...]}}`; decodes
/// (`value_to`) either envelope, and an envelope without `ButlerTask` as an
/// empty list (PMS omits empty arrays).
struct butler_task_list {
    /// The tasks, in server order.
    std::vector<butler_task> tasks;
    /// Envelope the list was decoded from.
    task_list_envelope envelope = task_list_envelope::butler_tasks;

    /// @brief The first task whose name equals `name`, or nullptr.
    const butler_task* find(std::string_view name) const noexcept;

    /// @brief Equality of the task lists (the envelope is ignored).
    friend bool operator==(const butler_task_list& a, const butler_task_list& b) { return a.tasks == b.tasks; }
};

/// @brief Prints the task as a JSON object with the fields that are present, as `value_from` writes
/// it, e.g. `{"name":"BackupDatabase","interval":3,"enabled":true}` (no newline).
/// @param os the stream. @param t the task. @return `os`.
std::ostream& operator<<(std::ostream& os, const butler_task& t);
/// @brief Prints the list as JSON, `{"ButlerTasks":{"ButlerTask":[...]}}`, on one line.
/// @param os the stream. @param l the list. @return `os`.
std::ostream& operator<<(std::ostream& os, const butler_task_list& l);
/// @brief Prints the envelope's key: `ButlerTasks` or `MediaContainer`.
/// @param os the stream. @param e the envelope. @return `os`.
std::ostream& operator<<(std::ostream& os, task_list_envelope e);

/// @brief Limits applied when parsing JSON from a server.
struct json_limits {
    /// Maximum nesting depth of arrays/objects (Boost.JSON parse option): 32 nested levels parse, 33 do not.
    std::size_t max_depth = 32;
    /// Maximum input size in bytes; larger input is rejected unread.
    std::size_t max_bytes = 1024 * 1024;
};

/// @brief Parses and decodes a task list body with limits.
///
/// Input longer than `limits.max_bytes` is rejected without being parsed.
/// @return the list, or `error::json_decode_failed` whose `diag.server_message` names the problem
///         and its field path, e.g. `ButlerTasks.ButlerTask[3].interval: expected number`,
///         `top level: expected key "ButlerTasks" or "MediaContainer"`, or for a syntax error
///         `invalid JSON at byte 17: syntax error`.
boost::system::result<butler_task_list, failure> parse_task_list(std::string_view body, const json_limits& limits = {});

/// @brief Parses and decodes a task list body into `out`, reusing its storage.
///
/// The result equals `parse_task_list(body, limits)`'s, but the tasks already in `out` are
/// decoded into again: their strings keep their capacity, so a poller that passes the same
/// list back each time decodes without allocating once the list's shape is stable (tasks
/// beyond the new count are destroyed; fields a task no longer has become `std::nullopt`).
/// @return nothing on success; on failure the same error as `parse_task_list`, and `out.tasks` is empty.
boost::system::result<void, failure> parse_task_list_into(std::string_view body, butler_task_list& out,
                                                          const json_limits& limits = {});

/// @brief Parses and decodes a Plex error body (`{"errors":[...]}`) with limits.
boost::system::result<plex_error_list, failure> parse_plex_errors(std::string_view body,
                                                                  const json_limits& limits = {});

/// @brief `value_to<butler_task>`; throws `butler_error(error::json_decode_failed)` naming the field.
butler_task tag_invoke(boost::json::value_to_tag<butler_task>, const boost::json::value& v);
/// @brief `value_from(butler_task)`: an object with only the fields that are present.
///
/// Integral intervals are written as integers (`"interval":3`); a non-finite interval is written as `null`.
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const butler_task& t);
/// @brief `value_to<butler_task_list>`: accepts both envelopes; throws `butler_error` naming the field path.
butler_task_list tag_invoke(boost::json::value_to_tag<butler_task_list>, const boost::json::value& v);
/// @brief `value_from(butler_task_list)`: `{"ButlerTasks":{"ButlerTask":[...]}}`.
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const butler_task_list& l);
/// @brief `value_to<plex_error>`; throws `butler_error` naming the field.
plex_error tag_invoke(boost::json::value_to_tag<plex_error>, const boost::json::value& v);
/// @brief `value_from(plex_error)`.
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const plex_error& e);
/// @brief `value_to<plex_error_list>` from `{"errors":[...]}`; throws `butler_error` naming the field path.
plex_error_list tag_invoke(boost::json::value_to_tag<plex_error_list>, const boost::json::value& v);
/// @brief `value_from(plex_error_list)`: `{"errors":[...]}`.
void tag_invoke(boost::json::value_from_tag, boost::json::value& v, const plex_error_list& l);

} // namespace plexbutler

#endif
