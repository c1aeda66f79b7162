// The daemon of docs/guide.md: every snippet of the guide is part of this file (or of another
// example), and test/docs/guide.cpp runs it against the emulator.
//
// Usage: guide_daemon [--start TASK] [--deadline-ms N] [--timeout-ms N] [--interval-ms N] [--polls N] URL
//   The token comes from $PLEX_TOKEN. With --start, starts TASK first, racing the request against a
//   timer of --deadline-ms (default 5000) with `||`. Then polls the task list every --interval-ms
//   (default 1000), each poll with a --timeout-ms deadline (default 2000), --polls times (default 0:
//   until SIGINT/SIGTERM). A signal shuts the client down at once: a request in flight is abandoned.
//
// Shows: the client's lifecycle, a per-request timeout (call_options::timeout) and a caller's
// deadline (`||` and a timer), what "started" means, errors and retries, polling, and cancelling
// in-flight requests on SIGTERM with client::shutdown().
#include <plexbutler/plexbutler.hpp>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <variant>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct settings {
    std::string url;
    std::string start; // a task to start first, or empty
    std::chrono::milliseconds deadline = 5000ms;
    std::chrono::milliseconds timeout = 2000ms;
    std::chrono::milliseconds interval = 1000ms;
    unsigned polls = 0; // 0: until a signal
};

// guide: options
plexbutler::client_options make_options(const std::string& url, const char* token)
{
    plexbutler::client_options o;
    o.server_url = url;               // http(s)://host:port, optionally with a path prefix
    o.token = token ? token : "";     // sent as X-Plex-Token, never logged
    o.request_timeout = 10s;          // deadline of one attempt, unless a call overrides it
    o.retry.max_attempts = 3;         // retry connect errors, timeouts, 408/429/502/503/504
    o.retry.initial_interval = 200ms; // backoff 200 ms, 400 ms, ... with jitter
    o.retry.max_elapsed = 20s;        // no new attempt after 20 s
    return o;
}
// guide: options-end

// guide: deadline
// Starts `task`, but gives up when `deadline` has passed: the caller's deadline on the whole call
// (every attempt and backoff of the retry policy), raced with `||` against a timer. The try_ form
// matters here: `||` waits for the first operation to *succeed*, so a throwing start_task that
// failed at once (401, 404) would let the timer run out and look like a timeout.
asio::awaitable<void> start_with_deadline(plexbutler::client& client, std::string task,
                                          std::chrono::milliseconds deadline)
{
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    auto start = client.try_start_task(task);
    auto expiry = timer.async_wait(asio::use_awaitable);
    auto race = std::move(start) || std::move(expiry);
    auto winner = co_await std::move(race);
    if (winner.index() == 1) {
        // The start was cancelled. Had its response begun to arrive, its connection is closed.
        std::cout << task << ": no answer within " << deadline.count() << " ms, cancelled" << std::endl;
        co_return;
    }
    auto& r = std::get<0>(winner);
    if (!r) {
        std::cout << task << ": error: " << r.error().message() << std::endl;
        co_return;
    }
    switch (r->content) {
    case plexbutler::task_outcome::started:
        // 200: the server accepted the request. It does not say that the task runs now: PMS
        // also answers 200 for a task that is disabled or not due, and does nothing.
        std::cout << task << ": started (HTTP 200: accepted, not proof that it runs)" << std::endl;
        break;
    case plexbutler::task_outcome::already_running: std::cout << task << ": already running" << std::endl; break;
    default: std::cout << task << ": " << plexbutler::to_string(r->content) << std::endl;
    }
}
// guide: deadline-end

// guide: poll
// Polls the task list until the client is shut down (or `polls` polls are done). One response is
// refilled in place; each poll has its own deadline; a failed poll is reported and the loop goes on.
asio::awaitable<void> poll(plexbutler::client& client, asio::steady_timer& pause, const settings& s)
{
    plexbutler::tasks_response tasks;
    plexbutler::call_options per_poll;
    per_poll.timeout = s.timeout; // this call's deadline per attempt, instead of request_timeout
    for (unsigned i = 1; s.polls == 0 || i <= s.polls; ++i) {
        auto r = co_await client.try_refresh_butler_tasks(tasks, per_poll);
        if (r) {
            std::cout << "poll " << i << ": " << tasks.content.tasks.size() << " tasks" << std::endl;
        } else if (r.error().code == plexbutler::error::client_shut_down) {
            std::cout << "poll " << i << ": abandoned, the client is shut down" << std::endl;
            break;
        } else {
            // Retries (client_options::retry) are over: the failure is final for this poll.
            std::cout << "poll " << i << ": error: " << r.error().message() << std::endl;
        }
        if (s.polls != 0 && i == s.polls)
            break;
        pause.expires_after(s.interval);
        auto [ec] = co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) // cancelled: shutting down
            break;
    }
}
// guide: poll-end

asio::awaitable<void> run(plexbutler::client& client, asio::steady_timer& pause, settings s)
{
    if (!s.start.empty())
        co_await start_with_deadline(client, s.start, s.deadline);
    co_await poll(client, pause, s);
}

bool number(const char* text, unsigned long& out)
{
    const std::string_view v = text ? text : "";
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return !v.empty() && ec == std::errc{} && end == v.data() + v.size();
}

int usage()
{
    std::cerr << "usage: guide_daemon [--start TASK] [--deadline-ms N] [--timeout-ms N] [--interval-ms N] "
                 "[--polls N] URL  (token in $PLEX_TOKEN)\n";
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    settings s;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        unsigned long n = 0;
        if (arg == "--start" && i + 1 < argc)
            s.start = argv[++i];
        else if (arg.starts_with("--") && arg != "--start") {
            if (i + 1 >= argc || !number(argv[++i], n))
                return usage();
            if (arg == "--deadline-ms")
                s.deadline = std::chrono::milliseconds(n);
            else if (arg == "--timeout-ms")
                s.timeout = std::chrono::milliseconds(n);
            else if (arg == "--interval-ms")
                s.interval = std::chrono::milliseconds(n);
            else if (arg == "--polls")
                s.polls = static_cast<unsigned>(n);
            else
                return usage();
        } else if (s.url.empty() && !arg.starts_with("--"))
            s.url = arg;
        else
            return usage();
    }
    if (s.url.empty())
        return usage();

    // guide: lifecycle
    asio::io_context io;
    plexbutler::client client(io, make_options(s.url, std::getenv("PLEX_TOKEN")));
    asio::steady_timer pause(io);

    // SIGTERM: abandon what is in flight. shutdown() may be called from any thread; the operations
    // in flight fail at once with error::client_shut_down, and so does every later one.
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code ec, int signal) {
        if (ec)
            return; // cancelled below: the daemon finished on its own
        std::cout << "signal " << signal << ": shutting down" << std::endl;
        client.shutdown();
        pause.cancel();
    });

    asio::co_spawn(io, run(client, pause, s), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                std::cerr << "guide_daemon: " << x.what() << '\n';
            }
        }
        signals.cancel();
        client.shutdown(); // closes the idle connections: io.run() returns
    });
    std::cout << "guide_daemon: " << client.origin() << std::endl;
    io.run(); // returns when the daemon is done and the client has let go of its sockets
    // guide: lifecycle-end
    const plexbutler::pool_stats stats = client.stats();
    std::cout << "stopped: " << stats.connections_created << " connection(s) opened, " << stats.requests_served
              << " response(s) read" << std::endl;
    return 0;
}
