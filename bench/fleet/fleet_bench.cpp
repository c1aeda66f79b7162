// plexbutler-fleet-bench: one plexbutler::fleet over N servers, on one thread. Measures building
// the clients, the first sweep (get_butler_tasks on every server: it connects), steady sweeps over
// the connected fleet, memory per connected idle server, an idle window, and optionally the poller
// and TLS session resumption after idle eviction. Prints exactly one JSON line on stdout (the keys
// are described in docs/performance.md, "Fleet").

#include "alloc_counter.hpp"

#include "common/args.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/fleet.hpp>
#include <plexbutler/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using plexbutler::tools::quoted;
using plexbutler::tools::usage_error;

namespace {

constexpr std::string_view usage_text =
    "usage: plexbutler-fleet-bench --servers FILE [--token TOKEN] [--ca-file PEM]\n"
    "                              [--max-in-flight M] [--connections K] [--sweeps S] [--idle-s I]\n"
    "                              [--settle-s D] [--poll-s W] [--poll-interval-ms P]\n"
    "                              [--sparse-servers Q] [--resume-servers R] [--resume-idle-ms E]\n"
    "                              [--connect-timeout-ms T] [--request-timeout-ms T] [--keep-buffers]\n"
    "\n"
    "Builds one plexbutler::fleet over the servers of FILE on one thread and measures, in order:\n"
    "  build      adding every server (time, CPU, memory per client)\n"
    "  first      get_butler_tasks() on every server: every connection is opened\n"
    "  memory     RSS (all, and anonymous: without the file-backed code pages), and malloc'd\n"
    "             bytes per connected idle server, right after the sweep and\n"
    "             after D seconds of idling (--settle-s; default: long enough for idle\n"
    "             connections to release their buffers)\n"
    "  steady     S more sweeps over the connected fleet (default 5)\n"
    "  idle       I seconds with every connection idle and no poll, D seconds after the last\n"
    "             sweep (default 1; 0: skip)\n"
    "  poll       with --poll-s W: the poller at an interval of P ms (default 5000) for one\n"
    "             interval of warm-up, then W seconds measured: CPU per poll, wake-ups per poll;\n"
    "             then the same with all but Q servers removed (default 4; 0: skip): CPU\n"
    "             and wake-ups per second of a poller that is mostly between polls\n"
    "  resume     https only, R servers (default min(N, 1000); 0: skip): plain clients with an\n"
    "             idle timeout of E ms (default 300) sweep, wait until their connections are\n"
    "             evicted, sweep again, and count the TLS handshakes that resumed a session\n"
    "\n"
    "FILE: one server a line, 'URL [TOKEN-SOURCE [ID]]' (the servers file of plexbutler and\n"
    "plexbutler-emulator --write-servers). TOKEN-SOURCE is env:NAME, token:VALUE or '-' (none);\n"
    "without it the line uses --token, else the environment variable PLEX_TOKEN. '#' starts a\n"
    "comment. The ID defaults to the URL. Tokens are never printed.\n"
    "--max-in-flight: the fleet's limit on requests in flight (default: every server at once).\n"
    "--connections: pool size of each server (default: the fleet's default).\n"
    "--ca-file: PEM file of CAs trusted in addition to the system store (fleet defaults).\n"
    "--connect-timeout-ms, --request-timeout-ms: client timeouts (default: the library's).\n"
    "--keep-buffers: connections keep their buffers between requests (for the idle-release delay)\n"
    "instead of freeing them as each request ends (fleet_options::release_buffers_after_request).\n"
    "Prints one JSON line; exit status 0 when every request succeeded, 1 otherwise, 2 on a bad\n"
    "command line.\n";

struct bench_config {
    std::string servers_file;
    std::optional<std::string> token; // --token, else PLEX_TOKEN
    std::string ca_file;
    std::size_t max_in_flight = 0; // 0: every server at once
    std::size_t connections = 0;   // 0: fleet_options::defaults
    unsigned sweeps = 5;
    double idle_s = 1.0;
    double poll_s = 0.0; // 0: no poller phase
    std::chrono::milliseconds poll_interval{5000};
    std::size_t sparse_servers = 4;            // servers kept for the sparse poller window; 0: skip it
    std::optional<std::size_t> resume_servers; // default min(N, 1000)
    std::chrono::milliseconds resume_idle{300};
    std::optional<std::chrono::milliseconds> connect_timeout;
    std::optional<std::chrono::milliseconds> request_timeout;
    std::optional<double> settle_s; // default: default_settle()
    bool keep_buffers = false;      // fleet_options::release_buffers_after_request = false
    bool help = false;
};

template <class T>
T parse_integer(std::string_view flag, std::string_view text, T min)
{
    if (const auto value = plexbutler::tools::parse_whole<T>(text, min))
        return *value;
    throw usage_error(std::string(flag) + ": expected an integer >= " + std::to_string(min) + ", got " + quoted(text));
}

double parse_seconds(std::string_view flag, std::string_view text)
{
    if (const auto s = plexbutler::tools::parse_seconds(text, 0s, 86400s))
        return s->count();
    throw usage_error(std::string(flag) + ": expected a number of seconds >= 0, got " + quoted(text));
}

std::chrono::milliseconds parse_ms(std::string_view flag, std::string_view text)
{
    if (const auto ms = plexbutler::tools::parse_milliseconds(text, 1ms, std::chrono::milliseconds(86'400'000)))
        return *ms;
    throw usage_error(std::string(flag) + ": expected milliseconds >= 1, got " + quoted(text));
}

bench_config parse_args(int argc, char** argv)
{
    bench_config cfg;
    plexbutler::tools::arg_reader reader(argc, argv, false);
    while (reader.more()) {
        const std::string_view flag = reader.next();
        if (flag == "--help" || flag == "-h") {
            cfg.help = true;
            return cfg;
        }
        if (flag == "--keep-buffers") {
            cfg.keep_buffers = true;
            continue;
        }
        const std::string_view value = reader.required_value();
        if (flag == "--servers")
            cfg.servers_file = value;
        else if (flag == "--token")
            cfg.token = std::string(value);
        else if (flag == "--ca-file")
            cfg.ca_file = value;
        else if (flag == "--max-in-flight")
            cfg.max_in_flight = parse_integer<std::size_t>(flag, value, 1);
        else if (flag == "--connections")
            cfg.connections = parse_integer<std::size_t>(flag, value, 1);
        else if (flag == "--sweeps")
            cfg.sweeps = parse_integer<unsigned>(flag, value, 1);
        else if (flag == "--idle-s")
            cfg.idle_s = parse_seconds(flag, value);
        else if (flag == "--settle-s")
            cfg.settle_s = parse_seconds(flag, value);
        else if (flag == "--poll-s")
            cfg.poll_s = parse_seconds(flag, value);
        else if (flag == "--poll-interval-ms")
            cfg.poll_interval = parse_ms(flag, value);
        else if (flag == "--sparse-servers")
            cfg.sparse_servers = parse_integer<std::size_t>(flag, value, 0);
        else if (flag == "--resume-servers")
            cfg.resume_servers = parse_integer<std::size_t>(flag, value, 0);
        else if (flag == "--resume-idle-ms")
            cfg.resume_idle = parse_ms(flag, value);
        else if (flag == "--connect-timeout-ms")
            cfg.connect_timeout = parse_ms(flag, value);
        else if (flag == "--request-timeout-ms")
            cfg.request_timeout = parse_ms(flag, value);
        else
            throw usage_error("unknown flag " + quoted(flag));
    }
    if (cfg.servers_file.empty())
        throw usage_error("--servers is required");
    if (!cfg.token) {
        if (const char* env = std::getenv("PLEX_TOKEN"))
            cfg.token = std::string(env);
    }
    return cfg;
}

// ---- the servers file ---------------------------------------------------------------------

struct server_line {
    std::string url;
    std::string token;
    std::string id;
};

std::vector<server_line> read_servers(const std::string& path, const std::optional<std::string>& default_token)
{
    std::ifstream in(path);
    if (!in)
        throw usage_error("--servers: cannot open " + quoted(path));
    std::vector<server_line> servers;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (const auto hash = line.find('#'); hash != std::string::npos)
            line.erase(hash);
        std::istringstream words(line);
        std::vector<std::string> fields;
        for (std::string w; words >> w;)
            fields.push_back(std::move(w));
        if (fields.empty())
            continue;
        const std::string where = quoted(path) + ":" + std::to_string(number) + ": ";
        if (fields.size() > 3)
            throw usage_error(where + "expected 'URL [TOKEN-SOURCE [ID]]'");
        server_line s;
        s.url = fields[0];
        if (fields.size() < 2) {
            if (!default_token)
                throw usage_error(where + "no token source, and neither --token nor PLEX_TOKEN is set");
            s.token = *default_token;
        } else if (fields[1] == "-") {
        } else if (fields[1].starts_with("env:")) {
            const char* env = std::getenv(fields[1].c_str() + 4);
            if (!env)
                throw usage_error(where + "environment variable " + quoted(fields[1].substr(4)) + " is not set");
            s.token = env;
        } else if (fields[1].starts_with("token:")) {
            s.token = fields[1].substr(6);
        } else {
            throw usage_error(where + "the token source must be env:NAME, token:VALUE or '-'"); // never echoes it
        }
        s.id = fields.size() == 3 ? fields[2] : s.url;
        servers.push_back(std::move(s));
    }
    if (servers.empty())
        throw usage_error("--servers: " + quoted(path) + " lists no server");
    return servers;
}

