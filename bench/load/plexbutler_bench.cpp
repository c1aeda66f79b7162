// plexbutler-bench: closed-loop load generator for the Butler API built only on the public
// plexbutler client API. C coroutines each keep one operation in flight for D seconds after
// W seconds of warm-up; every response is fully decoded into value types and checked.
// Prints exactly one JSON line on stdout (see docs/performance.md for the fields).

#include "alloc_counter.hpp"
#include "latency_histogram.hpp"

#include "common/args.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/models.hpp>
#include <plexbutler/version.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

enum class operation { list, start, mixed };

struct bench_config {
    std::string server;
    std::string token;
    std::size_t concurrency = 0;
    std::size_t connections = 0; // 0: min(concurrency, 64)
    unsigned threads = 1;
    double duration_s = 10.0;
    double warmup_s = 2.0;
    operation op = operation::list;
    std::string task = "BackupDatabase";
    bool refresh = false; // list calls pass their previous response back (try_refresh_butler_tasks)
    bool help = false;    // --help: print the usage and run nothing
};

constexpr std::string_view usage_text =
    "usage: plexbutler-bench --server URL --token TOKEN --concurrency C\n"
    "                        [--connections K] [--threads T] [--duration-s D] [--warmup-s W]\n"
    "                        [--op list|start|mixed] [--task NAME] [--refresh]\n"
    "\n"
    "Keeps C Butler operations in flight (C coroutines in a closed loop) for D seconds\n"
    "(default 10) after W seconds of warm-up (default 2), on an io_context run by T threads\n"
    "(default 1), through one plexbutler::client whose pool holds at most K connections\n"
    "(default min(C, 64)). Every response is decoded and checked; a failure or a response\n"
    "that does not check out counts as an error.\n"
    "\n"
    "  --op list   GET /butler, the task list must be non-empty (default)\n"
    "  --op start  POST /butler/NAME, the outcome must be started or already running\n"
    "  --op mixed  nine list calls, then one start call, per coroutine\n"
    "  --task NAME the task --op start/mixed starts (default BackupDatabase)\n"
    "  --refresh   list calls use try_refresh_butler_tasks, each coroutine refreshing its\n"
    "              own response in place (default: try_get_butler_tasks, a new response each)\n"
    "\n"
    "The token may also come from the environment variable PLEX_TOKEN; it is never printed.\n"
    "Prints one JSON line: requests, errors, rps, latency percentiles (ms), CPU us/request,\n"
    "peak RSS (MiB) and heap allocations/request.\n";

using plexbutler::tools::quoted;
using plexbutler::tools::usage_error;

template <class T>
T parse_integer(std::string_view flag, std::string_view text, T min)
{
    if (const auto value = plexbutler::tools::parse_whole<T>(text, min))
        return *value;
    throw usage_error(std::string(flag) + ": expected an integer >= " + std::to_string(min) + ", got " + quoted(text));
}

double parse_seconds(std::string_view flag, std::string_view text, bool allow_zero)
{
    const auto s = plexbutler::tools::parse_seconds(text, 0s, 86400s);
    if (s && (allow_zero || s->count() > 0.0))
        return s->count();
    throw usage_error(std::string(flag) + ": expected a number of seconds" + (allow_zero ? " >= 0" : " > 0") +
                      ", got " + quoted(text));
}

