// Cheap connections over real sockets, against the in-process emulator on loopback: a reconnect
// resumes the TLS session of the connection before it, idle connections free their buffers
// (parked TLS included) and work again afterwards.

#include "support/client_fixture.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/emulator/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <exception>
#include <filesystem>
#include <string>

using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

/// An HTTPS emulator with a self-signed certificate for 127.0.0.1, written to a CA file.
struct resumption_https_emulator {
    /// `close_after`: the server closes each connection after that many responses (0: never).
    explicit resumption_https_emulator(const char* tag, unsigned close_after = 0)
        : ca(std::filesystem::temp_directory_path() /
             ("plexbutler-resumption-" + std::string(tag) + "-" + std::to_string(::getpid()) + ".pem")),
          srv(options(ca, close_after))
    {
    }
    ~resumption_https_emulator() { std::filesystem::remove(ca); }

    static plexbutler::emulator::server_options options(const std::filesystem::path& ca, unsigned close_after)
    {
        plexbutler::emulator::server_options o;
        o.close_after = close_after;
        o.tls_self_signed_name = "127.0.0.1";
        o.tls_write_ca_file = ca.string();
        return o;
    }

    plexbutler::client_options client_options() const
    {
        plexbutler::client_options co;
        co.server_url = srv.url();
        co.ca_file = ca.string();
        return co;
    }

    std::filesystem::path ca;
    plexbutler::emulator::server srv;
};

// `n` list operations one after the other, each after `pause`; returns how many succeeded.
asio::awaitable<int> resumption_lists(plexbutler::client& c, int n, std::chrono::milliseconds pause)
{
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        if (i > 0)
            co_await plexbutler::test::sleep_for(pause);
        const auto r = co_await c.try_get_butler_tasks();
        if (r && !r->content.tasks.empty())
            ++ok;
    }
    co_return ok;
}

} // namespace

TEST_CASE("a reconnect after idle eviction resumes the TLS session", "[client][tls][resumption]")
{
    resumption_https_emulator emu("evict");
    asio::io_context ioc;
    auto co = emu.client_options();
    co.idle_timeout = 20ms;
    plexbutler::client c(ioc, co);
    // Each list finds its connection evicted: a new one, whose handshake resumes the last session.
    CHECK(plexbutler::test::run_on(ioc, resumption_lists(c, 4, 100ms)) == 4);
    const auto st = c.stats();
    CHECK(st.connections_created == 4);
    CHECK(st.tls_handshakes == 4);
    CHECK(st.tls_resumed == 3);
}

TEST_CASE("a reconnect after the server closed the connection resumes the TLS session", "[client][tls][resumption]")
{
    resumption_https_emulator emu("closed", 1); // the server closes each connection after one response
    asio::io_context ioc;
    plexbutler::client c(ioc, emu.client_options());
    CHECK(plexbutler::test::run_on(ioc, resumption_lists(c, 3, 0ms)) == 3);
    const auto st = c.stats();
    CHECK(st.connections_created == 3);
    CHECK(st.tls_handshakes == 3);
    CHECK(st.tls_resumed == 2);
}

TEST_CASE("tls_session_resumption false makes every handshake a full one", "[client][tls][resumption]")
{
    resumption_https_emulator emu("off", 1);
    asio::io_context ioc;
    auto co = emu.client_options();
    co.tls_session_resumption = false;
    plexbutler::client c(ioc, co);
    CHECK(plexbutler::test::run_on(ioc, resumption_lists(c, 3, 0ms)) == 3);
    CHECK(c.stats().tls_handshakes == 3);
    CHECK(c.stats().tls_resumed == 0);
}

TEST_CASE("TLS sessions are not shared between clients", "[client][tls][resumption]")
{
    resumption_https_emulator emu("own", 1);
    asio::io_context ioc;
    plexbutler::client a(ioc, emu.client_options());
    plexbutler::client b(ioc, emu.client_options()); // same server, same shared TLS context
    CHECK(plexbutler::test::run_on(ioc, resumption_lists(a, 2, 0ms)) == 2);
    CHECK(plexbutler::test::run_on(ioc, resumption_lists(b, 1, 0ms)) == 1);
    CHECK(a.stats().tls_resumed == 1);
    CHECK(b.stats().tls_handshakes == 1);
    CHECK(b.stats().tls_resumed == 0);
}

TEST_CASE("a TLS 1.3 session is offered once: connections opened together do not share it", "[client][tls][resumption]")
{
    resumption_https_emulator emu("once");
    asio::io_context ioc;
    auto co = emu.client_options();
    co.idle_timeout = 20ms;
    plexbutler::client c(ioc, co);
    CHECK(plexbutler::test::run_on(ioc, resumption_lists(c, 1, 0ms)) == 1);
    CHECK(plexbutler::test::settle(ioc, [&] { return c.stats().open == 0; }));
    // Two operations at once need two connections: one resumes, the other handshakes in full.
    int done = 0;
    auto count = [&](std::exception_ptr e, plexbutler::result<plexbutler::tasks_response> r) {
        CHECK_FALSE(e);
        CHECK(r.has_value());
        ++done;
    };
    asio::co_spawn(ioc, c.try_get_butler_tasks(), count);
    asio::co_spawn(ioc, c.try_get_butler_tasks(), count);
    REQUIRE(plexbutler::test::settle(ioc, [&] { return done == 2; }));
    const auto st = c.stats();
    CHECK(st.connections_created == 3);
    CHECK(st.tls_handshakes == 3);
    CHECK(st.tls_resumed == 1);
}
