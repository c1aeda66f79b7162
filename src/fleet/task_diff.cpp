#include "fleet/task_diff.hpp"

#include <string>
#include <unordered_map>

namespace plexbutler::detail {

std::vector<std::string> changed_fields(const butler_task& before, const butler_task& after)
{
    std::vector<std::string> fields;
    if (before.interval != after.interval)
        fields.emplace_back("interval");
    if (before.schedule_randomized != after.schedule_randomized)
        fields.emplace_back("scheduleRandomized");
    if (before.enabled != after.enabled)
        fields.emplace_back("enabled");
    if (before.title != after.title)
        fields.emplace_back("title");
    if (before.description != after.description)
        fields.emplace_back("description");
    return fields;
}

namespace {

fleet_event make_event(fleet_event_kind kind, std::string_view server, std::chrono::system_clock::time_point at,
                       const butler_task& task)
{
    fleet_event e;
    e.kind = kind;
    e.server.assign(server);
    e.at = at;
    e.task = task;
    return e;
}

} // namespace

void diff_task_lists(const butler_task_list& before, const butler_task_list& after, std::string_view server,
                     std::chrono::system_clock::time_point at, std::vector<fleet_event>& out)
{
    // The steady case: the same tasks in the same order with the same fields, no allocation.
    if (before.tasks == after.tasks)
        return;
    std::unordered_map<std::string_view, const butler_task*> old_by_name;
    old_by_name.reserve(before.tasks.size());
    for (const auto& t : before.tasks)
        if (t.name)
            old_by_name.emplace(*t.name, &t);
    std::unordered_map<std::string_view, bool> seen;
    seen.reserve(after.tasks.size());
    for (const auto& t : after.tasks) {
        if (!t.name || !seen.emplace(*t.name, true).second)
            continue;
        auto it = old_by_name.find(*t.name);
        if (it == old_by_name.end()) {
            out.push_back(make_event(fleet_event_kind::task_added, server, at, t));
            continue;
        }
        if (*it->second == t)
            continue;
        auto e = make_event(fleet_event_kind::task_changed, server, at, t);
        e.previous = *it->second;
        e.fields = changed_fields(*it->second, t);
        out.push_back(std::move(e));
    }
    std::unordered_map<std::string_view, bool> removed;
    for (const auto& t : before.tasks)
        if (t.name && !seen.count(*t.name) && removed.emplace(*t.name, true).second)
            out.push_back(make_event(fleet_event_kind::task_removed, server, at, t));
}

} // namespace plexbutler::detail