// The configuration, or one with `help` set as soon as --help appears.
// @throws usage_error on a bad command line.
bench_config parse_args(int argc, char** argv)
{
    bench_config cfg;
    bool have_token = false;
    plexbutler::tools::arg_reader reader(argc, argv, false);
    while (reader.more()) {
        const std::string_view flag = reader.next();
        if (flag == "--help" || flag == "-h") {
            cfg.help = true;
            return cfg;
        }
        if (flag == "--refresh") {
            cfg.refresh = true;
            continue;
        }
        const std::string_view value = reader.required_value();
        if (flag == "--server")
            cfg.server = value;
        else if (flag == "--token") {
            cfg.token = value;
            have_token = true;
        } else if (flag == "--concurrency")
            cfg.concurrency = parse_integer<std::size_t>(flag, value, 1);
        else if (flag == "--connections")
            cfg.connections = parse_integer<std::size_t>(flag, value, 1);
        else if (flag == "--threads")
            cfg.threads = parse_integer<unsigned>(flag, value, 1);
        else if (flag == "--duration-s")
            cfg.duration_s = parse_seconds(flag, value, false);
        else if (flag == "--warmup-s")
            cfg.warmup_s = parse_seconds(flag, value, true);
        else if (flag == "--op") {
            if (value == "list")
                cfg.op = operation::list;
            else if (value == "start")
                cfg.op = operation::start;
            else if (value == "mixed")
                cfg.op = operation::mixed;
            else
                throw usage_error("--op: expected list, start or mixed, got " + quoted(value));
        } else if (flag == "--task")
            cfg.task = value;
        else
            throw usage_error("unknown flag " + quoted(flag));
    }
    if (cfg.server.empty())
        throw usage_error("--server is required");
    if (cfg.concurrency == 0)
        throw usage_error("--concurrency is required");
    if (!have_token) {
        if (const char* env = std::getenv("PLEX_TOKEN"))
            cfg.token = env;
    }
    if (cfg.connections == 0)
        cfg.connections = std::min<std::size_t>(cfg.concurrency, 64);
    return cfg;
}

std::uint64_t cpu_time_us()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    const auto us = [](const timeval& tv) {
        return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(tv.tv_usec);
    };
    return us(ru.ru_utime) + us(ru.ru_stime);
}

double peak_rss_mib()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0; // ru_maxrss is in KiB on Linux
}

// Shared by the worker coroutines, possibly on several threads.
struct bench_state {
    explicit bench_state(const bench_config& c) : cfg(c) {}

    const bench_config& cfg;
    std::atomic<bool> measuring{false}; // operations started now belong to the measured window
    std::atomic<bool> stopping{false};  // workers start no new operation
    std::atomic<std::size_t> active_workers{0};
    std::atomic<std::uint64_t> issued{0};
    std::atomic<std::uint64_t> succeeded{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> list_calls{0};
    plexbutler::bench::latency_histogram histogram;

    std::once_flag sample_once; // one decoded list, re-encoded later for the decode-only count
    std::optional<plexbutler::butler_task_list> sample;
    std::mutex error_mutex;
    std::string first_error;

    void note_error(std::string message)
    {
        const std::lock_guard lock(error_mutex);
        if (first_error.empty())
            first_error = std::move(message);
    }
};

// One call of the selected operation; true when the response decoded and checks out.
// `previous`: this coroutine's list response, refreshed in place with --refresh.
asio::awaitable<bool> call_once(plexbutler::client& client, bench_state& st, std::uint64_t n,
                                plexbutler::tasks_response& previous)
{
    const bool list = st.cfg.op == operation::list || (st.cfg.op == operation::mixed && n % 10 != 9);
    if (list) {
        const auto check = [&st](const plexbutler::tasks_response& r) {
            if (r.status != 200 || r.content.tasks.empty()) {
                st.note_error("GET /butler: status " + std::to_string(r.status) + " with " +
                              std::to_string(r.content.tasks.size()) + " tasks");
                return false;
            }
            std::call_once(st.sample_once, [&] { st.sample = r.content; });
            return true;
        };
        if (st.cfg.refresh) {
            auto ok = co_await client.try_refresh_butler_tasks(previous);
            if (!ok) {
                st.note_error(ok.error().message());
                co_return false;
            }
            co_return check(previous);
        }
        auto r = co_await client.try_get_butler_tasks();
        if (!r) {
            st.note_error(r.error().message());
            co_return false;
        }
        co_return check(*r);
    }
    auto r = co_await client.try_start_task(st.cfg.task);
    if (!r) {
        st.note_error(r.error().message());
        co_return false;
    }
    const auto outcome = r->content;
    if (outcome != plexbutler::task_outcome::started && outcome != plexbutler::task_outcome::already_running) {
        st.note_error("POST /butler/" + st.cfg.task + ": unexpected outcome " +
                      std::string(plexbutler::to_string(outcome)));
        co_return false;
    }
    co_return true;
}

asio::awaitable<void> worker(plexbutler::client& client, bench_state& st)
{
    plexbutler::tasks_response previous;
    for (std::uint64_t n = 0; !st.stopping.load(std::memory_order_relaxed); ++n) {
        const bool counted = st.measuring.load(std::memory_order_relaxed);
        if (counted)
            st.issued.fetch_add(1, std::memory_order_relaxed);
        const auto t0 = std::chrono::steady_clock::now();
        bool ok = false;
        try {
            ok = co_await call_once(client, st, n, previous);
        } catch (const std::exception& e) {
            // The try_ forms do not throw for request failures; anything else is an error too.
            st.note_error(std::string("exception: ") + e.what());
        }
        const auto t1 = std::chrono::steady_clock::now();
        if (!counted)
            continue;
        const bool list = st.cfg.op == operation::list || (st.cfg.op == operation::mixed && n % 10 != 9);
        if (list)
            st.list_calls.fetch_add(1, std::memory_order_relaxed);
        (ok ? st.succeeded : st.failed).fetch_add(1, std::memory_order_relaxed);
        st.histogram.record(
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count()));
    }
    st.active_workers.fetch_sub(1, std::memory_order_acq_rel);
}

