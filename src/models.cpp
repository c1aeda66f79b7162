#include <plexbutler/models.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>
#include <cmath>
#include <cstring>
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

scalar scalar_of(const json::value& v)
{
    scalar out;
    switch (v.kind()) {
    case json::kind::null: break;
    case json::kind::bool_: out.k = scalar::kind::boolean; out.b = v.get_bool(); break;
    case json::kind::int64: out.k = scalar::kind::int64; out.i = v.get_int64(); break;
    case json::kind::uint64: out.k = scalar::kind::uint64; out.u = v.get_uint64(); break;
    case json::kind::double_: out.k = scalar::kind::double_; out.d = v.get_double(); break;
    case json::kind::string: out.k = scalar::kind::string; out.s = std::string_view(v.get_string().data(), v.get_string().size()); break;
    case json::kind::array:
    case json::kind::object: out.k = scalar::kind::container; break;
    }
    return out;
}

// Field decoders: null is the same as an absent field (and resets it: the last duplicate wins).
bool read_string(const scalar& v, std::optional<std::string>& out)
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

bool read_number(const scalar& v, std::optional<double>& out)
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
bool read_boolean(const scalar& v, std::optional<bool>& out)
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
bool read_integer(const scalar& v, std::optional<std::int64_t>& out)
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
    static constexpr std::string_view field_names[field_count] = {"name", "title", "enabled", "interval", "description",
                                                                  "scheduleRandomized"};

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

// ---- the streaming decoder (parse_task_list, parse_plex_errors) ---------------------------------
//
// A Boost.JSON basic_parser handler that decodes straight into the value types, without a DOM,
// with the DOM walk's results and messages: syntax errors (the whole input is parsed; the
// handler never stops the parser) win over shape errors; a duplicate key keeps its first
// position and its last value; null is absent; unknown fields of any type are skipped.

// Records of the largest list kept for reuse on a thread (a hostile body of `{},{},...` must
// not leave a huge scratch vector behind).
constexpr std::size_t max_kept_records = 1024;
constexpr std::size_t max_kept_string = 64 * 1024;

template <class Schema>
class stream_decoder {
    using error_code = boost::system::error_code;

public:
    using record = typename Schema::record;
    static constexpr std::size_t envelope_count = std::size(Schema::envelopes);
    static constexpr bool has_inner = !Schema::inner.empty();
    static constexpr int array_depth = has_inner ? 3 : 2; // depth inside the record array
    static constexpr int record_depth = array_depth + 1;  // depth inside one record

    // Limits of the DOM parser's handler: the same input is accepted.
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    // The record vectors and string buffers are borrowed from the thread's previous decode.
    // `recycled` (optional) is a caller's previous result, taken for envelope `recycled_env`:
    // its records are decoded into again, so their strings keep their capacity.
    explicit stream_decoder(std::vector<record>* recycled = nullptr, std::size_t recycled_env = 0)
    {
        if (recycled != nullptr && recycled_env < envelope_count) {
            recycled_ = recycled_env;
            slots_[recycled_env].items.swap(*recycled);
        }
        kept& k = scratch();
        for (std::size_t e = 0; e < envelope_count; ++e)
            if (e != recycled_)
                slots_[e].items.swap(k.items[e]);
        part_.swap(k.part);
        joined_.swap(k.joined);
    }
    ~stream_decoder()
    {
        kept& k = scratch();
        for (std::size_t e = 0; e < envelope_count; ++e) {
            if (e == recycled_)
                continue; // the caller's: moved out by finish(), or dropped with a failure
            auto& items = slots_[e].items;
            items.clear();
            if (items.capacity() <= max_kept_records)
                items.swap(k.items[e]);
        }
        part_.clear();
        joined_.clear();
        if (part_.capacity() <= max_kept_string)
            part_.swap(k.part);
        if (joined_.capacity() <= max_kept_string)
            joined_.swap(k.joined);
    }
    stream_decoder(const stream_decoder&) = delete;
    stream_decoder& operator=(const stream_decoder&) = delete;

