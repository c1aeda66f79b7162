// Security properties of the client that test_client_tls.cpp and test_cli.cpp do not
// already cover: TLS below 1.2 refused, the token never leaking even when a hostile
// server echoes it back, header/task-name injection refused before any I/O, no request
// ever sent to another origin, and limits that are on by default.
#include "support/client_fixture.hpp"
#include "support/process.hpp"

#include <plexbutler/emulator/tls.hpp>
#include <plexbutler/task_name.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

namespace {

/// A one-shot HTTPS server on 127.0.0.1 whose protocol versions are pinned, answering
/// each completed handshake with the sample task list. Runs on its own thread.
class pinned_tls_server {
public:
    pinned_tls_server(int min_version, int max_version)
        : ctx_(ssl::context::tls_server), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0))
    {
        auto pair = emulator::make_self_signed_certificate("127.0.0.1");
        ca_pem_ = pair.cert_pem;
        ctx_.use_certificate_chain(asio::buffer(pair.cert_pem));
        ctx_.use_private_key(asio::buffer(pair.key_pem), ssl::context::pem);
        SSL_CTX_set_min_proto_version(ctx_.native_handle(), min_version);
        SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_version);
        // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; lower it so the
        // server really offers them and only the client's policy can refuse.
        SSL_CTX_set_security_level(ctx_.native_handle(), 0);
        SSL_CTX_set_cipher_list(ctx_.native_handle(), "DEFAULT:@SECLEVEL=0");
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { serve(); });
    }
    ~pinned_tls_server()
    {
        // The server thread blocks in accept(): wake it with one last connection.
        stop_ = true;
        boost::system::error_code ec;
        asio::io_context wake_io;
        tcp::socket wake(wake_io);
        wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    const std::string& ca_pem() const { return ca_pem_; }
    int handshakes_completed() const { return completed_.load(); }

private:
    void serve()
    {
        for (;;) {
            tcp::socket sock(io_);
            boost::system::error_code ec;
            acceptor_.accept(sock, ec);
            if (ec || stop_)
                return;
            ssl::stream<tcp::socket> s(std::move(sock), ctx_);
            s.handshake(ssl::stream_base::server, ec);
            if (ec)
                continue;
            ++completed_;
            std::string buf;
            asio::read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", ec);
            if (!ec)
                asio::write(s, asio::buffer(tasks_ok()), ec);
            s.shutdown(ec);
        }
    }

    asio::io_context io_;
    ssl::context ctx_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::string ca_pem_;
    std::atomic<int> completed_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// A temporary file removed at scope exit.
struct temp_file {
    fs::path path;
    explicit temp_file(const std::string& content)
    {
        path = fs::temp_directory_path() / ("plexbutler-sec-" + random_hex(16) + ".pem");
        std::ofstream(path) << content;
    }
    ~temp_file()
    {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

client_options https_to(const pinned_tls_server& s, const temp_file& ca)
{
    client_options o;
    o.server_url = "https://127.0.0.1:" + std::to_string(s.port());
    o.ca_file = ca.path.string();
    o.request_timeout = 5000ms;
    o.connect_timeout = 3000ms;
    return o;
}

/// Collects everything the client logs.
struct log_capture {
    std::mutex mu;
    std::string all;
    logger_fn fn()
    {
        return [this](log_level, std::string_view m) {
            std::lock_guard lk(mu);
            all.append(m).append("\n");
        };
    }
};

} // namespace

TEST_CASE("security: TLS 1.2 server is accepted (control for the version tests)", "[security][tls]")
{
    pinned_tls_server server(TLS1_2_VERSION, TLS1_2_VERSION);
    temp_file ca(server.ca_pem());
    asio::io_context ctx;
    client c(ctx, https_to(server, ca));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE(r.has_value());
    CHECK(r->content.tasks.size() == 2);
}

TEST_CASE("security: a server limited to TLS 1.0/1.1 is refused with tls_handshake_failed", "[security][tls]")
{
    pinned_tls_server server(TLS1_VERSION, TLS1_1_VERSION);
    temp_file ca(server.ca_pem());
    asio::io_context ctx;
    client c(ctx, https_to(server, ca));
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::tls_handshake_failed);
    CHECK(server.handshakes_completed() == 0);
}

TEST_CASE("security: tls_verify=false still refuses TLS 1.1", "[security][tls]")
{
    pinned_tls_server server(TLS1_1_VERSION, TLS1_1_VERSION);
    temp_file ca(server.ca_pem());
    asio::io_context ctx;
    auto o = https_to(server, ca);
    o.ca_file.clear();
    o.tls_verify = false;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::tls_handshake_failed);
}

