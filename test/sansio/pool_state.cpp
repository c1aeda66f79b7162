// Unit tests of the I/O-free pool bookkeeping (no sockets, no sleeping: time is injected).
#include "sansio/pool_state.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>

using namespace plexbutler::detail;
using kind = checkout_decision::kind;
using namespace std::chrono_literals;

namespace {
const pool_clock::time_point t0{};
}

TEST_CASE("pool_state opens connections up to the limit, then queues FIFO", "[pool]")
{
    pool_state p(2, 10, 30s);
    auto a = p.checkout(1, t0);
    auto b = p.checkout(2, t0);
    REQUIRE(a.what == kind::open_new);
    REQUIRE(b.what == kind::open_new);
    REQUIRE(a.slot != b.slot);
    CHECK(p.open() == 2);
    CHECK(p.busy() == 2);
    REQUIRE(p.checkout(3, t0).what == kind::wait);
    REQUIRE(p.checkout(4, t0).what == kind::wait);
    CHECK(p.waiting() == 2);

    p.connected(a.slot);
    // A reusable return goes straight to the oldest waiter.
    auto r = p.release(a.slot, true, t0 + 1s);
    REQUIRE(r.handoff);
    CHECK_FALSE(r.close);
    CHECK(r.handoff->waiter == 3);
    CHECK(r.handoff->slot == a.slot);
    CHECK_FALSE(r.handoff->needs_connect);
    CHECK(p.waiting() == 1);
    CHECK(p.busy() == 2);

    // A broken connection is closed; the next waiter gets the slot to reconnect.
    auto r2 = p.release(b.slot, false, t0 + 1s);
    CHECK(r2.close);
    REQUIRE(r2.handoff);
    CHECK(r2.handoff->waiter == 4);
    CHECK(r2.handoff->needs_connect);
    CHECK(p.waiting() == 0);
    CHECK(p.busy() == 2);

    // No waiters: reusable returns become idle and are reused.
    CHECK_FALSE(p.release(a.slot, true, t0 + 2s).handoff);
    CHECK(p.idle() == 1);
    CHECK(p.busy() == 1);
    auto c = p.checkout(5, t0 + 3s);
    CHECK(c.what == kind::use_idle);
    CHECK(c.slot == a.slot);
}

TEST_CASE("pool_state prefers the most recently used idle connection", "[pool]")
{
    pool_state p(3, 10, 30s);
    auto a = p.checkout(1, t0), b = p.checkout(2, t0);
    p.release(a.slot, true, t0 + 1s);
    p.release(b.slot, true, t0 + 2s);
    auto c = p.checkout(3, t0 + 3s);
    CHECK(c.what == kind::use_idle);
    CHECK(c.slot == b.slot);
}

TEST_CASE("pool_state keeps FIFO order: a newcomer does not overtake waiters", "[pool]")
{
    pool_state p(1, 10, 30s);
    auto a = p.checkout(1, t0);
    REQUIRE(p.checkout(2, t0).what == kind::wait);
    // The connection is handed to waiter 2, never left idle for a newcomer.
    auto r = p.release(a.slot, true, t0);
    REQUIRE(r.handoff);
    CHECK(r.handoff->waiter == 2);
    CHECK(p.checkout(3, t0).what == kind::wait);
}

TEST_CASE("pool_state cancelled waiters leave the queue", "[pool]")
{
    pool_state p(1, 10, 30s);
    auto a = p.checkout(1, t0);
    p.checkout(2, t0);
    p.checkout(3, t0);
    CHECK(p.cancel_waiter(2));
    CHECK_FALSE(p.cancel_waiter(2));
    CHECK(p.waiting() == 1);
    auto r = p.release(a.slot, true, t0);
    REQUIRE(r.handoff);
    CHECK(r.handoff->waiter == 3);
}

TEST_CASE("pool_state bounds the wait queue", "[pool]")
{
    pool_state p(1, 2, 30s);
    p.checkout(1, t0);
    CHECK(p.checkout(2, t0).what == kind::wait);
    CHECK(p.checkout(3, t0).what == kind::wait);
    CHECK(p.checkout(4, t0).what == kind::too_many_waiters);
    CHECK(p.waiting() == 2);
}

TEST_CASE("pool_state evicts idle connections after idle_timeout", "[pool]")
{
    pool_state p(2, 10, 10s);
    auto a = p.checkout(1, t0), b = p.checkout(2, t0);
    p.release(a.slot, true, t0);
    p.release(b.slot, true, t0 + 5s);
    REQUIRE(p.next_idle_expiry());
    CHECK(*p.next_idle_expiry() == t0 + 10s);
    CHECK(p.expire_idle(t0 + 9s).empty());
    auto gone = p.expire_idle(t0 + 10s);
    REQUIRE(gone.size() == 1);
    CHECK(gone[0] == a.slot);
    CHECK(p.idle() == 1);
    CHECK(*p.next_idle_expiry() == t0 + 15s);
    CHECK(p.expire_idle(t0 + 15s).size() == 1);
    CHECK(p.open() == 0);
    CHECK_FALSE(p.next_idle_expiry());
    // The freed slots can be opened again.
    CHECK(p.checkout(3, t0 + 16s).what == kind::open_new);
}

