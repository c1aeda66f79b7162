#ifndef PLEXBUTLER_TEST_SUPPORT_EMULATOR_PROCESS_HPP
#define PLEXBUTLER_TEST_SUPPORT_EMULATOR_PROCESS_HPP

// The plexbutler-emulator executable as a child process, for tests of programs that talk to it
// (the CLI, the examples, plexbutler-bench).

#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

namespace plexbutler::test {

/// @brief `plexbutler-emulator` on a free loopback port with a random token and no maintenance
/// window (tasks start at once and run for a minute); stopped with SIGTERM on destruction.
struct emulator_process {
    explicit emulator_process(std::vector<std::string> extra = {})
    {
        std::vector<std::string> args = {"--listen",    "127.0.0.1:0",        "--token", token, "--quiet", "--window",
                                         "00:00-00:00", "--task-duration-ms", "60000"};
        args.insert(args.end(), extra.begin(), extra.end());
        proc = std::make_unique<child_process>(PLEXBUTLER_BINARY_DIR "/bin/plexbutler-emulator", args);
        url = wait_for_listening(*proc);
        REQUIRE_FALSE(url.empty());
    }
    ~emulator_process() { proc->signal(SIGTERM); }
    emulator_process(const emulator_process&) = delete;
    emulator_process& operator=(const emulator_process&) = delete;

    std::string token = random_hex(32);
    std::unique_ptr<child_process> proc;
    std::string url; ///< e.g. `http://127.0.0.1:41234`
};

} // namespace plexbutler::test

#endif
