// Unit tests of server address parsing (Boost.URL), no I/O.
#include "http/request.hpp"

#include <plexbutler/client.hpp>

#include <boost/asio/io_context.hpp>

#include <catch2/catch.hpp>

using namespace plexbutler;
using namespace plexbutler::detail;

namespace {
endpoint from_url(std::string url)
{
    client_options o;
    o.server_url = std::move(url);
    return parse_endpoint(o);
}
} // namespace

TEST_CASE("url: templated default is http://localhost:32400", "[url]")
{
    client_options o;
    auto ep = parse_endpoint(o);
    CHECK_FALSE(ep.https);
    CHECK(ep.host == "localhost");
    CHECK(ep.port == 32400);
    CHECK(ep.path_prefix.empty());
    CHECK(ep.origin == "http://localhost:32400");
    CHECK(ep.server == "localhost:32400");
    CHECK(ep.host_header == "localhost:32400");
}

TEST_CASE("url: templated forms", "[url]")
{
    client_options o;
    o.protocol = "https";
    o.host = "1-2-3-4.0123456789abcdef0123456789abcdef.plex.direct";
    o.port = 32400;
    auto ep = parse_endpoint(o);
    CHECK(ep.https);
    CHECK(ep.host == "1-2-3-4.0123456789abcdef0123456789abcdef.plex.direct");
    CHECK_FALSE(ep.host_is_ip);
    CHECK(ep.origin == "https://1-2-3-4.0123456789abcdef0123456789abcdef.plex.direct:32400");

    o.protocol = "http";
    o.host = "::1";
    ep = parse_endpoint(o);
    CHECK(ep.host == "::1");
    CHECK(ep.host_is_ipv6);
    CHECK(ep.host_header == "[::1]:32400");
    CHECK(ep.origin == "http://[::1]:32400");

    o.host = "192.168.1.10";
    o.port = 80;
    ep = parse_endpoint(o);
    CHECK(ep.host_is_ip);
    CHECK(ep.host_header == "192.168.1.10"); // default port omitted
    CHECK(ep.server == "192.168.1.10:80");

    o.protocol = "ftp";
    CHECK_THROWS_AS(parse_endpoint(o), std::invalid_argument);
    o.protocol = "http";
    o.host = "evil.com/x?y";
    CHECK_THROWS_AS(parse_endpoint(o), std::invalid_argument);
    o.host = "";
    CHECK_THROWS_AS(parse_endpoint(o), std::invalid_argument);
}

TEST_CASE("url: full server URLs", "[url]")
{
    auto ep = from_url("https://[::1]:32400");
    CHECK(ep.https);
    CHECK(ep.host == "::1");
    CHECK(ep.host_is_ipv6);
    CHECK(ep.port == 32400);
    CHECK(ep.origin == "https://[::1]:32400");
    CHECK(ep.server == "[::1]:32400");

    ep = from_url("https://example.net/plex");
    CHECK(ep.port == 443);
    CHECK(ep.path_prefix == "/plex");
    CHECK(ep.host_header == "example.net");
    CHECK(ep.origin == "https://example.net:443");

    ep = from_url("http://Example.NET:8080/a/b/");
    CHECK(ep.host == "example.net");
    CHECK(ep.path_prefix == "/a/b");
    CHECK(ep.host_header == "example.net:8080");

    ep = from_url("http://127.0.0.1:32400/");
    CHECK(ep.host_is_ip);
    CHECK(ep.path_prefix.empty());

    ep = from_url("HTTPS://1-2-3-4.0123456789abcdef0123456789abcdef.plex.direct:32400");
    CHECK(ep.https);
    CHECK(ep.port == 32400);
}

TEST_CASE("url: invalid server URLs are rejected", "[url]")
{
    for (const char* bad : {"http://user:pw@host:32400", "http://host:32400/?X-Plex-Token=abc", "http://host#frag",
                            "ftp://host", "file:///etc/passwd", "host:32400", "not a url", "http://host:0",
                            "http://host:99999", "http://", "//host:1"}) {
        INFO(bad);
        CHECK_THROWS_AS(from_url(bad), std::invalid_argument);
    }
}

TEST_CASE("url: the client constructor validates and exposes the origin", "[url]")
{
    boost::asio::io_context ctx;
    client_options o;
    o.server_url = "http://[::1]:32400";
    client c(ctx, o);
    CHECK(c.origin() == "http://[::1]:32400");
    o.server_url = "http://h/?q=1";
    CHECK_THROWS_AS(client(ctx, o), std::invalid_argument);
    o.server_url.clear();
    o.max_connections = 0;
    CHECK_THROWS_AS(client(ctx, o), std::invalid_argument);
}
