#include "model/json_schema.hpp"

#include <plexbutler/models.hpp>

#include <boost/json/value.hpp>

#include <charconv>
#include <string_view>

// The DOM walk: value_to<butler_task_list> and friends, over a json::value already parsed.
// parse_task_list and parse_plex_errors do not build a DOM (stream_decoder.cpp) but give the
// same results and messages.

namespace plexbutler {

namespace json = boost::json;

namespace detail {
namespace {

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

scalar scalar_of(const json::value& v)
{
    scalar out;
    switch (v.kind()) {
    case json::kind::null: break;
    case json::kind::bool_:
        out.k = scalar::kind::boolean;
        out.b = v.get_bool();
        break;
    case json::kind::int64:
        out.k = scalar::kind::int64;
        out.i = v.get_int64();
        break;
    case json::kind::uint64:
        out.k = scalar::kind::uint64;
        out.u = v.get_uint64();
        break;
    case json::kind::double_:
        out.k = scalar::kind::double_;
        out.d = v.get_double();
        break;
    case json::kind::string:
        out.k = scalar::kind::string;
        out.s = std::string_view(v.get_string().data(), v.get_string().size());
        break;
    case json::kind::array:
    case json::kind::object: out.k = scalar::kind::container; break;
    }
    return out;
}

// ---- the DOM walk (value_to) -----------------------------------------------------------------

// Boost.JSON's DOM keeps the first position and the last value of a duplicate key; the
// streaming decoder reproduces both.
template <class Schema>
bool decode_record(const json::value& v, typename Schema::record& out, decode_error& err)
{
    const json::object* obj = v.if_object();
    if (obj == nullptr) {
        err.problem = expected_object;
        return false;
    }
    for (const json::key_value_pair& kv : *obj) {
        const int f = Schema::field_of(std::string_view(kv.key().data(), kv.key().size()));
        if (f < 0)
            continue;
        const std::string_view problem = Schema::apply(out, f, scalar_of(kv.value()));
        if (!problem.empty())
            return fail_at(err, Schema::field_names[f], problem);
    }
    return true;
}

bool decode_task(const json::value& v, butler_task& out, decode_error& err)
{
    return decode_record<task_schema>(v, out, err);
}

bool decode_plex_error(const json::value& v, plex_error& out, decode_error& err)
{
    return decode_record<plex_error_schema>(v, out, err);
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
        err.problem = task_schema::not_an_object;
        return false;
    }
    std::string_view envelope_key = task_schema::envelopes[0];
    const json::value* envelope = member(*root, envelope_key);
    out.envelope = task_list_envelope::butler_tasks;
    if (envelope == nullptr) {
        envelope_key = task_schema::envelopes[1];
        envelope = member(*root, envelope_key);
        out.envelope = task_list_envelope::media_container;
    }
    if (envelope == nullptr) {
        err.problem = task_schema::no_envelope;
        return false;
    }
    const json::object* inner = envelope->if_object();
    if (inner == nullptr) {
        return fail_at(err, envelope_key, expected_object);
    }
    // PMS omits empty arrays: no ButlerTask means no tasks.
    const json::value* list = member(*inner, task_schema::inner);
    out.tasks.clear();
    if (list == nullptr) {
        return true;
    }
    const json::array* items = list->if_array();
    if (items == nullptr) {
        fail_at(err, task_schema::inner, expected_array);
        prefix_path(err, envelope_key);
        return false;
    }
    out.tasks.resize(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
        if (!decode_task((*items)[i], out.tasks[i], err)) {
            prefix_index(err, i);
            prefix_path(err, task_schema::inner);
            prefix_path(err, envelope_key);
            out.tasks.clear();
            return false;
        }
    }
    return true;
}

bool decode_plex_error_list(const json::value& v, plex_error_list& out, decode_error& err)
{
    const json::object* root = v.if_object();
    if (root == nullptr) {
        err.problem = plex_error_schema::not_an_object;
        return false;
    }
    const json::value* list = member(*root, plex_error_schema::envelopes[0]);
    if (list == nullptr) {
        err.problem = plex_error_schema::no_envelope;
        return false;
    }
    const json::array* items = list->if_array();
    if (items == nullptr) {
        return fail_at(err, plex_error_schema::envelopes[0], expected_array);
    }
    out.errors.clear();
    out.errors.resize(items->size());
    for (std::size_t i = 0; i < items->size(); ++i) {
        if (!decode_plex_error((*items)[i], out.errors[i], err)) {
            prefix_index(err, i);
            prefix_path(err, plex_error_schema::envelopes[0]);
            out.errors.clear();
            return false;
        }
    }
    return true;
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

} // namespace
} // namespace detail

butler_task tag_invoke(json::value_to_tag<butler_task>, const json::value& v)
{
    return detail::decode_or_throw<butler_task>(v, &detail::decode_task);
}

butler_task_list tag_invoke(json::value_to_tag<butler_task_list>, const json::value& v)
{
    return detail::decode_or_throw<butler_task_list>(v, &detail::decode_task_list);
}

plex_error tag_invoke(json::value_to_tag<plex_error>, const json::value& v)
{
    return detail::decode_or_throw<plex_error>(v, &detail::decode_plex_error);
}

plex_error_list tag_invoke(json::value_to_tag<plex_error_list>, const json::value& v)
{
    return detail::decode_or_throw<plex_error_list>(v, &detail::decode_plex_error_list);
}

} // namespace plexbutler
