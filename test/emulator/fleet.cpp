// The emulator fleet: many independent emulated servers in one process, driven by the library's
// client over HTTP and HTTPS; and its I/O-free plan (addresses, fault choice, tokens).

#include "emulator/fleet_plan.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/emulator/fleet.hpp>
#include <plexbutler/emulator/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace emu = plexbutler::emulator;
using plexbutler::result;
using plexbutler::task_outcome;
using plexbutler::task_response;
using plexbutler::tasks_response;

namespace {

emu::fleet_options fleet_test_options(std::size_t n)
{
    emu::fleet_options o;
    o.servers = n;
    o.server.window = {0, 0}; // no window: every start runs at once
    o.server.task_duration = 60s;
    o.server.seed = 7;
    return o;
}

/// One client per server of a fleet, on one io_context of the test's thread.
class fleet_test_clients {
public:
    fleet_test_clients(const emu::fleet& f, std::shared_ptr<asio::ssl::context> tls = nullptr)
    {
        for (std::size_t i = 0; i < f.size(); ++i)
            add(f.url(i), f.token(i).value_or(""), tls);
    }
    ~fleet_test_clients()
    {
        for (auto& c : clients_)
            c->shutdown();
        ioc_.restart();
        ioc_.run();
    }

    void add(const std::string& url, const std::string& token, std::shared_ptr<asio::ssl::context> tls = nullptr)
    {
        plexbutler::client_options co;
        co.server_url = url;
        co.token = token;
        co.max_connections = 1;
        co.connect_timeout = 5s;
        co.request_timeout = 10s;
        co.ssl_context = std::move(tls);
        clients_.push_back(std::make_unique<plexbutler::client>(ioc_, std::move(co)));
    }

    plexbutler::client& operator[](std::size_t i) { return *clients_.at(i); }
    std::size_t size() const noexcept { return clients_.size(); }

    /// `GET /butler` on every client at once.
    std::vector<result<tasks_response>> get_all()
    {
        std::vector<std::optional<result<tasks_response>>> out(clients_.size());
        for (std::size_t i = 0; i < clients_.size(); ++i)
            asio::co_spawn(ioc_, fleet_test_get(clients_[i].get(), &out[i]), when_done());
        run();
        std::vector<result<tasks_response>> done;
        for (auto& r : out) {
            REQUIRE(r.has_value());
            done.push_back(std::move(*r));
        }
        return done;
    }

    result<tasks_response> get(std::size_t i)
    {
        std::optional<result<tasks_response>> out;
        asio::co_spawn(ioc_, fleet_test_get(clients_.at(i).get(), &out), when_done());
        run();
        REQUIRE(out.has_value());
        return std::move(*out);
    }

    result<task_response> start(std::size_t i, std::string name)
    {
        std::optional<result<task_response>> out;
        asio::co_spawn(ioc_, fleet_test_start(clients_.at(i).get(), std::move(name), &out), when_done());
        run();
        REQUIRE(out.has_value());
        return std::move(*out);
    }

private:
    static asio::awaitable<void> fleet_test_get(plexbutler::client* c, std::optional<result<tasks_response>>* out)
    {
        auto op = c->try_get_butler_tasks();
        auto r = co_await std::move(op);
        out->emplace(std::move(r));
    }
    static asio::awaitable<void> fleet_test_start(plexbutler::client* c, std::string name,
                                                  std::optional<result<task_response>>* out)
    {
        auto op = c->try_start_task(name);
        auto r = co_await std::move(op);
        out->emplace(std::move(r));
    }
    /// Runs until the operations spawned since the last run are done (idle pooled connections
    /// keep the io_context busy, so it would not run out of work).
    void run()
    {
        ioc_.restart();
        if (pending_ > 0)
            ioc_.run();
    }
    std::function<void(std::exception_ptr)> when_done()
    {
        ++pending_;
        return [this](std::exception_ptr e) {
            if (--pending_ == 0)
                ioc_.stop();
            if (e)
                std::rethrow_exception(e);
        };
    }

