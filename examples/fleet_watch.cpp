// Many servers from one thread: one sweep of every server's task list, then the fleet poller's
// change events until SIGINT/SIGTERM (or for --seconds N).
//
// Usage: fleet_watch [--interval-ms N] [--seconds N] URL...
//   The token comes from $PLEX_TOKEN (the same token for every server here; a fleet can hold a
//   token per server). Prints one line per server for the sweep, then one line per event.
//
// Shows: plexbutler::fleet on one io_context thread, a fleet operation with one result per
// server, the poller and its change events, and a clean shutdown on a signal.
#include <plexbutler/plexbutler.hpp>

#include <boost/asio.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// fleet-example-begin
asio::awaitable<void> sweep_then_watch(plexbutler::fleet& fleet)
{
    // One request per server, at most fleet_options::max_in_flight at a time; one server's
    // failure is its own result, never the sweep's.
    auto results = co_await fleet.get_butler_tasks();
    for (const auto& r : results) {
        if (r.value)
            std::cout << r.server << ": " << r.value->content.tasks.size() << " tasks\n";
        else
            std::cout << r.server << ": " << r.value.error().message() << '\n';
    }
    std::cout << std::flush;

    // Each server is polled once per interval, the polls spread over it; a server that fails
    // backs off. Events: reachable, unreachable, task_added, task_removed, task_changed.
    fleet.start_polling();
    for (;;) {
        auto event = co_await fleet.try_next_event();
        if (!event)
            break; // the fleet was shut down
        std::cout << event->server << ' ' << plexbutler::to_string(event->kind);
        if (event->task)
            std::cout << ' ' << event->task->name.value_or("?");
        for (const auto& field : event->fields)
            std::cout << ' ' << field;
        if (event->error)
            std::cout << ": " << event->error->message();
        std::cout << std::endl;
    }
}
// fleet-example-end

int usage()
{
    std::cerr << "usage: fleet_watch [--interval-ms N] [--seconds N] URL...  (token in $PLEX_TOKEN)\n";
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> urls;
    plexbutler::fleet_options options;
    options.poll_interval = 5s;
    long seconds = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if ((arg == "--interval-ms" || arg == "--seconds") && i + 1 < argc) {
            long value = std::strtol(argv[++i], nullptr, 10);
            if (value <= 0)
                return usage();
            if (arg == "--seconds")
                seconds = value;
            else
                options.poll_interval = std::chrono::milliseconds{value};
        } else if (arg.rfind("--", 0) == 0) {
            return usage();
        } else {
            urls.emplace_back(arg);
        }
    }
    const char* token = std::getenv("PLEX_TOKEN");
    if (urls.empty() || !token)
        return usage();

    asio::io_context io;
    plexbutler::fleet fleet(io, options);
    try {
        for (const auto& url : urls)
            fleet.add_server(url, url, token);
    } catch (const std::exception& e) {
        std::cerr << "fleet_watch: " << e.what() << '\n';
        return 2;
    }

    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) { fleet.shutdown(); });
    asio::steady_timer deadline(io);
    if (seconds > 0) {
        deadline.expires_after(std::chrono::seconds{seconds});
        deadline.async_wait([&](boost::system::error_code ec) {
            if (!ec)
                fleet.shutdown();
        });
    }
    asio::co_spawn(io, sweep_then_watch(fleet), [&](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                std::cerr << "fleet_watch: " << x.what() << '\n';
            }
        }
        signals.cancel();
        deadline.cancel();
    });
    io.run();
    return 0;
}
