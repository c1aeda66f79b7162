// The five operations over loopback against the scripted server: documented statuses,
// request bytes, diagnostics of status failures.
#include "support/client_fixture.hpp"

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

TEST_CASE("get_butler_tasks decodes the list and sends the documented headers", "[client]")
{
    scripted_server server;
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    auto r = run_on(ctx, c.get_butler_tasks());
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    REQUIRE(r.content.tasks.size() == 2);
    CHECK(r.content.tasks[0].name == "BackupDatabase");
    CHECK(r.content.tasks[1].interval == 7.0);
    CHECK(r.raw.status_line() == "HTTP/1.1 200 OK");
    CHECK(r.raw.header("content-length").has_value());

    auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    const auto& q = reqs[0];
    CHECK(q.rfind("GET /butler HTTP/1.1\r\n", 0) == 0);
    CHECK(q.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n") != std::string::npos);
    CHECK(q.find("\r\nX-Plex-Token: secret-token-123\r\n") != std::string::npos);
    CHECK(q.find("\r\nX-Plex-Client-Identifier: test-client\r\n") != std::string::npos);
    CHECK(q.find("\r\nX-Plex-Product: plexbutler\r\n") != std::string::npos);
    CHECK(q.find("\r\nAccept: application/json\r\n") != std::string::npos);
    CHECK(q.find("\r\naccepts: application/json\r\n") != std::string::npos);
    CHECK(q.find("\r\nUser-Agent: plexbutler/") != std::string::npos);
    CHECK(q.find("Accept-Encoding") == std::string::npos);
    // The token travels only in its header.
    CHECK(q.substr(0, q.find("\r\n")).find("secret") == std::string::npos);
}

TEST_CASE("refresh_butler_tasks decodes into the previous response", "[client]")
{
    scripted_server server;
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto fresh = co_await c.get_butler_tasks();
        tasks_response r;
        co_await c.refresh_butler_tasks(r); // from an empty response
        CHECK(r.content == fresh.content);
        CHECK(r.status == 200);
        CHECK(r.content_type == "application/json");
        CHECK(r.raw.fields == fresh.raw.fields);
        REQUIRE(r.content.tasks.size() == 2);
        REQUIRE(r.content.tasks[0].name.has_value());
        const auto* records = r.content.tasks.data();
        const char* fields = r.raw.fields.data();
        for (int i = 0; i < 3; ++i) {
            co_await c.refresh_butler_tasks(r);
            CHECK(r.content == fresh.content);
            CHECK(r.content.tasks.data() == records); // the same storage, refilled
            CHECK(r.raw.fields.data() == fields);
        }
        auto t = co_await c.try_refresh_butler_tasks(r);
        REQUIRE(t.has_value());
        CHECK(r.content == fresh.content);
        CHECK(r.content.tasks.data() == records);
    }());
    CHECK(server.requests().size() == 6);
}