    asio::io_context ioc_;
    std::size_t pending_ = 0;
    std::vector<std::unique_ptr<plexbutler::client>> clients_;
};

std::vector<std::size_t> fleet_test_running(const emu::fleet& f, const std::string& task)
{
    std::vector<std::size_t> running;
    for (std::size_t i = 0; i < f.size(); ++i)
        for (const auto& s : f.task_states(i))
            if (s.name == task && s.state == emu::task_state::running)
                running.push_back(i);
    return running;
}

bool fleet_test_has_task(const tasks_response& r, const std::string& name)
{
    return std::any_of(r.content.tasks.begin(), r.content.tasks.end(),
                       [&](const plexbutler::butler_task& t) { return t.name == name; });
}

/// True when a TCP connect to `port` on `host` is refused.
bool fleet_test_refused(const std::string& host, std::uint16_t port)
{
    asio::io_context ioc;
    asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({asio::ip::make_address(host), port}, ec);
    return ec == asio::error::connection_refused;
}

struct fleet_test_ca_file {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("plexbutler-fleet-ca-" + std::to_string(::getpid()) + "-" +
                                                  std::to_string(reinterpret_cast<std::uintptr_t>(this)) + ".pem");
    ~fleet_test_ca_file()
    {
        std::error_code ignored;
        std::filesystem::remove(path, ignored);
    }
    std::shared_ptr<asio::ssl::context> client_context() const
    {
        auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        ctx->load_verify_file(path.string());
        return ctx;
    }
};

// The certificate server `url` presents (a blocking handshake that verifies it against the CA
// file): its subjectAltName entries as text ("IP:127.0.1.6"), and whether it is self-issued.
struct fleet_test_presented {
    std::vector<std::string> names;
    bool self_issued = true;
};

fleet_test_presented fleet_test_certificate(const fleet_test_ca_file& ca, const std::string& url)
{
    const auto host_port = url.substr(url.find("://") + 3);
    const auto colon = host_port.rfind(':');
    asio::io_context io;
    auto ctx = ca.client_context();
    ctx->set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<asio::ip::tcp::socket> s(io, *ctx);
    s.next_layer().connect({asio::ip::make_address(host_port.substr(0, colon)),
                            static_cast<std::uint16_t>(std::stoi(host_port.substr(colon + 1)))});
    s.handshake(asio::ssl::stream_base::client); // throws when the certificate does not verify
    fleet_test_presented out;
    X509* cert = SSL_get_peer_certificate(s.native_handle());
    REQUIRE(cert != nullptr);
    out.self_issued = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
        if (n->type == GEN_IPADD && n->d.iPAddress->length == 4) {
            const unsigned char* a = n->d.iPAddress->data;
            out.names.push_back("IP:" + std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) +
                                "." + std::to_string(a[3]));
        } else {
            out.names.push_back("other");
        }
    }
    GENERAL_NAMES_free(names);
    X509_free(cert);
    return out;
}

plexbutler::butler_task fleet_test_task(std::string name)
{
    plexbutler::butler_task t;
    t.name = std::move(name);
    t.interval = 2;
    t.enabled = true;
    t.schedule_randomized = false;
    t.title = "Added at run time";
    return t;
}

} // namespace

// ---- the plan, without sockets ----------------------------------------------------------------