TEST_CASE("pool_state with idle_timeout 0 never evicts", "[pool]")
{
    pool_state p(1, 10, 0ms);
    auto a = p.checkout(1, t0);
    p.release(a.slot, true, t0);
    CHECK(p.expire_idle(t0 + 1000h).empty());
    CHECK_FALSE(p.next_idle_expiry());
}

TEST_CASE("pool_state shutdown fails waiters, closes idle and refuses checkouts", "[pool]")
{
    pool_state p(2, 10, 30s);
    auto a = p.checkout(1, t0), b = p.checkout(2, t0);
    p.release(a.slot, true, t0);
    // Slot a is idle; a new checkout takes it, then two waiters queue.
    REQUIRE(p.checkout(3, t0).what == kind::use_idle);
    p.checkout(4, t0);
    p.checkout(5, t0);
    p.release(a.slot, true, t0); // hands to 4
    auto acts = p.shutdown();
    CHECK(acts.failed_waiters == std::vector<std::uint64_t>{5});
    CHECK(acts.closed_slots.empty());
    CHECK(p.checkout(6, t0).what == kind::shut_down);
    // Busy connections close on return.
    auto r = p.release(b.slot, true, t0);
    CHECK(r.close);
    CHECK_FALSE(r.handoff);
    CHECK(p.release(a.slot, true, t0).close);
    CHECK(p.open() == 0);
    CHECK(p.busy() == 0);
}

TEST_CASE("pool_state counts stay consistent over a random event sequence", "[pool]")
{
    pool_state p(4, 100, 5s);
    std::vector<std::size_t> held;
    std::uint64_t next_waiter = 1;
    std::vector<std::uint64_t> queued;
    unsigned seed = 12345;
    auto rnd = [&seed] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    auto now = t0;
    for (int i = 0; i < 5000; ++i) {
        now += std::chrono::milliseconds(rnd() % 100);
        switch (rnd() % 4) {
        case 0: {
            auto id = next_waiter++;
            auto d = p.checkout(id, now);
            if (d.what == kind::use_idle || d.what == kind::open_new)
                held.push_back(d.slot);
            else if (d.what == kind::wait)
                queued.push_back(id);
            break;
        }
        case 1:
        case 2:
            if (!held.empty()) {
                auto idx = rnd() % held.size();
                auto slot = held[idx];
                held.erase(held.begin() + static_cast<std::ptrdiff_t>(idx));
                auto r = p.release(slot, rnd() % 3 != 0, now);
                if (r.handoff) {
                    held.push_back(r.handoff->slot);
                    queued.erase(std::find(queued.begin(), queued.end(), r.handoff->waiter));
                }
            }
            break;
        case 3:
            if (!queued.empty() && rnd() % 4 == 0) {
                CHECK(p.cancel_waiter(queued.front()));
                queued.erase(queued.begin());
            }
            p.expire_idle(now);
            break;
        }
        REQUIRE(p.busy() == held.size());
        REQUIRE(p.waiting() == queued.size());
        REQUIRE(p.open() <= 4);
        REQUIRE(p.open() == p.idle() + p.busy());
        // Nobody waits while a connection is idle.
        if (p.waiting() > 0)
            REQUIRE(p.idle() == 0);
    }
}

TEST_CASE("pool_state's waiter queue allocates nothing while empty and stops growing once it has grown", "[pool]")
{
    pool_state p(1, 64, 30s);
    CHECK(p.waiter_capacity() == 0); // a pool nobody waits for holds no queue storage
    const auto a = p.checkout(1, t0);
    REQUIRE(a.what == kind::open_new);
    p.connected(a.slot);
    CHECK(p.waiter_capacity() == 0);

    // A busy pool: waiters join at the back, are granted at the front and cancel from the middle,
    // checked against a model FIFO. Its storage is reused, not reallocated, once it has grown.
    std::deque<std::uint64_t> model;
    std::uint64_t next = 2;
    std::size_t grown = 0;
    for (int i = 0; i < 3; ++i) { // a standing backlog: the queue's contents move through its storage
        REQUIRE(p.checkout(next, t0).what == kind::wait);
        model.push_back(next++);
    }
    for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 5; ++i) {
            REQUIRE(p.checkout(next, t0).what == kind::wait);
            model.push_back(next++);
        }
        const auto middle = model[model.size() / 2];
        REQUIRE(p.cancel_waiter(middle));
        model.erase(std::find(model.begin(), model.end(), middle));
        for (int i = 0; i < 4; ++i) {
            const auto r = p.release(a.slot, true, t0);
            REQUIRE(r.handoff);
            REQUIRE(r.handoff->waiter == model.front()); // FIFO
            model.pop_front();
        }
        REQUIRE(p.waiting() == model.size());
        if (round == 10)
            grown = p.waiter_capacity();
        if (round > 10)
            REQUIRE(p.waiter_capacity() == grown);
    }
    CHECK(grown > 0);
    CHECK(grown < 16);
}
