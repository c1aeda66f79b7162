// Microbenchmarks of building a client: CPU time and heap kept per client. A fleet builds one
// client per server, so this is paid 10,000 times. The heap is malloc's own count
// (mallinfo2: OpenSSL allocates with malloc, not operator new); the clients stay alive until
// the end of the loop, so it is what each one keeps.

#include "alloc_counter.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/options.hpp>

#include <boost/asio/io_context.hpp>

#include <benchmark/benchmark.h>

#include <malloc.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace {

std::size_t heap_in_use()
{
    const auto m = ::mallinfo2();
    return m.uordblks + m.hblkhd;
}

plexbutler::client_options construct_options(bool https)
{
    plexbutler::client_options o;
    o.server_url = https ? "https://127.0.0.1:32400" : "http://127.0.0.1:32400";
    o.token = "0123456789abcdefghij";
    o.client_identifier = "plexbutler-micro";
    return o;
}

// Builds state.iterations() clients, all kept alive; reports the heap and operator new calls per client.
void construct_clients(benchmark::State& state, bool https, bool keep_one)
{
    boost::asio::io_context ioc;
    const auto opts = construct_options(https);
    // Another client of the same configuration alive: what every client after the first one costs.
    std::optional<plexbutler::client> first;
    if (keep_one)
        first.emplace(ioc, opts);
    std::vector<std::optional<plexbutler::client>> clients(static_cast<std::size_t>(state.max_iterations));
    std::size_t i = 0;
    const auto heap0 = heap_in_use();
    const auto allocs0 = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        clients[i].emplace(ioc, opts);
        benchmark::DoNotOptimize(clients[i]);
        ++i;
    }
    const auto heap1 = heap_in_use();
    const auto allocs1 = plexbutler::bench::allocation_count();
    state.counters["heap_bytes/client"] =
        benchmark::Counter(static_cast<double>(heap1) - static_cast<double>(heap0), benchmark::Counter::kAvgIterations);
    state.counters["allocs/client"] =
        benchmark::Counter(static_cast<double>(allocs1 - allocs0), benchmark::Counter::kAvgIterations);
    clients.clear(); // after the timed loop
    first.reset();
    ioc.run(); // the destructors' shutdowns
}

// Every client after the first of its configuration (the fleet case).
void BM_construct_client_http(benchmark::State& state) { construct_clients(state, false, true); }
BENCHMARK(BM_construct_client_http)->Iterations(5000);

void BM_construct_client_https(benchmark::State& state) { construct_clients(state, true, true); }
BENCHMARK(BM_construct_client_https)->Iterations(5000);

// The first https client of its configuration: the TLS context and the system CA store are made.
void BM_construct_client_https_first(benchmark::State& state)
{
    for (auto _ : state) {
        boost::asio::io_context ioc;
        std::optional<plexbutler::client> c;
        c.emplace(ioc, construct_options(true));
        benchmark::DoNotOptimize(c);
        state.PauseTiming();
        c.reset();
        ioc.run();
        state.ResumeTiming();
    }
}
BENCHMARK(BM_construct_client_https_first)->Unit(benchmark::kMillisecond);

} // namespace
