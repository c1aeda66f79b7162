#include "client/idle_scheduler.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace plexbutler::detail {

namespace {
// A min-heap on the due time (std::push_heap makes a max-heap of the comparison).
struct later {
    template <class Entry>
    bool operator()(const Entry& a, const Entry& b) const noexcept
    {
        return a.due > b.due;
    }
};
} // namespace

idle_scheduler::idle_scheduler(boost::asio::any_io_executor strand, clock::duration granularity)
    : timer_(std::move(strand)), granularity_(granularity)
{
    if (granularity_ <= clock::duration::zero())
        throw std::invalid_argument("idle_scheduler: the granularity must be positive");
}

idle_scheduler::clock::time_point idle_scheduler::rounded(clock::time_point when) const noexcept
{
    const auto since = when.time_since_epoch();
    auto steps = since / granularity_;
    if (steps * granularity_ < since)
        ++steps;
    return clock::time_point(steps * granularity_);
}

void idle_scheduler::schedule(clock::time_point when, std::weak_ptr<idle_work> pool, std::uint64_t generation)
{
    if (shut_down_)
        return;
    heap_.push_back({rounded(when), generation, std::move(pool)});
    std::push_heap(heap_.begin(), heap_.end(), later{});
    if (!running_)
        arm();
}

void idle_scheduler::shutdown()
{
    shut_down_ = true;
    heap_.clear();
    ++timer_generation_;
    armed_ = false;
    timer_.cancel();
}

void idle_scheduler::arm()
{
    // The work of pools that are gone (a fleet's removed servers) wakes nobody: dropped here.
    while (!heap_.empty() && heap_.front().pool.expired()) {
        std::pop_heap(heap_.begin(), heap_.end(), later{});
        heap_.pop_back();
    }
    if (heap_.empty() || (armed_ && armed_for_ <= heap_.front().due))
        return;
    armed_ = true;
    armed_for_ = heap_.front().due;
    const auto generation = ++timer_generation_;
    timer_.expires_at(armed_for_);
    timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
        if (generation != self->timer_generation_)
            return; // superseded by an earlier due time, or shut down
        self->armed_ = false;
        if (!ec && !self->shut_down_)
            self->run_due();
    });
}

void idle_scheduler::run_due()
{
    running_ = true;
    const auto now = clock::now();
    while (!heap_.empty() && heap_.front().due <= now) {
        std::pop_heap(heap_.begin(), heap_.end(), later{});
        entry e = std::move(heap_.back());
        heap_.pop_back();
        if (auto pool = e.pool.lock())
            pool->run_idle_work(e.generation); // may schedule again: due later than now
    }
    running_ = false;
    arm();
}

} // namespace plexbutler::detail
