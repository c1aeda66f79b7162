#ifndef PLEXBUTLER_FLEET_TASK_DIFF_HPP
#define PLEXBUTLER_FLEET_TASK_DIFF_HPP

// The change events between two task lists of one server: I/O-free, used by the fleet poller.

#include <plexbutler/fleet.hpp>
#include <plexbutler/models.hpp>

#include <string_view>
#include <vector>

namespace plexbutler::detail {

/// @brief Appends to `out` one event per task added, removed or changed from `before` to
/// `after`. Tasks are matched by name; tasks without a name are not compared. Events come in
/// the order of `after` (added, changed), then removed tasks in the order of `before`.
/// `server` and `at` are copied into every event.
void diff_task_lists(const butler_task_list& before, const butler_task_list& after, std::string_view server,
                     std::chrono::system_clock::time_point at, std::vector<fleet_event>& out);

/// @brief The JSON names of the fields that differ between two tasks of the same name
/// (`interval`, `scheduleRandomized`, `enabled`, `title`, `description`).
std::vector<std::string> changed_fields(const butler_task& before, const butler_task& after);

} // namespace plexbutler::detail

#endif
