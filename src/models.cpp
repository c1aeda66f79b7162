#include <plexbutler/models.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace plexbutler {

namespace json = boost::json;

namespace {

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

constexpr std::string_view expected_object = "expected object";
constexpr std::string_view expected_array = "expected array";
constexpr std::string_view expected_string = "expected string";
constexpr std::string_view expected_number = "expected number";
constexpr std::string_view expected_integer = "expected integer";
constexpr std::string_view expected_boolean = "expected boolean (true, false, 0 or 1)";

// Records `problem` at `field` (a leaf below the current object).
bool fail_at(decode_error& err, std::string_view field, std::string_view problem)
{
    err.path.assign(field.data(), field.size());
    err.problem = problem;
    return false;
}

// Prefixes the path of a failure that happened inside `segment`.
void prefix_path(decode_error& err, std::string_view segment)
{
    if (err.path.empty()) {
        err.path.assign(segment.data(), segment.size());
    } else if (err.path.front() == '[') {
        err.path.insert(0, segment);
    } else {
        err.path.insert(0, 1, '.');
        err.path.insert(0, segment);
    }
}

void prefix_index(decode_error& err, std::size_t index)
{
    char buf[32];
    buf[0] = '[';
    char* end = std::to_chars(buf + 1, buf + sizeof buf - 1, index).ptr;
    *end++ = ']';
    prefix_path(err, std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

// Field decoders: null is the same as an absent field.
bool read_string(const json::value& v, std::optional<std::string>& out)
{
    if (const json::string* s = v.if_string()) {
        out.emplace(s->data(), s->size());
        return true;
    }
    return v.is_null();
}

bool read_number(const json::value& v, std::optional<double>& out)
{
    switch (v.kind()) {
    case json::kind::double_: out = v.get_double(); return true;
    case json::kind::int64: out = static_cast<double>(v.get_int64()); return true;
    case json::kind::uint64: out = static_cast<double>(v.get_uint64()); return true;
    case json::kind::null: return true;
    default: return false;
    }
}

// PMS' XML form uses "0"/"1": integers 0 and 1 are accepted, strings are not.
bool read_boolean(const json::value& v, std::optional<bool>& out)
{
    switch (v.kind()) {
    case json::kind::bool_: out = v.get_bool(); return true;
    case json::kind::int64:
        if (v.get_int64() == 0 || v.get_int64() == 1) {
            out = v.get_int64() == 1;
            return true;
        }
        return false;
    case json::kind::uint64:
        if (v.get_uint64() <= 1) {
            out = v.get_uint64() == 1;
            return true;
        }
        return false;
    case json::kind::null: return true;
    default: return false;
    }
}

// Integral JSON numbers, including doubles with an integral value (e.g. 1001.0).
bool read_integer(const json::value& v, std::optional<std::int64_t>& out)
{
    switch (v.kind()) {
    case json::kind::int64: out = v.get_int64(); return true;
    case json::kind::uint64:
        if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return false;
        }
        out = static_cast<std::int64_t>(v.get_uint64());
        return true;
    case json::kind::double_: {
        const double d = v.get_double();
        // 2^63 is exactly representable; anything at or above it does not fit.
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || std::trunc(d) != d) {
            return false;
        }
        out = static_cast<std::int64_t>(d);
        return true;
    }
    case json::kind::null: return true;
    default: return false;
    }
}

bool decode_task(const json::value& v, butler_task& out, decode_error& err)
{
    const json::object* obj = v.if_object();
    if (obj == nullptr) {
        err.problem = expected_object;
        return false;
    }
    for (const json::key_value_pair& kv : *obj) {
        const json::string_view key = kv.key();
        const json::value& field = kv.value();
        // The six wire names have distinct lengths: one size switch, one comparison.
        switch (key.size()) {
        case 4:
            if (key == "name" && !read_string(field, out.name)) {
                return fail_at(err, "name", expected_string);
            }
            break;
        case 5:
            if (key == "title" && !read_string(field, out.title)) {
                return fail_at(err, "title", expected_string);
            }
            break;
        case 7:
            if (key == "enabled" && !read_boolean(field, out.enabled)) {
                return fail_at(err, "enabled", expected_boolean);
            }
            break;
        case 8:
            if (key == "interval" && !read_number(field, out.interval)) {
                return fail_at(err, "interval", expected_number);
            }
            break;
        case 11:
            if (key == "description" && !read_string(field, out.description)) {
                return fail_at(err, "description", expected_string);
            }
            break;
        case 18:
            if (key == "scheduleRandomized" && !read_boolean(field, out.schedule_randomized)) {
                return fail_at(err, "scheduleRandomized", expected_boolean);
            }
            break;
        default: break;
        }
    }
    return true;
}

// Non-null value of `key` in `obj`, or nullptr (absent and null are the same).
const json::value* member(const json::object& obj, std::string_view key)
{
    const json::value* v = obj.if_contains(key);
    return v != nullptr && !v->is_null() ? v : nullptr;
}

bool decode_task_list(const json::value& v, butler_task_list& out, decode_error& err)
{
    const json::object* root = v.if_object();
    if (root == nullptr) {
        err.problem = "expected object with key \"ButlerTasks\" or \"MediaContainer\"";
        return false;
    }
    std::string_view envelope_key = "ButlerTasks";
    const json::value* envelope = member(*root, envelope_key);
    out.envelope = task_list_envelope::butler_tasks;
    if (envelope == nullptr) {
        envelope_key = "MediaContainer";
        envelope = member(*root, envelope_key);
        out.envelope = task_list_envelope::media_container;
    }
    if (envelope == nullptr) {
        err.problem = "expected key \"ButlerTasks\" or \"MediaContainer\"";
        return false;
    }
    const json::object* inner = envelope->if_object();
    if (inner == nullptr) {
        return fail_at(err, envelope_key, expected_object);
    }
    // PMS omits empty arrays: no ButlerTask means no tasks.
    const json::value* list = member(*inner, "ButlerTask");
    out.tasks.clear();
    if (list == nullptr) {
        return true;
    }
    const json::array* items = list->if_array();
    if (items == nullptr) {
        fail_at(err, "ButlerTask", expected_array);
        prefix_path(err, envelope_key);
        return false;
    }
    out.tasks.resize(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
        if (!decode_task((*items)[i], out.tasks[i], err)) {
            prefix_index(err, i);
            prefix_path(err, "ButlerTask");
            prefix_path(err, envelope_key);
            out.tasks.clear();
            return false;
        }
    }
    return true;
}

bool decode_plex_error(const json::value& v, plex_error& out, decode_error& err)
{
    const json::object* obj = v.if_object();
    if (obj == nullptr) {
        err.problem = expected_object;
        return false;
    }
    for (const json::key_value_pair& kv : *obj) {
        const json::string_view key = kv.key();
        if (key == "code") {
            if (!read_integer(kv.value(), out.code)) {
                return fail_at(err, "code", expected_integer);
            }
        } else if (key == "message") {
            if (!read_string(kv.value(), out.message)) {
                return fail_at(err, "message", expected_string);
            }
        } else if (key == "status") {
            if (!read_integer(kv.value(), out.status)) {
                return fail_at(err, "status", expected_integer);
            }
        }
    }
    return true;
}

bool decode_plex_error_list(const json::value& v, plex_error_list& out, decode_error& err)
{
    const json::object* root = v.if_object();
    if (root == nullptr) {
        err.problem = "expected object with key \"errors\"";
        return false;
    }
    const json::value* list = member(*root, "errors");
    if (list == nullptr) {
        err.problem = "expected key \"errors\"";
        return false;
    }
    const json::array* items = list->if_array();
    if (items == nullptr) {
        return fail_at(err, "errors", expected_array);
    }
    out.errors.clear();
    out.errors.resize(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
        if (!decode_plex_error((*items)[i], out.errors[i], err)) {
            prefix_index(err, i);
            prefix_path(err, "errors");
            out.errors.clear();
            return false;
        }
    }
    return true;
}

// ---- entry points -----------------------------------------------------------

failure decode_failure(std::string message)
{
    failure f{error::json_decode_failed, {}};
    f.diag.server_message = std::move(message);
    return f;
}

[[noreturn]] void throw_decode_error(const decode_error& err)
{
    diagnostics diag;
    diag.server_message = err.message();
    throw butler_error(error::json_decode_failed, std::move(diag));
}

template <class T>
T decode_or_throw(const json::value& v, bool (*decode)(const json::value&, T&, decode_error&))
{
    T out{};
    decode_error err;
    if (!decode(v, out, err)) {
        throw_decode_error(err);
    }
    return out;
}

std::string byte_message(std::size_t offset, std::string_view what)
{
    char buf[24];
    std::string out = "invalid JSON at byte ";
    out.append(buf, std::to_chars(buf, buf + sizeof buf, offset).ptr);
    out += ": ";
    out += what;
    return out;
}

template <class T>
boost::system::result<T, failure> parse_and_decode(std::string_view body, const json_limits& limits,
                                                   bool (*decode)(const json::value&, T&, decode_error&))
{
    if (body.size() > limits.max_bytes) {
        char buf[24];
        std::string message = "body of ";
        message.append(buf, std::to_chars(buf, buf + sizeof buf, body.size()).ptr);
        message += " bytes exceeds the JSON limit of ";
        message.append(buf, std::to_chars(buf, buf + sizeof buf, limits.max_bytes).ptr);
        message += " bytes";
        return decode_failure(std::move(message));
    }

    // The DOM only lives until it is decoded: a monotonic arena, on the stack first.
    alignas(std::max_align_t) unsigned char arena[16384];
    json::monotonic_resource resource(arena, sizeof arena);
    unsigned char parser_stack[2048];
    json::parse_options options;
    options.max_depth = limits.max_depth;
    json::parser parser(json::storage_ptr(), options, parser_stack, sizeof parser_stack);
    parser.reset(&resource);

    boost::system::error_code ec;
    const std::size_t consumed = parser.write_some(body.data(), body.size(), ec);
    if (ec) {
        return decode_failure(byte_message(consumed, ec.message()));
    }
    if (consumed != body.size()) {
        return decode_failure(byte_message(consumed, "unexpected data after the JSON value"));
    }
    const json::value root = parser.release();

    T out{};
    decode_error err;
    if (!decode(root, out, err)) {
        return decode_failure(err.message());
    }
    return out;
}

// Integral intervals are written as integers, as PMS does ("interval":3, not 3.0).
json::value interval_value(double interval, const json::storage_ptr& sp)
{
    if (!std::isfinite(interval)) {
        return json::value(nullptr, sp); // JSON cannot represent it; null reads back as absent
    }
    if (std::trunc(interval) == interval && std::fabs(interval) < 9007199254740992.0) {
        return json::value(static_cast<std::int64_t>(interval), sp);
    }
    return json::value(interval, sp);
}

} // namespace