TEST_CASE("refresh_butler_tasks fails like get_butler_tasks", "[client]")
{
    scripted_server server;
    server.push(script{}.respond(tasks_ok()).respond(http_response(200, R"({"ButlerTasks":[]})")).respond(tasks_ok()));
    asio::io_context ctx;
    client c(ctx, options_for(server));
    run_void(ctx, [&]() -> asio::awaitable<void> {
        tasks_response tasks;
        auto r = co_await c.try_refresh_butler_tasks(tasks);
        REQUIRE(r.has_value());
        REQUIRE(tasks.content.tasks.size() == 2);
        auto bad = co_await c.try_refresh_butler_tasks(tasks);
        REQUIRE_FALSE(bad.has_value());
        CHECK(bad.error().code == error::json_decode_failed);
        CHECK(bad.error().diag.server_message == "ButlerTasks: expected object");
        CHECK(tasks.status == 0); // reset, not half-filled
        CHECK(tasks.content.tasks.empty());
        auto again = co_await c.try_refresh_butler_tasks(tasks); // the client and `tasks` are still usable
        REQUIRE(again.has_value());
        CHECK(tasks.content.tasks.size() == 2);
        CHECK(tasks.status == 200);
        // Invalid call options throw before any I/O and leave `tasks` as it was.
        call_options bad_opts;
        bad_opts.retry = retry_policy{};
        bad_opts.retry->max_attempts = 0;
        bool threw = false;
        try {
            co_await c.try_refresh_butler_tasks(tasks, bad_opts);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
        CHECK(tasks.content.tasks.size() == 2);
        CHECK(tasks.status == 200);
    }());
}

TEST_CASE("start and stop operations map their documented statuses", "[client]")
{
    scripted_server server;
    server.push(script{}
                    .respond(http_response(200, "", "text/html"))
                    .respond(http_response(200, ""))
                    .respond(http_response(200, ""))
                    .respond(http_response(202, ""))
                    .respond(http_response(200, ""))
                    .respond(http_response(404, "", "text/html"))
                    .respond(http_response(204, ""))
                    .hang());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto r1 = co_await c.start_all_tasks();

        CHECK(r1.content == task_outcome::started);
        auto r2 = co_await c.stop_all_tasks();

        CHECK(r2.content == task_outcome::stopped);
        auto r3 = co_await c.start_task("BackupDatabase");

        CHECK(r3.content == task_outcome::started);
        auto r4 = co_await c.start_task(task_name{tasks::backup_database});

        CHECK(r4.content == task_outcome::already_running);
        auto r5 = co_await c.stop_task("BackupDatabase");

        CHECK(r5.content == task_outcome::stopped);
        auto nr = co_await c.stop_task(task_name{"OptimizeDatabase"});
        CHECK(nr.content == task_outcome::not_running);
        CHECK(nr.status == 404);
        auto acc = co_await c.start_all_tasks();
        CHECK(acc.content == task_outcome::accepted);
        CHECK(acc.status == 204);
    }());
    auto reqs = server.requests();
    REQUIRE(reqs.size() == 7);
    CHECK(reqs[0].rfind("POST /butler HTTP/1.1\r\n", 0) == 0);
    CHECK(reqs[1].rfind("DELETE /butler HTTP/1.1\r\n", 0) == 0);
    CHECK(reqs[2].rfind("POST /butler/BackupDatabase HTTP/1.1\r\n", 0) == 0);
    CHECK(reqs[4].rfind("DELETE /butler/BackupDatabase HTTP/1.1\r\n", 0) == 0);
    CHECK(reqs[5].rfind("DELETE /butler/OptimizeDatabase HTTP/1.1\r\n", 0) == 0);
    for (const auto& q : reqs) {
        CHECK(q.find("\r\nContent-Length: 0\r\n") != std::string::npos);
        CHECK(q.find("\r\nAccept: text/html, application/json;q=0.9, */*;q=0.1\r\n") != std::string::npos);
    }
    // All seven went over one keep-alive connection.
    CHECK(server.connections() == 1);
    CHECK(c.stats().connections_created == 1);
    CHECK(c.stats().requests_served == 7);
}

TEST_CASE("status failures carry diagnostics", "[client]")
{
    scripted_server server;
    const std::string plex_401 =
        R"({"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]})";
    server.push(script{}
                    .respond(http_response(404, "", "text/html"))
                    .respond(http_response(400, "", "text/html"))
                    .respond(http_response(401, plex_401))
                    .respond(http_response(500, "oops", "text/plain", "", "Internal Server Error"))
                    .respond(http_response(302, "", "", "Location: https://plex.example/login?X-Plex-Token=abc\r\n"))
                    .respond(http_response(418, "", ""))
                    .respond(http_response(403, "<html></html>", "text/html"))
                    .hang());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    const auto server_name = "127.0.0.1:" + std::to_string(server.port());
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto r = co_await c.try_start_task("NoSuchTask");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::not_found);
        CHECK(r.error().diag.http_status == 404);
        CHECK(r.error().diag.request_line == "POST /butler/NoSuchTask");
        CHECK(r.error().diag.server == server_name);

        r = co_await c.try_start_all_tasks();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::bad_request);

        auto l = co_await c.try_get_butler_tasks();
        REQUIRE_FALSE(l.has_value());
        CHECK(l.error().code == error::unauthorized);
        REQUIRE(l.error().diag.plex_errors.size() == 1);
        CHECK(l.error().diag.plex_errors[0].code == 1001);
        CHECK(l.error().diag.plex_errors[0].message == "User could not be authenticated");
        CHECK(l.error().diag.request_line == "GET /butler");

        try {
            co_await c.get_butler_tasks();
            FAIL("no exception");
        } catch (const butler_error& e) {
            CHECK(e.code() == error::server_error);
            CHECK(e.diag().http_status == 500);
            CHECK(std::string(e.what()).find("secret-token-123") == std::string::npos);
        }

        l = co_await c.try_get_butler_tasks();
        REQUIRE_FALSE(l.has_value());
        CHECK(l.error().code == error::redirect_not_followed);
        CHECK(l.error().diag.server_message.find("302") != std::string::npos);
        CHECK(l.error().diag.server_message.find("https://plex.example/login") != std::string::npos);
        CHECK(l.error().diag.server_message.find("abc") == std::string::npos);

        r = co_await c.try_stop_all_tasks();
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::unexpected_status);
        CHECK(r.error().diag.http_status == 418);

        r = co_await c.try_stop_task("BackupDatabase");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::unauthorized);
        CHECK(r.error().diag.plex_errors.empty());
    }());
    CHECK(server.connections() == 1); // error statuses keep the connection
}

