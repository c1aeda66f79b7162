// A one-file program built with nothing but pkg-config:
//   c++ -std=c++20 pkgconfig_consumer.cpp $(pkg-config --cflags --libs plexbutler)
// Lists the tasks of the server at argv[1] (token: $PLEX_TOKEN), starts one and stops it.
#include <plexbutler/plexbutler.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <exception>
#include <iostream>

namespace {

boost::asio::awaitable<int> run(plexbutler::client& client)
{
    auto tasks = co_await client.try_get_butler_tasks();
    if (!tasks) {
        std::cerr << "pkgconfig_consumer: " << tasks.error().message() << '\n';
        co_return 1;
    }
    std::cout << "pkgconfig_consumer: " << tasks->content.tasks.size() << " tasks\n";
    const auto started = co_await client.start_task(plexbutler::tasks::clean_old_bundles);
    const auto stopped = co_await client.stop_task(plexbutler::tasks::clean_old_bundles);
    std::cout << "pkgconfig_consumer: CleanOldBundles " << plexbutler::to_string(started.content) << ", then "
              << plexbutler::to_string(stopped.content) << '\n';
    co_return 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::cerr << "usage: pkgconfig_consumer URL\n";
        return 2;
    }
    boost::asio::io_context io;
    plexbutler::client_options opts;
    opts.server_url = argv[1];
    const char* token = std::getenv("PLEX_TOKEN");
    opts.token = token ? token : "";
    plexbutler::client client(io, opts);
    int rc = 1;
    boost::asio::co_spawn(io, run(client), [&](std::exception_ptr e, int r) {
        rc = e ? 1 : r;
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                std::cerr << "pkgconfig_consumer: " << x.what() << '\n';
            }
        }
        client.shutdown();
    });
    io.run();
    return rc;
}
