// Broken servers: every failure ends in its documented error within the deadline,
// and the same client succeeds on its next call.
#include "support/client_fixture.hpp"
#include "support/memory_server.hpp"

#include <boost/asio/co_spawn.hpp>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

struct outcome {
    failure f;
    std::chrono::milliseconds elapsed;
};

/// Plays `bad` on the first connection, a good server on the next; returns the failure of the first call
/// after checking that a second call on the same client succeeds.
outcome fail_then_recover(script bad, client_options o = {}, bool use_defaults = true)
{
    scripted_server server;
    server.push(std::move(bad));
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    if (use_defaults) {
        auto d = options_for(server);
        d.request_timeout =
            o.request_timeout == client_options{}.request_timeout ? d.request_timeout : o.request_timeout;
        d.max_header_bytes = o.max_header_bytes;
        d.max_body_bytes = o.max_body_bytes;
        o = d;
    }
    client c(ctx, o);
    const auto start = std::chrono::steady_clock::now();
    auto r = run_on(ctx, c.try_get_butler_tasks());
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().diag.request_line == "GET /butler");
    CHECK(r.error().diag.server == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(r.error().message().find("secret-token-123") == std::string::npos);
    // The deadline bounds every failure (generous margin: no tight timing).
    CHECK(elapsed < o.request_timeout + 1500ms);
    auto again = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(again.has_value());
    CHECK(again->content.tasks.size() == 2);
    CHECK(settle(ctx, [&] { return c.stats().busy == 0; }));
    return {r.error(), elapsed};
}

std::string head_200(std::string_view extra = "Content-Type: application/json\r\n")
{
    return "HTTP/1.1 200 OK\r\n" + std::string(extra);
}

} // namespace

TEST_CASE("failure: server closes before responding", "[client][failure]")
{
    auto o = fail_then_recover(script{}.read_request().close());
    CHECK(o.f.code == error::connection_closed);
}

TEST_CASE("failure: TCP reset", "[client][failure]")
{
    auto o = fail_then_recover(script{}.read_request().reset());
    CHECK(o.f.code == error::connection_closed);
}

TEST_CASE("failure: truncated body", "[client][failure]")
{
    auto o =
        fail_then_recover(script{}.read_request().send(head_200() + "Content-Length: 100\r\n\r\n{\"Butler").close());
    CHECK(o.f.code == error::connection_closed);
    CHECK(o.f.diag.http_status == 200);
}

// The deadline cases run over in-memory streams with the manual clock: time is moved, not waited for.
static void check_deadline(script bad, std::chrono::milliseconds timeout)
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(std::move(bad));
    server.push(script{}.respond(tasks_ok()).repeat());
    client_options o;
    o.request_timeout = timeout;
    client c = server.make_client(o);
    std::optional<result<tasks_response>> r;
    asio::co_spawn(ctx, c.try_get_butler_tasks(),
                   [&](std::exception_ptr, result<tasks_response> v) { r = std::move(v); });
    REQUIRE(settle(ctx, [&] { return server.requests().size() == 1; }));
    advance_clock(ctx, timeout - 100ms);
    CHECK_FALSE(r.has_value()); // not before the deadline
    advance_clock(ctx, 100ms);
    REQUIRE(settle(ctx, [&] { return r.has_value(); }));
    REQUIRE_FALSE(r->has_value());
    CHECK(r->error().code == error::timeout);
    CHECK(r->error().diag.server_message ==
          "after " + std::to_string(timeout.count()) + " ms waiting for response from butler.test:32400");
    auto again = run_on(ctx, c.try_get_butler_tasks()); // the same client recovers
    REQUIRE(again.has_value());
    CHECK(again->content.tasks.size() == 2);
}

TEST_CASE("failure: no response hits the deadline", "[client][failure]")
{
    check_deadline(script{}.read_request().hang(), 1000ms);
}

TEST_CASE("failure: a server dripping one byte every 500 ms is cut at the deadline", "[client][failure]")
{
    check_deadline(script{}.read_request().drip(tasks_ok(), 500ms), 1500ms);
}

TEST_CASE("failure: garbage status line", "[client][failure]")
{
    auto o = fail_then_recover(script{}.read_request().send("HELLO WORLD\r\n\r\n").hang());
    CHECK(o.f.code == error::malformed_http);
}

TEST_CASE("failure: oversized header", "[client][failure]")
{
    client_options o;
    o.max_header_bytes = 1024;
    auto r =
        fail_then_recover(script{}
                              .read_request()
                              .send(head_200() + "X-Big: " + std::string(4096, 'x') + "\r\nContent-Length: 2\r\n\r\n{}")
                              .hang(),
                          o);
    CHECK(r.f.code == error::header_too_large);
}

TEST_CASE("failure: oversized body announced by Content-Length", "[client][failure]")
{
    client_options o;
    o.max_body_bytes = 4096;
    auto r =
        fail_then_recover(script{}.read_request().send(head_200() + "Content-Length: 100000000\r\n\r\n{").hang(), o);
    CHECK(r.f.code == error::body_too_large);
}

