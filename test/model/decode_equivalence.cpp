// parse_task_list and parse_plex_errors decode without a DOM; value_to walks a DOM. Both must
// give the same values and the same messages for every input: duplicate keys, nulls, wrong
// types at every level, unknown nested fields, escaped keys. Checked on hand-written cases and
// on a deterministic stream of generated documents shaped like (and unlike) the envelopes.

#include <plexbutler/error.hpp>
#include <plexbutler/models.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value_to.hpp>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace plexbutler;
namespace json = boost::json;

namespace {

// The DOM reference: Boost.JSON's parser (same depth limit), then value_to.
template <class T, class Stream>
void check_same(const std::string& body, Stream stream)
{
    INFO("body: " << body);
    json::parse_options opts;
    opts.max_depth = json_limits{}.max_depth;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec, {}, opts);
    auto mine = stream(body);
    if (ec) {
        REQUIRE_FALSE(mine.has_value());
        CHECK(mine.error().diag.server_message.rfind("invalid JSON at byte ", 0) == 0);
        return;
    }
    try {
        T expected = json::value_to<T>(v);
        REQUIRE(mine.has_value());
        CHECK(*mine == expected);
        if constexpr (std::is_same_v<T, butler_task_list>)
            CHECK(mine->envelope == expected.envelope);
    } catch (const butler_error& e) {
        REQUIRE_FALSE(mine.has_value());
        CHECK(mine.error().code == error::json_decode_failed);
        CHECK(mine.error().diag.server_message == e.diag().server_message);
    }
}

void check_tasks(const std::string& body)
{
    check_same<butler_task_list>(body, [](const std::string& b) { return parse_task_list(b); });
}

void check_errors(const std::string& body)
{
    check_same<plex_error_list>(body, [](const std::string& b) { return parse_plex_errors(b); });
}

// Generates JSON text biased towards the envelopes' shapes.
class generator {
public:
    explicit generator(unsigned seed) : rng_(seed) {}

    std::string document(bool plex)
    {
        std::string out;
        if (pick(10) == 0)
            value(out, 0, plex);
        else
            root(out, plex);
        return out;
    }

private:
    unsigned pick(unsigned n) { return static_cast<unsigned>(rng_() % n); }

    void root(std::string& out, bool plex)
    {
        static const char* keys[] = {"ButlerTasks", "MediaContainer", "errors", "x"};
        out += '{';
        const unsigned n = pick(4);
        for (unsigned i = 0; i < n; ++i) {
            if (i)
                out += ',';
            const char* k = plex ? (pick(3) == 0 ? "x" : "errors") : keys[pick(4)];
            out += '"';
            out += k;
            out += "\":";
            if (plex)
                array_of_records(out, 2, plex);
            else
                envelope(out);
        }
        out += '}';
    }

    void envelope(std::string& out)
    {
        if (pick(6) == 0) {
            value(out, 2, false);
            return;
        }
        out += '{';
        const unsigned n = pick(3);
        for (unsigned i = 0; i < n; ++i) {
            if (i)
                out += ',';
            out += pick(4) == 0 ? "\"Other\":" : (pick(8) == 0 ? "\"Butler\\u0054ask\":" : "\"ButlerTask\":");
            array_of_records(out, 3, false);
        }
        out += '}';
    }

    void array_of_records(std::string& out, int depth, bool plex)
    {
        if (pick(6) == 0) {
            value(out, depth, plex);
            return;
        }
        out += '[';
        const unsigned n = pick(4);
        for (unsigned i = 0; i < n; ++i) {
            if (i)
                out += ',';
            if (pick(8) == 0)
                value(out, depth + 1, plex);
            else
                record(out, depth + 1, plex);
        }
        out += ']';
    }

    void record(std::string& out, int depth, bool plex)
    {
        static const char* task_keys[] = {
            "name", "title", "enabled", "interval", "description", "scheduleRandomized", "nam\\u0065", "other"};
        static const char* error_keys[] = {"code", "message", "status", "other"};
        out += '{';
        const unsigned n = pick(7);
        for (unsigned i = 0; i < n; ++i) {
            if (i)
                out += ',';
            out += '"';
            out += plex ? error_keys[pick(4)] : task_keys[pick(8)];
            out += "\":";
            value(out, depth + 1, plex);
        }
        out += '}';
    }

    void value(std::string& out, int depth, bool plex)
    {
        static const char* scalars[] = {"null",
                                        "true",
                                        "false",
                                        "0",
                                        "1",
                                        "2",
                                        "-1",
                                        "1.5",
                                        "1001.0",
                                        "1e300",
                                        "18446744073709551615",
                                        "-9223372036854775808",
                                        "\"s\"",
                                        "\"\"",
                                        "\"long string beyond the small buffer\"",
                                        "\"esc\\n\\u00e9\""};
        const unsigned k = depth < 6 ? pick(20) : 0;
        if (k == 18) {
            out += '[';
            const unsigned n = pick(3);
            for (unsigned i = 0; i < n; ++i) {
                if (i)
                    out += ',';
                value(out, depth + 1, plex);
            }
            out += ']';
        } else if (k == 19) {
            record(out, depth, plex);
        } else {
            out += scalars[pick(sizeof scalars / sizeof scalars[0])];
        }
    }

