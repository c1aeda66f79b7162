// plex.direct names (http/plex_direct.hpp) and address overrides (http/address_override.hpp):
// which names map to which addresses, and what the endpoint connects to. No I/O.
#include "http/plex_direct.hpp"
#include "http/address_override.hpp"
#include "http/request.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <stdexcept>
#include <string>

using namespace plexbutler;
using namespace plexbutler::detail;
namespace ip = boost::asio::ip;

namespace {

constexpr const char* hash = "0123456789abcdef0123456789abcdef";

std::string with_hash(const std::string& label) { return label + "." + hash + ".plex.direct"; }

std::optional<std::string> derived(const std::string& host)
{
    const auto a = plex_direct_address(host);
    if (!a)
        return std::nullopt;
    return a->to_string();
}

} // namespace

TEST_CASE("plex.direct: names that encode an address", "[plex_direct]")
{
    struct row {
        std::string host;
        std::string address;
    };
    const row rows[] = {
        {with_hash("127-0-0-1"), "127.0.0.1"},
        {with_hash("192-168-1-10"), "192.168.1.10"},
        {with_hash("10-0-0-255"), "10.0.0.255"},
        {with_hash("0-0-0-0"), "0.0.0.0"},
        {with_hash("255-255-255-255"), "255.255.255.255"},
        // Case-insensitive, as DNS names are: the hash, the suffix and IPv6 digits.
        {"127-0-0-1.0123456789ABCDEF0123456789ABCDEF.PLEX.DIRECT", "127.0.0.1"},
        {"127-0-0-1.0123456789abcdef0123456789abcdef.Plex.Direct", "127.0.0.1"},
        // The absolute form (one trailing dot) is the same name.
        {with_hash("127-0-0-1") + ".", "127.0.0.1"},
        // IPv6 as Plex writes it: eight groups of four digits, ':' replaced by '-'.
        {with_hash("0000-0000-0000-0000-0000-0000-0000-0001"), "::1"},
        {with_hash("240e-03a1-02f1-9f70-ca8a-d8ff-fe32-766b"), "240e:3a1:2f1:9f70:ca8a:d8ff:fe32:766b"},
        {with_hash("3210-488D-188F-5660-0000-0000-0000-9A52"), "3210:488d:188f:5660::9a52"},
        {with_hash("fd00-0-0-0-0-0-0-10"), "fd00::10"}, // groups of fewer digits name one address too
        {with_hash("0000-0000-0000-0000-0000-ffff-7f00-0001"), "::ffff:127.0.0.1"},
    };
    for (const auto& r : rows) {
        INFO(r.host);
        CHECK(derived(r.host) == r.address);
    }
}

TEST_CASE("plex.direct: names that do not, and are left to DNS", "[plex_direct]")
{
    const std::string not_matching[] = {
        // Other domains, and plex.direct inside another domain.
        "127-0-0-1.example.com",
        "127-0-0-1." + std::string(hash) + ".example.com",
        "127-0-0-1.plex.direct.evil.com",
        with_hash("127-0-0-1") + ".evil.com",
        "127-0-0-1." + std::string(hash) + ".xplex.direct",
        "127-0-0-1." + std::string(hash) + ".plex-direct",
        "127-0-0-1." + std::string(hash) + "plex.direct",
        // Exactly <address>.<hash>.plex.direct: no label more or less.
        "127-0-0-1.plex.direct",
        "plex.direct",
        ".plex.direct",
        "x." + with_hash("127-0-0-1"),
        "127-0-0-1.x." + std::string(hash) + ".plex.direct",
        "." + with_hash("127-0-0-1"),
        with_hash("127-0-0-1") + "..",
        // The hash: 32 hexadecimal digits.
        "127-0-0-1.0123456789abcdef0123456789abcde.plex.direct",
        "127-0-0-1.0123456789abcdef0123456789abcdef0.plex.direct",
        "127-0-0-1.0123456789abcdef0123456789abcdeg.plex.direct",
        "127-0-0-1..plex.direct",
        // IPv4: four decimal numbers 0 to 255 without leading zeros.
        with_hash("256-0-0-1"),
        with_hash("127-0-0-256"),
        with_hash("127-0-1"),
        with_hash("127-0-0-1-1"),
        with_hash("127-0-0-"),
        with_hash("-127-0-0-1"),
        with_hash("127--0-1"),
        with_hash("127-00-0-1"),
        with_hash("010-0-0-1"),
        with_hash("1000-0-0-1"),
        with_hash("127-0-0-1a"),
        with_hash("127.0.0.1"),
        with_hash("127-0-0-+1"),
        with_hash(" 127-0-0-1"),
        with_hash("localhost"),
        // IPv6: exactly eight groups of 1 to 4 hexadecimal digits; no '::' abbreviation.
        with_hash("0000-0000-0000-0000-0000-0000-0001"),
        with_hash("0000-0000-0000-0000-0000-0000-0000-0000-0001"),
        with_hash("--1"),
        with_hash("fd00--10"),
        with_hash("fd00-0-0-0-0-0-0-"),
        with_hash("00000-0-0-0-0-0-0-1"),
        with_hash("g000-0-0-0-0-0-0-1"),
        with_hash("fd00-0-0-0-0-0-127-0-0-1"),
        // Not a name at all.
        "",
        ".",
        "127.0.0.1",
    };
    for (const auto& host : not_matching) {
        INFO(host);
        CHECK_FALSE(plex_direct_address(host));
    }
}