TEST_CASE("fleet plan: loopback addresses and their servers map both ways", "[emulator][fleet]")
{
    CHECK(emu::loopback_address(0) == "127.0.1.1");
    CHECK(emu::loopback_address(253) == "127.0.1.254");
    CHECK(emu::loopback_address(254) == "127.0.2.1");
    CHECK(emu::loopback_address(9999) == "127.0.40.94");
    CHECK(emu::loopback_address(emu::max_loopback_servers - 1) == "127.0.254.254");
    CHECK_THROWS_AS(emu::loopback_address(emu::max_loopback_servers), std::out_of_range);

    for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{253}, std::size_t{254}, std::size_t{9999}}) {
        const auto a = asio::ip::make_address_v4(emu::loopback_address(i)).to_bytes();
        CHECK(emu::detail::loopback_index(a, 10000) == i);
        CHECK_FALSE(emu::detail::loopback_index(a, i).has_value()); // beyond a smaller fleet
    }
    using bytes = std::array<unsigned char, 4>;
    CHECK_FALSE(emu::detail::loopback_index(bytes{127, 0, 0, 1}, 10000).has_value());
    CHECK_FALSE(emu::detail::loopback_index(bytes{127, 0, 1, 0}, 10000).has_value());
    CHECK_FALSE(emu::detail::loopback_index(bytes{127, 0, 1, 255}, 10000).has_value());
    CHECK_FALSE(emu::detail::loopback_index(bytes{127, 1, 1, 1}, 10000).has_value());
    CHECK_FALSE(emu::detail::loopback_index(bytes{10, 0, 1, 1}, 10000).has_value());
}

TEST_CASE("fleet plan: the fault fraction chooses exactly round(fraction × N) servers, reproducibly",
          "[emulator][fleet]")
{
    const auto a = emu::detail::choose_faulted(1000, 0.1, 42);
    CHECK(a.size() == 100);
    CHECK(std::set<std::size_t>(a.begin(), a.end()).size() == 100);
    CHECK(std::is_sorted(a.begin(), a.end()));
    CHECK(a.back() < 1000);
    CHECK(emu::detail::choose_faulted(1000, 0.1, 42) == a);
    CHECK(emu::detail::choose_faulted(1000, 0.1, 43) != a);
    // Spread over the fleet, not the first 100.
    CHECK(a.back() > 500);
    CHECK(emu::detail::choose_faulted(7, 0.5, 1).size() == 4); // 3.5 rounds up
    CHECK(emu::detail::choose_faulted(200, 0.0, 1).empty());
    CHECK(emu::detail::choose_faulted(200, 1.0, 1).size() == 200);
    CHECK_THROWS_AS(emu::detail::choose_faulted(10, 1.5, 1), std::invalid_argument);
}

TEST_CASE("fleet plan: token patterns and token validity", "[emulator][fleet]")
{
    CHECK(emu::detail::expand_token_pattern("tok-{i}", 17) == "tok-17");
    CHECK(emu::detail::expand_token_pattern("{i}-x-{i}", 3) == "3-x-3");
    CHECK(emu::detail::expand_token_pattern("{i", 3) == "{i");
    CHECK(emu::detail::valid_token("abcDEF-123_~"));
    CHECK_FALSE(emu::detail::valid_token(""));
    CHECK_FALSE(emu::detail::valid_token("with space"));
    CHECK_FALSE(emu::detail::valid_token("line\r\nX-Injected: 1"));
    CHECK_FALSE(emu::detail::valid_token(std::string(4097, 'a')));
}

TEST_CASE("fleet: invalid options are rejected", "[emulator][fleet]")
{
    auto o = fleet_test_options(0);
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(3);
    o.token_pattern = "no-placeholder";
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(3);
    o.token_pattern = "t{i}";
    o.server.token = "shared";
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(3);
    o.tokens = {"a", "b"};
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(3);
    o.tokens = {"a", "b c", "d"};
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(3);
    o.fault_fraction = 2;
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(3);
    o.faults.fail_rate = -1;
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(3);
    o.server.port = 65534;
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(emu::max_loopback_servers + 1);
    o.addressing = emu::fleet_addressing::loopback_addresses;
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
    o = fleet_test_options(2);
    o.server.tasks = std::vector<plexbutler::butler_task>{fleet_test_task("Same"), fleet_test_task("Same")};
    CHECK_THROWS_AS(emu::fleet(o), std::invalid_argument);
}

// ---- over sockets, with the library's client ----------------------------------------------------

