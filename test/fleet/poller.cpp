// The fleet poller: change events against scripted and emulated servers.

#include "support/client_fixture.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/fleet.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <thread>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

butler_task poller_task(std::string name, double interval, bool enabled = true)
{
    butler_task t;
    t.name = std::move(name);
    t.interval = interval;
    t.enabled = enabled;
    t.schedule_randomized = false;
    t.title = *t.name;
    t.description = "Runs " + *t.name;
    return t;
}

std::string poller_body(std::vector<butler_task> tasks)
{
    butler_task_list l;
    l.tasks = std::move(tasks);
    return boost::json::serialize(boost::json::value_from(l));
}

fleet_options poller_options(std::chrono::milliseconds interval)
{
    fleet_options o;
    o.poll_interval = interval;
    o.backoff_initial = interval;
    o.backoff_max = interval * 4;
    o.defaults.request_timeout = 1s;
    o.defaults.connect_timeout = 500ms;
    return o;
}

// Receives every event of a fleet into `events` until the fleet shuts down.
asio::awaitable<void> poller_consume(fleet& f, std::vector<fleet_event>& events)
{
    for (;;) {
        auto r = co_await f.try_next_event();
        if (!r)
            co_return;
        events.push_back(std::move(*r));
    }
}

// The events of a fleet, received by one consumer coroutine on `ctx`.
struct poller_sink {
    poller_sink(asio::io_context& ctx, fleet& f) : ctx_(ctx)
    {
        asio::co_spawn(ctx, poller_consume(f, events_), asio::detached);
    }

    // Runs `ctx` until `n` more events arrived (or `limit` passed) and returns them.
    std::vector<fleet_event> next(std::size_t n, std::chrono::milliseconds limit = 10s)
    {
        settle(
            ctx_, [&] { return events_.size() >= taken_ + n; }, limit);
        auto end = std::min(events_.size(), taken_ + n);
        std::vector<fleet_event> out(events_.begin() + static_cast<std::ptrdiff_t>(taken_),
                                     events_.begin() + static_cast<std::ptrdiff_t>(end));
        taken_ = end;
        return out;
    }

    asio::io_context& ctx_;
    std::vector<fleet_event> events_;
    std::size_t taken_ = 0;
};

} // namespace

