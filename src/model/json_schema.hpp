#ifndef PLEXBUTLER_MODEL_JSON_SCHEMA_HPP
#define PLEXBUTLER_MODEL_JSON_SCHEMA_HPP

// What the DOM walk (json_decode.cpp) and the streaming decoder (stream_decoder.cpp) share:
// the failure record, the scalar view of a JSON value, the field decoders and the record
// schemas. Defined here, not in a .cpp, so each decoder can still inline them.

#include <plexbutler/models.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace plexbutler::detail {

// ---- the one decoding implementation -----------------------------------------
//
// Decoders return false and fill `decode_error` on the first problem. The field path
// is assembled only while unwinding from a failure, so success never builds strings.

struct decode_error {
    std::string path;         // e.g. "ButlerTasks.ButlerTask[3].interval"; empty = the top level
    std::string_view problem; // e.g. "expected number"

    std::string message() const
    {
        std::string out = path.empty() ? std::string("top level") : path;
        out += ": ";
        out += problem;
        return out;
    }
};

inline constexpr std::string_view expected_object = "expected object";
inline constexpr std::string_view expected_array = "expected array";
inline constexpr std::string_view expected_string = "expected string";
inline constexpr std::string_view expected_number = "expected number";
inline constexpr std::string_view expected_integer = "expected integer";
inline constexpr std::string_view expected_boolean = "expected boolean (true, false, 0 or 1)";

// A JSON value as a field decoder sees it. The DOM walk (value_to) and the streaming
// decoder (parse_task_list, parse_plex_errors) both convert to it, so the rules and the
// messages of every field exist once.
struct scalar {
    enum class kind : unsigned char { null, boolean, int64, uint64, double_, string, container };
    kind k = kind::null;
    bool b = false;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;
    std::string_view s;
};

// Field decoders: null is the same as an absent field (and resets it: the last duplicate wins).
inline bool read_string(const scalar& v, std::optional<std::string>& out)
{
    if (v.k == scalar::kind::string) {
        if (out) {
            // A reused string (an earlier duplicate, or a record decoded into again) keeps its
            // capacity; most often it already has the new length.
            if (out->size() != v.s.size())
                out->resize(v.s.size());
            if (!v.s.empty())
                std::memcpy(out->data(), v.s.data(), v.s.size());
        } else
            out.emplace(v.s.data(), v.s.size());
        return true;
    }
    if (v.k == scalar::kind::null) {
        out.reset();
        return true;
    }
    return false;
}

inline bool read_number(const scalar& v, std::optional<double>& out)
{
    switch (v.k) {
    case scalar::kind::double_: out = v.d; return true;
    case scalar::kind::int64: out = static_cast<double>(v.i); return true;
    case scalar::kind::uint64: out = static_cast<double>(v.u); return true;
    case scalar::kind::null: out.reset(); return true;
    default: return false;
    }
}

// PMS' XML form uses "0"/"1": integers 0 and 1 are accepted, strings are not.
inline bool read_boolean(const scalar& v, std::optional<bool>& out)
{
    switch (v.k) {
    case scalar::kind::boolean: out = v.b; return true;
    case scalar::kind::int64:
        if (v.i == 0 || v.i == 1) {
            out = v.i == 1;
            return true;
        }
        return false;
    case scalar::kind::uint64:
        if (v.u <= 1) {
            out = v.u == 1;
            return true;
        }
        return false;
    case scalar::kind::null: out.reset(); return true;
    default: return false;
    }
}

// Integral JSON numbers, including doubles with an integral value (e.g. 1001.0).
inline bool read_integer(const scalar& v, std::optional<std::int64_t>& out)
{
    switch (v.k) {
    case scalar::kind::int64: out = v.i; return true;
    case scalar::kind::uint64:
        if (v.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return false;
        }
        out = static_cast<std::int64_t>(v.u);
        return true;
    case scalar::kind::double_: {
        const double d = v.d;
        // 2^63 is exactly representable; anything at or above it does not fit.
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || std::trunc(d) != d) {
            return false;
        }
        out = static_cast<std::int64_t>(d);
        return true;
    }
    case scalar::kind::null: out.reset(); return true;
    default: return false;
    }
}

