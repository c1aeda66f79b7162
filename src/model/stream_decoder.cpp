#include "model/json_schema.hpp"

#include <plexbutler/models.hpp>

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler {

namespace json = boost::json;

namespace detail {
namespace {

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

// In this file's unnamed namespace, not in a header: with internal linkage g++ makes the same
// constprop clones of the parser's functions and partially inlines begin()/end() as before the
// split; as a header template (vague linkage) it did neither.
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

    int depth_ = 0; // containers open
    int skip_ = 0;  // depth of the container being skipped, 0 when none
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

} // namespace
} // namespace detail

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
    if (auto f = detail::check_size(body, limits))
        return failed(std::move(*f));
    json::basic_parser<detail::stream_decoder<detail::task_schema>> p(detail::options_for(limits),
                                                                      recycle ? &out.tasks : nullptr, guess);
    if (auto f = detail::parse_all(p, body))
        return failed(std::move(*f));
    std::size_t envelope = 0;
    detail::decode_error err;
    if (!p.handler().finish(envelope, out.tasks, err))
        return failed(detail::decode_failure(err.message()));
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
    if (auto f = detail::check_size(body, limits))
        return std::move(*f);
    json::basic_parser<detail::stream_decoder<detail::plex_error_schema>> p(detail::options_for(limits));
    if (auto f = detail::parse_all(p, body))
        return std::move(*f);
    plex_error_list out;
    std::size_t envelope = 0;
    detail::decode_error err;
    if (!p.handler().finish(envelope, out.errors, err))
        return detail::decode_failure(err.message());
    return out;
}

} // namespace plexbutler
