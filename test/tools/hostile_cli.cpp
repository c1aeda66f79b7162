// The hostile-server scenarios at the CLI level: `bin/plexbutler --timeout-ms 1000 list`
// against the scripted server. Each ends in its documented exit code within the deadline
// (+ 1.5 s, + process start-up) with exactly one `error: ...` line on stderr saying what
// happened, nothing on stdout, and never the token. (test_cli.cpp already covers: no
// answer, invalid JSON, wrong content type, redirect elsewhere, 500.)
#include "support/process.hpp"
#include "support/scripted_server.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

using namespace std::chrono_literals;
using namespace plexbutler::test;

namespace {

const std::string plexbutler_exe = PLEXBUTLER_BINARY_DIR "/bin/plexbutler";

struct scenario {
    const char* name;
    script play;
    int exit_code;
    const char* says; ///< Text the error line must contain.
};

std::string head_200(std::string_view extra = "Content-Type: application/json\r\n")
{
    return "HTTP/1.1 200 OK\r\n" + std::string(extra);
}

std::vector<scenario> scenarios()
{
    std::string chunks;
    for (int i = 0; i < 256; ++i)
        chunks += "4000\r\n" + std::string(16384, 'a') + "\r\n";
    const std::string list = R"({"ButlerTasks":{"ButlerTask":[{"name":"BackupDatabase"}]}})";
    return {
        {"closed before any byte", script{}.read_request().close(), 5, "connection closed by server"},
        {"reset after the request", script{}.read_request().reset(), 5, "connection closed by server"},
        {"truncated body", script{}.read_request().send(head_200() + "Content-Length: 100\r\n\r\n{\"Butler").close(), 5,
         "connection closed by server"},
        {"dripped past the deadline", script{}.read_request().drip(http_response(200, list), 200ms), 5, "timeout"},
        {"malformed status line", script{}.read_request().send("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n").hang(),
         6, "malformed HTTP response"},
        {"2 MiB header",
         script{}.read_request().send(head_200() + "X-Big: " + std::string(2 * 1024 * 1024, 'a') + "\r\n\r\n").hang(),
         6, "response header too large"},
        {"Content-Length 5000000000",
         script{}.read_request().send(head_200() + "Content-Length: 5000000000\r\n\r\n{").hang(), 6,
         "response body too large"},
        {"endless chunked body",
         script{}
             .read_request()
             .send(head_200() + "Transfer-Encoding: chunked\r\n\r\n")
             .drip(chunks, 1ms, 16 * 1024 + 8),
         6, "response body too large"},
        {"invalid chunk size",
         script{}.read_request().send(head_200() + "Transfer-Encoding: chunked\r\n\r\nzz\r\n").hang(), 6,
         "malformed HTTP response"},
        {"JSON of the wrong shape",
         script{}
             .read_request()
             .send(http_response(200, R"({"ButlerTasks":{"ButlerTask":[{"interval":"x"}]}})"))
             .hang(),
         6, "JSON decode failed"},
        {"redirect to itself", script{}.read_request().send(http_response(302, "", "", "Location: /butler\r\n")).hang(),
         6, "redirect not followed"},
        {"gzip body",
         script{}
             .read_request()
             .send(http_response(200, "\x1f\x8b", "application/json", "Content-Encoding: gzip\r\n"))
             .hang(),
         6, "unsupported content encoding"},
        {"401", script{}.read_request().send(http_response(401, R"({"errors":[{"code":1001,"message":"no"}]})")).hang(),
         4, "unauthorized"},
    };
}

} // namespace

TEST_CASE("cli hostile: every broken server ends in its exit code with one error line", "[cli][hostile]")
{
    REQUIRE(std::filesystem::exists(plexbutler_exe)); // built with this binary (test/CMakeLists.txt)
    const std::string token = random_hex(32);
    for (auto& sc : scenarios()) {
        scripted_server server;
        server.push(std::move(sc.play));
        process_options po;
        po.unset_env = {"PLEX_TOKEN", "PLEX_SERVER_URL"};
        auto r = run_process(plexbutler_exe,
                             {"--server", server.url(), "--token", token, "--timeout-ms", "1000", "list"}, po, 30s);
        INFO(sc.name << "\nexit: " << r.exit_code << "\nstdout: " << r.out << "\nstderr: " << r.err
                     << "\nelapsed ms: " << r.elapsed.count());
        CHECK_FALSE(r.timed_out);
        CHECK(r.exit_code == sc.exit_code);
        CHECK(r.out.empty());
        CHECK(r.err.rfind("error: ", 0) == 0);
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        CHECK(r.err.find(sc.says) != std::string::npos);
        CHECK(r.err.find(token) == std::string::npos);
        // Deadline + margin + process start-up (sanitizer builds start slower).
        CHECK(r.elapsed < 1000ms + 1500ms + 1000ms);
        CHECK(server.requests().size() == 1);
    }
}

TEST_CASE("cli hostile: bytes beyond Content-Length do not change the answer", "[cli][hostile]")
{
    REQUIRE(std::filesystem::exists(plexbutler_exe)); // built with this binary (test/CMakeLists.txt)
    scripted_server server;
    const std::string real = R"({"ButlerTasks":{"ButlerTask":[{"name":"Real"}]}})";
    const std::string forged = R"({"ButlerTasks":{"ButlerTask":[{"name":"Forged"}]}})";
    server.push(script{}.read_request().send(http_response(200, real) + http_response(200, forged)).hang());
    process_options po;
    po.unset_env = {"PLEX_TOKEN", "PLEX_SERVER_URL"};
    auto r = run_process(plexbutler_exe, {"--server", server.url(), "--timeout-ms", "1000", "list", "--json"}, po, 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("Real") != std::string::npos);
    CHECK(r.out.find("Forged") == std::string::npos);
}
