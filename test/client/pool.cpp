// Pool behaviour: reuse, stale keep-alive retry, idle eviction, retry policy, cancellation,
// deadlines while waiting, shutdown. The real client and pool run over in-memory streams
// (support/memory_transport.hpp) with a manual clock: time is moved, never waited for.
// The last cases run over loopback sockets, where threads and the kernel are part of the test.
#include "support/client_fixture.hpp"
#include "support/memory_server.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::experimental::awaitable_operators::operator||;
using asio::experimental::awaitable_operators::operator&&;

namespace {

// Spawns `a` on `ctx`; the returned slot fills when it completes.
template <class T>
std::shared_ptr<std::optional<T>> spawn(asio::io_context& ctx, asio::awaitable<T> a)
{
    auto out = std::make_shared<std::optional<T>>();
    asio::co_spawn(ctx, std::move(a), [out](std::exception_ptr e, T v) {
        if (e)
            std::rethrow_exception(e);
        out->emplace(std::move(v));
    });
    return out;
}

} // namespace

TEST_CASE("pool: a keep-alive connection closed by the server while idle is retried transparently", "[client][pool]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(script{}.respond(tasks_ok()).close());
    server.push(script{}.respond(tasks_ok()).repeat());
    client c = server.make_client();
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(c.stats().requests_retried == 1);
    CHECK(c.stats().connections_created == 2);
    CHECK(server.connections() == 2);
}

TEST_CASE("pool: idle connections are evicted after idle_timeout", "[client][pool]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(tasks_ok()).repeat());
    client_options o;
    o.idle_timeout = 200ms;
    client c = server.make_client(o);
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    CHECK(c.stats().idle == 1);
    advance_clock(ctx, 150ms);
    CHECK(c.stats().open == 1); // not yet
    advance_clock(ctx, 60ms);
    CHECK(settle(ctx, [&] { return c.stats().open == 0; }));
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    CHECK(c.stats().connections_created == 2);
    CHECK(c.stats().requests_retried == 0);
}

TEST_CASE("pool: retry policy retries 503 honouring Retry-After", "[client][pool][retry]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(
        script{}.respond(http_response(503, "busy", "text/plain", "Retry-After: 1\r\n")).respond(tasks_ok()).repeat());
    client_options o;
    o.retry.max_attempts = 3;
    o.retry.initial_interval = 10ms;
    client c = server.make_client(o);
    auto r = spawn(ctx, c.try_get_butler_tasks());
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    advance_clock(ctx, 900ms); // past the 10 ms backoff, not past Retry-After: 1
    CHECK_FALSE(*r);
    CHECK(server.requests().size() == 1);
    advance_clock(ctx, 100ms);
    REQUIRE(settle(ctx, [&] { return r->has_value(); }));
    REQUIRE((*r)->has_value());
    CHECK((*r)->value().content.tasks.size() == 2);
    CHECK(c.stats().requests_retried == 1);
    CHECK(server.requests().size() == 2);
}

TEST_CASE("pool: retry policy gives up after max_attempts, per-call override disables it", "[client][pool][retry]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(http_response(503, "")).repeat());
    client_options o;
    o.retry.max_attempts = 3;
    o.retry.initial_interval = 10ms;
    o.retry.jitter = 0;
    client c = server.make_client(o);
    auto r = spawn(ctx, c.try_stop_all_tasks());
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    advance_clock(ctx, 10ms);
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 2; }));
    advance_clock(ctx, 20ms); // the backoff doubled
    REQUIRE(settle(ctx, [&] { return r->has_value(); }));
    REQUIRE_FALSE((*r)->has_value());
    CHECK((*r)->error().code == error::server_error);
    CHECK((*r)->error().diag.http_status == 503);
    CHECK(server.requests().size() == 3);
    call_options once;
    once.retry = retry_policy{};
    auto r2 = run_on(ctx, c.try_stop_all_tasks(once));
    REQUIRE_FALSE(r2.has_value());
    CHECK(server.requests().size() == 4);
    CHECK(c.stats().requests_retried == 2);
}

