#ifndef PLEXBUTLER_TEST_SUPPORT_PROCESS_HPP
#define PLEXBUTLER_TEST_SUPPORT_PROCESS_HPP

/// @file process.hpp
/// @brief A small POSIX child-process runner for tests that start the real executables.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plexbutler::test {

/// @brief How to start a child process.
struct process_options {
    std::vector<std::pair<std::string, std::string>> env; ///< Variables set (or overridden) in the child's environment.
    std::vector<std::string> unset_env;                   ///< Variables removed from the child's environment.
};

/// @brief A child process with its stdout and stderr captured through pipes.
///
/// stdin is `/dev/null`. The pipes are drained whenever the object waits
/// (`read_line`, `wait`), so a chatty child never blocks on a full pipe.
/// Not thread-safe; one object per test thread. The destructor kills
/// (SIGKILL) and reaps a child that is still running.
class child_process {
public:
    /// @brief Starts `executable` with `args` (argv[0] is `executable`).
    /// @throws std::runtime_error when the pipes or the spawn fail (e.g. no such file).
    child_process(const std::string& executable, const std::vector<std::string>& args,
                  const process_options& opts = {});
    /// @brief Kills and reaps the child if it is still running.
    ~child_process();

    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// @brief The next line of stdout (without the newline), or nullopt on
    /// timeout or end of output. Lines returned here are also in `out()`.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);

    /// @brief Waits for the child to exit and its output to end.
    /// @return the exit code, `128 + signal` when killed by a signal, or -1 when
    /// `timeout` expired (the child is then killed with SIGKILL and `timed_out()` is true).
    int wait(std::chrono::milliseconds timeout);

    /// @brief Sends `sig` to the child (no-op once it has been reaped).
    void signal(int sig);

    /// @brief Everything read from stdout so far.
    const std::string& out() const noexcept { return out_; }
    /// @brief Everything read from stderr so far.
    const std::string& err() const noexcept { return err_; }
    /// @brief True when `wait` gave up and killed the child.
    bool timed_out() const noexcept { return timed_out_; }
    /// @brief The child's process id.
    pid_t pid() const noexcept { return pid_; }
    /// @brief True while the child has not been reaped.
    bool running() const noexcept { return !exit_code_.has_value(); }

private:
    // Reads whatever is available on the pipes, waiting up to `timeout` for the first byte.
    void pump(std::chrono::milliseconds timeout);
    bool try_reap(bool block);

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_;
    std::string err_;
    std::size_t line_pos_ = 0;
    std::optional<int> exit_code_;
    bool timed_out_ = false;
};

/// @brief The result of `run_process`.
struct process_result {
    int exit_code = -1;                  ///< As returned by `child_process::wait`.
    std::string out;                     ///< All of stdout.
    std::string err;                     ///< All of stderr.
    bool timed_out = false;              ///< True when the child was killed after the timeout.
    std::chrono::milliseconds elapsed{}; ///< Wall time from spawn to exit.
};

/// @brief Runs `executable` with `args` to completion (or `timeout`) and collects its output.
process_result run_process(const std::string& executable, const std::vector<std::string>& args,
                           const process_options& opts = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(60));

/// @brief Reads stdout lines of `p` until one starts with `listening on ` and returns the rest
/// (the URL printed by `plexbutler-emulator`), or an empty string on timeout or end of output.
std::string wait_for_listening(child_process& p, std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// @brief A random lowercase hex string of `chars` characters (for tokens in tests).
std::string random_hex(std::size_t chars = 32);

} // namespace plexbutler::test

#endif