const butler_task* butler_task_list::find(std::string_view name) const noexcept
{
    for (const butler_task& task : tasks) {
        if (task.name && *task.name == name) {
            return &task;
        }
    }
    return nullptr;
}

boost::system::result<butler_task_list, failure> parse_task_list(std::string_view body, const json_limits& limits)
{
    return parse_and_decode<butler_task_list>(body, limits, &decode_task_list);
}

boost::system::result<plex_error_list, failure> parse_plex_errors(std::string_view body, const json_limits& limits)
{
    return parse_and_decode<plex_error_list>(body, limits, &decode_plex_error_list);
}

butler_task tag_invoke(json::value_to_tag<butler_task>, const json::value& v)
{
    return decode_or_throw<butler_task>(v, &decode_task);
}

butler_task_list tag_invoke(json::value_to_tag<butler_task_list>, const json::value& v)
{
    return decode_or_throw<butler_task_list>(v, &decode_task_list);
}

plex_error tag_invoke(json::value_to_tag<plex_error>, const json::value& v)
{
    return decode_or_throw<plex_error>(v, &decode_plex_error);
}

plex_error_list tag_invoke(json::value_to_tag<plex_error_list>, const json::value& v)
{
    return decode_or_throw<plex_error_list>(v, &decode_plex_error_list);
}