TEST_CASE("fleet: 200 servers over HTTP answer independently, each with its own token", "[emulator][fleet]")
{
    auto o = fleet_test_options(200);
    o.token_pattern = "fleet-token-{i}";
    emu::fleet f(o);
    REQUIRE(f.size() == 200);
    const auto urls = f.urls();
    CHECK(std::set<std::string>(urls.begin(), urls.end()).size() == 200);
    CHECK(f.id(3) == "emu-3");
    CHECK(f.token(3) == "fleet-token-3");
    CHECK(urls[3] == "http://127.0.0.1:" + std::to_string(f.port(3)));

    fleet_test_clients c(f);
    for (const auto& r : c.get_all()) {
        REQUIRE(r.has_value());
        CHECK(r->content.tasks == emu::default_catalogue());
    }
    for (std::size_t i = 0; i < f.size(); ++i)
        CHECK(f.requests_served(i) == 1);

    // Starting a task on server 3 changes server 3 only.
    const auto started = c.start(3, "BackupDatabase");
    REQUIRE(started.has_value());
    CHECK(started->content == task_outcome::started);
    CHECK(fleet_test_running(f, "BackupDatabase") == std::vector<std::size_t>{3});
    CHECK(c.start(3, "BackupDatabase")->content == task_outcome::already_running);
    CHECK(c.start(4, "BackupDatabase")->content == task_outcome::started);
    CHECK(fleet_test_running(f, "BackupDatabase") == std::vector<std::size_t>{3, 4});
    CHECK(f.requests_served(3) == 3);
    CHECK(f.requests_served() == 203);

    // Server 5's token does not open server 6.
    c.add(f.url(6), *f.token(5));
    const auto denied = c.get(c.size() - 1);
    REQUIRE_FALSE(denied.has_value());
    CHECK(denied.error().code == plexbutler::error::unauthorized);
}

TEST_CASE("fleet: loopback addresses tell 300 servers apart on one port", "[emulator][fleet]")
{
    auto o = fleet_test_options(300);
    o.addressing = emu::fleet_addressing::loopback_addresses;
    o.server.token = "shared-fleet-token";
    emu::fleet f(o);
    CHECK(f.url(0) == "http://127.0.1.1:" + std::to_string(f.port(0)));
    CHECK(f.url(299) == "http://127.0.2.46:" + std::to_string(f.port(0)));
    CHECK(f.port(299) == f.port(0));

    fleet_test_clients c(f);
    for (const auto& r : c.get_all())
        CHECK(r.has_value());
    CHECK(c.start(254, "OptimizeDatabase")->content == task_outcome::started);
    CHECK(fleet_test_running(f, "OptimizeDatabase") == std::vector<std::size_t>{254});
    for (std::size_t i = 0; i < f.size(); ++i)
        CHECK(f.requests_served(i) == (i == 254 ? 2 : 1));

    // An address that is no server of this fleet is reset, not served.
    c.add("http://127.0.3.1:" + std::to_string(f.port(0)), "shared-fleet-token");
    const auto stranger = c.get(c.size() - 1);
    REQUIRE_FALSE(stranger.has_value());
    CHECK(f.requests_served() == 301);
}