TEST_CASE("security: verification is on by default and limits are on by default", "[security]")
{
    const client_options o;
    CHECK(o.tls_verify);
    CHECK(o.max_header_bytes == 64 * 1024);
    CHECK(o.max_body_bytes == 1024 * 1024);
    CHECK(o.max_json_depth == 32);
    CHECK(o.request_timeout == 10000ms);
    CHECK(o.connect_timeout == 5000ms);
    CHECK(o.max_waiters == 65536);
    const json_limits j;
    CHECK(j.max_depth == 32);
    CHECK(j.max_bytes == 1024 * 1024);
    // The default JSON depth limit is effective: 33 nested arrays do not parse.
    std::string deep = R"({"ButlerTasks":{"ButlerTask":[)" + std::string(31, '[') + std::string(31, ']') + "]}}";
    CHECK_FALSE(parse_task_list(deep).has_value());
    // The limits must be positive: zero is not a way to disable them.
    for (int which = 0; which < 3; ++which) {
        scripted_server server;
        auto bad = options_for(server);
        (which == 0 ? bad.max_header_bytes : which == 1 ? bad.max_body_bytes : bad.max_json_depth) = 0;
        asio::io_context ctx;
        CHECK_THROWS_AS(client(ctx, bad), std::invalid_argument);
    }
}

TEST_CASE("security: CR, LF or NUL in the token or any header value is refused before anything is sent",
          "[security][injection]")
{
    scripted_server server;
    server.set_default(script{}.respond(tasks_ok()).repeat());
    const std::string bad_values[] = {"a\r\nX-Injected: 1", "a\nb", "a\rb", std::string("a\0b", 3)};
    for (const auto& v : bad_values) {
        for (int field = 0; field < 12; ++field) {
            auto o = options_for(server);
            std::string* slots[] = {&o.token,         &o.client_identifier, &o.product,     &o.version,
                                    &o.platform,      &o.platform_version,  &o.device,      &o.model,
                                    &o.device_vendor, &o.device_name,       &o.marketplace, &o.host};
            *slots[field] = v;
            if (field == 11)
                o.server_url.clear(); // the templated host form
            asio::io_context ctx;
            try {
                client c(ctx, o);
                FAIL("accepted a header value with a control character in field " << field);
            } catch (const std::invalid_argument& e) {
                // The message names the field but never echoes the value (it may be the token).
                CHECK(std::string(e.what()).find("X-Injected") == std::string::npos);
            }
        }
    }
    CHECK(server.connections() == 0);
}

TEST_CASE("security: a task name that is not one safe path segment is refused before any I/O", "[security][injection]")
{
    scripted_server server;
    server.set_default(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    const std::string names[] = {"",
                                 "..",
                                 ".",
                                 "a/b",
                                 "../butler",
                                 "BackupDatabase?X-Plex-Token=x",
                                 "Backup#x",
                                 "Backup\r\nHost: evil",
                                 std::string("Backup\0x", 8),
                                 "Backup Database",
                                 "%2e%2e",
                                 "a%2Fb",
                                 "Backup\\x",
                                 std::string(300, 'A'),
                                 "T\xc3\xa2"
                                 "che"};
    for (const auto& n : names) {
        CHECK_FALSE(task_name::is_valid(n));
        auto r = run_on(ctx, c.try_start_task(n));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::invalid_task_name);
        auto s = run_on(ctx, c.try_stop_task(n));
        REQUIRE_FALSE(s.has_value());
        CHECK(s.error().code == error::invalid_task_name);
        CHECK_THROWS_AS(task_name(n), butler_error);
    }
    CHECK(server.connections() == 0);
}

