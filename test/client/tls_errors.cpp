// TLS errors that name their cause, one line each, each produced by a real server on loopback: a
// name or address the certificate does not hold (with its names), expired and not yet valid (with
// the date), untrusted issuers, a missing intermediate, a handshake the server never answers, a
// server that does not speak TLS. (Pin mismatches: pinning.cpp; protocol versions: tls_policy/.)
#include "support/client_fixture.hpp"
#include "support/tls_files.hpp"

#include <plexbutler/emulator/tls.hpp>

#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <sstream>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

/// The failure of one list operation against `url`, trusting `ca_pem` (none when empty).
failure tls_failure_of(const std::string& url, const std::string& ca_pem = {})
{
    pem_directory dir;
    client_options o;
    o.server_url = url;
    o.request_timeout = 5000ms;
    o.connect_timeout = 3000ms;
    if (!ca_pem.empty())
        o.ca_file = dir.write("ca.pem", ca_pem);
    asio::io_context ctx;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().message());
    CHECK(c.stats().tls_handshakes == 0);
    return r.error();
}

/// The same list operation, expected to succeed (control: the server and CA work).
bool tls_lists_with(const std::string& url, const std::string& ca_pem)
{
    pem_directory dir;
    client_options o;
    o.server_url = url;
    o.ca_file = dir.write("ca.pem", ca_pem);
    asio::io_context ctx;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    if (!r)
        UNSCOPED_INFO(r.error().message());
    return r.has_value();
}

emulator::certificate_pair errors_authority(const std::string& name)
{
    emulator::certificate_spec s;
    s.is_ca = true;
    s.common_name = name;
    return emulator::make_certificate(s);
}

emulator::certificate_pair issued(std::vector<std::string> names, const emulator::certificate_pair& ca,
                                  std::chrono::seconds not_before = -60s, std::chrono::seconds not_after = 24h)
{
    emulator::certificate_spec s;
    s.names = std::move(names);
    s.not_before = not_before;
    s.not_after = not_after;
    return emulator::make_certificate(s, &ca);
}

/// The UTC time written as "YYYY-MM-DD HH:MM:SS UTC" right after `prefix` in `text`, as seconds
/// since the epoch; -1 when absent.
long long utc_after(const std::string& text, const std::string& prefix)
{
    const auto at = text.find(prefix);
    if (at == std::string::npos)
        return -1;
    std::tm tm{};
    std::istringstream in(text.substr(at + prefix.size(), 23));
    in >> std::get_time(&tm, "%Y-%m-%d %H:%M:%S UTC");
    if (in.fail())
        return -1;
    return static_cast<long long>(timegm(&tm));
}

long long now_plus(std::chrono::seconds d)
{
    return static_cast<long long>(
        std::chrono::duration_cast<std::chrono::seconds>((std::chrono::system_clock::now() + d).time_since_epoch())
            .count());
}

} // namespace

TEST_CASE("tls errors: an IP address the certificate does not hold names the certificate's names, at most five",
          "[client][tls][tls-errors]")
{
    const auto ca = errors_authority("Errors Test CA");
    certificate_server server(
        issued({"other.example", "10.0.0.1", "b.example", "c.example", "d.example", "e.example", "f.example"}, ca));
    const auto f = tls_failure_of(server.url(), ca.cert_pem);
    CHECK(f.code == error::certificate_verification_failed);
    CHECK(f.diag.server_message == "for 127.0.0.1:" + std::to_string(server.srv.port()) +
                                       ": IP address mismatch: the certificate is for other.example, 10.0.0.1, "
                                       "b.example, c.example, d.example and 2 more, not 127.0.0.1");
    CHECK(f.message().find("unspecified") == std::string::npos);
}

TEST_CASE("tls errors: a host name the certificate does not hold names the certificate's names",
          "[client][tls][tls-errors]")
{
    const auto ca = errors_authority("Errors Test CA");
    certificate_server server(issued({"*.other.example", "127.0.0.1"}, ca));
    const auto f = tls_failure_of(server.url("localhost"), ca.cert_pem);
    CHECK(f.code == error::certificate_verification_failed);
    CHECK(f.diag.server_message.ends_with(
        ": host name mismatch: the certificate is for *.other.example, 127.0.0.1, not localhost"));
    // Control: the same server by the address it does hold.
    CHECK(tls_lists_with(server.url("127.0.0.1"), ca.cert_pem));
}

TEST_CASE("tls errors: an expired certificate is named with the date it expired", "[client][tls][tls-errors]")
{
    const auto ca = errors_authority("Errors Test CA");
    certificate_server server(issued({"127.0.0.1"}, ca, -48h, -24h));
    const auto f = tls_failure_of(server.url(), ca.cert_pem);
    CHECK(f.code == error::certificate_verification_failed);
    const std::string prefix = "certificate expired: \"CN=127.0.0.1\" was valid until ";
    INFO(f.diag.server_message);
    const auto until = utc_after(f.diag.server_message, prefix);
    REQUIRE(until > 0);
    CHECK(std::abs(until - now_plus(-24h)) < 30);
}

TEST_CASE("tls errors: a certificate not yet valid is named with the date it starts", "[client][tls][tls-errors]")
{
    const auto ca = errors_authority("Errors Test CA");
    certificate_server server(issued({"127.0.0.1"}, ca, 24h, 48h));
    const auto f = tls_failure_of(server.url(), ca.cert_pem);
    CHECK(f.code == error::certificate_verification_failed);
    const std::string prefix = "certificate not yet valid: \"CN=127.0.0.1\" is valid from ";
    INFO(f.diag.server_message);
    const auto from = utc_after(f.diag.server_message, prefix);
    REQUIRE(from > 0);
    CHECK(std::abs(from - now_plus(24h)) < 30);
}

