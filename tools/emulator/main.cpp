// plexbutler-emulator: a Plex Media Server Butler API emulator on the command line.

#include "common/args.hpp"
#include "common/version.hpp"

#include <plexbutler/emulator/fleet.hpp>
#include <plexbutler/emulator/server.hpp>
#include <plexbutler/models.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view usage = R"(usage: plexbutler-emulator [options]

Serves the Butler API of Plex Media Server (GET/POST/DELETE /butler,
POST/DELETE /butler/{task}) plus GET /_emulator/state, until SIGINT or SIGTERM.
When ready, prints one line on stdout: "listening on http(s)://HOST:PORT".

options:
  --listen HOST:PORT       address to listen on (default 127.0.0.1:32400; IPv6 as [::1]:0;
                           port 0 picks a free port)
  --token TOKEN            require this X-Plex-Token (header or query); default: no auth
  --threads N              server threads (default 1)
  --tasks FILE             task catalogue as JSON in the GET /butler format
                           (default: the built-in catalogue of 25 tasks)
  --window HH:MM-HH:MM     daily maintenance window in local time (default 02:00-05:00;
                           equal ends = no window; start > end wraps past midnight)
  --task-duration-ms N     how long a started task runs (default 3000)
  --latency-ms N           delay added to every Butler response (default 0)
  --close-after N          close each connection after N responses (default 0 = never)
  --fail-rate P            answer 503 to this fraction of Butler requests, 0..1 (default 0)
  --seed N                 seed for --fail-rate and random scheduling (default 0 = random)
  --request-timeout-ms N   time allowed for a complete request head; also the
                           keep-alive idle timeout (default 10000)
  --tls-cert FILE          PEM certificate chain: serve HTTPS (needs --tls-key)
  --tls-key FILE           PEM private key
  --tls-self-signed NAME   serve HTTPS with a certificate made at start-up for NAME
  --tls-name NAME          serve HTTPS with a certificate for NAME (repeatable: one
                           certificate for all of them; wildcards such as *.example.test
                           and IP addresses allowed) issued by a certificate authority made
                           at start-up; the server presents both certificates
  --tls-plex-direct HASH   be a Plex server with machine hash HASH (32 lower-case hex
                           digits): HTTPS with a certificate for *.HASH.plex.direct issued as
                           for --tls-name, and "listening on" names the server by its
                           plex.direct name, https://127-0-0-1.HASH.plex.direct:PORT, which
                           plexbutler reaches without DNS (not with --fleet)
  --tls-write-ca FILE      write the certificate clients trust (PEM) to FILE: the one of
                           --tls-self-signed, or the authority of --tls-name/--tls-plex-direct
  --token-env NAME         require the token held by environment variable NAME (so it is
                           not on the command line); exclusive with --token
  --quiet                  no per-request log on stderr (tokens are always redacted)
  --help                   show this help
  --version                show the versions of the emulator, Boost and OpenSSL

fleet options (many independent emulated servers in one process, on --threads threads):
  --fleet N                serve N servers, each with its own tasks, state and counters;
                           prints "listening on URL" for each (or see --write-servers)
  --addressing MODE        ports (default): server i listens on its own port of the --listen
                           host: free ports when PORT is 0 (the default with --fleet), else
                           PORT+i; loopback: one socket listens on 0.0.0.0:PORT (--listen
                           must then be 0.0.0.0:PORT) and server i is the address 127.0.x.y,
                           x = 1 + i / 254, y = 1 + i % 254 (half the file descriptors);
                           connections to other addresses are reset
  --token-pattern PATTERN  server i requires PATTERN with every {i} replaced by i;
                           exclusive with --token and --token-env
  --write-servers FILE     write the servers file and print one line, "fleet of N servers
                           listening, servers in FILE", instead of the URLs; one line per
                           server, "URL TOKEN-SOURCE ID", TOKEN-SOURCE being env:NAME (with
                           --token-env), token:VALUE (--token, --token-pattern; the file is
                           then made with mode 0600) or - (no token)
  --fault-fraction P       give the --fault-* faults to this fraction of the servers (exactly
                           round(P x N) of them, chosen from --fault-seed)
  --fault-seed N           seed of that choice (default: --seed)
  --fault-down             those servers are down: their connections are refused (ports) or
                           reset (loopback)
  --fault-latency-ms N     their delay before every Butler response
  --fault-fail-rate P      their fraction of Butler requests answered 503, 0..1
  --fault-close-after N    they close each connection after N responses
  --fault-unauthorized     they answer 401 to every request, as for a wrong token
  With a TLS option, one certificate serves the fleet; with --addressing loopback and
  --tls-self-signed, each server presents its own certificate naming its address, issued
  by one certificate authority that --tls-write-ca writes.