void tag_invoke(json::value_from_tag, json::value& v, const butler_task& t)
{
    json::object& obj = v.emplace_object();
    obj.reserve(6);
    if (t.name) {
        obj.emplace("name", json::string_view(*t.name));
    }
    if (t.interval) {
        obj.emplace("interval", interval_value(*t.interval, obj.storage()));
    }
    if (t.schedule_randomized) {
        obj.emplace("scheduleRandomized", *t.schedule_randomized);
    }
    if (t.enabled) {
        obj.emplace("enabled", *t.enabled);
    }
    if (t.title) {
        obj.emplace("title", json::string_view(*t.title));
    }
    if (t.description) {
        obj.emplace("description", json::string_view(*t.description));
    }
}

void tag_invoke(json::value_from_tag, json::value& v, const butler_task_list& l)
{
    json::object& root = v.emplace_object();
    json::array items(root.storage());
    items.reserve(l.tasks.size());
    for (const butler_task& task : l.tasks) {
        items.push_back(json::value_from(task, root.storage()));
    }
    json::object inner(root.storage());
    inner.emplace("ButlerTask", std::move(items));
    root.emplace("ButlerTasks", std::move(inner));
}

void tag_invoke(json::value_from_tag, json::value& v, const plex_error& e)
{
    json::object& obj = v.emplace_object();
    if (e.code) {
        obj.emplace("code", *e.code);
    }
    if (e.message) {
        obj.emplace("message", json::string_view(*e.message));
    }
    if (e.status) {
        obj.emplace("status", *e.status);
    }
}

void tag_invoke(json::value_from_tag, json::value& v, const plex_error_list& l)
{
    json::object& root = v.emplace_object();
    json::array items(root.storage());
    items.reserve(l.errors.size());
    for (const plex_error& e : l.errors) {
        items.push_back(json::value_from(e, root.storage()));
    }
    root.emplace("errors", std::move(items));
}

} // namespace plexbutler
