#ifndef PLEXBUTLER_TOOLS_CLI_ARGS_HPP
#define PLEXBUTLER_TOOLS_CLI_ARGS_HPP

/// @file args.hpp
/// @brief Command-line parsing of `plexbutler`, without I/O (header-only so tests can include it).

#include "common/args.hpp"
#include "http/address_override.hpp"

#include <plexbutler/error.hpp>
#include <plexbutler/public_key_pin.hpp>
#include <plexbutler/version.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace plexbutler::cli {

/// @brief Process exit codes of `plexbutler` (documented in `--help`, docs/cli.md and the README).
namespace exit_code {
/// The command did what was asked.
inline constexpr int success = 0;
/// Anything else: HTTP 5xx, 400, cancelled, demo step misbehaved, internal error.
inline constexpr int failure = 1;
/// Bad command line (also an invalid task name, URL or token given by the user).
inline constexpr int usage = 2;
/// Unknown task (HTTP 404 on start).
inline constexpr int not_found = 3;
/// HTTP 401/403: token missing, wrong or without rights.
inline constexpr int unauthorized = 4;
/// Connect failure, timeout, connection closed early, TLS or certificate failure.
inline constexpr int network = 5;
/// The answer is not a valid Butler response (HTTP, limits, content type, JSON, redirect, undocumented status).
inline constexpr int protocol = 6;
} // namespace exit_code

/// @brief Maps a failure code to the process exit code.
inline int exit_code_for(boost::system::error_code ec) noexcept
{
    if (ec.category() != butler_category())
        return exit_code::failure;
    switch (static_cast<error>(ec.value())) {
    case error::invalid_task_name:
    case error::invalid_header_value:
    case error::invalid_server_url:
    case error::unknown_server:
    case error::invalid_options: return exit_code::usage;
    case error::not_found: return exit_code::not_found;
    case error::unauthorized: return exit_code::unauthorized;
    case error::connect_failed:
    case error::tls_handshake_failed:
    case error::certificate_verification_failed:
    case error::timeout:
    case error::connection_closed: return exit_code::network;
    case error::malformed_http:
    case error::header_too_large:
    case error::body_too_large:
    case error::unsupported_content_encoding:
    case error::unexpected_content_type:
    case error::json_decode_failed:
    case error::redirect_not_followed:
    case error::unexpected_status: return exit_code::protocol;
    case error::bad_request:
    case error::server_error:
    case error::cancelled:
    case error::too_many_waiters:
    case error::client_shut_down: return exit_code::failure;
    }
    return exit_code::failure;
}

/// @brief The sub-commands.
enum class command { none, list, start, stop, start_all, stop_all, demo, watch, pin };

/// @brief Default of `--concurrency`: requests in flight across a fleet.
inline constexpr std::size_t default_concurrency = 64;
/// @brief Default of `watch --interval-ms`: time between two polls of one server.
inline constexpr std::chrono::milliseconds default_watch_interval{10000};

/// @brief Everything the command line (and the environment) asked for.
struct invocation {
    /// `--server` / `PLEX_SERVER_URL`.
    std::string server_url = "http://127.0.0.1:32400";
    /// `--resolve HOST:PORT:ADDR[,ADDR...]` (repeatable): address overrides, as curl's
    /// (`client_options::address_overrides`).
    std::vector<std::string> resolve;
    /// `--token` / `PLEX_TOKEN`; never printed.
    std::string token;
    /// `--client-id`; empty means the library default.
    std::string client_id;
    /// `--timeout-ms`: deadline of each request attempt.
    std::chrono::milliseconds timeout{10000};
    /// `--retries`: extra attempts after a retryable failure.
    unsigned retries = 0;
    /// `--ca-file`: extra trusted CA certificates (PEM).
    std::string ca_file;
    /// `--insecure`: do not verify the server certificate.
    bool insecure = false;
    /// `--pinned-pubkey PIN[;PIN...]` (repeatable): the server key must match one of these pins.
    std::vector<std::string> pinned_pubkeys;
    /// `--verbose`: log requests and responses on stderr.
    bool verbose = false;
    /// `--help`.
    bool help = false;
    /// `--version`.
    bool version = false;
    /// The sub-command.
    command cmd = command::none;
    /// Task name of `start` / `stop`.
    std::string task;
    /// `--json`: JSON output (every command but `demo`).
    bool json = false;
    /// `--servers FILE`: run the command on every server of FILE (see servers_file.hpp).
    std::string servers_file;
    /// `--concurrency N`: requests in flight across the fleet (`fleet_options::max_in_flight`).
    std::size_t concurrency = default_concurrency;
    /// `watch --interval-ms N`: time between two polls of one server.
    std::chrono::milliseconds interval = default_watch_interval;

