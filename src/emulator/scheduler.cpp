#include <plexbutler/emulator/scheduler.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <utility>

namespace plexbutler::emulator {

std::string_view to_string(task_state s) noexcept
{
    switch (s) {
    case task_state::idle: return "idle";
    case task_state::scheduled: return "scheduled";
    case task_state::running: return "running";
    }
    return "unknown";
}

std::string_view to_string(start_outcome o) noexcept
{
    switch (o) {
    case start_outcome::started: return "started";
    case start_outcome::scheduled: return "scheduled";
    case start_outcome::already_scheduled: return "already_scheduled";
    case start_outcome::already_running: return "already_running";
    case start_outcome::not_due: return "not_due";
    case start_outcome::disabled: return "disabled";
    case start_outcome::unknown_task: return "unknown_task";
    }
    return "unknown";
}

std::string_view to_string(stop_outcome o) noexcept
{
    switch (o) {
    case stop_outcome::stopped: return "stopped";
    case stop_outcome::unscheduled: return "unscheduled";
    case stop_outcome::not_running: return "not_running";
    case stop_outcome::unknown_task: return "unknown_task";
    }
    return "unknown";
}

scheduler::scheduler(std::vector<butler_task> tasks, options opts) : opts_(std::move(opts))
{
    if (opts_.window.start_minute >= 24 * 60 || opts_.window.end_minute >= 24 * 60)
        throw std::invalid_argument("maintenance window minutes must be below 1440 (24:00)");
    if (opts_.task_duration <= std::chrono::milliseconds::zero())
        throw std::invalid_argument("task duration must be positive");
    if (!opts_.utc_offset)
        opts_.utc_offset = [](time_point) { return std::chrono::seconds{0}; };
    if (!opts_.random) {
        // Deterministic default: the server always injects its own seeded source.
        auto engine = std::make_shared<std::mt19937_64>(0x5eed);
        opts_.random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
    }
    set_tasks(std::move(tasks));
}

void scheduler::set_tasks(std::vector<butler_task> tasks)
{
    std::vector<task_status> next;
    next.reserve(tasks.size());
    for (auto& t : tasks) {
        if (!t.name || t.name->empty())
            throw std::invalid_argument("every task in the catalogue needs a name");
        if (std::any_of(next.begin(), next.end(), [&](const task_status& s) { return s.name == *t.name; }))
            throw std::invalid_argument("duplicate task name in the catalogue: " + *t.name);
        const auto old = status(*t.name);
        task_status s = old ? *old : task_status{};
        s.name = std::move(*t.name);
        s.enabled = t.enabled.value_or(true);
        s.randomized = t.schedule_randomized.value_or(false);
        s.interval_days = t.interval.value_or(1.0);
        next.push_back(std::move(s));
    }
    tasks_ = std::move(next);
}

task_status* scheduler::find(std::string_view name) noexcept
{
    auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const task_status& t) { return t.name == name; });
    return it == tasks_.end() ? nullptr : &*it;
}

long long scheduler::local_day(time_point t) const
{
    const auto local = t + opts_.utc_offset(t);
    return std::chrono::floor<std::chrono::days>(local).time_since_epoch().count();
}

unsigned scheduler::local_minute(time_point t) const
{
    const auto local = t + opts_.utc_offset(t);
    const auto since_midnight = local - std::chrono::floor<std::chrono::days>(local);
    return static_cast<unsigned>(std::chrono::duration_cast<std::chrono::minutes>(since_midnight).count());
}

bool scheduler::in_window(time_point now) const
{
    const unsigned start = opts_.window.start_minute;
    const unsigned end = opts_.window.end_minute;
    const unsigned m = local_minute(now);
    if (start == end)
        return false;
    if (start < end)
        return m >= start && m < end;
    return m >= start || m < end; // wraps past midnight
}

scheduler::time_point scheduler::window_end_after(time_point now) const
{
    const auto local = now + opts_.utc_offset(now);
    const auto since_midnight = local - std::chrono::floor<std::chrono::days>(local);
    auto rest = std::chrono::duration_cast<clock::duration>(std::chrono::minutes{opts_.window.end_minute}) -
                std::chrono::duration_cast<clock::duration>(since_midnight);
    if (rest <= clock::duration::zero())
        rest += std::chrono::duration_cast<clock::duration>(std::chrono::hours{24});
    return now + rest;
}