    std::minstd_rand rng_;
};

} // namespace

TEST_CASE("streaming decoders match the DOM walk on hand-written cases", "[models]")
{
    for (const char* body : {
             R"({"ButlerTasks":{"ButlerTask":[{"name":"A","name":null}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"interval":"x","interval":3}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"interval":3,"interval":"x"}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"interval":"x","name":1,"interval":2}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"name":1,"interval":"x","name":"ok"}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"title":1,"name":2}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"enabled":"x","title":1,"enabled":true,"interval":[]}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"title":{"a":[1,{"b":2}]}}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"x":{"name":1},"name":"n"}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{}],"ButlerTask":[1]}})",
             R"({"ButlerTasks":{"ButlerTask":[1],"ButlerTask":[{}]}})",
             R"({"ButlerTasks":{"ButlerTask":[1],"ButlerTask":null}})",
             R"({"ButlerTasks":5,"ButlerTasks":null,"MediaContainer":{}})",
             R"({"ButlerTasks":null,"ButlerTasks":{}})",
             R"({"MediaContainer":{"ButlerTask":[{"name":"m"}]},"ButlerTasks":{"ButlerTask":[{"name":"b"}]}})",
             R"({"MediaContainer":7,"ButlerTasks":{"ButlerTask":[]}})",
             R"({"ButlerTasks":{"ButlerTask":[]},"MediaContainer":7})",
             R"({"ButlerTasks":[],"MediaContainer":{}})",
             R"({"Butler\u0054asks":{"Butler\u0054ask":[{"na\u006de":"esc"}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{"enabled":1,"scheduleRandomized":0},{"enabled":2}]}})",
             R"({"ButlerTasks":{"ButlerTask":[{},{},{},{},{},{},{},{},{},{},{"enabled":"1"}]}})",
             R"([{"ButlerTasks":{}}])",
             R"("ButlerTasks")",
             R"({"ButlerTasks":{"ButlerTask":[{"name":1}]},"x":[}})",
         })
        check_tasks(body);
    for (const char* body : {
             R"({"errors":[{"code":1,"code":"x"}]})",
             R"({"errors":[{"code":"x","code":1}]})",
             R"({"errors":[{"message":null,"message":"m","status":401.0}]})",
             R"({"errors":5,"errors":[]})",
             R"({"errors":[],"errors":null})",
             R"({"errors":[[1]]})",
             R"({"errors":[{"code":{"nested":[1]}}]})",
         })
        check_errors(body);
}

TEST_CASE("streaming decoders match the DOM walk on generated documents", "[models]")
{
    generator gen(20261128);
    for (int i = 0; i < 3000; ++i) {
        check_tasks(gen.document(false));
        check_errors(gen.document(true));
    }
}

// parse_task_list_into, decoding into a list left over from an unrelated document (records
// with other fields, more or fewer of them, the other envelope), gives parse_task_list's result.
TEST_CASE("decoding into a reused list matches a fresh decode on generated documents", "[models]")
{
    generator gen(20261129);
    // Leftovers: every field set (so each must be overwritten or forgotten), 0 to 3 records.
    const butler_task full{"LeftoverName",
                           9.5,
                           true,
                           false,
                           "A leftover title longer than the small-string buffer",
                           "A leftover description, also longer than the small-string buffer"};
    butler_task_list reused;
    std::size_t decoded = 0, reused_records = 0;
    for (int i = 0; i < 3000; ++i) {
        const std::string body = gen.document(false);
        INFO("body: " << body);
        reused.tasks.assign(static_cast<std::size_t>(i % 4), full);
        reused.tasks.reserve(4);
        reused.envelope = i % 3 == 0 ? task_list_envelope::media_container : task_list_envelope::butler_tasks;
        const std::size_t before = reused.tasks.size();
        auto fresh = parse_task_list(body);
        auto into = parse_task_list_into(body, reused);
        REQUIRE(fresh.has_value() == into.has_value());
        if (fresh) {
            ++decoded;
            reused_records += std::min(before, reused.tasks.size());
            CHECK(reused == *fresh);
            CHECK(reused.envelope == fresh->envelope);
        } else {
            CHECK(into.error().diag.server_message == fresh.error().diag.server_message);
            CHECK(reused.tasks.empty());
        }
    }
    // The stream exercised both outcomes and really decoded into earlier records.
    CHECK(decoded > 100);
    CHECK(reused_records >= 20); // 30 with this seed
}
