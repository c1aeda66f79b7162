#ifndef PLEXBUTLER_TOOLS_CLI_COMMANDS_HPP
#define PLEXBUTLER_TOOLS_CLI_COMMANDS_HPP

/// @file commands.hpp
/// @brief The commands of `plexbutler` and how an invocation becomes client options.

#include "args.hpp"

#include <plexbutler/options.hpp>

#include <algorithm>

namespace plexbutler::cli {

/// @brief The client options an invocation asks for (I/O-free; the logger is passed in).
inline client_options make_client_options(const invocation& inv, logger_fn logger)
{
    client_options o;
    o.server_url = inv.server_url;
    o.address_overrides = inv.resolve;
    o.token = inv.token;
    o.client_identifier = inv.client_id;
    o.product = "plexbutler-cli";
    o.request_timeout = inv.timeout;
    // A connect that cannot finish within the request deadline is pointless to wait for longer.
    o.connect_timeout = std::min(o.connect_timeout, inv.timeout);
    o.ca_file = inv.ca_file;
    o.tls_verify = !inv.insecure;
    o.pinned_public_keys = inv.pinned_pubkeys;
    // The CLI runs one request at a time.
    o.max_connections = 1;
    o.retry.max_attempts = inv.retries + 1;
    o.logger = std::move(logger);
    return o;
}

/// @brief Runs `list`, `start`, `stop`, `start-all` or `stop-all` on one server; returns the exit code.
int run_command(const invocation& inv);

/// @brief Runs `list`, `start`, `stop`, `start-all` or `stop-all` on every server of `--servers FILE`
/// (fleet.cpp); `env` resolves the file's `env:NAME` tokens. Returns the worst exit code.
int run_fleet_command(const invocation& inv, const env_lookup& env);

/// @brief Runs `watch` on the servers of `--servers FILE`, or on the one `--server`, until SIGINT or
/// SIGTERM (fleet.cpp); returns the exit code (0 after a signal).
int run_watch(const invocation& inv, const env_lookup& env);

/// @brief A logger that writes each line on stderr, escaped, with `token` redacted (`--verbose`).
logger_fn stderr_logger(std::string token);

/// @brief Prints the `--insecure` warning on stderr when the invocation asks for it.
void warn_if_insecure(const invocation& inv);

/// @brief Runs `pin` (pin.cpp): prints the pin of the server's public key; returns the exit code.
int run_pin(const invocation& inv);

/// @brief Runs `demo`; returns the exit code.
int run_demo(const invocation& inv);

} // namespace plexbutler::cli

#endif
