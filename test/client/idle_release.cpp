// Idle connections free their buffers: when (the pool's timer, on the manual clock, over
// in-memory streams), and what it frees and whether the connection still works afterwards
// (over real sockets against the emulator, HTTP and HTTPS, where TLS connections are parked).

#include "client/client_impl.hpp"
#include "support/client_fixture.hpp"
#include "support/memory_server.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/emulator/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <catch2/catch.hpp>

#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace plexbutler;
using namespace plexbutler::test;
namespace asio = boost::asio;

namespace {

/// The emulator over HTTP or HTTPS (a self-signed certificate for 127.0.0.1 in a CA file).
struct release_emulator {
    explicit release_emulator(bool https, std::chrono::milliseconds server_idle = 10s)
        : ca(std::filesystem::temp_directory_path() /
             ("plexbutler-idle-release-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++) + ".pem")),
          srv(options(https, ca, server_idle))
    {
    }
    ~release_emulator() { std::filesystem::remove(ca); }

    static int& counter()
    {
        static int n = 0;
        return n;
    }

    static emulator::server_options options(bool https, const std::filesystem::path& ca, std::chrono::milliseconds idle)
    {
        emulator::server_options o;
        o.request_timeout = idle; // also how long the server keeps an idle connection
        if (https) {
            o.tls_self_signed_name = "127.0.0.1";
            o.tls_write_ca_file = ca.string();
        }
        return o;
    }

    plexbutler::client_options options_for_client(std::chrono::milliseconds release_after) const
    {
        plexbutler::client_options co;
        co.server_url = srv.url();
        co.ca_file = ca.string();
        co.release_idle_buffers_after = release_after;
        return co;
    }

    std::filesystem::path ca;
    emulator::server srv;
};

} // namespace

TEST_CASE("idle release: an idle connection frees its buffers after release_idle_buffers_after", "[client][idle]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(tasks_ok()).repeat());
    client_options o;
    o.release_idle_buffers_after = 1s;
    client c = server.make_client(o);
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    CHECK(c.stats().idle == 1);
    advance_clock(ctx, 900ms);
    CHECK(c.stats().idle_released == 0); // not yet
    advance_clock(ctx, 150ms);
    CHECK(settle(ctx, [&] { return c.stats().idle_released == 1; }));

    // Used again: the same connection, its buffers back, the response whole.
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(r->content.tasks.size() == 2);
    CHECK(c.stats().idle_released == 0);
    CHECK(c.stats().connections_created == 1);

    // Released again: the timer, armed by then for the idle eviction (30 s), is armed earlier.
    advance_clock(ctx, 1100ms);
    CHECK(settle(ctx, [&] { return c.stats().idle_released == 1; }));
    CHECK(c.stats().open == 1);
}

TEST_CASE("idle release: a pool tuned for a fleet frees the buffers as each request ends", "[client][idle][fleet]")
{
    for (const char* url : {"http://butler.test:32400", "https://butler.test:32400"}) {
        CAPTURE(url);
        asio::io_context ctx;
        memory_server server(ctx);
        server.set_default(script{}.respond(tasks_ok()).repeat());
        client_options o;
        o.server_url = url;
        o.release_idle_buffers_after = 1s; // not what decides: the pool releases at once
        detail::pool_tuning tuning;
        tuning.release_buffers_at_once = true;
        client c = server.make_client(o, tuning);
        for (int i = 0; i < 3; ++i) {
            auto r = run_on(ctx, c.try_get_butler_tasks());
            REQUIRE(r.has_value());
            CHECK(r->content.tasks.size() == 2); // the buffers are taken again for the next one
            drain(ctx);                          // no time passes
            CHECK(c.stats().idle == 1);
            CHECK(c.stats().idle_released == 1);
        }
        CHECK(c.stats().connections_created == 1);
    }
}

TEST_CASE("idle release: a connection used back to back keeps its buffers", "[client][idle]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(tasks_ok()).repeat());
    client_options o;
    o.release_idle_buffers_after = 1s;
    client c = server.make_client(o);
    for (int i = 0; i < 10; ++i) {
        REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
        advance_clock(ctx, 600ms); // twice 600 ms since the first use, but never 1 s since the last
        CHECK(c.stats().idle_released == 0);
    }
    CHECK(c.stats().connections_created == 1);
}

TEST_CASE("idle release: 0 keeps the buffers of idle connections", "[client][idle]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(tasks_ok()).repeat());
    client_options o;
    o.release_idle_buffers_after = 0ms;
    o.idle_timeout = 0ms;
    client c = server.make_client(o);
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    advance_clock(ctx, 60s);
    drain(ctx);
    CHECK(c.stats().idle_released == 0);
    CHECK(c.stats().idle == 1);
}

TEST_CASE("idle release: a negative delay is refused", "[client][idle]")
{
    asio::io_context ctx;
    client_options o;
    o.release_idle_buffers_after = -1ms;
    CHECK_THROWS_AS(client(ctx, o), std::invalid_argument);
}

TEST_CASE("idle release: released HTTP and HTTPS connections serve again, parked TLS included", "[client][idle][tls]")
{
    for (const bool https : {false, true}) {
        INFO((https ? "https" : "http"));
        release_emulator emu(https);
        asio::io_context ioc;
        client c(ioc, emu.options_for_client(10ms));
        for (int i = 0; i < 5; ++i) {
            auto r = run_on(ioc, c.try_get_butler_tasks());
            REQUIRE(r.has_value());
            CHECK(r->content.tasks == emulator::default_catalogue());
            CHECK(settle(ioc, [&] { return c.stats().idle_released == 1; }));
        }
        const auto st = c.stats();
        CHECK(st.connections_created == 1);
        CHECK(st.requests_retried == 0);
        CHECK(st.tls_handshakes == (https ? 1u : 0u));
    }
}

namespace {
/// Descriptors open in this process (the in-process emulator's included).
std::size_t open_descriptors()
{
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n - 1; // the directory iterator's own
}
} // namespace

TEST_CASE("idle release: a fleet's pool makes its first connection with the client, and connects it",
          "[client][idle][fleet][tls]")
{
    for (const bool https : {false, true}) {
        for (const bool ahead : {false, true}) {
            INFO((https ? "https" : "http") << (ahead ? ", made ahead" : ", made at connect"));
            release_emulator emu(https);
            asio::io_context ioc;
            asio::steady_timer reactor(ioc); // opens the io_context's own descriptors (epoll, ...)
            const auto before = open_descriptors();
            detail::pool_tuning tuning;
            tuning.release_buffers_at_once = true;
            tuning.prepare_first_connection = ahead;
            client c = detail::make_client(ioc.get_executor(), emu.options_for_client(10ms), tuning);
            // Made ahead: its socket is open (no TLS state yet); else nothing is open.
            CHECK(open_descriptors() == before + (ahead ? 1u : 0u));
            for (int i = 0; i < 3; ++i) {
                auto r = run_on(ioc, c.try_get_butler_tasks());
                REQUIRE(r.has_value());
                CHECK(r->content.tasks == emulator::default_catalogue());
                // One descriptor for the client's connection (no duplicate, no second socket) and
                // one for the emulator's end of it.
                CHECK(open_descriptors() == before + 2);
            }
            const auto st = c.stats();
            CHECK(st.connections_created == 1);
            CHECK(st.requests_retried == 0);
            CHECK(st.tls_handshakes == (https ? 1u : 0u));
        }
    }
}

TEST_CASE("idle release: a parked TLS connection the server closed is replaced", "[client][idle][tls]")
{
    release_emulator emu(true, 100ms); // the server drops connections idle for 100 ms
    asio::io_context ioc;
    client c(ioc, emu.options_for_client(10ms));
    REQUIRE(run_on(ioc, c.try_get_butler_tasks()).has_value());
    CHECK(settle(ioc, [&] { return c.stats().idle_released == 1; }));
    run_void(ioc, sleep_for(300ms)); // the server has closed it by now
    auto r = run_on(ioc, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(r->content.tasks == emulator::default_catalogue());
    CHECK(c.stats().connections_created == 2);
}

namespace {

struct release_tally {
    std::atomic<int> ok{0}, failed{0}, done{0};
};

// `n` lists, each after a pause of 0-8 ms: connections idle past their release time (1 ms) or
// their eviction (3 ms) between some of them and not others.
asio::awaitable<bool> release_churn(client& c, int id, int n)
{
    bool all = true;
    for (int i = 0; i < n; ++i) {
        co_await sleep_for(std::chrono::milliseconds((id * 7 + i * 3) % 9));
        auto r = co_await c.try_get_butler_tasks();
        all = all && r.has_value() && r->content.tasks == emulator::default_catalogue();
    }
    co_return all;
}

} // namespace

TEST_CASE("idle release: parking, waking, evicting and resuming from four threads", "[client][idle][tls][stress]")
{
    release_emulator emu(true);
    asio::io_context ctx(4);
    auto o = emu.options_for_client(1ms);
    o.idle_timeout = 3ms;
    o.request_timeout = 20s; // slow under sanitizers
    o.connect_timeout = 20s;
    client c(ctx, o);
    constexpr int coroutines = 6; // fewer than the 8 connections: some idle
    release_tally t;
    for (int i = 0; i < coroutines; ++i) {
        asio::co_spawn(ctx, release_churn(c, i, 15), [&t, &c](std::exception_ptr e, bool good) {
            (good && !e ? t.ok : t.failed).fetch_add(1);
            if (t.done.fetch_add(1) + 1 == coroutines)
                c.shutdown(); // lets run() return
        });
    }
    std::vector<std::thread> threads;
    for (int i = 1; i < 4; ++i)
        threads.emplace_back([&ctx] { ctx.run(); });
    ctx.run();
    for (auto& th : threads)
        th.join();
    CHECK(t.ok == coroutines);
    CHECK(t.failed == 0);
    const auto st = c.stats();
    CHECK(st.requests_served == coroutines * 15u);
    CHECK(st.connections_created > 8); // evicted and connected again
    CHECK(st.tls_resumed > 0);
    CHECK(st.tls_handshakes == st.connections_created);
    CHECK(st.open == 0);
    CHECK(st.idle_released == 0);
}

// Allocator statistics mean nothing under a sanitizer's allocator: not built there.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
namespace {

std::size_t release_heap_in_use()
{
    const auto m = ::mallinfo2();
    return m.uordblks + m.hblkhd;
}

} // namespace

TEST_CASE("idle release: what an idle connection frees", "[client][idle][tls]")
{
    for (const bool https : {false, true}) {
        INFO((https ? "https" : "http"));
        release_emulator emu(https);
        asio::io_context ioc;
        constexpr std::size_t n = 10;
        std::deque<client> clients;
        for (std::size_t i = 0; i < n; ++i)
            clients.emplace_back(ioc, emu.options_for_client(300ms));
        for (auto& c : clients)
            REQUIRE(run_on(ioc, c.try_get_butler_tasks()).has_value());
        const auto before = release_heap_in_use();
        CHECK(settle(ioc, [&] {
            std::size_t released = 0;
            for (auto& c : clients)
                released += c.stats().idle_released;
            return released == n;
        }));
        const auto after = release_heap_in_use();
        REQUIRE(after < before);
        // The 16 KiB read buffer and the response; over TLS also OpenSSL's two record buffers
        // (about 17 KiB each: the TLS layer has no buffers of its own).
        const auto freed = (before - after) / n;
        CHECK(freed >= (https ? 48u : 16u) * 1024);
    }
}
#endif
