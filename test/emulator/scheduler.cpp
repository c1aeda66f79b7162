// Unit tests of the emulator's I/O-free Butler scheduler: time and randomness are injected.

#include <plexbutler/emulator/scheduler.hpp>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using plexbutler::butler_task;
using plexbutler::emulator::scheduler;
using plexbutler::emulator::start_outcome;
using plexbutler::emulator::stop_outcome;
using plexbutler::emulator::task_state;

namespace {

butler_task task(std::string name, double interval, bool randomized, bool enabled = true)
{
    butler_task t;
    t.name = std::move(name);
    t.interval = interval;
    t.schedule_randomized = randomized;
    t.enabled = enabled;
    return t;
}

// 2026-03-10 00:00:00 UTC, a fixed day so tests do not depend on the machine's clock.
const scheduler::time_point day0 = scheduler::time_point{std::chrono::sys_days{std::chrono::year{2026} / 3 / 10}};

scheduler::time_point at(int day, int hour, int minute = 0)
{
    return day0 + std::chrono::days{day} + std::chrono::hours{hour} + std::chrono::minutes{minute};
}

struct fixture {
    double random_value = 0.5;
    std::chrono::seconds offset{0};

    scheduler make(std::vector<butler_task> tasks, unsigned start_minute = 2 * 60, unsigned end_minute = 5 * 60)
    {
        scheduler::options o;
        o.window = {start_minute, end_minute};
        o.task_duration = 10min;
        o.utc_offset = [this](scheduler::time_point) { return offset; };
        o.random = [this] { return random_value; };
        return scheduler(std::move(tasks), o);
    }
};

} // namespace

TEST_CASE("outside the window a task starts immediately (criteria 2 and 4)", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Plain", 1, false), task("Random", 1, true)});
    const auto now = at(0, 12);
    REQUIRE_FALSE(s.in_window(now));
    CHECK(s.start("Plain", now) == start_outcome::started);
    CHECK(s.start("Random", now) == start_outcome::started);
    const auto st = s.status("Random");
    REQUIRE(st);
    CHECK(st->state == task_state::running);
    CHECK(st->started_at == now);
    CHECK(st->finishes_at == now + 10min);
}

TEST_CASE("inside the window a randomised task is scheduled in the rest of the window (criterion 3)", "[scheduler]")
{
    fixture f;
    f.random_value = 0.25;
    auto s = f.make({task("Random", 1, true), task("Plain", 1, false)});
    const auto now = at(0, 3); // window 02:00-05:00, two hours left
    REQUIRE(s.in_window(now));
    CHECK(s.start("Random", now) == start_outcome::scheduled);
    auto st = s.status("Random");
    REQUIRE(st);
    CHECK(st->state == task_state::scheduled);
    CHECK(st->due == now + 30min); // a quarter of the two hours left
    // A non-randomised task inside the window runs now.
    CHECK(s.start("Plain", now) == start_outcome::started);
    // Starting a scheduled task again leaves its due time alone.
    CHECK(s.start("Random", now + 1min) == start_outcome::already_scheduled);
    CHECK(s.status("Random")->due == now + 30min);
}

TEST_CASE("random due times stay within the window", "[scheduler]")
{
    fixture f;
    for (double r : {0.0, 0.5, 0.999999, 1.0}) {
        f.random_value = r;
        auto s = f.make({task("Random", 1, true)});
        const auto now = at(0, 4, 30);
        REQUIRE(s.start("Random", now) == start_outcome::scheduled);
        const auto due = *s.status("Random")->due;
        CHECK(due >= now);
        CHECK(due < at(0, 5));
    }
}

TEST_CASE("a window that wraps past midnight", "[scheduler]")
{
    fixture f;
    f.random_value = 0.5;
    auto s = f.make({task("Random", 1, true)}, 23 * 60, 1 * 60); // 23:00-01:00
    CHECK(s.in_window(at(0, 23, 30)));
    CHECK(s.in_window(at(1, 0, 30)));
    CHECK_FALSE(s.in_window(at(1, 1, 0)));
    CHECK_FALSE(s.in_window(at(0, 22, 59)));
    // At 23:30 the rest of the window is 90 minutes, ending tomorrow at 01:00.
    REQUIRE(s.start("Random", at(0, 23, 30)) == start_outcome::scheduled);
    CHECK(*s.status("Random")->due == at(0, 23, 30) + 45min);
}

TEST_CASE("an empty window means always outside", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Random", 1, true)}, 3 * 60, 3 * 60);
    CHECK_FALSE(s.in_window(at(0, 3)));
    CHECK(s.start("Random", at(0, 3)) == start_outcome::started);
}

TEST_CASE("the window is in local time", "[scheduler]")
{
    fixture f;
    f.offset = 2h; // UTC+2: 01:00 UTC is 03:00 local
    auto s = f.make({task("Random", 1, true)});
    CHECK(s.in_window(at(0, 1)));
    CHECK_FALSE(s.in_window(at(0, 3, 30))); // 05:30 local
    CHECK(s.start("Random", at(0, 1)) == start_outcome::scheduled);
}