std::string scheme_of(const std::vector<server_line>& servers)
{
    std::size_t https = 0;
    for (const auto& s : servers)
        https += s.url.starts_with("https://") ? std::size_t{1} : std::size_t{0};
    return https == servers.size() ? "https" : https == 0 ? "http" : "mixed";
}

// How long the fleet idles after a sweep before its idle memory (or idle CPU) is measured: long
// enough for idle connections to release their buffers when the client does that.
template <class O>
concept releases_idle_buffers = requires(const O& o)
{
    o.release_idle_buffers_after;
};

template <class O>
std::chrono::duration<double> default_settle(const O& o)
{
    if constexpr (releases_idle_buffers<O>)
        return o.release_idle_buffers_after + 1s;
    return 500ms;
}

// ---- measuring ----------------------------------------------------------------------------

struct sample {
    std::chrono::steady_clock::time_point at;
    std::uint64_t cpu_us = 0;
    std::uint64_t wakeups = 0; // voluntary context switches: the thread slept and was woken
    std::uint64_t allocations = 0;
};

sample take_sample()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const auto us = [](const timeval& tv) {
        return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(tv.tv_usec);
    };
    sample s;
    s.at = std::chrono::steady_clock::now();
    s.cpu_us = us(ru.ru_utime) + us(ru.ru_stime);
    s.wakeups = static_cast<std::uint64_t>(ru.ru_nvcsw);
    s.allocations = plexbutler::bench::allocation_count();
    return s;
}

