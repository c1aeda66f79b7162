// Hostile servers at the client's DEFAULT limits: the scenarios test_client_failures.cpp
// does not cover (it uses small limits), response desynchronisation (bytes beyond the
// message), HTTP smuggling shapes and a redirect to itself. Each ends in a documented
// error within the deadline + 1.5 s, with bounded memory, and the same client succeeds
// on its next call. docs/reliability.md has the full scenario table.
#include "support/client_fixture.hpp"
#include "support/memory_server.hpp"

#include <fstream>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

/// Resident set size of this process in KiB (Linux /proc), 0 when unknown.
std::size_t rss_kib()
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stoul(line.substr(6));
    return 0;
}

struct hostile_outcome {
    failure f;
    std::chrono::milliseconds elapsed{};
    std::size_t rss_growth_kib = 0;
    std::size_t connections = 0; ///< Connections the server accepted after both calls.
};

/// Plays `bad` on the first connection and a good keep-alive server on the next ones; the
/// first call must fail, a second call on the same client must succeed with the good list.
hostile_outcome hostile(script bad, std::chrono::milliseconds timeout = 1000ms)
{
    scripted_server server;
    server.push(std::move(bad));
    server.push(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    auto o = options_for(server); // default header/body/JSON limits
    o.request_timeout = timeout;
    client c(ctx, o);
    const auto rss_before = rss_kib();
    const auto start = std::chrono::steady_clock::now();
    auto r = run_on(ctx, c.try_get_butler_tasks());
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    const auto rss_after = rss_kib();
    REQUIRE_FALSE(r.has_value());
    CHECK(elapsed < timeout + 1500ms);
    CHECK(r.error().message().find("secret-token-123") == std::string::npos);
    auto again = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(again.has_value());
    CHECK(again->content.tasks.size() == 2);
    CHECK(settle(ctx, [&] { return c.stats().busy == 0; }));
    return {r.error(), elapsed, rss_after > rss_before ? rss_after - rss_before : 0, server.connections()};
}

/// A 200 whose task list names `task`: lets a test tell which response the client took.
std::string list_naming(std::string_view task)
{
    return http_response(200, R"({"ButlerTasks":{"ButlerTask":[{"name":")" + std::string(task) + R"("}]}})");
}

// The default limits (64 KiB + 1 MiB) plus slack for the allocator (ASan's quarantine keeps
// freed buffers resident): an unbounded read grows by hundreds of MiB within the deadline.
constexpr std::size_t memory_bound_kib = 32 * 1024;

} // namespace

TEST_CASE("hostile: 2 MiB response header at the default 64 KiB limit", "[client][hostile]")
{
    auto o = hostile(
        script{}
            .read_request()
            .send("HTTP/1.1 200 OK\r\nX-Big: " + std::string(2 * 1024 * 1024, 'a') + "\r\nContent-Length: 2\r\n\r\n{}")
            .hang());
    CHECK(o.f.code == error::header_too_large);
    CHECK(o.f.diag.server_message == "response header exceeds 65536 bytes");
    CHECK(o.rss_growth_kib < memory_bound_kib);
}

TEST_CASE("hostile: 2 MiB of small header fields at the default limit", "[client][hostile]")
{
    std::string fields;
    while (fields.size() < 2 * 1024 * 1024)
        fields += "X-F" + std::to_string(fields.size()) + ": v\r\n";
    auto o =
        hostile(script{}.read_request().send("HTTP/1.1 200 OK\r\n" + fields + "Content-Length: 2\r\n\r\n{}").hang());
    CHECK(o.f.code == error::header_too_large);
    CHECK(o.rss_growth_kib < memory_bound_kib);
}