TEST_CASE("fleet: HTTPS with one TLS context, by ports and by loopback addresses", "[emulator][fleet][tls]")
{
    SECTION("ports: one certificate for the listen address")
    {
        fleet_test_ca_file ca;
        auto o = fleet_test_options(3);
        o.server.tls_self_signed_name = "127.0.0.1";
        o.server.tls_write_ca_file = ca.path.string();
        emu::fleet f(o);
        CHECK(f.tls());
        CHECK(f.url(2).starts_with("https://127.0.0.1:"));
        fleet_test_clients c(f, ca.client_context());
        for (const auto& r : c.get_all())
            CHECK(r.has_value());
        CHECK(c.start(1, "BackupDatabase").has_value());
        CHECK(fleet_test_running(f, "BackupDatabase") == std::vector<std::size_t>{1});
    }
    SECTION("loopback addresses: each server's certificate names its address, across groups of 254")
    {
        fleet_test_ca_file ca;
        auto o = fleet_test_options(300);
        o.addressing = emu::fleet_addressing::loopback_addresses;
        o.server.tls_self_signed_name = "unused";
        o.server.tls_write_ca_file = ca.path.string();
        emu::fleet f(o);
        fleet_test_clients c(f, ca.client_context());
        for (std::size_t i : {std::size_t{0}, std::size_t{253}, std::size_t{254}, std::size_t{299}}) {
            const auto r = c.get(i);
            REQUIRE(r.has_value());
            CHECK(r->content.tasks.size() == emu::default_catalogue().size());
        }
        // Each server presents a certificate of its own, naming its address only, issued by the CA
        // of the CA file (a many-name certificate would be kept, whole, by every client connection).
        for (std::size_t i : {std::size_t{5}, std::size_t{254}}) {
            const auto presented = fleet_test_certificate(ca, f.url(i));
            const auto host = f.url(i).substr(8, f.url(i).rfind(':') - 8);
            CHECK(presented.names == std::vector<std::string>{"IP:" + host});
            CHECK_FALSE(presented.self_issued);
        }
        // Without the fleet's CA the certificate does not verify.
        c.add(f.url(5), "", std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client));
        const auto untrusted = c.get(c.size() - 1);
        REQUIRE_FALSE(untrusted.has_value());
        CHECK(untrusted.error().code == plexbutler::error::certificate_verification_failed);
    }
}

TEST_CASE("fleet: a server taken down at run time refuses while the others serve, and comes back on its URL",
          "[emulator][fleet]")
{
    emu::fleet f(fleet_test_options(20));
    fleet_test_clients c(f);
    for (const auto& r : c.get_all())
        REQUIRE(r.has_value()); // every client holds a keep-alive connection now

    f.set_down(7, true);
    CHECK(f.is_down(7));
    CHECK(f.faults(7).down);
    CHECK(fleet_test_refused("127.0.0.1", f.port(7)));
    const auto all = c.get_all();
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(all[i].has_value() == (i != 7));
        if (i == 7)
            CHECK(all[i].error().code == plexbutler::error::connect_failed);
    }

    f.set_down(7, false);
    CHECK_FALSE(f.is_down(7));
    CHECK_FALSE(fleet_test_refused("127.0.0.1", f.port(7)));
    CHECK(c.get(7).has_value());
    CHECK(f.url(7) == "http://127.0.0.1:" + std::to_string(f.port(7)));
    // Down and up again, repeatedly.
    for (int k = 0; k < 3; ++k) {
        f.set_down(7, true);
        CHECK_FALSE(c.get(7).has_value());
        f.set_down(7, false);
        CHECK(c.get(7).has_value());
    }
}

TEST_CASE("fleet: down with loopback addresses resets connections to that server only", "[emulator][fleet]")
{
    auto o = fleet_test_options(10);
    o.addressing = emu::fleet_addressing::loopback_addresses;
    emu::fleet f(o);
    fleet_test_clients c(f);
    for (const auto& r : c.get_all())
        REQUIRE(r.has_value());
    f.set_down(2, true);
    const auto all = c.get_all();
    for (std::size_t i = 0; i < all.size(); ++i)
        CHECK(all[i].has_value() == (i != 2));
    f.set_down(2, false);
    CHECK(c.get(2).has_value());
}

