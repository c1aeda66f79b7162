#include <plexbutler/models.hpp>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>

#include <cmath>
#include <cstdint>

// value_from for the value types: the JSON that PMS itself sends.

namespace plexbutler {

namespace json = boost::json;

namespace {

// Integral intervals are written as integers, as PMS does ("interval":3, not 3.0).
json::value interval_value(double interval, const json::storage_ptr& sp)
{
    if (!std::isfinite(interval)) {
        return json::value(nullptr, sp); // JSON cannot represent it; null reads back as absent
    }
    if (std::trunc(interval) == interval && std::fabs(interval) < 9007199254740992.0) {
        return json::value(static_cast<std::int64_t>(interval), sp);
    }
    return json::value(interval, sp);
}

} // namespace

void tag_invoke(json::value_from_tag, json::value& v, const butler_task& t)
{
    json::object& obj = v.emplace_object();
    obj.reserve(6);
    if (t.name) {
        obj.emplace("name", json::string_view(*t.name));
    }
    if (t.interval) {
        obj.emplace("interval", interval_value(*t.interval, obj.storage()));
    }
    if (t.schedule_randomized) {
        obj.emplace("scheduleRandomized", *t.schedule_randomized);
    }
    if (t.enabled) {
        obj.emplace("enabled", *t.enabled);
    }
    if (t.title) {
        obj.emplace("title", json::string_view(*t.title));
    }
    if (t.description) {
        obj.emplace("description", json::string_view(*t.description));
    }
}

void tag_invoke(json::value_from_tag, json::value& v, const butler_task_list& l)
{
    json::object& root = v.emplace_object();
    json::array items(root.storage());
    items.reserve(l.tasks.size());
    for (const butler_task& task : l.tasks) {
        items.push_back(json::value_from(task, root.storage()));
    }
    json::object inner(root.storage());
    inner.emplace("ButlerTask", std::move(items));
    root.emplace("ButlerTasks", std::move(inner));
}

void tag_invoke(json::value_from_tag, json::value& v, const plex_error& e)
{
    json::object& obj = v.emplace_object();
    if (e.code) {
        obj.emplace("code", *e.code);
    }
    if (e.message) {
        obj.emplace("message", json::string_view(*e.message));
    }
    if (e.status) {
        obj.emplace("status", *e.status);
    }
}

void tag_invoke(json::value_from_tag, json::value& v, const plex_error_list& l)
{
    json::object& root = v.emplace_object();
    json::array items(root.storage());
    items.reserve(l.errors.size());
    for (const plex_error& e : l.errors) {
        items.push_back(json::value_from(e, root.storage()));
    }
    root.emplace("errors", std::move(items));
}

} // namespace plexbutler
