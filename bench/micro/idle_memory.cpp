// plexbutler-idle-memory: what a connected idle server costs. Builds N clients of one server,
// runs one GET /butler on each (all in flight at once, one connection per client), lets the
// connections idle, and reports the heap (malloc's count, mallinfo2) and the RSS per server at
// each step. With --idle-timeout-ms it then waits until the pools evict their idle connections
// and sweeps again: the reconnects, and how many resumed their TLS session.
//
//   plexbutler-idle-memory --server URL [--token T] [--ca-file PEM] [--clients N]
//                          [--in-flight K | --spread-ms T] [--settle-ms S] [--idle-timeout-ms I]
//
// A sweep has all its operations in flight at once, or at most K (--in-flight), or starts them
// evenly over T ms (--spread-ms), as a poller spreads its polls over its interval: then only the
// connections used in the last second hold their buffers, and the allocator reuses what the
// others freed. After an all-at-once sweep the RSS keeps that peak (freed memory stays with the
// allocator); the heap in use is what the servers hold. --settle-ms (default 1500) is the idle
// time before the idle figures are taken.
//
// Run the server in another process (the script bench/micro/idle-memory starts the emulator), so that only
// the client side is measured. Prints one JSON object.

#include <plexbutler/client.hpp>
#include <plexbutler/options.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct config {
    std::string server;
    std::string token;
    std::string ca_file;
    std::size_t clients = 1000;
    std::size_t in_flight = 0; // 0: all
    long spread_ms = 0;        // > 0: sweeps start their operations evenly over this time
    long settle_ms = 1500;
    long idle_timeout_ms = 0; // 0: no eviction phase
};

double heap_in_use()
{
    const auto m = ::mallinfo2();
    return static_cast<double>(m.uordblks + m.hblkhd);
}

// Opened once: at 10,000 connections the process may have no descriptor left to open it later.
double rss_bytes()
{
    static const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    char buf[128] = {};
    if (fd < 0 || ::pread(fd, buf, sizeof buf - 1, 0) <= 0) {
        std::fprintf(stderr, "plexbutler-idle-memory: cannot read /proc/self/statm\n");
        std::exit(1);
    }
    unsigned long size = 0, resident = 0;
    std::sscanf(buf, "%lu %lu", &size, &resident);
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double cpu_seconds()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct sweep_result {
    std::size_t failures = 0;
    double wall_s = 0;
    double cpu_s = 0;
    std::string first_error;
};

// One GET /butler on every client: at most `in_flight` at once, or, with `spread` > 0, started
// one after the other evenly over `spread` (as a poller spreads its polls over its interval).
sweep_result sweep(boost::asio::io_context& ioc, std::deque<plexbutler::client>& clients, std::size_t in_flight,
                   std::chrono::milliseconds spread)
{
    sweep_result r;
    std::size_t done = 0, next = 0;
    ioc.restart(); // a run that ran out of work left the context stopped
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    const bool paced = spread.count() > 0;
    std::function<void()> launch = [&] {
        auto& c = clients[next++];
        boost::asio::co_spawn(ioc, c.try_get_butler_tasks(),
                              [&](std::exception_ptr e, plexbutler::result<plexbutler::tasks_response> res) {
                                  ++done;
                                  if (e || !res) {
                                      ++r.failures;
                                      if (r.first_error.empty() && !e)
                                          r.first_error = res.error().message();
                                  }
                                  if (!paced && next < clients.size())
                                      launch();
                              });
    };
    boost::asio::steady_timer pacer(ioc);
    std::function<void()> pace = [&] {
        launch();
        if (next == clients.size())
            return;
        pacer.expires_at(t0 + spread * next / clients.size());
        pacer.async_wait([&](boost::system::error_code) { pace(); });
    };
    if (paced)
        pace();
    else
        for (std::size_t i = 0; i < std::min(in_flight, clients.size()); ++i)
            launch();
    while (done < clients.size())
        ioc.run_one();
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.cpu_s = cpu_seconds() - c0;
    return r;
}

void print_sweep(const char* name, const sweep_result& s)
{
    std::printf("  \"%s\": {\"failures\": %zu, \"wall_ms\": %.1f, \"cpu_ms\": %.1f", name, s.failures, s.wall_s * 1e3,
                s.cpu_s * 1e3);
    if (!s.first_error.empty())
        std::printf(", \"first_error\": \"%s\"", s.first_error.c_str());
    std::printf("},\n");
}

} // namespace

