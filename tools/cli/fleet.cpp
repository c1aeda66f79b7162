// The fleet commands of plexbutler: list, start, stop, start-all and stop-all on every server of
// --servers FILE, and watch.
//
// Progress: the fleet API returns the results of an operation when every server is done, so the
// command runs the operation once per server (fleet_call_options::only) from --concurrency lanes
// that take the next server as soon as they are free. Each completion updates the tally and the
// progress bar; the fleet's own limit (max_in_flight = --concurrency) bounds the requests in flight.
#include "commands.hpp"
#include "fleet_format.hpp"
#include "format.hpp"
#include "servers_file.hpp"

#include <plexbutler/fleet.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <unordered_map>

namespace plexbutler::cli {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// The progress bar on stderr, drawn only when stderr is a terminal.
class progress_display {
public:
    explicit progress_display(bool enabled) : enabled_(enabled)
    {
        if (!enabled_)
            return;
        winsize ws{};
        if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
            columns_ = ws.ws_col;
        // The text after the bar takes up to about 45 columns for 5-digit counts.
        bar_width_ = columns_ >= 80 ? 30 : (columns_ > 55 ? columns_ - 50 : 5);
    }

    void update(const fleet_tally& t, bool force = false)
    {
        if (!enabled_ || !(throttle_.due(std::chrono::steady_clock::now()) || force))
            return;
        std::string line = progress_line(t, bar_width_);
        if (line.size() >= columns_)
            line.resize(columns_ - 1);
        std::string out = "\r" + line;
        if (line.size() < drawn_)
            out.append(drawn_ - line.size(), ' ');
        drawn_ = line.size();
        std::cerr << out << std::flush;
    }

    void clear()
    {
        if (enabled_ && drawn_ > 0)
            std::cerr << '\r' << std::string(drawn_, ' ') << '\r' << std::flush;
        drawn_ = 0;
    }

private:
    bool enabled_;
    std::size_t columns_ = 80;
    std::size_t bar_width_ = 30;
    std::size_t drawn_ = 0;
    redraw_throttle throttle_;
};

// The servers of the invocation: the servers file, or the one --server (watch).
std::vector<server_entry> servers_of(const invocation& inv, const env_lookup& env)
{
    if (!inv.servers_file.empty())
        return load_servers_file(inv.servers_file, env).servers;
    server_entry one;
    one.url = inv.server_url;
    one.token = inv.token;
    one.id = inv.server_url;
    return {one};
}

fleet_options options_for(const invocation& inv)
{
    fleet_options fo;
    fo.max_in_flight = inv.concurrency;
    fo.defaults = make_client_options(inv, {});
    fo.poll_interval = inv.interval;
    // A server that fails is polled again soon, and at least every 30 s (or every interval if longer).
    fo.backoff_initial = std::min<std::chrono::milliseconds>(1s, inv.interval);
    fo.backoff_max = std::max<std::chrono::milliseconds>(30s, inv.interval);
    return fo;
}

// Adds every server to the fleet; false (after printing the error) when one cannot be added.
bool add_servers(fleet& f, const invocation& inv, const std::vector<server_entry>& servers)
{
    client_options base = make_client_options(inv, {});
    for (const server_entry& s : servers) {
        client_options o = base;
        o.server_url = s.url;
        o.token = s.token;
        if (inv.verbose)
            o.logger = stderr_logger(s.token);
        try {
            f.add_server(s.id, std::move(o));
        } catch (const std::invalid_argument& e) {
            std::string where =
                s.line == 0 ? std::string() : tools::escaped(inv.servers_file) + ":" + std::to_string(s.line) + ": ";
            std::cerr << "error: " << where << escape_for_terminal(redact(e.what(), s.token)) << '\n';
            return false;
        }
    }
    return true;
}

// A result for a server the fleet did not report on (never expected).
template <class T>
result<T> missing_result()
{
    failure f;
    f.code = make_error_code(error::cancelled);
    f.diag.server_message = "no result from the fleet";
    return f;
}

// One fleet command in progress: its servers, their output so far and the tally.
struct fleet_job {
    fleet_job(fleet& fl, const invocation& iv, const std::vector<server_entry>& sv, progress_display& pr)
        : f(fl), inv(iv), servers(sv), outputs(sv.size()), tally(sv.size()), progress(pr)
    {
        for (const server_entry& s : servers)
            id_width = std::max(id_width, display_width(escape_for_terminal(s.id)));
    }

