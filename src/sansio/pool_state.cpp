#include "sansio/pool_state.hpp"

#include <algorithm>
#include <stdexcept>

namespace plexbutler::detail {

pool_state::pool_state(std::size_t max_connections, std::size_t max_waiters, std::chrono::milliseconds idle_timeout)
    : slots_(max_connections), max_waiters_(max_waiters), idle_timeout_(idle_timeout)
{
    if (max_connections == 0)
        throw std::invalid_argument("max_connections must be at least 1");
}

void pool_state::set_state(std::size_t i, slot_state s) noexcept
{
    auto counter = [this](slot_state st) -> std::size_t* {
        switch (st) {
        case slot_state::idle: return &idle_;
        case slot_state::busy: return &busy_;
        case slot_state::connecting: return &connecting_;
        case slot_state::empty: return nullptr;
        }
        return nullptr;
    };
    if (auto* c = counter(slots_[i].state))
        --*c;
    slots_[i].state = s;
    if (auto* c = counter(s))
        ++*c;
}

checkout_decision pool_state::checkout(std::uint64_t waiter, pool_clock::time_point /*now*/)
{
    using k = checkout_decision::kind;
    if (shut_down_)
        return {k::shut_down, 0};
    // Only jump the queue when nobody waits (FIFO fairness).
    if (waiters_.empty()) {
        // Most recently used idle connection first: warm, and lets the others age out.
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].state == slot_state::idle && (!best || slots_[i].last_used > slots_[*best].last_used))
                best = i;
        if (best) {
            set_state(*best, slot_state::busy);
            return {k::use_idle, *best};
        }
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].state == slot_state::empty) {
                set_state(i, slot_state::connecting);
                return {k::open_new, i};
            }
    }
    if (waiters_.size() >= max_waiters_)
        return {k::too_many_waiters, 0};
    waiters_.push_back(waiter);
    return {k::wait, 0};
}

bool pool_state::cancel_waiter(std::uint64_t waiter)
{
    auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
    if (it == waiters_.end())
        return false;
    waiters_.erase(it);
    return true;
}

void pool_state::connected(std::size_t slot)
{
    if (slots_[slot].state == slot_state::connecting)
        set_state(slot, slot_state::busy);
}

release_decision pool_state::release(std::size_t slot, bool reusable, pool_clock::time_point now)
{
    release_decision d;
    if (shut_down_) {
        set_state(slot, slot_state::empty);
        d.close = true;
        return d;
    }
    if (!reusable) {
        set_state(slot, slot_state::empty);
        d.close = true;
        if (!waiters_.empty()) {
            set_state(slot, slot_state::connecting);
            d.handoff = grant{waiters_.front(), slot, true};
            waiters_.pop_front();
        }
        return d;
    }
    slots_[slot].last_used = now;
    if (!waiters_.empty()) {
        set_state(slot, slot_state::busy);
        d.handoff = grant{waiters_.front(), slot, false};
        waiters_.pop_front();
        return d;
    }
    set_state(slot, slot_state::idle);
    return d;
}

std::vector<std::size_t> pool_state::expire_idle(pool_clock::time_point now)
{
    std::vector<std::size_t> out;
    if (idle_timeout_.count() <= 0)
        return out;
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].state == slot_state::idle && now - slots_[i].last_used >= idle_timeout_) {
            set_state(i, slot_state::empty);
            out.push_back(i);
        }
    return out;
}

std::optional<pool_clock::time_point> pool_state::next_idle_expiry() const
{
    if (idle_timeout_.count() <= 0)
        return std::nullopt;
    std::optional<pool_clock::time_point> t;
    for (const auto& s : slots_)
        if (s.state == slot_state::idle && (!t || s.last_used + idle_timeout_ < *t))
            t = s.last_used + idle_timeout_;
    return t;
}

pool_state::shutdown_actions pool_state::shutdown()
{
    shutdown_actions a;
    shut_down_ = true;
    a.failed_waiters.assign(waiters_.begin(), waiters_.end());
    waiters_.clear();
    for (std::size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].state == slot_state::idle) {
            set_state(i, slot_state::empty);
            a.closed_slots.push_back(i);
        }
    return a;
}

} // namespace plexbutler::detail