TEST_CASE("pool: retry of connection errors", "[client][pool][retry]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(script{}.read_request().reset());
    server.push(script{}.respond(http_response(200, "")).repeat());
    client_options o;
    o.retry.max_attempts = 2;
    o.retry.initial_interval = 10ms;
    client c = server.make_client(o);
    auto r = spawn(ctx, c.try_start_task("BackupDatabase"));
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    advance_clock(ctx, 20ms);
    REQUIRE(settle(ctx, [&] { return r->has_value(); }));
    REQUIRE((*r)->has_value());
    CHECK((*r)->value().content == task_outcome::started);
    CHECK(c.stats().requests_retried == 1);
    CHECK(server.connections() == 2);
}

TEST_CASE("pool: a refused connect is retried and reported as connect_failed", "[client][pool][retry]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.refuse(2);
    server.set_default(script{}.respond(tasks_ok()).repeat());
    client_options o;
    o.retry.max_attempts = 2;
    o.retry.initial_interval = 10ms;
    client c = server.make_client(o);
    auto r = spawn(ctx, c.try_get_butler_tasks());
    advance_clock(ctx, 20ms);
    REQUIRE(settle(ctx, [&] { return r->has_value(); }));
    REQUIRE_FALSE((*r)->has_value());
    CHECK((*r)->error().code == error::connect_failed);
    CHECK(run_on(ctx, c.try_get_butler_tasks()).has_value()); // the third connect is accepted
}

TEST_CASE("pool: cancellation through || with a timer closes the connection and keeps the pool consistent",
          "[client][pool][cancel]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(script{}.read_request().hang());
    server.push(script{}.respond(tasks_ok()).repeat());
    client c = server.make_client();
    auto which = spawn(ctx, [](client& cl) -> asio::awaitable<std::size_t> {
        manual_timer t(co_await asio::this_coro::executor);
        t.expires_after(200ms);
        auto v = co_await (cl.get_butler_tasks() || t.async_wait(asio::use_awaitable));
        co_return v.index();
    }(c));
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    advance_clock(ctx, 200ms); // well before the request deadline
    REQUIRE(settle(ctx, [&] { return which->has_value(); }));
    CHECK(**which == 1);
    CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().open == 0; }));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(c.stats().busy == 0);
}

TEST_CASE("pool: cancelling a call reports error::cancelled", "[client][pool][cancel]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(script{}.read_request().hang());
    client c = server.make_client();
    asio::cancellation_signal sig;
    std::optional<boost::system::error_code> got;
    asio::co_spawn(ctx, c.try_start_all_tasks(),
                   asio::bind_cancellation_slot(sig.slot(), [&](std::exception_ptr, result<task_response> r) {
                       got = r ? boost::system::error_code{} : r.error().code;
                   }));
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    sig.emit(asio::cancellation_type::terminal);
    REQUIRE(settle(ctx, [&] { return got.has_value(); }));
    CHECK(*got == error::cancelled);
    CHECK(settle(ctx, [&] { return c.stats().busy == 0; }));
}