bool scheduler::is_due(const task_status& t, time_point now) const
{
    if (!t.last_run)
        return true;
    const auto days = static_cast<double>(local_day(now) - local_day(*t.last_run));
    return days >= t.interval_days;
}

start_outcome scheduler::start_one(task_status& t, time_point now)
{
    start_outcome out;
    if (t.state == task_state::running) {
        out = start_outcome::already_running;
    } else if (!t.enabled) {
        out = start_outcome::disabled;
    } else if (t.state == task_state::scheduled) {
        out = start_outcome::already_scheduled;
    } else if (!is_due(t, now)) {
        out = start_outcome::not_due; // criterion 1
    } else if (t.randomized && in_window(now)) {
        // Criterion 3: a uniformly random instant in [now, window end).
        const auto rest = window_end_after(now) - now;
        double r = opts_.random();
        r = std::clamp(r, 0.0, 1.0);
        auto offset = clock::duration{static_cast<clock::rep>(std::floor(r * static_cast<double>(rest.count())))};
        if (offset >= rest)
            offset = rest - clock::duration{1};
        t.state = task_state::scheduled;
        t.due = now + offset;
        out = start_outcome::scheduled;
    } else {
        // Criteria 2 and 4 (outside the window), and a non-randomised task inside it.
        t.state = task_state::running;
        t.started_at = now;
        t.finishes_at = now + opts_.task_duration;
        t.due.reset();
        out = start_outcome::started;
    }
    t.last_start = out;
    return out;
}

start_outcome scheduler::start(std::string_view name, time_point now)
{
    advance(now);
    task_status* t = find(name);
    if (t == nullptr)
        return start_outcome::unknown_task;
    return start_one(*t, now);
}

start_all_result scheduler::start_all(time_point now)
{
    advance(now);
    start_all_result r;
    for (auto& t : tasks_) {
        switch (start_one(t, now)) {
        case start_outcome::started: ++r.started; break;
        case start_outcome::scheduled: ++r.scheduled; break;
        default: ++r.skipped; break;
        }
    }
    return r;
}

stop_outcome scheduler::stop(std::string_view name, time_point now)
{
    advance(now);
    task_status* t = find(name);
    if (t == nullptr)
        return stop_outcome::unknown_task;
    switch (t->state) {
    case task_state::running:
        t->state = task_state::idle;
        t->started_at.reset();
        t->finishes_at.reset();
        return stop_outcome::stopped;
    case task_state::scheduled:
        t->state = task_state::idle;
        t->due.reset();
        return stop_outcome::unscheduled;
    case task_state::idle: break;
    }
    return stop_outcome::not_running;
}

std::size_t scheduler::stop_all(time_point now)
{
    advance(now);
    std::size_t n = 0;
    for (auto& t : tasks_) {
        if (t.state == task_state::idle)
            continue;
        ++n;
        t.state = task_state::idle;
        t.due.reset();
        t.started_at.reset();
        t.finishes_at.reset();
    }
    return n;
}

void scheduler::advance(time_point now)
{
    for (auto& t : tasks_) {
        if (t.state == task_state::scheduled && t.due && *t.due <= now) {
            // Starts at its due time, not at `now`, so late advancing does not stretch runs.
            t.state = task_state::running;
            t.started_at = *t.due;
            t.finishes_at = *t.due + opts_.task_duration;
            t.due.reset();
        }
        if (t.state == task_state::running && t.finishes_at && *t.finishes_at <= now) {
            t.state = task_state::idle;
            t.last_run = *t.finishes_at;
            ++t.completed_runs;
            t.started_at.reset();
            t.finishes_at.reset();
        }
    }
}

std::optional<scheduler::time_point> scheduler::next_event() const
{
    std::optional<time_point> next;
    for (const auto& t : tasks_) {
        std::optional<time_point> e;
        if (t.state == task_state::scheduled)
            e = t.due;
        else if (t.state == task_state::running)
            e = t.finishes_at;
        if (e && (!next || *e < *next))
            next = e;
    }
    return next;
}

bool scheduler::set_last_run(std::string_view name, time_point when)
{
    task_status* t = find(name);
    if (t == nullptr)
        return false;
    t->last_run = when;
    return true;
}

std::vector<task_status> scheduler::snapshot() const { return tasks_; }

std::optional<task_status> scheduler::status(std::string_view name) const
{
    auto it = std::find_if(tasks_.begin(), tasks_.end(), [&](const task_status& t) { return t.name == name; });
    if (it == tasks_.end())
        return std::nullopt;
    return *it;
}

} // namespace plexbutler::emulator
