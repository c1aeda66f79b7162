// Microbenchmarks of decoding a GET /butler body: plexbutler::parse_task_list (parse +
// decode into value types) against boost::json::parse of the same bytes alone. The
// target is decode <= 1.5x parse. Each benchmark reports heap allocations per iteration.

#include "alloc_counter.hpp"
#include "micro.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/models.hpp>

#include <benchmark/benchmark.h>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// The body the emulator's default catalogue encodes to (about 20 realistic tasks).
const std::string& catalogue_body()
{
    static const std::string body = [] {
        plexbutler::butler_task_list list;
        list.tasks = plexbutler::emulator::default_catalogue();
        return boost::json::serialize(boost::json::value_from(list));
    }();
    return body;
}

void report_allocs(benchmark::State& state, std::uint64_t before, std::size_t bytes)
{
    const auto allocs = plexbutler::bench::allocation_count() - before;
    state.counters["allocs/iter"] = benchmark::Counter(static_cast<double>(allocs), benchmark::Counter::kAvgIterations);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
}

void BM_json_parse(benchmark::State& state)
{
    const std::string& body = catalogue_body();
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        boost::json::value v = boost::json::parse(body);
        benchmark::DoNotOptimize(v);
    }
    report_allocs(state, before, body.size());
}
BENCHMARK(BM_json_parse);

// Parse into a monotonic buffer: the floor for any DOM-based decoder.
void BM_json_parse_monotonic(benchmark::State& state)
{
    const std::string& body = catalogue_body();
    unsigned char buffer[16384];
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        boost::json::monotonic_resource mr(buffer, sizeof buffer);
        boost::json::value v = boost::json::parse(body, &mr);
        benchmark::DoNotOptimize(v);
    }
    report_allocs(state, before, body.size());
}
BENCHMARK(BM_json_parse_monotonic);

// value_to alone, from an already parsed DOM: the cost of building the value types.
void BM_value_to_task_list(benchmark::State& state)
{
    const std::string& body = catalogue_body();
    const boost::json::value v = boost::json::parse(body);
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        auto list = boost::json::value_to<plexbutler::butler_task_list>(v);
        benchmark::DoNotOptimize(list);
    }
    report_allocs(state, before, body.size());
}
BENCHMARK(BM_value_to_task_list);

// What the client does per response: bytes in, value types out, limits applied.
void BM_parse_task_list(benchmark::State& state)
{
    const std::string& body = catalogue_body();
    if (!plexbutler::parse_task_list(body)) {
        state.SkipWithError("parse_task_list rejected the catalogue body");
        return;
    }
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        auto r = plexbutler::parse_task_list(body);
        benchmark::DoNotOptimize(r);
    }
    report_allocs(state, before, body.size());
}
BENCHMARK(BM_parse_task_list);

// A poller refreshing one list in place (parse_task_list_into, what try_refresh_butler_tasks does).
void BM_parse_task_list_into(benchmark::State& state)
{
    const std::string& body = catalogue_body();
    plexbutler::butler_task_list list;
    if (!plexbutler::parse_task_list_into(body, list)) {
        state.SkipWithError("parse_task_list_into rejected the catalogue body");
        return;
    }
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        auto r = plexbutler::parse_task_list_into(body, list);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(list.tasks.data());
    }
    report_allocs(state, before, body.size());
}
BENCHMARK(BM_parse_task_list_into);

// The floor of any decoder built on Boost.JSON's parser: basic_parser with a handler that
// does nothing (no DOM, no values), over the same bytes.
struct null_handler {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    using ec_t = boost::system::error_code;
    using sv = boost::json::string_view;
    bool on_document_begin(ec_t&) { return true; }
    bool on_document_end(ec_t&) { return true; }
    bool on_object_begin(ec_t&) { return true; }
    bool on_object_end(std::size_t, ec_t&) { return true; }
    bool on_array_begin(ec_t&) { return true; }
    bool on_array_end(std::size_t, ec_t&) { return true; }
    bool on_key_part(sv, std::size_t, ec_t&) { return true; }
    bool on_key(sv, std::size_t, ec_t&) { return true; }
    bool on_string_part(sv, std::size_t, ec_t&) { return true; }
    bool on_string(sv, std::size_t, ec_t&) { return true; }
    bool on_number_part(sv, ec_t&) { return true; }
    bool on_int64(std::int64_t, sv, ec_t&) { return true; }
    bool on_uint64(std::uint64_t, sv, ec_t&) { return true; }
    bool on_double(double, sv, ec_t&) { return true; }
    bool on_bool(bool, ec_t&) { return true; }
    bool on_null(ec_t&) { return true; }
    bool on_comment_part(sv, ec_t&) { return true; }
    bool on_comment(sv, ec_t&) { return true; }
};

void BM_basic_parser_null_handler(benchmark::State& state)
{
    const std::string& body = catalogue_body();
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        boost::json::basic_parser<null_handler> p(boost::json::parse_options{});
        boost::system::error_code ec;
        auto n = p.write_some(false, body.data(), body.size(), ec);
        benchmark::DoNotOptimize(n);
        if (ec) {
            state.SkipWithError("the catalogue body did not parse");
            return;
        }
    }
    report_allocs(state, before, body.size());
}
BENCHMARK(BM_basic_parser_null_handler);

// The realistic captured payload in test/fixtures, when present.
std::string read_fixture(const char* name)
{
    std::ifstream in(std::string(PLEXBUTLER_TEST_FIXTURES) + "/" + name, std::ios::binary);
    if (!in)
        return {};
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void BM_fixture(benchmark::State& state, const char* name, bool decode)
{
    const std::string body = read_fixture(name);
    if (body.empty()) {
        state.SkipWithError("fixture not found");
        return;
    }
    if (decode && !plexbutler::parse_task_list(body)) {
        state.SkipWithError("parse_task_list rejected the fixture");
        return;
    }
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        if (decode) {
            auto r = plexbutler::parse_task_list(body);
            benchmark::DoNotOptimize(r);
        } else {
            boost::json::value v = boost::json::parse(body);
            benchmark::DoNotOptimize(v);
        }
    }
    report_allocs(state, before, body.size());
}

} // namespace

void plexbutler::bench::register_fixture_benchmarks()
{
    // Every task-list payload under test/fixtures that decodes (malformed fixtures are skipped).
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(PLEXBUTLER_TEST_FIXTURES, ec)) {
        const auto name = entry.path().filename().string();
        if (entry.path().extension() != ".json" || !plexbutler::parse_task_list(read_fixture(name.c_str())))
            continue;
        static std::vector<std::string> names; // RegisterBenchmark keeps the pointer
        names.push_back(name);
        const char* n = names.back().c_str();
        benchmark::RegisterBenchmark(("BM_fixture_json_parse/" + name).c_str(),
                                     [n](benchmark::State& s) { BM_fixture(s, n, false); });
        benchmark::RegisterBenchmark(("BM_fixture_parse_task_list/" + name).c_str(),
                                     [n](benchmark::State& s) { BM_fixture(s, n, true); });
    }
}