exit status: 0 after a signal-initiated shutdown, 1 when the server cannot start,
2 on bad command-line arguments or a bad --tasks file.
)";

/// What the command line asks for: one server, or a fleet.
struct command_line {
    plexbutler::emulator::server_options server;
    std::optional<std::size_t> fleet;
    plexbutler::emulator::fleet_addressing addressing = plexbutler::emulator::fleet_addressing::ports;
    bool listen_given = false;
    std::string token_pattern;
    std::string token_env; // the variable's name
    std::string servers_file;
    plexbutler::emulator::fault_set faults;
    std::optional<double> fault_fraction;
    std::uint64_t fault_seed = 0;
    bool any_fault = false;
};

using plexbutler::tools::quoted;
using plexbutler::tools::usage_error;

[[noreturn]] void not_a_number(std::string_view flag, std::string_view text)
{
    throw usage_error(std::string(flag) + ": not a valid number: " + quoted(text));
}

template <class T>
T parse_number(std::string_view flag, std::string_view text)
{
    if (const auto value = plexbutler::tools::parse_whole<T>(text))
        return *value;
    not_a_number(flag, text);
}

// Any whole number of milliseconds that fits an unsigned, as before; callers check their own minimum.
std::chrono::milliseconds parse_ms(std::string_view flag, std::string_view text)
{
    using ms = std::chrono::milliseconds;
    if (const auto d = plexbutler::tools::parse_milliseconds(text, ms{0}, ms{std::numeric_limits<unsigned>::max()}))
        return *d;
    not_a_number(flag, text);
}

double parse_rate(std::string_view flag, std::string_view text)
{
    if (const auto d = plexbutler::tools::parse_decimal(text, 0.0, 1.0))
        return *d;
    throw usage_error(std::string(flag) + ": expected a number between 0 and 1, got " + quoted(text));
}

unsigned parse_hhmm(std::string_view text)
{
    if (text.size() != 5 || text[2] != ':')
        throw usage_error("--window: expected HH:MM-HH:MM");
    const auto h = parse_number<unsigned>("--window", text.substr(0, 2));
    const auto m = parse_number<unsigned>("--window", text.substr(3, 2));
    if (h > 23 || m > 59)
        throw usage_error("--window: hour must be 00-23 and minute 00-59");
    return h * 60 + m;
}

void parse_listen(std::string_view text, plexbutler::emulator::server_options& o)
{
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            throw usage_error("--listen: expected [IPv6]:PORT");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || colon == 0)
            throw usage_error("--listen: expected HOST:PORT");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            throw usage_error("--listen: write IPv6 addresses as [ADDR]:PORT");
    }
    o.listen_host = std::string(host);
    o.port = parse_number<std::uint16_t>("--listen", port);
}

std::vector<plexbutler::butler_task> load_tasks(const std::string& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in)
        throw usage_error("--tasks: cannot open " + file);
    std::ostringstream ss;
    ss << in.rdbuf();
    auto r = plexbutler::parse_task_list(ss.str());
    if (!r) {
        const auto& f = r.error();
        std::string why = f.diag.server_message.empty() ? f.code.message() : f.diag.server_message;
        throw usage_error("--tasks: " + file + ": " + why);
    }
    for (const auto& t : r->tasks)
        if (!t.name || t.name->empty())
            throw usage_error("--tasks: " + file + ": every task needs a name");
    return std::move(r->tasks);
}