double seconds_between(const sample& a, const sample& b) { return std::chrono::duration<double>(b.at - a.at).count(); }

double highest_rss = 0; // of the measurements: the kernel's high-water mark can lag behind them

struct memory {
    double rss = 0;  // bytes resident
    double anon = 0; // bytes resident that are not file-backed: the program's code pages, faulted in
                     // once whatever the number of servers (2.6 MiB by the first server), are not
    double heap = 0; // bytes malloc'd and not freed (mallinfo2: arenas + mmapped chunks)
};

// Freed heap is returned to the system first, so that RSS shows what is live, not what glibc keeps.
// Opened once, before the fleet: at 10,000 servers the process may have no descriptor left to open it.
int statm_fd()
{
    static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    return fd;
}

memory measure_memory()
{
    ::malloc_trim(0);
    memory m;
    char buf[128] = {};
    if (::pread(statm_fd(), buf, sizeof buf - 1, 0) <= 0)
        throw std::runtime_error("cannot read /proc/self/statm");
    unsigned long long pages_total = 0, pages_resident = 0, pages_shared = 0; // shared: file-backed resident
    if (std::sscanf(buf, "%llu %llu %llu", &pages_total, &pages_resident, &pages_shared) != 3)
        throw std::runtime_error("cannot parse /proc/self/statm");
    const auto page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    m.rss = static_cast<double>(pages_resident) * page;
    m.anon = static_cast<double>(pages_resident - std::min(pages_shared, pages_resident)) * page;
    highest_rss = std::max(highest_rss, m.rss);
    const struct mallinfo2 mi = ::mallinfo2();
    m.heap = static_cast<double>(mi.uordblks) + static_cast<double>(mi.hblkhd);
    return m;
}

