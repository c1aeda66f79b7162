// Drives the client without coroutines: a completion handler, a deferred operation, a client made
// without exceptions (client::create) and the diagnostics of a failure through call_options::diag.
// Lists the tasks, then starts TASK and prints the outcome with operator<<.
// Usage: callbacks TASK [URL]   (default $PLEX_SERVER_URL or http://127.0.0.1:32400; token from $PLEX_TOKEN)
#include <plexbutler/plexbutler.hpp>

#include <boost/asio.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace asio = boost::asio;

void list_then_start(plexbutler::client& client, const std::string& task, int& exit_code)
{
    // Filled in by a failing operation: the HTTP status, Plex's errors, the request line.
    auto diag = std::make_shared<plexbutler::diagnostics>();
    plexbutler::call_options opts;
    opts.diag = diag.get();

    // A deferred operation sends nothing until it is launched with a completion token.
    auto start = client.async_start_task(task, opts, asio::deferred);

    client.async_get_butler_tasks(opts, [&client, &task, &exit_code, diag, start = std::move(start)](
                                            boost::system::error_code ec, plexbutler::tasks_response r) mutable {
        if (ec) {
            std::cerr << "error: " << diag->describe(ec) << '\n'; // never contains the token
            client.shutdown();
            return;
        }
        std::cout << r.content.tasks.size() << " tasks\n";
        std::move(start)(
            [&client, &task, &exit_code, diag](boost::system::error_code start_ec, plexbutler::task_response outcome) {
                if (start_ec)
                    std::cerr << "error: " << diag->describe(start_ec) << '\n';
                else
                    std::cout << task << ": " << outcome.content << '\n'; // "started", "already running", ...
                exit_code = start_ec ? 1 : 0;
                client.shutdown();
            });
    });
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: callbacks TASK [URL]\n";
        return 2;
    }
    const char* url = argc > 2 ? argv[2] : std::getenv("PLEX_SERVER_URL");
    const char* token = std::getenv("PLEX_TOKEN");
    plexbutler::client_options options;
    options.server_url = url ? url : "http://127.0.0.1:32400";
    options.token = token ? token : "";

    asio::io_context io;
    plexbutler::result<plexbutler::client> made = plexbutler::client::create(io, options);
    if (!made) {
        std::cerr << "error: " << made.error() << '\n'; // e.g. "invalid server URL ..."
        return 2;
    }
    int exit_code = 1;
    const std::string task = argv[1];
    list_then_start(*made, task, exit_code);
    io.run(); // returns once the client is shut down and its handlers have run
    return exit_code;
}