TEST_CASE("pool: waiters are served FIFO, time out, and can be cancelled", "[client][pool]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.read_request().pause(600ms).send(tasks_ok()).repeat());
    client_options o;
    o.max_connections = 1;
    client c = server.make_client(o);
    // The first call holds the only connection for 600 ms; a waiter with a 200 ms deadline times out.
    call_options short_deadline;
    short_deadline.timeout = 200ms;
    auto first = spawn(ctx, c.try_get_butler_tasks());
    auto waiter = spawn(ctx, c.try_get_butler_tasks(short_deadline));
    REQUIRE(settle(ctx, [&] { return c.stats().waiting == 1 && server.requests().size() == 1; }));
    advance_clock(ctx, 200ms);
    REQUIRE(settle(ctx, [&] { return waiter->has_value(); }));
    REQUIRE_FALSE((*waiter)->has_value());
    CHECK((*waiter)->error().code == error::timeout);
    CHECK((*waiter)->error().diag.server_message.find("waiting for a connection") != std::string::npos);
    CHECK_FALSE(*first);
    advance_clock(ctx, 400ms);
    REQUIRE(settle(ctx, [&] { return first->has_value(); }));
    CHECK((*first)->has_value());
    CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().waiting == 0; }));
    // FIFO: three queued calls complete in the order they asked.
    std::vector<int> order;
    for (int i = 0; i < 3; ++i)
        asio::co_spawn(ctx, c.try_get_butler_tasks(), [&order, i](std::exception_ptr, result<tasks_response> r) {
            if (r)
                order.push_back(i);
        });
    for (int i = 0; i < 3; ++i) {
        REQUIRE(settle(ctx, [&] { return server.requests().size() == static_cast<std::size_t>(2 + i); }));
        advance_clock(ctx, 600ms);
    }
    REQUIRE(settle(ctx, [&] { return order.size() == 3; }));
    CHECK(order == std::vector<int>{0, 1, 2});
    // A cancelled waiter leaves the queue; a cancelled in-flight request closes its connection.
    auto both = spawn(ctx, [](client& cl) -> asio::awaitable<std::size_t> {
        manual_timer t(co_await asio::this_coro::executor);
        t.expires_after(100ms);
        auto v = co_await ((cl.get_butler_tasks() && cl.get_butler_tasks()) || t.async_wait(asio::use_awaitable));
        co_return v.index();
    }(c));
    REQUIRE(settle(ctx, [&] { return c.stats().waiting == 1; }));
    advance_clock(ctx, 100ms);
    REQUIRE(settle(ctx, [&] { return both->has_value(); }));
    CHECK(**both == 1);
    CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().waiting == 0; }));
    const auto before = server.requests().size();
    auto r = spawn(ctx, c.try_get_butler_tasks());
    REQUIRE(settle(ctx, [&] { return server.requests().size() == before + 1; }));
    advance_clock(ctx, 600ms);
    REQUIRE(settle(ctx, [&] { return r->has_value(); }));
    CHECK((*r)->has_value());
    CHECK(c.stats().connections_created == 2);
}

TEST_CASE("pool: shutdown fails waiters with cancelled and later calls with client_shut_down", "[client][pool]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(script{}.read_request().pause(300ms).send(tasks_ok()).repeat());
    client_options o;
    o.max_connections = 1;
    client c = server.make_client(o);
    auto first = spawn(ctx, c.try_get_butler_tasks());
    auto second = spawn(ctx, c.try_get_butler_tasks());
    REQUIRE(settle(ctx, [&] { return c.stats().waiting == 1 && server.requests().size() == 1; }));
    run_void(ctx, c.async_shutdown()); // no clock moves: nothing waits for the server
    REQUIRE(settle(ctx, [&] { return first->has_value() && second->has_value(); }));
    REQUIRE_FALSE((*second)->has_value());
    CHECK((*second)->error().code == error::cancelled); // queued
    REQUIRE_FALSE((*first)->has_value());
    CHECK((*first)->error().code == error::client_shut_down); // in flight: aborted
    CHECK((*first)->error().diag.server_message == "client shut down");
    auto later = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(later.has_value());
    CHECK(later.error().code == error::client_shut_down);
    CHECK(settle(ctx, [&] { return c.stats().open == 0 && c.stats().busy == 0; }));
}

TEST_CASE("pool: async_shutdown with a drain lets operations in flight finish", "[client][pool][shutdown]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.read_request().pause(300ms).send(tasks_ok()).repeat());
    client c = server.make_client();
    auto a = spawn(ctx, c.try_get_butler_tasks());
    auto b = spawn(ctx, c.try_start_all_tasks());
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 2; }));
    bool shut = false;
    asio::co_spawn(ctx, c.async_shutdown(1000ms), [&](std::exception_ptr) { shut = true; });
    drain(ctx);
    auto late = run_on(ctx, c.try_get_butler_tasks()); // refused at once during the drain
    REQUIRE_FALSE(late.has_value());
    CHECK(late.error().code == error::client_shut_down);
    CHECK_FALSE(shut);
    advance_clock(ctx, 300ms); // the server answers both: the drain ends before its deadline
    REQUIRE(settle(ctx, [&] { return shut && a->has_value() && b->has_value(); }));
    CHECK((*a)->has_value());
    CHECK((*b)->has_value());
    CHECK(c.stats().open == 0);
}

