// plexbutler demo: runs the Butler emulator in-process and walks through every operation.
#include "commands.hpp"
#include "format.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/emulator/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <ctime>
#include <exception>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>

namespace plexbutler::cli {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr int total_steps = 8;

std::string random_token()
{
    std::random_device rd;
    std::ostringstream s;
    for (int i = 0; i < 4; ++i)
        s << std::hex << std::setw(8) << std::setfill('0') << rd();
    return s.str();
}

// A one-hour window starting two hours from now (local time), so "now" is outside it
// and started tasks run immediately instead of being scheduled into the window.
emulator::maintenance_window window_excluding_now()
{
    std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    auto minute = static_cast<unsigned>(local.tm_hour * 60 + local.tm_min);
    return {(minute + 120) % 1440, (minute + 180) % 1440};
}

std::string two_digits(unsigned v) { return (v < 10 ? "0" : "") + std::to_string(v); }

std::string clock_text(unsigned minute) { return two_digits(minute / 60) + ":" + two_digits(minute % 60); }

// Walks through the operations; every call, its outcome and its latency are printed.
class demo_runner {
public:
    demo_runner(client& c, client& wrong_token_client, std::string token, std::string wrong_token,
                std::vector<std::string>& log_lines, std::mutex& log_mutex)
        : client_(c), wrong_client_(wrong_token_client), token_(std::move(token)), wrong_token_(std::move(wrong_token)),
          log_lines_(log_lines), log_mutex_(log_mutex)
    {
    }

    asio::awaitable<void> run()
    {
        auto tasks = co_await list();
        if (!tasks)
            co_return;
        std::string task = pick_task(*tasks);
        if (task.empty()) {
            fail("the emulator reported no enabled task to start");
            co_return;
        }
        co_await one_task(2, "start_task", task, task_outcome::started, true);
        co_await one_task(3, "start_task", task, task_outcome::already_running, true);
        co_await one_task(4, "stop_task", task, task_outcome::stopped, false);
        co_await one_task(5, "stop_task", task, task_outcome::not_running, false);
        co_await all_tasks(6, true);
        co_await all_tasks(7, false);
        co_await wrong_token();
        check_redaction();
    }

    /// @brief The first failure, empty when every step behaved as documented.
    const std::string& failure_message() const noexcept { return failure_; }

private:
    using clock = std::chrono::steady_clock;

    void fail(std::string message)
    {
        std::cout << "      FAILED: " << message << '\n';
        if (failure_.empty())
            failure_ = std::move(message);
    }

    static void print_step(int n, const std::string& call, const std::string& outcome, clock::duration latency, bool ok)
    {
        std::ostringstream line;
        line << '[' << n << '/' << total_steps << "] " << std::left << std::setw(32) << call << " -> " << std::setw(28)
             << outcome << std::right << std::setw(10)
             << format_ms(std::chrono::duration_cast<std::chrono::nanoseconds>(latency)) << "  "
             << (ok ? "ok" : "UNEXPECTED");
        std::cout << line.str() << '\n';
    }

    std::string failure_text(const failure& f) const
    {
        std::string m = f.message();
        messages_.push_back(m);
        return escape_for_terminal(redact(m, token_));
    }

    asio::awaitable<std::optional<std::vector<butler_task>>> list()
    {
        auto start = clock::now();
        auto r = co_await client_.try_get_butler_tasks();
        auto latency = clock::now() - start;
        if (!r) {
            print_step(1, "get_butler_tasks()", "error", latency, false);
            fail("get_butler_tasks failed: " + failure_text(r.error()));
            co_return std::nullopt;
        }
        auto& tasks = r->content.tasks;
        bool ok = r->status == 200 && !tasks.empty();
        print_step(1, "get_butler_tasks()",
                   std::to_string(tasks.size()) + " tasks (HTTP " + std::to_string(r->status) + ")", latency, ok);
        std::istringstream table(format_task_table(tasks));
        for (std::string line; std::getline(table, line);)
            std::cout << "      " << line << '\n';
        if (!ok)
            fail("expected HTTP 200 with a non-empty task list");
        co_return std::move(tasks);
    }

    static std::string pick_task(const std::vector<butler_task>& tasks)
    {
        auto usable = [](const butler_task& t) {
            return t.enabled.value_or(false) && t.name && task_name::is_valid(*t.name);
        };
        for (const auto& t : tasks)
            if (usable(t) && *t.name == tasks::backup_database)
                return *t.name;
        for (const auto& t : tasks)
            if (usable(t))
                return *t.name;
        return {};
    }

    asio::awaitable<void> one_task(int n, std::string_view op, const std::string& task, task_outcome expected,
                                   bool start)
    {
        std::string call = std::string(op) + "(\"" + escape_for_terminal(task) + "\")";
        auto begin = clock::now();
        // Not a conditional expression: g++ 12 destroys the result twice for `c ? co_await a : co_await b`.
        result<task_response> r = failure{};
        if (start)
            r = co_await client_.try_start_task(task);
        else
            r = co_await client_.try_stop_task(task);
        auto latency = clock::now() - begin;
        report(n, call, r, latency, expected);
    }

    asio::awaitable<void> all_tasks(int n, bool start)
    {
        auto begin = clock::now();
        result<task_response> r = failure{};
        if (start)
            r = co_await client_.try_start_all_tasks();
        else
            r = co_await client_.try_stop_all_tasks();
        auto latency = clock::now() - begin;
        report(n, start ? "start_all_tasks()" : "stop_all_tasks()", r, latency,
               start ? task_outcome::started : task_outcome::stopped);
    }

