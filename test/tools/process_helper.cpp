// Tests of the child-process helper that the CLI, example and emulator tests rely on.
#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>
#include <cstdlib>

using namespace std::chrono_literals;
using plexbutler::test::child_process;
using plexbutler::test::process_options;
using plexbutler::test::run_process;

TEST_CASE("run_process collects stdout, stderr and the exit code", "[process]")
{
    auto r = run_process("/bin/sh", {"-c", "echo out-line; echo err-line >&2; exit 3"});
    CHECK(r.exit_code == 3);
    CHECK(r.out == "out-line\n");
    CHECK(r.err == "err-line\n");
    CHECK_FALSE(r.timed_out);
}

TEST_CASE("run_process sets and unsets environment variables", "[process]")
{
    process_options opts;
    opts.env = {{"PB_TEST_SET", "a b"}, {"HOME", "/nonexistent-home"}};
    opts.unset_env = {"PB_TEST_UNSET"};
    ::setenv("PB_TEST_UNSET", "inherited", 1);
    auto inherited = run_process("/bin/sh", {"-c", "printf '%s' \"${PB_TEST_UNSET-unset}\""});
    CHECK(inherited.out == "inherited");
    auto r =
        run_process("/bin/sh", {"-c", "printf '%s|%s|%s' \"$PB_TEST_SET\" \"$HOME\" \"${PB_TEST_UNSET-unset}\""}, opts);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "a b|/nonexistent-home|unset");
}

TEST_CASE("the child inherits no descriptor but stdin, stdout and stderr", "[process]")
{
    // A descriptor opened without close-on-exec, as Asio opens its sockets.
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    auto r = run_process("/bin/sh", {"-c", "ls /proc/self/fd"}, {}, 10s);
    ::close(fds[0]);
    ::close(fds[1]);
    CHECK(r.exit_code == 0);
    // 0, 1, 2, and the directory ls reads (3).
    CHECK(r.out == "0\n1\n2\n3\n");
}

TEST_CASE("stdin of the child is at end of file", "[process]")
{
    auto r = run_process("/bin/sh", {"-c", "cat; echo done"}, {}, 10s);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "done\n");
}

TEST_CASE("read_line returns lines as they come and out() keeps them", "[process]")
{
    child_process p("/bin/sh", {"-c", "echo first; sleep 0.2; echo second; sleep 30"});
    CHECK(p.read_line(5s) == std::optional<std::string>("first"));
    CHECK(p.read_line(5s) == std::optional<std::string>("second"));
    CHECK_FALSE(p.read_line(100ms).has_value()); // times out: the child sleeps
    p.signal(SIGTERM);
    CHECK(p.wait(5s) == 128 + SIGTERM);
    CHECK(p.out() == "first\nsecond\n");
}

TEST_CASE("wait kills a child that outlives the timeout", "[process]")
{
    auto start = std::chrono::steady_clock::now();
    auto r = run_process("/bin/sh", {"-c", "exec sleep 30"}, {}, 300ms);
    CHECK(r.timed_out);
    CHECK(r.exit_code == -1);
    CHECK(std::chrono::steady_clock::now() - start < 20s);
}

TEST_CASE("a large output does not block the child", "[process]")
{
    auto r = run_process(
        "/bin/sh", {"-c", "i=0; while [ $i -lt 20000 ]; do echo 0123456789abcdef; i=$((i+1)); done; echo end >&2"});
    CHECK(r.exit_code == 0);
    CHECK(r.out.size() == 20000u * 17u);
    CHECK(r.err == "end\n");
}

TEST_CASE("spawning a missing executable throws", "[process]")
{
    CHECK_THROWS_AS(child_process("/nonexistent/plexbutler-none", {}), std::runtime_error);
}