TEST_CASE("tls errors: a self-signed certificate that is not trusted", "[client][tls][tls-errors]")
{
    emulator::certificate_spec s;
    s.names = {"127.0.0.1"};
    certificate_server server(emulator::make_certificate(s));
    const auto f = tls_failure_of(server.url());
    CHECK(f.code == error::certificate_verification_failed);
    CHECK(f.diag.server_message.ends_with(
        ": untrusted certificate: \"CN=127.0.0.1\" is self-signed and not trusted (trust it as a CA file, or pin "
        "its public key)"));
}

TEST_CASE("tls errors: a chain that ends in an untrusted root names the root", "[client][tls][tls-errors]")
{
    const auto root = errors_authority("Unknown Root CA");
    const auto trusted = errors_authority("Some Other CA");
    certificate_server server(issued({"127.0.0.1"}, root), root.cert_pem); // the server sends its root too
    const auto f = tls_failure_of(server.url(), trusted.cert_pem);
    CHECK(f.code == error::certificate_verification_failed);
    CHECK(f.diag.server_message.ends_with(
        ": untrusted issuer: the chain ends in \"CN=Unknown Root CA\", a self-signed CA that is not trusted"));
}

TEST_CASE("tls errors: an intermediate issued by an unknown CA names that CA", "[client][tls][tls-errors]")
{
    const auto root = errors_authority("Unknown Root CA");
    emulator::certificate_spec is;
    is.is_ca = true;
    is.common_name = "Unknown Intermediate CA";
    const auto intermediate = emulator::make_certificate(is, &root);
    certificate_server server(issued({"127.0.0.1"}, intermediate), intermediate.cert_pem);
    const auto f = tls_failure_of(server.url(), errors_authority("Some Other CA").cert_pem);
    CHECK(f.code == error::certificate_verification_failed);
    CHECK(f.diag.server_message.ends_with(": untrusted issuer: \"CN=Unknown Root CA\" (the issuer of \"CN=Unknown "
                                          "Intermediate CA\") is not a trusted CA"));
}

TEST_CASE("tls errors: a server that does not send its intermediate", "[client][tls][tls-errors]")
{
    const auto root = errors_authority("Trusted Root CA");
    emulator::certificate_spec is;
    is.is_ca = true;
    is.common_name = "Trusted Intermediate CA";
    const auto intermediate = emulator::make_certificate(is, &root);
    const auto leaf = issued({"127.0.0.1"}, intermediate);
    {
        certificate_server incomplete(leaf); // the leaf alone
        const auto f = tls_failure_of(incomplete.url(), root.cert_pem);
        CHECK(f.code == error::certificate_verification_failed);
        CHECK(f.diag.server_message.ends_with(
            ": missing intermediate or unknown CA: the issuer \"CN=Trusted Intermediate CA\" of \"CN=127.0.0.1\" is "
            "not a trusted CA and the server sent no intermediate certificate"));
    }
    // Control: with the intermediate, the same leaf verifies against the same root.
    certificate_server complete(leaf, intermediate.cert_pem);
    CHECK(tls_lists_with(complete.url(), root.cert_pem));
}

TEST_CASE("tls errors: a handshake the server never answers is named as such", "[client][tls][tls-errors]")
{
    scripted_server server;
    server.set_default(script{}.hang()); // accepts TCP, reads the ClientHello, never answers
    client_options o;
    o.server_url = "https://127.0.0.1:" + std::to_string(server.port());
    o.connect_timeout = 300ms;
    asio::io_context ctx;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::timeout);
    CHECK(r.error().diag.server_message ==
          "after 300 ms connecting to 127.0.0.1:" + std::to_string(server.port()) +
              ": the TLS handshake did not complete (the TCP connection was accepted)");
}

TEST_CASE("tls errors: a TCP connect that times out does not blame the handshake", "[client][tls][tls-errors]")
{
    // 192.0.2.0/24 (TEST-NET-1) is never routed: the TCP connect itself cannot complete.
    client_options o;
    o.server_url = "https://192.0.2.1:443";
    o.connect_timeout = 200ms;
    asio::io_context ctx;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().message());
    // Unroutable here: either the connect times out or the network says so at once.
    CHECK((r.error().code == error::timeout || r.error().code == error::connect_failed));
    CHECK(r.error().diag.server_message.find("handshake") == std::string::npos);
}

TEST_CASE("tls errors: a server that answers in plain HTTP", "[client][tls][tls-errors]")
{
    scripted_server server;
    server.set_default(script{}.send(http_response(400, "", "text/html")).close());
    client_options o;
    o.server_url = "https://127.0.0.1:" + std::to_string(server.port());
    asio::io_context ctx;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::tls_handshake_failed);
    CHECK(r.error().diag.server_message.find("the server did not answer with TLS: is it an http:// server?") !=
          std::string::npos);
}

TEST_CASE("tls errors: each message is one printable line of at most 512 bytes", "[client][tls][tls-errors]")
{
    const auto ca = errors_authority("Errors Test CA");
    std::vector<std::string> many;
    for (int i = 0; i < 40; ++i)
        many.push_back(std::string(60, static_cast<char>('a' + i % 26)) + ".example");
    certificate_server server(issued(many, ca));
    const auto f = tls_failure_of(server.url(), ca.cert_pem);
    const auto line = f.message();
    CHECK(line.size() <= 512);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find("and 35 more, not 127.0.0.1") != std::string::npos);
}
