#ifndef PLEXBUTLER_SANSIO_POOL_STATE_HPP
#define PLEXBUTLER_SANSIO_POOL_STATE_HPP

// I/O-free bookkeeping of the connection pool: events in, decisions out.
// Not synchronised: the client runs it on its pool strand.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <boost/container/devector.hpp>

namespace plexbutler::detail {

using pool_clock = std::chrono::steady_clock;

/// State of one connection slot.
enum class slot_state : std::uint8_t { empty, connecting, idle, busy };

/// Answer to a checkout request.
struct checkout_decision {
    enum class kind : std::uint8_t {
        use_idle,         ///< Take the idle connection in `slot` (now busy).
        open_new,         ///< Open a new connection in `slot` (now connecting).
        wait,             ///< The waiter was queued; a later `grant` will name it.
        too_many_waiters, ///< The queue is full.
        shut_down,        ///< The pool is shut down.
    };
    kind what = kind::wait;
    std::size_t slot = 0;
};

/// A queued waiter receives a slot.
struct grant {
    std::uint64_t waiter = 0;   ///< Who (as passed to `checkout`).
    std::size_t slot = 0;       ///< Which slot.
    bool needs_connect = false; ///< True: the slot is empty, open a connection; false: a live idle connection.
};

/// Answer to the return of a connection.
struct release_decision {
    bool close = false;           ///< Close the connection object of the slot.
    std::optional<grant> handoff; ///< A waiter that now owns the slot.
};

/// Pool bookkeeping: which slots are idle, busy or connecting, and who waits, in FIFO order.
class pool_state {
public:
    /// @param max_connections slots (>= 1); @param max_waiters queue bound; @param idle_timeout 0 disables eviction.
    pool_state(std::size_t max_connections, std::size_t max_waiters, std::chrono::milliseconds idle_timeout);

    /// A caller wants a connection. `waiter` is an opaque id echoed in a later `grant`.
    checkout_decision checkout(std::uint64_t waiter, pool_clock::time_point now);

    /// A queued waiter gave up (cancelled or timed out). Returns false when it was not queued.
    bool cancel_waiter(std::uint64_t waiter);

    /// The connection being opened in `slot` is ready (connecting -> busy).
    void connected(std::size_t slot);

    /// The owner of `slot` gives it back. `reusable`: the connection may serve another request.
    release_decision release(std::size_t slot, bool reusable, pool_clock::time_point now);

    /// Idle connections unused since before `now - idle_timeout` become empty; returns their slots.
    std::vector<std::size_t> expire_idle(pool_clock::time_point now);

    /// When the next idle connection expires (nullopt: none idle or eviction disabled).
    std::optional<pool_clock::time_point> next_idle_expiry() const;

    /// What `shutdown` asks the I/O layer to do.
    struct shutdown_actions {
        std::vector<std::uint64_t> failed_waiters; ///< Fail these with `cancelled`.
        std::vector<std::size_t> closed_slots;     ///< Close the idle connections of these slots.
    };
    /// Refuses further checkouts; busy slots close when released.
    shutdown_actions shutdown();

    bool is_shut_down() const noexcept { return shut_down_; }
    slot_state state_of(std::size_t slot) const noexcept { return slots_[slot].state; }
    std::size_t capacity() const noexcept { return slots_.size(); }
    std::size_t open() const noexcept { return idle_ + busy_ + connecting_; }
    std::size_t idle() const noexcept { return idle_; }
    std::size_t busy() const noexcept { return busy_ + connecting_; }
    std::size_t waiting() const noexcept { return waiters_.size(); }
    /// Waiter ids the queue can hold without allocating (0 until the first waiter queues).
    std::size_t waiter_capacity() const noexcept { return waiters_.capacity(); }

private:
    struct slot_info {
        slot_state state = slot_state::empty;
        pool_clock::time_point last_used{};
    };
    void set_state(std::size_t i, slot_state s) noexcept;

    std::vector<slot_info> slots_;
    // FIFO: push_back, pop_front, erase from the middle on a cancel. A devector allocates nothing
    // while empty (a std::deque allocates its map and a node at construction: ~600 B per client in
    // a fleet of mostly idle clients) and moves its elements back within its storage instead of
    // reallocating, so a busy pool's queue stops allocating once it has grown.
    boost::container::devector<std::uint64_t> waiters_;
    std::size_t max_waiters_;
    std::chrono::milliseconds idle_timeout_;
    std::size_t idle_ = 0, busy_ = 0, connecting_ = 0;
    bool shut_down_ = false;
};

} // namespace plexbutler::detail

#endif
