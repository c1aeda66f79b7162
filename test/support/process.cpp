#include "support/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <random>
#include <spawn.h>
#include <stdexcept>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace plexbutler::test {

namespace {

using clock_type = std::chrono::steady_clock;

void close_fd(int& fd)
{
    if (fd >= 0) {
        ::close(fd);
        fd = -1;
    }
}

std::string errno_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

// The parent's environment with `opts` applied, as "NAME=value" strings.
std::vector<std::string> child_environment(const process_options& opts)
{
    std::vector<std::string> result;
    auto overridden = [&](std::string_view entry) {
        auto name = entry.substr(0, entry.find('='));
        for (const auto& [n, v] : opts.env)
            if (n == name)
                return true;
        for (const auto& n : opts.unset_env)
            if (n == name)
                return true;
        return false;
    };
    for (char** e = environ; e != nullptr && *e != nullptr; ++e)
        if (!overridden(*e))
            result.emplace_back(*e);
    for (const auto& [n, v] : opts.env)
        result.push_back(n + "=" + v);
    return result;
}

std::vector<char*> c_strings(std::vector<std::string>& strings)
{
    std::vector<char*> result;
    result.reserve(strings.size() + 1);
    for (auto& s : strings)
        result.push_back(s.data());
    result.push_back(nullptr);
    return result;
}

} // namespace

child_process::child_process(const std::string& executable, const std::vector<std::string>& args,
                             const process_options& opts)
{
    int out_pipe[2] = {-1, -1};
    int err_pipe[2] = {-1, -1};
    // O_CLOEXEC: children spawned concurrently by other test threads must not inherit our pipe ends.
    if (::pipe2(out_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error(errno_text("pipe2", errno));
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        int e = errno;
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        throw std::runtime_error(errno_text("pipe2", e));
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    // dup2 onto 1 and 2 clears FD_CLOEXEC on the copies, so only they survive exec.
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    // Nothing else: descriptors the test opened without close-on-exec (Asio's sockets, e.g. an
    // in-process emulator's listener) would otherwise keep their ports bound in the child.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    std::vector<std::string> argv_strings;
    argv_strings.push_back(executable);
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    auto argv = c_strings(argv_strings);
    auto env_strings = child_environment(opts);
    auto envp = c_strings(env_strings);

    int rc = ::posix_spawn(&pid_, executable.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        pid_ = -1;
        throw std::runtime_error(errno_text(("posix_spawn " + executable).c_str(), rc));
    }
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    ::fcntl(out_fd_, F_SETFL, ::fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
    ::fcntl(err_fd_, F_SETFL, ::fcntl(err_fd_, F_GETFL) | O_NONBLOCK);
}

child_process::~child_process()
{
    if (running() && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        try_reap(true);
    }
    close_fd(out_fd_);
    close_fd(err_fd_);
}

void child_process::pump(std::chrono::milliseconds timeout)
{
    pollfd fds[2];
    nfds_t n = 0;
    if (out_fd_ >= 0)
        fds[n++] = {out_fd_, POLLIN, 0};
    if (err_fd_ >= 0)
        fds[n++] = {err_fd_, POLLIN, 0};
    if (n == 0)
        return;
    int rc = ::poll(fds, n, static_cast<int>(std::max<std::chrono::milliseconds::rep>(timeout.count(), 0)));
    if (rc <= 0)
        return;
    for (nfds_t i = 0; i < n; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
            continue;
        int& fd = fds[i].fd == out_fd_ ? out_fd_ : err_fd_;
        std::string& sink = fds[i].fd == out_fd_ ? out_ : err_;
        char buf[4096];
        for (;;) {
            ssize_t got = ::read(fd, buf, sizeof buf);
            if (got > 0) {
                sink.append(buf, static_cast<std::size_t>(got));
                continue;
            }
            if (got < 0 && errno == EINTR)
                continue;
            if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                close_fd(fd);
            break;
        }
    }
}

bool child_process::try_reap(bool block)
{
    if (exit_code_)
        return true;
    int status = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r != pid_)
        return false;
    if (WIFEXITED(status))
        exit_code_ = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        exit_code_ = 128 + WTERMSIG(status);
    else
        exit_code_ = -1;
    return true;
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout)
{
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        auto nl = out_.find('\n', line_pos_);
        if (nl != std::string::npos) {
            std::string line = out_.substr(line_pos_, nl - line_pos_);
            line_pos_ = nl + 1;
            return line;
        }
        if (out_fd_ < 0)
            return std::nullopt;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0)
            return std::nullopt;
        pump(left);
    }
}

int child_process::wait(std::chrono::milliseconds timeout)
{
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        // Done when the child is reaped and both pipes reached end of file.
        if (try_reap(false) && out_fd_ < 0 && err_fd_ < 0)
            return *exit_code_;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0)
            break;
        if (out_fd_ < 0 && err_fd_ < 0)
            ::usleep(static_cast<useconds_t>(std::min<long>(static_cast<long>(left.count()), 10) * 1000));
        else
            pump(std::min(left, std::chrono::milliseconds(50)));
    }
    if (!exit_code_) {
        timed_out_ = true;
        ::kill(pid_, SIGKILL);
        try_reap(true);
    }
    // Collect what is left (a grandchild could hold the pipes, so do not wait long).
    pump(std::chrono::milliseconds(0));
    return timed_out_ ? -1 : *exit_code_;
}

void child_process::signal(int sig)
{
    if (running() && pid_ > 0)
        ::kill(pid_, sig);
}

process_result run_process(const std::string& executable, const std::vector<std::string>& args,
                           const process_options& opts, std::chrono::milliseconds timeout)
{
    auto start = clock_type::now();
    child_process child(executable, args, opts);
    process_result r;
    r.exit_code = child.wait(timeout);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
    r.out = child.out();
    r.err = child.err();
    r.timed_out = child.timed_out();
    return r;
}

std::string wait_for_listening(child_process& p, std::chrono::milliseconds timeout)
{
    constexpr std::string_view prefix = "listening on ";
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0)
            return {};
        auto line = p.read_line(left);
        if (!line)
            return {};
        if (line->compare(0, prefix.size(), prefix) == 0)
            return line->substr(prefix.size());
    }
}

std::string random_hex(std::size_t chars)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::random_device rd;
    std::string out;
    while (out.size() < chars) {
        auto v = rd();
        for (int i = 0; i < 8 && out.size() < chars; ++i, v >>= 4)
            out += hex[v & 0xf];
    }
    return out;
}

} // namespace plexbutler::test
