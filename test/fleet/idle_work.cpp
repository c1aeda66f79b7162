// The idle work of a fleet's pools on one timer (client/idle_scheduler.hpp): the scheduler alone,
// with pools stood in for, and a fleet whose idle connections it evicts.

#include "client/idle_scheduler.hpp"
#include "support/client_fixture.hpp"

#include <plexbutler/emulator/fleet.hpp>
#include <plexbutler/fleet.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using detail::idle_scheduler;

namespace {

/// A pool stood in for: records when and with which generation its work ran, and may schedule
/// more from inside it.
struct recorder final : detail::idle_work {
    struct run {
        idle_scheduler::clock::time_point at;
        std::uint64_t generation;
    };
    std::vector<run> runs;
    std::function<void()> then;
    void run_idle_work(std::uint64_t generation) override
    {
        runs.push_back({idle_scheduler::clock::now(), generation});
        if (then)
            then();
    }
};

/// Runs `f` on the strand, then the io_context for `d`.
template <class F>
void on_strand_then_run(asio::io_context& ctx, const asio::any_io_executor& strand, F f, std::chrono::milliseconds d)
{
    asio::dispatch(strand, std::move(f));
    ctx.restart();
    ctx.run_for(d);
}

} // namespace

TEST_CASE("idle work: due times are rounded up to the granularity", "[fleet][idle]")
{
    asio::io_context ctx;
    auto s = std::make_shared<idle_scheduler>(asio::make_strand(ctx), 250ms);
    const idle_scheduler::clock::time_point t(10s);
    CHECK(s->rounded(t) == t); // a multiple stays
    CHECK(s->rounded(t + 1ns) == t + 250ms);
    CHECK(s->rounded(t + 249ms) == t + 250ms);
    CHECK(s->rounded(t + 250ms) == t + 250ms);
    CHECK(s->rounded(t + 251ms) == t + 500ms);
    CHECK_THROWS_AS(idle_scheduler(ctx.get_executor(), 0ms), std::invalid_argument);
}

TEST_CASE("idle work: runs at its time or later, in order, one wake-up for a granule", "[fleet][idle]")
{
    asio::io_context ctx;
    const asio::any_io_executor strand = asio::make_strand(ctx);
    auto s = std::make_shared<idle_scheduler>(strand, 100ms);
    auto a = std::make_shared<recorder>(), b = std::make_shared<recorder>(), c = std::make_shared<recorder>();
    idle_scheduler::clock::time_point ta, tb, tc;
    on_strand_then_run(
        ctx, strand,
        [&] {
            const auto now = idle_scheduler::clock::now();
            ta = now + 150ms, tb = now + 10ms, tc = now + 20ms;
            s->schedule(ta, a, 1);
            s->schedule(tb, b, 2);
            s->schedule(tc, c, 3);
            CHECK(s->pending() == 3);
        },
        600ms);
    REQUIRE(a->runs.size() == 1);
    REQUIRE(b->runs.size() == 1);
    REQUIRE(c->runs.size() == 1);
    CHECK(a->runs[0].generation == 1);
    CHECK(b->runs[0].generation == 2);
    CHECK(c->runs[0].generation == 3);
    // Never early: at the due time rounded up.
    CHECK(a->runs[0].at >= s->rounded(ta));
    CHECK(b->runs[0].at >= s->rounded(tb));
    CHECK(c->runs[0].at >= s->rounded(tc));
    CHECK(b->runs[0].at <= c->runs[0].at);
    CHECK(c->runs[0].at < a->runs[0].at);
    // b and c fall in one granule (unless it is split by a granule boundary): one wake-up ran both.
    if (s->rounded(tb) == s->rounded(tc))
        CHECK(c->runs[0].at - b->runs[0].at < 5ms);
    CHECK(s->pending() == 0);
}

TEST_CASE("idle work: a pool that is gone is skipped, work scheduled by work runs later, shutdown drops the rest",
          "[fleet][idle]")
{
    asio::io_context ctx;
    const asio::any_io_executor strand = asio::make_strand(ctx);
    auto s = std::make_shared<idle_scheduler>(strand, 20ms);
    auto kept = std::make_shared<recorder>();
    std::weak_ptr<recorder> gone_watch;
    kept->then = [&] {
        if (kept->runs.size() == 1)
            s->schedule(idle_scheduler::clock::now() + 30ms, kept, 7); // from inside the work
    };
    on_strand_then_run(
        ctx, strand,
        [&] {
            {
                auto gone = std::make_shared<recorder>();
                gone_watch = gone;
                s->schedule(idle_scheduler::clock::now() + 10ms, gone, 1);
            } // `gone` is destroyed here: its work must not run, nor wake the scheduler
            s->schedule(idle_scheduler::clock::now() + 100ms, kept, 2);
            CHECK(s->pending() == 1); // dropped when the next arming found it first
        },
        300ms);
    CHECK(gone_watch.expired());
    REQUIRE(kept->runs.size() == 2);
    CHECK(kept->runs[0].generation == 2);
    CHECK(kept->runs[1].generation == 7);
    CHECK(kept->runs[1].at > kept->runs[0].at);

    on_strand_then_run(
        ctx, strand,
        [&] {
            s->schedule(idle_scheduler::clock::now() + 10ms, kept, 8);
            s->shutdown();
            CHECK(s->pending() == 0);
            s->schedule(idle_scheduler::clock::now() + 10ms, kept, 9); // ignored
            CHECK(s->pending() == 0);
        },
        200ms);
    CHECK(kept->runs.size() == 2);
}

TEST_CASE("idle work: a fleet evicts its idle connections through the scheduler", "[fleet][idle][emulated]")
{
    emulator::fleet_options eo;
    eo.servers = 20;
    eo.server.window = {0, 0};
    eo.server.request_timeout = 30s; // the emulator keeps idle connections: only the client evicts them
    emulator::fleet emu(eo);

    asio::io_context ctx;
    fleet_options fo;
    fo.defaults.idle_timeout = 200ms;
    fleet f(ctx, fo);
    for (std::size_t i = 0; i < emu.size(); ++i)
        f.add_server(emu.id(i), emu.url(i), emu.token(i).value_or(""));
    auto results = run_on(ctx, f.get_butler_tasks());
    REQUIRE(results.size() == emu.size());
    for (const auto& r : results)
        CHECK(r.value.has_value());
    CHECK(f.stats().connections == emu.size());
    // Idle past idle_timeout (+ the scheduler's granularity): every connection is closed.
    const auto idle_from = std::chrono::steady_clock::now();
    for (int i = 0; i < 40 && f.stats().connections != 0; ++i) {
        ctx.restart();
        ctx.run_for(50ms);
    }
    CHECK(f.stats().connections == 0);
    CHECK(std::chrono::steady_clock::now() - idle_from >= 200ms); // not before idle_timeout
    // And the fleet still works: each server connects again.
    auto again = run_on(ctx, f.get_butler_tasks());
    for (const auto& r : again)
        CHECK(r.value.has_value());
    run_void(ctx, f.async_shutdown());
}
