// plexbutler-bench (bench/plexbutler_bench.cpp) is built with the tests and run briefly against
// the emulator executable: its one JSON line is complete and consistent, --refresh and --op mixed
// work, failures are counted and reported without the token, bad flags exit 2. (What the numbers
// are is for bench/compare on a Release build; this only keeps the load generator honest.)
#include "support/emulator_process.hpp"
#include "support/process.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <memory>

using namespace std::chrono_literals;
using namespace plexbutler::test;
namespace json = boost::json;

namespace {

const std::string bench_exe = PLEXBUTLER_BINARY_DIR "/bin/plexbutler-bench";

using emulator = emulator_process;

// The single stdout line as a JSON object (fails the test otherwise).
json::object report_of(const process_result& r)
{
    REQUIRE_FALSE(r.out.empty());
    REQUIRE(r.out.back() == '\n');
    REQUIRE(r.out.find('\n') == r.out.size() - 1); // exactly one line
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

std::uint64_t count(const json::object& o, const char* key)
{
    REQUIRE(o.contains(key));
    return o.at(key).to_number<std::uint64_t>();
}

} // namespace

TEST_CASE("plexbutler-bench prints one consistent JSON line for list, --refresh and mixed runs", "[bench]")
{
    emulator e;
    struct run_case {
        std::vector<std::string> extra;
        const char* op;
        bool refresh;
    };
    for (const auto& rc : {run_case{{}, "list", false}, run_case{{"--refresh"}, "list", true},
                           run_case{{"--op", "mixed", "--refresh"}, "mixed", true}}) {
        std::vector<std::string> args{"--server",      e.url, "--token",      e.token, "--concurrency", "8",
                                      "--connections", "4",   "--duration-s", "0.5",   "--warmup-s",    "0.2"};
        args.insert(args.end(), rc.extra.begin(), rc.extra.end());
        auto r = run_process(bench_exe, args, {}, 60s);
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        const auto o = report_of(r);
        CHECK(o.at("client") == "plexbutler");
        CHECK(o.at("op") == rc.op);
        CHECK(o.at("refresh") == rc.refresh);
        CHECK(count(o, "concurrency") == 8);
        CHECK(count(o, "connections") == 4);
        CHECK(count(o, "requests") > 0);
        CHECK(count(o, "errors") == 0);
        CHECK(count(o, "issued") == count(o, "succeeded") + count(o, "failed"));
        CHECK(count(o, "requests") == count(o, "succeeded"));
        for (const char* key : {"rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "cpu_us_per_request", "peak_rss_mb"})
            CHECK(o.at(key).to_number<double>() > 0.0);
        // A new list per call allocates its strings; a list refreshed in place does not.
        if (rc.refresh)
            CHECK(o.at("decode_allocs_per_list").to_number<double>() == 0.0);
        else
            CHECK(o.at("decode_allocs_per_list").to_number<double>() > 20.0);
        CHECK(o.at("p50_ms").to_number<double>() <= o.at("p99_ms").to_number<double>());
        CHECK(o.at("p99_ms").to_number<double>() <= o.at("max_ms").to_number<double>());
        CHECK(r.out.find(e.token) == std::string::npos);
        CHECK(r.err.find(e.token) == std::string::npos);
    }
}

TEST_CASE("plexbutler-bench counts failures and never prints the token", "[bench]")
{
    emulator e;
    const std::string wrong = random_hex(32);
    auto r = run_process(
        bench_exe,
        {"--server", e.url, "--token", wrong, "--concurrency", "2", "--duration-s", "0.3", "--warmup-s", "0"}, {}, 60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 1); // nothing succeeded
    const auto o = report_of(r);
    CHECK(count(o, "requests") == 0);
    CHECK(count(o, "errors") > 0);
    CHECK(count(o, "issued") == count(o, "failed"));
    CHECK(r.err.find("unauthorized") != std::string::npos);
    CHECK(r.out.find(wrong) == std::string::npos);
    CHECK(r.err.find(wrong) == std::string::npos);
}

TEST_CASE("plexbutler-bench rejects bad flags with exit status 2", "[bench]")
{
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--concurrency", "4"},                                   // no --server
             {"--server", "http://127.0.0.1:1", "--concurrency", "0"}, // C < 1
             {"--server", "http://127.0.0.1:1", "--concurrency", "4", "--op", "watch"},
             {"--server", "http://127.0.0.1:1", "--concurrency", "4", "--bogus", "1"}}) {
        auto r = run_process(bench_exe, args, {}, 30s);
        INFO("stderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK(r.out.empty());
        CHECK(r.err.find("usage: plexbutler-bench") != std::string::npos);
    }
}