TEST_CASE("poller: a server's first poll reports it reachable, later polls report task changes in order",
          "[fleet][poller]")
{
    auto v1 = poller_body({poller_task("A", 1), poller_task("B", 3), poller_task("C", 7)});
    auto v2 = poller_body({poller_task("A", 1), poller_task("B", 5, false), poller_task("C", 7), poller_task("D", 2)});
    auto v3 = poller_body({poller_task("B", 5, false), poller_task("C", 7), poller_task("D", 2)});
    scripted_server server;
    server.push(script{}
                    .respond(http_response(200, v1))
                    .respond(http_response(200, v1))
                    .respond(http_response(200, v2))
                    .respond(http_response(200, v3))
                    .respond(http_response(200, v3))
                    .hang());
    asio::io_context ctx;
    fleet f(ctx, poller_options(50ms));
    f.add_server("one", server.url(), "secret-token-123");
    poller_sink sink(ctx, f);
    f.start_polling();
    auto events = sink.next(4);
    REQUIRE(events.size() == 4);
    CHECK(events[0].kind == fleet_event_kind::reachable);
    CHECK(events[0].server == "one");
    REQUIRE(events[0].tasks);
    CHECK(events[0].tasks->tasks.size() == 3);
    CHECK(events[1].kind == fleet_event_kind::task_changed);
    CHECK(events[1].task->name == "B");
    CHECK(events[1].previous->enabled == true);
    CHECK(events[1].task->enabled == false);
    CHECK(events[1].fields == std::vector<std::string>{"interval", "enabled"});
    CHECK(events[2].kind == fleet_event_kind::task_added);
    CHECK(events[2].task->name == "D");
    CHECK(events[3].kind == fleet_event_kind::task_removed);
    CHECK(events[3].task->name == "A");
    // No further event: the same list again changes nothing.
    CHECK(settle(
        ctx, [&] { return server.requests().size() >= 5; }, 5s));
    CHECK(sink.next(1, 100ms).empty());
    auto st = f.status();
    REQUIRE(st.size() == 1);
    CHECK(st[0].reachable);
    CHECK(st[0].tasks == 3);
    CHECK(st[0].polls >= 5);
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("poller: unreachable and reachable again, once each, and a failing server backs off", "[fleet][poller]")
{
    emulator::server_options eo;
    eo.token = "poll-token-12345";
    auto up = std::make_unique<emulator::server>(eo);
    const auto port = up->port();
    auto healthy = std::make_unique<emulator::server>(eo);

    asio::io_context ctx;
    fleet f(ctx, poller_options(100ms));
    f.add_server("flaky", up->url(), "poll-token-12345");
    f.add_server("healthy", healthy->url(), "poll-token-12345");
    poller_sink sink(ctx, f);
    f.start_polling();
    auto first = sink.next(2);
    REQUIRE(first.size() == 2);
    for (auto& e : first)
        CHECK(e.kind == fleet_event_kind::reachable);

    up.reset(); // the server goes away
    auto down = sink.next(1);
    REQUIRE(down.size() == 1);
    CHECK(down[0].kind == fleet_event_kind::unreachable);
    CHECK(down[0].server == "flaky");
    REQUIRE(down[0].error);
    CHECK((down[0].error->code == error::connect_failed || down[0].error->code == error::connection_closed));

    // While it is down: no more events, and it is polled less often than the healthy one.
    auto before = f.status();
    auto quiet = sink.next(1, 2s);
    CHECK(quiet.empty());
    auto after = f.status();
    auto flaky_polls = after[0].polls - before[0].polls;
    auto healthy_polls = after[1].polls - before[1].polls;
    CHECK(after[0].consecutive_failures >= 2);
    CHECK_FALSE(after[0].reachable);
    REQUIRE(after[0].last_error);
    CHECK(healthy_polls >= 10);
    CHECK(flaky_polls * 2 < healthy_polls);

    eo.port = port; // back on the same port
    up = std::make_unique<emulator::server>(eo);
    auto back = sink.next(1);
    REQUIRE(back.size() == 1);
    CHECK(back[0].kind == fleet_event_kind::reachable);
    CHECK(back[0].server == "flaky");
    CHECK(f.stats().poll_failures >= 2);
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("poller: a slow consumer loses no event, stop and start polling, removed servers are not polled",
          "[fleet][poller]")
{
    std::vector<std::unique_ptr<emulator::server>> servers;
    emulator::server_options eo;
    eo.token = "poll-token-12345";
    asio::io_context ctx;
    auto o = poller_options(50ms);
    o.event_capacity = 1;
    fleet f(ctx, o);
    for (int i = 0; i < 8; ++i) {
        servers.push_back(std::make_unique<emulator::server>(eo));
        f.add_server("s" + std::to_string(i), servers.back()->url(), "poll-token-12345");
    }
    f.start_polling();
    f.start_polling(); // idempotent
    // Let the pollers run with nobody reading: they wait for the consumer.
    settle(
        ctx, [] { return false; }, 500ms);
    CHECK(f.stats().events <= 1);
    poller_sink sink(ctx, f);
    auto events = sink.next(8);
    REQUIRE(events.size() == 8);
    std::map<std::string, int> per_server;
    for (auto& e : events) {
        CHECK(e.kind == fleet_event_kind::reachable);
        ++per_server[e.server];
    }
    CHECK(per_server.size() == 8);

    f.stop_polling();
    settle(
        ctx, [] { return false; }, 200ms);
    auto polls = f.stats().polls;
    settle(
        ctx, [] { return false; }, 300ms);
    CHECK(f.stats().polls == polls);

    CHECK(f.remove_server("s0"));
    f.start_polling();
    settle(
        ctx, [] { return false; }, 300ms);
    auto st = f.status();
    REQUIRE(st.size() == 7);
    for (auto& s : st)
        CHECK(s.polls > 1);
    CHECK(f.stats().polls > polls);
    CHECK(sink.next(1, 0ms).empty());
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("poller: polls, events, adds and removes from several threads", "[fleet][poller][stress]")
{
    std::vector<std::unique_ptr<emulator::server>> servers;
    emulator::server_options eo;
    eo.token = "poll-token-12345";
    for (int i = 0; i < 6; ++i)
        servers.push_back(std::make_unique<emulator::server>(eo));
    asio::io_context ctx;
    auto work = asio::make_work_guard(ctx);
    fleet f(ctx, poller_options(10ms));
    for (std::size_t i = 0; i < servers.size(); ++i)
        f.add_server("s" + std::to_string(i), servers[i]->url(), "poll-token-12345");
    f.start_polling();
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i)
        threads.emplace_back([&] { ctx.run(); });

    std::atomic<int> received{0};
    asio::co_spawn(
        ctx,
        [](fleet& fl, std::atomic<int>& count) -> asio::awaitable<void> {
            for (;;) {
                auto r = co_await fl.try_next_event();
                if (!r)
                    co_return;
                ++count;
            }
        }(f, received),
        asio::detached);

    const auto stop_at = std::chrono::steady_clock::now() + 1s;
    int round = 0;
    while (std::chrono::steady_clock::now() < stop_at) {
        auto id = "extra-" + std::to_string(round % 3);
        if (!f.remove_server(id))
            f.add_server(id, servers[static_cast<std::size_t>(round) % servers.size()]->url(), "poll-token-12345");
        CHECK(f.status().size() >= servers.size());
        (void)f.stats();
        if (round % 10 == 5)
            f.stop_polling();
        if (round % 10 == 7)
            f.start_polling();
        ++round;
        std::this_thread::sleep_for(5ms);
    }
    f.start_polling();
    f.shutdown();
    work.reset();
    for (auto& t : threads)
        t.join();
    CHECK(received.load() >= 6);
    CHECK(f.stats().polls > 6);
}

namespace {

asio::awaitable<std::vector<fleet_event>> poller_from_inside(fleet& f, std::string url)
{
    // Every call from a coroutine on the fleet's own executor: none may wait for itself.
    f.add_server("late", std::move(url), "poll-token-12345");
    f.start_polling();
    f.stop_polling();
    f.start_polling();
    std::vector<fleet_event> events;
    events.push_back(co_await f.next_event());
    CHECK(f.remove_server("late"));
    co_await f.async_shutdown();
    co_return events;
}

} // namespace

TEST_CASE("poller: the fleet is driven from a coroutine on its own executor", "[fleet][poller]")
{
    emulator::server_options eo;
    eo.token = "poll-token-12345";
    emulator::server srv(eo);
    asio::io_context ctx;
    fleet f(ctx, poller_options(50ms));
    auto events = run_on(ctx, poller_from_inside(f, srv.url()), 10s);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == fleet_event_kind::reachable);
    CHECK(events[0].server == "late");
}
