// The emulator over real loopback sockets, driven by a plain Beast client.

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/emulator/tls.hpp>
#include <plexbutler/models.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using plexbutler::emulator::server;
using plexbutler::emulator::server_options;

namespace {

using response = http::response<http::string_body>;
using header_list = std::vector<std::pair<std::string, std::string>>;

/// One blocking keep-alive connection to the server.
class connection {
public:
    explicit connection(std::uint16_t port, const std::string& host = "127.0.0.1") : socket_(ioc_)
    {
        socket_.connect(tcp::endpoint(asio::ip::make_address(host), port));
    }

    response request(http::verb method, const std::string& target, const header_list& headers = {})
    {
        send(method, target, headers);
        return receive();
    }
    void send(http::verb method, const std::string& target, const header_list& headers = {})
    {
        http::request<http::empty_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        for (const auto& [k, v] : headers)
            req.set(k, v);
        http::write(socket_, req);
    }
    response receive()
    {
        response res;
        http::read(socket_, buffer_, res);
        return res;
    }
    /// True when the server closed the connection (EOF or reset) within `timeout`.
    bool closed_by_server(std::chrono::milliseconds timeout)
    {
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
        ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char c;
        boost::system::error_code ec;
        for (;;) {
            socket_.read_some(asio::buffer(&c, 1), ec);
            if (!ec)
                continue; // leftover bytes of a response
            return ec == asio::error::eof || ec == asio::error::connection_reset;
        }
    }
    tcp::socket& socket() { return socket_; }

private:
    asio::io_context ioc_;
    tcp::socket socket_;
    beast::flat_buffer buffer_;
};

response get(std::uint16_t port, const std::string& target, const header_list& headers = {})
{
    connection c(port);
    return c.request(http::verb::get, target, headers);
}

response call(std::uint16_t port, http::verb method, const std::string& target, const header_list& headers = {})
{
    connection c(port);
    return c.request(method, target, headers);
}

const header_list token_json = {{"X-Plex-Token", "secret"}, {"Accept", "application/json"}};
const header_list token_only = {{"X-Plex-Token", "secret"}};

server_options base_options()
{
    server_options o;
    o.token = "secret";
    o.window = {0, 0}; // no window: every start is immediate unless a test says otherwise
    o.task_duration = 60s;
    return o;
}

boost::json::object state_of_task(std::uint16_t port, const std::string& name)
{
    const auto res = get(port, "/_emulator/state", token_only);
    REQUIRE(res.result_int() == 200);
    const auto doc = boost::json::parse(res.body());
    for (const auto& t : doc.at("tasks").as_array())
        if (t.at("name").as_string() == name)
            return t.as_object();
    FAIL("no task " << name << " in the state");
    return {};
}

std::string state_of(std::uint16_t port, const std::string& name)
{
    return std::string(state_of_task(port, name).at("state").as_string());
}

std::filesystem::path temp_file(const std::string& stem)
{
    static int counter = 0;
    return std::filesystem::temp_directory_path() /
           (stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".pem");
}

} // namespace