TEST_CASE("a task not due on the current day is skipped (criterion 1)", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Weekly", 7, false), task("Daily", 1, false)});
    REQUIRE(s.set_last_run("Weekly", at(0, 12)));
    REQUIRE(s.set_last_run("Daily", at(0, 12)));
    CHECK(s.start("Weekly", at(3, 12)) == start_outcome::not_due);
    CHECK(s.status("Weekly")->state == task_state::idle);
    CHECK(s.start("Daily", at(0, 23)) == start_outcome::not_due);   // same day
    CHECK(s.start("Daily", at(1, 0, 5)) == start_outcome::started); // next calendar day
    CHECK(s.start("Weekly", at(7, 0, 1)) == start_outcome::started);
    // Calendar days are local: at UTC+3, 22:00 UTC on day 0 is already day 1 locally.
    fixture g;
    g.offset = 3h;
    auto t = g.make({task("Daily", 1, false)});
    REQUIRE(t.set_last_run("Daily", at(0, 12)));
    CHECK(t.start("Daily", at(0, 22)) == start_outcome::started);
    CHECK_FALSE(t.set_last_run("Nope", at(0, 1)));
}

TEST_CASE("a finished run makes the task not due until its interval elapsed", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Every3", 3, false)});
    REQUIRE(s.start("Every3", at(0, 12)) == start_outcome::started);
    s.advance(at(0, 12, 10));
    const auto st = s.status("Every3");
    CHECK(st->state == task_state::idle);
    CHECK(st->last_run == at(0, 12, 10));
    CHECK(st->completed_runs == 1);
    CHECK(s.start("Every3", at(2, 12)) == start_outcome::not_due);
    CHECK(s.start("Every3", at(3, 12)) == start_outcome::started);
}

TEST_CASE("disabled tasks are never started", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Off", 1, false, false), task("On", 1, false)});
    CHECK(s.start("Off", at(0, 12)) == start_outcome::disabled);
    CHECK(s.status("Off")->state == task_state::idle);
    CHECK(s.status("Off")->last_start == start_outcome::disabled);
    const auto r = s.start_all(at(0, 12));
    CHECK(r.started == 1);
    CHECK(r.skipped == 1);
    CHECK(s.status("Off")->state == task_state::idle);
    CHECK(s.status("On")->state == task_state::running);
}

TEST_CASE("absent catalogue fields take documented defaults", "[scheduler]")
{
    fixture f;
    butler_task bare;
    bare.name = "Bare";
    auto s = f.make({bare});
    const auto st = s.status("Bare");
    CHECK(st->enabled);
    CHECK_FALSE(st->randomized);
    CHECK(st->interval_days == 1.0);
    butler_task nameless;
    CHECK_THROWS_AS(f.make({nameless}), std::invalid_argument);
    CHECK_THROWS_AS(f.make({bare, bare}), std::invalid_argument);
    CHECK_THROWS_AS(f.make({bare}, 24 * 60, 0), std::invalid_argument);
}

TEST_CASE("start answers: running task, unknown task", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("A", 1, false)});
    CHECK(s.start("A", at(0, 12)) == start_outcome::started);
    CHECK(s.start("A", at(0, 12, 1)) == start_outcome::already_running);
    CHECK(s.start("Nope", at(0, 12)) == start_outcome::unknown_task);
    CHECK(s.stop("Nope", at(0, 12)) == stop_outcome::unknown_task);
}

TEST_CASE("scheduled tasks become running when due, then finish", "[scheduler]")
{
    fixture f;
    f.random_value = 0.5;
    auto s = f.make({task("R", 1, true)});
    const auto now = at(0, 2); // three hours left: due at 03:30
    REQUIRE(s.start("R", now) == start_outcome::scheduled);
    CHECK(s.next_event() == at(0, 3, 30));
    s.advance(at(0, 3, 29));
    CHECK(s.status("R")->state == task_state::scheduled);
    s.advance(at(0, 3, 30));
    auto st = s.status("R");
    CHECK(st->state == task_state::running);
    CHECK(st->started_at == at(0, 3, 30));
    CHECK(s.next_event() == at(0, 3, 40));
    s.advance(at(0, 3, 40));
    st = s.status("R");
    CHECK(st->state == task_state::idle);
    CHECK(st->last_run == at(0, 3, 40));
    CHECK_FALSE(s.next_event());
}

TEST_CASE("a late advance runs start and finish in one go, at their own times", "[scheduler]")
{
    fixture f;
    f.random_value = 0.0;
    auto s = f.make({task("R", 1, true)});
    REQUIRE(s.start("R", at(0, 2)) == start_outcome::scheduled);
    s.advance(at(0, 9));
    const auto st = s.status("R");
    CHECK(st->state == task_state::idle);
    CHECK(st->last_run == at(0, 2, 10));
}