struct window_result {
    double elapsed_s = 0;
    std::uint64_t cpu_us = 0;
    std::uint64_t allocations = 0;
};

asio::awaitable<void> controller(plexbutler::client& client, bench_state& st, window_result& out)
{
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    st.active_workers.store(st.cfg.concurrency);
    for (std::size_t i = 0; i < st.cfg.concurrency; ++i)
        asio::co_spawn(ex, worker(client, st), asio::detached);

    timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(st.cfg.warmup_s)));
    co_await timer.async_wait(asio::use_awaitable);

    const auto cpu0 = cpu_time_us();
    const auto alloc0 = plexbutler::bench::allocation_count();
    const auto t0 = std::chrono::steady_clock::now();
    st.measuring.store(true);

    timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(st.cfg.duration_s)));
    co_await timer.async_wait(asio::use_awaitable);

    st.stopping.store(true);
    const auto t1 = std::chrono::steady_clock::now();
    out.cpu_us = cpu_time_us() - cpu0;
    out.allocations = plexbutler::bench::allocation_count() - alloc0;
    out.elapsed_s = std::chrono::duration<double>(t1 - t0).count();

    // Operations started inside the window complete (or time out) before the counts are read.
    while (st.active_workers.load(std::memory_order_acquire) != 0) {
        timer.expires_after(1ms);
        co_await timer.async_wait(asio::use_awaitable);
    }
    co_await client.async_shutdown();
}

// Heap allocations of decoding one body of the same shape with the decoder alone (parse_task_list,
// or with --refresh parse_task_list_into a list passed back each time): the part of
// allocs_per_request that is the decoded strings and vectors, not the transport.
double decode_only_allocations(const plexbutler::butler_task_list& sample, bool refresh)
{
    const std::string body = boost::json::serialize(boost::json::value_from(sample));
    constexpr int rounds = 100;
    plexbutler::butler_task_list kept;
    if (refresh)
        (void)plexbutler::parse_task_list_into(body, kept); // the steady state: a list already decoded once
    const auto before = plexbutler::bench::allocation_count();
    std::size_t tasks = 0;
    for (int i = 0; i < rounds; ++i) {
        if (refresh) {
            if (plexbutler::parse_task_list_into(body, kept))
                tasks += kept.tasks.size();
        } else if (auto r = plexbutler::parse_task_list(body)) {
            tasks += r->tasks.size();
        }
    }
    const auto after = plexbutler::bench::allocation_count();
    if (tasks == 0)
        return -1.0;
    return static_cast<double>(after - before) / rounds;
}

