// The server commands of plexbutler: list, start, stop, start-all, stop-all.
#include "commands.hpp"
#include "fleet_format.hpp"
#include "format.hpp"

#include <plexbutler/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <exception>
#include <iostream>
#include <mutex>
#include <optional>

namespace plexbutler::cli {

namespace asio = boost::asio;

namespace {

std::string_view level_name(log_level l) noexcept
{
    switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    }
    return "log";
}

// Prints one failure line; the token is redacted even though the library never includes it.
int report_failure(const std::exception_ptr& e, const std::string& token)
{
    try {
        std::rethrow_exception(e);
    } catch (const butler_error& err) {
        std::cerr << "error: " << escape_for_terminal(redact(err.what(), token)) << '\n';
        return exit_code_for(err.code());
    } catch (const std::exception& err) {
        std::cerr << "error: " << escape_for_terminal(redact(err.what(), token)) << '\n';
        return exit_code::failure;
    }
}

// The command itself; its stdout text is returned so nothing is printed when it fails half-way.
asio::awaitable<std::string> perform(client& c, const invocation& inv)
{
    switch (inv.cmd) {
    case command::list: {
        auto r = co_await c.get_butler_tasks();
        if (inv.json)
            co_return escape_json_controls(boost::json::serialize(boost::json::value_from(r.content.tasks))) + "\n";
        co_return format_task_table(r.content.tasks);
    }
    case command::start: {
        auto r = co_await c.start_task(std::string_view(inv.task));
        co_return inv.json ? json_outcome(r, inv.task) : outcome_line(r.content, inv.task, r.status) + "\n";
    }
    case command::stop: {
        auto r = co_await c.stop_task(std::string_view(inv.task));
        co_return inv.json ? json_outcome(r, inv.task) : outcome_line(r.content, inv.task, r.status) + "\n";
    }
    case command::start_all: {
        auto r = co_await c.start_all_tasks();
        co_return inv.json ? json_outcome(r, {}) : outcome_line(r.content, {}, r.status) + "\n";
    }
    case command::stop_all: {
        auto r = co_await c.stop_all_tasks();
        co_return inv.json ? json_outcome(r, {}) : outcome_line(r.content, {}, r.status) + "\n";
    }
    case command::demo:
    case command::watch:
    case command::pin:
    case command::none: break;
    }
    throw std::logic_error("no command to perform");
}

} // namespace

logger_fn stderr_logger(std::string token)
{
    // One mutex for every logger of the process: lines of several clients never interleave.
    static std::mutex log_mutex;
    return [token = std::move(token)](log_level level, std::string_view message) {
        std::lock_guard lock(log_mutex);
        std::cerr << "[" << level_name(level) << "] " << escape_for_terminal(redact(std::string(message), token))
                  << '\n';
    };
}

void warn_if_insecure(const invocation& inv)
{
    if (inv.insecure && inv.pinned_pubkeys.empty()) // with pins, the pinned key still proves the server
        std::cerr << "warning: --insecure: the server certificate is not verified; anyone on the network path "
                     "can impersonate the server and read the token\n";
}

int run_command(const invocation& inv)
{
    logger_fn logger;
    if (inv.verbose)
        logger = stderr_logger(inv.token);
    warn_if_insecure(inv);

    asio::io_context ioc;
    std::optional<client> c;
    try {
        c.emplace(ioc, make_client_options(inv, logger));
    } catch (const std::invalid_argument& e) {
        std::cerr << "error: " << escape_for_terminal(redact(e.what(), inv.token)) << '\n';
        return exit_code::usage;
    }

    std::string output;
    std::exception_ptr failed;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            try {
                output = co_await perform(*c, inv);
            } catch (...) {
                failed = std::current_exception();
            }
            // Close the connection cleanly so run() returns promptly in both cases.
            co_await c->async_shutdown();
        },
        [&](std::exception_ptr e) {
            if (e && !failed)
                failed = e;
        });
    ioc.run();

    if (failed)
        return report_failure(failed, inv.token);
    std::cout << output << std::flush;
    return exit_code::success;
}

} // namespace plexbutler::cli
