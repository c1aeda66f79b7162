// Starts a Butler task with the non-throwing try_ API and switches on the outcome.
// Usage: start_task TASK [URL]   (default $PLEX_SERVER_URL or http://127.0.0.1:32400; token from $PLEX_TOKEN)
#include <plexbutler/plexbutler.hpp>

#include <boost/asio.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

namespace asio = boost::asio;

asio::awaitable<int> start(plexbutler::client& client, std::string task)
{
    plexbutler::result<plexbutler::task_response> r = co_await client.try_start_task(task);
    co_await client.async_shutdown();
    if (r) {
        switch (r->content) {
        case plexbutler::task_outcome::started: std::cout << task << ": started\n"; break;
        case plexbutler::task_outcome::already_running: std::cout << task << ": was already running\n"; break;
        default: std::cout << task << ": " << plexbutler::to_string(r->content) << " (HTTP " << r->status << ")\n";
        }
        co_return 0;
    }
    // A failure: branch on the error code; message() never contains the token.
    const plexbutler::failure& f = r.error();
    if (f.code == plexbutler::error::not_found)
        std::cerr << task << ": no such task on this server\n";
    else if (f.code == plexbutler::error::unauthorized)
        std::cerr << "unauthorized: set PLEX_TOKEN\n";
    else
        std::cerr << "error: " << f.message() << '\n';
    co_return 1;
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::cerr << "usage: start_task TASK [URL]\n";
        return 2;
    }
    const char* url = argc > 2 ? argv[2] : std::getenv("PLEX_SERVER_URL");
    const char* token = std::getenv("PLEX_TOKEN");
    plexbutler::client_options options;
    options.server_url = url ? url : "http://127.0.0.1:32400";
    options.token = token ? token : "";

    asio::io_context io;
    plexbutler::client client(io, options);
    int exit_code = 1;
    asio::co_spawn(io, start(client, argv[1]), [&](std::exception_ptr e, int code) {
        if (e)
            std::rethrow_exception(e);
        exit_code = code;
    });
    io.run();
    return exit_code;
}