TEST_CASE("hostile: Content-Length 5000000000 is refused before any body byte is buffered", "[client][hostile]")
{
    auto o =
        hostile(script{}
                    .read_request()
                    .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000000000\r\n\r\n{")
                    .hang());
    CHECK(o.f.code == error::body_too_large);
    CHECK(o.f.diag.server_message == "response body exceeds 1048576 bytes");
    CHECK(o.f.diag.http_status == 200);
    CHECK(o.rss_growth_kib < memory_bound_kib);
}

TEST_CASE("hostile: an endless chunked body is cut at the default 1 MiB limit", "[client][hostile]")
{
    // 8 MiB of 16 KiB chunks, one write every millisecond: the server keeps streaming
    // until the client closes (its write then fails and the script ends).
    std::string chunks;
    for (int i = 0; i < 512; ++i)
        chunks += "4000\r\n" + std::string(16384, 'a') + "\r\n";
    auto o =
        hostile(script{}
                    .read_request()
                    .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .drip(std::move(chunks), 1ms, 16 * 1024 + 8),
                5000ms);
    CHECK(o.f.code == error::body_too_large);
    CHECK(o.rss_growth_kib < memory_bound_kib);
}

TEST_CASE("hostile: an endless stream of empty-extension chunk headers is bounded", "[client][hostile]")
{
    // Chunk extensions count against the header limit in Beast; a flood of them must not grow memory.
    std::string flood;
    for (int i = 0; i < 20000; ++i)
        flood += "1;" + std::string(100, 'e') + "\r\na\r\n";
    auto o =
        hostile(script{}
                    .read_request()
                    .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .send(std::move(flood))
                    .hang());
    // The framing (chunk headers with their extensions) counts against the 1 MiB body budget
    // (http/response_parser.hpp): 2 MiB of it ends as body_too_large, whatever the segmentation.
    CHECK(o.f.code == error::body_too_large);
    CHECK(o.rss_growth_kib < memory_bound_kib);
}

TEST_CASE("hostile: a chunk header that never ends is bounded", "[client][hostile]")
{
    // Beast (1.81) puts no limit of its own on a chunk header's extensions: only the read
    // buffer's cap keeps an endless one from growing memory until the deadline.
    std::string endless(48 * 1024 * 1024, 'e');
    auto o =
        hostile(script{}
                    .read_request()
                    .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1;")
                    .drip(std::move(endless), 1ms, 256 * 1024),
                2000ms);
    CHECK(o.f.code == error::body_too_large);
    CHECK(o.rss_growth_kib < memory_bound_kib);
}

TEST_CASE("hostile: a trailer that never ends is bounded", "[client][hostile]")
{
    std::string endless;
    while (endless.size() < 48 * 1024 * 1024)
        endless += "X-T: " + std::string(1000, 't') + "\r\n";
    auto o = hostile(script{}
                         .read_request()
                         .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "2\r\n{}\r\n0\r\n")
                         .drip(std::move(endless), 1ms, 256 * 1024),
                     2000ms);
    CHECK(o.f.code == error::body_too_large);
    CHECK(o.rss_growth_kib < memory_bound_kib);
}

TEST_CASE("hostile: bytes beyond Content-Length in the same segment are never read as the next response",
          "[client][hostile]")
{
    scripted_server server;
    // A complete response followed at once by a forged one on the same connection.
    server.push(script{}.read_request().send(list_naming("Real1") + list_naming("Forged")).hang());
    server.push(script{}.respond(list_naming("Real2")).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    auto first = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(first.has_value());
    CHECK(first->content.tasks.at(0).name == "Real1");
    auto second = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(second.has_value());
    CHECK(second->content.tasks.at(0).name == "Real2");
    CHECK(server.connections() == 2); // the desynchronised connection was not reused
}

// These two run over in-memory streams with the manual clock: the bytes that arrive while the
// connection idles are there when the next call starts, without waiting for a socket.
TEST_CASE("hostile: bytes arriving after a complete response are never read as the next response", "[client][hostile]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    // The forged response arrives 100 ms after the real one, while the connection idles in the pool.
    server.push(script{}.read_request().send(list_naming("Real1")).pause(100ms).send(list_naming("Forged")).hang());
    server.push(script{}.respond(list_naming("Real2")).repeat());
    client c = server.make_client();
    auto first = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(first.has_value());
    CHECK(first->content.tasks.at(0).name == "Real1");
    advance_clock(ctx, 100ms); // the unsolicited bytes are now in the idle connection
    auto second = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(second.has_value());
    CHECK(second->content.tasks.at(0).name == "Real2");
}

TEST_CASE("hostile: a response sent before the request is not taken for the answer", "[client][hostile]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    // The server speaks first, then answers the real request: the client must not mix them up
    // on a reused connection. First call: the forged bytes precede the answer on a fresh connection;
    // whatever the client reads first, it must not keep the connection for the next request.
    server.push(script{}.send(list_naming("Forged")).read_request().send(list_naming("Real1")).hang());
    server.push(script{}.respond(list_naming("Real2")).repeat());
    client c = server.make_client();
    (void)run_on(ctx, c.try_get_butler_tasks());
    drain(ctx); // whatever the server sent after the first answer has arrived
    auto second = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(second.has_value());
    CHECK(second->content.tasks.at(0).name == "Real2");
}

TEST_CASE("hostile: Content-Length together with Transfer-Encoding (smuggling shape) is rejected", "[client][hostile]")
{
    auto o = hostile(script{}
                         .read_request()
                         .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
                         .hang());
    CHECK(o.f.code == error::malformed_http);
}

TEST_CASE("hostile: two different Content-Length values are rejected", "[client][hostile]")
{
    auto o = hostile(script{}
                         .read_request()
                         .send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                               "Content-Length: 40\r\n\r\n{}")
                         .hang());
    CHECK(o.f.code == error::malformed_http);
}

