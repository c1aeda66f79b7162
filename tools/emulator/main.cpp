// plexbutler-emulator: a Plex Media Server Butler API emulator on the command line.

#include "common/args.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/models.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>
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
  --tls-write-ca FILE      with --tls-self-signed: write that certificate (PEM) to FILE
  --quiet                  no per-request log on stderr (tokens are always redacted)
  --help                   show this help

exit status: 0 after a signal-initiated shutdown, 1 when the server cannot start,
2 on bad command-line arguments or a bad --tasks file.
)";

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

plexbutler::emulator::server_options parse_args(int argc, char** argv, bool& help)
{
    plexbutler::emulator::server_options o;
    o.port = 32400;
    o.quiet = false;
    help = false;
    plexbutler::tools::arg_reader reader(argc, argv, false);
    while (reader.more()) {
        const std::string_view flag = reader.next();
        auto value = [&]() -> std::string_view {
            if (const auto v = reader.value())
                return *v;
            throw usage_error(std::string(flag) + ": missing value");
        };
        if (flag == "--help" || flag == "-h") {
            help = true;
        } else if (flag == "--listen") {
            parse_listen(value(), o);
        } else if (flag == "--token") {
            o.token = std::string(value());
            if (o.token->empty())
                throw usage_error("--token: must not be empty");
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
    if (!o.tls_cert_file.empty() && !o.tls_self_signed_name.empty())
        throw usage_error("--tls-cert/--tls-key and --tls-self-signed are exclusive");
    if (!o.tls_write_ca_file.empty() && o.tls_self_signed_name.empty())
        throw usage_error("--tls-write-ca needs --tls-self-signed");
    return o;
}

} // namespace

int main(int argc, char** argv)
{
    plexbutler::emulator::server_options opts;
    try {
        bool help = false;
        opts = parse_args(argc, argv, help);
        if (help) {
            std::cout << usage;
            return 0;
        }
    } catch (const usage_error& e) {
        std::cerr << "plexbutler-emulator: " << e.what() << "\n";
        return 2;
    }

    try {
        // Signals are handled by their own io_context on the main thread, so the server's
        // threads never run user-visible shutdown logic.
        boost::asio::io_context signals_ioc(1);
        boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);
        int received = 0;
        signals.async_wait([&](boost::system::error_code ec, int sig) {
            if (!ec)
                received = sig;
        });

        plexbutler::emulator::server srv(opts);
        std::cout << "listening on " << srv.url() << std::endl; // std::endl: the first line must be flushed
        signals_ioc.run();
        srv.stop();
        if (!opts.quiet)
            std::cerr << "plexbutler-emulator: stopped on signal " << received << " after " << srv.requests_served()
                      << " requests\n";
        return 0;
    } catch (const std::invalid_argument& e) {
        std::cerr << "plexbutler-emulator: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "plexbutler-emulator: " << e.what() << "\n";
        return 1;
    }
}
