// API coherence: a client made without exceptions (client::create), moving clients, and the try_
// forms taking a task_name like the throwing forms.
#include "support/client_fixture.hpp"

#include <plexbutler/emulator/server.hpp>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

TEST_CASE("create: valid options make a working client", "[client][api]")
{
    emulator::server_options eo;
    eo.window = {0, 0};
    emulator::server srv(eo);
    asio::io_context ctx;
    client_options o;
    o.server_url = srv.url();
    result<client> made = client::create(ctx, o);
    REQUIRE(made.has_value());
    client c = std::move(*made);
    CHECK(c.origin() == srv.url());
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(r->content.tasks == emulator::default_catalogue());
}

TEST_CASE("create: invalid options are failures with their own codes, never exceptions", "[client][api]")
{
    asio::io_context ctx;
    auto with = [](auto change) {
        client_options o;
        o.server_url = "http://127.0.0.1:32400";
        o.token = "secret-token-123";
        change(o);
        return o;
    };
    auto bad_url = client::create(ctx, with([](client_options& o) { o.server_url = "ftp://127.0.0.1"; }));
    REQUIRE_FALSE(bad_url.has_value());
    CHECK(bad_url.error().code == error::invalid_server_url);
    CHECK(bad_url.error().diag.server_message.find("scheme must be http or https") != std::string::npos);

    auto bad_port =
        client::create(ctx.get_executor(), with([](client_options& o) { o.server_url = "http://h:99999"; }));
    REQUIRE_FALSE(bad_port.has_value());
    CHECK(bad_port.error().code == error::invalid_server_url);

    auto bad_token = client::create(ctx, with([](client_options& o) { o.token = "secret-token-123\r\nX-Evil: 1"; }));
    REQUIRE_FALSE(bad_token.has_value());
    CHECK(bad_token.error().code == error::invalid_header_value);
    CHECK(bad_token.error().message().find("token") != std::string::npos);
    CHECK(bad_token.error().message().find("secret-token-123") == std::string::npos);

    auto no_pool = client::create(ctx, with([](client_options& o) { o.max_connections = 0; }));
    REQUIRE_FALSE(no_pool.has_value());
    CHECK(no_pool.error().code == error::invalid_options);
    CHECK(no_pool.error().diag.server_message == "client_options.max_connections must be at least 1");
    CHECK(no_pool.error().message() == "invalid client options client_options.max_connections must be at least 1");

    auto bad_retry = client::create(ctx, with([](client_options& o) { o.retry.max_attempts = 0; }));
    REQUIRE_FALSE(bad_retry.has_value());
    CHECK(bad_retry.error().code == error::invalid_options);
    // value() on the failure throws the library's exception, as for any result.
    CHECK_THROWS_AS(bad_retry.value(), butler_error);
}

TEST_CASE("a moved client keeps working, a moved-to client shuts its old pool down", "[client][api]")
{
    scripted_server server;
    server.set_default(script{}.respond(http_response(200, "")).repeat()); // every connection
    asio::io_context ctx;
    client a(ctx, options_for(server));
    client b(std::move(a));
    auto r = run_on(ctx, b.try_start_all_tasks());
    REQUIRE(r.has_value());
    CHECK(r->content == task_outcome::started);

    client c(ctx, options_for(server));
    auto old = run_on(ctx, c.try_stop_all_tasks()); // c's pool now holds a connection
    REQUIRE(old.has_value());
    const auto connections = server.connections();
    c = std::move(b); // c's old pool is shut down; c now uses b's, whose connection is reused
    auto again = run_on(ctx, c.try_stop_all_tasks());
    REQUIRE(again.has_value());
    CHECK(again->content == task_outcome::stopped);
    CHECK(server.connections() == connections);
    CHECK(c.stats().requests_served == 2);
}

TEST_CASE("try_ forms take a task_name like the throwing forms", "[client][api]")
{
    scripted_server server;
    server.push(script{}.respond(http_response(202, "")).respond(http_response(404, "", "text/html")));
    asio::io_context ctx;
    client c(ctx, options_for(server));
    const task_name name(tasks::backup_database);
    auto started = run_on(ctx, c.try_start_task(name));
    REQUIRE(started.has_value());
    CHECK(started->content == task_outcome::already_running);
    auto stopped = run_on(ctx, c.try_stop_task(name));
    REQUIRE(stopped.has_value());
    CHECK(stopped->content == task_outcome::not_running);
    auto reqs = server.requests();
    REQUIRE(reqs.size() == 2);
    CHECK(reqs[0].rfind("POST /butler/BackupDatabase HTTP/1.1\r\n", 0) == 0);
    CHECK(reqs[1].rfind("DELETE /butler/BackupDatabase HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("call_options::diag receives the diagnostics of the plain and try_ forms too", "[client][api]")
{
    scripted_server server;
    server.push(script{}.respond(http_response(500, "")).respond(http_response(200, "")));
    asio::io_context ctx;
    client c(ctx, options_for(server));
    diagnostics diag;
    auto failed = run_on(ctx, c.try_start_all_tasks(with_diag(diag)));
    REQUIRE_FALSE(failed.has_value());
    CHECK(diag.http_status == 500);
    CHECK(diag.request_line == failed.error().diag.request_line);
    diagnostics untouched;
    untouched.server_message = "kept";
    auto ok = run_on(ctx, c.start_all_tasks(with_diag(untouched)));
    CHECK(ok.content == task_outcome::started);
    CHECK(untouched.server_message == "kept");
}