    fleet& f;
    const invocation& inv;
    const std::vector<server_entry>& servers;
    std::optional<task_name> task; // start / stop
    std::vector<std::string> outputs;
    fleet_tally tally;
    progress_display& progress;
    std::size_t id_width = 0;
    std::size_t next = 0;
};

void record(fleet_job& job, std::size_t i, const result<tasks_response>& r)
{
    const server_entry& s = job.servers[i];
    job.outputs[i] = job.inv.json ? json_list_line(s.id, r, s.token) : format_list_block(s.id, r, s.token);
    if (r)
        job.tally.add_ok();
    else
        job.tally.add_failure(r.error().code);
    job.progress.update(job.tally);
}

void record(fleet_job& job, std::size_t i, const result<task_response>& r)
{
    const server_entry& s = job.servers[i];
    job.outputs[i] = job.inv.json ? json_outcome_line(s.id, r, job.inv.task, s.token)
                                  : format_outcome_line(s.id, job.id_width, r, job.inv.task, s.token);
    if (r)
        job.tally.add_ok();
    else
        job.tally.add_failure(r.error().code);
    job.progress.update(job.tally);
}

// The start/stop operation of the invocation on the servers of `opts`.
asio::awaitable<std::vector<server_result<task_response>>> outcome_operation(fleet_job& job, fleet_call_options opts)
{
    switch (job.inv.cmd) {
    case command::start: return job.f.start_task(*job.task, std::move(opts));
    case command::stop: return job.f.stop_task(*job.task, std::move(opts));
    case command::start_all: return job.f.start_all_tasks(std::move(opts));
    default: return job.f.stop_all_tasks(std::move(opts));
    }
}

// One lane: runs the operation on the next server until none is left.
asio::awaitable<void> run_lane(fleet_job& job)
{
    while (job.next < job.servers.size()) {
        const std::size_t i = job.next++;
        fleet_call_options opts;
        opts.only.push_back(job.servers[i].id);
        if (job.inv.cmd == command::list) {
            auto op = job.f.get_butler_tasks(std::move(opts));
            std::vector<server_result<tasks_response>> results = co_await std::move(op);
            record(job, i, results.empty() ? missing_result<tasks_response>() : results.front().value);
        } else {
            auto op = outcome_operation(job, std::move(opts));
            std::vector<server_result<task_response>> results = co_await std::move(op);
            record(job, i, results.empty() ? missing_result<task_response>() : results.front().value);
        }
    }
}

asio::awaitable<void> shut_down(fleet& f) { co_await f.async_shutdown(); }

// Prints the events of the fleet until it is shut down; `ended` is why the stream ended.
asio::awaitable<void> print_events(fleet& f, bool json, const std::unordered_map<std::string, std::string>& tokens,
                                   std::optional<failure>& ended)
{
    for (;;) {
        auto op = f.try_next_event();
        result<fleet_event> ev = co_await std::move(op);
        if (!ev) {
            ended = ev.error();
            break;
        }
        const auto token = tokens.find(ev->server);
        const std::string_view secret = token == tokens.end() ? std::string_view{} : token->second;
        std::cout << (json ? format_event_json(*ev, secret) : format_event_line(*ev, secret)) << '\n' << std::flush;
    }
    co_await f.async_shutdown();
}

// An exception that escaped a coroutine of the command (not a server's failure): one error line.
int report_unexpected(std::exception_ptr failed)
{
    try {
        std::rethrow_exception(failed);
    } catch (const std::exception& e) {
        std::cerr << "error: " << escape_for_terminal(e.what()) << '\n';
    }
    return exit_code::failure;
}

} // namespace

