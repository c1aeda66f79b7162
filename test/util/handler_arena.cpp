// Unit tests of the in-object storage for one pending operation (the pool's idle-timer wait):
// the storage itself, the allocator Asio sees, and Asio placing a real timer wait in it.
#include "util/handler_arena.hpp"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

using namespace plexbutler::detail;
using namespace std::chrono_literals;
namespace asio = boost::asio;

TEST_CASE("handler_arena: one allocation in the object, the others on the heap", "[arena]")
{
    handler_arena<64> arena;
    CHECK_FALSE(arena.in_use());
    void* a = arena.allocate(64);
    CHECK(arena.in_use());
    void* b = arena.allocate(16); // taken: the heap
    REQUIRE(b != a);
    std::memset(a, 0xa5, 64);
    std::memset(b, 0x5a, 16);
    arena.deallocate(a);
    CHECK_FALSE(arena.in_use());
    void* c = arena.allocate(8); // free again: the same storage
    CHECK(c == a);
    void* big = arena.allocate(65); // too large: the heap, even while free
    arena.deallocate(c);
    void* d = arena.allocate(65);
    CHECK(d != a);
    CHECK_FALSE(arena.in_use());
    arena.deallocate(big);
    arena.deallocate(d);
    arena.deallocate(b);
    CHECK_FALSE(arena.in_use());
}

TEST_CASE("arena_allocator: rebinds, compares by arena, allocates from it", "[arena]")
{
    handler_arena<128> arena, other;
    arena_allocator<void, 128> v(arena);
    using traits = std::allocator_traits<arena_allocator<void, 128>>;
    traits::rebind_alloc<std::uint64_t> words(v);
    std::uint64_t* p = words.allocate(4);
    CHECK(arena.in_use());
    CHECK(reinterpret_cast<std::uintptr_t>(p) % alignof(std::max_align_t) == 0);
    words.deallocate(p, 4);
    CHECK_FALSE(arena.in_use());
    CHECK(v == arena_allocator<int, 128>(arena));
    CHECK_FALSE(v == arena_allocator<void, 128>(other));
}

// As in pool_client::arm_idle_timer: a steady_timer on a strand, a handler holding a shared_ptr
// and a generation, bound to the arena; a re-arm supersedes the pending wait.
TEST_CASE("handler_arena holds a pending timer wait and a superseding wait goes to the heap", "[arena]")
{
    asio::io_context ctx;
    auto strand = asio::make_strand(ctx);
    asio::steady_timer timer(strand);
    handler_arena<208> arena; // pool_client's size
    auto owner = std::make_shared<int>(0);
    std::vector<std::pair<std::uint64_t, bool>> done; // generation, aborted
    auto arm = [&](std::uint64_t generation, std::chrono::milliseconds after) {
        timer.expires_after(after);
        auto on_wait = [owner, generation, &done](boost::system::error_code ec) {
            done.emplace_back(generation, ec == asio::error::operation_aborted);
        };
        timer.async_wait(asio::bind_allocator(arena_allocator<void, 208>(arena), std::move(on_wait)));
    };
    arm(1, 1h);
    CHECK(arena.in_use()); // the pending wait is in the arena, not in a recycled block
    arm(2, 1ms);           // supersedes: the first wait is cancelled but has not completed yet
    CHECK(arena.in_use());
    ctx.run();
    REQUIRE(done.size() == 2);
    CHECK(done[0] == std::make_pair(std::uint64_t{1}, true));
    CHECK(done[1] == std::make_pair(std::uint64_t{2}, false));
    CHECK_FALSE(arena.in_use()); // both freed, heap and arena

    // Once the superseded wait has completed, the next pending wait is in the arena again.
    ctx.restart();
    arm(3, 1h);
    CHECK(arena.in_use());
    timer.cancel();
    ctx.run();
    CHECK_FALSE(arena.in_use());
    CHECK(done.back() == std::make_pair(std::uint64_t{3}, true));
}

// Waits armed on a strand and completed by any of four threads, re-armed from their handlers and
// superseded from the strand: every wait completes exactly once and the storage is never handed
// out twice (run under TSan by the tsan stage).
TEST_CASE("handler_arena: timer waits across io_context threads", "[arena][stress]")
{
    asio::io_context ctx(4);
    auto strand = asio::make_strand(ctx);
    struct state {
        explicit state(asio::strand<asio::io_context::executor_type> s) : timer(s) {}
        asio::steady_timer timer;
        handler_arena<208> arena;
        std::uint64_t armed = 0, completed = 0; // strand only
    };
    auto st = std::make_shared<state>(strand);
    constexpr std::uint64_t rounds = 2000;
    struct rearm {
        std::shared_ptr<state> s;
        void operator()() const
        {
            auto self = s;
            ++s->armed;
            // The last wait expires at once; every earlier one is cancelled by the next re-arm.
            s->timer.expires_after(s->armed >= rounds || s->armed % 3 == 0 ? 0ms : 1h);
            s->timer.async_wait(
                asio::bind_allocator(arena_allocator<void, 208>(s->arena), [self](boost::system::error_code) {
                    ++self->completed;
                    if (self->armed < rounds)
                        rearm{self}();
                }));
            if (s->armed % 3 == 1 && s->armed < rounds)
                rearm{s}(); // supersede at once: two waits in flight, one from the heap
        }
    };
    asio::post(strand, rearm{st});
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&ctx] { ctx.run(); });
    for (auto& t : threads)
        t.join();
    CHECK(st->armed >= rounds);
    CHECK(st->completed == st->armed);
    CHECK_FALSE(st->arena.in_use());
}

TEST_CASE("handler_arena: concurrent allocations never share the storage", "[arena][stress]")
{
    handler_arena<64> arena;
    void* const storage = arena.allocate(1);
    arena.deallocate(storage);
    std::atomic<int> holders{0};
    std::atomic<int> overlaps{0};
    std::atomic<int> in_storage{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20000; ++i) {
                void* p = arena.allocate(48);
                if (p == storage) {
                    if (holders.fetch_add(1) != 0)
                        overlaps.fetch_add(1);
                    in_storage.fetch_add(1, std::memory_order_relaxed);
                }
                std::memset(p, t, 48); // and TSan reports a race if two threads held the storage
                if (p == storage)
                    holders.fetch_sub(1);
                arena.deallocate(p);
            }
        });
    for (auto& t : threads)
        t.join();
    CHECK(overlaps.load() == 0);
    CHECK(in_storage.load() > 0);
    CHECK_FALSE(arena.in_use());
}