TEST_CASE("GET /butler answers XML by default and JSON when asked", "[emulator][http]")
{
    server srv(base_options());
    const auto catalogue = plexbutler::emulator::default_catalogue();

    SECTION("JSON with Accept: application/json")
    {
        const auto res = get(srv.port(), "/butler", token_json);
        CHECK(res.result_int() == 200);
        CHECK(res[http::field::content_type].starts_with("application/json"));
        CHECK(res.body() == srv.json_body());
        const auto parsed = plexbutler::parse_task_list(res.body());
        REQUIRE(parsed.has_value());
        CHECK(parsed->tasks == catalogue);
        CHECK(parsed->tasks.size() >= 20);
        CHECK(res.keep_alive());
    }
    SECTION("JSON with the 1.1.1 document's accepts header")
    {
        const auto res = get(srv.port(), "/butler", {{"X-Plex-Token", "secret"}, {"accepts", "application/json"}});
        CHECK(res[http::field::content_type].starts_with("application/json"));
    }
    SECTION("XML by default, for */* and when XML is preferred")
    {
        for (const header_list& h :
             {token_only, header_list{{"X-Plex-Token", "secret"}, {"Accept", "*/*"}},
              header_list{{"X-Plex-Token", "secret"}, {"Accept", "application/xml, application/json;q=0.5"}},
              header_list{{"X-Plex-Token", "secret"}, {"Accept", "application/json;q=0"}}}) {
            const auto res = get(srv.port(), "/butler", h);
            CHECK(res.result_int() == 200);
            CHECK(res[http::field::content_type].starts_with("application/xml"));
            CHECK(res.body().starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ButlerTasks>"));
            CHECK(res.body().find("<ButlerTask name=\"BackupDatabase\" interval=\"3\" scheduleRandomized=\"0\" "
                                  "enabled=\"1\" title=\"Backup Database\" description=\"Create a backup copy of "
                                  "the server&apos;s database in the configured backup directory\"/>") !=
                  std::string::npos);
            CHECK(res.body() == srv.xml_body());
        }
    }
    SECTION("trailing slash")
    {
        const auto res = get(srv.port(), "/butler/", token_json);
        CHECK(res.result_int() == 200);
        CHECK(res.body() == srv.json_body());
    }
}

TEST_CASE("XML attributes are escaped", "[emulator][http]")
{
    auto o = base_options();
    plexbutler::butler_task t;
    t.name = "Odd";
    t.title = R"(Tom & "Jerry" <3)";
    t.interval = 0.5;
    o.tasks = std::vector{t};
    server srv(o);
    const auto res = get(srv.port(), "/butler", token_only);
    CHECK(res.body().find(R"(<ButlerTask name="Odd" interval="0.5" title="Tom &amp; &quot;Jerry&quot; &lt;3"/>)") !=
          std::string::npos);
    const auto json = get(srv.port(), "/butler", token_json);
    const auto parsed = plexbutler::parse_task_list(json.body());
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->tasks.size() == 1);
    CHECK(parsed->tasks[0] == t);
}

TEST_CASE("unknown paths are 404, other methods 405 with Allow", "[emulator][http]")
{
    server srv(base_options());
    CHECK(get(srv.port(), "/", token_only).result_int() == 404);
    CHECK(get(srv.port(), "/butlers", token_only).result_int() == 404);
    CHECK(get(srv.port(), "/butler/BackupDatabase/extra", token_only).result_int() == 404);
    CHECK(get(srv.port(), "/butler//BackupDatabase", token_only).result_int() == 404);

    auto res = call(srv.port(), http::verb::put, "/butler", token_only);
    CHECK(res.result_int() == 405);
    CHECK(res[http::field::allow] == "GET, POST, DELETE");
    res = call(srv.port(), http::verb::get, "/butler/BackupDatabase", token_only);
    CHECK(res.result_int() == 405);
    CHECK(res[http::field::allow] == "POST, DELETE");
    res = call(srv.port(), http::verb::post, "/_emulator/state", token_only);
    CHECK(res.result_int() == 405);
    CHECK(res[http::field::allow] == "GET");
}