TEST_CASE("security: a redirect to another origin sends nothing there", "[security][redirect]")
{
    scripted_server other;
    other.set_default(script{}.respond(tasks_ok()).repeat());
    scripted_server server;
    // One connection per call: each script answers once and closes.
    for (unsigned status : {301u, 302u, 303u, 307u, 308u})
        for (int call = 0; call < 2; ++call)
            server.push(
                script{}
                    .respond(http_response(status, "", "", "Location: " + other.url() + "/butler?X-Plex-Token=x\r\n"))
                    .close());
    asio::io_context ctx;
    client c(ctx, options_for(server));
    for (int i = 0; i < 5; ++i) {
        auto r = run_on(ctx, c.try_get_butler_tasks());
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == error::redirect_not_followed);
        auto s = run_on(ctx, c.try_start_all_tasks());
        REQUIRE_FALSE(s.has_value());
    }
    run_void(ctx, sleep_for(100ms));
    CHECK(other.connections() == 0);
    CHECK(other.requests().empty());
}

TEST_CASE("security: a server echoing the token never gets it into logs, messages or exceptions", "[security][token]")
{
    const std::string token = "tok" + random_hex(40);
    scripted_server server;
    const std::string plex_error_body =
        R"({"errors":[{"code":1001,"message":"token )" + token + R"( is not valid","status":401}]})";
    server.push(
        script{}
            .respond(http_response(500, "", "text/plain", "", "Token " + token + " rejected"))
            .respond(http_response(401, plex_error_body))
            .respond(http_response(302, "", "", "Location: http://127.0.0.1:1/" + token + "?t=" + token + "\r\n"))
            .respond(http_response(200, "{}", "text/" + token))
            .respond(http_response(200, "{}", "application/json", "Content-Encoding: x" + token + "\r\n"))
            .respond(
                http_response(200, R"({"ButlerTasks":{"ButlerTask":[{"name":")" + token + R"(","interval":"x"}]}})"))
            .respond(http_response(403, plex_error_body, "application/json", "", token))
            .hang());
    log_capture logs;
    auto o = options_for(server);
    o.token = token;
    o.request_timeout = 1000ms;
    o.logger = logs.fn();
    asio::io_context ctx;
    client c(ctx, o);
    std::string everything;
    for (int i = 0; i < 8; ++i) {
        try {
            auto r = run_on(ctx, c.get_butler_tasks());
            everything += "unexpected success\n";
        } catch (const butler_error& e) {
            everything.append(e.what()).append("\n");
            everything.append(e.diag().server_message).append("\n");
            everything.append(e.diag().request_line).append("\n");
            for (const auto& pe : e.diag().plex_errors)
                everything.append(pe.message.value_or("")).append("\n");
            everything.append(e.code().message()).append("\n");
        }
    }
    for (int i = 0; i < 2; ++i) {
        auto r = run_on(ctx, c.try_start_task("BackupDatabase"));
        REQUIRE_FALSE(r.has_value());
        everything.append(r.error().message()).append("\n");
    }
    {
        std::lock_guard lk(logs.mu);
        everything += logs.all;
    }
    INFO(everything);
    CHECK(everything.find(token) == std::string::npos);
    // Not even a long prefix of it (truncation must not leak half a token).
    CHECK(everything.find(token.substr(0, 24)) == std::string::npos);
    // The request really carried it, so the checks above are meaningful.
    REQUIRE_FALSE(server.requests().empty());
    CHECK(server.requests()[0].find("X-Plex-Token: " + token + "\r\n") != std::string::npos);
}

TEST_CASE("security: the bench never prints the token", "[security][token]")
{
    const fs::path bench = fs::path(PLEXBUTLER_BINARY_DIR) / "bin" / "plexbutler-bench";
    const fs::path emulator = fs::path(PLEXBUTLER_BINARY_DIR) / "bin" / "plexbutler-emulator";
    // test/CMakeLists.txt builds both with this binary: a missing one is a failure, not a skip.
    REQUIRE(fs::exists(bench));
    REQUIRE(fs::exists(emulator));
    const std::string token = "tok" + random_hex(40);
    child_process emu(emulator.string(), {"--listen", "127.0.0.1:0", "--token", token, "--quiet"});
    const auto url = wait_for_listening(emu);
    REQUIRE_FALSE(url.empty());
    std::string everything;
    for (const std::string& token_arg : {token, "wrong" + token}) {
        auto r = run_process(bench.string(),
                             {"--server", url, "--token", token_arg, "--concurrency", "4", "--duration-s", "1",
                              "--warmup-s", "0", "--op", "mixed"},
                             {}, 60s);
        CHECK_FALSE(r.timed_out);
        everything += r.out + r.err;
    }
    INFO(everything);
    CHECK_FALSE(everything.empty());
    CHECK(everything.find(token) == std::string::npos);
}
