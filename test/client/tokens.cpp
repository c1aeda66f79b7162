// The async_* operations with completion tokens other than the default: a plain callback,
// use_future (the io_context on another thread), deferred, as_tuple(use_awaitable), and
// cancellation through bind_cancellation_slot. The real client against the in-process emulator
// over loopback sockets; failures: a wrong token (401), an invalid task name, an unknown task.
#include "support/client_fixture.hpp"

#include <plexbutler/emulator/server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>
#include <thread>
#include <type_traits>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

constexpr std::string_view emulator_token = "tokens-test-token";

emulator::server_options token_emulator_options(std::chrono::milliseconds latency = 0ms)
{
    emulator::server_options o;
    o.token = std::string(emulator_token);
    o.window = {0, 0}; // no maintenance window: a start runs at once
    o.task_duration = 60s;
    o.latency = latency;
    return o;
}

client_options token_client_options(const emulator::server& srv, std::string_view token = emulator_token)
{
    client_options o;
    o.server_url = srv.url();
    o.token = std::string(token);
    o.request_timeout = 10s;
    return o;
}

// Runs `ctx` until `done` or 10 s.
template <class Pred>
bool run_until(asio::io_context& ctx, Pred done)
{
    return settle(ctx, done, 10000ms);
}

// An io_context run by its own thread until the guard is released (the use_future tests).
struct background_context {
    asio::io_context ctx;
    asio::executor_work_guard<asio::io_context::executor_type> guard{ctx.get_executor()};
    std::thread thread{[this] { ctx.run(); }};

    ~background_context()
    {
        guard.reset();
        thread.join();
    }

    // Waits until the thread has finished what it was doing (a completed operation releases
    // its promise there); without it, the exception a future rethrows here may be freed there
    // through libstdc++'s reference count, which ThreadSanitizer cannot see.
    void drain() { asio::post(ctx, asio::use_future).get(); }
};

} // namespace

TEST_CASE("tokens: the default token is the plain awaitable operation", "[client][tokens]")
{
    static_assert(
        std::is_same_v<decltype(std::declval<client&>().async_get_butler_tasks()), asio::awaitable<tasks_response>>);
    static_assert(
        std::is_same_v<decltype(std::declval<client&>().async_start_task("X")), asio::awaitable<task_response>>);
    static_assert(
        std::is_same_v<decltype(std::declval<client&>().async_refresh_butler_tasks(std::declval<tasks_response&>())),
                       asio::awaitable<void>>);
    emulator::server srv(token_emulator_options());
    asio::io_context ctx;
    client good(ctx, token_client_options(srv));
    client bad(ctx, token_client_options(srv, "wrong-token-1234"));
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto list = co_await good.async_get_butler_tasks();
        CHECK(list.content.tasks == emulator::default_catalogue());
        auto r = co_await good.async_start_task(task_name(tasks::backup_database));
        CHECK(r.content == task_outcome::started);
        tasks_response refreshed;
        co_await good.async_refresh_butler_tasks(refreshed);
        CHECK(refreshed.content.tasks.size() == list.content.tasks.size());
        // A failure throws butler_error, with the diagnostics the plain operations have.
        bool threw = false;
        try {
            co_await bad.async_get_butler_tasks();
        } catch (const butler_error& e) {
            threw = true;
            CHECK(e.code() == error::unauthorized);
            CHECK(e.diag().http_status == 401);
            CHECK(e.diag().request_line == "GET /butler");
        }
        CHECK(threw);
    }());
}

