// Security properties of the client that test_client_tls.cpp and test_cli.cpp do not
// already cover: the token never leaking even when a hostile server echoes it back,
// header/task-name injection refused before any I/O, no request ever sent to another
// origin, and limits that are on by default. (TLS below 1.2 refused: test/tls_policy.)
#include "support/client_fixture.hpp"
#include "support/process.hpp"

#include <plexbutler/task_name.hpp>

#include <filesystem>
#include <mutex>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

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