/// A token must fit a header field and a whitespace-separated servers file.
bool visible_ascii(std::string_view text)
{
    return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool valid_env_name(std::string_view name)
{
    if (name.empty() || name.size() > 256 || (name.front() >= '0' && name.front() <= '9'))
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

command_line parse_args(int argc, char** argv, bool& help, bool& version)
{
    command_line cl;
    plexbutler::emulator::server_options& o = cl.server;
    o.port = 32400;
    o.quiet = false;
    help = false;
    version = false;
    plexbutler::tools::arg_reader reader(argc, argv, false);
    while (reader.more()) {
        const std::string_view flag = reader.next();
        auto value = [&] { return reader.required_value(); };
        if (flag == "--help" || flag == "-h") {
            help = true;
        } else if (flag == "--version") {
            version = true;
        } else if (flag == "--listen") {
            parse_listen(value(), o);
            cl.listen_given = true;
        } else if (flag == "--token") {
            o.token = std::string(value());
            if (o.token->empty())
                throw usage_error("--token: must not be empty");
            if (!visible_ascii(*o.token))
                throw usage_error("--token: only visible ASCII characters (no space or control character)");
        } else if (flag == "--token-env") {
            cl.token_env = std::string(value());
            if (!valid_env_name(cl.token_env))
                throw usage_error("--token-env: not a variable name: " + quoted(cl.token_env));
            const char* t = std::getenv(cl.token_env.c_str());
            if (t == nullptr || *t == '\0')
                throw usage_error("--token-env: the environment variable " + cl.token_env + " is not set or empty");
            if (!visible_ascii(t))
                throw usage_error("--token-env: the token in " + cl.token_env +
                                  " must be visible ASCII characters (no space or control character)");
            o.token = std::string(t);
        } else if (flag == "--fleet") {
            cl.fleet = parse_number<std::size_t>(flag, value());
            if (*cl.fleet == 0 || *cl.fleet > 65535)
                throw usage_error("--fleet: must be 1 to 65535");
        } else if (flag == "--addressing") {
            const auto v = value();
            if (v == "ports")
                cl.addressing = plexbutler::emulator::fleet_addressing::ports;
            else if (v == "loopback")
                cl.addressing = plexbutler::emulator::fleet_addressing::loopback_addresses;
            else
                throw usage_error("--addressing: expected ports or loopback, got " + quoted(v));
        } else if (flag == "--token-pattern") {
            cl.token_pattern = std::string(value());
            if (cl.token_pattern.find("{i}") == std::string::npos || !visible_ascii(cl.token_pattern))
                throw usage_error("--token-pattern: must contain {i} and only visible ASCII characters");
        } else if (flag == "--write-servers") {
            cl.servers_file = std::string(value());
            if (cl.servers_file.empty())
                throw usage_error("--write-servers: missing file name");
        } else if (flag == "--fault-fraction") {
            cl.fault_fraction = parse_rate(flag, value());
        } else if (flag == "--fault-seed") {
            cl.fault_seed = parse_number<std::uint64_t>(flag, value());
        } else if (flag == "--fault-down") {
            cl.faults.down = true;
            cl.any_fault = true;
        } else if (flag == "--fault-latency-ms") {
            cl.faults.latency = parse_ms(flag, value());
            cl.any_fault = true;
        } else if (flag == "--fault-fail-rate") {
            cl.faults.fail_rate = parse_rate(flag, value());
            cl.any_fault = true;
        } else if (flag == "--fault-close-after") {
            cl.faults.close_after = parse_number<unsigned>(flag, value());
            cl.any_fault = true;
        } else if (flag == "--fault-unauthorized") {
            cl.faults.unauthorized = true;
            cl.any_fault = true;
        } else if (flag == "--threads") {
            o.threads = parse_number<unsigned>(flag, value());
            if (o.threads == 0 || o.threads > 256)
                throw usage_error("--threads: must be 1 to 256");
        } else if (flag == "--tasks") {
            o.tasks = load_tasks(std::string(value()));
        } else if (flag == "--window") {
            const auto w = value();
            if (w.size() != 11 || w[5] != '-')
                throw usage_error("--window: expected HH:MM-HH:MM");
            o.window.start_minute = parse_hhmm(w.substr(0, 5));
            o.window.end_minute = parse_hhmm(w.substr(6, 5));
        } else if (flag == "--task-duration-ms") {
            o.task_duration = parse_ms(flag, value());
            if (o.task_duration.count() == 0)
                throw usage_error("--task-duration-ms: must be positive");
        } else if (flag == "--latency-ms") {
            o.latency = parse_ms(flag, value());
        } else if (flag == "--close-after") {
            o.close_after = parse_number<unsigned>(flag, value());
        } else if (flag == "--fail-rate") {
            o.fail_rate = parse_rate(flag, value());
        } else if (flag == "--seed") {
            o.seed = parse_number<std::uint64_t>(flag, value());
        } else if (flag == "--request-timeout-ms") {
            o.request_timeout = parse_ms(flag, value());
            if (o.request_timeout.count() == 0)
                throw usage_error("--request-timeout-ms: must be positive");
        } else if (flag == "--tls-cert") {
            o.tls_cert_file = std::string(value());
        } else if (flag == "--tls-key") {
            o.tls_key_file = std::string(value());
        } else if (flag == "--tls-self-signed") {
            o.tls_self_signed_name = std::string(value());
        } else if (flag == "--tls-name") {
            o.tls_names.emplace_back(value());
            if (o.tls_names.back().empty())
                throw usage_error("--tls-name: must not be empty");
        } else if (flag == "--tls-plex-direct") {
            o.tls_plex_direct_hash = std::string(value());
            if (o.tls_plex_direct_hash.size() != 32 ||
                !std::all_of(o.tls_plex_direct_hash.begin(), o.tls_plex_direct_hash.end(),
                             [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
                throw usage_error("--tls-plex-direct: the hash must be 32 lower-case hexadecimal digits, got " +
                                  quoted(o.tls_plex_direct_hash));
        } else if (flag == "--tls-write-ca") {
            o.tls_write_ca_file = std::string(value());
        } else if (flag == "--quiet") {
            o.quiet = true;
        } else {
            throw usage_error("unknown option " + quoted(flag) + " (see --help)");
        }
    }
    if (o.tls_cert_file.empty() != o.tls_key_file.empty())
        throw usage_error("--tls-cert and --tls-key go together");
    const bool named = !o.tls_names.empty() || !o.tls_plex_direct_hash.empty();
    if ((!o.tls_cert_file.empty() ? 1 : 0) + (o.tls_self_signed_name.empty() ? 0 : 1) + (named ? 1 : 0) > 1)
        throw usage_error("--tls-cert/--tls-key, --tls-self-signed and --tls-name/--tls-plex-direct are exclusive");
    if (!o.tls_write_ca_file.empty() && o.tls_self_signed_name.empty() && !named)
        throw usage_error("--tls-write-ca needs --tls-self-signed, --tls-name or --tls-plex-direct");
    if (cl.fleet && !o.tls_plex_direct_hash.empty())
        throw usage_error("--tls-plex-direct serves one server: not with --fleet (use --tls-name)");
    const int token_sources =
        (cl.token_env.empty() && o.token ? 1 : 0) + (cl.token_env.empty() ? 0 : 1) + (cl.token_pattern.empty() ? 0 : 1);
    if (token_sources > 1)
        throw usage_error("--token, --token-env and --token-pattern are exclusive");
    if (!cl.fleet) {
        for (const bool fleet_only :
             {!cl.token_pattern.empty(), !cl.servers_file.empty(), cl.fault_fraction.has_value(), cl.any_fault,
              cl.fault_seed != 0, cl.addressing != plexbutler::emulator::fleet_addressing::ports})
            if (fleet_only)
                throw usage_error(
                    "--addressing, --token-pattern, --write-servers and the --fault-* options need --fleet");
        return cl;
    }
    if (cl.any_fault != cl.fault_fraction.has_value())
        throw usage_error("--fault-fraction and the --fault-* faults go together");
    if (cl.addressing == plexbutler::emulator::fleet_addressing::loopback_addresses) {
        if (cl.listen_given && o.listen_host != "0.0.0.0")
            throw usage_error("--addressing loopback listens on 0.0.0.0: write --listen 0.0.0.0:PORT");
        if (*cl.fleet > plexbutler::emulator::max_loopback_servers)
            throw usage_error("--fleet: --addressing loopback reaches at most " +
                              std::to_string(plexbutler::emulator::max_loopback_servers) + " servers");
    }
    if (!cl.listen_given)
        o.port = 0;
    return cl;
}

/// Lets this process open as many files as it may (a fleet of N servers on N ports needs N
/// listening sockets plus one per connection).
void raise_file_limit()
{
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &lim);
    }
}

/// The servers file: "URL TOKEN-SOURCE ID" per server, written to a temporary file beside `path`
/// (mode 0600 when it holds tokens, so no other user can read them) and renamed over it.
void write_servers_file(const command_line& cl, const plexbutler::emulator::fleet& f)
{
    const bool inline_tokens = cl.token_env.empty() && f.token(0).has_value();
    std::string text = "# plexbutler-emulator fleet: " + std::to_string(f.size()) + " servers over " +
                       (f.tls() ? "https" : "http") + "\n# URL TOKEN-SOURCE ID\n";
    for (std::size_t i = 0; i < f.size(); ++i) {
        text += f.url(i);
        if (!cl.token_env.empty())
            text += " env:" + cl.token_env;
        else if (const auto t = f.token(i))
            text += " token:" + *t;
        else
            text += " -";
        text += " " + f.id(i) + "\n";
    }
    const std::string tmp = cl.servers_file + ".tmp." + std::to_string(::getpid());
    const int fd =
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, inline_tokens ? 0600 : 0644);
    if (fd < 0)
        throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const std::string why = std::strerror(errno);
            ::close(fd);
            ::unlink(tmp.c_str());
            throw std::runtime_error("cannot write " + tmp + ": " + why);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0 || ::rename(tmp.c_str(), cl.servers_file.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        ::unlink(tmp.c_str());
        throw std::runtime_error("cannot write " + cl.servers_file + ": " + why);
    }
}

plexbutler::emulator::fleet_options fleet_options_of(const command_line& cl)
{
    plexbutler::emulator::fleet_options f;
    f.servers = *cl.fleet;
    f.addressing = cl.addressing;
    f.server = cl.server;
    f.token_pattern = cl.token_pattern;
    f.faults = cl.faults;
    f.fault_fraction = cl.fault_fraction.value_or(0.0);
    f.fault_seed = cl.fault_seed;
    return f;
}

/// Runs until SIGINT or SIGTERM; returns the signal. Signals are handled by their own io_context on
/// the main thread, so the servers' threads never run user-visible shutdown logic.
class signal_waiter {
public:
    signal_waiter() : signals_(ioc_, SIGINT, SIGTERM)
    {
        signals_.async_wait([this](boost::system::error_code ec, int sig) {
            if (!ec)
                received_ = sig;
        });
    }
    int wait()
    {
        ioc_.run();
        return received_;
    }

private:
    boost::asio::io_context ioc_{1};
    boost::asio::signal_set signals_;
    int received_ = 0;
};

int serve_one(const command_line& cl)
{
    signal_waiter signals;
    plexbutler::emulator::server srv(cl.server);
    std::cout << "listening on " << srv.url() << std::endl; // std::endl: the first line must be flushed
    const int received = signals.wait();
    srv.stop();
    if (!cl.server.quiet)
        std::cerr << "plexbutler-emulator: stopped on signal " << received << " after " << srv.requests_served()
                  << " requests\n";
    return 0;
}

int serve_fleet(const command_line& cl)
{
    signal_waiter signals;
    plexbutler::emulator::fleet f(fleet_options_of(cl));
    if (!cl.servers_file.empty()) {
        write_servers_file(cl, f);
        std::cout << "fleet of " << f.size() << " servers listening, servers in " << cl.servers_file << std::endl;
    } else {
        std::string lines;
        for (std::size_t i = 0; i < f.size(); ++i)
            lines += "listening on " + f.url(i) + "\n";
        std::cout << lines << std::flush;
    }
    const int received = signals.wait();
    f.stop();
    if (!cl.server.quiet)
        std::cerr << "plexbutler-emulator: stopped on signal " << received << " after " << f.requests_served()
                  << " requests to " << f.size() << " servers\n";
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    command_line cl;
    try {
        bool help = false;
        bool version = false;
        cl = parse_args(argc, argv, help, version);
        if (help) {
            std::cout << usage;
            return 0;
        }
        if (version) {
            std::cout << plexbutler::tools::version_text("plexbutler-emulator");
            return 0;
        }
    } catch (const usage_error& e) {
        std::cerr << "plexbutler-emulator: " << e.what() << "\n";
        return 2;
    }

    raise_file_limit();
    try {
        return cl.fleet ? serve_fleet(cl) : serve_one(cl);
    } catch (const std::invalid_argument& e) {
        std::cerr << "plexbutler-emulator: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "plexbutler-emulator: " << e.what() << "\n";
        return 1;
    }
}
