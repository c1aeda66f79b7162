// Runs the real `plexbutler` executable against the real emulator executable (and against
// small misbehaving servers) and checks what a user sees: stdout, stderr and exit codes.
#include "support/emulator_process.hpp"
#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;
using namespace plexbutler::test;
namespace asio = boost::asio;

namespace {

const std::string cli_exe = PLEXBUTLER_BINARY_DIR "/bin/plexbutler";

using emulator = emulator_process;

// Runs the CLI; PLEX_* variables of the test's own environment never leak in.
process_result run_cli(const std::vector<std::string>& args, std::vector<std::pair<std::string, std::string>> env = {})
{
    process_options opts;
    opts.unset_env = {"PLEX_TOKEN", "PLEX_SERVER_URL"};
    opts.env = std::move(env);
    auto r = run_process(cli_exe, args, opts, 60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE_FALSE(r.timed_out);
    return r;
}

process_result run_cli(const emulator& e, std::vector<std::string> args)
{
    std::vector<std::string> all = {"--server", e.url, "--token", e.token};
    all.insert(all.end(), args.begin(), args.end());
    return run_cli(all);
}

std::size_t line_count(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

// A failure is reported as exactly one "error: ..." line on stderr and nothing on stdout.
void check_one_error_line(const process_result& r, const std::string& must_contain = {})
{
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("error: ", 0) == 0);
    CHECK(line_count(r.err) == 1);
    if (!must_contain.empty())
        CHECK(r.err.find(must_contain) != std::string::npos);
}

// A loopback server that answers every request with the same raw bytes, on its own thread.
class raw_server {
public:
    explicit raw_server(std::string response) : response_(std::move(response))
    {
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~raw_server()
    {
        io_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

private:
    void accept()
    {
        acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket s) {
            if (ec)
                return;
            auto sock = std::make_shared<asio::ip::tcp::socket>(std::move(s));
            auto buf = std::make_shared<asio::streambuf>();
            asio::async_read_until(
                *sock, *buf, "\r\n\r\n", [this, sock, buf](boost::system::error_code e, std::size_t) {
                    if (e)
                        return;
                    asio::async_write(*sock, asio::buffer(response_), [sock](boost::system::error_code, std::size_t) {
                        boost::system::error_code ignored;
                        sock->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                    });
                });
            accept();
        });
    }

    std::string response_;
    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_{io_};
    std::thread thread_;
};

std::string raw_http_response(const std::string& status, const std::string& content_type, const std::string& body)
{
    return "HTTP/1.1 " + status + "\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

} // namespace

TEST_CASE("plexbutler --help and --version", "[cli]")
{
    auto help = run_cli({"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("Usage: plexbutler") != std::string::npos);
    CHECK(help.out.find("Exit codes:") != std::string::npos);
    auto version = run_cli({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.rfind("plexbutler ", 0) == 0);
}

TEST_CASE("plexbutler list prints an aligned table", "[cli]")
{
    emulator e;
    auto r = run_cli(e, {"list"});
    REQUIRE(r.exit_code == 0);
    CHECK(r.err.empty());
    std::istringstream lines(r.out);
    std::string header;
    std::getline(lines, header);
    CHECK(header.rfind("NAME ", 0) == 0);
    auto title_column = header.find("TITLE");
    REQUIRE(title_column != std::string::npos);
    bool found = false;
    std::size_t rows = 0;
    for (std::string line; std::getline(lines, line); ++rows) {
        if (line.rfind("BackupDatabase ", 0) == 0) {
            found = true;
            CHECK(line.find("yes") != std::string::npos);
            CHECK(line.substr(title_column) == "Backup Database");
        }
    }
    CHECK(found);
    CHECK(rows >= 11); // every task both OpenAPI documents name, at least
}

TEST_CASE("plexbutler list --json prints the decoded tasks as a JSON array", "[cli]")
{
    emulator e;
    auto r = run_cli(e, {"list", "--json"});
    REQUIRE(r.exit_code == 0);
    auto v = boost::json::parse(r.out);
    REQUIRE(v.is_array());
    std::set<std::string> names;
    for (const auto& t : v.as_array()) {
        REQUIRE(t.is_object());
        names.insert(std::string(t.at("name").as_string()));
    }
    CHECK(names.count("BackupDatabase") == 1);
    CHECK(names.count("OptimizeDatabase") == 1);
}

TEST_CASE("plexbutler start/stop report each documented outcome", "[cli]")
{
    emulator e;
    auto started = run_cli(e, {"start", "BackupDatabase"});
    CHECK(started.exit_code == 0);
    CHECK(started.out == "started BackupDatabase\n");
    auto again = run_cli(e, {"start", "BackupDatabase"});
    CHECK(again.exit_code == 0);
    CHECK(again.out == "already running BackupDatabase\n");
    auto stopped = run_cli(e, {"stop", "BackupDatabase"});
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.out == "stopped BackupDatabase\n");
    auto not_running = run_cli(e, {"stop", "BackupDatabase"});
    CHECK(not_running.exit_code == 0);
    CHECK(not_running.out == "not running BackupDatabase\n");
}

TEST_CASE("plexbutler start, stop, start-all and stop-all --json print one JSON object each", "[cli][json]")
{
    emulator e;
    auto object = [&](std::vector<std::string> args) {
        args.push_back("--json");
        auto r = run_cli(e, args);
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
        CHECK(line_count(r.out) == 1);
        return boost::json::parse(r.out);
    };
    CHECK(object({"start", "BackupDatabase"}) ==
          boost::json::parse(R"({"outcome":"started","status":200,"task":"BackupDatabase"})"));
    CHECK(object({"start", "BackupDatabase"}) ==
          boost::json::parse(R"({"outcome":"already_running","status":202,"task":"BackupDatabase"})"));
    CHECK(object({"stop", "BackupDatabase"}) ==
          boost::json::parse(R"({"outcome":"stopped","status":200,"task":"BackupDatabase"})"));
    CHECK(object({"stop", "BackupDatabase"}) ==
          boost::json::parse(R"({"outcome":"not_running","status":404,"task":"BackupDatabase"})"));
    CHECK(object({"start-all"}) == boost::json::parse(R"({"outcome":"started","status":200})"));
    CHECK(object({"stop-all"}) == boost::json::parse(R"({"outcome":"stopped","status":200})"));
    // A failure is still one error line on stderr and the exit code, as for list --json.
    auto unknown = run_cli(e, {"start", "NoSuchTask", "--json"});
    CHECK(unknown.exit_code == 3);
    check_one_error_line(unknown, "not found");
}

TEST_CASE("plexbutler start-all and stop-all", "[cli]")
{
    emulator e;
    auto start_all = run_cli(e, {"start-all"});
    CHECK(start_all.exit_code == 0);
    CHECK(start_all.out == "started all tasks\n");
    // A task started by start-all is running: starting it again says so.
    CHECK(run_cli(e, {"start", "BackupDatabase"}).out == "already running BackupDatabase\n");
    auto stop_all = run_cli(e, {"stop-all"});
    CHECK(stop_all.exit_code == 0);
    CHECK(stop_all.out == "stopped all tasks\n");
    CHECK(run_cli(e, {"stop", "BackupDatabase"}).out == "not running BackupDatabase\n");
}

TEST_CASE("exit code 3: unknown task", "[cli][exit]")
{
    emulator e;
    auto r = run_cli(e, {"start", "NoSuchTask"});
    CHECK(r.exit_code == 3);
    check_one_error_line(r);
}

TEST_CASE("exit code 4: wrong or missing token", "[cli][exit]")
{
    emulator e;
    auto wrong = run_cli({"--server", e.url, "--token", "wrong-" + random_hex(8), "list"});
    CHECK(wrong.exit_code == 4);
    check_one_error_line(wrong, "401");
    auto missing = run_cli({"--server", e.url, "start", "BackupDatabase"});
    CHECK(missing.exit_code == 4);
    check_one_error_line(missing);
}

TEST_CASE("exit code 5: nothing listens on the port", "[cli][exit]")
{
    std::uint16_t port = 0;
    {
        asio::io_context io;
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    } // closed: connecting is refused
    auto r = run_cli({"--server", "http://127.0.0.1:" + std::to_string(port), "list"});
    CHECK(r.exit_code == 5);
    check_one_error_line(r, "127.0.0.1:" + std::to_string(port));
}

TEST_CASE("exit code 5: a server that never answers, within the deadline", "[cli][exit]")
{
    // Connections complete in the kernel's backlog but nothing is ever read or written.
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    auto r = run_cli({"--server", url, "--timeout-ms", "500", "list"});
    CHECK(r.exit_code == 5);
    check_one_error_line(r, "timeout");
    CHECK(r.elapsed < 20s); // bounded: the 500 ms deadline applies, not a default of seconds
}

TEST_CASE("exit code 6: invalid JSON, wrong content type, redirect", "[cli][exit]")
{
    SECTION("truncated JSON")
    {
        raw_server s(raw_http_response("200 OK", "application/json", "{\"ButlerTasks\":{\"ButlerTask\":["));
        auto r = run_cli({"--server", s.url(), "list"});
        CHECK(r.exit_code == 6);
        check_one_error_line(r);
    }
    SECTION("HTML instead of JSON")
    {
        raw_server s(raw_http_response("200 OK", "text/html", "<html>login</html>"));
        auto r = run_cli({"--server", s.url(), "list", "--json"});
        CHECK(r.exit_code == 6);
        check_one_error_line(r);
    }
    SECTION("not HTTP at all")
    {
        raw_server s("SSH-2.0-OpenSSH_9.2\r\n\r\n");
        auto r = run_cli({"--server", s.url(), "list"});
        CHECK(r.exit_code == 6);
        check_one_error_line(r);
    }
    SECTION("a redirect is not followed")
    {
        raw_server s(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        auto r = run_cli({"--server", s.url(), "start-all"});
        CHECK(r.exit_code == 6);
        check_one_error_line(r);
    }
}

TEST_CASE("exit code 1: server error", "[cli][exit]")
{
    raw_server s(raw_http_response("500 Internal Server Error", "text/plain", "boom"));
    auto r = run_cli({"--server", s.url(), "start-all"});
    CHECK(r.exit_code == 1);
    check_one_error_line(r, "500");
}

TEST_CASE("exit code 2: usage errors", "[cli][exit]")
{
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"frobnicate"}, {"start"}, {"--timeout-ms", "abc", "list"}, {"--bogus", "list"}, {"demo", "--json"}}) {
        auto r = run_cli(args);
        INFO("args: " << args.size());
        CHECK(r.exit_code == 2);
        check_one_error_line(r, "plexbutler --help");
    }
    // An invalid task name is refused before any I/O (nothing listens on port 1).
    auto bad_name = run_cli({"--server", "http://127.0.0.1:1", "start", "../admin"});
    CHECK(bad_name.exit_code == 2);
    check_one_error_line(bad_name);
    auto bad_url = run_cli({"--server", "ftp://127.0.0.1:1", "list"});
    CHECK(bad_url.exit_code == 2);
    check_one_error_line(bad_url);
    // A token too short to be redacted wherever it occurs (error.hpp), from the option or the
    // environment: refused before any I/O, without repeating it.
    for (const auto& short_token : {run_cli({"--server", "http://127.0.0.1:1", "--token", "Xq7", "list"}),
                                    run_cli({"--server", "http://127.0.0.1:1", "list"}, {{"PLEX_TOKEN", "Xq7"}})}) {
        CHECK(short_token.exit_code == 2);
        check_one_error_line(short_token, "the token must have at least 8 characters");
        CHECK(short_token.err.find("Xq7") == std::string::npos);
    }
}

TEST_CASE("a hostile server cannot drive the terminal", "[cli]")
{
    std::string body =
        R"({"ButlerTasks":{"ButlerTask":[{"name":"Evil\u001b[2J","title":"Caf\u00e9 \u001b]0;pwned\u0007 \u009b31m","enabled":true,"interval":1,"scheduleRandomized":false}]}})";
    raw_server s(raw_http_response("200 OK", "application/json", body));
    auto table = run_cli({"--server", s.url(), "list"});
    REQUIRE(table.exit_code == 0);
    CHECK(table.out.find('\x1b') == std::string::npos);
    CHECK(table.out.find('\x07') == std::string::npos);
    CHECK(table.out.find("\xc2\x9b") == std::string::npos);
    CHECK(table.out.find("Evil\\x1b[2J") != std::string::npos);
    CHECK(table.out.find("Caf\xc3\xa9 \\x1b]0;pwned\\x07 \\xc2\\x9b31m") != std::string::npos);

    auto json = run_cli({"--server", s.url(), "list", "--json"});
    REQUIRE(json.exit_code == 0);
    CHECK(json.out.find('\x1b') == std::string::npos);
    CHECK(json.out.find("\xc2\x9b") == std::string::npos);
    auto v = boost::json::parse(json.out);
    CHECK(v.as_array().at(0).at("name").as_string() == "Evil\x1b[2J"); // the data itself is intact
}

TEST_CASE("HTTPS: --ca-file verifies, without it the certificate is refused, --insecure warns", "[cli][tls]")
{
    auto ca = std::filesystem::temp_directory_path() / ("plexbutler-cli-ca-" + random_hex(8) + ".pem");
    emulator e({"--tls-self-signed", "127.0.0.1", "--tls-write-ca", ca.string()});
    REQUIRE(e.url.rfind("https://", 0) == 0);

    auto verified = run_cli(e, {"--ca-file", ca.string(), "list"});
    CHECK(verified.exit_code == 0);
    CHECK(verified.out.find("BackupDatabase") != std::string::npos);
    CHECK(verified.err.empty());

    auto refused = run_cli(e, {"list"});
    CHECK(refused.exit_code == 5);
    check_one_error_line(refused);

    auto insecure = run_cli(e, {"--insecure", "start", "BackupDatabase"});
    CHECK(insecure.exit_code == 0);
    CHECK(insecure.out == "started BackupDatabase\n");
    CHECK(insecure.err.rfind("warning: ", 0) == 0);
    CHECK(insecure.err.find("--insecure") != std::string::npos);
    std::filesystem::remove(ca);
}

TEST_CASE("the token never appears in any output, even with --verbose", "[cli][token]")
{
    emulator e;
    std::vector<process_result> runs;
    runs.push_back(run_cli(e, {"--verbose", "list"}));
    runs.push_back(run_cli(e, {"--verbose", "list", "--json"}));
    runs.push_back(run_cli(e, {"--verbose", "start", "BackupDatabase"}));
    runs.push_back(run_cli(e, {"--verbose", "start", "NoSuchTask"}));
    runs.push_back(run_cli(e, {"--verbose", "stop-all"}));
    runs.push_back(run_cli(e, {"--verbose", "--tokn=" + e.token, "list"})); // misspelt option
    std::string wrong = "wrong-" + random_hex(16);
    runs.push_back(run_cli({"--verbose", "--server", e.url, "--token", wrong, "list"}));
    runs.push_back(run_cli({"--verbose", "list"}, {{"PLEX_SERVER_URL", e.url}, {"PLEX_TOKEN", e.token}}));
    CHECK(runs[0].exit_code == 0);
    CHECK_FALSE(runs[0].err.empty()); // --verbose did log something
    CHECK(runs[3].exit_code == 3);
    CHECK(runs[5].exit_code == 2);
    CHECK(runs[6].exit_code == 4);
    for (const auto& r : runs) {
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        CHECK(r.out.find(e.token) == std::string::npos);
        CHECK(r.err.find(e.token) == std::string::npos);
        CHECK(r.err.find(wrong) == std::string::npos);
    }
}

TEST_CASE("PLEX_SERVER_URL and PLEX_TOKEN are used, options override them", "[cli][env]")
{
    emulator e;
    auto r = run_cli({"list"}, {{"PLEX_SERVER_URL", e.url}, {"PLEX_TOKEN", e.token}});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("BackupDatabase") != std::string::npos);
    auto overridden =
        run_cli({"--token", "not-the-token", "list"}, {{"PLEX_SERVER_URL", e.url}, {"PLEX_TOKEN", e.token}});
    CHECK(overridden.exit_code == 4);
}

TEST_CASE("plexbutler demo walks through every step and exits 0", "[cli][demo]")
{
    auto r = run_cli({"demo"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    for (int step = 1; step <= 8; ++step)
        CHECK(r.out.find("[" + std::to_string(step) + "/8]") != std::string::npos);
    for (auto text : {"get_butler_tasks()", "-> started (HTTP 200)", "-> already running (HTTP 202)",
                      "-> stopped (HTTP 200)", "-> not running (HTTP 404)", "start_all_tasks()", "stop_all_tasks()",
                      "unauthorized (HTTP 401)", " ms  ok", "<redacted>", "all 8 steps behaved as documented"})
        CHECK(r.out.find(text) != std::string::npos);
    CHECK(r.out.find("UNEXPECTED") == std::string::npos);
}