// Peak RSS: the kernel's high-water mark (ru_maxrss), or a measurement above it.
// Descriptors open now (without opening one: a probe of every number below the limit).
std::size_t open_descriptors()
{
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    const auto limit = std::min<rlim_t>(rl.rlim_cur, 1u << 20);
    std::size_t n = 0;
    for (rlim_t fd = 0; fd < limit; ++fd)
        n += ::fcntl(static_cast<int>(fd), F_GETFD) != -1 ? 1u : 0u;
    return n;
}

double peak_rss_bytes()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return std::max(highest_rss, static_cast<double>(ru.ru_maxrss) * 1024.0); // ru_maxrss: KiB on Linux
}

constexpr double kib = 1024.0;
constexpr double mib = 1024.0 * 1024.0;

// The JSON line, written by hand: fixed precision and keys in a stable order.
class json_line {
public:
    void number(std::string_view key, double v, int decimals)
    {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        add(key, buf);
    }
    void integer(std::string_view key, std::uint64_t v) { add(key, std::to_string(v)); }
    void numbers(std::string_view key, const std::vector<double>& vs, int decimals)
    {
        std::string list = "[";
        for (const double v : vs) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%s%.*f", list.size() > 1 ? "," : "", decimals, v);
            list += buf;
        }
        add(key, list + "]");
    }
    void text(std::string_view key, std::string_view v) { add(key, "\"" + std::string(v) + "\""); } // ASCII only
    void null(std::string_view key) { add(key, "null"); }
    std::string str() const { return "{" + body_ + "}"; }

private:
    void add(std::string_view key, const std::string& value)
    {
        if (!body_.empty())
            body_ += ',';
        body_ += '"';
        body_ += key;
        body_ += "\":";
        body_ += value;
    }
    std::string body_;
};

// ---- running the io_context ----------------------------------------------------------------

// Runs `ctx` until `done` is set by a handler (one thread: this one).
void run_until(asio::io_context& ctx, const bool& done)
{
    ctx.restart();
    while (!done)
        ctx.run_one();
}

void run_for(asio::io_context& ctx, std::chrono::duration<double> d)
{
    bool done = false;
    asio::steady_timer timer(ctx);
    timer.expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(d));
    timer.async_wait([&done](boost::system::error_code) { done = true; });
    run_until(ctx, done);
}

void spawn_and_run(asio::io_context& ctx, asio::awaitable<void> a)
{
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(ctx, std::move(a), [&done, &error](std::exception_ptr e) {
        error = e;
        done = true;
    });
    run_until(ctx, done);
    if (error)
        std::rethrow_exception(error);
}

// ---- sweeps ------------------------------------------------------------------------------

struct failures {
    std::size_t count = 0;
    std::string first;

    void note(std::string why)
    {
        if (count++ == 0)
            first = std::move(why);
    }
};

// A response that counts as a success: 200 with a non-empty task list.
void check(const plexbutler::result<plexbutler::tasks_response>& r, failures& f)
{
    if (!r)
        f.note(r.error().message());
    else if (r->status != 200 || r->content.tasks.empty())
        f.note("status " + std::to_string(r->status) + " with " + std::to_string(r->content.tasks.size()) + " tasks");
}

// One fleet sweep; the results are destroyed before it returns, so their cost is the sweep's.
asio::awaitable<void> fleet_sweep(plexbutler::fleet& fleet, failures& out)
{
    plexbutler::fleet_call_options all;
    auto op = fleet.get_butler_tasks(std::move(all));
    auto results = co_await std::move(op);
    for (const auto& r : results)
        check(r.value, out);
}

struct timed {
    double wall_s = 0;
    double cpu_us = 0;
    double allocations = 0;
};

timed measure(const sample& a, const sample& b)
{
    return {seconds_between(a, b), static_cast<double>(b.cpu_us - a.cpu_us),
            static_cast<double>(b.allocations - a.allocations)};
}

timed run_fleet_sweep(asio::io_context& ctx, plexbutler::fleet& fleet, failures& fails)
{
    const sample a = take_sample();
    spawn_and_run(ctx, fleet_sweep(fleet, fails));
    const sample b = take_sample();
    return measure(a, b);
}

// ---- the poller ---------------------------------------------------------------------------

struct event_counts {
    std::array<std::uint64_t, 5> by_kind{};
    bool done = false;
};

