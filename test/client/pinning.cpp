// Public-key pinning (client_options::pinned_public_keys) against real servers on loopback: pins
// alone accept a self-signed certificate whose key matches, pins with a CA option add to the chain and
// name checks, a mismatch names the key found and the pins expected, and nothing unchecked is ever
// used: not a pooled connection, not a resumed TLS session, not another client's session.
#include "support/client_fixture.hpp"
#include "support/tls_files.hpp"

#include <plexbutler/emulator/tls.hpp>
#include <plexbutler/public_key_pin.hpp>

#include <boost/asio/ssl/context.hpp>

#include "http/public_key_pins.hpp"

#include <cstdlib>
#include <string>
#include <utility>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

emulator::certificate_pair self_signed_for(std::vector<std::string> names, std::chrono::seconds not_before = -60s,
                                           std::chrono::seconds not_after = 24h)
{
    emulator::certificate_spec s;
    s.names = std::move(names);
    s.not_before = not_before;
    s.not_after = not_after;
    return emulator::make_certificate(s);
}

/// A pin of a key nobody has (another fresh certificate's).
std::string unrelated_pin() { return public_key_pin(self_signed_for({"unrelated.example"}).cert_pem); }

client_options pinned_options(const std::string& url, std::vector<std::string> pins)
{
    client_options o;
    o.server_url = url;
    o.request_timeout = 5000ms;
    o.connect_timeout = 3000ms;
    o.pinned_public_keys = std::move(pins);
    return o;
}

result<tasks_response> list_once(const client_options& o)
{
    asio::io_context ctx;
    client c(ctx, o);
    return run_on(ctx, c.try_get_butler_tasks());
}

// `n` lists one after the other, `pause` apart; the number that succeeded.
asio::awaitable<int> pinned_lists(client& c, int n, std::chrono::milliseconds pause)
{
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        if (i > 0)
            co_await sleep_for(pause);
        const auto r = co_await c.try_get_butler_tasks();
        if (r && !r->content.tasks.empty())
            ++ok;
        else if (!r)
            UNSCOPED_INFO(r.error().message());
    }
    co_return ok;
}

/// A CA named `ca_name` and a certificate for 127.0.0.1 that it issued.
std::pair<emulator::certificate_pair, emulator::certificate_pair> ca_and_leaf(const std::string& ca_name)
{
    emulator::certificate_spec cas;
    cas.is_ca = true;
    cas.common_name = ca_name;
    auto ca = emulator::make_certificate(cas);
    emulator::certificate_spec leaf_spec;
    leaf_spec.names = {"127.0.0.1"};
    auto leaf = emulator::make_certificate(leaf_spec, &ca);
    return {std::move(ca), std::move(leaf)};
}

} // namespace

TEST_CASE("pinning: public_key_pin is the SHA-256 of the certificate's SubjectPublicKeyInfo", "[client][pinning]")
{
    const auto pair = self_signed_for({"127.0.0.1"});
    const auto pin = public_key_pin(pair.cert_pem);
    CHECK(pin.rfind("sha256//", 0) == 0);
    CHECK(pin.size() == 8 + 44);
    CHECK(detail::parse_pin(pin).has_value());
    // Two certificates that share a key share a pin; a fresh key has another.
    emulator::certificate_spec same_key;
    same_key.names = {"other.example"};
    same_key.key_pem = pair.key_pem;
    CHECK(public_key_pin(emulator::make_certificate(same_key).cert_pem) == pin);
    CHECK(unrelated_pin() != pin);
    CHECK_THROWS_AS(public_key_pin("not a certificate"), std::invalid_argument);
}

