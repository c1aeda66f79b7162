// The fleet against an emulator fleet: hundreds of independent emulated servers in this process.

#include "support/client_fixture.hpp"

#include <plexbutler/emulator/fleet.hpp>
#include <plexbutler/fleet.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

constexpr std::size_t emulated_servers = 300;

emulator::fleet_options emulated_fleet_options(std::size_t n)
{
    emulator::fleet_options o;
    o.servers = n;
    o.server.window = {0, 0};
    o.server.task_duration = 60s;
    o.token_pattern = "token-{i}-abcdef";
    return o;
}

fleet_options emulated_client_options(std::chrono::milliseconds interval)
{
    fleet_options o;
    o.max_in_flight = 64;
    o.poll_interval = interval;
    o.backoff_initial = interval / 2;
    o.backoff_max = interval * 2;
    o.defaults.request_timeout = 2s;
    o.defaults.connect_timeout = 1s;
    return o;
}

void add_all(fleet& f, const emulator::fleet& emu)
{
    for (std::size_t i = 0; i < emu.size(); ++i)
        f.add_server(emu.id(i), emu.url(i), emu.token(i).value_or(""));
}

asio::awaitable<void> emulated_consume(fleet& f, std::vector<fleet_event>& events)
{
    for (;;) {
        auto r = co_await f.try_next_event();
        if (!r)
            co_return;
        events.push_back(std::move(*r));
    }
}

std::map<std::string, int> count_by_server(const std::vector<fleet_event>& events, std::size_t from,
                                           fleet_event_kind kind)
{
    std::map<std::string, int> out;
    for (std::size_t i = from; i < events.size(); ++i)
        if (events[i].kind == kind)
            ++out[events[i].server];
    return out;
}

} // namespace

TEST_CASE("fleet: one operation on 300 emulated servers, 10 % of them refusing the token", "[fleet][emulated]")
{
    auto eo = emulated_fleet_options(emulated_servers);
    eo.faults.unauthorized = true;
    eo.fault_fraction = 0.1;
    eo.fault_seed = 11;
    emulator::fleet emu(eo);
    auto refusing = emu.faulted();
    REQUIRE(refusing.size() == emulated_servers / 10);

    asio::io_context ctx;
    fleet f(ctx, emulated_client_options(1s));
    add_all(f, emu);
    auto results = run_on(ctx, f.start_task(task_name("BackupDatabase")));
    REQUIRE(results.size() == emulated_servers);
    std::set<std::size_t> refused;
    for (std::size_t i = 0; i < results.size(); ++i) {
        CHECK(results[i].server == emu.id(i));
        if (results[i].value) {
            CHECK(results[i].value->content == task_outcome::started);
        } else {
            CHECK(results[i].value.error().code == error::unauthorized);
            refused.insert(i);
        }
    }
    CHECK(refused == std::set<std::size_t>(refusing.begin(), refusing.end()));
    // Each server has its own state: the task runs exactly where it was started.
    for (std::size_t i : {0u, 1u, 2u}) {
        bool running = false;
        for (auto& t : emu.task_states(i))
            if (t.name == "BackupDatabase")
                running = t.state == emulator::task_state::running;
        CHECK(running == (refused.count(i) == 0));
    }
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("poller: 10 % of 300 emulated servers go down and come back, no event is lost or duplicated",
          "[fleet][emulated]")
{
    emulator::fleet emu(emulated_fleet_options(emulated_servers));
    asio::io_context ctx;
    fleet f(ctx, emulated_client_options(300ms));
    add_all(f, emu);
    std::vector<fleet_event> events;
    asio::co_spawn(ctx, emulated_consume(f, events), asio::detached);
    f.start_polling();

    // Every server is reachable, once.
    REQUIRE(settle(
        ctx, [&] { return events.size() >= emulated_servers; }, 20s));
    auto reachable = count_by_server(events, 0, fleet_event_kind::reachable);
    CHECK(reachable.size() == emulated_servers);
    CHECK(events.size() == emulated_servers);

    std::vector<std::size_t> down;
    for (std::size_t i = 3; i < emulated_servers; i += 10)
        down.push_back(i);
    for (auto i : down)
        emu.set_down(i, true);
    auto mark = events.size();
    REQUIRE(settle(
        ctx, [&] { return events.size() >= mark + down.size(); }, 20s));
    // Two more intervals: nothing else happens.
    settle(
        ctx, [] { return false; }, 700ms);
    auto unreachable = count_by_server(events, mark, fleet_event_kind::unreachable);
    CHECK(events.size() == mark + down.size());
    CHECK(unreachable.size() == down.size());
    for (auto i : down)
        CHECK(unreachable[emu.id(i)] == 1);

    for (auto i : down)
        emu.set_down(i, false);
    mark = events.size();
    REQUIRE(settle(
        ctx, [&] { return events.size() >= mark + down.size(); }, 20s));
    settle(
        ctx, [] { return false; }, 700ms);
    auto back = count_by_server(events, mark, fleet_event_kind::reachable);
    CHECK(events.size() == mark + down.size());
    CHECK(back.size() == down.size());
    for (auto i : down)
        CHECK(back[emu.id(i)] == 1);
    for (auto& s : f.status())
        CHECK(s.reachable);
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("poller: task added, removed and changed on emulated servers, each seen once where it happened",
          "[fleet][emulated]")
{
    emulator::fleet emu(emulated_fleet_options(50));
    asio::io_context ctx;
    fleet f(ctx, emulated_client_options(200ms));
    add_all(f, emu);
    std::vector<fleet_event> events;
    asio::co_spawn(ctx, emulated_consume(f, events), asio::detached);
    f.start_polling();
    REQUIRE(settle(
        ctx, [&] { return events.size() >= 50; }, 20s));
    auto mark = events.size();

    butler_task extra;
    extra.name = "EmulatedExtraTask";
    extra.interval = 2;
    extra.enabled = true;
    extra.schedule_randomized = false;
    extra.title = "Extra";
    extra.description = "Added by the test";
    emu.add_task(5, extra);
    REQUIRE(emu.remove_task(7, "BackupDatabase"));
    REQUIRE(emu.set_task_enabled(9, "OptimizeDatabase", false));
    REQUIRE(settle(
        ctx, [&] { return events.size() >= mark + 3; }, 10s));
    settle(
        ctx, [] { return false; }, 500ms);
    REQUIRE(events.size() == mark + 3);
    std::map<std::string, const fleet_event*> by_server;
    for (std::size_t i = mark; i < events.size(); ++i)
        by_server[events[i].server] = &events[i];
    REQUIRE(by_server.count(emu.id(5)));
    REQUIRE(by_server.count(emu.id(7)));
    REQUIRE(by_server.count(emu.id(9)));
    CHECK(by_server[emu.id(5)]->kind == fleet_event_kind::task_added);
    CHECK(by_server[emu.id(5)]->task->name == "EmulatedExtraTask");
    CHECK(by_server[emu.id(7)]->kind == fleet_event_kind::task_removed);
    CHECK(by_server[emu.id(7)]->task->name == "BackupDatabase");
    const auto* changed = by_server[emu.id(9)];
    CHECK(changed->kind == fleet_event_kind::task_changed);
    CHECK(changed->task->name == "OptimizeDatabase");
    CHECK(changed->fields == std::vector<std::string>{"enabled"});
    CHECK(changed->previous->enabled == true);
    CHECK(changed->task->enabled == false);
    run_void(ctx, f.async_shutdown());
}
