// Pool behaviour over loopback: reuse, stale keep-alive retry, idle eviction, retry policy,
// cancellation, deadlines while waiting, shutdown.
#include "support/client_fixture.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

TEST_CASE("pool: a keep-alive connection closed by the server while idle is retried transparently", "[client][pool]")
{
    scripted_server server;
    server.push(script{}.respond(tasks_ok()).close());
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    run_void(ctx, sleep_for(100ms)); // let the FIN arrive
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(c.stats().requests_retried == 1);
    CHECK(c.stats().connections_created == 2);
    CHECK(server.connections() == 2);
}

TEST_CASE("pool: idle connections are evicted after idle_timeout", "[client][pool]")
{
    scripted_server server;
    server.set_default(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    auto o = options_for(server);
    o.idle_timeout = 200ms;
    client c(ctx, o);
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    CHECK(settle(ctx, [&] { return c.stats().idle == 1; }));
    CHECK(settle(ctx, [&] { return c.stats().open == 0; }, 3000ms));
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    CHECK(c.stats().connections_created == 2);
    CHECK(c.stats().requests_retried == 0);
}

TEST_CASE("pool: retry policy retries 503 honouring Retry-After", "[client][pool][retry]")
{
    scripted_server server;
    server.push(script{}.respond(http_response(503, "busy", "text/plain", "Retry-After: 1\r\n")).respond(tasks_ok()).repeat());
    asio::io_context ctx;
    auto o = options_for(server);
    o.retry.max_attempts = 3;
    o.retry.initial_interval = 10ms;
    client c(ctx, o);
    const auto start = std::chrono::steady_clock::now();
    auto r = run_on(ctx, c.try_get_butler_tasks());
    const auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(r.has_value());
    CHECK(r->content.tasks.size() == 2);
    CHECK(elapsed >= 900ms); // Retry-After: 1 was honoured over the 10 ms backoff
    CHECK(c.stats().requests_retried == 1);
    CHECK(server.requests().size() == 2);
}

TEST_CASE("pool: retry policy gives up after max_attempts; per-call override disables it", "[client][pool][retry]")
{
    scripted_server server;
    server.set_default(script{}.respond(http_response(503, "")).repeat());
    asio::io_context ctx;
    auto o = options_for(server);
    o.retry.max_attempts = 3;
    o.retry.initial_interval = 10ms;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_stop_all_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::server_error);
    CHECK(r.error().diag.http_status == 503);
    CHECK(server.requests().size() == 3);
    call_options once;
    once.retry = retry_policy{};
    r = run_on(ctx, c.try_stop_all_tasks(once));
    REQUIRE_FALSE(r.has_value());
    CHECK(server.requests().size() == 4);
    CHECK(c.stats().requests_retried == 2);
}

TEST_CASE("pool: retry of connection errors", "[client][pool][retry]")
{
    scripted_server server;
    server.push(script{}.read_request().reset());
    server.push(script{}.respond(http_response(200, "")).repeat());
    asio::io_context ctx;
    auto o = options_for(server);
    o.retry.max_attempts = 2;
    o.retry.initial_interval = 10ms;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_start_task("BackupDatabase"));
    REQUIRE(r.has_value());
    CHECK(r->content == task_outcome::started);
    CHECK(c.stats().requests_retried == 1);
}

TEST_CASE("pool: cancellation through || with a timer closes the connection and keeps the pool consistent",
          "[client][pool][cancel]")
{
    scripted_server server;
    server.push(script{}.read_request().hang());
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    const auto start = std::chrono::steady_clock::now();
    auto which = run_on(ctx, [&]() -> asio::awaitable<std::size_t> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(200ms);
        auto v = co_await (c.get_butler_tasks() || t.async_wait(asio::use_awaitable));
        co_return v.index();
    }());
    CHECK(which == 1);
    CHECK(std::chrono::steady_clock::now() - start < 1500ms); // well before the 2 s deadline
    CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().open == 0; }));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(c.stats().busy == 0);
}

TEST_CASE("pool: cancelling a call reports error::cancelled", "[client][pool][cancel]")
{
    scripted_server server;
    server.push(script{}.read_request().hang());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    auto code = run_on(ctx, [&]() -> asio::awaitable<boost::system::error_code> {
        asio::cancellation_signal sig;
        asio::steady_timer t(co_await asio::this_coro::executor);
        std::optional<boost::system::error_code> got;
        asio::co_spawn(co_await asio::this_coro::executor, c.try_start_all_tasks(),
                       asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr, result<task_response> r) {
                           got = r ? boost::system::error_code{} : r.error().code;
                       }));
        t.expires_after(150ms);
        co_await t.async_wait(asio::use_awaitable);
        sig.emit(asio::cancellation_type::terminal);
        while (!got) {
            t.expires_after(10ms);
            co_await t.async_wait(asio::use_awaitable);
        }
        co_return *got;
    }());
    CHECK(code == error::cancelled);
    CHECK(settle(ctx, [&] { return c.stats().busy == 0; }));
}

