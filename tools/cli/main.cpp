// plexbutler: command-line client of the Plex Media Server Butler API.
#include "args.hpp"
#include "commands.hpp"
#include "format.hpp"

#include "common/version.hpp"

#include <cstdlib>
#include <exception>
#include <iostream>

int main(int argc, char** argv)
{
    using namespace plexbutler::cli;
    std::vector<std::string> args(argv + 1, argv + argc);
    const env_lookup env = [](std::string_view name) -> std::optional<std::string> {
        if (const char* v = std::getenv(std::string(name).c_str()))
            return std::string(v);
        return std::nullopt;
    };
    invocation inv;
    try {
        inv = parse_args(args, env);
    } catch (const usage_error& e) {
        const char* env_token = std::getenv("PLEX_TOKEN");
        std::cerr << "error: " << plexbutler::redact(e.what(), env_token ? env_token : "")
                  << " (see plexbutler --help)\n";
        return exit_code::usage;
    }
    if (inv.help) {
        std::cout << usage_text();
        return exit_code::success;
    }
    if (inv.version) {
        std::cout << plexbutler::tools::version_text("plexbutler");
        return exit_code::success;
    }
    try {
        if (inv.cmd == command::demo)
            return run_demo(inv);
        if (inv.cmd == command::watch)
            return run_watch(inv, env);
        if (inv.cmd == command::pin)
            return run_pin(inv);
        if (inv.fleet())
            return run_fleet_command(inv, env);
        return run_command(inv);
    } catch (const std::exception& e) {
        // Last resort: commands report their own failures; this catches the unexpected.
        std::cerr << "error: " << escape_for_terminal(plexbutler::redact(e.what(), inv.token)) << '\n';
        return exit_code::failure;
    }
}