TEST_CASE("authentication with X-Plex-Token", "[emulator][http]")
{
    server srv(base_options());
    const std::string expected =
        R"({"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]})";

    for (const auto& [target, headers] :
         std::vector<std::pair<std::string, header_list>>{{"/butler", {}},
                                                          {"/butler", {{"X-Plex-Token", "wrong"}}},
                                                          {"/butler", {{"X-Plex-Token", "secre"}}},
                                                          {"/butler?X-Plex-Token=wrong", {}},
                                                          {"/butler/BackupDatabase", {}},
                                                          {"/_emulator/state", {}},
                                                          {"/nothing-here", {}}}) {
        const auto res = get(srv.port(), target, headers);
        INFO(target);
        CHECK(res.result_int() == 401);
        CHECK(res[http::field::content_type] == "application/json");
        CHECK(res.body() == expected);
    }
    CHECK(get(srv.port(), "/butler", token_only).result_int() == 200);
    CHECK(get(srv.port(), "/butler?X-Plex-Token=secret", {}).result_int() == 200);
    CHECK(get(srv.port(), "/butler?foo=bar&X-Plex-Token=sec%72et", {}).result_int() == 200);
    // The header name is case-insensitive.
    CHECK(get(srv.port(), "/butler", {{"x-plex-token", "secret"}}).result_int() == 200);

    SECTION("without a configured token every request is accepted")
    {
        auto o = base_options();
        o.token.reset();
        server open(o);
        CHECK(get(open.port(), "/butler").result_int() == 200);
        CHECK(get(open.port(), "/butler", {{"X-Plex-Token", "anything"}}).result_int() == 200);
    }
}

TEST_CASE("start and stop one task, reflected in the state endpoint", "[emulator][http]")
{
    server srv(base_options());
    const auto port = srv.port();
    CHECK(state_of(port, "BackupDatabase") == "idle");

    auto res = call(port, http::verb::post, "/butler/BackupDatabase", token_only);
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_type].starts_with("text/html"));
    CHECK(state_of(port, "BackupDatabase") == "running");
    CHECK(call(port, http::verb::post, "/butler/BackupDatabase", token_only).result_int() == 202);
    // Percent-encoded segment and trailing slash reach the same task.
    CHECK(call(port, http::verb::post, "/butler/Backup%44atabase/", token_only).result_int() == 202);

    CHECK(call(port, http::verb::delete_, "/butler/BackupDatabase", token_only).result_int() == 200);
    CHECK(state_of(port, "BackupDatabase") == "idle");
    res = call(port, http::verb::delete_, "/butler/BackupDatabase", token_only);
    CHECK(res.result_int() == 404);
    CHECK(res[http::field::content_type].starts_with("text/html"));

    CHECK(call(port, http::verb::post, "/butler/NoSuchTask", token_only).result_int() == 404);
    CHECK(call(port, http::verb::delete_, "/butler/NoSuchTask", token_only).result_int() == 404);
    CHECK(call(port, http::verb::post, "/butler/Backup%2FDatabase", token_only).result_int() == 404);
}

TEST_CASE("a disabled task answers 200 to start but does not run", "[emulator][http]")
{
    server srv(base_options());
    CHECK(call(srv.port(), http::verb::post, "/butler/AutomaticUpdates", token_only).result_int() == 200);
    const auto st = state_of_task(srv.port(), "AutomaticUpdates");
    CHECK(st.at("state").as_string() == "idle");
    CHECK(st.at("lastStart").as_string() == "disabled");
}

TEST_CASE("start all and stop all", "[emulator][http]")
{
    server srv(base_options());
    const auto port = srv.port();
    CHECK(call(port, http::verb::post, "/butler", token_only).result_int() == 200);
    auto doc = boost::json::parse(get(port, "/_emulator/state", token_only).body());
    int running = 0;
    for (const auto& t : doc.at("tasks").as_array()) {
        const bool enabled = t.at("enabled").as_bool();
        INFO(t.at("name").as_string());
        CHECK(t.at("state").as_string() == (enabled ? "running" : "idle"));
        running += enabled ? 1 : 0;
    }
    CHECK(running >= 18);
    CHECK(call(port, http::verb::delete_, "/butler/", token_only).result_int() == 200);
    doc = boost::json::parse(get(port, "/_emulator/state", token_only).body());
    for (const auto& t : doc.at("tasks").as_array())
        CHECK(t.at("state").as_string() == "idle");
    CHECK(call(port, http::verb::delete_, "/butler", token_only).result_int() == 200);
}