// ---- record schemas: the fields of one array element, shared by both decoders ----

// `key` (whose size is already known to match) equals the literal `name`.
template <std::size_t N>
bool is(std::string_view key, const char (&name)[N]) noexcept
{
    return std::memcmp(key.data(), name, N - 1) == 0;
}

struct task_schema {
    using record = butler_task;
    static constexpr int field_count = 6;
    static constexpr std::string_view field_names[field_count] = {"name",     "title",       "enabled",
                                                                  "interval", "description", "scheduleRandomized"};

    // The six wire names have distinct lengths: one size switch, one fixed-size comparison
    // (inlined, no memcmp call). -1: not a field.
    static int field_of(std::string_view key) noexcept
    {
        switch (key.size()) {
        case 4: return is(key, "name") ? 0 : -1;
        case 5: return is(key, "title") ? 1 : -1;
        case 7: return is(key, "enabled") ? 2 : -1;
        case 8: return is(key, "interval") ? 3 : -1;
        case 11: return is(key, "description") ? 4 : -1;
        case 18: return is(key, "scheduleRandomized") ? 5 : -1;
        default: return -1;
        }
    }

    // Empty on success, else the problem.
    static std::string_view apply(record& t, int f, const scalar& v)
    {
        switch (f) {
        case 0: return read_string(v, t.name) ? std::string_view() : expected_string;
        case 1: return read_string(v, t.title) ? std::string_view() : expected_string;
        case 2: return read_boolean(v, t.enabled) ? std::string_view() : expected_boolean;
        case 3: return read_number(v, t.interval) ? std::string_view() : expected_number;
        case 4: return read_string(v, t.description) ? std::string_view() : expected_string;
        default: return read_boolean(v, t.schedule_randomized) ? std::string_view() : expected_boolean;
        }
    }

    // A field the record did not mention (a reused record forgets its earlier value).
    static void clear(record& t, int f) noexcept
    {
        switch (f) {
        case 0: t.name.reset(); break;
        case 1: t.title.reset(); break;
        case 2: t.enabled.reset(); break;
        case 3: t.interval.reset(); break;
        case 4: t.description.reset(); break;
        default: t.schedule_randomized.reset(); break;
        }
    }

    // Where the records are: {"ButlerTasks"|"MediaContainer": {"ButlerTask": [...]}}; the first
    // envelope present (non-null) wins.
    static constexpr std::string_view envelopes[] = {"ButlerTasks", "MediaContainer"};
    static constexpr std::string_view inner = "ButlerTask";
    static constexpr std::string_view not_an_object = "expected object with key \"ButlerTasks\" or \"MediaContainer\"";
    static constexpr std::string_view no_envelope = "expected key \"ButlerTasks\" or \"MediaContainer\"";
};

struct plex_error_schema {
    using record = plex_error;
    static constexpr int field_count = 3;
    static constexpr std::string_view field_names[field_count] = {"code", "message", "status"};

    static int field_of(std::string_view key) noexcept
    {
        for (int f = 0; f < field_count; ++f)
            if (key == field_names[f])
                return f;
        return -1;
    }

    static std::string_view apply(record& e, int f, const scalar& v)
    {
        switch (f) {
        case 0: return read_integer(v, e.code) ? std::string_view() : expected_integer;
        case 1: return read_string(v, e.message) ? std::string_view() : expected_string;
        default: return read_integer(v, e.status) ? std::string_view() : expected_integer;
        }
    }

    static void clear(record& e, int f) noexcept
    {
        switch (f) {
        case 0: e.code.reset(); break;
        case 1: e.message.reset(); break;
        default: e.status.reset(); break;
        }
    }

    static constexpr std::string_view envelopes[] = {"errors"};
    static constexpr std::string_view inner = {};
    static constexpr std::string_view not_an_object = "expected object with key \"errors\"";
    static constexpr std::string_view no_envelope = "expected key \"errors\"";
};

} // namespace plexbutler::detail

#endif
