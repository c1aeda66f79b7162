// Runs the example programs against the emulator executable: they compile, run and print
// what their comments promise.
#include "support/emulator_process.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>

using namespace std::chrono_literals;
using namespace plexbutler::test;

namespace {

const std::string examples_dir = PLEXBUTLER_BINARY_DIR "/examples/";

using emulator = emulator_process;

process_options with_token(const std::string& token)
{
    process_options o;
    o.env = {{"PLEX_TOKEN", token}};
    o.unset_env = {"PLEX_SERVER_URL"};
    return o;
}

std::size_t occurrences(const std::string& text, const std::string& what)
{
    std::size_t n = 0;
    for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1))
        ++n;
    return n;
}

} // namespace

TEST_CASE("list_tasks lists the tasks, disabled ones marked", "[examples]")
{
    emulator e;
    auto r = run_process(examples_dir + "list_tasks", {e.url}, with_token(e.token), 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("BackupDatabase\n") != std::string::npos);
    CHECK(r.out.find("AutomaticUpdates (disabled)\n") != std::string::npos);

    // The URL can also come from PLEX_SERVER_URL.
    process_options env_only;
    env_only.env = {{"PLEX_TOKEN", e.token}, {"PLEX_SERVER_URL", e.url}};
    CHECK(run_process(examples_dir + "list_tasks", {}, env_only, 30s).out == r.out);
}

TEST_CASE("list_tasks reports a failure without the token", "[examples]")
{
    emulator e;
    auto r = run_process(examples_dir + "list_tasks", {e.url}, with_token("wrong-" + e.token.substr(0, 8)), 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("error: ", 0) == 0);
    CHECK(r.err.find("wrong-") == std::string::npos);
}

TEST_CASE("start_task switches on outcomes and errors", "[examples]")
{
    emulator e;
    auto start = [&](const std::string& task) {
        return run_process(examples_dir + "start_task", {task, e.url}, with_token(e.token), 30s);
    };
    auto first = start("BackupDatabase");
    CHECK(first.exit_code == 0);
    CHECK(first.out == "BackupDatabase: started\n");
    auto second = start("BackupDatabase");
    CHECK(second.exit_code == 0);
    CHECK(second.out == "BackupDatabase: was already running\n");
    auto unknown = start("NoSuchTask");
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.err == "NoSuchTask: no such task on this server\n");
}