TEST_CASE("plex.direct: names are formatted as Plex writes them and parse back", "[plex_direct]")
{
    CHECK(plex_direct_name(ip::make_address("127.0.0.1"), hash) == with_hash("127-0-0-1"));
    CHECK(plex_direct_name(ip::make_address("::1"), "0123456789ABCDEF0123456789ABCDEF") ==
          with_hash("0000-0000-0000-0000-0000-0000-0000-0001"));
    for (const char* text : {"192.168.1.10", "0.0.0.0", "fd00::10", "2001:db8:85a3::8a2e:370:7334", "::"}) {
        INFO(text);
        const auto a = ip::make_address(text);
        CHECK(plex_direct_address(plex_direct_name(a, hash)) == a);
    }
    CHECK(is_plex_direct_hash(hash));
    CHECK_FALSE(is_plex_direct_hash("0123456789abcdef"));
    CHECK_FALSE(is_plex_direct_hash("0123456789abcdef0123456789abcdeX"));
}

TEST_CASE("address overrides: entries curl's --resolve accepts", "[address_override]")
{
    auto o = parse_address_override("NAS.Example:32400:192.168.1.10");
    CHECK(o.host == "nas.example");
    CHECK_FALSE(o.host_ip);
    CHECK(o.port == 32400);
    REQUIRE(o.addresses.size() == 1);
    CHECK(o.addresses[0] == ip::make_address("192.168.1.10"));
    CHECK(o.matches("nas.example", 32400));
    CHECK(o.matches("NAS.EXAMPLE", 32400));
    CHECK_FALSE(o.matches("nas.example", 443));
    CHECK_FALSE(o.matches("nas.example.com", 32400));
    CHECK_FALSE(o.matches("example", 32400));

    o = parse_address_override("server.test:443:[::1],127.0.0.1,[fd00::10]");
    REQUIRE(o.addresses.size() == 3);
    CHECK(o.addresses[0] == ip::make_address("::1"));
    CHECK(o.addresses[1] == ip::make_address("127.0.0.1"));
    CHECK(o.addresses[2] == ip::make_address("fd00::10"));

    // An IP literal host matches the same address however it is written.
    o = parse_address_override("[0:0::1]:8443:127.0.0.1");
    REQUIRE(o.host_ip);
    CHECK(o.matches("::1", 8443));
    CHECK_FALSE(o.matches("::2", 8443));
    o = parse_address_override("10.0.0.1:80:127.0.0.1");
    CHECK(o.matches("10.0.0.1", 80));
    CHECK_FALSE(o.matches("10.0.0.2", 80));
}

