// Lists the Butler tasks of a Plex Media Server.
// Usage: list_tasks [URL]   (default $PLEX_SERVER_URL or http://127.0.0.1:32400; token from $PLEX_TOKEN)
#include <plexbutler/plexbutler.hpp>

#include <boost/asio.hpp>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;

asio::awaitable<void> list_tasks(plexbutler::client& client)
{
    plexbutler::tasks_response r = co_await client.get_butler_tasks();
    for (const plexbutler::butler_task& task : r.content.tasks)
        std::cout << task.name.value_or("?") << (task.enabled.value_or(false) ? "" : " (disabled)") << '\n';
    co_await client.async_shutdown();
}

int main(int argc, char** argv)
{
    const char* url = argc > 1 ? argv[1] : std::getenv("PLEX_SERVER_URL");
    const char* token = std::getenv("PLEX_TOKEN");
    plexbutler::client_options options;
    options.server_url = url ? url : "http://127.0.0.1:32400";
    options.token = token ? token : "";

    asio::io_context io;
    plexbutler::client client(io, options);
    asio::co_spawn(io, list_tasks(client), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e); // leaves io.run() below
    });
    try {
        io.run();
    } catch (const std::exception& e) { // a plexbutler::butler_error: what() never contains the token
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}