TEST_CASE("inside the window a randomised task is scheduled", "[emulator][http]")
{
    auto o = base_options();
    o.utc_offset = std::chrono::minutes{0};
    const auto now = std::chrono::system_clock::now();
    const auto minute = static_cast<unsigned>(
        std::chrono::duration_cast<std::chrono::minutes>(now - std::chrono::floor<std::chrono::days>(now)).count());
    o.window = {(minute + 1440 - 1) % 1440, (minute + 120) % 1440}; // from a minute ago to two hours ahead
    server srv(o);
    const auto port = srv.port();
    CHECK(call(port, http::verb::post, "/butler/DeepMediaAnalysis", token_only).result_int() == 200);
    const auto st = state_of_task(port, "DeepMediaAnalysis");
    CHECK(st.at("state").as_string() == "scheduled");
    const auto doc = boost::json::parse(get(port, "/_emulator/state", token_only).body());
    CHECK(doc.at("inWindow").as_bool());
    const auto now_ms = doc.at("now").as_int64();
    const auto due_ms = st.at("dueAt").as_int64();
    CHECK(due_ms >= now_ms - 1000);
    CHECK(due_ms <= now_ms + 2 * 3600 * 1000);
    // Not randomised: starts now even inside the window.
    CHECK(call(port, http::verb::post, "/butler/BackupDatabase", token_only).result_int() == 200);
    CHECK(state_of(port, "BackupDatabase") == "running");
    // Stop removes it from the schedule.
    CHECK(call(port, http::verb::delete_, "/butler/DeepMediaAnalysis", token_only).result_int() == 200);
    CHECK(state_of(port, "DeepMediaAnalysis") == "idle");
}

TEST_CASE("a running task finishes after the task duration", "[emulator][http]")
{
    auto o = base_options();
    o.task_duration = 150ms;
    server srv(o);
    REQUIRE(call(srv.port(), http::verb::post, "/butler/CleanOldBundles", token_only).result_int() == 200);
    boost::json::object st;
    for (int i = 0; i < 100; ++i) {
        st = state_of_task(srv.port(), "CleanOldBundles");
        if (st.at("state").as_string() == "idle")
            break;
        std::this_thread::sleep_for(20ms);
    }
    CHECK(st.at("state").as_string() == "idle");
    CHECK(st.at("completedRuns").as_int64() == 1);
    CHECK(st.at("lastRun").is_int64());
    // Its interval (7 days) has not elapsed: a new start is skipped.
    CHECK(call(srv.port(), http::verb::post, "/butler/CleanOldBundles", token_only).result_int() == 200);
    const auto again = state_of_task(srv.port(), "CleanOldBundles");
    CHECK(again.at("state").as_string() == "idle");
    CHECK(again.at("lastStart").as_string() == "not_due");
}

TEST_CASE("keep-alive, and close_after closes the connection after N responses", "[emulator][http]")
{
    SECTION("keep-alive by default")
    {
        server srv(base_options());
        connection c(srv.port());
        for (int i = 0; i < 5; ++i) {
            const auto res = c.request(http::verb::get, "/butler", token_json);
            CHECK(res.result_int() == 200);
            CHECK(res.keep_alive());
        }
        CHECK(srv.requests_served() == 5);
    }
    SECTION("close_after = 3")
    {
        auto o = base_options();
        o.close_after = 3;
        server srv(o);
        connection c(srv.port());
        CHECK(c.request(http::verb::get, "/butler", token_json).keep_alive());
        CHECK(c.request(http::verb::get, "/butler", token_json).keep_alive());
        const auto third = c.request(http::verb::get, "/butler", token_json);
        CHECK(third.result_int() == 200);
        CHECK_FALSE(third.keep_alive());
        CHECK(third[http::field::connection] == "close");
        CHECK(c.closed_by_server(2000ms));
    }
    SECTION("a client's Connection: close is honoured")
    {
        server srv(base_options());
        connection c(srv.port());
        const auto res = c.request(http::verb::get, "/butler", {{"X-Plex-Token", "secret"}, {"Connection", "close"}});
        CHECK_FALSE(res.keep_alive());
        CHECK(c.closed_by_server(2000ms));
    }
}

