// plex.direct names and address overrides over real sockets and real TLS: the client against the
// emulator serving plex.direct and named certificates (issued by its own CA), with no DNS.
#include "support/client_fixture.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/fleet.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <filesystem>
#include <random>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr const char* pd_hash = PLEXBUTLER_TEST_PLEX_DIRECT_HASH;
constexpr const char* pd_other_hash = "00112233445566778899aabbccddeeff";

/// A file name in the temporary directory, removed at scope exit.
struct pd_temp_file {
    fs::path path;
    pd_temp_file()
    {
        std::random_device rd;
        path =
            fs::temp_directory_path() / ("plexbutler-pd-" + std::to_string(rd()) + "-" + std::to_string(rd()) + ".pem");
    }
    ~pd_temp_file()
    {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

std::string pd_name(const std::string& address_label, const std::string& hash = pd_hash)
{
    return address_label + "." + hash + ".plex.direct";
}

/// Whether this machine's resolver finds an address for `host` (it must not, for a test to prove
/// that the client did not ask it).
bool resolves(const std::string& host)
{
    asio::io_context ctx;
    asio::ip::tcp::resolver r(ctx);
    boost::system::error_code ec;
    const auto results = r.resolve(host, "443", ec);
    return !ec && !results.empty();
}

/// An emulator that is a Plex server with machine hash `hash`: a certificate for
/// `*.<hash>.plex.direct` issued by its CA, written to `ca`.
emulator::server_options plex_server(const pd_temp_file& ca, const std::string& hash = pd_hash,
                                     const std::string& listen = "127.0.0.1")
{
    emulator::server_options o;
    o.listen_host = listen;
    o.tls_plex_direct_hash = hash;
    o.tls_write_ca_file = ca.path.string();
    o.token = "plex-direct-token";
    return o;
}

client_options pd_options(std::string url, const pd_temp_file& ca)
{
    client_options o;
    o.server_url = std::move(url);
    o.ca_file = ca.path.string();
    o.token = "plex-direct-token";
    o.request_timeout = 5000ms;
    o.connect_timeout = 3000ms;
    return o;
}

std::string port_of(const emulator::server& srv) { return std::to_string(srv.port()); }

} // namespace

TEST_CASE("plex.direct: HTTPS to the emulator by its plex.direct name, with no DNS",
          "[client][tls][plex_direct][no_plex_direct_dns]")
{
    pd_temp_file ca;
    emulator::server srv(plex_server(ca));
    const std::string host = pd_name("127-0-0-1");
    REQUIRE(srv.url() == "https://" + host + ":" + port_of(srv));
    // The name does not resolve here, so a connection proves that the client did not ask DNS.
    REQUIRE_FALSE(resolves(host));

    asio::io_context ctx;
    client c(ctx, pd_options(srv.url(), ca));
    CHECK(c.origin() == "https://" + host + ":" + port_of(srv));
    run_void(ctx, [&]() -> asio::awaitable<void> {
        auto list = co_await c.get_butler_tasks();
        CHECK_FALSE(list.content.tasks.empty());
        auto started = co_await c.start_task(tasks::backup_database);
        CHECK(started.content == task_outcome::started);
    }());
    CHECK(c.stats().connections_created == 1);
    CHECK(c.stats().tls_handshakes == 1);
    CHECK(srv.requests_served() == 2);
}

TEST_CASE("plex.direct: with plex_direct_without_dns off the name goes to DNS, which fails here",
          "[client][tls][plex_direct][no_plex_direct_dns]")
{
    pd_temp_file ca;
    emulator::server srv(plex_server(ca));
    const std::string host = pd_name("127-0-0-1");
    REQUIRE_FALSE(resolves(host));
    asio::io_context ctx;
    auto o = pd_options(srv.url(), ca);
    o.plex_direct_without_dns = false;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::connect_failed);
    CHECK_THAT(r.error().diag.server_message, Catch::Contains("resolving " + host));
    CHECK(srv.requests_served() == 0);
}

TEST_CASE("plex.direct: a certificate for another machine hash is refused", "[client][tls][plex_direct]")
{
    pd_temp_file ca;
    emulator::server srv(plex_server(ca, pd_other_hash)); // *.<other hash>.plex.direct, trusted CA
    asio::io_context ctx;
    client c(ctx, pd_options("https://" + pd_name("127-0-0-1") + ":" + port_of(srv), ca));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::certificate_verification_failed);
    CHECK(srv.requests_served() == 0);
}

