// Microbenchmarks of the client's per-request bookkeeping, from its private src/detail
// headers: request serialisation, pool checkout/return, status classification.

#include "alloc_counter.hpp"

#include "http/request.hpp"
#include "sansio/classify.hpp"
#include "sansio/pool_state.hpp"

#include <plexbutler/options.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace {

using plexbutler::detail::operation_kind;

plexbutler::client_options bench_options()
{
    plexbutler::client_options o;
    o.server_url = "http://127.0.0.1:32400";
    o.token = "0123456789abcdefghij";
    o.client_identifier = "plexbutler-micro";
    return o;
}

void report_allocs(benchmark::State& state, std::uint64_t before)
{
    const auto allocs = plexbutler::bench::allocation_count() - before;
    state.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
}

// GET /butler: the request bytes are rendered once per client; a request copies nothing.
void BM_request_fixed_list(benchmark::State& state)
{
    const auto opts = bench_options();
    const auto ep = plexbutler::detail::parse_endpoint(opts);
    const plexbutler::detail::request_templates t(opts, ep);
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        const std::string& bytes = t.list();
        benchmark::DoNotOptimize(bytes.data());
    }
    report_allocs(state, before);
}
BENCHMARK(BM_request_fixed_list);

// POST /butler/{name}: the request line varies; rendering reuses the buffer's capacity.
void BM_request_render_start_task(benchmark::State& state)
{
    const auto opts = bench_options();
    const auto ep = plexbutler::detail::parse_endpoint(opts);
    const plexbutler::detail::request_templates t(opts, ep);
    std::string out;
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        t.render(out, operation_kind::start_task, "GenerateChapterThumbs");
        benchmark::DoNotOptimize(out.data());
    }
    report_allocs(state, before);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_request_render_start_task);

// One checkout of an idle connection and its return, the pool's hot path under load.
void BM_pool_checkout_release_idle(benchmark::State& state)
{
    plexbutler::detail::pool_state pool(static_cast<std::size_t>(state.range(0)), 65536,
                                        std::chrono::milliseconds(30000));
    const auto now = plexbutler::detail::pool_clock::now();
    // Warm the pool: every slot connected and idle.
    for (std::size_t i = 0; i < pool.capacity(); ++i) {
        const auto d = pool.checkout(i, now);
        pool.connected(d.slot);
    }
    for (std::size_t i = 0; i < pool.capacity(); ++i)
        pool.release(i, true, now);
    std::uint64_t id = 0;
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        const auto d = pool.checkout(++id, now);
        auto r = pool.release(d.slot, true, now);
        benchmark::DoNotOptimize(r);
    }
    report_allocs(state, before);
}
BENCHMARK(BM_pool_checkout_release_idle)->Arg(1)->Arg(8)->Arg(64);

// A full pool with queued waiters: each return hands the slot straight to the next waiter.
void BM_pool_handoff_to_waiter(benchmark::State& state)
{
    plexbutler::detail::pool_state pool(8, 65536, std::chrono::milliseconds(30000));
    const auto now = plexbutler::detail::pool_clock::now();
    std::uint64_t id = 0;
    for (std::size_t i = 0; i < pool.capacity(); ++i) {
        const auto d = pool.checkout(++id, now);
        pool.connected(d.slot);
    }
    for (int i = 0; i < 248; ++i) // 256 in flight over 8 connections
        pool.checkout(++id, now);
    std::size_t slot = 0;
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        auto r = pool.release(slot, true, now);
        pool.checkout(++id, now); // the finished operation's coroutine asks again
        slot = r.handoff ? r.handoff->slot : 0;
        benchmark::DoNotOptimize(r);
    }
    report_allocs(state, before);
}
BENCHMARK(BM_pool_handoff_to_waiter);

void BM_classify_status(benchmark::State& state)
{
    unsigned status = 200;
    for (auto _ : state) {
        auto c = plexbutler::detail::classify_status(operation_kind::start_task, status);
        benchmark::DoNotOptimize(c);
        status = status == 200 ? 202 : 200;
    }
}
BENCHMARK(BM_classify_status);

void BM_is_json_content_type(benchmark::State& state)
{
    for (auto _ : state) {
        bool b = plexbutler::detail::is_json_content_type("application/json; charset=utf-8");
        benchmark::DoNotOptimize(b);
    }
}
BENCHMARK(BM_is_json_content_type);

} // namespace