TEST_CASE("fail_rate answers 503 reproducibly for a seed", "[emulator][http]")
{
    auto run = [](std::uint64_t seed) {
        auto o = base_options();
        o.fail_rate = 0.3;
        o.seed = seed;
        server srv(o);
        connection c(srv.port());
        std::string pattern;
        for (int i = 0; i < 200; ++i) {
            const auto res = c.request(http::verb::get, "/butler", token_json);
            if (res.result_int() == 503) {
                const auto errors = plexbutler::parse_plex_errors(res.body());
                REQUIRE(errors.has_value());
                REQUIRE(errors->errors.size() == 1);
                CHECK(res[http::field::content_type] == "application/json");
            } else {
                REQUIRE(res.result_int() == 200);
            }
            pattern += res.result_int() == 503 ? 'x' : '.';
        }
        // The emulator's own endpoint never fails.
        for (int i = 0; i < 20; ++i)
            CHECK(c.request(http::verb::get, "/_emulator/state", token_only).result_int() == 200);
        return pattern;
    };
    const auto a = run(42);
    const auto b = run(42);
    const auto c = run(43);
    CHECK(a == b);
    CHECK(a != c);
    const auto failures = std::count(a.begin(), a.end(), 'x');
    CHECK(failures >= 30);
    CHECK(failures <= 90);
}

TEST_CASE("latency delays every response", "[emulator][http]")
{
    auto o = base_options();
    o.latency = 200ms;
    server srv(o);
    connection c(srv.port());
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.request(http::verb::get, "/butler", token_json).result_int() == 200);
    CHECK(c.request(http::verb::post, "/butler/BackupDatabase", token_only).result_int() == 200);
    CHECK(std::chrono::steady_clock::now() - t0 >= 400ms);
}

TEST_CASE("self-signed certificates", "[emulator][tls]")
{
    auto check_cert = [](const std::string& name, bool expect_ip) {
        const auto pair = plexbutler::emulator::make_self_signed_certificate(name);
        CHECK(pair.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        CHECK(pair.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        BIO* bio = BIO_new_mem_buf(pair.cert_pem.data(), static_cast<int>(pair.cert_pem.size()));
        X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        REQUIRE(cert != nullptr);
        CHECK(X509_check_ca(cert) == 1);
        EVP_PKEY* key = X509_get0_pubkey(cert);
        CHECK(X509_verify(cert, key) == 1);
        if (expect_ip) {
            CHECK(X509_check_ip_asc(cert, name.c_str(), 0) == 1);
        } else {
            CHECK(X509_check_host(cert, name.c_str(), name.size(), 0, nullptr) == 1);
            CHECK(X509_check_host(cert, "other.example", 0, 0, nullptr) == 0);
        }
        X509_free(cert);
    };
    check_cert("localhost", false);
    check_cert("plex.example.test", false);
    check_cert("127.0.0.1", true);
    check_cert("::1", true);
    CHECK_THROWS_AS(plexbutler::emulator::make_self_signed_certificate(""), std::invalid_argument);
    const auto a = plexbutler::emulator::make_self_signed_certificate("localhost");
    const auto b = plexbutler::emulator::make_self_signed_certificate("localhost");
    CHECK(a.cert_pem != b.cert_pem);
}

namespace {

response https_get(std::uint16_t port, ssl::context& ctx, const std::string& verify_name, const std::string& target,
                   const header_list& headers)
{
    asio::io_context ioc;
    ssl::stream<tcp::socket> stream(ioc, ctx);
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(verify_name));
    stream.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream.handshake(ssl::stream_base::client);
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, verify_name);
    for (const auto& [k, v] : headers)
        req.set(k, v);
    http::write(stream, req);
    beast::flat_buffer buf;
    response res;
    http::read(stream, buf, res);
    return res;
}

} // namespace