    // After a complete parse: the envelope used and its records, or false with `err` filled.
    bool finish(std::size_t& envelope, std::vector<record>& out, decode_error& err)
    {
        if (!root_is_object_) {
            err.problem = Schema::not_an_object;
            return false;
        }
        for (std::size_t e = 0; e < envelope_count; ++e) {
            slot& s = slots_[e];
            if (!s.present)
                continue;
            if (s.failed) {
                err = std::move(s.err);
                return false;
            }
            envelope = e;
            if (e == recycled_) {
                s.items.erase(s.items.begin() + static_cast<std::ptrdiff_t>(s.count), s.items.end());
                out.swap(s.items);
                return true;
            }
            out.clear();
            out.reserve(s.count); // one allocation of the exact size, as the DOM walk does
            for (std::size_t i = 0; i < s.count; ++i)
                out.push_back(std::move(s.items[i]));
            return true;
        }
        err.problem = Schema::no_envelope;
        return false;
    }

    // ---- basic_parser handler interface ----
    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_object_begin(error_code&) { return begin(true); }
    bool on_object_end(std::size_t, error_code&) { return end(); }
    bool on_array_begin(error_code&) { return begin(false); }
    bool on_array_end(std::size_t, error_code&) { return end(); }
    bool on_key_part(json::string_view s, std::size_t, error_code&)
    {
        if (skip_ == 0)
            part_.append(s.data(), s.size());
        return true;
    }
    bool on_key(json::string_view s, std::size_t, error_code&)
    {
        if (skip_ == 0)
            key(whole(s));
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, error_code&)
    {
        if (skip_ == 0)
            part_.append(s.data(), s.size());
        return true;
    }
    bool on_string(json::string_view s, std::size_t, error_code&)
    {
        if (skip_ == 0) {
            scalar v;
            v.k = scalar::kind::string;
            v.s = whole(s);
            value(v);
        }
        return true;
    }
    bool on_number_part(json::string_view, error_code&) { return true; }
    bool on_int64(std::int64_t i, json::string_view, error_code&)
    {
        scalar v;
        v.k = scalar::kind::int64;
        v.i = i;
        return value(v);
    }
    bool on_uint64(std::uint64_t u, json::string_view, error_code&)
    {
        scalar v;
        v.k = scalar::kind::uint64;
        v.u = u;
        return value(v);
    }
    bool on_double(double d, json::string_view, error_code&)
    {
        scalar v;
        v.k = scalar::kind::double_;
        v.d = d;
        return value(v);
    }
    bool on_bool(bool b, error_code&)
    {
        scalar v;
        v.k = scalar::kind::boolean;
        v.b = b;
        return value(v);
    }
    bool on_null(error_code&) { return value(scalar{}); }
    bool on_comment_part(json::string_view, error_code&) { return true; }
    bool on_comment(json::string_view, error_code&) { return true; }

private:
    struct slot {
        bool present = false; // the envelope key's last value is not null
        bool failed = false;
        decode_error err;
        std::vector<record> items; // items[0, count) are this list's; later ones are spare
        std::size_t count = 0;
    };

    struct kept {
        std::vector<record> items[envelope_count];
        std::string part, joined;
    };
    static kept& scratch()
    {
        thread_local kept k;
        return k;
    }

    // A key or string delivered in parts is assembled in `part_`.
    std::string_view whole(json::string_view last)
    {
        if (part_.empty())
            return std::string_view(last.data(), last.size());
        part_.append(last.data(), last.size());
        joined_.swap(part_);
        part_.clear();
        return joined_;
    }

    slot& current() { return slots_[env_]; }

    void reset_list(slot& s)
    {
        s.failed = false;
        s.count = 0; // spare records are decoded into again
        index_ = 0;
    }

    // A shape failure inside envelope `env_`: the path is built once, here.
    void fail(std::string_view problem, bool with_inner, bool with_index, std::string_view field = {})
    {
        slot& s = current();
        s.failed = true;
        s.err.problem = problem;
        std::string& p = s.err.path;
        p.assign(Schema::envelopes[env_]);
        if (with_inner) {
            p += '.';
            p.append(Schema::inner);
        }
        if (with_index) {
            char buf[24];
            p += '[';
            p.append(buf, std::to_chars(buf, buf + sizeof buf, index_).ptr);
            p += ']';
        }
        if (!field.empty()) {
            p += '.';
            p.append(field);
        }
    }