TEST_CASE("failure: endless chunked body", "[client][failure]")
{
    client_options o;
    o.max_body_bytes = 8192;
    std::string chunks;
    for (int i = 0; i < 8; ++i)
        chunks += "1000\r\n" + std::string(4096, 'a') + "\r\n";
    auto r = fail_then_recover(
        script{}.read_request().send(head_200() + "Transfer-Encoding: chunked\r\n\r\n").send(chunks).hang(), o);
    CHECK(r.f.code == error::body_too_large);
}

TEST_CASE("failure: invalid chunk size", "[client][failure]")
{
    auto o = fail_then_recover(
        script{}.read_request().send(head_200() + "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n").hang());
    CHECK(o.f.code == error::malformed_http);
}

TEST_CASE("failure: invalid JSON", "[client][failure]")
{
    auto o = fail_then_recover(script{}.respond(http_response(200, "{\"ButlerTasks\": [")).close());
    CHECK(o.f.code == error::json_decode_failed);
    CHECK(o.f.diag.http_status == 200);
}

TEST_CASE("failure: JSON of the wrong types", "[client][failure]")
{
    auto o = fail_then_recover(
        script{}.respond(http_response(200, R"({"ButlerTasks":{"ButlerTask":[{"name":5,"interval":"x"}]}})")).close());
    CHECK(o.f.code == error::json_decode_failed);
    CHECK_FALSE(o.f.diag.server_message.empty());
}

TEST_CASE("failure: HTML or XML instead of JSON", "[client][failure]")
{
    auto html =
        fail_then_recover(script{}.respond(http_response(200, "<html><body>Plex</body></html>", "text/html")).close());
    CHECK(html.f.code == error::unexpected_content_type);
    CHECK(html.f.diag.server_message.find("text/html") != std::string::npos);
    auto xml = fail_then_recover(
        script{}.respond(http_response(200, "<MediaContainer size=\"0\"/>", "application/xml")).close());
    CHECK(xml.f.code == error::unexpected_content_type);
}

TEST_CASE("failure: redirect is not followed", "[client][failure]")
{
    auto o = fail_then_recover(
        script{}
            .respond(http_response(301, "", "", "Location: http://elsewhere:32400/butler?X-Plex-Token=x\r\n"))
            .close());
    CHECK(o.f.code == error::redirect_not_followed);
    CHECK(o.f.diag.http_status == 301);
    CHECK(o.f.diag.server_message.find("http://elsewhere:32400/butler") != std::string::npos);
    CHECK(o.f.diag.server_message.find("?") == std::string::npos);
}

TEST_CASE("failure: Content-Encoding gzip is rejected", "[client][failure]")
{
    auto o = fail_then_recover(
        script{}
            .respond(http_response(200, "\x1f\x8b garbage", "application/json", "Content-Encoding: gzip\r\n"))
            .close());
    CHECK(o.f.code == error::unsupported_content_encoding);
}

TEST_CASE("failure: connection refused", "[client][failure]")
{
    std::uint16_t port = 0;
    {
        scripted_server s; // bind then release a port so nothing listens there
        port = s.port();
    }
    asio::io_context ctx;
    client_options o;
    o.server_url = "http://127.0.0.1:" + std::to_string(port);
    client c(ctx, o);
    auto r = run_on(ctx, c.try_start_all_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::connect_failed);
    CHECK(r.error().diag.request_line == "POST /butler");
    CHECK(settle(ctx, [&] { return c.stats().open == 0 && c.stats().busy == 0; }));
}

TEST_CASE("keep-alive: Connection: close and HTTP/1.0 responses are not reused", "[client]")
{
    scripted_server server;
    server.push(
        script{}.respond(http_response(200, sample_tasks_json, "application/json", "Connection: close\r\n")).hang());
    std::string v10 = http_response(200, sample_tasks_json);
    v10.replace(0, 8, "HTTP/1.0");
    server.push(script{}.respond(v10).hang());
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    for (int i = 0; i < 4; ++i)
        REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    CHECK(server.connections() == 3);
    CHECK(c.stats().connections_created == 3);
    CHECK(c.stats().requests_served == 4);
}

TEST_CASE("failure: a flood of tiny chunks with extensions is charged to the body limit", "[client][failure]")
{
    client_options o;
    o.max_body_bytes = 64 * 1024;
    std::string flood;
    for (int i = 0; i < 2000; ++i)
        flood += "1;" + std::string(100, 'e') + "\r\na\r\n"; // 2 KB of data, ~200 KB of framing
    auto r = fail_then_recover(
        script{}.read_request().send(head_200() + "Transfer-Encoding: chunked\r\n\r\n").send(flood).hang(), o);
    CHECK(r.f.code == error::body_too_large);
}

TEST_CASE("keep-alive: bytes arriving while a connection idles make it unusable", "[client]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.push(script{}.respond(tasks_ok()).pause(50ms).send(http_response(200, "{\"forged\":1}")).hang());
    server.push(script{}.respond(http_response(200, "", "text/html")).repeat());
    client c = server.make_client();
    REQUIRE(run_on(ctx, c.try_get_butler_tasks()).has_value());
    advance_clock(ctx, 50ms); // the unsolicited response is now waiting in the idle connection
    auto r = run_on(ctx, c.try_start_all_tasks());
    REQUIRE(r.has_value());
    CHECK(r->content == task_outcome::started);
    CHECK(server.connections() == 2);
    CHECK(c.stats().connections_created == 2);
}
