// What a DOM-less decoder would cost: a Boost.JSON basic_parser handler that decodes a
// GET /butler body straight into butler_task_list, without building a json::value first.
// It is a yardstick for plexbutler::parse_task_list (which parses into a DOM and then
// walks it), not a replacement: it checks types but reports no field paths. Its output is
// verified equal to parse_task_list's before it is timed.

#include "alloc_counter.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/models.hpp>

#include <benchmark/benchmark.h>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

namespace json = boost::json;
using boost::system::error_code;

class task_list_handler {
public:
    static constexpr std::size_t max_object_size = 4096;
    static constexpr std::size_t max_array_size = 65536;
    static constexpr std::size_t max_key_size = 256;
    static constexpr std::size_t max_string_size = 64 * 1024;

    plexbutler::butler_task_list list;

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }

    bool on_object_begin(error_code& ec)
    {
        ++depth_;
        if (depth_ == 2 && !envelope_ok())
            return fail(ec);
        if (depth_ == 4 && in_array_)
            list.tasks.emplace_back();
        return true;
    }
    bool on_object_end(std::size_t, error_code&)
    {
        --depth_;
        return true;
    }
    bool on_array_begin(error_code& ec)
    {
        ++depth_;
        if (depth_ == 3 && envelope_ok() && key_[2] == "ButlerTask") {
            in_array_ = true;
            list.tasks.reserve(32);
        } else if (depth_ <= 2 || (depth_ == 4 && in_array_)) {
            return fail(ec);
        }
        return true;
    }
    bool on_array_end(std::size_t, error_code&)
    {
        if (depth_ == 3)
            in_array_ = false;
        --depth_;
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, error_code&)
    {
        partial_.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code&)
    {
        if (depth_ <= 4) {
            auto& k = key_[depth_];
            if (partial_.empty())
                k.assign(s.data(), s.size());
            else {
                k = std::move(partial_);
                k.append(s.data(), s.size());
                partial_.clear();
            }
        }
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, error_code&)
    {
        partial_.append(s.data(), s.size());
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code& ec)
    {
        std::optional<std::string>* target = nullptr;
        if (in_task()) {
            const std::string& k = key_[4];
            if (k == "name")
                target = &task().name;
            else if (k == "title")
                target = &task().title;
            else if (k == "description")
                target = &task().description;
            else if (k == "interval" || is_bool_field())
                return fail(ec);
        }
        if (target) {
            if (partial_.empty())
                target->emplace(s.data(), s.size());
            else {
                partial_.append(s.data(), s.size());
                target->emplace(std::move(partial_));
            }
        }
        partial_.clear();
        return true;
    }
    bool on_number_part(json::string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, json::string_view, error_code& ec) { return number(static_cast<double>(i), ec); }
    bool on_uint64(std::uint64_t u, json::string_view, error_code& ec) { return number(static_cast<double>(u), ec); }
    bool on_double(double d, json::string_view, error_code& ec) { return number(d, ec); }
    bool on_bool(bool b, error_code& ec)
    {
        if (in_task()) {
            if (key_[4] == "enabled")
                task().enabled = b;
            else if (key_[4] == "scheduleRandomized")
                task().schedule_randomized = b;
            else if (key_[4] == "interval" || is_string_field())
                return fail(ec);
        }
        return true;
    }
    bool on_null(error_code&) { return true; } // absent and null read the same: nullopt
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }

private:
    bool envelope_ok() const { return key_[1] == "ButlerTasks" || key_[1] == "MediaContainer"; }
    bool in_task() const { return in_array_ && depth_ == 4; }
    plexbutler::butler_task& task() { return list.tasks.back(); }
    bool is_string_field() const { return key_[4] == "name" || key_[4] == "title" || key_[4] == "description"; }
    bool is_bool_field() const { return key_[4] == "enabled" || key_[4] == "scheduleRandomized"; }
    bool number(double d, error_code& ec)
    {
        if (!in_task())
            return true;
        if (key_[4] == "interval") {
            task().interval = d;
            return true;
        }
        return (is_string_field() || is_bool_field()) ? fail(ec) : true;
    }
    static bool fail(error_code& ec)
    {
        ec = json::error::syntax; // a shape error; the yardstick does not name the field
        return false;
    }

    int depth_ = 0;
    bool in_array_ = false;
    std::string key_[5];
    std::string partial_;
};

std::optional<plexbutler::butler_task_list> sax_decode(std::string_view body)
{
    json::parse_options opts;
    opts.max_depth = 32;
    json::basic_parser<task_list_handler> p(opts);
    error_code ec;
    const std::size_t n = p.write_some(false, body.data(), body.size(), ec);
    if (ec || n != body.size())
        return std::nullopt;
    return std::move(p.handler().list);
}

void BM_sax_decode_task_list(benchmark::State& state)
{
    plexbutler::butler_task_list source;
    source.tasks = plexbutler::emulator::default_catalogue();
    const std::string body = json::serialize(json::value_from(source));
    const auto reference = plexbutler::parse_task_list(body);
    const auto mine = sax_decode(body);
    if (!reference || !mine || !(*mine == *reference)) {
        state.SkipWithError("the SAX yardstick does not decode the catalogue like parse_task_list");
        return;
    }
    const auto before = plexbutler::bench::allocation_count();
    for (auto _ : state) {
        auto r = sax_decode(body);
        benchmark::DoNotOptimize(r);
    }
    state.counters["allocs/iter"] = benchmark::Counter(
        static_cast<double>(plexbutler::bench::allocation_count() - before), benchmark::Counter::kAvgIterations);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_sax_decode_task_list);

} // namespace