TEST_CASE("pool: waiters are served FIFO, time out, and can be cancelled", "[client][pool]")
{
    scripted_server server;
    server.set_default(script{}.read_request().pause(600ms).send(tasks_ok()).repeat());
    asio::io_context ctx;
    auto o = options_for(server);
    o.max_connections = 1;
    client c(ctx, o);
    run_void(ctx, [&]() -> asio::awaitable<void> {
        // First call holds the only connection for ~600 ms; a waiter with a 200 ms deadline times out.
        asio::steady_timer t(co_await asio::this_coro::executor);
        call_options short_deadline;
        short_deadline.timeout = 200ms;
        auto both = co_await (c.try_get_butler_tasks() || c.try_get_butler_tasks(short_deadline));
        // `||` finishes when the first completes: that is the waiter's timeout.
        REQUIRE(both.index() == 1);
        auto& w = std::get<1>(both);
        REQUIRE_FALSE(w.has_value());
        CHECK(w.error().code == error::timeout);
        CHECK(w.error().diag.server_message.find("waiting for a connection") != std::string::npos);
    }());
    CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().waiting == 0; }));
    // Cancelled waiter leaves the queue.
    run_void(ctx, [&]() -> asio::awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(100ms);
        auto v = co_await ((c.get_butler_tasks() && c.get_butler_tasks()) || t.async_wait(asio::use_awaitable));
        CHECK(v.index() == 1);
    }());
    CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().waiting == 0; }));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    CHECK(r.has_value());
    // Each cancelled in-flight request closed its connection.
    CHECK(c.stats().connections_created == 3);
}

TEST_CASE("pool: shutdown fails waiters with cancelled and later calls with client_shut_down", "[client][pool]")
{
    scripted_server server;
    server.push(script{}.read_request().pause(300ms).send(tasks_ok()).repeat());
    asio::io_context ctx;
    auto o = options_for(server);
    o.max_connections = 1;
    client c(ctx, o);
    std::optional<result<tasks_response>> first, second;
    asio::co_spawn(ctx, c.try_get_butler_tasks(), [&](std::exception_ptr, result<tasks_response> r) { first = std::move(r); });
    asio::co_spawn(ctx, c.try_get_butler_tasks(), [&](std::exception_ptr, result<tasks_response> r) { second = std::move(r); });
    REQUIRE(settle(ctx, [&] { return c.stats().waiting == 1; }));
    run_void(ctx, c.async_shutdown());
    REQUIRE(settle(ctx, [&] { return first && second; }));
    CHECK(first->has_value()); // in flight: completes normally
    REQUIRE_FALSE(second->has_value());
    CHECK(second->error().code == error::cancelled);
    auto later = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(later.has_value());
    CHECK(later.error().code == error::client_shut_down);
    CHECK(settle(ctx, [&] { return c.stats().open == 0 && c.stats().busy == 0; }));
}

TEST_CASE("pool: too many waiters", "[client][pool]")
{
    scripted_server server;
    server.push(script{}.read_request().pause(300ms).send(tasks_ok()).repeat());
    asio::io_context ctx;
    auto o = options_for(server);
    o.max_connections = 1;
    o.max_waiters = 1;
    client c(ctx, o);
    std::vector<std::optional<result<tasks_response>>> out(3);
    for (auto& slot : out)
        asio::co_spawn(ctx, c.try_get_butler_tasks(), [&slot](std::exception_ptr, result<tasks_response> r) { slot = std::move(r); });
    REQUIRE(settle(ctx, [&] { return out[0] && out[1] && out[2]; }, 5000ms));
    int ok = 0, rejected = 0;
    for (auto& r : out) {
        if (r->has_value())
            ++ok;
        else if (r->error().code == error::too_many_waiters)
            ++rejected;
    }
    CHECK(ok == 2);
    CHECK(rejected == 1);
}

TEST_CASE("pool: operations resume on the awaiting coroutine's executor", "[client][pool]")
{
    scripted_server server;
    server.set_default(script{}.respond(tasks_ok()).repeat());
    // The client's I/O runs on its own io_context and thread; the caller runs on another.
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    std::thread io_thread([&io] { io.run(); });
    asio::io_context caller;
    auto o = options_for(server);
    o.max_connections = 1; // the second of two concurrent calls waits in the pool queue
    client c(io.get_executor(), o);
    int on_caller = 0;
    run_void(caller, [&]() -> asio::awaitable<void> {
        for (int i = 0; i < 5; ++i) {
            auto r = co_await c.try_get_butler_tasks();
            CHECK(r.has_value());
            on_caller += caller.get_executor().running_in_this_thread() ? 1 : 0;
            auto s = co_await c.try_start_task("No such task"); // invalid name: fails before any I/O
            CHECK_FALSE(s.has_value());
            on_caller += caller.get_executor().running_in_this_thread() ? 1 : 0;
        }
        auto [a, b] = co_await (c.try_get_butler_tasks() && c.try_get_butler_tasks());
        CHECK((a.has_value() && b.has_value()));
        on_caller += caller.get_executor().running_in_this_thread() ? 1 : 0;
        call_options tiny;
        tiny.timeout = std::chrono::milliseconds{1};
        (void)co_await c.try_get_butler_tasks(tiny); // may time out anywhere
        on_caller += caller.get_executor().running_in_this_thread() ? 1 : 0;
    }());
    CHECK(on_caller == 12);
    c.shutdown();
    guard.reset();
    io_thread.join();
}
