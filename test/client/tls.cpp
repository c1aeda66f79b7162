// HTTPS: certificate verification, host-name verification, ca_file, caller contexts, tls_verify=false.
#include "support/client_fixture.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <fstream>
#include <random>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

/// A temporary file removed at scope exit.
struct temp_file {
    fs::path path;
    temp_file()
    {
        std::random_device rd;
        path = fs::temp_directory_path() /
               ("plexbutler-tls-" + std::to_string(rd()) + "-" + std::to_string(rd()) + ".pem");
    }
    ~temp_file()
    {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

emulator::server_options tls_server(const std::string& name, const temp_file& ca)
{
    emulator::server_options o;
    o.tls_self_signed_name = name;
    o.tls_write_ca_file = ca.path.string();
    return o;
}

client_options https_options(std::uint16_t port, std::string host = "127.0.0.1")
{
    client_options o;
    o.server_url = "https://" + host + ":" + std::to_string(port);
    o.request_timeout = 5000ms;
    o.connect_timeout = 3000ms;
    return o;
}

} // namespace

TEST_CASE("tls: a self-signed server is rejected without its CA", "[client][tls]")
{
    temp_file ca;
    emulator::server srv(tls_server("127.0.0.1", ca));
    asio::io_context ctx;
    client c(ctx, https_options(srv.port()));
    CHECK(c.origin() == "https://127.0.0.1:" + std::to_string(srv.port()));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::certificate_verification_failed);
    CHECK_FALSE(r.error().diag.server_message.empty());
    CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().open == 0; }));
}

TEST_CASE("tls: accepted with ca_file, connections are reused", "[client][tls]")
{
    temp_file ca;
    emulator::server srv(tls_server("127.0.0.1", ca));
    asio::io_context ctx;
    auto o = https_options(srv.port());
    o.ca_file = ca.path.string();
    client c(ctx, o);
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto list = co_await c.get_butler_tasks();
        CHECK_FALSE(list.content.tasks.empty());
        auto started = co_await c.start_task(tasks::backup_database);
        CHECK(started.content == task_outcome::started);
        auto stopped = co_await c.stop_all_tasks();
        CHECK(stopped.content == task_outcome::stopped);
    }());
    CHECK(c.stats().connections_created == 1);
    CHECK(c.stats().requests_served == 3);
}

TEST_CASE("tls: host-name mismatch is rejected even with the CA", "[client][tls]")
{
    temp_file ca;
    emulator::server srv(tls_server("other.example", ca)); // certificate for another name
    asio::io_context ctx;
    auto o = https_options(srv.port());
    o.ca_file = ca.path.string();
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::certificate_verification_failed);
}

TEST_CASE("tls: DNS name with SNI and a caller-supplied context", "[client][tls]")
{
    temp_file ca;
    emulator::server srv(tls_server("localhost", ca));
    asio::io_context ctx;
    auto o = https_options(srv.port(), "localhost");
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    context->load_verify_file(ca.path.string());
    o.ssl_context = context;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK_FALSE(r->content.tasks.empty());
}

TEST_CASE("tls: tls_verify=false accepts any certificate and logs a warning", "[client][tls]")
{
    temp_file ca;
    emulator::server srv(tls_server("other.example", ca));
    asio::io_context ctx;
    auto o = https_options(srv.port());
    o.tls_verify = false;
    bool warned = false;
    o.logger = [&warned](log_level l, std::string_view m) {
        if (l == log_level::warning && m.find("verification") != std::string_view::npos)
            warned = true;
    };
    client c(ctx, o);
    CHECK(warned);
    auto r = run_on(ctx, c.try_start_all_tasks());
    REQUIRE(r.has_value());
    CHECK(r->content == task_outcome::started);
}

TEST_CASE("tls: a plain-HTTP server fails the handshake", "[client][tls]")
{
    scripted_server server;
    server.set_default(script{}.send(http_response(400, "", "text/html")).close());
    asio::io_context ctx;
    client c(ctx, https_options(server.port()));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::tls_handshake_failed);
}

TEST_CASE("tls: an unreadable ca_file is rejected by the constructor", "[client][tls]")
{
    asio::io_context ctx;
    auto o = https_options(1);
    o.ca_file = (fs::temp_directory_path() / "plexbutler-no-such-ca.pem").string();
    CHECK_THROWS_AS(client(ctx, o), std::invalid_argument);
}

TEST_CASE("tls: connect_timeout bounds a handshake the server never answers", "[client][tls]")
{
    scripted_server server;
    server.set_default(script{}.hang()); // accepts, reads the ClientHello, never answers
    asio::io_context ctx;
    auto o = https_options(server.port());
    o.connect_timeout = 500ms;
    o.request_timeout = 10000ms;
    client c(ctx, o);
    const auto start = std::chrono::steady_clock::now();
    auto r = run_on(ctx, c.try_get_butler_tasks());
    const auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::timeout);
    CHECK(r.error().diag.server_message.rfind("after 500 ms connecting to 127.0.0.1:", 0) == 0);
    CHECK(elapsed < 2000ms); // the connect timeout, not the 10 s request deadline
    CHECK(settle(ctx, [&] { return c.stats().open == 0 && c.stats().busy == 0; }));
}