TEST_CASE("tokens: a callback receives the code and the response, never inline", "[client][tokens]")
{
    emulator::server srv(token_emulator_options());
    asio::io_context ctx;
    client c(ctx, token_client_options(srv));

    std::optional<boost::system::error_code> list_ec;
    tasks_response list;
    c.async_get_butler_tasks([&](boost::system::error_code ec, tasks_response r) {
        list_ec = ec;
        list = std::move(r);
    });
    std::optional<boost::system::error_code> start_ec;
    task_response start;
    c.async_start_task(tasks::optimize_database, [&](boost::system::error_code ec, task_response r) {
        start_ec = ec;
        start = std::move(r);
    });
    CHECK_FALSE(list_ec); // initiating never completes inline
    CHECK_FALSE(start_ec);
    REQUIRE(run_until(ctx, [&] { return list_ec && start_ec; }));
    CHECK_FALSE(*list_ec);
    CHECK(list.status == 200);
    CHECK(list.content.tasks == emulator::default_catalogue());
    CHECK_FALSE(*start_ec);
    CHECK(start.status == 200);
    CHECK(start.content == task_outcome::started);

    // Stopping a task that is not running is an outcome, not an error.
    std::optional<boost::system::error_code> stop_ec;
    task_response stop;
    c.async_stop_task(task_name(tasks::backup_database), call_options{},
                      [&](boost::system::error_code ec, task_response r) {
                          stop_ec = ec;
                          stop = std::move(r);
                      });
    REQUIRE(run_until(ctx, [&] { return stop_ec.has_value(); }));
    CHECK_FALSE(*stop_ec);
    CHECK(stop.content == task_outcome::not_running);
    CHECK(stop.status == 404);

    // refresh_butler_tasks refills the caller's response, reusing its storage.
    std::optional<boost::system::error_code> refresh_ec;
    const auto* records = list.content.tasks.data();
    c.async_refresh_butler_tasks(list, [&](boost::system::error_code ec) { refresh_ec = ec; });
    REQUIRE(run_until(ctx, [&] { return refresh_ec.has_value(); }));
    CHECK_FALSE(*refresh_ec);
    CHECK(list.content.tasks == emulator::default_catalogue());
    CHECK(list.content.tasks.data() == records);
}

TEST_CASE("tokens: a callback gets the failure's code, call_options::diag its diagnostics", "[client][tokens]")
{
    emulator::server srv(token_emulator_options());
    asio::io_context ctx;
    client bad(ctx, token_client_options(srv, "wrong-token-1234"));
    client good(ctx, token_client_options(srv));

    diagnostics diag;
    std::optional<boost::system::error_code> ec401;
    tasks_response r401;
    r401.status = 7; // replaced by the default response on failure
    bad.async_get_butler_tasks(with_diag(diag), [&](boost::system::error_code ec, tasks_response r) {
        ec401 = ec;
        r401 = std::move(r);
    });
    REQUIRE(run_until(ctx, [&] { return ec401.has_value(); }));
    CHECK(*ec401 == error::unauthorized);
    CHECK(r401.status == 0);
    CHECK(diag.http_status == 401);
    REQUIRE(diag.plex_errors.size() == 1);
    CHECK(diag.plex_errors[0].code == 1001);
    CHECK(diag.request_line == "GET /butler");
    CHECK(diag.describe(*ec401).find("wrong-token") == std::string::npos);

    // An invalid name fails before any I/O, with the offending byte in the diagnostics.
    const auto served = srv.requests_served();
    diagnostics name_diag;
    std::optional<boost::system::error_code> ec_name;
    good.async_start_task("Foo/Bar", with_diag(name_diag),
                          [&](boost::system::error_code ec, task_response) { ec_name = ec; });
    REQUIRE(run_until(ctx, [&] { return ec_name.has_value(); }));
    CHECK(*ec_name == error::invalid_task_name);
    CHECK(name_diag.server_message.find("'/' at position 3") != std::string::npos);
    CHECK(srv.requests_served() == served);

    // An unknown task on start is not_found; a success leaves the diagnostics alone.
    diagnostics diag404;
    std::optional<boost::system::error_code> ec404;
    good.async_start_task("NoSuchTaskHere", with_diag(diag404),
                          [&](boost::system::error_code ec, task_response) { ec404 = ec; });
    REQUIRE(run_until(ctx, [&] { return ec404.has_value(); }));
    CHECK(*ec404 == error::not_found);
    CHECK(diag404.http_status == 404);
    CHECK(diag404.request_line == "POST /butler/NoSuchTaskHere");
    std::optional<boost::system::error_code> ec_ok;
    good.async_start_all_tasks(with_diag(diag404), [&](boost::system::error_code ec, task_response) { ec_ok = ec; });
    REQUIRE(run_until(ctx, [&] { return ec_ok.has_value(); }));
    CHECK_FALSE(*ec_ok);
    CHECK(diag404.http_status == 404);

    // Invalid call options throw from the initiating function, as the awaitable forms do.
    call_options invalid;
    invalid.retry = retry_policy{};
    invalid.retry->max_attempts = 0;
    bool called = false;
    CHECK_THROWS_AS(
        good.async_stop_all_tasks(invalid, [&](boost::system::error_code, task_response) { called = true; }),
        std::invalid_argument);
    ctx.restart();
    ctx.poll();
    CHECK_FALSE(called);
}

