#ifndef PLEXBUTLER_TOOLS_CLI_FLEET_FORMAT_HPP
#define PLEXBUTLER_TOOLS_CLI_FLEET_FORMAT_HPP

/// @file fleet_format.hpp
/// @brief What `plexbutler --servers FILE ...` and `plexbutler watch` print, without I/O: the
/// per-server blocks and lines, the JSON lines, the tally with its summary line and exit code,
/// the progress bar and its redraw throttle, and the change-event lines.

#include <plexbutler/error.hpp>
#include <plexbutler/fleet.hpp>
#include <plexbutler/response.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace plexbutler::cli {

/// @brief The name of an error for JSON output: the `plexbutler::error` enumerator
/// (`"connect_failed"`, `"unauthorized"`, ...), or `"<category>:<value>"` for another category.
std::string error_name(boost::system::error_code ec);

/// @brief The kind of failure an exit code stands for, as the summary line names it:
/// 1 `other`, 2 `usage`, 3 `not found`, 4 `unauthorized`, 5 `unreachable`, 6 `protocol`.
std::string_view failure_kind(int exit_code) noexcept;

/// @brief The worse of two exit codes: the higher one (0, success, is the best).
///
/// A fleet command exits with the highest exit code of any of its servers, so one server whose
/// answers are not Butler answers (6) outweighs unreachable ones (5), which outweigh a wrong token
/// (4), an unknown task (3), a usage error (2) and any other failure (1).
constexpr int worse_exit_code(int a, int b) noexcept { return a > b ? a : b; }

/// @brief Counts the outcomes of a fleet command: the progress bar, the summary line, the exit code.
class fleet_tally {
public:
    /// @brief A tally of a command on `total` servers.
    explicit fleet_tally(std::size_t total) noexcept : total_(total) {}

    /// @brief One server succeeded.
    void add_ok() noexcept { ++ok_; }
    /// @brief One server failed with `ec` (counted by its exit code, `exit_code_for`).
    void add_failure(boost::system::error_code ec) noexcept;

    /// @brief Servers of the command.
    std::size_t total() const noexcept { return total_; }
    /// @brief Servers done (succeeded or failed).
    std::size_t done() const noexcept { return ok_ + failed_; }
    /// @brief Servers that succeeded.
    std::size_t ok() const noexcept { return ok_; }
    /// @brief Servers that failed.
    std::size_t failed() const noexcept { return failed_; }
    /// @brief Servers that failed with this exit code (1 to 6).
    std::size_t failed_with(int exit_code) const noexcept;

    /// @brief The worst exit code over the servers done (`worse_exit_code`); 0 when none failed.
    int exit_code() const noexcept { return worst_; }

    /// @brief `N servers: n ok, n failed (k unreachable, j unauthorized, ...)` (no newline); the kinds
    /// in the order of their exit codes, highest first, only those that occurred.
    std::string summary() const;

private:
    std::size_t total_;
    std::size_t ok_ = 0;
    std::size_t failed_ = 0;
    std::array<std::size_t, 7> by_code_{};
    int worst_ = 0;
};

/// @brief The progress line `[=====>    ] 512/1000 ok 510 failed 2` (no `\r`, no newline).
/// @param bar_width cells between the brackets.
std::string progress_line(const fleet_tally& t, std::size_t bar_width = 30);

/// @brief Decides when the progress bar is redrawn: at most once per `min_gap` (I/O-free; the
/// caller passes the time).
class redraw_throttle {
public:
    using clock = std::chrono::steady_clock; ///< The clock of the time points passed in.

    /// @brief At most one redraw per `min_gap` (default 100 ms: 10 a second).
    explicit redraw_throttle(clock::duration min_gap = std::chrono::milliseconds(100)) noexcept : min_gap_(min_gap) {}

    /// @brief Whether to redraw at `now`; when true, `now` is the time of the last redraw.
    bool due(clock::time_point now) noexcept;

private:
    clock::duration min_gap_;
    std::optional<clock::time_point> last_;
};

/// @name One server of a fleet command, as text (stdout)
/// Server text is escaped for the terminal, and `token` is redacted from error messages.
/// @{

/// @brief `list`: the id on its own line, then the task table indented by 2 spaces, or
/// `  error: <message>`.
std::string format_list_block(std::string_view id, const result<tasks_response>& r, std::string_view token);

/// @brief `start`/`stop`/`start-all`/`stop-all`: `ID  started BackupDatabase` or `ID  error: <message>`,
/// the id padded to `id_width` columns. `task` is empty for `start-all`/`stop-all`.
std::string format_outcome_line(std::string_view id, std::size_t id_width, const result<task_response>& r,
                                std::string_view task, std::string_view token);
/// @}

/// @name One server of a fleet command, as one JSON line (`--json`)
/// `{"id":ID,"ok":true,"result":...}` or `{"id":ID,"ok":false,"error":{"code":NAME,"message":TEXT[,"status":N]}}`.
/// @{

/// @brief `list`: `result` is the array of tasks, as `plexbutler list --json` prints it.
std::string json_list_line(std::string_view id, const result<tasks_response>& r, std::string_view token);

/// @brief start/stop: `result` is `{"outcome":"started"|"already_running"|"stopped"|"not_running"|"accepted",
/// "status":200[,"task":TASK]}`.
std::string json_outcome_line(std::string_view id, const result<task_response>& r, std::string_view task,
                              std::string_view token);
/// @}

/// @brief A start/stop outcome as one JSON object, with a newline: what `start`, `stop`, `start-all`
/// and `stop-all` print with `--json` on one server, and the `result` of a fleet line:
/// `{"outcome":"started"|"already_running"|"stopped"|"not_running"|"accepted","status":200[,"task":TASK]}`.
/// `task` is empty for `start-all`/`stop-all`.
std::string json_outcome(const task_response& r, std::string_view task);

/// @brief A time as UTC ISO 8601 with milliseconds, e.g. `2024-05-01T12:00:00.123Z`.
std::string format_utc(std::chrono::system_clock::time_point t);

/// @brief A `watch` event as one line (no newline): `TIME  SERVER  KIND  DETAIL`, e.g.
/// `2024-05-01T12:00:00.123Z  office  task_changed  BackupDatabase  enabled: yes -> no`.
/// DETAIL: `N tasks` (reachable), the error message (unreachable), the task name (added, removed),
/// the task name and each changed field (changed).
std::string format_event_line(const fleet_event& e, std::string_view token);

/// @brief A `watch` event as one JSON object (no newline): `at`, `server`, `kind`, and `task`,
/// `previous`, `fields`, `tasks` or `error` where the event has them.
std::string format_event_json(const fleet_event& e, std::string_view token);

} // namespace plexbutler::cli

#endif
