#ifndef PLEXBUTLER_FLEET_POLL_SCHEDULE_HPP
#define PLEXBUTLER_FLEET_POLL_SCHEDULE_HPP

// When each server of a fleet is polled: I/O-free, driven by time points given by the caller.
//
// Every server gets a fixed phase in the poll interval when it is added: the k-th server's phase
// is frac(k * golden ratio) of the interval, so any number of servers, added at any time, is
// spread evenly over the interval. A server that answers is polled again at its next phase; a
// server that fails is retried after an exponential backoff with jitter.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

namespace plexbutler::detail {

class poll_schedule {
public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    using duration = clock::duration;

    struct options {
        std::chrono::milliseconds interval{30000};
        std::chrono::milliseconds backoff_initial{1000};
        std::chrono::milliseconds backoff_max{300000};
        double jitter = 0.2; ///< Backoff delays are multiplied by a factor in [1 - jitter, 1 + jitter].
    };

    /// @brief A schedule whose phases count from `epoch`.
    poll_schedule(options opts, time_point epoch);

    /// @brief Adds a server (no-op if present). Its first poll is at its first phase at or after `now`.
    void add(std::uint64_t key, time_point now);
    /// @brief Removes a server, scheduled or in flight.
    void remove(std::uint64_t key);
    bool contains(std::uint64_t key) const { return entries_.count(key) != 0; }
    std::size_t size() const noexcept { return entries_.size(); }

    /// @brief Moves the servers due at or before `now` to in flight, appending their keys to `out`.
    void take_due(time_point now, std::vector<std::uint64_t>& out);
    /// @brief The earliest due time of a server not in flight.
    std::optional<time_point> next_due() const;

    /// @brief A poll of `key` succeeded at `now`: due again at its next phase after `now`.
    /// @return the new due time, or nothing if `key` is not in the schedule.
    std::optional<time_point> on_success(std::uint64_t key, time_point now);
    /// @brief A poll of `key` failed at `now`: due again after the backoff of its consecutive
    /// failures. `random_unit` in [0, 1) picks the jitter.
    std::optional<time_point> on_failure(std::uint64_t key, time_point now, double random_unit);

    /// @brief Moves every scheduled (not in flight) server to its first phase at or after
    /// `now`, keeping failing servers on their backoff: used when polling resumes after a pause,
    /// so that overdue servers are not polled in one burst.
    void realign(time_point now);

    /// @brief The backoff after `failures` consecutive failures (1 = the first).
    duration backoff(unsigned failures, double random_unit) const noexcept;
    /// @brief The phase of the `ordinal`-th added server, in [0, interval).
    duration phase(std::uint64_t ordinal) const noexcept;

private:
    struct entry {
        duration phase{};
        unsigned failures = 0;
        std::optional<time_point> due; ///< Empty while in flight.
    };

    time_point next_slot(const entry& e, time_point now, bool strictly_after) const noexcept;
    void set_due(std::uint64_t key, entry& e, time_point t);

    options opts_;
    time_point epoch_;
    std::uint64_t added_ = 0;
    std::unordered_map<std::uint64_t, entry> entries_;
    std::set<std::pair<time_point, std::uint64_t>> queue_;
};

} // namespace plexbutler::detail

#endif