TEST_CASE("fleet: the fault fraction gives exactly that many servers the faults", "[emulator][fleet]")
{
    SECTION("5xx")
    {
        auto o = fleet_test_options(200);
        o.fault_fraction = 0.1;
        o.faults.fail_rate = 1.0;
        emu::fleet f(o);
        const auto chosen = f.faulted();
        REQUIRE(chosen.size() == 20);
        fleet_test_clients c(f);
        const auto all = c.get_all();
        std::vector<std::size_t> failed;
        for (std::size_t i = 0; i < all.size(); ++i)
            if (!all[i].has_value()) {
                CHECK(all[i].error().code == plexbutler::error::server_error);
                failed.push_back(i);
            }
        CHECK(failed == chosen);
        CHECK(f.faults(chosen[0]).fail_rate == 1.0);
        CHECK(f.faults(chosen[0] == 0 ? 1 : 0) == emu::fault_set{});
    }
    SECTION("down and 401 from the start")
    {
        auto o = fleet_test_options(40);
        o.fault_fraction = 0.25;
        o.fault_seed = 99;
        o.faults.down = true;
        emu::fleet f(o);
        const auto chosen = f.faulted();
        REQUIRE(chosen.size() == 10);
        for (std::size_t i = 0; i < f.size(); ++i)
            CHECK(fleet_test_refused("127.0.0.1", f.port(i)) == std::binary_search(chosen.begin(), chosen.end(), i));
        f.set_down(chosen[0], false);
        CHECK_FALSE(fleet_test_refused("127.0.0.1", f.port(chosen[0])));

        auto u = fleet_test_options(40);
        u.fault_fraction = 0.25;
        u.fault_seed = 99;
        u.faults.unauthorized = true;
        u.server.token = "right";
        emu::fleet g(u);
        CHECK(g.faulted() == chosen); // the same seed chooses the same servers
        fleet_test_clients c(g);
        const auto all = c.get_all();
        for (std::size_t i = 0; i < all.size(); ++i) {
            const bool faulted = std::binary_search(chosen.begin(), chosen.end(), i);
            CHECK(all[i].has_value() == !faulted);
            if (faulted)
                CHECK(all[i].error().code == plexbutler::error::unauthorized);
        }
    }
}

TEST_CASE("fleet: faults change at run time, per server", "[emulator][fleet]")
{
    auto o = fleet_test_options(4);
    o.server.token = "t";
    emu::fleet f(o);
    fleet_test_clients c(f);
    emu::fault_set bad;
    bad.unauthorized = true;
    f.set_faults(1, bad);
    CHECK(f.faults(1) == bad);
    auto all = c.get_all();
    CHECK(all[0].has_value());
    REQUIRE_FALSE(all[1].has_value());
    CHECK(all[1].error().code == plexbutler::error::unauthorized);

    emu::fault_set slow;
    slow.latency = 300ms;
    slow.close_after = 1;
    f.set_faults(1, slow);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.get(1).has_value());
    CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
    const auto t1 = std::chrono::steady_clock::now();
    CHECK(c.get(0).has_value());
    CHECK(std::chrono::steady_clock::now() - t1 < 300ms);

    f.set_faults(1, {});
    CHECK(c.get(1).has_value());
    emu::fault_set invalid;
    invalid.fail_rate = 2;
    CHECK_THROWS_AS(f.set_faults(1, invalid), std::invalid_argument);
    CHECK_THROWS_AS(f.set_faults(4, {}), std::out_of_range);
}