TEST_CASE("poll_daemon --iterations polls every server and stops cleanly", "[examples]")
{
    emulator a;
    emulator b;
    process_options opts = with_token(a.token); // b has another token: its polls fail, the daemon goes on
    auto r = run_process(examples_dir + "poll_daemon", {"--iterations", "2", "--interval-ms", "50", a.url, b.url}, opts,
                         60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(occurrences(r.out, " poll 1: ") == 2);
    CHECK(occurrences(r.out, " poll 2: ") == 2);
    CHECK(occurrences(r.out, " poll 3: ") == 0);
    CHECK(occurrences(r.out, " tasks, ") == 2);  // server a answered both polls
    CHECK(occurrences(r.out, ": error: ") == 2); // server b refused both (wrong token)
    CHECK(r.out.find("unauthorized") != std::string::npos);
    CHECK(r.out.find(a.token) == std::string::npos);
    CHECK(r.out.find("poll_daemon: stopped cleanly\n") != std::string::npos);
}

TEST_CASE("poll_daemon shuts down cleanly on SIGTERM", "[examples]")
{
    emulator e;
    child_process p(examples_dir + "poll_daemon", {"--interval-ms", "60000", e.url}, with_token(e.token));
    std::optional<std::string> line;
    do {
        line = p.read_line(20s);
    } while (line && line->find(" poll 1: ") == std::string::npos);
    REQUIRE(line.has_value());
    p.signal(SIGTERM);
    // The 60 s timer must be cancelled, not waited for.
    CHECK(p.wait(30s) == 0);
    CHECK(p.out().find("signal 15, shutting down") != std::string::npos);
    CHECK(p.out().find("poll_daemon: stopped cleanly\n") != std::string::npos);
}

namespace {

std::string read_text(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

TEST_CASE("the README's library snippet is literally part of examples/list_tasks.cpp", "[examples][docs]")
{
    const std::string root = PLEXBUTLER_TEST_FIXTURES "/../../";
    auto readme = read_text(root + "README.md");
    auto example = read_text(root + "examples/list_tasks.cpp");
    REQUIRE_FALSE(example.empty());
    auto section = readme.find("## The library in ten lines");
    REQUIRE(section != std::string::npos);
    auto open = readme.find("```cpp\n", section);
    REQUIRE(open != std::string::npos);
    open += 7;
    auto close = readme.find("```", open);
    REQUIRE(close != std::string::npos);
    std::string snippet = readme.substr(open, close - open);
    CHECK(snippet.size() > 200);
    CHECK(snippet.find("co_await client.get_butler_tasks()") != std::string::npos);
    CHECK(example.find(snippet) != std::string::npos);
}

TEST_CASE("fleet_watch sweeps every server, then prints the poller's events", "[examples][fleet]")
{
    emulator a;
    emulator b;
    process_options o = with_token(a.token);
    // b has another token: its sweep line and its event report the refusal, a's do not.
    auto r =
        run_process(examples_dir + "fleet_watch", {"--interval-ms", "200", "--seconds", "2", a.url, b.url}, o, 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(a.url + ": ") != std::string::npos);
    CHECK(r.out.find(" tasks\n") != std::string::npos);
    CHECK(r.out.find(b.url + ": unauthorized") != std::string::npos);
    CHECK(occurrences(r.out, a.url + " reachable\n") == 1);
    CHECK(occurrences(r.out, b.url + " unreachable: unauthorized") == 1);
    CHECK(r.out.find(a.token) == std::string::npos);
}

TEST_CASE("the README's fleet snippet is literally part of examples/fleet_watch.cpp", "[examples][docs]")
{
    const std::string root = PLEXBUTLER_TEST_FIXTURES "/../../";
    auto readme = read_text(root + "README.md");
    auto example = read_text(root + "examples/fleet_watch.cpp");
    REQUIRE_FALSE(example.empty());
    auto section = readme.find("## Many servers: `plexbutler::fleet`");
    REQUIRE(section != std::string::npos);
    auto open = readme.find("```cpp\n", section);
    REQUIRE(open != std::string::npos);
    open += 7;
    auto close = readme.find("```", open);
    REQUIRE(close != std::string::npos);
    std::string snippet = readme.substr(open, close - open);
    CHECK(snippet.find("co_await fleet.get_butler_tasks()") != std::string::npos);
    CHECK(snippet.find("fleet.start_polling()") != std::string::npos);
    CHECK(example.find(snippet) != std::string::npos);
}

TEST_CASE("callbacks lists and starts with completion handlers and a deferred operation", "[examples][tokens]")
{
    emulator e;
    auto r = run_process(examples_dir + "callbacks", {"BackupDatabase", e.url}, with_token(e.token), 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(" tasks\nBackupDatabase: started\n") != std::string::npos);
    auto again = run_process(examples_dir + "callbacks", {"BackupDatabase", e.url}, with_token(e.token), 30s);
    CHECK(again.out.find("BackupDatabase: already running\n") != std::string::npos);

    // A failure: the diagnostics, without the token; an invalid URL: client::create's failure.
    auto refused = run_process(examples_dir + "callbacks", {"BackupDatabase", e.url},
                               with_token("wrong-" + e.token.substr(0, 8)), 30s);
    CHECK(refused.exit_code == 1);
    CHECK(refused.err.rfind("error: unauthorized (HTTP 401)", 0) == 0);
    CHECK(refused.err.find("[GET /butler]") != std::string::npos);
    CHECK(refused.err.find("wrong-") == std::string::npos);
    auto bad_url = run_process(examples_dir + "callbacks", {"BackupDatabase", "ftp://x"}, with_token(e.token), 30s);
    CHECK(bad_url.exit_code == 2);
    CHECK(bad_url.err.rfind("error: invalid server URL", 0) == 0);
}

TEST_CASE("the README's completion token snippet is literally part of examples/callbacks.cpp", "[examples][docs]")
{
    const std::string root = PLEXBUTLER_TEST_FIXTURES "/../../";
    auto readme = read_text(root + "README.md");
    auto example = read_text(root + "examples/callbacks.cpp");
    REQUIRE_FALSE(example.empty());
    auto section = readme.find("### Completion tokens");
    REQUIRE(section != std::string::npos);
    auto open = readme.find("```cpp\n", section);
    REQUIRE(open != std::string::npos);
    open += 7;
    auto close = readme.find("```", open);
    REQUIRE(close != std::string::npos);
    std::string snippet = readme.substr(open, close - open);
    CHECK(snippet.find("asio::deferred") != std::string::npos);
    CHECK(example.find(snippet) != std::string::npos);
}