asio::awaitable<void> consume_events(plexbutler::fleet& fleet, event_counts& counts)
{
    for (;;) {
        auto op = fleet.try_next_event();
        auto e = co_await std::move(op);
        if (!e)
            break; // the fleet shut down
        ++counts.by_kind.at(static_cast<std::size_t>(e->kind));
    }
    counts.done = true;
}

// ---- TLS session resumption after idle eviction (plain clients: pool_stats per client) --------

// The counters that the pool reports once TLS sessions are resumed; detected at compile time so
// that this benchmark builds against a library without them (it then reports null).
template <class S>
concept tls_counters = requires(const S& s)
{
    s.tls_handshakes;
    s.tls_resumed;
};

struct tls_count {
    std::uint64_t handshakes = 0;
    std::uint64_t resumed = 0;
    std::uint64_t connections = 0;
};

template <class S>
void add_stats(const S& s, tls_count& c)
{
    c.connections += s.connections_created;
    if constexpr (tls_counters<S>) {
        c.handshakes += s.tls_handshakes;
        c.resumed += s.tls_resumed;
    }
}

struct client_sweep {
    std::vector<std::unique_ptr<plexbutler::client>>* clients = nullptr;
    std::size_t next = 0;
    std::size_t running = 0;
    failures fails;
};

asio::awaitable<void> client_sweep_worker(client_sweep& s)
{
    while (s.next < s.clients->size()) {
        plexbutler::client& c = *(*s.clients)[s.next++];
        auto op = c.try_get_butler_tasks();
        auto r = co_await std::move(op);
        check(r, s.fails);
    }
}

std::size_t run_client_sweep(asio::io_context& ctx, std::vector<std::unique_ptr<plexbutler::client>>& clients,
                             std::size_t in_flight)
{
    client_sweep s;
    s.clients = &clients;
    const std::size_t workers = std::min(in_flight, clients.size());
    bool done = workers == 0;
    for (std::size_t i = 0; i < workers; ++i) {
        ++s.running;
        asio::co_spawn(ctx, client_sweep_worker(s), [&s, &done](std::exception_ptr e) {
            if (e)
                s.fails.note("exception in a sweep worker");
            done = --s.running == 0;
        });
    }
    run_until(ctx, done);
    if (s.fails.count != 0)
        std::cerr << "plexbutler-fleet-bench: resume phase: " << s.fails.count
                  << " requests failed; first: " << s.fails.first << "\n";
    return s.fails.count;
}

tls_count total_stats(const std::vector<std::unique_ptr<plexbutler::client>>& clients)
{
    tls_count c;
    for (const auto& cl : clients)
        add_stats(cl->stats(), c);
    return c;
}

} // namespace

