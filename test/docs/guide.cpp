// docs/guide.md: its snippets are literally part of examples that compile, and the daemon they
// come from (examples/guide_daemon.cpp) does what the guide says, against the emulator executable.
#include "support/emulator_process.hpp"
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace plexbutler::test;

namespace {

const std::string guide_daemon = PLEXBUTLER_BINARY_DIR "/examples/guide_daemon";
const std::string source_root = PLEXBUTLER_TEST_FIXTURES "/../../";

std::string read_text(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

process_options with_token(const std::string& token)
{
    process_options o;
    o.env = {{"PLEX_TOKEN", token}};
    o.unset_env = {"PLEX_SERVER_URL"};
    return o;
}

bool contains(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

} // namespace

TEST_CASE("every C++ snippet of docs/guide.md is literally part of an example", "[docs]")
{
    const auto guide = read_text(source_root + "docs/guide.md");
    REQUIRE_FALSE(guide.empty());
    std::vector<std::string> examples;
    for (const auto& entry : std::filesystem::directory_iterator(source_root + "examples"))
        if (entry.path().extension() == ".cpp")
            examples.push_back(read_text(entry.path().string()));
    REQUIRE(examples.size() >= 5);

    std::size_t snippets = 0;
    for (auto open = guide.find("```cpp\n"); open != std::string::npos; open = guide.find("```cpp\n", open)) {
        open += 7;
        const auto close = guide.find("```", open);
        REQUIRE(close != std::string::npos);
        const std::string snippet = guide.substr(open, close - open);
        INFO("snippet:\n" << snippet);
        CHECK(snippet.size() > 40);
        CHECK(std::any_of(examples.begin(), examples.end(),
                          [&](const std::string& example) { return contains(example, snippet); }));
        ++snippets;
        open = close + 3;
    }
    CHECK(snippets >= 6);
}

TEST_CASE("docs/guide.md has the sections a daemon author needs", "[docs]")
{
    const auto guide = read_text(source_root + "docs/guide.md");
    for (const char* heading : {"## Lifecycle", "## Executors and threads", "## Timeouts and cancellation",
                                "## Shutting down on SIGTERM", "## Errors and retries", "## What `started` means",
                                "## Polling", "## Many servers: the fleet", "## Completion tokens"}) {
        INFO(heading);
        CHECK(contains(guide, std::string(heading) + "\n"));
    }
}

TEST_CASE("guide_daemon starts a task, then polls on one connection", "[docs][examples]")
{
    emulator_process e;
    auto r = run_process(guide_daemon, {"--start", "BackupDatabase", "--polls", "2", "--interval-ms", "50", e.url},
                         with_token(e.token), 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "BackupDatabase: started (HTTP 200: accepted, not proof that it runs)\n"));
    CHECK(contains(r.out, "poll 1: 25 tasks\npoll 2: 25 tasks\n"));
    CHECK(contains(r.out, "stopped: 1 connection(s) opened, 3 response(s) read\n"));
    CHECK_FALSE(contains(r.out + r.err, e.token));
}

TEST_CASE("guide_daemon: the || deadline cancels a slow start and its connection is closed", "[docs][examples]")
{
    emulator_process e({"--latency-ms", "1500"});
    auto r = run_process(
        guide_daemon,
        {"--start", "BackupDatabase", "--deadline-ms", "200", "--polls", "1", "--timeout-ms", "5000", e.url},
        with_token(e.token), 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "BackupDatabase: no answer within 200 ms, cancelled\n"));
    CHECK(contains(r.out, "poll 1: 25 tasks\n"));
    // The cancelled request's connection was not reused: the poll opened a second one.
    CHECK(contains(r.out, "stopped: 2 connection(s) opened, 1 response(s) read\n"));
}

TEST_CASE("guide_daemon: a failure wins the || race at once (the try_ form)", "[docs][examples]")
{
    emulator_process e;
    auto r = run_process(guide_daemon, {"--start", "BackupDatabase", "--deadline-ms", "20000", "--polls", "1", e.url},
                         with_token("not-the-token-" + e.token.substr(0, 4)), 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "BackupDatabase: error: unauthorized"));
    CHECK(contains(r.out, "poll 1: error: unauthorized"));
    CHECK(r.elapsed < 10s); // not the 20 s deadline
}

TEST_CASE("guide_daemon: call_options::timeout bounds each attempt, and each timeout closes its connection",
          "[docs][examples]")
{
    emulator_process e({"--latency-ms", "3000"});
    auto r = run_process(guide_daemon, {"--polls", "1", "--timeout-ms", "300", e.url}, with_token(e.token), 30s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "poll 1: error: timeout after 300 ms"));
    // Three attempts (client_options::retry), each on a new connection.
    CHECK(contains(r.out, "stopped: 3 connection(s) opened, 0 response(s) read\n"));
    CHECK(r.elapsed < 3000ms);
}

TEST_CASE("guide_daemon: SIGTERM abandons the request in flight at once", "[docs][examples]")
{
    emulator_process e({"--latency-ms", "60000"});
    child_process p(guide_daemon, {"--interval-ms", "100", e.url}, with_token(e.token));
    auto line = p.read_line(20s);
    REQUIRE(line.has_value());
    CHECK(contains(*line, "guide_daemon: "));
    std::this_thread::sleep_for(300ms); // the first poll is waiting for its 60 s response
    const auto signalled = std::chrono::steady_clock::now();
    p.signal(SIGTERM);
    CHECK(p.wait(20s) == 0);
    CHECK(std::chrono::steady_clock::now() - signalled < 5s);
    INFO("stdout: " << p.out() << "\nstderr: " << p.err());
    CHECK(contains(p.out(), "signal 15: shutting down\n"));
    CHECK(contains(p.out(), "poll 1: abandoned, the client is shut down\n"));
    CHECK(contains(p.out(), "stopped: 1 connection(s) opened, 0 response(s) read\n"));
}
