// The fleet operations with completion tokens: a callback, use_future, deferred,
// as_tuple(use_awaitable), and cancellation through bind_cancellation_slot, against two
// in-process emulators (one refuses the fleet's token).
#include "support/client_fixture.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/fleet.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <type_traits>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

emulator::server_options fleet_token_emulator(std::string token, std::chrono::milliseconds latency = 0ms)
{
    emulator::server_options o;
    o.token = std::move(token);
    o.window = {0, 0};
    o.task_duration = 60s;
    o.latency = latency;
    return o;
}

fleet_call_options only_server(std::string id)
{
    fleet_call_options o;
    o.only = {std::move(id)};
    return o;
}

} // namespace

TEST_CASE("fleet tokens: callback, deferred, use_future and as_tuple", "[fleet][tokens]")
{
    emulator::server good(fleet_token_emulator("fleet-good-token"));
    emulator::server other(fleet_token_emulator("another-token-xyz"));
    asio::io_context ctx;
    fleet f(ctx);
    f.add_server("good", good.url(), "fleet-good-token");
    f.add_server("other", other.url(), "fleet-good-token"); // refused: 401

    static_assert(std::is_same_v<decltype(f.async_get_butler_tasks()),
                                 asio::awaitable<std::vector<server_result<tasks_response>>>>);

    // A callback: one result per server, in the order of servers().
    std::optional<std::vector<server_result<tasks_response>>> lists;
    f.async_get_butler_tasks({}, [&](std::vector<server_result<tasks_response>> r) { lists = std::move(r); });
    CHECK_FALSE(lists); // never inline
    REQUIRE(settle(
        ctx, [&] { return lists.has_value(); }, 10000ms));
    REQUIRE(lists->size() == 2);
    CHECK((*lists)[0].server == "good");
    REQUIRE((*lists)[0].value.has_value());
    CHECK((*lists)[0].value->content.tasks == emulator::default_catalogue());
    CHECK((*lists)[1].server == "other");
    REQUIRE_FALSE((*lists)[1].value.has_value());
    CHECK((*lists)[1].value.error().code == error::unauthorized);

    // deferred: nothing is sent until launched; then a callback.
    const auto served = good.requests_served();
    auto op = f.async_start_task(task_name(tasks::backup_database), only_server("good"), asio::deferred);
    ctx.restart();
    ctx.poll();
    CHECK(good.requests_served() == served);
    std::optional<std::vector<server_result<task_response>>> started;
    std::move(op)([&](std::vector<server_result<task_response>> r) { started = std::move(r); });
    REQUIRE(settle(
        ctx, [&] { return started.has_value(); }, 10000ms));
    REQUIRE(started->size() == 1);
    REQUIRE((*started)[0].value.has_value());
    CHECK((*started)[0].value->content == task_outcome::started);

    // use_future, the context run here until the future is ready.
    auto fut = f.async_stop_task(task_name(tasks::backup_database), {}, asio::use_future);
    REQUIRE(settle(
        ctx, [&] { return fut.wait_for(0s) == std::future_status::ready; }, 10000ms));
    auto stopped = fut.get();
    REQUIRE(stopped.size() == 2);
    REQUIRE(stopped[0].value.has_value());
    CHECK(stopped[0].value->content == task_outcome::stopped);
    CHECK(stopped[1].value.error().code == error::unauthorized);

    // as_tuple(use_awaitable), and the default token.
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto [all] = co_await f.async_start_all_tasks({}, asio::as_tuple(asio::use_awaitable));
        REQUIRE(all.size() == 2);
        CHECK(all[0].value.has_value());
        CHECK_FALSE(all[1].value.has_value());
        auto none = co_await f.async_stop_all_tasks(only_server("nobody"));
        REQUIRE(none.size() == 1);
        CHECK(none[0].value.error().code == error::unknown_server);
        co_await f.async_shutdown();
    }());
}

TEST_CASE("fleet tokens: bind_cancellation_slot cancels the requests in flight", "[fleet][tokens]")
{
    emulator::server slow(fleet_token_emulator("fleet-good-token", 5000ms));
    asio::io_context ctx;
    fleet f(ctx);
    f.add_server("slow", slow.url(), "fleet-good-token");
    asio::cancellation_signal signal;
    std::optional<std::vector<server_result<tasks_response>>> got;
    const auto started_at = std::chrono::steady_clock::now();
    f.async_get_butler_tasks({}, asio::bind_cancellation_slot(signal.slot(), [&](auto r) { got = std::move(r); }));
    asio::steady_timer t(ctx, 200ms);
    t.async_wait([&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
    REQUIRE(settle(
        ctx, [&] { return got.has_value(); }, 10000ms));
    CHECK(std::chrono::steady_clock::now() - started_at < 3s);
    REQUIRE(got->size() == 1);
    REQUIRE_FALSE((*got)[0].value.has_value());
    CHECK((*got)[0].value.error().code == error::cancelled);
    f.shutdown();
}

TEST_CASE("fleet tokens: call_options::diag is ignored by the fleet, each result has its failure", "[fleet][tokens]")
{
    emulator::server refusing(fleet_token_emulator("another-token-xyz"));
    asio::io_context ctx;
    fleet f(ctx);
    f.add_server("a", refusing.url(), "fleet-good-token");
    f.add_server("b", refusing.url(), "fleet-good-token");
    diagnostics diag;
    diag.server_message = "untouched";
    fleet_call_options opts;
    opts.call.diag = &diag; // shared by every server's request, so the fleet must not pass it on
    std::optional<std::vector<server_result<tasks_response>>> got;
    f.async_get_butler_tasks(opts, [&](std::vector<server_result<tasks_response>> r) { got = std::move(r); });
    REQUIRE(settle(
        ctx, [&] { return got.has_value(); }, 10000ms));
    REQUIRE(got->size() == 2);
    for (const auto& r : *got) {
        REQUIRE_FALSE(r.value.has_value());
        CHECK(r.value.error().diag.http_status == 401);
    }
    CHECK(diag.server_message == "untouched");
    CHECK(diag.http_status == 0);
    f.shutdown();
}