    /// @brief Whether the command runs on a fleet (`--servers`, or `watch`, which is always a fleet).
    bool fleet() const noexcept { return !servers_file.empty() || cmd == command::watch; }
};

/// @brief A command-line error; the message never contains the token.
using usage_error = tools::usage_error;

/// @brief Looks up an environment variable (injectable so parsing stays I/O-free).
using env_lookup = std::function<std::optional<std::string>(std::string_view)>;

/// @brief The `--help` text.
inline std::string usage_text()
{
    return R"usage(Usage: plexbutler [OPTIONS] COMMAND [ARGS]
       plexbutler --servers FILE [OPTIONS] COMMAND [ARGS]

Manage the Butler (scheduled maintenance) tasks of a Plex Media Server, or of many.

Commands:
  list [--json]     List the tasks (an aligned table, or a JSON array with --json)
  start TASK        Start one task: prints "started TASK" or "already running TASK"
                    ("started": the server accepted it; it may only be scheduled)
  stop TASK         Stop one task: prints "stopped TASK" or "not running TASK"
  start-all         Start all enabled tasks
  stop-all          Stop all running tasks
                    start, stop, start-all, stop-all with --json print one JSON object:
                    {"outcome":"started"|"already_running"|"stopped"|"not_running"|"accepted",
                    "status":200[,"task":TASK]}
  watch [--interval-ms N]
                    Poll the server(s) every N ms (default 10000) and print each change
                    (reachable, unreachable, task added, removed or changed) until
                    SIGINT/SIGTERM; --json prints one JSON object a line
  demo              Start an in-process Butler emulator and walk through every operation
  pin               Print the pin of the server's public key (sha256//BASE64) for
                    --pinned-pubkey. The key is read without verifying anything (trust on
                    first use), so this works against a self-signed server without
                    --insecure: run it where no one can interfere, or compare the pin with
                    the server's key through another channel, before relying on it

Fleets (--servers FILE):
  list, start, stop, start-all and stop-all run on every server of FILE, at most
  --concurrency requests at a time, and print one table (list) or line (start/stop) per
  server, then "N servers: n ok, n failed (by kind)"; a progress bar is drawn on stderr when
  it is a terminal. --json prints one JSON object a line per server instead:
  {"id":...,"ok":true,"result":...} or {"id":...,"ok":false,"error":{"code":...,"message":...}}.
  The exit code is the highest exit code of any server (0 when all succeeded).
  FILE has one server a line: URL TOKEN-SOURCE [ID], where TOKEN-SOURCE is env:NAME (the
  token is in environment variable NAME), token:VALUE (inline: FILE must then not be
  accessible by group or others, chmod 600 FILE) or - (no token); ID defaults to URL;
  '#' starts a comment. --token is refused with --servers.

Options:
  --server URL      Server URL (env PLEX_SERVER_URL; default http://127.0.0.1:32400)
  --resolve HOST:PORT:ADDR[,ADDR...]
                    Connect to ADDR (IPv6 in brackets) for HOST:PORT instead of asking DNS,
                    as curl's --resolve; the certificate is still verified for HOST.
                    Repeatable. (plex.direct names, https://192-168-1-10.HASH.plex.direct,
                    connect to the address they encode without DNS in any case.)
  --token TOKEN     X-Plex-Token, at least 8 characters (env PLEX_TOKEN, preferred:
                    arguments are visible to other users of this machine). Never printed.
  --client-id ID    X-Plex-Client-Identifier (default: stable per machine)
  --timeout-ms N    Deadline of each request in milliseconds (default 10000)
  --retries N       Retry failed requests (connect errors, timeouts, 408/429/5xx) N times (default 0)
  --ca-file FILE    Also trust the CA certificates in FILE (PEM) for https:// servers
  --insecure        Do not verify the server certificate (prints a warning)
  --pinned-pubkey PIN[;PIN...]
                    Accept only a server whose public key matches one of these pins
                    (sha256//BASE64, as curl's --pinnedpubkey; may be repeated; see the
                    pin command). Without --ca-file, a matching key is the whole proof and
                    a self-signed certificate is accepted; with --ca-file, the certificate
                    is verified too
  --verbose         Log each request and response on stderr (token redacted)
  --servers FILE    Run the command on every server listed in FILE (see Fleets)
  --concurrency N   Requests in flight across a fleet (default 64)
  --json            JSON output (every command but demo and pin)
  --help            Show this help and exit
  --version         Show the version and exit

Exit codes:
  0  success
  1  other failure (HTTP 5xx or 400, demo step misbehaved, internal error)
  2  usage error (bad option, invalid task name, URL, token or servers file)
  3  not found (unknown task)
  4  unauthorized (HTTP 401/403: token missing or wrong)
  5  network error (connect failed, timeout, connection closed, TLS or certificate failure)
  6  protocol error (malformed HTTP, response too large, wrong content type or encoding,
     invalid JSON, redirect, undocumented HTTP status)
)usage";
}