TEST_CASE("invalid task names fail before any I/O", "[client]")
{
    scripted_server server;
    asio::io_context ctx;
    client c(ctx, options_for(server));
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto r = co_await c.try_start_task("../admin");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::invalid_task_name);
        try {
            co_await c.stop_task("a b");
            FAIL("no exception");
        } catch (const butler_error& e) {
            CHECK(e.code() == error::invalid_task_name);
        }
    }());
    CHECK(server.connections() == 0);
}

TEST_CASE("path prefix and IPv6-free templated options reach the server", "[client]")
{
    scripted_server server;
    server.push(script{}.respond(http_response(200, "")).hang());
    asio::io_context ctx;
    auto o = options_for(server);
    o.server_url = server.url() + "/plex/";
    o.token.clear();
    o.platform = "Linux";
    client c(ctx, o);
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto r6 = co_await c.start_task("BackupDatabase");

        CHECK(r6.content == task_outcome::started);
    }());
    auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].rfind("POST /plex/butler/BackupDatabase HTTP/1.1\r\n", 0) == 0);
    CHECK(reqs[0].find("X-Plex-Token") == std::string::npos);
    CHECK(reqs[0].find("\r\nX-Plex-Platform: Linux\r\n") != std::string::npos);
}

TEST_CASE("the logger sees request and response lines without the token", "[client]")
{
    scripted_server server;
    server.push(script{}.respond(http_response(401, R"({"errors":[]})")).hang());
    asio::io_context ctx;
    auto o = options_for(server);
    std::vector<std::string> lines;
    o.logger = [&lines](log_level, std::string_view m) { lines.emplace_back(m); };
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    CHECK_FALSE(r.has_value());
    REQUIRE(lines.size() >= 2);
    bool saw_request = false, saw_response = false;
    for (const auto& l : lines) {
        CHECK(l.find("secret-token-123") == std::string::npos);
        saw_request |= l.find("GET /butler") != std::string::npos;
        saw_response |= l.find("401") != std::string::npos;
    }
    CHECK(saw_request);
    CHECK(saw_response);
}

// [ipv6]: registered only where the machine has an IPv6 loopback (test/CMakeLists.txt).
TEST_CASE("IPv6 literal server URL: brackets in Host and diagnostics", "[client][ipv6]")
{
    auto server = std::make_unique<scripted_server>("::1");
    server->push(script{}.respond(http_response(500, "")).hang());
    asio::io_context ctx;
    client c(ctx, options_for(*server));
    CHECK(c.origin() == "http://[::1]:" + std::to_string(server->port()));
    auto r = run_on(ctx, c.try_start_all_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::server_error);
    CHECK(r.error().diag.server == "[::1]:" + std::to_string(server->port()));
    auto reqs = server->requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].find("\r\nHost: [::1]:" + std::to_string(server->port()) + "\r\n") != std::string::npos);
}