TEST_CASE("address overrides: nonsense is refused with the entry and the reason", "[address_override]")
{
    struct row {
        std::string entry;
        std::string says;
    };
    const row rows[] = {
        {"", "empty entry"},
        {"example.test", "missing port"},
        {"example.test:443", "missing address"},
        {"example.test:443:", "empty address"},
        {":443:127.0.0.1", "empty host"},
        {"example.test::127.0.0.1", "port"},
        {"example.test:0:127.0.0.1", "port"},
        {"example.test:65536:127.0.0.1", "port"},
        {"example.test:99999999999999999999:127.0.0.1", "port"},
        {"example.test:+443:127.0.0.1", "port"},
        {"example.test:https:127.0.0.1", "port"},
        {"example.test:443:localhost", "not an IP address: localhost"},
        {"example.test:443:127.0.0.256", "not an IP address"},
        {"example.test:443:127.1", "not an IP address"},
        {"example.test:443:127.0.0.1,", "empty address"},
        {"example.test:443:127.0.0.1,,::1", "empty address"},
        {"example.test:443:::1", "in brackets"},
        {"example.test:443:[::1", "unclosed bracket"},
        {"example.test:443:[127.0.0.1]", "not an IPv6 address"},
        {"[::1:443:127.0.0.1", "unclosed bracket"},
        {"[example]:443:127.0.0.1", "not an IPv6 address"},
        {"[::1]443:127.0.0.1", "missing port"},
        {"+example.test:443:127.0.0.1", "not supported"},
        {"-example.test:443", "not supported"},
        {"*:443:127.0.0.1", "not supported"},
        {"exa mple.test:443:127.0.0.1", "not a host name"},
        {"a/b:443:127.0.0.1", "not a host name"},
    };
    for (const auto& r : rows) {
        INFO(r.entry);
        try {
            parse_address_override(r.entry);
            FAIL("accepted");
        } catch (const std::invalid_argument& e) {
            const std::string what = e.what();
            CHECK(what.find("address override \"" + r.entry + "\"") != std::string::npos);
            CHECK(what.find(r.says) != std::string::npos);
        }
    }
    // Two entries for one host and port: which one would win is not obvious.
    CHECK_THROWS_WITH(parse_address_overrides({"a.test:443:127.0.0.1", "A.test:443:127.0.0.2"}),
                      Catch::Contains("a second entry for the same host and port"));
    CHECK_THROWS_WITH(parse_address_overrides({"[::1]:443:127.0.0.1", "[0::1]:443:127.0.0.2"}),
                      Catch::Contains("a second entry"));
    CHECK(parse_address_overrides({"a.test:443:127.0.0.1", "a.test:444:127.0.0.2", "b.test:443:127.0.0.3"}).size() ==
          3);
}

TEST_CASE("endpoint: what a client connects to, and what names the server", "[plex_direct][address_override]")
{
    const std::string name = with_hash("192-168-1-10");
    client_options o;
    o.server_url = "https://" + name + ":32400";

    SECTION("a plex.direct name: its address, the name everywhere else")
    {
        const auto ep = parse_endpoint(o);
        REQUIRE(ep.connect_to.size() == 1);
        CHECK(ep.connect_to[0] == ip::tcp::endpoint(ip::make_address("192.168.1.10"), 32400));
        CHECK(ep.connect_source == address_source::plex_direct);
        CHECK(ep.host == name);
        CHECK_FALSE(ep.host_is_ip);
        CHECK(ep.host_header == name + ":32400");
        CHECK(ep.server == name + ":32400");
    }
    SECTION("plex.direct derivation turned off: DNS")
    {
        o.plex_direct_without_dns = false;
        const auto ep = parse_endpoint(o);
        CHECK(ep.connect_to.empty());
        CHECK(ep.connect_source == address_source::dns);
    }
    SECTION("an override wins over the plex.direct name")
    {
        o.address_overrides = {name + ":32400:[::1],127.0.0.2"};
        const auto ep = parse_endpoint(o);
        REQUIRE(ep.connect_to.size() == 2);
        CHECK(ep.connect_to[0] == ip::tcp::endpoint(ip::make_address("::1"), 32400));
        CHECK(ep.connect_to[1] == ip::tcp::endpoint(ip::make_address("127.0.0.2"), 32400));
        CHECK(ep.connect_source == address_source::override_list);
        CHECK(ep.host_header == name + ":32400");
    }
    SECTION("an override for another port or host does not apply")
    {
        o.address_overrides = {name + ":443:127.0.0.2", "other.test:32400:127.0.0.3"};
        const auto ep = parse_endpoint(o);
        REQUIRE(ep.connect_to.size() == 1);
        CHECK(ep.connect_source == address_source::plex_direct);
        CHECK(ep.connect_to[0].address() == ip::make_address("192.168.1.10"));
    }
    SECTION("an override for a plain name, matched case-insensitively, default port")
    {
        o.server_url = "https://NAS.example";
        o.address_overrides = {"nas.EXAMPLE:443:10.0.0.7"};
        const auto ep = parse_endpoint(o);
        REQUIRE(ep.connect_to.size() == 1);
        CHECK(ep.connect_to[0] == ip::tcp::endpoint(ip::make_address("10.0.0.7"), 443));
        CHECK(ep.host_header == "nas.example");
    }
    SECTION("other names resolve as before")
    {
        for (const char* url : {"https://127-0-0-1.example.com:32400", "https://127-0-0-1.plex.direct.evil.com",
                                "https://127-0-0-1.plex.direct:32400", "https://localhost:32400"}) {
            INFO(url);
            o.server_url = url;
            const auto ep = parse_endpoint(o);
            CHECK(ep.connect_to.empty());
            CHECK(ep.connect_source == address_source::dns);
        }
    }
    SECTION("an invalid override is refused even when it is for another host")
    {
        o.address_overrides = {"other.test:443:not-an-address"};
        CHECK_THROWS_AS(parse_endpoint(o), std::invalid_argument);
    }
}
