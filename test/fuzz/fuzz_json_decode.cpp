// libFuzzer target: arbitrary bytes through the JSON decoders of server bodies.
// Must never crash; whatever decodes must survive value_from -> value_to unchanged, and decoding
// into a reused list must give the same result as a fresh decode.

#include <plexbutler/models.hpp>

#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

// NaN never compares equal; value_from writes a non-finite interval as null (documented).
// `a` is the decoded original, `b` its round trip.
bool same_task(const plexbutler::butler_task& a, const plexbutler::butler_task& b)
{
    auto interval_eq = [](const std::optional<double>& x, const std::optional<double>& y) {
        if (x && !std::isfinite(*x))
            return !y.has_value();
        return x == y;
    };
    return a.name == b.name && interval_eq(a.interval, b.interval) && a.schedule_randomized == b.schedule_randomized &&
           a.enabled == b.enabled && a.title == b.title && a.description == b.description;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    // The client's defaults, and a tight variant so the depth/size limits themselves are exercised.
    const plexbutler::json_limits limits[] = {{}, {4, 256}};
    // parse_task_list_into over a list left from another document must give the same result.
    static const plexbutler::butler_task leftover{"Leftover",
                                                  2.5,
                                                  true,
                                                  false,
                                                  "a title past the small-string buffer",
                                                  "a description past the small-string buffer"};
    for (const auto& lim : limits) {
        plexbutler::butler_task_list reused;
        reused.tasks.assign(size % 4, leftover);
        reused.tasks.reserve(4);
        reused.envelope = size % 3 == 0 ? plexbutler::task_list_envelope::media_container
                                        : plexbutler::task_list_envelope::butler_tasks;
        const auto into = plexbutler::parse_task_list_into(body, reused, lim);
        if (auto list = plexbutler::parse_task_list(body, lim)) {
            if (!into || !(reused == *list) || reused.envelope != list->envelope)
                __builtin_trap();
            const boost::json::value v = boost::json::value_from(*list);
            const auto back = boost::json::value_to<plexbutler::butler_task_list>(v);
            if (back.tasks.size() != list->tasks.size())
                __builtin_trap();
            for (std::size_t i = 0; i < back.tasks.size(); ++i)
                if (!same_task(list->tasks[i], back.tasks[i]))
                    __builtin_trap();
        } else if (list.error().code != plexbutler::error::json_decode_failed ||
                   list.error().diag.server_message.empty()) {
            __builtin_trap(); // every rejection is a json_decode_failed that says why
        } else if (into || into.error().diag.server_message != list.error().diag.server_message ||
                   !reused.tasks.empty()) {
            __builtin_trap();
        }
        if (auto errors = plexbutler::parse_plex_errors(body, lim)) {
            const boost::json::value v = boost::json::value_from(*errors);
            if (boost::json::value_to<plexbutler::plex_error_list>(v) != *errors)
                __builtin_trap();
        } else if (errors.error().code != plexbutler::error::json_decode_failed) {
            __builtin_trap();
        }
    }
    return 0;
}