    void report(int n, const std::string& call, const result<task_response>& r, clock::duration latency,
                task_outcome expected)
    {
        if (!r) {
            print_step(n, call, "error", latency, false);
            fail(call + " failed: " + failure_text(r.error()));
            return;
        }
        std::string outcome = std::string(to_string(r->content)) + " (HTTP " + std::to_string(r->status) + ")";
        bool ok = r->content == expected;
        print_step(n, call, outcome, latency, ok);
        if (!ok)
            fail(call + ": expected '" + std::string(to_string(expected)) + "', got '" +
                 std::string(to_string(r->content)) + "'");
    }

    asio::awaitable<void> wrong_token()
    {
        std::string call = "get_butler_tasks() bad token";
        auto begin = clock::now();
        auto r = co_await wrong_client_.try_get_butler_tasks();
        auto latency = clock::now() - begin;
        if (r) {
            print_step(8, call, "success", latency, false);
            fail("a request with a wrong token succeeded");
            co_return;
        }
        std::string message = failure_text(r.error());
        bool ok = r.error().code == error::unauthorized;
        print_step(8, call, "unauthorized (HTTP " + std::to_string(r.error().diag.http_status) + ")", latency, ok);
        std::cout << "      error message: " << escape_for_terminal(redact(message, wrong_token_)) << '\n';
        if (!ok)
            fail("expected error::unauthorized, got: " + message);
    }

    void check_redaction()
    {
        std::vector<std::string> lines;
        {
            std::lock_guard lock(log_mutex_);
            lines = log_lines_;
        }
        std::size_t leaks = 0;
        for (const auto* set : {&lines, &messages_})
            for (const auto& line : *set)
                if (line.find(token_) != std::string::npos || line.find(wrong_token_) != std::string::npos)
                    ++leaks;
        auto count = [](std::size_t n, const char* what) {
            return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
        };
        std::cout << "\nToken redaction: the emulator token (" << token_.size() << " characters, shown as "
                  << redact(token_, token_) << ") and the wrong token appear in " << leaks << " of "
                  << count(lines.size(), "client log line") << " and " << count(messages_.size(), "error message")
                  << ".\n";
        std::cout << "  redact(\"GET /butler?X-Plex-Token=...\", token) = \""
                  << redact("GET /butler?X-Plex-Token=" + token_, token_) << "\"\n";
        if (leaks != 0)
            fail("the token appeared in " + std::to_string(leaks) + " log lines or error messages");
    }

    client& client_;
    client& wrong_client_;
    std::string token_;
    std::string wrong_token_;
    std::vector<std::string>& log_lines_;
    std::mutex& log_mutex_;
    mutable std::vector<std::string> messages_;
    std::string failure_;
};

} // namespace

int run_demo(const invocation& inv)
{
    const std::string token = random_token();
    const std::string wrong_token = random_token();

    emulator::server_options so;
    so.listen_host = "127.0.0.1";
    so.port = 0;
    so.token = token;
    so.task_duration = 60s; // long enough that the task is still running when it is started again
    so.window = window_excluding_now();
    so.quiet = true;
    emulator::server server(so);

    std::cout << "plexbutler demo: a Butler emulator is listening on " << server.url() << " (token "
              << redact(token, token) << ", maintenance window " << clock_text(so.window.start_minute) << "-"
              << clock_text(so.window.end_minute) << " local time, so tasks start immediately)\n\n";

    std::mutex log_mutex;
    std::vector<std::string> log_lines;
    auto capture = [&](log_level, std::string_view message) {
        std::lock_guard lock(log_mutex);
        log_lines.emplace_back(message);
        if (inv.verbose)
            std::cerr << "[log] " << escape_for_terminal(redact(std::string(message), token)) << '\n';
    };

    invocation demo_inv = inv;
    demo_inv.server_url = server.url();
    demo_inv.token = token;
    demo_inv.ca_file.clear();
    demo_inv.insecure = false;
    demo_inv.pinned_pubkeys.clear(); // the demo's own server, not the user's
    demo_inv.retries = 0;
    asio::io_context ioc;
    client c(ioc, make_client_options(demo_inv, capture));
    demo_inv.token = wrong_token;
    client wrong(ioc, make_client_options(demo_inv, capture));

    demo_runner runner(c, wrong, token, wrong_token, log_lines, log_mutex);
    std::exception_ptr crashed;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            try {
                co_await runner.run();
            } catch (...) {
                crashed = std::current_exception();
            }
            co_await c.async_shutdown();
            co_await wrong.async_shutdown();
        },
        [&](std::exception_ptr e) {
            if (e && !crashed)
                crashed = e;
        });
    ioc.run();
    server.stop();

    if (crashed) {
        try {
            std::rethrow_exception(crashed);
        } catch (const std::exception& e) {
            std::cerr << "demo: error: " << escape_for_terminal(redact(e.what(), token)) << '\n';
        }
        return exit_code::failure;
    }
    if (!runner.failure_message().empty()) {
        std::cerr << "demo: FAILED: " << runner.failure_message() << '\n';
        return exit_code::failure;
    }
    std::cout << "\ndemo: all " << total_steps << " steps behaved as documented (" << server.requests_served()
              << " requests served)\n";
    return exit_code::success;
}

} // namespace plexbutler::cli
