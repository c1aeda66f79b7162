// Unit tests of request rendering: exact bytes, header validation, token placement.
#include "http/request.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/version.hpp>

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace plexbutler;
using namespace plexbutler::detail;

namespace {

/// The bytes of all five operations: `butler` is the target with its prefix, `task` the task
/// name as rendered for the start of one task (percent-encoded), `token` the client's token.
void check_every_operation(const request_templates& t, const std::string& butler, const std::string& common,
                           std::string_view task, const std::string& encoded_task, const std::string& token)
{
    CHECK(t.common_headers() == common);
    CHECK(t.list() ==
          "GET " + butler + " HTTP/1.1\r\n" + common + "Accept: application/json\r\naccepts: application/json\r\n\r\n");
    const std::string task_accept = "Accept: text/html, application/json;q=0.9, */*;q=0.1\r\nContent-Length: 0\r\n\r\n";
    std::string out;
    t.render(out, operation_kind::list_tasks, {});
    CHECK(out == t.list());
    t.render(out, operation_kind::start_all, {});
    CHECK(out == "POST " + butler + " HTTP/1.1\r\n" + common + task_accept);
    t.render(out, operation_kind::stop_all, {});
    CHECK(out == "DELETE " + butler + " HTTP/1.1\r\n" + common + task_accept);
    t.render(out, operation_kind::start_task, task);
    CHECK(out == "POST " + butler + "/" + encoded_task + " HTTP/1.1\r\n" + common + task_accept);
    t.render(out, operation_kind::stop_task, "RefreshLibraries");
    CHECK(out == "DELETE " + butler + "/RefreshLibraries HTTP/1.1\r\n" + common + task_accept);
    // The token is a header, never part of the target.
    CHECK(out.substr(0, out.find("\r\n")).find(token) == std::string::npos);
}

} // namespace

TEST_CASE("request: exact bytes of every operation", "[request]")
{
    client_options o;
    o.server_url = "http://127.0.0.1:32400";
    o.token = "tok-123";
    o.client_identifier = "cid";
    auto ep = parse_endpoint(o);
    request_templates t(o, ep);
    const std::string common = std::string("Host: 127.0.0.1:32400\r\n"
                                           "X-Plex-Token: tok-123\r\n"
                                           "X-Plex-Client-Identifier: cid\r\n"
                                           "X-Plex-Product: plexbutler\r\n"
                                           "X-Plex-Version: ") +
                               version_string + "\r\nUser-Agent: plexbutler/" + version_string + "\r\n";
    check_every_operation(t, "/butler", common, "BackupDatabase", "BackupDatabase", "tok-123");
    CHECK(t.request_line(operation_kind::start_task, "X") == "POST /butler/X");
    CHECK(t.list().find("Accept-Encoding") == std::string::npos);
}

TEST_CASE("request: prefix, optional headers, empty token", "[request]")
{
    client_options o;
    o.server_url = "https://example.net/plex";
    o.platform = "Linux";
    o.device_name = "box";
    o.version = "9.9";
    auto ep = parse_endpoint(o);
    request_templates t(o, ep);
    const auto& list = t.list();
    CHECK(list.rfind("GET /plex/butler HTTP/1.1\r\nHost: example.net\r\n", 0) == 0);
    CHECK(list.find("X-Plex-Token") == std::string::npos);
    CHECK(list.find("X-Plex-Platform: Linux\r\n") != std::string::npos);
    CHECK(list.find("X-Plex-Device-Name: box\r\n") != std::string::npos);
    CHECK(list.find("X-Plex-Version: 9.9\r\n") != std::string::npos);
    CHECK(list.find("X-Plex-Device:") == std::string::npos);
    CHECK(list.find("X-Plex-Client-Identifier: " + default_client_identifier("plexbutler") + "\r\n") !=
          std::string::npos);
    CHECK(t.target(operation_kind::stop_task, "Name") == "/plex/butler/Name");
}

