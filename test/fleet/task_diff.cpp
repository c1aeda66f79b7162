// The change events between two task lists (I/O-free).

#include "fleet/task_diff.hpp"

#include <catch2/catch.hpp>

using namespace plexbutler;

namespace {

butler_task diff_task(std::string name, double interval = 1, bool enabled = true)
{
    butler_task t;
    t.name = std::move(name);
    t.interval = interval;
    t.enabled = enabled;
    t.schedule_randomized = false;
    t.title = "Title of " + *t.name;
    t.description = "Description of " + *t.name;
    return t;
}

butler_task_list diff_list(std::vector<butler_task> tasks)
{
    butler_task_list l;
    l.tasks = std::move(tasks);
    return l;
}

std::vector<fleet_event> diff(const butler_task_list& a, const butler_task_list& b)
{
    std::vector<fleet_event> out;
    detail::diff_task_lists(a, b, "srv", std::chrono::system_clock::time_point{}, out);
    return out;
}

} // namespace

TEST_CASE("task diff: equal lists and reordered lists give no event", "[fleet][diff]")
{
    auto a = diff_list({diff_task("A"), diff_task("B"), diff_task("C")});
    CHECK(diff(a, a).empty());
    auto reordered = diff_list({diff_task("C"), diff_task("A"), diff_task("B")});
    CHECK(diff(a, reordered).empty());
}

TEST_CASE("task diff: added, removed and changed tasks", "[fleet][diff]")
{
    auto before = diff_list({diff_task("A"), diff_task("B", 3), diff_task("C")});
    auto changed = diff_task("B", 7, false);
    changed.title = "New title";
    auto after = diff_list({diff_task("A"), changed, diff_task("D")});
    auto events = diff(before, after);
    REQUIRE(events.size() == 3);

    CHECK(events[0].kind == fleet_event_kind::task_changed);
    CHECK(events[0].server == "srv");
    REQUIRE(events[0].task);
    REQUIRE(events[0].previous);
    CHECK(events[0].task->interval == 7);
    CHECK(events[0].previous->interval == 3);
    CHECK(events[0].fields == std::vector<std::string>{"interval", "enabled", "title"});

    CHECK(events[1].kind == fleet_event_kind::task_added);
    CHECK(events[1].task->name == "D");
    CHECK_FALSE(events[1].previous);

    CHECK(events[2].kind == fleet_event_kind::task_removed);
    CHECK(events[2].task->name == "C");
}

TEST_CASE("task diff: every field is compared, by its JSON name", "[fleet][diff]")
{
    auto a = diff_task("A");
    CHECK(detail::changed_fields(a, a).empty());
    auto b = a;
    b.schedule_randomized = true;
    CHECK(detail::changed_fields(a, b) == std::vector<std::string>{"scheduleRandomized"});
    b = a;
    b.description.reset();
    CHECK(detail::changed_fields(a, b) == std::vector<std::string>{"description"});
    b = a;
    b.interval = 2;
    b.enabled = false;
    CHECK(detail::changed_fields(a, b) == std::vector<std::string>{"interval", "enabled"});
}

TEST_CASE("task diff: nameless and duplicate tasks do not make events twice", "[fleet][diff]")
{
    butler_task nameless;
    nameless.title = "no name";
    auto before = diff_list({nameless, diff_task("A"), diff_task("A")});
    auto after = diff_list({diff_task("B"), diff_task("B"), nameless});
    auto events = diff(before, after);
    REQUIRE(events.size() == 2);
    CHECK(events[0].kind == fleet_event_kind::task_added);
    CHECK(events[0].task->name == "B");
    CHECK(events[1].kind == fleet_event_kind::task_removed);
    CHECK(events[1].task->name == "A");
}
