// Fleet operations against real emulated servers (and scripted ones for the hostile cases).

#include "support/client_fixture.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/fleet.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <memory>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

constexpr const char* ops_token = "fleet-token-1234";

std::unique_ptr<emulator::server> ops_emulator(std::chrono::milliseconds latency = 0ms, std::string token = ops_token)
{
    emulator::server_options o;
    o.token = std::move(token);
    o.latency = latency;
    o.task_duration = 60s;
    return std::make_unique<emulator::server>(o);
}

std::string ops_closed_url()
{
    std::uint16_t port = 0;
    {
        scripted_server s; // bind then release a port so nothing listens there
        port = s.port();
    }
    return "http://127.0.0.1:" + std::to_string(port);
}

fleet_options ops_options()
{
    fleet_options o;
    o.defaults.request_timeout = 2s;
    o.defaults.connect_timeout = 1s;
    return o;
}

} // namespace

TEST_CASE("fleet: an operation on every server returns one result per server, in order", "[fleet][ops]")
{
    std::vector<std::unique_ptr<emulator::server>> servers;
    for (int i = 0; i < 5; ++i)
        servers.push_back(ops_emulator());
    asio::io_context ctx;
    fleet f(ctx, ops_options());
    for (std::size_t i = 0; i < servers.size(); ++i)
        f.add_server("srv-" + std::to_string(i), servers[i]->url(), ops_token);
    CHECK(f.size() == 5);
    CHECK(f.servers() == std::vector<std::string>{"srv-0", "srv-1", "srv-2", "srv-3", "srv-4"});

    auto lists = run_on(ctx, f.get_butler_tasks());
    REQUIRE(lists.size() == 5);
    for (std::size_t i = 0; i < lists.size(); ++i) {
        CHECK(lists[i].server == "srv-" + std::to_string(i));
        REQUIRE(lists[i].value.has_value());
        CHECK(lists[i].value->content.tasks.size() == emulator::default_catalogue().size());
    }

    // Start one task on two servers only: the others are untouched.
    fleet_call_options only;
    only.only = {"srv-3", "srv-1"};
    auto started = run_on(ctx, f.start_task(task_name("BackupDatabase"), only));
    REQUIRE(started.size() == 2);
    CHECK(started[0].server == "srv-3");
    CHECK(started[1].server == "srv-1");
    for (auto& r : started) {
        REQUIRE(r.value.has_value());
        CHECK(r.value->content == task_outcome::started);
    }
    auto again = run_on(ctx, f.start_task(task_name("BackupDatabase")));
    REQUIRE(again.size() == 5);
    for (std::size_t i = 0; i < again.size(); ++i) {
        REQUIRE(again[i].value.has_value());
        bool was_started = i == 1 || i == 3;
        CHECK(again[i].value->content == (was_started ? task_outcome::already_running : task_outcome::started));
    }
    auto stopped = run_on(ctx, f.stop_all_tasks());
    for (auto& r : stopped) {
        REQUIRE(r.value.has_value());
        CHECK(r.value->content == task_outcome::stopped);
    }
    auto stop_one = run_on(ctx, f.stop_task(task_name("BackupDatabase")));
    for (auto& r : stop_one) {
        REQUIRE(r.value.has_value());
        CHECK(r.value->content == task_outcome::not_running);
    }
    auto all = run_on(ctx, f.start_all_tasks());
    for (auto& r : all)
        CHECK(r.value.has_value());
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("fleet: a server that is down, hangs or refuses the token does not affect the others", "[fleet][ops]")
{
    auto good1 = ops_emulator();
    auto good2 = ops_emulator();
    auto other_token = ops_emulator(0ms, "another-token-999");
    scripted_server hanging;
    hanging.set_default(script{}.hang());

    asio::io_context ctx;
    fleet f(ctx, ops_options());
    f.add_server("good1", good1->url(), ops_token);
    f.add_server("down", ops_closed_url(), ops_token);
    f.add_server("hangs", hanging.url(), ops_token);
    f.add_server("wrong-token", other_token->url(), ops_token);
    f.add_server("good2", good2->url(), ops_token);

    fleet_call_options opts;
    opts.call.timeout = 500ms;
    const auto t0 = std::chrono::steady_clock::now();
    auto results = run_on(ctx, f.get_butler_tasks(opts));
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    REQUIRE(results.size() == 5);
    CHECK(results[0].value.has_value());
    REQUIRE_FALSE(results[1].value.has_value());
    CHECK(results[1].value.error().code == error::connect_failed);
    REQUIRE_FALSE(results[2].value.has_value());
    CHECK(results[2].value.error().code == error::timeout);
    REQUIRE_FALSE(results[3].value.has_value());
    CHECK(results[3].value.error().code == error::unauthorized);
    CHECK(results[4].value.has_value());
    // The hanging server costs its own deadline, not one per server.
    CHECK(elapsed < 1500ms);

    // The fleet stays usable, and ids that are not in it are reported as such.
    fleet_call_options some;
    some.only = {"good2", "no-such-server"};
    auto again = run_on(ctx, f.get_butler_tasks(some));
    REQUIRE(again.size() == 2);
    CHECK(again[0].value.has_value());
    CHECK(again[1].server == "no-such-server");
    REQUIRE_FALSE(again[1].value.has_value());
    CHECK(again[1].value.error().code == error::unknown_server);
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("fleet: max_in_flight bounds the requests in flight across the fleet", "[fleet][ops]")
{
    std::vector<std::unique_ptr<emulator::server>> servers;
    for (int i = 0; i < 6; ++i)
        servers.push_back(ops_emulator(150ms));
    asio::io_context ctx;
    auto o = ops_options();
    o.max_in_flight = 2;
    fleet f(ctx, o);
    for (std::size_t i = 0; i < servers.size(); ++i)
        f.add_server("s" + std::to_string(i), servers[i]->url(), ops_token);

    std::size_t max_seen = 0;
    bool done = false;
    std::vector<server_result<tasks_response>> results;
    asio::co_spawn(ctx, f.get_butler_tasks(), [&](std::exception_ptr, std::vector<server_result<tasks_response>> r) {
        results = std::move(r);
        done = true;
    });
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(settle(
        ctx,
        [&] {
            max_seen = std::max(max_seen, f.stats().in_flight);
            return done;
        },
        10s));
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    CHECK(max_seen == 2);
    // Three waves of two requests, each at least the emulator's latency.
    CHECK(elapsed >= 450ms);
    REQUIRE(results.size() == 6);
    for (auto& r : results)
        CHECK(r.value.has_value());
    CHECK(f.stats().in_flight == 0);
}

TEST_CASE("fleet: cancelling an operation ends it with the results so far, the fleet stays usable", "[fleet][ops]")
{
    auto good = ops_emulator();
    scripted_server hanging;
    hanging.set_default(script{}.read_request().hang());
    asio::io_context ctx;
    fleet f(ctx, ops_options());
    f.add_server("good", good->url(), ops_token);
    f.add_server("hangs", hanging.url(), ops_token);

    asio::cancellation_signal cancel;
    bool done = false;
    std::vector<server_result<tasks_response>> results;
    asio::co_spawn(ctx, f.get_butler_tasks(),
                   asio::bind_cancellation_slot(
                       cancel.slot(), [&](std::exception_ptr e, std::vector<server_result<tasks_response>> r) {
                           CHECK_FALSE(e);
                           results = std::move(r);
                           done = true;
                       }));
    CHECK(settle(
        ctx, [&] { return hanging.wait_for_requests(1, 0ms) && f.stats().in_flight == 1; }, 5s));
    cancel.emit(asio::cancellation_type::terminal);
    CHECK(settle(
        ctx, [&] { return done; }, 5s));
    REQUIRE(results.size() == 2);
    CHECK(results[0].value.has_value());
    REQUIRE_FALSE(results[1].value.has_value());
    CHECK(results[1].value.error().code == error::cancelled);
    CHECK(f.stats().in_flight == 0);

    fleet_call_options only_good;
    only_good.only = {"good"};
    auto again = run_on(ctx, f.get_butler_tasks(only_good));
    REQUIRE(again.size() == 1);
    CHECK(again[0].value.has_value());
}

TEST_CASE("fleet: servers are added and removed at run time, ids are unique", "[fleet][ops]")
{
    auto a = ops_emulator();
    auto b = ops_emulator();
    asio::io_context ctx;
    fleet f(ctx, ops_options());
    f.add_server("a", a->url(), ops_token);
    CHECK_THROWS_AS(f.add_server("a", b->url(), ops_token), std::invalid_argument);
    CHECK_THROWS_AS(f.add_server("", b->url(), ops_token), std::invalid_argument);
    CHECK_THROWS_AS(f.add_server("bad-url", "ftp://x", ops_token), std::invalid_argument);
    client_options custom;
    custom.server_url = b->url();
    custom.token = ops_token;
    custom.max_connections = 1;
    f.add_server("b", custom);
    CHECK(f.servers() == std::vector<std::string>{"a", "b"});
    CHECK(f.remove_server("a"));
    CHECK_FALSE(f.remove_server("a"));
    CHECK(f.servers() == std::vector<std::string>{"b"});
    auto r = run_on(ctx, f.get_butler_tasks());
    REQUIRE(r.size() == 1);
    CHECK(r[0].server == "b");
    CHECK(r[0].value.has_value());
}

TEST_CASE("fleet: invalid options are refused, after shutdown operations report client_shut_down", "[fleet][ops]")
{
    asio::io_context ctx;
    fleet_options bad;
    bad.max_in_flight = 0;
    CHECK_THROWS_AS(fleet(ctx, bad), std::invalid_argument);
    bad = {};
    bad.poll_interval = 0ms;
    CHECK_THROWS_AS(fleet(ctx, bad), std::invalid_argument);
    bad = {};
    bad.backoff_max = 1ms;
    CHECK_THROWS_AS(fleet(ctx, bad), std::invalid_argument);
    bad = {};
    bad.event_capacity = 0;
    CHECK_THROWS_AS(fleet(ctx, bad), std::invalid_argument);

    auto a = ops_emulator();
    fleet f(ctx, ops_options());
    f.add_server("a", a->url(), ops_token);
    run_void(ctx, f.async_shutdown());
    run_void(ctx, f.async_shutdown()); // idempotent
    auto r = run_on(ctx, f.get_butler_tasks());
    REQUIRE(r.size() == 1);
    REQUIRE_FALSE(r[0].value.has_value());
    CHECK(r[0].value.error().code == error::client_shut_down);
    auto ev = run_on(ctx, f.try_next_event());
    REQUIRE_FALSE(ev.has_value());
    CHECK(ev.error().code == error::client_shut_down);
    CHECK_THROWS_AS(f.add_server("b", a->url(), ops_token), std::invalid_argument);
}