TEST_CASE("request: exact bytes of every operation with a path prefix and every identity header", "[request]")
{
    client_options o;
    o.server_url = "http://plex.example:8080/a/plex/";
    o.token = "tok-456";
    o.client_identifier = "cid-2";
    o.product = "prod";
    o.version = "1.2.3";
    o.platform = "Linux";
    o.platform_version = "6.1";
    o.device = "dev";
    o.model = "mod";
    o.device_vendor = "vend";
    o.device_name = "name";
    o.marketplace = "market";
    auto ep = parse_endpoint(o);
    request_templates t(o, ep);
    const std::string common = std::string("Host: plex.example:8080\r\n"
                                           "X-Plex-Token: tok-456\r\n"
                                           "X-Plex-Client-Identifier: cid-2\r\n"
                                           "X-Plex-Product: prod\r\n"
                                           "X-Plex-Version: 1.2.3\r\n"
                                           "X-Plex-Platform: Linux\r\n"
                                           "X-Plex-Platform-Version: 6.1\r\n"
                                           "X-Plex-Device: dev\r\n"
                                           "X-Plex-Model: mod\r\n"
                                           "X-Plex-Device-Vendor: vend\r\n"
                                           "X-Plex-Device-Name: name\r\n"
                                           "X-Plex-Marketplace: market\r\n"
                                           "User-Agent: plexbutler/") +
                               version_string + "\r\n";
    check_every_operation(t, "/a/plex/butler", common, "Backup Database", "Backup%20Database", "tok-456");
    CHECK(t.target(operation_kind::start_all) == "/a/plex/butler");
    CHECK(t.request_line(operation_kind::stop_task, "X") == "DELETE /a/plex/butler/X");
}

TEST_CASE("request: rendering reuses the capacity of the caller's string", "[request]")
{
    client_options o;
    o.server_url = "http://127.0.0.1:32400/plex";
    o.token = "tok-789";
    auto ep = parse_endpoint(o);
    request_templates t(o, ep);
    std::string out;
    out.reserve(t.list().size() + 64); // room for any of the requests below
    const char* const storage = out.data();
    const auto capacity = out.capacity();
    for (auto op : {operation_kind::start_all, operation_kind::stop_all, operation_kind::start_task,
                    operation_kind::stop_task, operation_kind::list_tasks, operation_kind::start_all}) {
        t.render(out, op, "GenerateChapterThumbs");
        REQUIRE(out.size() <= capacity);
        CHECK(static_cast<const void*>(out.data()) == static_cast<const void*>(storage)); // not reallocated
        CHECK(out.capacity() == capacity);
        CHECK(out.find("X-Plex-Token: tok-789\r\n") != std::string::npos);
    }
    // A string that has held a longer request keeps its buffer for a shorter one.
    std::string grown;
    t.render(grown, operation_kind::stop_task, "GenerateChapterThumbs");
    const char* const grown_storage = grown.data();
    t.render(grown, operation_kind::start_all, {});
    CHECK(static_cast<const void*>(grown.data()) == static_cast<const void*>(grown_storage));
    CHECK(grown.rfind("POST /plex/butler HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("request: task names become one percent-encoded segment", "[request]")
{
    client_options o;
    o.server_url = "http://h:1";
    auto ep = parse_endpoint(o);
    request_templates t(o, ep);
    // task_name already forbids these, but the URL layer encodes anyway.
    CHECK(t.target(operation_kind::start_task, "a/b c") == "/butler/a%2Fb%20c");
}

TEST_CASE("request: CR, LF and NUL in header values are rejected without echoing the token", "[request]")
{
    boost::asio::io_context ctx;
    for (std::string bad : {std::string("sec\r\nret"), std::string("sec\nret"), std::string("sec\0ret", 7),
                            std::string("sec\x01ret"), std::string("sec\x7fret")}) {
        client_options o;
        o.server_url = "http://127.0.0.1:1";
        o.token = bad;
        try {
            client c(ctx, o);
            FAIL("accepted a bad token");
        } catch (const std::invalid_argument& e) {
            CHECK(std::string(e.what()).find("sec") == std::string::npos);
            CHECK(std::string(e.what()).find("token") != std::string::npos);
        }
        client_options p;
        p.server_url = "http://127.0.0.1:1";
        p.product = bad;
        CHECK_THROWS_AS(client(ctx, p), std::invalid_argument);
        p = {};
        p.device = bad;
        CHECK_THROWS_AS(client(ctx, p), std::invalid_argument);
        p = {};
        p.client_identifier = bad;
        CHECK_THROWS_AS(client(ctx, p), std::invalid_argument);
    }
}

TEST_CASE("request: HTAB and obs-text are allowed in header values", "[request]")
{
    CHECK_FALSE(has_forbidden_header_chars("a\tb"));
    CHECK_FALSE(has_forbidden_header_chars("caf\xc3\xa9"));
    CHECK(has_forbidden_header_chars(std::string("a\0", 2)));
    CHECK(has_forbidden_header_chars("\x1b[31m"));
}

TEST_CASE("request: default client identifier is stable and UUID-shaped", "[request]")
{
    auto a = default_client_identifier("plexbutler");
    CHECK(a == default_client_identifier("plexbutler"));
    CHECK(a != default_client_identifier("other"));
    REQUIRE(a.size() == 36);
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            CHECK(a[i] == '-');
        else
            CHECK(std::isxdigit(static_cast<unsigned char>(a[i])));
    }
}
