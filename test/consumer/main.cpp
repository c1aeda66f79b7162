// Builds against the installed plexbutler package, as a daemon that still uses Asio's deprecated
// names would: the package must not define BOOST_ASIO_NO_DEPRECATED for its consumers.
//
// consumer            decodes a task list and validates a name (no server needed)
// consumer URL        also lists the tasks of the server at URL and starts one (token: $PLEX_TOKEN)
#include <plexbutler/plexbutler.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_service.hpp> // deprecated since Boost 1.66, still part of Asio

#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

namespace {

boost::asio::awaitable<void> talk(plexbutler::client& client)
{
    const auto tasks = co_await client.get_butler_tasks();
    std::cout << "consumer: " << client.origin() << " has " << tasks.content.tasks.size() << " tasks\n";
    const plexbutler::task_name name{plexbutler::tasks::backup_database};
    const auto started = co_await client.start_task(name);
    std::cout << "consumer: start " << name.str() << ": " << plexbutler::to_string(started.content) << '\n';
    co_await client.async_shutdown();
}

} // namespace

int main(int argc, char** argv)
{
    const auto list = plexbutler::parse_task_list(
        R"({"ButlerTasks":{"ButlerTask":[{"name":"BackupDatabase","interval":3,"enabled":true}]}})");
    if (!list || list->tasks.size() != 1) {
        std::cerr << "consumer: decoding failed\n";
        return 1;
    }
    const plexbutler::task_name name{plexbutler::tasks::backup_database};
    if (!name.is_documented() || list->find(name.view()) == nullptr) {
        std::cerr << "consumer: task name lookup failed\n";
        return 1;
    }
    std::cout << "plexbutler " << plexbutler::version_string << ": " << name.str() << " every "
              << list->tasks.front().interval.value_or(0) << " days\n";
    if (argc < 2)
        return 0;

    boost::asio::io_service io; // the deprecated name of io_context
    plexbutler::client_options opts;
    opts.server_url = argv[1];
    const char* token = std::getenv("PLEX_TOKEN");
    opts.token = token ? token : "";
    plexbutler::client client(io, opts);
    std::exception_ptr failure;
    boost::asio::co_spawn(io, talk(client), [&](std::exception_ptr e) { failure = e; });
    io.reset(); // deprecated too (restart())
    io.run();
    if (failure) {
        try {
            std::rethrow_exception(failure);
        } catch (const std::exception& e) {
            std::cerr << "consumer: " << e.what() << '\n';
        }
        return 1;
    }
    return 0;
}