TEST_CASE("pinning: pins alone accept a self-signed certificate whose key matches, and reuse the connection",
          "[client][pinning]")
{
    const auto pair = self_signed_for({"127.0.0.1"});
    certificate_server server(pair);
    asio::io_context ctx;
    client c(ctx, pinned_options(server.url(), {public_key_pin(pair.cert_pem)}));
    CHECK(run_on(ctx, pinned_lists(c, 3, 0ms)) == 3);
    CHECK(c.stats().connections_created == 1);
    CHECK(c.stats().tls_handshakes == 1);
    // Control: without the pin the same server is refused (self-signed, no CA option).
    auto r = list_once(pinned_options(server.url(), {}));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().diag.server_message.find("self-signed") != std::string::npos);
}

TEST_CASE("pinning: with pins alone the key is the whole proof, not the name or the dates", "[client][pinning]")
{
    // As curl's --insecure --pinnedpubkey: only the holder of the pinned key completes the handshake.
    const auto pair = self_signed_for({"other.example"}, -48h, -24h); // another name, and expired
    certificate_server server(pair);
    auto r = list_once(pinned_options(server.url(), {public_key_pin(pair.cert_pem)}));
    if (!r)
        INFO(r.error().message());
    CHECK(r.has_value());
}

TEST_CASE("pinning: a mismatch names the key found and the pins expected", "[client][pinning]")
{
    const auto pair = self_signed_for({"127.0.0.1"});
    certificate_server server(pair);
    const auto wrong1 = unrelated_pin();
    const auto wrong2 = unrelated_pin();
    const auto wrong3 = unrelated_pin();
    const auto wrong4 = unrelated_pin();
    asio::io_context ctx;
    client c(ctx, pinned_options(server.url(), {wrong1, wrong2, wrong3, wrong4}));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::certificate_verification_failed);
    CHECK(r.error().diag.server_message == "for 127.0.0.1:" + std::to_string(server.srv.port()) +
                                               ": public key pin mismatch: the server's key is " +
                                               public_key_pin(pair.cert_pem) + ", expected " + wrong1 + " or " +
                                               wrong2 + " or " + wrong3 + " or 1 more");
    CHECK(c.stats().tls_handshakes == 0);
    CHECK(server.srv.requests_served() == 0); // the request was never sent
}

TEST_CASE("pinning: one matching pin among several is enough", "[client][pinning]")
{
    const auto pair = self_signed_for({"127.0.0.1"});
    certificate_server server(pair);
    auto r = list_once(pinned_options(server.url(), {unrelated_pin(), public_key_pin(pair.cert_pem), unrelated_pin()}));
    CHECK(r.has_value());
}

TEST_CASE("pinning: tls_verify=false still checks the pins", "[client][pinning]")
{
    const auto pair = self_signed_for({"127.0.0.1"});
    certificate_server server(pair);
    auto o = pinned_options(server.url(), {unrelated_pin()});
    o.tls_verify = false;
    bool warned = false; // "verification is disabled: insecure" would be false with pins
    o.logger = [&warned](log_level l, std::string_view) { warned = warned || l == log_level::warning; };
    auto r = list_once(o);
    CHECK_FALSE(warned);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().diag.server_message.find("public key pin mismatch") != std::string::npos);
    o.pinned_public_keys = {public_key_pin(pair.cert_pem)};
    CHECK(list_once(o).has_value());
}