TEST_CASE("hostile: a negative or non-numeric Content-Length is rejected", "[client][hostile]")
{
    auto o = hostile(script{}.read_request().send("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n{}").hang());
    CHECK(o.f.code == error::malformed_http);
    auto p = hostile(script{}.read_request().send("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n{}").hang());
    CHECK(p.f.code == error::malformed_http);
}

TEST_CASE("hostile: a header without CRLFCRLF that never ends hits the deadline", "[client][hostile]")
{
    // Below the header limit, forever incomplete: only the deadline ends it.
    auto o = hostile(script{}.read_request().send("HTTP/1.1 200 OK\r\nX-Slow: ").drip(std::string(4000, 'a'), 5ms, 4));
    CHECK(o.f.code == error::timeout);
    CHECK(o.elapsed >= 900ms);
}

TEST_CASE("hostile: a status line with a NUL byte or bare LF endings", "[client][hostile]")
{
    auto o = hostile(
        script{}.read_request().send(std::string("HTTP/1.1 200 O\0K\r\nContent-Length: 2\r\n\r\n{}", 40)).hang());
    CHECK(o.f.code == error::malformed_http);
    auto p = hostile(script{}.read_request().send("HTTP/1.1 200 OK\nContent-Length: 2\n\n{}").hang());
    CHECK(p.f.code == error::malformed_http);
}

TEST_CASE("hostile: HTTP/2 preface or a TLS alert instead of HTTP/1.1", "[client][hostile]")
{
    // Beast reads the version from the first 8 bytes: the 9-byte preface fails there, while the
    // 7-byte alert is too short to judge, so the close ends an incomplete response. Bytes always
    // arrive before the close, so neither depends on how the stream is segmented.
    auto o = hostile(script{}.read_request().send(std::string("\x00\x00\x12\x04\x00\x00\x00\x00\x00", 9)).close());
    CHECK(o.f.code == error::malformed_http);
    auto p = hostile(script{}.read_request().send(std::string("\x15\x03\x01\x00\x02\x02\x46", 7)).close());
    CHECK(p.f.code == error::connection_closed);
}

TEST_CASE("hostile: a redirect to the same server is not followed", "[client][hostile]")
{
    scripted_server server;
    server.push(script{}
                    .respond(http_response(302, "", "", "Location: " + server.url() + "/butler\r\n"))
                    .respond(tasks_ok())
                    .hang());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::redirect_not_followed);
    CHECK(r.error().diag.http_status == 302);
    CHECK(server.requests().size() == 1); // nothing was sent again on its own
    auto again = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(again.has_value()); // the 302 had a body-less complete message: the connection stays usable
    CHECK(server.requests().size() == 2);
}

TEST_CASE("hostile: a 500 with a huge non-JSON body is bounded and reported as server_error", "[client][hostile]")
{
    // Complete responses: the script then closes, so the next call's stale-connection retry lands on the good server.
    auto o =
        hostile(script{}.read_request().send(http_response(500, std::string(512 * 1024, '<'), "text/html")).close());
    CHECK(o.f.code == error::server_error);
    CHECK(o.f.diag.http_status == 500);
    CHECK(o.f.message().size() <= 512);
}

TEST_CASE("hostile: a 401 whose JSON error body is deeply nested is reported without its errors", "[client][hostile]")
{
    auto o = hostile(
        script{}.read_request().send(http_response(401, std::string(10000, '[') + std::string(10000, ']'))).close());
    CHECK(o.f.code == error::unauthorized);
    CHECK(o.f.diag.plex_errors.empty());
}

TEST_CASE("hostile: a list nested deeper than the JSON depth limit", "[client][hostile]")
{
    std::string deep = R"({"ButlerTasks":{"ButlerTask":[)" + std::string(100, '[') + std::string(100, ']') + "]}}";
    auto o = hostile(script{}.read_request().send(http_response(200, deep)).close());
    CHECK(o.f.code == error::json_decode_failed);
}

TEST_CASE("hostile: control bytes in the reason phrase and headers never reach the message raw", "[client][hostile]")
{
    // Beast rejects control bytes in the reason phrase: the response is malformed.
    auto o = hostile(script{}.read_request().send(http_response(503, "", "text/plain", "", "Busy\x1b[31mRED")).hang());
    CHECK(o.f.code == error::malformed_http);
    CHECK(o.f.diag.server_message.find('\x1b') == std::string::npos);
    CHECK(o.f.message().find('\x1b') == std::string::npos);
}
