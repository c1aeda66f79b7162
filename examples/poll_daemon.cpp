// A daemon-style poller: watches the Butler tasks of several Plex servers concurrently.
//
// Usage: poll_daemon [--interval-ms N] [--iterations N] URL...
//   The token comes from $PLEX_TOKEN. Runs until SIGINT/SIGTERM, or for N polls per server.
//
// Shows: one client per server on a shared multi-threaded io_context, the non-throwing
// try_ API in a polling loop (try_refresh_butler_tasks refills one response per server), and a
// clean shutdown (client::async_shutdown) on a signal.
#include <plexbutler/plexbutler.hpp>

#include <boost/asio.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

std::mutex output_mutex; // lines come from two threads

void say(const std::string& line)
{
    std::lock_guard lock(output_mutex);
    std::cout << line << std::endl;
}

// Everything of one server; its coroutine and its timer run on its own strand.
struct poller {
    poller(asio::io_context& io, const std::string& url, const std::string& token)
        : strand(asio::make_strand(io)), timer(strand), client(strand, make_options(url, token))
    {
    }

    static plexbutler::client_options make_options(const std::string& url, const std::string& token)
    {
        plexbutler::client_options o;
        o.server_url = url;
        o.token = token;
        o.request_timeout = 5s;
        o.retry.max_attempts = 2; // one retry of connection errors and 5xx, with backoff
        return o;
    }

    asio::strand<asio::io_context::executor_type> strand;
    asio::steady_timer timer;
    plexbutler::client client;
    bool stopping = false; // only touched on the strand
};

asio::awaitable<void> poll(poller& p, std::chrono::milliseconds interval, unsigned iterations)
{
    // One response per server, refreshed in place: after the first poll, decoding reuses its
    // task records and strings instead of allocating new ones.
    plexbutler::tasks_response tasks;
    for (unsigned i = 1; !p.stopping && (iterations == 0 || i <= iterations); ++i) {
        auto start = std::chrono::steady_clock::now();
        auto r = co_await p.client.try_refresh_butler_tasks(tasks);
        auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        if (r) {
            std::size_t enabled = 0;
            for (const auto& task : tasks.content.tasks)
                enabled += task.enabled.value_or(false) ? 1u : 0u;
            say(p.client.origin() + " poll " + std::to_string(i) + ": " + std::to_string(tasks.content.tasks.size()) +
                " tasks, " + std::to_string(enabled) + " enabled (" + std::to_string(ms) + " ms)");
        } else {
            say(p.client.origin() + " poll " + std::to_string(i) + ": error: " + r.error().message());
        }
        if (p.stopping || (iterations != 0 && i == iterations))
            break;
        p.timer.expires_after(interval);
        boost::system::error_code ec;
        co_await p.timer.async_wait(asio::redirect_error(asio::use_awaitable, ec)); // cancelled on shutdown
    }
    co_await p.client.async_shutdown();
}

unsigned long number(std::string_view flag, const char* text)
{
    unsigned long v = 0;
    std::string_view s = text ? text : "";
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
        std::cerr << "poll_daemon: " << flag << " expects a number\n";
        std::exit(2);
    }
    return v;
}

} // namespace

int main(int argc, char** argv)
{
    std::chrono::milliseconds interval = 5000ms;
    unsigned iterations = 0; // 0: until a signal
    std::vector<std::string> urls;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--interval-ms")
            interval = std::chrono::milliseconds(number(arg, i + 1 < argc ? argv[++i] : nullptr));
        else if (arg == "--iterations")
            iterations = static_cast<unsigned>(number(arg, i + 1 < argc ? argv[++i] : nullptr));
        else
            urls.emplace_back(arg);
    }
    if (urls.empty()) {
        std::cerr << "usage: poll_daemon [--interval-ms N] [--iterations N] URL...\n";
        return 2;
    }
    const char* token = std::getenv("PLEX_TOKEN");

    asio::io_context io;
    std::list<poller> pollers; // stable addresses
    for (const auto& url : urls)
        pollers.emplace_back(io, url, token ? token : "");

    // SIGINT/SIGTERM: every poller stops on its own strand; its loop then shuts its client down.
    auto signal_strand = asio::make_strand(io); // the signal handler and cancel() never overlap
    asio::signal_set signals(signal_strand, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec)
            return; // cancelled: all pollers finished on their own
        say("poll_daemon: signal " + std::to_string(sig) + ", shutting down");
        for (auto& p : pollers)
            asio::post(p.strand, [&p] {
                p.stopping = true;
                p.timer.cancel();
            });
    });

    std::atomic<std::size_t> running = pollers.size();
    for (auto& p : pollers)
        asio::co_spawn(p.strand, poll(p, interval, iterations), [&](std::exception_ptr e) {
            if (e)
                say("poll_daemon: a poller failed unexpectedly");
            if (--running == 0)
                asio::post(signal_strand, [&] { signals.cancel(); }); // nothing left to wait for
        });

    say("poll_daemon: polling " + std::to_string(pollers.size()) + " server(s) every " +
        std::to_string(interval.count()) + " ms on 2 threads");
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    say("poll_daemon: stopped cleanly");
}