TEST_CASE("pinning: with a CA option the chain, the name and the pin must all hold", "[client][pinning]")
{
    const auto [ca, leaf] = ca_and_leaf("Pinning Test CA");
    certificate_server server(leaf);
    pem_directory dir;
    const auto ca_file = dir.write("ca.pem", ca.cert_pem);
    const auto pin = public_key_pin(leaf.cert_pem);

    SECTION("all hold")
    {
        auto o = pinned_options(server.url(), {pin});
        o.ca_file = ca_file;
        CHECK(list_once(o).has_value());
    }
    SECTION("the pin does not match")
    {
        auto o = pinned_options(server.url(), {unrelated_pin()});
        o.ca_file = ca_file;
        auto r = list_once(o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().diag.server_message.find("public key pin mismatch") != std::string::npos);
    }
    SECTION("the chain does not lead to the CA given")
    {
        auto o = pinned_options(server.url(), {pin});
        o.ca_file = dir.write("other-ca.pem", emulator::make_certificate_authority("Other CA").cert_pem);
        auto r = list_once(o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::certificate_verification_failed);
        CHECK(r.error().diag.server_message.find("missing intermediate or unknown CA") != std::string::npos);
    }
    SECTION("the name does not match")
    {
        auto o = pinned_options(server.url("localhost"), {pin});
        o.ca_file = ca_file;
        auto r = list_once(o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().diag.server_message.find("host name mismatch") != std::string::npos);
    }
    SECTION("a caller's ssl_context is a CA option too")
    {
        auto o = pinned_options(server.url(), {pin});
        o.ssl_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client); // trusts nothing
        auto r = list_once(o);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::certificate_verification_failed);
    }
}

TEST_CASE("pinning: malformed pins are refused by the constructor, naming the pin", "[client][pinning]")
{
    const auto good = unrelated_pin();
    auto body = good.substr(8);
    std::string non_canonical = good;
    // The last base64 character before '=' carries 2 unused bits: setting them keeps the bytes but is not canonical.
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto pos = non_canonical.size() - 2;
    non_canonical[pos] = alphabet[alphabet.find(non_canonical[pos]) ^ 1u];
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"", "empty"},
        {body, "no prefix"},
        {"sha1//" + body, "another digest"},
        {"sha256//" + body.substr(0, 43), "short"},
        {"sha256//" + body + "A", "long"},
        {"sha256//" + body.substr(0, 42) + "==", "31 bytes"},
        {"sha256//" + body.substr(0, 20) + "!" + body.substr(21), "not base64"},
        {"sha256// " + body.substr(1), "blank"},
        {non_canonical, "non-canonical"},
    };
    asio::io_context ctx;
    for (const auto& [pin, why] : bad) {
        INFO(why << ": " << pin);
        auto o = pinned_options("https://127.0.0.1:1", {good, pin});
        try {
            client c(ctx, o);
            FAIL("accepted");
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK(what.find("pinned_public_keys[1]") != std::string::npos);
            CHECK(what.find("\"" + pin + "\"") != std::string::npos);
        }
    }
    CHECK_NOTHROW(client(ctx, pinned_options("https://127.0.0.1:1", {good, good})));
}

TEST_CASE("pinning: pins for an http:// server are refused", "[client][pinning]")
{
    asio::io_context ctx;
    CHECK_THROWS_AS(client(ctx, pinned_options("http://127.0.0.1:1", {unrelated_pin()})), std::invalid_argument);
}

TEST_CASE("pinning: resumed TLS sessions are checked by the key recorded with them", "[client][pinning][resumption]")
{
    const auto pair = self_signed_for({"127.0.0.1"});
    certificate_server server(pair);
    auto o = pinned_options(server.url(), {public_key_pin(pair.cert_pem)});
    o.idle_timeout = 20ms; // each list finds its connection evicted: a new one resumes the last session
    asio::io_context ctx;
    client c(ctx, o);
    CHECK(run_on(ctx, pinned_lists(c, 4, 100ms)) == 4);
    const auto st = c.stats();
    CHECK(st.connections_created == 4);
    CHECK(st.tls_handshakes == 4);
    CHECK(st.tls_resumed == 3); // resumed handshakes carry no certificate: the recorded key passed the pins
}

