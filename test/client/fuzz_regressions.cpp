// Inputs found by the libFuzzer targets under test/fuzz, kept as ordinary tests so the
// behaviour they pinned down never regresses (the fuzz build is not part of every run).
#include "support/client_fixture.hpp"

#include "http/connection.hpp"
#include "http/request.hpp"
#include "sansio/classify.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

using namespace plexbutler;
using namespace plexbutler::test;
namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

/// Parses `bytes` as exactly one HTTP/1.1 request with Beast's strict parser.
bool parses_as_one_request(const std::string& bytes)
{
    http::request_parser<http::empty_body> p;
    p.eager(true);
    boost::beast::error_code ec;
    const auto used = p.put(asio::buffer(bytes), ec);
    return !ec && p.is_done() && used == bytes.size();
}

/// Feeds `wire` to the client's response parser the way the client does, in one piece.
detail::response_sink read_response(std::string_view wire, boost::beast::error_code& ec)
{
    detail::response_sink sink;
    detail::sink_parser p(sink, 1024 * 1024);
    p.eager(true);
    p.header_limit(64 * 1024);
    p.body_limit(1024 * 1024);
    p.put(asio::buffer(wire.data(), wire.size()), ec);
    if (!ec && !p.is_done())
        p.put_eof(ec);
    return sink;
}

} // namespace

// fuzz_request_build crash-4cb6a0bc: a device name holding a 0x01 byte was accepted
// (only CR, LF and NUL were refused) and rendered a request Beast rejects as invalid.
TEST_CASE("fuzz regression: control bytes other than CR/LF/NUL in a header value are refused", "[fuzz][regression]")
{
    const std::string crash_value = "to\x01/\xffl\xff"
                                    "e\xff\xffpx";
    client_options o;
    o.server_url = "http://127.0.0.1:32400/ple";
    o.client_identifier = "id";
    o.device_name = crash_value;
    const auto ep = detail::parse_endpoint(o);
    CHECK_THROWS_AS(detail::request_templates(o, ep), std::invalid_argument);
    asio::io_context ctx;
    CHECK_THROWS_AS(client(ctx, o), std::invalid_argument);

    for (char bad : {'\x01', '\x08', '\x0b', '\x1b', '\x1f', '\x7f'}) {
        o.device_name = std::string("a") + bad + "b";
        CHECK(detail::has_forbidden_header_chars(o.device_name));
        CHECK_THROWS_AS(detail::request_templates(o, ep), std::invalid_argument);
    }
    // HTAB, SP and obs-text are valid field-value bytes: accepted, and the request stays valid.
    o.device_name = "tab\there, space and \xc3\xa9";
    CHECK_FALSE(detail::has_forbidden_header_chars(o.device_name));
    detail::request_templates t(o, ep);
    std::string bytes;
    t.render(bytes, detail::operation_kind::stop_task, "BackupDatabase");
    CHECK(parses_as_one_request(bytes));
    CHECK(bytes.rfind("DELETE /ple/butler/BackupDatabase HTTP/1.1\r\n", 0) == 0);
}

// fuzz_response_read crash-5827b2bc: Beast accepts the status code 000; the client must
// classify it as an undocumented status, never as a success.
TEST_CASE("fuzz regression: status 000 is an unexpected status, not a success", "[fuzz][regression]")
{
    const std::string wire = "HTTP/1.1 000 OK\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n"
                             R"({"ButlerTasks":{}})";
    boost::beast::error_code ec;
    auto sink = read_response(wire, ec);
    REQUIRE_FALSE(ec);
    CHECK(sink.status == 0);
    for (auto op :
         {detail::operation_kind::list_tasks, detail::operation_kind::start_all, detail::operation_kind::stop_all,
          detail::operation_kind::start_task, detail::operation_kind::stop_task}) {
        auto cls = detail::classify_status(op, sink.status);
        CHECK_FALSE(cls.success);
        CHECK(cls.err == error::unexpected_status);
    }

    scripted_server server;
    server.push(script{}.respond("HTTP/1.1 000 OK\r\nContent-Length: 0\r\n\r\n").hang());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    auto r = run_on(ctx, c.try_start_all_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::unexpected_status);
}

// fuzz_response_read crash-60f35ef4: a Location whose bytes before the query are not
// printable; the query (which may carry a token) must still be cut, whatever printable()
// turns the other bytes into.
TEST_CASE("fuzz regression: a Location's query is never echoed, whatever precedes it", "[fuzz][regression]")
{
    const std::string location = "\x8e\x8b\x8f://evil.examplej/x?X-Plex-Toke\x85=abc#frag";
    const auto cut = detail::location_without_query(location);
    CHECK(cut.find('?') == std::string::npos); // escaping may lengthen what precedes the query, never keep it
    CHECK(cut.find("Toke") == std::string::npos);
    CHECK(cut.find("abc") == std::string::npos);
    CHECK(cut.find("frag") == std::string::npos);
    const auto msg = detail::redirect_message(302, location);
    CHECK(msg.find("abc") == std::string::npos);
    CHECK(msg.find("X-Plex") == std::string::npos);
    for (char ch : msg)
        CHECK((ch >= 0x20 && ch < 0x7f));
}
