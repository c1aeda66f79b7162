// The fleet commands of the real `plexbutler` executable against several in-process Butler
// emulators: one with a wrong token in the servers file and one address where nothing listens.
#include "support/process.hpp"

#include <plexbutler/emulator/server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;

namespace {

const std::string fleet_cli_binary = PLEXBUTLER_BINARY_DIR "/bin/plexbutler";

std::unique_ptr<plexbutler::emulator::server>
fleet_emulator(const std::string& token, std::uint16_t port = 0,
               std::optional<std::vector<plexbutler::butler_task>> tasks = {})
{
    plexbutler::emulator::server_options o;
    o.token = token;
    o.port = port;
    o.tasks = std::move(tasks);
    o.window = {0, 0};     // no maintenance window: a started task runs at once...
    o.task_duration = 60s; // ...for the whole test
    return std::make_unique<plexbutler::emulator::server>(std::move(o));
}

// A loopback port where nothing listens: connecting is refused.
std::uint16_t fleet_closed_port()
{
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

// The servers file of a test, mode 0600, removed at the end.
struct fleet_servers_file {
    explicit fleet_servers_file(const std::string& text,
                                std::filesystem::perms mode = std::filesystem::perms::owner_read |
                                                              std::filesystem::perms::owner_write)
        : path(std::filesystem::temp_directory_path() / ("plexbutler-fleet-" + plexbutler::test::random_hex(8)))
    {
        std::ofstream(path) << text;
        std::filesystem::permissions(path, mode);
    }
    ~fleet_servers_file() { std::filesystem::remove(path); }
    fleet_servers_file(const fleet_servers_file&) = delete;
    fleet_servers_file& operator=(const fleet_servers_file&) = delete;

    std::filesystem::path path;
};

// Five servers: three that answer (tokens from the environment and inline), one whose token in the
// file is wrong, and one that is down.
struct fleet_of_five {
    std::string token_a = plexbutler::test::random_hex(24);
    std::string token_b = plexbutler::test::random_hex(24);
    std::string token_c = plexbutler::test::random_hex(24);
    std::string token_d = plexbutler::test::random_hex(24);
    std::string wrong = "wrong-" + plexbutler::test::random_hex(16);
    std::unique_ptr<plexbutler::emulator::server> a = fleet_emulator(token_a);
    std::unique_ptr<plexbutler::emulator::server> b = fleet_emulator(token_b);
    std::unique_ptr<plexbutler::emulator::server> c = fleet_emulator(token_c);
    std::unique_ptr<plexbutler::emulator::server> d = fleet_emulator(token_d);
    std::string down_url = "http://127.0.0.1:" + std::to_string(fleet_closed_port());
    fleet_servers_file file{"# five servers\n" + a->url() + " env:PB_FLEET_TOKEN_A alpha\n" + b->url() +
                            " env:PB_FLEET_TOKEN_B bravo\n\n" + c->url() + " token:" + token_c + " charlie\n" +
                            d->url() + " token:" + wrong + " wrong-token\n" + down_url +
                            " - down  # nothing listens\n"};

    std::vector<std::string> secrets() const { return {token_a, token_b, token_c, token_d, wrong}; }
};

plexbutler::test::process_options fleet_env(const fleet_of_five& f)
{
    plexbutler::test::process_options opts;
    opts.unset_env = {"PLEX_TOKEN", "PLEX_SERVER_URL"};
    opts.env = {{"PB_FLEET_TOKEN_A", f.token_a}, {"PB_FLEET_TOKEN_B", f.token_b}};
    return opts;
}

plexbutler::test::process_result run_fleet_cli(const fleet_of_five& f, std::vector<std::string> args)
{
    std::vector<std::string> all = {"--servers", f.file.path.string(), "--timeout-ms", "5000"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = plexbutler::test::run_process(fleet_cli_binary, all, fleet_env(f), 60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE_FALSE(r.timed_out);
    for (const auto& secret : f.secrets()) {
        CHECK(r.out.find(secret) == std::string::npos);
        CHECK(r.err.find(secret) == std::string::npos);
    }
    return r;
}

std::vector<std::string> fleet_lines(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

} // namespace

TEST_CASE("fleet list: a table per server, the summary, the worst exit code", "[cli][fleet]")
{
    fleet_of_five f;
    auto r = run_fleet_cli(f, {"list"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 5); // unreachable (5) is worse than unauthorized (4)
    CHECK(r.err.empty());    // stderr is not a terminal: no progress bar
    const auto lines = fleet_lines(r.out);
    REQUIRE(lines.size() > 10);
    CHECK(lines.back() == "5 servers: 3 ok, 2 failed (1 unreachable, 1 unauthorized)");
    // Each block: the id, then the indented table or error, in the order of the file.
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < lines.size(); ++i)
        if (!lines[i].empty() && lines[i][0] != ' ' && i + 1 < lines.size() && lines[i + 1].starts_with("  "))
            ids.push_back(lines[i]);
    CHECK(ids == std::vector<std::string>{"alpha", "bravo", "charlie", "wrong-token", "down"});
    for (const char* id : {"alpha\n  NAME ", "bravo\n  NAME ", "charlie\n  NAME "})
        CHECK(r.out.find(id) != std::string::npos);
    CHECK(r.out.find("\n  BackupDatabase ") != std::string::npos);
    CHECK(r.out.find("wrong-token\n  error: unauthorized (HTTP 401)") != std::string::npos);
    CHECK(r.out.find("down\n  error: connect failed") != std::string::npos);
}

TEST_CASE("fleet list --json: one JSON object a line per server", "[cli][fleet]")
{
    fleet_of_five f;
    auto r = run_fleet_cli(f, {"--json", "list"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 5);
    const auto lines = fleet_lines(r.out);
    REQUIRE(lines.size() == 5);
    std::vector<std::string> ids;
    for (const auto& line : lines) {
        auto v = boost::json::parse(line);
        ids.emplace_back(v.at("id").as_string());
        if (v.at("ok").as_bool()) {
            CHECK(v.at("result").as_array().size() >= 11);
        } else {
            CHECK_FALSE(v.at("error").at("message").as_string().empty());
        }
    }
    CHECK(ids == std::vector<std::string>{"alpha", "bravo", "charlie", "wrong-token", "down"});
    CHECK(boost::json::parse(lines[3]).at("error").at("code").as_string() == "unauthorized");
    CHECK(boost::json::parse(lines[3]).at("error").at("status").to_number<int>() == 401);
    CHECK(boost::json::parse(lines[4]).at("error").at("code").as_string() == "connect_failed");
    // The summary goes to stderr, so stdout is JSON only.
    CHECK(r.err == "5 servers: 3 ok, 2 failed (1 unreachable, 1 unauthorized)\n");
}

TEST_CASE("fleet start/stop: one line per server with its outcome or error", "[cli][fleet]")
{
    fleet_of_five f;
    auto started = run_fleet_cli(f, {"--concurrency", "2", "start", "BackupDatabase"});
    CHECK(started.exit_code == 5);
    auto lines = fleet_lines(started.out);
    REQUIRE(lines.size() == 6);
    CHECK(lines[0] == "alpha        started BackupDatabase");
    CHECK(lines[1] == "bravo        started BackupDatabase");
    CHECK(lines[2] == "charlie      started BackupDatabase");
    CHECK(lines[3].starts_with("wrong-token  error: unauthorized (HTTP 401)"));
    CHECK(lines[4].starts_with("down         error: connect failed"));
    CHECK(lines[5] == "5 servers: 3 ok, 2 failed (1 unreachable, 1 unauthorized)");

    auto again = run_fleet_cli(f, {"start", "BackupDatabase", "--json"});
    lines = fleet_lines(again.out);
    REQUIRE(lines.size() == 5);
    auto alpha = boost::json::parse(lines[0]);
    CHECK(alpha.at("result").at("outcome").as_string() == "already_running");
    CHECK(alpha.at("result").at("status").to_number<int>() == 202);
    CHECK(alpha.at("result").at("task").as_string() == "BackupDatabase");

    auto stop_all = run_fleet_cli(f, {"stop-all"});
    lines = fleet_lines(stop_all.out);
    REQUIRE(lines.size() == 6);
    CHECK(lines[0] == "alpha        stopped all tasks");
    auto not_running = run_fleet_cli(f, {"stop", "BackupDatabase"});
    CHECK(fleet_lines(not_running.out).at(2) == "charlie      not running BackupDatabase");
    auto start_all = run_fleet_cli(f, {"start-all"});
    CHECK(fleet_lines(start_all.out).at(1) == "bravo        started all tasks");

    // An unknown task: not found (3) on every server that answers; still 5 because one is down.
    auto unknown = run_fleet_cli(f, {"start", "NoSuchTask"});
    CHECK(unknown.exit_code == 5);
    CHECK(fleet_lines(unknown.out).back() == "5 servers: 0 ok, 5 failed (1 unreachable, 1 unauthorized, 3 not found)");
    // An invalid task name is refused before any request.
    auto invalid = run_fleet_cli(f, {"start", "../admin"});
    CHECK(invalid.exit_code == 2);
    CHECK(invalid.out.empty());
    CHECK(invalid.err.starts_with("error: invalid task name"));
}

TEST_CASE("fleet exit code: the worst over the servers", "[cli][fleet][exit]")
{
    fleet_of_five f;
    // Without the down server, the wrong token is the worst: 4.
    fleet_servers_file no_down(f.a->url() + " env:PB_FLEET_TOKEN_A a\n" + f.d->url() + " token:" + f.wrong + " d\n");
    auto opts = fleet_env(f);
    auto r = plexbutler::test::run_process(fleet_cli_binary, {"--servers", no_down.path.string(), "list"}, opts, 60s);
    CHECK(r.exit_code == 4);
    CHECK(fleet_lines(r.out).back() == "2 servers: 1 ok, 1 failed (1 unauthorized)");
    // All answer: 0.
    fleet_servers_file all_ok(f.a->url() + " env:PB_FLEET_TOKEN_A\n" + f.b->url() + " env:PB_FLEET_TOKEN_B\n");
    auto ok =
        plexbutler::test::run_process(fleet_cli_binary, {"--servers", all_ok.path.string(), "stop-all"}, opts, 60s);
    CHECK(ok.exit_code == 0);
    CHECK(fleet_lines(ok.out).back() == "2 servers: 2 ok, 0 failed");
}

TEST_CASE("fleet: SIGINT ends a command early and prints the results so far", "[cli][fleet]")
{
    fleet_of_five f;
    // A server that accepts the connection and never answers.
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor silent(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    silent.non_blocking(true);
    fleet_servers_file file(f.a->url() + " env:PB_FLEET_TOKEN_A alpha\nhttp://127.0.0.1:" +
                            std::to_string(silent.local_endpoint().port()) + " - silent\n");
    plexbutler::test::child_process p(fleet_cli_binary,
                                      {"--servers", file.path.string(), "--timeout-ms", "60000", "list"}, fleet_env(f));
    // Once the CLI has connected, its request to `silent` is in flight.
    boost::asio::ip::tcp::socket peer(io);
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    boost::system::error_code ec = boost::asio::error::would_block;
    while (ec && std::chrono::steady_clock::now() < deadline) {
        silent.accept(peer, ec);
        if (ec)
            std::this_thread::sleep_for(10ms);
    }
    REQUIRE_FALSE(ec);
    // alpha has answered (and the CLI has a moment to read the answer).
    while (f.a->requests_served() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(200ms);
    const auto signalled = std::chrono::steady_clock::now();
    p.signal(SIGINT);
    const int code = p.wait(20s);
    INFO("stdout: " << p.out() << "\nstderr: " << p.err());
    CHECK(std::chrono::steady_clock::now() - signalled < 10s); // not the 60 s timeout
    CHECK(code == 1);
    CHECK(p.out().find("alpha\n  NAME ") != std::string::npos);
    CHECK(p.out().find("silent\n  error: ") != std::string::npos);
    CHECK(fleet_lines(p.out()).back() == "2 servers: 1 ok, 1 failed (1 other)");
}

TEST_CASE("fleet: servers file and command line errors are usage errors", "[cli][fleet][token]")
{
    fleet_of_five f;
    auto opts = fleet_env(f);
    auto run = [&](std::vector<std::string> args) {
        auto r = plexbutler::test::run_process(fleet_cli_binary, args, opts, 60s);
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(r.err.starts_with("error: "));
        CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
        for (const auto& secret : f.secrets())
            CHECK(r.err.find(secret) == std::string::npos);
        return r.err;
    };
    // A file with inline tokens that others can read is refused, naming the fix.
    std::filesystem::permissions(f.file.path, std::filesystem::perms::group_read | std::filesystem::perms::others_read,
                                 std::filesystem::perm_options::add);
    auto readable = run({"--servers", f.file.path.string(), "list"});
    CHECK(readable.find("holds a token (line 5) but group or others can access it (mode 0644)") != std::string::npos);
    CHECK(readable.find("chmod 600 " + f.file.path.string()) != std::string::npos);
    // The variable that is missing, with its line.
    fleet_servers_file missing_env(f.a->url() + " env:PB_FLEET_TOKEN_A\n" + f.b->url() + " env:PB_FLEET_NOT_SET\n");
    CHECK(run({"--servers", missing_env.path.string(), "list"}) ==
          "error: " + missing_env.path.string() + ":2: environment variable PB_FLEET_NOT_SET is not set\n");
    // Tokens are never given on the command line for a fleet.
    CHECK(run({"--servers", missing_env.path.string(), "--token", f.token_a, "list"})
              .starts_with("error: --token cannot be used with --servers"));
    // An URL the client refuses names its line.
    fleet_servers_file bad_url("ftp://127.0.0.1:1 - x\n");
    CHECK(run({"--servers", bad_url.path.string(), "list"}).starts_with("error: " + bad_url.path.string() + ":1: "));
}

TEST_CASE("fleet watch: change events as they happen, exit 0 on SIGINT", "[cli][fleet][watch]")
{
    fleet_of_five f;
    fleet_servers_file two(f.a->url() + " env:PB_FLEET_TOKEN_A alpha\n" + f.b->url() + " env:PB_FLEET_TOKEN_B bravo\n");
    plexbutler::test::child_process watch(
        fleet_cli_binary, {"--servers", two.path.string(), "--timeout-ms", "1000", "watch", "--interval-ms", "200"},
        fleet_env(f));
    std::vector<std::string> seen;
    auto next_line = [&] {
        auto line = watch.read_line(20s);
        INFO("stdout: " << watch.out() << "\nstderr: " << watch.err());
        REQUIRE(line.has_value());
        seen.push_back(*line);
        return *line;
    };
    // Both servers become reachable (in either order).
    std::vector<std::string> reachable = {next_line(), next_line()};
    std::sort(reachable.begin(), reachable.end(), [](const std::string& x, const std::string& y) {
        return x.substr(x.find("  ")) < y.substr(y.find("  "));
    });
    CHECK(reachable[0].find("  alpha  reachable  ") != std::string::npos);
    CHECK(reachable[1].find("  bravo  reachable  ") != std::string::npos);
    CHECK(reachable[0].ends_with(" tasks"));
    CHECK(reachable[0].size() > 24);
    CHECK(reachable[0][10] == 'T');

    // One server goes down: its line says so.
    const auto port = f.b->port();
    f.b->stop();
    const std::string down = next_line();
    CHECK(down.find("  bravo  unreachable  ") != std::string::npos);

    // It comes back on the same port with one task changed, one added and one removed.
    auto tasks = plexbutler::emulator::default_catalogue();
    auto backup = std::find_if(tasks.begin(), tasks.end(), [](const auto& t) { return t.name == "BackupDatabase"; });
    REQUIRE(backup != tasks.end());
    REQUIRE(backup->enabled == true);
    REQUIRE(backup->interval == 3);
    backup->enabled = false;
    backup->interval = 5;
    const std::string removed = tasks.back().name.value();
    tasks.pop_back();
    plexbutler::butler_task added;
    added.name = "PbFleetAddedTask";
    added.enabled = true;
    added.interval = 1;
    tasks.push_back(added);
    f.b.reset();
    f.b = fleet_emulator(f.token_b, port, tasks);
    std::vector<std::string> back;
    for (int i = 0; i < 4; ++i) {
        const std::string line = next_line();
        back.push_back(line.substr(line.find("  ")));
    }
    std::sort(back.begin(), back.end());
    CHECK(back ==
          std::vector<std::string>{"  bravo  reachable  " + std::to_string(tasks.size()) + " tasks",
                                   "  bravo  task_added  PbFleetAddedTask",
                                   "  bravo  task_changed  BackupDatabase  interval: 3 -> 5, enabled: yes -> no",
                                   "  bravo  task_removed  " + removed});

    watch.signal(SIGINT);
    CHECK(watch.wait(20s) == 0);
    INFO("stderr: " << watch.err());
    CHECK(watch.err().empty());
    for (const auto& secret : f.secrets())
        CHECK(watch.out().find(secret) == std::string::npos);
}

TEST_CASE("watch --json with a single --server, exit 0 on SIGTERM", "[cli][fleet][watch]")
{
    const std::string token = plexbutler::test::random_hex(24);
    auto srv = fleet_emulator(token);
    plexbutler::test::process_options opts;
    opts.unset_env = {"PLEX_SERVER_URL"};
    opts.env = {{"PLEX_TOKEN", token}};
    plexbutler::test::child_process watch(fleet_cli_binary,
                                          {"--server", srv->url(), "watch", "--json", "--interval-ms", "200"}, opts);
    auto line = watch.read_line(20s);
    INFO("stdout: " << watch.out() << "\nstderr: " << watch.err());
    REQUIRE(line.has_value());
    auto v = boost::json::parse(*line);
    CHECK(v.at("kind").as_string() == "reachable");
    CHECK(v.at("server").as_string() == srv->url());
    CHECK(v.at("tasks").as_array().size() >= 11);
    watch.signal(SIGTERM);
    CHECK(watch.wait(20s) == 0);
    CHECK(watch.out().find(token) == std::string::npos);
}