TEST_CASE("tokens: use_future with the io_context on another thread", "[client][tokens]")
{
    emulator::server srv(token_emulator_options());
    background_context bg;
    {
        client c(bg.ctx, token_client_options(srv));
        client bad(bg.ctx, token_client_options(srv, "wrong-token-1234"));

        std::future<tasks_response> list = c.async_get_butler_tasks(asio::use_future);
        REQUIRE(list.wait_for(10s) == std::future_status::ready);
        CHECK(list.get().content.tasks == emulator::default_catalogue());

        auto start = c.async_start_task(tasks::backup_database, asio::use_future);
        REQUIRE(start.wait_for(10s) == std::future_status::ready);
        CHECK(start.get().content == task_outcome::started);
        auto again = c.async_start_task(tasks::backup_database, asio::use_future);
        REQUIRE(again.wait_for(10s) == std::future_status::ready);
        auto r = again.get();
        CHECK(r.content == task_outcome::already_running);
        CHECK(r.status == 202);

        // A failure is the future's exception: a system_error with the code.
        auto unauthorized = bad.async_stop_all_tasks(asio::use_future);
        REQUIRE(unauthorized.wait_for(10s) == std::future_status::ready);
        bg.drain();
        try {
            unauthorized.get();
            FAIL("a 401 must fail the future");
        } catch (const boost::system::system_error& e) {
            CHECK(e.code() == error::unauthorized);
        }
        auto invalid = c.async_stop_task("..", asio::use_future);
        REQUIRE(invalid.wait_for(10s) == std::future_status::ready);
        bg.drain();
        try {
            invalid.get();
            FAIL("an invalid task name must fail the future");
        } catch (const boost::system::system_error& e) {
            CHECK(e.code() == error::invalid_task_name);
        }
        c.shutdown();
        bad.shutdown();
    }
}

TEST_CASE("tokens: deferred starts nothing until it is launched, and owns its arguments", "[client][tokens]")
{
    emulator::server srv(token_emulator_options());
    asio::io_context ctx;
    client c(ctx, token_client_options(srv));
    client bad(ctx, token_client_options(srv, "wrong-token-1234"));

    auto list_op = c.async_get_butler_tasks(asio::deferred);
    // The name is a temporary longer than std::string's inline buffer: gone before the launch.
    auto start_op = c.async_start_task(std::string("GenerateMediaIndexFiles"), asio::deferred);
    auto fail_op = bad.async_start_all_tasks(asio::deferred);
    auto invalid_op = c.async_stop_task(std::string("bad name"), asio::deferred);
    ctx.restart();
    ctx.poll();
    CHECK(srv.requests_served() == 0);

    std::optional<boost::system::error_code> list_ec, start_ec, fail_ec, invalid_ec;
    std::size_t tasks = 0;
    task_outcome outcome = task_outcome::accepted;
    std::move(list_op)([&](boost::system::error_code ec, tasks_response r) {
        list_ec = ec;
        tasks = r.content.tasks.size();
    });
    std::move(start_op)([&](boost::system::error_code ec, task_response r) {
        start_ec = ec;
        outcome = r.content;
    });
    std::move(fail_op)([&](boost::system::error_code ec, task_response) { fail_ec = ec; });
    std::move(invalid_op)([&](boost::system::error_code ec, task_response) { invalid_ec = ec; });
    REQUIRE(run_until(ctx, [&] { return list_ec && start_ec && fail_ec && invalid_ec; }));
    CHECK_FALSE(*list_ec);
    CHECK(tasks == emulator::default_catalogue().size());
    CHECK_FALSE(*start_ec);
    CHECK(outcome == task_outcome::started);
    CHECK(*fail_ec == error::unauthorized);
    CHECK(*invalid_ec == error::invalid_task_name);
    CHECK(srv.requests_served() == 3);

    // A deferred operation composes like any other: launched with use_future here.
    auto stop_op = c.async_stop_task(tasks::generate_media_index_files, asio::deferred);
    auto stopped = std::move(stop_op)(asio::use_future);
    REQUIRE(run_until(ctx, [&] { return stopped.wait_for(0s) == std::future_status::ready; }));
    CHECK(stopped.get().content == task_outcome::stopped);
}