TEST_CASE("HTTPS with a self-signed certificate verified against the written CA file", "[emulator][tls]")
{
    const auto ca = temp_file("plexbutler-emulator-ca");
    auto o = base_options();
    o.tls_self_signed_name = "localhost";
    o.tls_write_ca_file = ca.string();
    server srv(o);
    CHECK(srv.url().starts_with("https://127.0.0.1:"));
    REQUIRE(std::filesystem::exists(ca));

    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca.string());
    const auto res = https_get(srv.port(), ctx, "localhost", "/butler", token_json);
    CHECK(res.result_int() == 200);
    CHECK(res.body() == srv.json_body());

    // The wrong name fails verification.
    CHECK_THROWS(https_get(srv.port(), ctx, "elsewhere.example", "/butler", token_json));
    // A client that does not trust the CA fails the handshake.
    ssl::context untrusting(ssl::context::tls_client);
    CHECK_THROWS(https_get(srv.port(), untrusting, "localhost", "/butler", token_json));

    // Certificate and key files work too.
    const auto pair = plexbutler::emulator::make_self_signed_certificate("localhost");
    const auto cert_file = temp_file("plexbutler-emulator-cert");
    const auto key_file = temp_file("plexbutler-emulator-key");
    std::ofstream(cert_file) << pair.cert_pem;
    std::ofstream(key_file) << pair.key_pem;
    auto o2 = base_options();
    o2.tls_cert_file = cert_file.string();
    o2.tls_key_file = key_file.string();
    server srv2(o2);
    ssl::context ctx2(ssl::context::tls_client);
    ctx2.add_certificate_authority(asio::buffer(pair.cert_pem));
    CHECK(https_get(srv2.port(), ctx2, "localhost", "/butler", token_json).result_int() == 200);

    auto bad = base_options();
    bad.tls_cert_file = "/nonexistent/cert.pem";
    bad.tls_key_file = "/nonexistent/key.pem";
    CHECK_THROWS_AS(server(bad), std::runtime_error);
    std::filesystem::remove(ca);
    std::filesystem::remove(cert_file);
    std::filesystem::remove(key_file);
}

TEST_CASE("malformed requests get 400/431 or a close, and the server keeps serving", "[emulator][robustness]")
{
    auto o = base_options();
    o.request_timeout = 300ms;
    server srv(o);
    const auto port = srv.port();

    SECTION("garbage")
    {
        connection c(port);
        asio::write(c.socket(), asio::buffer(std::string("HELLO THERE\x01\x02\r\n\r\n")));
        response res;
        boost::system::error_code ec;
        beast::flat_buffer buf;
        http::read(c.socket(), buf, res, ec);
        if (!ec)
            CHECK(res.result_int() == 400);
        CHECK(c.closed_by_server(2000ms));
    }
    SECTION("a 100 KiB header")
    {
        connection c(port);
        std::string req =
            "GET /butler HTTP/1.1\r\nHost: x\r\nX-Plex-Token: secret\r\nX-Big: " + std::string(100 * 1024, 'a') +
            "\r\n\r\n";
        boost::system::error_code ec;
        asio::write(c.socket(), asio::buffer(req), ec);
        response res;
        beast::flat_buffer buf;
        http::read(c.socket(), buf, res, ec);
        if (!ec)
            CHECK(res.result_int() == 431);
        CHECK(c.closed_by_server(3000ms));
    }
    SECTION("a body over the limit")
    {
        connection c(port);
        std::string req = "POST /butler HTTP/1.1\r\nHost: x\r\nX-Plex-Token: secret\r\nContent-Length: 200000\r\n\r\n";
        boost::system::error_code ec;
        asio::write(c.socket(), asio::buffer(req), ec);
        response res;
        beast::flat_buffer buf;
        http::read(c.socket(), buf, res, ec);
        REQUIRE_FALSE(ec);
        CHECK(res.result_int() == 413);
    }
    SECTION("a slowloris client is cut off")
    {
        connection slow(port);
        asio::write(slow.socket(), asio::buffer(std::string("GET /butler HTTP/1.1\r\nHost: x\r\n")));
        const auto t0 = std::chrono::steady_clock::now();
        // Meanwhile another client is served.
        CHECK(get(port, "/butler", token_json).result_int() == 200);
        // Drip one header byte at a time: progress must not extend the deadline.
        boost::system::error_code ec;
        for (int i = 0; i < 10 && !ec; ++i) {
            asio::write(slow.socket(), asio::buffer(std::string("X")), ec);
            std::this_thread::sleep_for(50ms);
        }
        CHECK(slow.closed_by_server(3000ms));
        CHECK(std::chrono::steady_clock::now() - t0 < 3000ms);
    }
    SECTION("an idle connection that sends nothing is closed")
    {
        connection idle(port);
        CHECK(idle.closed_by_server(3000ms));
    }
    // After all that, normal service.
    const auto res = get(port, "/butler", token_json);
    CHECK(res.result_int() == 200);
    CHECK(res.body() == srv.json_body());
}

