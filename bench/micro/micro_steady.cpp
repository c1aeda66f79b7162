// The steady poll on a busy connection, over HTTP and HTTPS: one client polls the in-process
// emulator back to back (the connection never idles). Reports heap allocations per request made
// on the client's thread: operator new calls and, through OpenSSL's allocator hook, OpenSSL's
// own (TLS record buffers, ...). The emulator's threads are not counted.

#include "alloc_counter.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/emulator/server.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <benchmark/benchmark.h>

#include <openssl/crypto.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace {

thread_local std::uint64_t t_openssl_allocations = 0;

void* counted_openssl_malloc(std::size_t n, const char*, int)
{
    ++t_openssl_allocations;
    return std::malloc(n);
}
void* counted_openssl_realloc(void* p, std::size_t n, const char*, int)
{
    if (p == nullptr)
        ++t_openssl_allocations;
    return std::realloc(p, n);
}
void openssl_free(void* p, const char*, int) { std::free(p); }

bool g_openssl_counted = false;

// Before any static initialiser of the program allocates through OpenSSL (Asio's OpenSSL init).
__attribute__((constructor(101))) void count_openssl_allocations()
{
    g_openssl_counted = CRYPTO_set_mem_functions(&counted_openssl_malloc, &counted_openssl_realloc, &openssl_free) == 1;
}

std::uint64_t allocations_on_this_thread()
{
    return plexbutler::bench::thread_allocation_count() + t_openssl_allocations;
}

/// An emulator on loopback, HTTP or HTTPS (a self-signed certificate for 127.0.0.1 in a CA file).
struct steady_emulator {
    explicit steady_emulator(bool https)
        : ca(std::filesystem::temp_directory_path() /
             ("plexbutler-micro-steady-" + std::to_string(::getpid()) + ".pem")),
          srv(options(https, ca))
    {
    }
    ~steady_emulator() { std::filesystem::remove(ca); }

    static plexbutler::emulator::server_options options(bool https, const std::filesystem::path& ca)
    {
        plexbutler::emulator::server_options o;
        if (https) {
            o.tls_self_signed_name = "127.0.0.1";
            o.tls_write_ca_file = ca.string();
        }
        return o;
    }

    std::filesystem::path ca;
    plexbutler::emulator::server srv;
};

// Polls back to back: `refresh` decodes into the previous response (no allocation when warm),
// else a new response per call. Counts the allocations of the timed iterations.
boost::asio::awaitable<void> steady_polls(plexbutler::client& c, benchmark::State& state, bool refresh,
                                          std::uint64_t& allocations)
{
    plexbutler::tasks_response previous;
    for (int i = 0; i < 50; ++i) { // warm: connection, buffers, Asio's recycled frames
        if (!(co_await c.try_refresh_butler_tasks(previous)))
            throw std::runtime_error("warm-up poll failed");
    }
    const auto before = allocations_on_this_thread();
    for (auto _ : state) {
        if (refresh) {
            if (!(co_await c.try_refresh_butler_tasks(previous)))
                throw std::runtime_error("poll failed");
        } else {
            auto r = co_await c.try_get_butler_tasks();
            if (!r)
                throw std::runtime_error("poll failed");
            benchmark::DoNotOptimize(r->content.tasks.data());
        }
    }
    allocations = allocations_on_this_thread() - before;
}

void steady(benchmark::State& state, bool https, bool refresh)
{
    if (https && !g_openssl_counted)
        state.SkipWithError("OpenSSL's allocations cannot be counted (allocator hook refused)");
    steady_emulator emu(https);
    boost::asio::io_context ioc(1);
    plexbutler::client_options o;
    o.server_url = emu.srv.url();
    o.ca_file = emu.ca.string();
    plexbutler::client c(ioc, o);
    std::uint64_t allocations = 0;
    std::exception_ptr failed;
    bool done = false;
    boost::asio::co_spawn(ioc, steady_polls(c, state, refresh, allocations), [&](std::exception_ptr e) {
        failed = e;
        done = true;
    });
    while (!done)
        ioc.run_one();
    c.shutdown(); // the idle connection and its timers
    ioc.run();
    if (failed)
        std::rethrow_exception(failed);
    state.counters["allocs/req"] =
        benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
    const auto st = c.stats();
    state.counters["connections"] = static_cast<double>(st.connections_created);
}

void BM_steady_http_list(benchmark::State& state) { steady(state, false, false); }
void BM_steady_http_refresh(benchmark::State& state) { steady(state, false, true); }
void BM_steady_https_list(benchmark::State& state) { steady(state, true, false); }
void BM_steady_https_refresh(benchmark::State& state) { steady(state, true, true); }
BENCHMARK(BM_steady_http_list)->UseRealTime();
BENCHMARK(BM_steady_http_refresh)->UseRealTime();
BENCHMARK(BM_steady_https_list)->UseRealTime();
BENCHMARK(BM_steady_https_refresh)->UseRealTime();

} // namespace