TEST_CASE("tokens: as_tuple(use_awaitable) returns failures as codes, without exceptions", "[client][tokens]")
{
    emulator::server srv(token_emulator_options());
    asio::io_context ctx;
    client c(ctx, token_client_options(srv));
    client bad(ctx, token_client_options(srv, "wrong-token-1234"));
    run_void(ctx, [&]() -> asio::awaitable<void> {
        const auto tuple = asio::as_tuple(asio::use_awaitable);
        auto [ec, list] = co_await c.async_get_butler_tasks(tuple);
        CHECK_FALSE(ec);
        CHECK(list.content.tasks == emulator::default_catalogue());

        auto [ec_start, started] = co_await c.async_start_task(tasks::refresh_libraries, tuple);
        CHECK_FALSE(ec_start);
        CHECK(started.content == task_outcome::started);

        diagnostics diag;
        auto [ec401, none] = co_await bad.async_get_butler_tasks(with_diag(diag), tuple);
        CHECK(ec401 == error::unauthorized);
        CHECK(none.content.tasks.empty());
        CHECK(diag.http_status == 401);

        auto [ec_name, r_name] = co_await c.async_start_task("Foo?Bar", tuple);
        CHECK(ec_name == error::invalid_task_name);
        CHECK(r_name.status == 0);

        auto [ec404, r404] = co_await c.async_start_task("NoSuchTaskHere", tuple);
        CHECK(ec404 == error::not_found);

        tasks_response kept;
        auto [ec_refresh] = co_await c.async_refresh_butler_tasks(kept, tuple);
        CHECK_FALSE(ec_refresh);
        CHECK(kept.content.tasks.size() == emulator::default_catalogue().size());
        auto [ec_refresh401] = co_await bad.async_refresh_butler_tasks(kept, tuple);
        CHECK(ec_refresh401 == error::unauthorized);
        CHECK(kept.content.tasks.empty()); // reset on failure, as refresh_butler_tasks does

        auto [ec_stop_all, r_stop_all] = co_await c.async_stop_all_tasks(tuple);
        CHECK_FALSE(ec_stop_all);
        CHECK(r_stop_all.content == task_outcome::stopped);
    }());
}

TEST_CASE("tokens: bind_cancellation_slot cancels an operation in flight", "[client][tokens]")
{
    // Every response is delayed by 5 s: the operation is surely in flight when it is cancelled.
    emulator::server srv(token_emulator_options(5000ms));
    asio::io_context ctx;
    client c(ctx, token_client_options(srv));

    asio::cancellation_signal signal;
    diagnostics diag;
    std::optional<boost::system::error_code> got;
    const auto started_at = std::chrono::steady_clock::now();
    c.async_get_butler_tasks(
        with_diag(diag),
        asio::bind_cancellation_slot(signal.slot(), [&](boost::system::error_code ec, tasks_response) { got = ec; }));
    asio::steady_timer t(ctx, 200ms);
    t.async_wait([&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
    REQUIRE(run_until(ctx, [&] { return got.has_value(); }));
    CHECK(*got == error::cancelled);
    CHECK(std::chrono::steady_clock::now() - started_at < 3s);
    CHECK(diag.request_line == "GET /butler");
    // The connection in use was closed; the pool is healthy.
    REQUIRE(settle(ctx, [&] { return c.stats().busy == 0; }));
    CHECK(c.stats().open == 0);
}

TEST_CASE("tokens: a callback and an awaiting coroutine react to the same cancellation types", "[client][tokens]")
{
    // Responses are delayed by 1 s; the cancellation comes after 100 ms, during the exchange.
    emulator::server srv(token_emulator_options(1000ms));
    asio::io_context ctx;
    client c(ctx, token_client_options(srv));
    const auto type =
        GENERATE(asio::cancellation_type::terminal, asio::cancellation_type::partial, asio::cancellation_type::total);
    CAPTURE(static_cast<int>(type));

    asio::cancellation_signal by_callback, by_coroutine;
    std::optional<boost::system::error_code> callback_ec, coroutine_ec;
    c.async_start_all_tasks(asio::bind_cancellation_slot(
        by_callback.slot(), [&](boost::system::error_code ec, task_response) { callback_ec = ec; }));
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> {
            // The awaiting coroutine lets every type through to the operation.
            co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
            auto r = co_await c.try_start_all_tasks();
            coroutine_ec = r ? boost::system::error_code{} : r.error().code;
        },
        asio::bind_cancellation_slot(by_coroutine.slot(), asio::detached));
    asio::steady_timer t(ctx, 100ms);
    t.async_wait([&](boost::system::error_code) {
        by_callback.emit(type);
        by_coroutine.emit(type);
    });
    REQUIRE(run_until(ctx, [&] { return callback_ec && coroutine_ec; }));
    CHECK(*callback_ec == *coroutine_ec);
    // Terminal cancellation closes the connection and fails the operation; partial and total
    // cancellation promise no side effect, which a request already sent cannot keep: ignored.
    if (type == asio::cancellation_type::terminal)
        CHECK(*callback_ec == error::cancelled);
    else
        CHECK_FALSE(*callback_ec);
}
