// The library's client against the in-process emulator, over HTTP and HTTPS: all five operations.

#include <plexbutler/client.hpp>
#include <plexbutler/emulator/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

using namespace std::chrono_literals;
namespace asio = boost::asio;
using plexbutler::task_outcome;
using plexbutler::emulator::server;
using plexbutler::emulator::server_options;

namespace {

/// Runs `fn` (a coroutine taking the client) on a fresh io_context to completion.
template <class Fn>
void with_client(const server& srv, plexbutler::client_options co, Fn fn)
{
    asio::io_context ioc;
    plexbutler::client c(ioc, std::move(co));
    auto fut = asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            co_await fn(c);
            co_await c.async_shutdown();
        },
        asio::use_future);
    ioc.run();
    fut.get(); // rethrows a failed CHECK-free exception from the coroutine
    (void)srv;
}

asio::awaitable<void> exercise_all_five(plexbutler::client& c, const server& srv)
{
    const auto list = co_await c.get_butler_tasks();
    CHECK(list.status == 200);
    CHECK(list.content.tasks == plexbutler::emulator::default_catalogue());
    CHECK(list.content_type.starts_with("application/json"));

    auto r = co_await c.start_task("BackupDatabase");
    CHECK(r.content == task_outcome::started);
    r = co_await c.start_task("BackupDatabase");
    CHECK(r.content == task_outcome::already_running);
    CHECK(r.status == 202);
    r = co_await c.stop_task("BackupDatabase");
    CHECK(r.content == task_outcome::stopped);
    r = co_await c.stop_task("BackupDatabase");
    CHECK(r.content == task_outcome::not_running);
    CHECK(r.status == 404);

    r = co_await c.start_all_tasks();
    CHECK(r.content == task_outcome::started);
    r = co_await c.start_task("OptimizeDatabase");
    CHECK(r.content == task_outcome::already_running);
    r = co_await c.stop_all_tasks();
    CHECK(r.content == task_outcome::stopped);
    r = co_await c.stop_task("OptimizeDatabase");
    CHECK(r.content == task_outcome::not_running);

    // An unknown task on start is an error, not an outcome.
    const auto unknown = co_await c.try_start_task("NoSuchTaskHere");
    REQUIRE_FALSE(unknown.has_value());
    CHECK(unknown.error().code == plexbutler::error::not_found);
    CHECK(srv.requests_served() >= 10);
}

server_options emulator_options()
{
    server_options o;
    o.token = "client-test-token";
    o.window = {0, 0};
    o.task_duration = 60s;
    return o;
}

} // namespace

TEST_CASE("client against the emulator over HTTP: all five operations", "[emulator][client]")
{
    server srv(emulator_options());
    plexbutler::client_options co;
    co.server_url = srv.url();
    co.token = "client-test-token";
    with_client(srv, co, [&](plexbutler::client& c) { return exercise_all_five(c, srv); });
}

TEST_CASE("client against the emulator over HTTPS with the written CA", "[emulator][client][tls]")
{
    const auto ca = std::filesystem::temp_directory_path() /
                    ("plexbutler-emulator-client-ca-" + std::to_string(::getpid()) + ".pem");
    auto o = emulator_options();
    o.tls_self_signed_name = "127.0.0.1";
    o.tls_write_ca_file = ca.string();
    server srv(o);
    REQUIRE(srv.url().starts_with("https://127.0.0.1:"));
    plexbutler::client_options co;
    co.server_url = srv.url();
    co.token = "client-test-token";
    co.ca_file = ca.string();
    with_client(srv, co, [&](plexbutler::client& c) { return exercise_all_five(c, srv); });
    std::filesystem::remove(ca);
}

TEST_CASE("client with a wrong token gets unauthorized from the emulator", "[emulator][client]")
{
    server srv(emulator_options());
    plexbutler::client_options co;
    co.server_url = srv.url();
    co.token = "wrong-token";
    with_client(srv, co, [&](plexbutler::client& c) -> asio::awaitable<void> {
        const auto r = co_await c.try_get_butler_tasks();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == plexbutler::error::unauthorized);
        REQUIRE(r.error().diag.plex_errors.size() == 1);
        CHECK(r.error().diag.plex_errors[0].code == 1001);
        // The token never appears in the failure's description.
        CHECK(r.error().message().find("wrong-token") == std::string::npos);
    });
}