// [ipv6]: registered only where the machine has an IPv6 loopback (test/CMakeLists.txt).
TEST_CASE("IPv6 loopback", "[emulator][http][ipv6]")
{
    auto o = base_options();
    o.listen_host = "::1";
    auto srv = std::make_unique<server>(o);
    CHECK(srv->url() == "http://[::1]:" + std::to_string(srv->port()));
    connection c(srv->port(), "::1");
    CHECK(c.request(http::verb::get, "/butler", token_json).result_int() == 200);
}

TEST_CASE("stop closes open connections and returns promptly", "[emulator][http]")
{
    server srv(base_options());
    connection c(srv.port());
    REQUIRE(c.request(http::verb::get, "/butler", token_json).result_int() == 200);
    const auto t0 = std::chrono::steady_clock::now();
    srv.stop();
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
    CHECK(c.closed_by_server(1000ms));
    srv.stop(); // idempotent
    boost::system::error_code ec;
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.port()), ec);
    CHECK(ec);
}

TEST_CASE("invalid options are rejected", "[emulator][http]")
{
    auto o = base_options();
    o.fail_rate = 1.5;
    CHECK_THROWS_AS(server(o), std::invalid_argument);
    o = base_options();
    o.threads = 0;
    CHECK_THROWS_AS(server(o), std::invalid_argument);
    o = base_options();
    o.listen_host = "not an address";
    CHECK_THROWS_AS(server(o), std::invalid_argument);
    o = base_options();
    o.token = "";
    CHECK_THROWS_AS(server(o), std::invalid_argument);
    // Address in use.
    server first(base_options());
    o = base_options();
    o.port = first.port();
    CHECK_THROWS_AS(server(o), std::runtime_error);
}

TEST_CASE("several server threads", "[emulator][http]")
{
    auto o = base_options();
    o.threads = 3;
    server srv(o);
    std::vector<std::thread> clients;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i)
        clients.emplace_back([&] {
            connection c(srv.port());
            for (int j = 0; j < 50; ++j)
                if (c.request(http::verb::get, "/butler", token_json).result_int() == 200)
                    ++ok;
            c.request(http::verb::post, "/butler/BackupDatabase", token_only);
        });
    for (auto& t : clients)
        t.join();
    CHECK(ok == 200);
    CHECK(srv.requests_served() == 204);
    CHECK(state_of(srv.port(), "BackupDatabase") == "running");
}

TEST_CASE("latency longer than the request timeout still answers, and idle timeouts still apply after it",
          "[emulator][http]")
{
    auto o = base_options();
    o.latency = 400ms;
    o.request_timeout = 300ms;
    server srv(o);
    connection c(srv.port());
    CHECK(c.request(http::verb::get, "/butler", token_json).result_int() == 200);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.closed_by_server(2500ms));
    CHECK(std::chrono::steady_clock::now() - t0 < 2000ms);
}