std::string_view op_name(operation op)
{
    switch (op) {
    case operation::list: return "list";
    case operation::start: return "start";
    case operation::mixed: return "mixed";
    }
    return "?";
}

} // namespace

int main(int argc, char** argv)
{
    bench_config parsed;
    try {
        parsed = parse_args(argc, argv);
    } catch (const usage_error& e) {
        std::cerr << "plexbutler-bench: " << e.what() << "\n" << usage_text;
        return 2;
    }
    if (parsed.help) {
        std::cout << usage_text;
        return 0;
    }
    const bench_config cfg = std::move(parsed);
    bench_state st(cfg);
    window_result win;

    try {
        asio::io_context ctx(static_cast<int>(cfg.threads));
        plexbutler::client_options opts;
        opts.server_url = cfg.server;
        opts.token = cfg.token;
        opts.max_connections = cfg.connections;
        opts.max_waiters = std::max<std::size_t>(opts.max_waiters, cfg.concurrency);
        plexbutler::client client(ctx, std::move(opts));

        asio::co_spawn(ctx, controller(client, st, win), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
        std::vector<std::thread> extra;
        for (unsigned i = 1; i < cfg.threads; ++i)
            extra.emplace_back([&ctx] { ctx.run(); });
        ctx.run();
        for (auto& t : extra)
            t.join();
    } catch (const std::invalid_argument& e) {
        std::cerr << "plexbutler-bench: invalid client options: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "plexbutler-bench: " << e.what() << "\n";
        return 1;
    }

    const std::uint64_t issued = st.issued.load();
    const std::uint64_t succeeded = st.succeeded.load();
    const std::uint64_t failed = st.failed.load();
    if (issued != succeeded + failed) {
        std::cerr << "plexbutler-bench: internal error: issued " << issued << " != succeeded " << succeeded
                  << " + failed " << failed << "\n";
        return 1;
    }

    double decode_allocs = 0.0;
    if (st.sample)
        decode_allocs = decode_only_allocations(*st.sample, cfg.refresh);
    const double requests = static_cast<double>(succeeded);
    const double per_issued = issued ? 1.0 / static_cast<double>(issued) : 0.0;
    const double allocs_per_request = static_cast<double>(win.allocations) * per_issued;
    const double list_share = static_cast<double>(st.list_calls.load()) * per_issued;
    const auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };

    std::printf("{\"client\":\"plexbutler\",\"version\":\"%s\",\"op\":\"%s\",\"refresh\":%s,\"concurrency\":%zu,"
                "\"connections\":%zu,"
                "\"threads\":%u,\"duration_s\":%.3f,\"requests\":%llu,\"errors\":%llu,\"issued\":%llu,"
                "\"succeeded\":%llu,\"failed\":%llu,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
                "\"max_ms\":%.3f,\"cpu_us_per_request\":%.1f,\"peak_rss_mb\":%.1f,\"allocs_per_request\":%.1f,"
                "\"decode_allocs_per_list\":%.1f,\"allocs_per_request_excl_decode\":%.1f}\n",
                plexbutler::version_string, std::string(op_name(cfg.op)).c_str(), cfg.refresh ? "true" : "false",
                cfg.concurrency, cfg.connections, cfg.threads, win.elapsed_s,
                static_cast<unsigned long long>(succeeded), static_cast<unsigned long long>(failed),
                static_cast<unsigned long long>(issued), static_cast<unsigned long long>(succeeded),
                static_cast<unsigned long long>(failed), win.elapsed_s > 0 ? requests / win.elapsed_s : 0.0,
                ms(st.histogram.percentile(50)), ms(st.histogram.percentile(90)), ms(st.histogram.percentile(99)),
                ms(st.histogram.max()), static_cast<double>(win.cpu_us) * per_issued, peak_rss_mib(),
                allocs_per_request, decode_allocs, allocs_per_request - decode_allocs * list_share);
    std::fflush(stdout);

    if (failed != 0)
        std::cerr << "plexbutler-bench: " << failed << " of " << issued
                  << " operations failed; first: " << st.first_error << "\n";
    return succeeded == 0 ? 1 : 0;
}
