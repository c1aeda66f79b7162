#ifndef PLEXBUTLER_EMULATOR_SCHEDULER_HPP
#define PLEXBUTLER_EMULATOR_SCHEDULER_HPP

/// @file emulator/scheduler.hpp
/// @brief The emulator's Butler task scheduler: pure state, no I/O, injectable time and randomness.

#include <plexbutler/emulator/maintenance_window.hpp>
#include <plexbutler/models.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::emulator {

/// @brief Where a task is in its life cycle.
enum class task_state {
    idle,      ///< Neither scheduled nor running.
    scheduled, ///< Waiting for its due time inside the maintenance window.
    running,   ///< Running; finishes after the task duration.
};

/// @brief What a start request did to one task.
enum class start_outcome {
    started,           ///< Now running (criteria 2 and 4, or inside the window and not randomised).
    scheduled,         ///< Scheduled at a random time in the rest of the window (criterion 3).
    already_scheduled, ///< Was already scheduled; its due time is unchanged.
    already_running,   ///< Was already running (HTTP 202 for start one).
    not_due,           ///< Skipped: not scheduled to run on the current day (criterion 1).
    disabled,          ///< Skipped: the task is disabled in the settings.
    unknown_task,      ///< No task with this name (HTTP 404).
};

/// @brief What a stop request did to one task.
enum class stop_outcome {
    stopped,      ///< Was running, now idle (its run does not count as a last run).
    unscheduled,  ///< Was scheduled, now idle.
    not_running,  ///< Was idle (HTTP 404).
    unknown_task, ///< No task with this name (HTTP 404).
};

/// @brief Returns the lower-case wire spelling of a state (`idle`, `scheduled`, `running`).
std::string_view to_string(task_state s) noexcept;
/// @brief Returns the snake_case spelling of an outcome, e.g. `not_due`.
std::string_view to_string(start_outcome o) noexcept;
/// @brief Returns the snake_case spelling of an outcome, e.g. `not_running`.
std::string_view to_string(stop_outcome o) noexcept;

/// @brief A snapshot of one task's scheduling state.
struct task_status {
    /// Wire name.
    std::string name;
    /// From the catalogue (absent = enabled).
    bool enabled = true;
    /// `scheduleRandomized` (absent = false).
    bool randomized = false;
    /// From the catalogue (absent = 1).
    double interval_days = 1.0;
    /// Current state.
    task_state state = task_state::idle;
    /// When scheduled: when it will start.
    std::optional<std::chrono::system_clock::time_point> due;
    /// When running: when it started.
    std::optional<std::chrono::system_clock::time_point> started_at;
    /// When running: when it will finish.
    std::optional<std::chrono::system_clock::time_point> finishes_at;
    /// When its last complete run finished.
    std::optional<std::chrono::system_clock::time_point> last_run;
    /// Outcome of the last start request naming it.
    std::optional<start_outcome> last_start;
    /// Number of runs that finished.
    unsigned completed_runs = 0;
};

/// @brief Counts of what a start-all did.
struct start_all_result {
    /// Tasks now running.
    std::size_t started = 0;
    /// Tasks newly scheduled in the window.
    std::size_t scheduled = 0;
    /// Disabled, not due, already running or already scheduled.
    std::size_t skipped = 0;
};

/// @brief The Butler scheduler: decides what start/stop requests do, and moves tasks along in time.
///
/// It performs no I/O and never reads a clock: every operation takes `now`.
/// Local time of day comes from an injected UTC offset function and randomness
/// from an injected source, so tests are deterministic. Semantics (the seed's
/// four criteria, evaluated in this order for an enabled, idle task):
///  1. not due (its interval has not elapsed since its last run, counted in local
///     calendar days) -> skipped;
///  2./4. outside the window -> starts now;
///  3. inside the window and randomised -> scheduled uniformly in [now, window end);
///  otherwise (inside, not randomised) -> starts now.
/// A disabled task is never started. A running task answers `already_running`.
///
/// Not thread-safe: the server guards it with a mutex.
class scheduler {
public:
    /// @brief The clock whose time points the scheduler takes.
    using clock = std::chrono::system_clock;
    /// @brief A point in time.
    using time_point = clock::time_point;
    /// @brief Returns the local time's offset from UTC at a given instant (e.g. +01:00 = 3600 s).
    using utc_offset_fn = std::function<std::chrono::seconds(time_point)>;
    /// @brief Returns a uniformly distributed number in [0, 1).
    using random_fn = std::function<double()>;

    /// @brief Configuration of a scheduler.
    struct options {
        /// Daily window in local time (default 02:00-05:00).
        maintenance_window window;
        /// How long a run lasts (must be positive).
        std::chrono::milliseconds task_duration{3000};
        /// Local time offset; empty = UTC.
        utc_offset_fn utc_offset;
        /// Random source; empty = a fixed-seed mt19937_64.
        random_fn random;
    };

    /// @brief Builds a scheduler over `tasks` (all idle, never run).
    /// @throws std::invalid_argument on a task without a name, a duplicate name, a
    ///         window minute >= 1440, or a non-positive task duration.
    scheduler(std::vector<butler_task> tasks, options opts);

    /// @brief Start one task (`POST /butler/{name}`). Advances to `now` first.
    start_outcome start(std::string_view name, time_point now);
    /// @brief Start all enabled tasks (`POST /butler`). Advances to `now` first.
    start_all_result start_all(time_point now);
    /// @brief Stop one task (`DELETE /butler/{name}`). Advances to `now` first.
    stop_outcome stop(std::string_view name, time_point now);
    /// @brief Stop all running tasks and clear the schedule (`DELETE /butler`).
    /// @return how many tasks were running or scheduled.
    std::size_t stop_all(time_point now);

    /// @brief Moves time forward: due tasks start (at their due time), runs that
    ///        reached their end finish and record their last run.
    void advance(time_point now);
    /// @brief The next instant at which `advance` would change something, if any.
    std::optional<time_point> next_event() const;

    /// @brief Replaces the catalogue (an emulated server whose task list changed).
    ///
    /// A task that keeps its name keeps its state, due time, runs and last run, and takes the
    /// new `enabled`, `scheduleRandomized` and `interval` (a running or scheduled task stays so
    /// even when it is now disabled); a new task is idle and never ran; a task that is gone is
    /// forgotten. The order is the new catalogue's.
    /// @throws std::invalid_argument, leaving the scheduler unchanged, on a task without a name
    ///         or a duplicate name.
    void set_tasks(std::vector<butler_task> tasks);

    /// @brief Pretends the task last finished a run at `when` (for tests and fixtures).
    /// @return false when no such task exists.
    bool set_last_run(std::string_view name, time_point when);

    /// @brief True when `now` is inside the maintenance window (local time).
    bool in_window(time_point now) const;
    /// @brief The state of every task, in catalogue order.
    std::vector<task_status> snapshot() const;
    /// @brief The state of one task, or nullopt.
    std::optional<task_status> status(std::string_view name) const;

private:
    task_status* find(std::string_view name) noexcept;
    start_outcome start_one(task_status& t, time_point now);
    bool is_due(const task_status& t, time_point now) const;
    long long local_day(time_point t) const;
    unsigned local_minute(time_point t) const;
    time_point window_end_after(time_point now) const;

    std::vector<task_status> tasks_;
    options opts_;
};

} // namespace plexbutler::emulator

#endif