int main(int argc, char** argv)
{
    bench_config cfg;
    std::vector<server_line> servers;
    try {
        cfg = parse_args(argc, argv);
        if (cfg.help) {
            std::cout << usage_text;
            return 0;
        }
        servers = read_servers(cfg.servers_file, cfg.token);
    } catch (const usage_error& e) {
        std::cerr << "plexbutler-fleet-bench: " << e.what() << "\n" << usage_text;
        return 2;
    }
    const std::size_t n = servers.size();
    const double nd = static_cast<double>(n);
    const std::string scheme = scheme_of(servers);
    const std::size_t max_in_flight = cfg.max_in_flight != 0 ? cfg.max_in_flight : n;
    const auto note = [](const std::string& what) { std::cerr << "plexbutler-fleet-bench: " << what << std::endl; };

    json_line out;
    out.text("client", "plexbutler");
    out.text("version", plexbutler::version_string);
    out.text("scheme", scheme);
    out.integer("servers", n);
    out.integer("max_in_flight", max_in_flight);
    failures total;
    double peak_rss = 0;

    try {
        asio::io_context ctx(1);
        plexbutler::fleet_options fo;
        fo.max_in_flight = max_in_flight;
        fo.poll_interval = cfg.poll_interval;
        fo.release_buffers_after_request = !cfg.keep_buffers;
        if (cfg.connections != 0)
            fo.defaults.max_connections = cfg.connections;
        fo.defaults.ca_file = cfg.ca_file;
        if (cfg.connect_timeout)
            fo.defaults.connect_timeout = *cfg.connect_timeout;
        if (cfg.request_timeout)
            fo.defaults.request_timeout = *cfg.request_timeout;
        const plexbutler::client_options client_defaults = fo.defaults;
        out.integer("connections_per_server", fo.defaults.max_connections);

        // ---- build
        const memory m_start = measure_memory();
        auto fleet = std::make_unique<plexbutler::fleet>(ctx, fo);
        const sample b0 = take_sample();
        for (const auto& s : servers)
            fleet->add_server(s.id, s.url, s.token);
        const sample b1 = take_sample();
        const memory m_built = measure_memory();
        const timed build = measure(b0, b1);
        note("built " + std::to_string(n) + " clients in " + std::to_string(build.wall_s) + " s");
        out.number("build_ms", build.wall_s * 1e3, 1);
        out.number("build_cpu_ms", build.cpu_us / 1e3, 1);
        out.number("build_cpu_us_per_server", build.cpu_us / nd, 1);
        out.number("build_heap_kib_per_server", (m_built.heap - m_start.heap) / kib / nd, 2);
        out.number("build_rss_kib_per_server", (m_built.rss - m_start.rss) / kib / nd, 2);
        out.number("build_anon_kib_per_server", (m_built.anon - m_start.anon) / kib / nd, 2);

        // ---- first sweep: every connection is opened
        failures first_fails;
        const timed first = run_fleet_sweep(ctx, *fleet, first_fails);
        note("first sweep " + std::to_string(first.wall_s) + " s, " + std::to_string(first_fails.count) + " failed");
        if (first_fails.count)
            note("first sweep: first failure: " + first_fails.first);
        total.count += first_fails.count;
        if (total.first.empty())
            total.first = first_fails.first;
        out.number("first_sweep_ms", first.wall_s * 1e3, 1);
        out.number("first_sweep_cpu_ms", first.cpu_us / 1e3, 1);
        out.number("first_sweep_cpu_us_per_server", first.cpu_us / nd, 1);
        out.integer("first_sweep_failures", first_fails.count);

        // ---- memory of the connected fleet: right after the sweep, and once idle connections have had the
        // time to release their buffers
        const memory m_swept = measure_memory();
        const std::size_t fds = open_descriptors();
        out.integer("descriptors_connected", fds);
        const auto settle = cfg.settle_s ? std::chrono::duration<double>(*cfg.settle_s) : default_settle(fo.defaults);
        const sample s0 = take_sample();
        run_for(ctx, settle);
        const sample s1 = take_sample();
        const memory m_connected = measure_memory();
        out.number("settle_s", seconds_between(s0, s1), 3);
        out.number("settle_cpu_ms", static_cast<double>(s1.cpu_us - s0.cpu_us) / 1e3, 3);
        out.number("rss_swept_mib", m_swept.rss / mib, 1);
        out.number("swept_connection_kib", (m_swept.rss - m_built.rss) / kib / nd, 2);
        out.number("rss_start_mib", m_start.rss / mib, 1);
        out.number("rss_built_mib", m_built.rss / mib, 1);
        out.number("rss_connected_mib", m_connected.rss / mib, 1);
        out.number("idle_server_kib", (m_connected.rss - m_start.rss) / kib / nd, 2);
        out.number("idle_connection_kib", (m_connected.rss - m_built.rss) / kib / nd, 2);
        out.number("idle_server_anon_kib", (m_connected.anon - m_start.anon) / kib / nd, 2);
        out.number("idle_connection_anon_kib", (m_connected.anon - m_built.anon) / kib / nd, 2);
        out.number("idle_server_heap_kib", (m_connected.heap - m_start.heap) / kib / nd, 2);
        out.number("idle_connection_heap_kib", (m_connected.heap - m_built.heap) / kib / nd, 2);

        // ---- steady sweeps
        failures steady_fails;
        std::vector<timed> steady;
        for (unsigned i = 0; i < cfg.sweeps; ++i)
            steady.push_back(run_fleet_sweep(ctx, *fleet, steady_fails));
        total.count += steady_fails.count;
        if (total.first.empty())
            total.first = steady_fails.first;
        if (steady_fails.count)
            note("steady sweeps: " + std::to_string(steady_fails.count) + " failed; first: " + steady_fails.first);
        double wall_sum = 0, cpu_sum = 0, alloc_sum = 0;
        double wall_min = 1e300, wall_max = 0, cpu_min = 1e300, cpu_max = 0;
        for (const auto& t : steady) {
            wall_sum += t.wall_s;
            cpu_sum += t.cpu_us;
            alloc_sum += t.allocations;
            wall_min = std::min(wall_min, t.wall_s);
            wall_max = std::max(wall_max, t.wall_s);
            cpu_min = std::min(cpu_min, t.cpu_us);
            cpu_max = std::max(cpu_max, t.cpu_us);
        }
        const double k = static_cast<double>(steady.size());
        const double steady_cpu_per_server = cpu_sum / k / nd;
        out.integer("steady_sweeps", steady.size());
        out.number("steady_sweep_ms", wall_sum / k * 1e3, 1);
        out.number("steady_sweep_ms_min", wall_min * 1e3, 1);
        out.number("steady_sweep_ms_max", wall_max * 1e3, 1);
        out.number("steady_cpu_us_per_server", steady_cpu_per_server, 1);
        out.number("steady_cpu_us_per_server_min", cpu_min / nd, 1);
        out.number("steady_cpu_us_per_server_max", cpu_max / nd, 1);
        std::vector<double> each; // in sweep order: a slow first sweep shows as such
        for (const auto& t : steady)
            each.push_back(t.cpu_us / nd);
        out.numbers("steady_cpu_us_per_server_each", each, 1);
        out.number("steady_allocs_per_server", alloc_sum / k / nd, 1);
        out.integer("steady_failures", steady_fails.count);
        note("steady sweep " + std::to_string(wall_sum / k) + " s, " + std::to_string(steady_cpu_per_server) +
             " us CPU per server");

        // ---- idle: connections open (their buffers released), no request
        if (cfg.idle_s > 0) {
            run_for(ctx, settle);
            const sample i0 = take_sample();
            run_for(ctx, std::chrono::duration<double>(cfg.idle_s));
            const sample i1 = take_sample();
            out.number("idle_window_s", seconds_between(i0, i1), 3);
            out.number("idle_cpu_ms", static_cast<double>(i1.cpu_us - i0.cpu_us) / 1e3, 3);
            out.integer("idle_wakeups", i1.wakeups - i0.wakeups);
        }

        // ---- the poller
        if (cfg.poll_s > 0) {
            event_counts events;
            asio::co_spawn(ctx, consume_events(*fleet, events), [&events](std::exception_ptr) { events.done = true; });
            fleet->start_polling();
            // One interval of warm-up: every server is polled once (its `reachable` event).
            run_for(ctx, cfg.poll_interval + 200ms);
            const auto st0 = fleet->stats();
            const sample p0 = take_sample();
            run_for(ctx, std::chrono::duration<double>(cfg.poll_s));
            const sample p1 = take_sample();
            const auto st1 = fleet->stats();
            const double window = seconds_between(p0, p1);
            const double polls = static_cast<double>(st1.polls - st0.polls);
            const double cpu = static_cast<double>(p1.cpu_us - p0.cpu_us);
            const double poll_failures = static_cast<double>(st1.poll_failures - st0.poll_failures);
            total.count += static_cast<std::size_t>(poll_failures);
            out.integer("poll_interval_ms", static_cast<std::uint64_t>(cfg.poll_interval.count()));
            out.number("poll_window_s", window, 3);
            out.integer("polls", st1.polls - st0.polls);
            out.integer("poll_failures", st1.poll_failures - st0.poll_failures);
            out.integer("poll_events", st1.events - st0.events);
            out.number("polls_per_s", polls / window, 1);
            out.number("poll_cpu_pct", cpu / window / 1e4, 2);
            if (polls > 0) {
                out.number("poll_cpu_us_per_poll", cpu / polls, 1);
                out.number("poll_wakeups_per_poll", static_cast<double>(p1.wakeups - p0.wakeups) / polls, 2);
                out.number("poll_allocs_per_poll", static_cast<double>(p1.allocations - p0.allocations) / polls, 2);
            }
            const memory m_polling = measure_memory();
            out.number("rss_polling_mib", m_polling.rss / mib, 1);
            // What polling adds to the connected idle fleet: the two task lists the poller keeps per
            // server, and the buffers of the connections polled in the last second or so.
            out.number("polling_kib_per_server", (m_polling.rss - m_connected.rss) / kib / nd, 2);
            note("poller: " + std::to_string(polls / window) + " polls/s");

            // A sparse poller: the fleet keeps its first servers only, so the thread spends most of
            // the window between polls (what a timer that ticks regardless of polls would show in).
            if (cfg.sparse_servers > 0 && cfg.sparse_servers < n) {
                const auto ids = fleet->servers();
                for (std::size_t i = cfg.sparse_servers; i < ids.size(); ++i)
                    fleet->remove_server(ids[i]);
                run_for(ctx, cfg.poll_interval + 200ms);
                const auto q_st0 = fleet->stats();
                const sample q0 = take_sample();
                run_for(ctx, std::chrono::duration<double>(cfg.poll_s));
                const sample q1 = take_sample();
                const auto q_st1 = fleet->stats();
                const double q_window = seconds_between(q0, q1);
                const double q_polls = static_cast<double>(q_st1.polls - q_st0.polls);
                total.count += static_cast<std::size_t>(q_st1.poll_failures - q_st0.poll_failures);
                out.integer("sparse_servers", cfg.sparse_servers);
                out.number("sparse_polls_per_s", q_polls / q_window, 2);
                out.number("sparse_cpu_ms_per_s", static_cast<double>(q1.cpu_us - q0.cpu_us) / 1e3 / q_window, 3);
                out.number("sparse_wakeups_per_s", static_cast<double>(q1.wakeups - q0.wakeups) / q_window, 2);
                if (q_polls > 0)
                    out.number("sparse_wakeups_per_poll", static_cast<double>(q1.wakeups - q0.wakeups) / q_polls, 2);
            }
            fleet->stop_polling();
            fleet->shutdown();
            run_until(ctx, events.done);
        }
        // Peak RSS of the fleet; the resume phase below builds clients of its own.
        peak_rss = peak_rss_bytes();
        fleet.reset(); // its connections close before the resume phase opens its own

        // ---- TLS session resumption after idle eviction
        const std::size_t r = scheme == "https" ? cfg.resume_servers.value_or(std::min<std::size_t>(n, 1000)) : 0;
        if (r > 0) {
            std::vector<std::unique_ptr<plexbutler::client>> clients;
            for (std::size_t i = 0; i < std::min(r, n); ++i) {
                plexbutler::client_options o = client_defaults;
                o.server_url = servers[i].url;
                o.token = servers[i].token;
                o.idle_timeout = cfg.resume_idle;
                clients.push_back(std::make_unique<plexbutler::client>(ctx, std::move(o)));
            }
            total.count += run_client_sweep(ctx, clients, max_in_flight);
            const tls_count c0 = total_stats(clients);
            run_for(ctx, 2 * cfg.resume_idle + 200ms); // every connection is evicted
            std::size_t still_open = 0;
            for (const auto& cl : clients)
                still_open += cl->stats().open;
            total.count += run_client_sweep(ctx, clients, max_in_flight);
            const tls_count c1 = total_stats(clients);
            out.integer("resume_servers", clients.size());
            out.integer("resume_open_before_reconnect", still_open);
            out.integer("resume_reconnects", c1.connections - c0.connections);
            if constexpr (tls_counters<plexbutler::pool_stats>) {
                const auto handshakes = c1.handshakes - c0.handshakes;
                const auto resumed = c1.resumed - c0.resumed;
                out.integer("tls_handshakes_first", c0.handshakes);
                out.integer("tls_resumed_first", c0.resumed);
                out.integer("tls_handshakes", handshakes);
                out.integer("tls_resumed", resumed);
                out.number("tls_resumed_pct",
                           handshakes ? 100.0 * static_cast<double>(resumed) / static_cast<double>(handshakes) : 0.0,
                           1);
            } else {
                out.null("tls_handshakes");
                out.null("tls_resumed");
                out.null("tls_resumed_pct");
                note("pool_stats has no TLS counters: resumption not counted");
            }
            for (auto& cl : clients)
                cl->shutdown();
            ctx.restart();
            ctx.run_for(2s);
        }
    } catch (const std::invalid_argument& e) {
        std::cerr << "plexbutler-fleet-bench: invalid options: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "plexbutler-fleet-bench: " << e.what() << "\n";
        return 1;
    }

    out.number("peak_rss_mib", peak_rss / mib, 1);
    out.integer("failures", total.count);
    std::cout << out.str() << std::endl;
    if (total.count != 0)
        std::cerr << "plexbutler-fleet-bench: " << total.count << " requests failed; first: " << total.first << "\n";
    return total.count == 0 ? 0 : 1;
}