TEST_CASE("plex.direct: a certificate for the address the name encodes is refused", "[client][tls][plex_direct]")
{
    // The certificate must name the plex.direct name: one for 127.0.0.1 proves nothing about it.
    pd_temp_file ca;
    emulator::server_options so;
    so.tls_names = {"127.0.0.1"};
    so.tls_write_ca_file = ca.path.string();
    emulator::server srv(so);
    asio::io_context ctx;
    client c(ctx, pd_options("https://" + pd_name("127-0-0-1") + ":" + port_of(srv), ca));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::certificate_verification_failed);
}

TEST_CASE("plex.direct: a certificate from a CA the client does not trust is refused", "[client][tls][plex_direct]")
{
    pd_temp_file ca, unrelated_ca;
    emulator::server srv(plex_server(ca));
    emulator::server other(plex_server(unrelated_ca)); // another CA with the same names
    asio::io_context ctx;
    client c(ctx, pd_options(srv.url(), unrelated_ca));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::certificate_verification_failed);
}

TEST_CASE("plex.direct: a self-signed wildcard certificate works as its own trust anchor", "[client][tls][plex_direct]")
{
    pd_temp_file ca;
    emulator::server_options so;
    so.tls_self_signed_name = "*." + std::string(pd_hash) + ".plex.direct";
    so.tls_write_ca_file = ca.path.string();
    emulator::server srv(so);
    asio::io_context ctx;
    auto o = pd_options("https://" + pd_name("127-0-0-1") + ":" + port_of(srv), ca);
    o.token.clear();
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK_FALSE(r->content.tasks.empty());
}

TEST_CASE("plex.direct: the encoded address is where the client connects", "[client][tls][plex_direct]")
{
    // 127.0.0.3 is a loopback address nothing listens on: refused there, although the server
    // listens on 127.0.0.1 at that port.
    pd_temp_file ca;
    emulator::server srv(plex_server(ca));
    asio::io_context ctx;
    client c(ctx, pd_options("https://" + pd_name("127-0-0-3") + ":" + port_of(srv), ca));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::connect_failed);
    CHECK_THAT(r.error().diag.server_message, Catch::Contains("127.0.0.3, the address of its plex.direct name"));
}

TEST_CASE("plex.direct: IPv6 names in Plex's form", "[client][tls][plex_direct][ipv6]")
{
    pd_temp_file ca;
    emulator::server srv(plex_server(ca, pd_hash, "::1"));
    const std::string host = pd_name("0000-0000-0000-0000-0000-0000-0000-0001");
    REQUIRE(srv.url() == "https://" + host + ":" + port_of(srv));
    asio::io_context ctx;
    client c(ctx, pd_options(srv.url(), ca));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK_FALSE(r->content.tasks.empty());
}

TEST_CASE("plex.direct: fleet servers reach plex.direct names through their client options",
          "[client][tls][plex_direct][fleet]")
{
    pd_temp_file ca;
    emulator::server srv(plex_server(ca));
    asio::io_context ctx;
    fleet_options fo;
    fo.defaults.ca_file = ca.path.string();
    fleet f(ctx, fo);
    f.add_server("by-template", srv.url(), "plex-direct-token");
    f.add_server("by-options", pd_options(srv.url(), ca));
    auto results = run_on(ctx, f.get_butler_tasks());
    REQUIRE(results.size() == 2);
    for (const auto& r : results) {
        INFO(r.server);
        CHECK(r.value.has_value());
    }
    run_void(ctx, f.async_shutdown());
}

