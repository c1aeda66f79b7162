#include "fleet/poll_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace plexbutler::detail {

poll_schedule::poll_schedule(options opts, time_point epoch) : opts_(opts), epoch_(epoch) {}

poll_schedule::duration poll_schedule::phase(std::uint64_t ordinal) const noexcept
{
    // Golden-ratio (Weyl) sequence: each new point falls in the largest gap left so far.
    constexpr double golden = 0.6180339887498949;
    double unit = std::fmod(static_cast<double>(ordinal) * golden, 1.0);
    auto interval = std::chrono::duration_cast<duration>(opts_.interval);
    return std::min(interval - duration(1),
                    duration(static_cast<duration::rep>(unit * static_cast<double>(interval.count()))));
}

poll_schedule::duration poll_schedule::backoff(unsigned failures, double random_unit) const noexcept
{
    double base = static_cast<double>(opts_.backoff_initial.count());
    double cap = static_cast<double>(opts_.backoff_max.count());
    double ms = base;
    for (unsigned i = 1; i < failures && ms < cap; ++i)
        ms *= 2;
    ms = std::min(ms, cap);
    ms *= 1.0 + opts_.jitter * (2.0 * random_unit - 1.0);
    return std::chrono::duration_cast<duration>(std::chrono::duration<double, std::milli>(std::max(ms, 1.0)));
}

poll_schedule::time_point poll_schedule::next_slot(const entry& e, time_point now, bool strictly_after) const noexcept
{
    auto interval = std::chrono::duration_cast<duration>(opts_.interval);
    auto first = epoch_ + e.phase;
    if (now < first)
        return first;
    auto periods = (now - first) / interval;
    auto slot = first + periods * interval;
    if (slot < now || (strictly_after && slot == now))
        slot += interval;
    return slot;
}

void poll_schedule::set_due(std::uint64_t key, entry& e, time_point t)
{
    if (e.due)
        queue_.erase({*e.due, key});
    e.due = t;
    queue_.emplace(t, key);
}

void poll_schedule::add(std::uint64_t key, time_point now)
{
    if (entries_.count(key))
        return;
    entry e;
    e.phase = phase(added_++);
    auto t = next_slot(e, now, false);
    set_due(key, entries_.emplace(key, e).first->second, t);
}

void poll_schedule::remove(std::uint64_t key)
{
    auto it = entries_.find(key);
    if (it == entries_.end())
        return;
    if (it->second.due)
        queue_.erase({*it->second.due, key});
    entries_.erase(it);
}

void poll_schedule::take_due(time_point now, std::vector<std::uint64_t>& out)
{
    while (!queue_.empty() && queue_.begin()->first <= now) {
        auto key = queue_.begin()->second;
        queue_.erase(queue_.begin());
        entries_.at(key).due.reset();
        out.push_back(key);
    }
}

std::optional<poll_schedule::time_point> poll_schedule::next_due() const
{
    if (queue_.empty())
        return std::nullopt;
    return queue_.begin()->first;
}

std::optional<poll_schedule::time_point> poll_schedule::on_success(std::uint64_t key, time_point now)
{
    auto it = entries_.find(key);
    if (it == entries_.end())
        return std::nullopt;
    it->second.failures = 0;
    auto t = next_slot(it->second, now, true);
    set_due(key, it->second, t);
    return t;
}

std::optional<poll_schedule::time_point> poll_schedule::on_failure(std::uint64_t key, time_point now,
                                                                   double random_unit)
{
    auto it = entries_.find(key);
    if (it == entries_.end())
        return std::nullopt;
    auto& e = it->second;
    if (e.failures < 64)
        ++e.failures;
    auto t = now + backoff(e.failures, random_unit);
    set_due(key, e, t);
    return t;
}

void poll_schedule::realign(time_point now)
{
    for (auto& [key, e] : entries_)
        if (e.due && e.failures == 0 && *e.due < now)
            set_due(key, e, next_slot(e, now, false));
}

} // namespace plexbutler::detail