TEST_CASE("fleet: task lists change at run time on one server, and clients see it", "[emulator][fleet]")
{
    emu::fleet f(fleet_test_options(3));
    fleet_test_clients c(f);
    CHECK(c.start(2, "BackupDatabase")->content == task_outcome::started);

    f.add_task(2, fleet_test_task("NewTask"));
    CHECK_THROWS_AS(f.add_task(2, fleet_test_task("NewTask")), std::invalid_argument);
    CHECK_THROWS_AS(f.add_task(2, plexbutler::butler_task{}), std::invalid_argument);
    auto two = c.get(2);
    REQUIRE(two.has_value());
    CHECK(fleet_test_has_task(*two, "NewTask"));
    CHECK(two->content.tasks.back() == fleet_test_task("NewTask"));
    CHECK_FALSE(fleet_test_has_task(*c.get(1), "NewTask"));
    CHECK(f.tasks(2).size() == f.tasks(1).size() + 1);

    // A change keeps the state of the tasks that stay.
    CHECK(fleet_test_running(f, "BackupDatabase") == std::vector<std::size_t>{2});
    CHECK(c.start(2, "NewTask")->content == task_outcome::started);

    REQUIRE(f.set_task_enabled(2, "CleanOldBundles", false));
    two = c.get(2);
    REQUIRE(two.has_value());
    const auto it = std::find_if(two->content.tasks.begin(), two->content.tasks.end(),
                                 [](const auto& t) { return t.name == "CleanOldBundles"; });
    REQUIRE(it != two->content.tasks.end());
    CHECK(it->enabled == false);
    CHECK(c.start(2, "CleanOldBundles")->content == task_outcome::started); // 200, but disabled: it does not run
    CHECK(fleet_test_running(f, "CleanOldBundles").empty());

    CHECK(f.remove_task(2, "BackupDatabase"));
    CHECK_FALSE(f.remove_task(2, "BackupDatabase"));
    CHECK_FALSE(f.set_task_enabled(2, "BackupDatabase", true));
    two = c.get(2);
    REQUIRE(two.has_value());
    CHECK_FALSE(fleet_test_has_task(*two, "BackupDatabase"));
    const auto gone = c.start(2, "BackupDatabase");
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().code == plexbutler::error::not_found);
    CHECK(fleet_test_has_task(*c.get(0), "BackupDatabase"));

    f.modify_tasks(0, [](std::vector<plexbutler::butler_task>& tasks) { tasks.resize(1); });
    const auto zero = c.get(0);
    REQUIRE(zero.has_value());
    CHECK(zero->content.tasks.size() == 1);
}

TEST_CASE("fleet: several threads serve the fleet", "[emulator][fleet]")
{
    auto o = fleet_test_options(50);
    o.server.threads = 3;
    o.addressing = emu::fleet_addressing::loopback_addresses;
    emu::fleet f(o);
    fleet_test_clients c(f);
    for (int round = 0; round < 3; ++round)
        for (const auto& r : c.get_all())
            CHECK(r.has_value());
    CHECK(f.requests_served() == 150);
    f.set_down(10, true);
    f.set_down(10, false);
    CHECK(c.get(10).has_value());
    f.stop();
    f.stop(); // idempotent
    CHECK_FALSE(c.get(11).has_value());
}

TEST_CASE("fleet: run-time changes from other threads while clients poll", "[emulator][fleet][stress]")
{
    auto o = fleet_test_options(16);
    o.server.threads = 2;
    emu::fleet f(o);
    std::atomic<bool> done{false};
    std::thread changer([&f, &done] {
        std::size_t k = 0;
        while (!done.load()) {
            const std::size_t i = k % 16;
            switch (k % 5) {
            case 0: f.set_down(i, true); break;
            case 1: f.set_down(i, false); break;
            case 2: f.add_task(i, fleet_test_task("Extra" + std::to_string(k))); break;
            case 3: f.remove_task(i, "Extra" + std::to_string(k - 1)); break;
            default: {
                emu::fault_set fs;
                fs.fail_rate = (k / 5) % 2 == 0 ? 0.5 : 0.0;
                f.set_faults(i, fs);
            }
            }
            (void)f.task_states(i);
            (void)f.requests_served();
            ++k;
        }
    });
    std::size_t answered = 0;
    {
        fleet_test_clients c(f);
        for (int round = 0; round < 20; ++round) {
            for (const auto& r : c.get_all())
                answered += r.has_value() ? 1u : 0u;
            (void)c.start(static_cast<std::size_t>(round) % 16, "BackupDatabase");
        }
    }
    done = true;
    changer.join();
    CHECK(answered > 0);
    for (std::size_t i = 0; i < f.size(); ++i) {
        f.set_faults(i, {});
        CHECK_FALSE(f.is_down(i));
    }
    fleet_test_clients c(f);
    for (const auto& r : c.get_all())
        CHECK(r.has_value());
}