TEST_CASE("address overrides: a made-up name connects to the emulator and is verified as that name",
          "[client][tls][address_override]")
{
    // .test never resolves (RFC 6761).
    pd_temp_file ca;
    emulator::server_options so;
    so.tls_names = {"butler.test"};
    so.tls_write_ca_file = ca.path.string();
    so.token = "plex-direct-token";
    emulator::server srv(so);
    const std::string url = "https://butler.test:" + port_of(srv);
    asio::io_context ctx;

    SECTION("the override makes it reachable")
    {
        auto o = pd_options(url, ca);
        o.address_overrides = {"butler.test:" + port_of(srv) + ":127.0.0.1"};
        client c(ctx, o);
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE(r.has_value());
        CHECK_FALSE(r->content.tasks.empty());
    }
    SECTION("addresses are tried in order, like a resolver's answer")
    {
        auto o = pd_options(url, ca);
        o.address_overrides = {"BUTLER.test:" + port_of(srv) + ":127.0.0.3,127.0.0.1"};
        client c(ctx, o);
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE(r.has_value());
    }
    SECTION("an override for another port does not apply")
    {
        auto o = pd_options(url, ca);
        o.address_overrides = {"butler.test:" + std::to_string(srv.port() == 65535 ? 1 : srv.port() + 1) +
                               ":127.0.0.1"};
        client c(ctx, o);
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::connect_failed);
        CHECK_THAT(r.error().diag.server_message, Catch::Contains("resolving butler.test"));
    }
    SECTION("an override for another host does not apply")
    {
        auto o = pd_options(url, ca);
        o.address_overrides = {"other.test:" + port_of(srv) + ":127.0.0.1"};
        client c(ctx, o);
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::connect_failed);
    }
    SECTION("the failure names the addresses tried")
    {
        auto o = pd_options(url, ca);
        o.address_overrides = {"butler.test:" + port_of(srv) + ":127.0.0.3"};
        client c(ctx, o);
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::connect_failed);
        CHECK_THAT(r.error().diag.server_message,
                   Catch::Contains("butler.test:" + port_of(srv) + " (at 127.0.0.3, from the address overrides)"));
    }
}

TEST_CASE("address overrides: the certificate is checked against the URL's name, not the address",
          "[client][tls][address_override]")
{
    pd_temp_file ca;
    emulator::server_options so;
    so.tls_names = {"127.0.0.1", "other.test"}; // right address, wrong names
    so.tls_write_ca_file = ca.path.string();
    emulator::server srv(so);
    asio::io_context ctx;
    auto o = pd_options("https://butler.test:" + port_of(srv), ca);
    o.address_overrides = {"butler.test:" + port_of(srv) + ":127.0.0.1"};
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::certificate_verification_failed);
}

TEST_CASE("address overrides: take precedence over the plex.direct name",
          "[client][tls][address_override][plex_direct]")
{
    pd_temp_file ca;
    emulator::server srv(plex_server(ca));
    asio::io_context ctx;
    SECTION("the override's address is used")
    {
        // The name encodes 127.0.0.3, where nothing listens; the override says 127.0.0.1.
        const std::string host = pd_name("127-0-0-3");
        auto o = pd_options("https://" + host + ":" + port_of(srv), ca);
        o.address_overrides = {host + ":" + port_of(srv) + ":127.0.0.1"};
        client c(ctx, o);
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE(r.has_value());
    }
    SECTION("and only the override's: the name's address is not tried after it")
    {
        // The name encodes 127.0.0.1, where the server listens; the override says 127.0.0.3.
        auto o = pd_options(srv.url(), ca);
        o.address_overrides = {pd_name("127-0-0-1") + ":" + port_of(srv) + ":127.0.0.3"};
        client c(ctx, o);
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::connect_failed);
        CHECK_THAT(r.error().diag.server_message, Catch::Contains("(at 127.0.0.3, from the address overrides)"));
        CHECK(srv.requests_served() == 0);
    }
}

TEST_CASE("address overrides: the Host header and the token stay with the URL's host", "[client][address_override]")
{
    scripted_server server;
    server.set_default(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client_options o;
    o.server_url = "http://butler.test:" + std::to_string(server.port());
    o.token = "override-token-123";
    o.address_overrides = {"butler.test:" + std::to_string(server.port()) + ":127.0.0.1"};
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK_THAT(requests[0], Catch::Contains("\r\nHost: butler.test:" + std::to_string(server.port()) + "\r\n"));
    CHECK_THAT(requests[0], Catch::Contains("\r\nX-Plex-Token: override-token-123\r\n"));
}

TEST_CASE("address overrides: an invalid entry is refused by the constructor", "[client][address_override]")
{
    asio::io_context ctx;
    client_options o;
    o.server_url = "https://butler.test:32400";
    o.address_overrides = {"butler.test:32400:not-an-address"};
    CHECK_THROWS_WITH(client(ctx, o), Catch::Contains("address override \"butler.test:32400:not-an-address\""));
    o.address_overrides = {"butler.test:32400:127.0.0.1", "butler.test:32400:127.0.0.2"};
    CHECK_THROWS_AS(client(ctx, o), std::invalid_argument);
}