TEST_CASE("pinning: a resumed session without a verified key, or with another key, is refused", "[client][pinning]")
{
    // The decision after every handshake (tcp_transport::connect), I/O-free.
    const auto pair = self_signed_for({"127.0.0.1"});
    const auto key = *detail::parse_pin(public_key_pin(pair.cert_pem));
    const auto other = *detail::parse_pin(unrelated_pin());
    const detail::public_key_pins pins({public_key_pin(pair.cert_pem)});
    const detail::public_key_pins none;

    CHECK(detail::check_pins_after_handshake(pins, true, std::nullopt, key).failure.empty());
    CHECK(detail::check_pins_after_handshake(pins, true, std::nullopt, key).key == key);
    CHECK(detail::check_pins_after_handshake(pins, true, key, std::nullopt).failure ==
          "public key pin not checked: the resumed TLS session has no verified key");
    CHECK(detail::check_pins_after_handshake(pins, true, key, other).failure.starts_with("public key pin mismatch"));
    CHECK(detail::check_pins_after_handshake(pins, false, key, other).failure.empty()); // full: the certificate's
    CHECK(detail::check_pins_after_handshake(pins, false, other, key).failure.starts_with("public key pin mismatch"));
    CHECK(detail::check_pins_after_handshake(pins, false, std::nullopt, key).failure ==
          "public key pin not checked: the server's certificate key is unknown");
    CHECK(detail::check_pins_after_handshake(none, true, std::nullopt, std::nullopt).failure.empty());
}

TEST_CASE("pinning: a client never uses another client's session or connection", "[client][pinning][resumption]")
{
    // Clients with the same CA file share one TLS context; sessions and pools stay per client, so a
    // pinned client proves the server's key itself even after an unpinned one has connected.
    const auto [ca, leaf] = ca_and_leaf("Sharing Test CA");
    certificate_server server(leaf);
    pem_directory dir;
    const auto ca_file = dir.write("ca.pem", ca.cert_pem);

    asio::io_context ctx;
    auto open = pinned_options(server.url(), {});
    open.ca_file = ca_file;
    open.idle_timeout = 20ms;
    client a(ctx, open);
    CHECK(run_on(ctx, pinned_lists(a, 2, 100ms)) == 2);
    CHECK(a.stats().tls_resumed == 1); // a has a session to offer

    auto wrong = pinned_options(server.url(), {unrelated_pin()});
    wrong.ca_file = ca_file;
    client b(ctx, wrong);
    auto rb = run_on(ctx, b.try_get_butler_tasks());
    REQUIRE_FALSE(rb.has_value());
    CHECK(rb.error().diag.server_message.find("public key pin mismatch") != std::string::npos);
    CHECK(b.stats().tls_handshakes == 0);

    auto right = pinned_options(server.url(), {public_key_pin(leaf.cert_pem)});
    right.ca_file = ca_file;
    client c(ctx, right);
    CHECK(run_on(ctx, pinned_lists(c, 1, 0ms)) == 1);
    CHECK(c.stats().tls_handshakes == 1);
    CHECK(c.stats().tls_resumed == 0); // a full handshake of its own
}

TEST_CASE("pinning: after the server's key changes, the pooled connection and the session are not used",
          "[client][pinning][resumption]")
{
    const auto first = self_signed_for({"127.0.0.1"});
    auto server = std::make_unique<certificate_server>(first);
    const auto port = server->srv.port();
    asio::io_context ctx;
    auto o = pinned_options(server->url(), {public_key_pin(first.cert_pem)});
    o.idle_timeout = 0ms; // keep the pooled connection
    client c(ctx, o);
    CHECK(run_on(ctx, pinned_lists(c, 2, 0ms)) == 2);
    CHECK(c.stats().connections_created == 1);

    // The same address now presents another key (and has other session ticket keys).
    server.reset();
    const auto second = self_signed_for({"127.0.0.1"});
    pem_directory dir;
    auto so =
        certificate_server::options(dir.write("chain.pem", second.cert_pem), dir.write("key.pem", second.key_pem));
    so.port = port;
    emulator::server replaced(so);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().message());
    CHECK(r.error().code == error::certificate_verification_failed);
    CHECK(r.error().diag.server_message.find("public key pin mismatch: the server's key is " +
                                             public_key_pin(second.cert_pem)) != std::string::npos);
    CHECK(replaced.requests_served() == 0);
}