int run_fleet_command(const invocation& inv, const env_lookup& env)
{
    std::vector<server_entry> servers;
    try {
        servers = servers_of(inv, env);
    } catch (const servers_file_error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return exit_code::usage;
    }
    std::optional<task_name> task;
    if (inv.cmd == command::start || inv.cmd == command::stop) {
        auto parsed = task_name::parse(inv.task);
        if (!parsed) {
            std::cerr << "error: " << escape_for_terminal(parsed.error().message()) << '\n';
            return exit_code_for(parsed.error().code);
        }
        task = *parsed;
    }
    warn_if_insecure(inv);

    asio::io_context ioc;
    fleet f(ioc, options_for(inv));
    if (!add_servers(f, inv, servers))
        return exit_code::usage;

    progress_display progress(::isatty(STDERR_FILENO) == 1);
    fleet_job job(f, inv, servers, progress);
    job.task = task;
    progress.update(job.tally, true);

    // SIGINT/SIGTERM end the command early: the servers not done report the shutdown.
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&f](boost::system::error_code ec, int) {
        if (!ec)
            f.shutdown();
    });

    std::exception_ptr failed;
    std::size_t lanes = std::min(inv.concurrency, servers.size());
    for (std::size_t k = 0, n = lanes; k < n; ++k)
        asio::co_spawn(ioc, run_lane(job), [&](std::exception_ptr e) {
            if (e && !failed)
                failed = e;
            if (--lanes == 0) {
                signals.cancel();
                asio::co_spawn(ioc, shut_down(f), asio::detached);
            }
        });
    ioc.run();
    progress.clear();

    if (failed)
        return report_unexpected(failed);
    const bool blank_lines = !inv.json && inv.cmd == command::list;
    for (std::size_t i = 0; i < job.outputs.size(); ++i) {
        if (blank_lines && i > 0)
            std::cout << '\n';
        std::cout << job.outputs[i];
    }
    if (inv.json) {
        std::cout << std::flush;
        std::cerr << job.tally.summary() << '\n';
    } else {
        if (blank_lines)
            std::cout << '\n';
        std::cout << job.tally.summary() << '\n' << std::flush;
    }
    return job.tally.exit_code();
}

int run_watch(const invocation& inv, const env_lookup& env)
{
    std::vector<server_entry> servers;
    try {
        servers = servers_of(inv, env);
    } catch (const servers_file_error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return exit_code::usage;
    }
    warn_if_insecure(inv);
    std::unordered_map<std::string, std::string> tokens;
    for (const server_entry& s : servers)
        if (!s.token.empty())
            tokens.emplace(s.id, s.token);

    asio::io_context ioc;
    fleet f(ioc, options_for(inv));
    if (!add_servers(f, inv, servers))
        return exit_code::usage;

    // The first SIGINT/SIGTERM shuts the fleet down (the events already seen are printed); a second
    // one ends the process at once.
    bool interrupted = false;
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (ec)
            return;
        interrupted = true;
        f.shutdown();
        signals.async_wait([](boost::system::error_code again, int) {
            if (!again)
                std::_Exit(exit_code::failure);
        });
    });

    std::optional<failure> ended;
    std::exception_ptr failed;
    f.start_polling();
    asio::co_spawn(ioc, print_events(f, inv.json, tokens, ended), [&](std::exception_ptr e) {
        failed = e;
        signals.cancel();
    });
    ioc.run();

    if (failed)
        return report_unexpected(failed);
    if (!interrupted && ended) {
        std::cerr << "error: " << escape_for_terminal(ended->message()) << '\n';
        return exit_code_for(ended->code);
    }
    return exit_code::success;
}

} // namespace plexbutler::cli