    // The record array is open: directly inside the envelope, or inside its inner object.
    bool begin(bool object)
    {
        if (skip_ != 0) {
            ++depth_;
            return true;
        }
        bool enter = false;
        if (depth_ == 0) {
            root_is_object_ = object;
            enter = object;
        } else if (depth_ == 1) {
            if (env_ != no_env) {
                slot& s = current();
                s.present = true;
                if (has_inner ? object : !object)
                    enter = true;
                else
                    fail(has_inner ? expected_object : expected_array, false, false);
            }
        } else if (has_inner && depth_ == 2) {
            if (in_inner_) {
                if (!object)
                    enter = true;
                else
                    fail(expected_array, true, false);
            }
        } else if (depth_ == array_depth) {
            if (!current().failed) {
                if (object) {
                    enter = true;
                    slot& s = current();
                    rec_ = s.count < s.items.size() ? &s.items[s.count] : &s.items.emplace_back();
                    ++s.count;
                    for (int& f : first_)
                        f = -1;
                    for (auto& p : problem_)
                        p = {};
                    order_ = 0;
                    field_ = -1;
                } else {
                    fail(expected_object, has_inner, true);
                }
            }
        } else if (depth_ == record_depth) {
            if (field_ >= 0) {
                scalar v;
                v.k = scalar::kind::container;
                problem_[field_] = Schema::apply(*rec_, field_, v);
            }
        }
        ++depth_;
        if (!enter)
            skip_ = depth_;
        return true;
    }

    bool end()
    {
        if (skip_ != 0) {
            if (depth_ == skip_)
                skip_ = 0;
            --depth_;
            return true;
        }
        if (depth_ == record_depth) {
            // The DOM walk reports the first bad field in object order (first occurrences).
            int worst = -1;
            for (int f = 0; f < Schema::field_count; ++f)
                if (!problem_[f].empty() && (worst < 0 || first_[f] < first_[worst]))
                    worst = f;
            if (worst >= 0)
                fail(problem_[worst], has_inner, true, Schema::field_names[worst]);
            for (int f = 0; f < Schema::field_count; ++f)
                if (first_[f] < 0)
                    Schema::clear(*rec_, f); // absent here: a reused record must not keep it
            ++index_;
        } else if (depth_ == 2 && has_inner) {
            in_inner_ = false;
        } else if (depth_ == 1) {
            env_ = no_env;
        }
        --depth_;
        return true;
    }

    // key() and value() stay out of line: inlined into Boost.JSON's string parser they made it too
    // big for g++ to inline its scanner (count_valid), which cost more than the calls (micro_decode).
    BOOST_NOINLINE void key(std::string_view k)
    {
        if (depth_ == record_depth) { // the common case first
            field_ = Schema::field_of(k);
            if (field_ >= 0 && first_[field_] < 0)
                first_[field_] = order_++;
        } else if (depth_ == 1) {
            env_ = no_env;
            for (std::size_t e = 0; e < envelope_count; ++e) {
                if (k == Schema::envelopes[e]) {
                    env_ = e;
                    slot& s = current();
                    s.present = false; // the last duplicate wins: forget the earlier value
                    reset_list(s);
                    break;
                }
            }
        } else if (has_inner && depth_ == 2) {
            in_inner_ = k == Schema::inner;
            if (in_inner_)
                reset_list(current());
        }
    }

    BOOST_NOINLINE bool value(const scalar& v)
    {
        if (skip_ != 0)
            return true;
        if (depth_ == record_depth) { // the common case first
            if (field_ >= 0)
                problem_[field_] = Schema::apply(*rec_, field_, v);
        } else if (depth_ == 0) {
            root_is_object_ = false;
        } else if (depth_ == 1) {
            if (env_ != no_env) {
                slot& s = current();
                s.present = v.k != scalar::kind::null;
                if (s.present)
                    fail(has_inner ? expected_object : expected_array, false, false);
            }
        } else if (has_inner && depth_ == 2) {
            if (in_inner_ && v.k != scalar::kind::null)
                fail(expected_array, true, false);
        } else if (depth_ == array_depth) {
            if (!current().failed)
                fail(expected_object, has_inner, true);
        }
        return true;
    }