TEST_CASE("pool: a drain deadline aborts what is still in flight", "[client][pool][shutdown]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.read_request().pause(5s).send(tasks_ok()).repeat());
    client c = server.make_client();
    auto a = spawn(ctx, c.try_get_butler_tasks());
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    bool shut = false;
    asio::co_spawn(ctx, c.async_shutdown(200ms), [&](std::exception_ptr) { shut = true; });
    advance_clock(ctx, 150ms);
    CHECK_FALSE(shut);
    CHECK_FALSE(*a);
    advance_clock(ctx, 60ms);
    REQUIRE(settle(ctx, [&] { return shut && a->has_value(); }));
    REQUIRE_FALSE((*a)->has_value());
    CHECK((*a)->error().code == error::client_shut_down);
}

TEST_CASE("pool: a shutdown ends a retry backoff", "[client][pool][shutdown][retry]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(http_response(503, "", "text/plain", "Retry-After: 5\r\n")).repeat());
    client_options o;
    o.retry.max_attempts = 3;
    client c = server.make_client(o);
    auto a = spawn(ctx, c.try_get_butler_tasks());
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    drain(ctx); // the operation now sleeps 5 s before its next attempt
    CHECK_FALSE(*a);
    c.shutdown();
    REQUIRE(settle(ctx, [&] { return a->has_value(); })); // no clock moves
    REQUIRE_FALSE((*a)->has_value());
    CHECK((*a)->error().code == error::client_shut_down);
    CHECK(server.requests().size() == 1);
}

TEST_CASE("pool: too many waiters", "[client][pool]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(script{}.read_request().pause(300ms).send(tasks_ok()).repeat());
    client_options o;
    o.max_connections = 1;
    o.max_waiters = 1;
    client c = server.make_client(o);
    std::vector<std::shared_ptr<std::optional<result<tasks_response>>>> out;
    for (int i = 0; i < 3; ++i)
        out.push_back(spawn(ctx, c.try_get_butler_tasks()));
    REQUIRE(settle(ctx, [&] { return out[2]->has_value() && server.requests().size() == 1; })); // rejected at once
    CHECK((*out[2])->error().code == error::too_many_waiters);
    advance_clock(ctx, 300ms);
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 2; }));
    advance_clock(ctx, 300ms);
    REQUIRE(settle(ctx, [&] { return out[0]->has_value() && out[1]->has_value(); }));
    CHECK((*out[0])->has_value());
    CHECK((*out[1])->has_value());
}

TEST_CASE("pool (loopback): a keep-alive connection closed by the server is retried transparently", "[client][pool]")
{
    scripted_server server;
    server.push(script{}.respond(tasks_ok()).close());
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    // Whether the FIN arrived before the next request or after it, the retry is the same.
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(c.stats().requests_retried == 1);
    CHECK(c.stats().connections_created == 2);
    CHECK(server.connections() == 2);
}

TEST_CASE("pool (loopback): shutdown with requests in flight against a slow server returns at once",
          "[client][pool][shutdown]")
{
    scripted_server server;
    server.set_default(script{}.read_request().pause(5000ms).send(tasks_ok()).repeat());
    for (bool by_destructor : {false, true}) {
        asio::io_context ctx;
        std::optional<client> c;
        c.emplace(ctx, options_for(server));
        std::vector<std::optional<result<tasks_response>>> out(3);
        for (auto& slot : out)
            asio::co_spawn(ctx, c->try_get_butler_tasks(),
                           [&slot](std::exception_ptr, result<tasks_response> r) { slot = std::move(r); });
        const auto before = server.requests().size();
        REQUIRE(settle(ctx, [&] { return server.requests().size() == before + 3; })); // all three sent
        const auto start = std::chrono::steady_clock::now();
        if (by_destructor)
            c.reset(); // the destructor shuts down too
        else
            c->shutdown();
        ctx.restart();
        ctx.run(); // returns once the aborted operations have failed: nothing is left
        const auto elapsed = std::chrono::steady_clock::now() - start;
        CHECK(elapsed < 1000ms); // the server would answer after 5 s
        for (auto& r : out) {
            REQUIRE(r.has_value());
            REQUIRE_FALSE(r->has_value());
            CHECK(r->error().code == error::client_shut_down);
        }
    }
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