TEST_CASE("stop semantics", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Run", 1, false), task("Sched", 1, true), task("Idle", 1, false)});
    const auto now = at(0, 3);
    REQUIRE(s.start("Run", now) == start_outcome::started);
    REQUIRE(s.start("Sched", now) == start_outcome::scheduled);
    CHECK(s.stop("Run", now + 1min) == stop_outcome::stopped);
    CHECK(s.status("Run")->state == task_state::idle);
    CHECK_FALSE(s.status("Run")->last_run); // an interrupted run is not a last run
    CHECK(s.stop("Sched", now + 1min) == stop_outcome::unscheduled);
    CHECK(s.status("Sched")->state == task_state::idle);
    CHECK_FALSE(s.status("Sched")->due);
    CHECK(s.stop("Idle", now) == stop_outcome::not_running);
    CHECK(s.stop("Run", now + 2min) == stop_outcome::not_running);
    // A stopped task can be started again the same day: it never completed.
    CHECK(s.start("Run", now + 3min) == start_outcome::started);
}

TEST_CASE("stop all stops running tasks and clears the schedule", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Run", 1, false), task("Sched", 1, true), task("Idle", 1, false, false)});
    const auto now = at(0, 3);
    const auto r = s.start_all(now);
    CHECK(r.started == 1);
    CHECK(r.scheduled == 1);
    CHECK(r.skipped == 1);
    CHECK(s.stop_all(now + 1min) == 2);
    for (const auto& st : s.snapshot())
        CHECK(st.state == task_state::idle);
    CHECK_FALSE(s.next_event());
    CHECK(s.stop_all(now + 2min) == 0);
}

TEST_CASE("start all skips tasks that are not due, running or scheduled", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Done", 7, false), task("Busy", 1, false), task("Fresh", 1, false)});
    REQUIRE(s.set_last_run("Done", at(0, 1)));
    REQUIRE(s.start("Busy", at(0, 12)) == start_outcome::started);
    const auto r = s.start_all(at(0, 12, 1));
    CHECK(r.started == 1);
    CHECK(r.skipped == 2);
    CHECK(s.status("Done")->last_start == start_outcome::not_due);
    CHECK(s.status("Busy")->last_start == start_outcome::already_running);
    CHECK(s.status("Fresh")->state == task_state::running);
}

TEST_CASE("outcomes have stable names", "[scheduler]")
{
    using plexbutler::emulator::to_string;
    CHECK(to_string(task_state::scheduled) == "scheduled");
    CHECK(to_string(start_outcome::not_due) == "not_due");
    CHECK(to_string(stop_outcome::not_running) == "not_running");
}

TEST_CASE("a new catalogue keeps the state of the tasks that stay", "[scheduler]")
{
    fixture f;
    auto s = f.make({task("Run", 1, false), task("Sched", 1, true), task("Gone", 1, false), task("Done", 3, false)});
    REQUIRE(s.start("Done", at(0, 1, 30)) == start_outcome::started); // outside the window: runs to 01:40
    REQUIRE(s.start("Run", at(0, 3)) == start_outcome::started);      // inside, not randomised: runs to 03:10
    REQUIRE(s.start("Sched", at(0, 3)) == start_outcome::scheduled);  // due at 04:00
    s.advance(at(0, 3, 5));
    const auto due = s.status("Sched")->due;
    REQUIRE(due == at(0, 4));

    s.set_tasks({task("New", 1, false), task("Run", 7, false, false), task("Sched", 1, true), task("Done", 1, false)});
    const auto snap = s.snapshot();
    REQUIRE(snap.size() == 4);
    CHECK(snap[0].name == "New");
    CHECK(snap[0].state == task_state::idle);
    CHECK_FALSE(snap[0].last_run);
    CHECK(snap[1].name == "Run");
    CHECK(snap[1].state == task_state::running); // now disabled, but its run goes on
    CHECK(snap[1].finishes_at == at(0, 3, 10));
    CHECK_FALSE(snap[1].enabled);
    CHECK(snap[1].interval_days == 7);
    CHECK(snap[2].state == task_state::scheduled);
    CHECK(snap[2].due == due);
    CHECK(snap[3].completed_runs == 1);
    CHECK(snap[3].last_run == at(0, 1, 40));
    CHECK_FALSE(s.status("Gone"));
    CHECK(s.start("Gone", at(0, 3, 6)) == start_outcome::unknown_task);
    CHECK(s.start("Run", at(0, 3, 6)) == start_outcome::already_running);
    // The new interval applies: "Done" ran on day 0 and, every day now, is due again on day 1.
    CHECK(s.start("Done", at(1, 12)) == start_outcome::started);

    const auto before = s.snapshot();
    CHECK_THROWS_AS(s.set_tasks({task("A", 1, false), task("A", 1, false)}), std::invalid_argument);
    CHECK_THROWS_AS(s.set_tasks({butler_task{}}), std::invalid_argument);
    CHECK(s.snapshot().size() == before.size());
    CHECK(s.status("Done")->state == task_state::running);
}