    static constexpr std::size_t no_env = static_cast<std::size_t>(-1);

    int depth_ = 0;          // containers open
    int skip_ = 0;           // depth of the container being skipped, 0 when none
    bool root_is_object_ = false;
    std::size_t env_ = no_env; // envelope whose value is being read (depth >= 1)
    bool in_inner_ = false;    // inside the inner object, the value of its record-array key
    std::size_t index_ = 0;    // index of the current record
    record* rec_ = nullptr;    // the record being decoded (items only grow when one begins)
    int field_ = -1;           // field of the current record's key
    int order_ = 0;            // first-occurrence order of the record's fields
    int first_[Schema::field_count] = {};
    std::string_view problem_[Schema::field_count] = {};
    slot slots_[envelope_count];
    std::size_t recycled_ = no_env; // the slot holding the caller's records, if any
    std::string part_, joined_;
};

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

std::optional<failure> check_size(std::string_view body, const json_limits& limits)
{
    if (body.size() <= limits.max_bytes)
        return std::nullopt;
    char buf[24];
    std::string message = "body of ";
    message.append(buf, std::to_chars(buf, buf + sizeof buf, body.size()).ptr);
    message += " bytes exceeds the JSON limit of ";
    message.append(buf, std::to_chars(buf, buf + sizeof buf, limits.max_bytes).ptr);
    message += " bytes";
    return decode_failure(std::move(message));
}

// Parses all of `body` with `p` (whose handler never stops the parse); a syntax error wins.
template <class Handler>
std::optional<failure> parse_all(json::basic_parser<Handler>& p, std::string_view body)
{
    boost::system::error_code ec;
    const std::size_t consumed = p.write_some(false, body.data(), body.size(), ec);
    if (ec) {
        return decode_failure(byte_message(consumed, ec.message()));
    }
    if (consumed != body.size()) {
        return decode_failure(byte_message(consumed, "unexpected data after the JSON value"));
    }
    return std::nullopt;
}

json::parse_options options_for(const json_limits& limits)
{
    json::parse_options options;
    options.max_depth = limits.max_depth;
    return options;
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

boost::system::result<void, failure> parse_task_list_into(std::string_view body, butler_task_list& out,
                                                          const json_limits& limits)
{
    // Records are reused only from a list that has some (a fresh list gets one exact-size vector).
    const bool recycle = out.tasks.capacity() > 0;
    const std::size_t guess = out.envelope == task_list_envelope::media_container ? 1 : 0;
    auto failed = [&](failure f) {
        out.tasks.clear();
        return f;
    };
    if (auto f = check_size(body, limits))
        return failed(std::move(*f));
    json::basic_parser<stream_decoder<task_schema>> p(options_for(limits), recycle ? &out.tasks : nullptr, guess);
    if (auto f = parse_all(p, body))
        return failed(std::move(*f));
    std::size_t envelope = 0;
    decode_error err;
    if (!p.handler().finish(envelope, out.tasks, err))
        return failed(decode_failure(err.message()));
    out.envelope = envelope == 0 ? task_list_envelope::butler_tasks : task_list_envelope::media_container;
    return {};
}

boost::system::result<butler_task_list, failure> parse_task_list(std::string_view body, const json_limits& limits)
{
    butler_task_list out;
    if (auto r = parse_task_list_into(body, out, limits); !r)
        return std::move(r).error();
    return out;
}

boost::system::result<plex_error_list, failure> parse_plex_errors(std::string_view body, const json_limits& limits)
{
    if (auto f = check_size(body, limits))
        return std::move(*f);
    json::basic_parser<stream_decoder<plex_error_schema>> p(options_for(limits));
    if (auto f = parse_all(p, body))
        return std::move(*f);
    plex_error_list out;
    std::size_t envelope = 0;
    decode_error err;
    if (!p.handler().finish(envelope, out.errors, err))
        return decode_failure(err.message());
    return out;
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