int main(int argc, char** argv)
{
    config cfg;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--server")
            cfg.server = value;
        else if (flag == "--token")
            cfg.token = value;
        else if (flag == "--ca-file")
            cfg.ca_file = value;
        else if (flag == "--clients")
            cfg.clients = std::strtoul(value, nullptr, 10);
        else if (flag == "--in-flight")
            cfg.in_flight = std::strtoul(value, nullptr, 10);
        else if (flag == "--spread-ms")
            cfg.spread_ms = std::strtol(value, nullptr, 10);
        else if (flag == "--settle-ms")
            cfg.settle_ms = std::strtol(value, nullptr, 10);
        else if (flag == "--idle-timeout-ms")
            cfg.idle_timeout_ms = std::strtol(value, nullptr, 10);
        else {
            std::cerr << "plexbutler-idle-memory: unknown argument " << flag << "\n";
            return 2;
        }
    }
    if (cfg.in_flight == 0)
        cfg.in_flight = cfg.clients;
    if (cfg.server.empty() || cfg.clients == 0) {
        std::cerr << "usage: plexbutler-idle-memory --server URL [--token T] [--ca-file PEM] [--clients N] "
                     "[--in-flight K | --spread-ms T]\n"
                     "                              [--settle-ms S] [--idle-timeout-ms I]\n";
        return 2;
    }

    boost::asio::io_context ioc(1);
    plexbutler::client_options opts;
    opts.server_url = cfg.server;
    opts.token = cfg.token;
    opts.ca_file = cfg.ca_file;
    opts.connect_timeout = std::chrono::seconds(60); // every handshake of the first sweep at once
    opts.request_timeout = std::chrono::seconds(120);
    opts.idle_timeout = std::chrono::milliseconds(cfg.idle_timeout_ms > 0 ? cfg.idle_timeout_ms : 600000);

    // A first client builds what all share (the TLS context); it is not counted.
    const plexbutler::client warm(ioc, opts);
    std::deque<plexbutler::client> clients; // not movable
    const double n = static_cast<double>(cfg.clients);

    const double heap0 = heap_in_use(), rss0 = rss_bytes(), cpu0 = cpu_seconds();
    for (std::size_t i = 0; i < cfg.clients; ++i)
        clients.emplace_back(ioc, opts);
    const double heap_built = heap_in_use(), rss_built = rss_bytes(), cpu_built = cpu_seconds();

    const auto first = sweep(ioc, clients, cfg.in_flight, std::chrono::milliseconds(cfg.spread_ms));
    const double heap_swept = heap_in_use(), rss_swept = rss_bytes();
    ioc.restart();
    ioc.run_for(std::chrono::milliseconds(cfg.settle_ms));
    const double heap_idle = heap_in_use(), rss_idle = rss_bytes();
    std::size_t released = 0;
    for (const auto& c : clients)
        released += c.stats().idle_released;
    ::malloc_trim(0); // what the allocator holds free goes back to the system
    const double rss_trimmed = rss_bytes();

    std::printf(
        "{\n  \"server\": \"%s\", \"clients\": %zu, \"in_flight\": %zu, \"spread_ms\": %ld, \"settle_ms\": %ld,\n",
        cfg.server.c_str(), cfg.clients, cfg.in_flight, cfg.spread_ms, cfg.settle_ms);
    std::printf("  \"build\": {\"cpu_us_per_client\": %.1f, \"heap_bytes_per_client\": %.0f, "
                "\"rss_bytes_per_client\": %.0f},\n",
                (cpu_built - cpu0) * 1e6 / n, (heap_built - heap0) / n, (rss_built - rss0) / n);
    print_sweep("first_sweep", first);
    std::printf("  \"after_sweep\": {\"heap_bytes_per_server\": %.0f, \"rss_bytes_per_server\": %.0f},\n",
                (heap_swept - heap0) / n, (rss_swept - rss0) / n);
    std::printf("  \"idle\": {\"idle_released\": %zu, \"heap_bytes_per_server\": %.0f, \"rss_bytes_per_server\": %.0f, "
                "\"rss_bytes_per_server_after_malloc_trim\": %.0f}",
                released, (heap_idle - heap0) / n, (rss_idle - rss0) / n, (rss_trimmed - rss0) / n);

    if (cfg.idle_timeout_ms > 0) {
        ioc.restart();
        ioc.run_for(std::chrono::milliseconds(cfg.idle_timeout_ms + 500)); // every idle connection evicted
        const double heap_evicted = heap_in_use();
        const auto second = sweep(ioc, clients, cfg.in_flight, std::chrono::milliseconds(cfg.spread_ms));
        std::printf(",\n  \"evicted\": {\"heap_bytes_per_server\": %.0f},\n", (heap_evicted - heap0) / n);
        print_sweep("reconnect_sweep", second);
        std::uint64_t created = 0, handshakes = 0, resumed = 0;
        for (const auto& c : clients) {
            const auto st = c.stats();
            created += st.connections_created;
            handshakes += st.tls_handshakes;
            resumed += st.tls_resumed;
        }
        std::printf("  \"connections_created\": %llu, \"tls_handshakes\": %llu, \"tls_resumed\": %llu",
                    static_cast<unsigned long long>(created), static_cast<unsigned long long>(handshakes),
                    static_cast<unsigned long long>(resumed));
    }
    std::printf("\n}\n");
    clients.clear();
    ioc.run_for(std::chrono::milliseconds(100));
    return 0;
}