namespace detail {

inline std::optional<command> parse_command(std::string_view word)
{
    if (word == "list")
        return command::list;
    if (word == "start")
        return command::start;
    if (word == "stop")
        return command::stop;
    if (word == "start-all")
        return command::start_all;
    if (word == "stop-all")
        return command::stop_all;
    if (word == "demo")
        return command::demo;
    if (word == "watch")
        return command::watch;
    if (word == "pin")
        return command::pin;
    return std::nullopt;
}

} // namespace detail

/// @brief Parses `args` (without argv[0]); options may appear before or after the command.
///
/// Environment variables are read through `env` first and overridden by options.
/// @throws usage_error with a one-line message on any error.
inline invocation parse_args(const std::vector<std::string>& args, const env_lookup& env)
{
    invocation inv;
    std::optional<std::string> env_server_url;
    std::optional<std::string> env_token;
    if (env) {
        if (auto v = env("PLEX_SERVER_URL"); v && !v->empty())
            env_server_url = std::move(v);
        env_token = env("PLEX_TOKEN");
    }
    bool server_option = false;
    bool token_option = false;
    bool concurrency_option = false;
    bool interval_option = false;

    std::vector<std::string> positional;
    tools::arg_reader reader(args, true);
    while (reader.more()) {
        const std::string_view arg = reader.next();
        if (arg.size() < 2 || !arg.starts_with("--")) {
            if (arg.size() > 1 && arg[0] == '-')
                throw usage_error("unknown option " + tools::quoted(arg));
            positional.emplace_back(arg);
            continue;
        }
        if (arg == "--" && !reader.has_inline_value()) {
            for (std::string_view word : reader.rest())
                positional.emplace_back(word);
            break;
        }
        // Never echo an inline value: "--token=secret" misspelt as "--tokn=secret" must not print the secret.
        const std::string name(arg);
        auto value = [&]() -> std::string {
            if (auto v = reader.value())
                return std::string(*v);
            throw usage_error(name + " needs a value");
        };
        auto no_value = [&] {
            if (reader.has_inline_value())
                throw usage_error(name + " takes no value");
        };
        auto number = [&](unsigned long min, unsigned long max) {
            if (auto n = tools::parse_whole<unsigned long>(value(), min, max))
                return *n;
            throw usage_error(name + " expects a whole number from " + std::to_string(min) + " to " +
                              std::to_string(max));
        };

        if (name == "--server") {
            inv.server_url = value();
            server_option = true;
            if (inv.server_url.empty())
                throw usage_error("--server needs a non-empty URL");
        } else if (name == "--resolve") {
            inv.resolve.push_back(value());
        } else if (name == "--token") {
            inv.token = value();
            token_option = true;
        } else if (name == "--servers") {
            inv.servers_file = value();
            if (inv.servers_file.empty())
                throw usage_error("--servers needs a file name");
        } else if (name == "--concurrency") {
            inv.concurrency = static_cast<std::size_t>(number(1, 100000));
            concurrency_option = true;
        } else if (name == "--interval-ms") {
            inv.interval = std::chrono::milliseconds(number(100, 86400000));
            interval_option = true;
        } else if (name == "--client-id")
            inv.client_id = value();
        else if (name == "--timeout-ms")
            inv.timeout = std::chrono::milliseconds(number(1, 3600000));
        else if (name == "--retries")
            inv.retries = static_cast<unsigned>(number(0, 100));
        else if (name == "--ca-file") {
            inv.ca_file = value();
            if (inv.ca_file.empty())
                throw usage_error("--ca-file needs a file name");
        } else if (name == "--insecure") {
            no_value();
            inv.insecure = true;
        } else if (name == "--pinned-pubkey") {
            // curl's form: several pins separated by ';'.
            const std::string pins = value();
            std::string_view rest = pins;
            for (;;) {
                const auto semi = rest.find(';');
                const std::string_view pin = rest.substr(0, semi);
                if (!is_public_key_pin(pin))
                    throw usage_error("--pinned-pubkey: " + tools::quoted(pin) +
                                      " is not a pin: expected sha256// and 44 base64 characters ending in '=' "
                                      "(plexbutler pin prints one)");
                inv.pinned_pubkeys.emplace_back(pin);
                if (semi == std::string_view::npos)
                    break;
                rest.remove_prefix(semi + 1);
            }
        } else if (name == "--verbose") {
            no_value();
            inv.verbose = true;
        } else if (name == "--help") {
            no_value();
            inv.help = true;
        } else if (name == "--version") {
            no_value();
            inv.version = true;
        } else if (name == "--json") {
            no_value();
            inv.json = true;
        } else {
            throw usage_error("unknown option " + tools::quoted(name));
        }
    }

    if (inv.help || inv.version)
        return inv;
    // Environment first, options override; a fleet takes its servers and tokens from its file.
    const bool servers = !inv.servers_file.empty();
    if (servers && server_option)
        throw usage_error("--server and --servers cannot be combined");
    if (servers && token_option)
        throw usage_error("--token cannot be used with --servers: tokens are never given on the command line for a "
                          "fleet; put env:NAME or token:VALUE in the servers file");
    if (!servers) {
        if (!server_option && env_server_url)
            inv.server_url = *env_server_url;
        if (!token_option && env_token)
            inv.token = *env_token;
    }
    if (positional.empty())
        throw usage_error("missing command (list, start, stop, start-all, stop-all, watch, demo, pin)");
    auto cmd = detail::parse_command(positional[0]);
    if (!cmd)
        throw usage_error("unknown command " + tools::quoted(positional[0]));
    inv.cmd = *cmd;
    std::size_t expected = 1;
    if (inv.cmd == command::start || inv.cmd == command::stop) {
        if (positional.size() < 2)
            throw usage_error(positional[0] + " needs a TASK name");
        inv.task = positional[1];
        expected = 2;
    }
    if (positional.size() > expected)
        throw usage_error("unexpected argument " + tools::quoted(positional[expected]));
    if (inv.cmd == command::demo && servers)
        throw usage_error("demo cannot be used with --servers");
    if (inv.cmd == command::pin && servers)
        throw usage_error("pin cannot be used with --servers: it reads the key of one --server");
    if (inv.json && inv.cmd == command::demo)
        throw usage_error("--json is not valid with demo");
    if (inv.json && inv.cmd == command::pin)
        throw usage_error("--json is not valid with pin: it prints the pin alone");
    if (concurrency_option && !inv.fleet())
        throw usage_error("--concurrency is only valid with --servers or watch");
    try {
        (void)plexbutler::detail::parse_address_overrides(inv.resolve); // the client's own check, once
    } catch (const std::invalid_argument& e) {
        throw usage_error(std::string("--resolve: ") + e.what());
    }
    if (interval_option && inv.cmd != command::watch)
        throw usage_error("--interval-ms is only valid with watch");
    // redact() keeps a shorter token out of a message only where it stands alone (error.hpp); the
    // demo uses its own tokens.
    if (inv.cmd != command::demo && !inv.token.empty() && inv.token.size() < redact_anywhere_length)
        throw usage_error("the token must have at least " + std::to_string(redact_anywhere_length) +
                          " characters (a Plex token has about 20)");
    return inv;
}

} // namespace plexbutler::cli

#endif
