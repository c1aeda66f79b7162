#ifndef PLEXBUTLER_CLIENT_IDLE_SCHEDULER_HPP
#define PLEXBUTLER_CLIENT_IDLE_SCHEDULER_HPP

// The idle work of many pools on one timer. A pool evicts its idle connections (and frees their
// buffers) when they are due; alone it waits on a timer of its own, but 10,000 pools of a fleet
// each waking once per idle_timeout while their connections are in use make a few hundred
// wake-ups a second. The pools of a fleet share its strand, so they share one scheduler instead:
// one timer, a heap of due times, and due times rounded up to a granularity so that the work of
// many pools runs in one wake-up.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace plexbutler::detail {

/// What an idle_scheduler runs: a pool's idle work.
class idle_work {
public:
    /// On the scheduler's strand, at or after the time it was scheduled for. `generation` is the
    /// one given to `idle_scheduler::schedule`: a pool ignores the work it has superseded since.
    virtual void run_idle_work(std::uint64_t generation) = 0;

protected:
    idle_work() = default;
    idle_work(const idle_work&) = default;
    idle_work& operator=(const idle_work&) = default;
    ~idle_work() = default;
};

/// The idle work of the pools that share one strand, on one timer. Every member function runs
/// on that strand (the pools call `schedule` from it). Work is run at its time rounded up to
/// the granularity, never before it; work of a pool that is gone is dropped, without a wake-up
/// when it is the next due.
class idle_scheduler : public std::enable_shared_from_this<idle_scheduler> {
public:
    using clock = std::chrono::steady_clock;

    /// @param strand the strand of the pools (the timer completes there).
    /// @param granularity due times are rounded up to a multiple of it (positive).
    idle_scheduler(boost::asio::any_io_executor strand, clock::duration granularity);

    /// Runs `pool->run_idle_work(generation)` at `when` (rounded up), if the pool still exists.
    /// No allocation once the heap has grown to the number of pools.
    void schedule(clock::time_point when, std::weak_ptr<idle_work> pool, std::uint64_t generation);

    /// Drops the work not yet run and stops the timer; later `schedule` calls are ignored.
    void shutdown();

    /// Work scheduled and not yet run (superseded work included).
    std::size_t pending() const noexcept { return heap_.size(); }
    /// When `when` is run: rounded up to the granularity.
    clock::time_point rounded(clock::time_point when) const noexcept;

private:
    struct entry {
        clock::time_point due;
        std::uint64_t generation;
        std::weak_ptr<idle_work> pool;
    };
    void arm();
    void run_due();

    boost::asio::steady_timer timer_;
    clock::duration granularity_;
    std::vector<entry> heap_; // a min-heap on `due`
    bool armed_ = false;
    bool running_ = false; // in run_due: arm once at its end
    bool shut_down_ = false;
    clock::time_point armed_for_{};
    std::uint64_t timer_generation_ = 0; // of the current wait: a superseded wait does nothing
};

} // namespace plexbutler::detail

#endif
