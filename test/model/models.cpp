// Decoding and encoding of the Butler value types (models.hpp).
#include <plexbutler/models.hpp>
#include <plexbutler/response.hpp>
#include <plexbutler/task_name.hpp>

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace json = boost::json;
using namespace plexbutler;

namespace {

std::string read_fixture(const std::string& name)
{
    const std::filesystem::path path = std::filesystem::path(PLEXBUTLER_TEST_FIXTURES) / name;
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// The `server_message` of a decode failure (fails the test when decoding succeeded).
std::string decode_error_of(std::string_view body, const json_limits& limits = {})
{
    auto r = parse_task_list(body, limits);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::json_decode_failed);
    return r.error().diag.server_message;
}

// Wraps one task object in the standard envelope.
std::string one_task(std::string_view task)
{
    return std::string(R"({"ButlerTasks":{"ButlerTask":[)") + std::string(task) + "]}}";
}

} // namespace

TEST_CASE("the 20-task fixture decodes into value types", "[models]")
{
    const std::string body = read_fixture("butler_tasks.json");
    auto r = parse_task_list(body);
    REQUIRE(r.has_value());
    const butler_task_list& list = *r;
    REQUIRE(list.tasks.size() == 20);
    CHECK(list.envelope == task_list_envelope::butler_tasks);

    const butler_task& backup = list.tasks[1];
    CHECK(backup.name == "BackupDatabase");
    CHECK(backup.interval == 3.0);
    CHECK(backup.schedule_randomized == false);
    CHECK(backup.enabled == true);
    CHECK(backup.title == "Backup Database");
    CHECK(backup.description == "Create a backup copy of the server's database in the configured backup directory");

    SECTION("fractional intervals are kept")
    {
        const butler_task* deep = list.find("DeepMediaAnalysis");
        REQUIRE(deep != nullptr);
        CHECK(deep->interval == 1.5);
        REQUIRE(list.find("RefreshPeriodicMetadata") != nullptr);
        CHECK(list.find("RefreshPeriodicMetadata")->interval == 1.5);
    }
    SECTION("absent fields are nullopt, not false or empty")
    {
        const butler_task* blobs = list.find("GarbageCollectBlobs");
        REQUIRE(blobs != nullptr);
        CHECK_FALSE(blobs->schedule_randomized.has_value());
        CHECK(blobs->enabled == true);
        const butler_task* media = list.find("GarbageCollectLibraryMedia");
        REQUIRE(media != nullptr);
        CHECK_FALSE(media->description.has_value());
        const butler_task* loudness = list.find("LoudnessAnalysis");
        REQUIRE(loudness != nullptr);
        CHECK_FALSE(loudness->enabled.has_value());
        CHECK(loudness->schedule_randomized == true);
    }
    SECTION("explicit false is distinct from absent")
    {
        const butler_task* thumbs = list.find("GenerateChapterThumbs");
        REQUIRE(thumbs != nullptr);
        REQUIRE(thumbs->enabled.has_value());
        CHECK_FALSE(*thumbs->enabled);
    }
    SECTION("unicode escapes decode to UTF-8")
    {
        const butler_task* blur = list.find("GenerateBlurHashes");
        REQUIRE(blur != nullptr);
        CHECK(blur->description ==
              "Compute placeholder blur hashes for posters, e.g. for \xC2\xAB"
              "Am\xC3\xA9lie\xC2\xBB and "
              "\xE3\x80\x8C\xE5\x8D\x83\xE3\x81\xA8\xE5\x8D\x83\xE5\xB0\x8B\xE3\x81\xAE\xE7\xA5\x9E\xE9\x9A\xA0"
              "\xE3\x81\x97\xE3\x80\x8D \xF0\x9F\x8E\xAC");
    }
    SECTION("every name in the fixture is a valid, documented task name")
    {
        for (const butler_task& task : list.tasks) {
            REQUIRE(task.name.has_value());
            INFO(*task.name);
            CHECK(task_name{*task.name}.is_documented());
        }
    }
    SECTION("find returns nullptr for a missing name") { CHECK(list.find("NoSuchTask") == nullptr); }
}

TEST_CASE("parse_task_list_into reuses the list's storage and forgets what the new body lacks", "[models]")
{
    const std::string body = read_fixture("butler_tasks.json");
    butler_task_list list;
    REQUIRE(parse_task_list_into(body, list).has_value());
    REQUIRE(list == *parse_task_list(body));
    REQUIRE(list.tasks.size() == 20);
    REQUIRE(list.tasks[1].description.has_value());

    // Same body again: the same vector and the same string buffers, refilled.
    const butler_task* records = list.tasks.data();
    const char* description = list.tasks[1].description->data();
    const char* title = list.tasks[1].title->data();
    REQUIRE(parse_task_list_into(body, list).has_value());
    CHECK(list.tasks.data() == records);
    CHECK(list.tasks[1].description->data() == description);
    CHECK(list.tasks[1].title->data() == title);
    CHECK(list == *parse_task_list(body));

    // Fewer tasks, fields absent or null, another envelope: exactly what a fresh decode gives.
    const std::string smaller =
        R"({"MediaContainer":{"ButlerTask":[{"name":"A","title":null},{"interval":2,"description":"d"}]}})";
    REQUIRE(parse_task_list_into(smaller, list).has_value());
    REQUIRE(list.tasks.size() == 2);
    CHECK(list.envelope == task_list_envelope::media_container);
    butler_task a, b;
    a.name = "A";
    b.interval = 2.0;
    b.description = "d";
    CHECK(list.tasks[0] == a);
    CHECK(list.tasks[1] == b);
    CHECK(list == *parse_task_list(smaller));

    // Back to the full list (more tasks than kept), then a failure: empty, with the usual message.
    REQUIRE(parse_task_list_into(body, list).has_value());
    CHECK(list == *parse_task_list(body));
    CHECK(list.envelope == task_list_envelope::butler_tasks);
    auto bad = parse_task_list_into(one_task(R"({"interval":"3"})"), list);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == error::json_decode_failed);
    CHECK(bad.error().diag.server_message == "ButlerTasks.ButlerTask[0].interval: expected number");
    CHECK(list.tasks.empty());
    auto too_big = parse_task_list_into(body, list, json_limits{32, 10});
    REQUIRE_FALSE(too_big.has_value());
    CHECK(list.tasks.empty());
    REQUIRE(parse_task_list_into(body, list).has_value()); // usable afterwards
    CHECK(list.tasks.size() == 20);
}

TEST_CASE("empty and alternative envelopes", "[models]")
{
    SECTION("ButlerTasks without ButlerTask is an empty list")
    {
        auto r = parse_task_list(read_fixture("butler_tasks_empty.json"));
        REQUIRE(r.has_value());
        CHECK(r->tasks.empty());
        CHECK(r->envelope == task_list_envelope::butler_tasks);
    }
    SECTION("an empty ButlerTask array and a null ButlerTask are empty lists")
    {
        CHECK(parse_task_list(R"({"ButlerTasks":{"ButlerTask":[]}})").value().tasks.empty());
        CHECK(parse_task_list(R"({"ButlerTasks":{"ButlerTask":null}})").value().tasks.empty());
    }
    SECTION("MediaContainer envelope is accepted and recorded")
    {
        auto r = parse_task_list(read_fixture("media_container.json"));
        REQUIRE(r.has_value());
        CHECK(r->envelope == task_list_envelope::media_container);
        REQUIRE(r->tasks.size() == 2);
        CHECK(r->tasks[1].name == "CheckForUpdates");
        CHECK(r->tasks[1].interval == 1.0);
    }
    SECTION("ButlerTasks wins when both envelopes are present")
    {
        auto r = parse_task_list(
            R"({"MediaContainer":{"ButlerTask":[{"name":"A"}]},"ButlerTasks":{"ButlerTask":[{"name":"B"}]}})");
        REQUIRE(r.has_value());
        CHECK(r->envelope == task_list_envelope::butler_tasks);
        REQUIRE(r->tasks.size() == 1);
        CHECK(r->tasks[0].name == "B");
    }
    SECTION("a null ButlerTasks falls back to MediaContainer")
    {
        auto r = parse_task_list(R"({"ButlerTasks":null,"MediaContainer":{}})");
        REQUIRE(r.has_value());
        CHECK(r->envelope == task_list_envelope::media_container);
        CHECK(r->tasks.empty());
    }
}

TEST_CASE("wrong shapes name the field path", "[models]")
{
    SECTION("fixture with a string interval in the fourth task")
    {
        CHECK(decode_error_of(read_fixture("bad_interval_string.json")) ==
              "ButlerTasks.ButlerTask[3].interval: expected number");
    }
    SECTION("every field type")
    {
        CHECK(decode_error_of(one_task(R"({"name":"A","interval":"three"})")) ==
              "ButlerTasks.ButlerTask[0].interval: expected number");
        CHECK(decode_error_of(one_task(R"({"interval":true})")) ==
              "ButlerTasks.ButlerTask[0].interval: expected number");
        CHECK(decode_error_of(one_task(R"({"enabled":"yes"})")) ==
              "ButlerTasks.ButlerTask[0].enabled: expected boolean (true, false, 0 or 1)");
        CHECK(decode_error_of(one_task(R"({"scheduleRandomized":"false"})")) ==
              "ButlerTasks.ButlerTask[0].scheduleRandomized: expected boolean (true, false, 0 or 1)");
        CHECK(decode_error_of(one_task(R"({"enabled":2})")) ==
              "ButlerTasks.ButlerTask[0].enabled: expected boolean (true, false, 0 or 1)");
        CHECK(decode_error_of(one_task(R"({"enabled":-1})")) ==
              "ButlerTasks.ButlerTask[0].enabled: expected boolean (true, false, 0 or 1)");
        CHECK(decode_error_of(one_task(R"({"enabled":1.0})")) ==
              "ButlerTasks.ButlerTask[0].enabled: expected boolean (true, false, 0 or 1)");
        CHECK(decode_error_of(one_task(R"({"name":42})")) == "ButlerTasks.ButlerTask[0].name: expected string");
        CHECK(decode_error_of(one_task(R"({"title":["x"]})")) == "ButlerTasks.ButlerTask[0].title: expected string");
        CHECK(decode_error_of(one_task(R"({"description":{}})")) ==
              "ButlerTasks.ButlerTask[0].description: expected string");
    }
    SECTION("containers of the wrong kind")
    {
        CHECK(decode_error_of(R"({"ButlerTasks":{"ButlerTask":{}}})") == "ButlerTasks.ButlerTask: expected array");
        CHECK(decode_error_of(R"({"ButlerTasks":{"ButlerTask":"BackupDatabase"}})") ==
              "ButlerTasks.ButlerTask: expected array");
        CHECK(decode_error_of(R"({"ButlerTasks":[]})") == "ButlerTasks: expected object");
        CHECK(decode_error_of(R"({"MediaContainer":1})") == "MediaContainer: expected object");
        CHECK(decode_error_of(R"({"ButlerTasks":{"ButlerTask":[{},{},"BackupDatabase"]}})") ==
              "ButlerTasks.ButlerTask[2]: expected object");
        CHECK(decode_error_of(R"({"ButlerTasks":{"ButlerTask":[null]}})") ==
              "ButlerTasks.ButlerTask[0]: expected object");
        CHECK(decode_error_of(R"({"MediaContainer":{"ButlerTask":[{"name":"A"},{"enabled":"no"}]}})") ==
              "MediaContainer.ButlerTask[1].enabled: expected boolean (true, false, 0 or 1)");
    }
    SECTION("index above nine")
    {
        std::string body = R"({"ButlerTasks":{"ButlerTask":[)";
        for (int i = 0; i < 12; ++i) {
            body += R"({"interval":1},)";
        }
        body += R"({"interval":[]}]}})";
        CHECK(decode_error_of(body) == "ButlerTasks.ButlerTask[12].interval: expected number");
    }
    SECTION("top level")
    {
        CHECK(decode_error_of(read_fixture("bad_top_level_array.json")) ==
              R"(top level: expected object with key "ButlerTasks" or "MediaContainer")");
        CHECK(decode_error_of("42") == R"(top level: expected object with key "ButlerTasks" or "MediaContainer")");
        CHECK(decode_error_of(read_fixture("bad_no_envelope.json")) ==
              R"(top level: expected key "ButlerTasks" or "MediaContainer")");
        CHECK(decode_error_of("{}") == R"(top level: expected key "ButlerTasks" or "MediaContainer")");
    }
    SECTION("the failure describes itself on one line")
    {
        auto r = parse_task_list(read_fixture("bad_interval_string.json"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().message() == "JSON decode failed ButlerTasks.ButlerTask[3].interval: expected number");
        CHECK(r.error().diag.http_status == 0);
    }
}

TEST_CASE("lenient parts of the decoder", "[models]")
{
    SECTION("null means absent for every field")
    {
        auto r = parse_task_list(one_task(
            R"({"name":null,"interval":null,"scheduleRandomized":null,"enabled":null,"title":null,"description":null})"));
        REQUIRE(r.has_value());
        REQUIRE(r->tasks.size() == 1);
        CHECK(r->tasks[0] == butler_task{});
    }
    SECTION("unknown fields are ignored, whatever their type")
    {
        auto r =
            parse_task_list(one_task(R"({"name":"A","lastRun":1700000000,"extra":{"x":[1,2,{"y":null}]},"Name":5})"));
        REQUIRE(r.has_value());
        CHECK(r->tasks[0].name == "A");
        CHECK_FALSE(r->tasks[0].interval.has_value());
    }
    SECTION("integers 0 and 1 are booleans (PMS XML style)")
    {
        auto r = parse_task_list(one_task(R"({"enabled":1,"scheduleRandomized":0})"));
        REQUIRE(r.has_value());
        CHECK(r->tasks[0].enabled == true);
        CHECK(r->tasks[0].schedule_randomized == false);
    }
    SECTION("any JSON number is an interval")
    {
        auto r = parse_task_list(
            R"({"ButlerTasks":{"ButlerTask":[{"interval":7},{"interval":1.5},)"
            R"({"interval":18446744073709551615},{"interval":-2},{"interval":2.5e1},{"interval":0}]}})");
        REQUIRE(r.has_value());
        REQUIRE(r->tasks.size() == 6);
        CHECK(r->tasks[0].interval == 7.0);
        CHECK(r->tasks[1].interval == 1.5);
        CHECK(r->tasks[2].interval == 18446744073709551615.0);
        CHECK(r->tasks[3].interval == -2.0);
        CHECK(r->tasks[4].interval == 25.0);
        REQUIRE(r->tasks[5].interval.has_value());
        CHECK(*r->tasks[5].interval == 0.0);
    }
    SECTION("raw UTF-8 and escapes in names are kept byte for byte")
    {
        auto r = parse_task_list(one_task("{\"name\":\"Caf\xC3\xA9\\t\\u0000x\"}"));
        REQUIRE(r.has_value());
        CHECK(r->tasks[0].name == std::string("Caf\xC3\xA9\t\0x", 8));
    }
    SECTION("whitespace around the document is fine")
    {
        CHECK(parse_task_list(" \r\n\t{\"ButlerTasks\":{}} \n").has_value());
    }
}

TEST_CASE("invalid JSON is reported with its byte offset", "[models]")
{
    CHECK(decode_error_of(read_fixture("bad_truncated.json")) == "invalid JSON at byte 68: incomplete JSON");
    CHECK(decode_error_of("") == "invalid JSON at byte 0: incomplete JSON");
    CHECK(decode_error_of(R"({"ButlerTasks":{},})") == "invalid JSON at byte 18: syntax error");
    CHECK(decode_error_of(R"({"ButlerTasks":{}} x)") ==
          "invalid JSON at byte 19: unexpected data after the JSON value");
    CHECK(decode_error_of(R"({"ButlerTasks":{}}{})") ==
          "invalid JSON at byte 18: unexpected data after the JSON value");
    // Invalid UTF-8 is rejected by the parser, not passed on.
    CHECK(
        decode_error_of("{\"ButlerTasks\":{\"ButlerTask\":[{\"name\":\"\xFF\"}]}}").rfind("invalid JSON at byte ", 0) ==
        0);
    // Comments and trailing commas are not JSON.
    CHECK(decode_error_of("{\"ButlerTasks\":{}} // c").rfind("invalid JSON at byte 19", 0) == 0);
    CHECK(decode_error_of(R"({"ButlerTasks":{"ButlerTask":[{},]}})").rfind("invalid JSON at byte 33", 0) == 0);
}

TEST_CASE("JSON limits: depth and size", "[models]")
{
    // Root object, ButlerTasks, ButlerTask array and the task object are 4 levels;
    // an unknown field nesting `extra` arrays inside a task adds `extra` more.
    auto nested = [](std::size_t extra) {
        return one_task(R"({"name":"A","deep":)" + std::string(extra, '[') + std::string(extra, ']') + "}");
    };

    SECTION("the default limit is 32 levels: 32 is accepted, 33 is rejected")
    {
        CHECK(json_limits{}.max_depth == 32);
        CHECK(parse_task_list(nested(28)).has_value());
        CHECK(decode_error_of(nested(29)) == "invalid JSON at byte 77: too deep");
    }
    SECTION("a custom depth limit is exact")
    {
        json_limits limits;
        limits.max_depth = 4;
        CHECK(parse_task_list(one_task(R"({"name":"A"})"), limits).has_value());
        CHECK(decode_error_of(nested(1), limits).find("too deep") != std::string::npos);
    }
    SECTION("input over max_bytes is rejected before parsing")
    {
        const std::string body = read_fixture("butler_tasks_empty.json"); // 19 bytes with its newline
        REQUIRE(body.size() == 19);
        json_limits limits;
        limits.max_bytes = body.size();
        CHECK(parse_task_list(body, limits).has_value());
        limits.max_bytes = body.size() - 1;
        CHECK(decode_error_of(body, limits) == "body of 19 bytes exceeds the JSON limit of 18 bytes");
        // Even invalid JSON is not looked at when it is too large.
        CHECK(decode_error_of(std::string(100, '{'), limits) == "body of 100 bytes exceeds the JSON limit of 18 bytes");
    }
    SECTION("the default size limit is 1 MiB")
    {
        CHECK(json_limits{}.max_bytes == 1024 * 1024);
        std::string big = R"({"ButlerTasks":{"ButlerTask":[{"description":")";
        big.append(1024 * 1024, 'x');
        big += R"("}]}})";
        CHECK(decode_error_of(big).find("exceeds the JSON limit of 1048576 bytes") != std::string::npos);
    }
    SECTION("bodies larger than the on-stack arena still decode")
    {
        std::string body = R"({"ButlerTasks":{"ButlerTask":[)";
        for (int i = 0; i < 500; ++i) {
            body += (i ? "," : "");
            body +=
                R"({"name":"Task)" + std::to_string(i) +
                R"(","interval":1.5,"enabled":true,"title":"A title long enough to allocate","description":"A description that is long enough to be allocated"})";
        }
        body += "]}}";
        auto r = parse_task_list(body);
        REQUIRE(r.has_value());
        REQUIRE(r->tasks.size() == 500);
        CHECK(r->tasks[499].name == "Task499");
        CHECK(r->tasks[499].interval == 1.5);
    }
}

TEST_CASE("value_to uses the same decoder and throws butler_error", "[models]")
{
    SECTION("task list")
    {
        const json::value v = json::parse(read_fixture("butler_tasks.json"));
        const auto list = json::value_to<butler_task_list>(v);
        CHECK(list == parse_task_list(read_fixture("butler_tasks.json")).value());
    }
    SECTION("single task with a relative path")
    {
        const json::value ok = json::parse(R"({"name":"BackupDatabase","interval":3,"enabled":1})");
        const auto task = json::value_to<butler_task>(ok);
        CHECK(task.name == "BackupDatabase");
        CHECK(task.enabled == true);
        try {
            (void)json::value_to<butler_task>(json::parse(R"({"enabled":"yes"})"));
            FAIL("expected butler_error");
        } catch (const butler_error& e) {
            CHECK(e.code() == error::json_decode_failed);
            CHECK(e.diag().server_message == "enabled: expected boolean (true, false, 0 or 1)");
            CHECK(std::string(e.what()) == "JSON decode failed enabled: expected boolean (true, false, 0 or 1)");
        }
        CHECK_THROWS_AS(json::value_to<butler_task>(json::value(1)), butler_error);
    }
    SECTION("task list path")
    {
        try {
            (void)json::value_to<butler_task_list>(json::parse(read_fixture("bad_interval_string.json")));
            FAIL("expected butler_error");
        } catch (const butler_error& e) {
            CHECK(e.diag().server_message == "ButlerTasks.ButlerTask[3].interval: expected number");
        }
    }
    SECTION("vector of tasks through Boost.JSON's generic conversion")
    {
        const auto tasks = json::value_to<std::vector<butler_task>>(json::parse(R"([{"name":"A"},{"interval":2}])"));
        REQUIRE(tasks.size() == 2);
        CHECK(tasks[1].interval == 2.0);
    }
}

TEST_CASE("value_from writes only present fields with wire names", "[models]")
{
    SECTION("a full task")
    {
        butler_task t;
        t.name = "BackupDatabase";
        t.interval = 3.0;
        t.schedule_randomized = true;
        t.enabled = false;
        t.title = "Backup Database";
        t.description = "Back it up";
        CHECK(json::serialize(json::value_from(t)) ==
              R"({"name":"BackupDatabase","interval":3,"scheduleRandomized":true,"enabled":false,)"
              R"("title":"Backup Database","description":"Back it up"})");
    }
    SECTION("absent fields are not written")
    {
        butler_task t;
        t.name = "X";
        t.interval = 1.5;
        CHECK(json::serialize(json::value_from(t)) == R"({"name":"X","interval":1.5E0})");
        CHECK(json::serialize(json::value_from(butler_task{})) == "{}");
    }
    SECTION("a list uses the ButlerTasks envelope whatever it was decoded from")
    {
        butler_task_list l = parse_task_list(read_fixture("media_container.json")).value();
        const json::value v = json::value_from(l);
        REQUIRE(v.is_object());
        CHECK(v.at("ButlerTasks").at("ButlerTask").as_array().size() == 2);
        CHECK(json::serialize(json::value_from(butler_task_list{})) == R"({"ButlerTasks":{"ButlerTask":[]}})");
    }
    SECTION("non-finite intervals are written as null")
    {
        butler_task t;
        t.interval = std::numeric_limits<double>::infinity();
        CHECK(json::serialize(json::value_from(t)) == R"({"interval":null})");
    }
}

TEST_CASE("round trips value_from -> serialize -> parse -> value_to", "[models]")
{
    const butler_task_list original = parse_task_list(read_fixture("butler_tasks.json")).value();
    const std::string text = json::serialize(json::value_from(original));
    const butler_task_list again = parse_task_list(text).value();
    CHECK(again == original);
    CHECK(json::value_to<butler_task_list>(json::value_from(original)) == original);

    plex_error_list errors;
    errors.errors.push_back({1001, "User could not be authenticated", 401});
    errors.errors.push_back({std::nullopt, "only a message", std::nullopt});
    CHECK(json::value_to<plex_error_list>(json::value_from(errors)) == errors);
    CHECK(parse_plex_errors(json::serialize(json::value_from(errors))).value() == errors);
}

TEST_CASE("Plex error bodies", "[models]")
{
    SECTION("the 401 fixture")
    {
        auto r = parse_plex_errors(read_fixture("plex_error_401.json"));
        REQUIRE(r.has_value());
        REQUIRE(r->errors.size() == 1);
        CHECK(r->errors[0].code == 1001);
        CHECK(r->errors[0].message == "User could not be authenticated");
        CHECK(r->errors[0].status == 401);
    }
    SECTION("numbers with integral values are integers; others are rejected")
    {
        auto r = parse_plex_errors(R"({"errors":[{"code":1001.0,"status":401,"extra":true},{}]})");
        REQUIRE(r.has_value());
        CHECK(r->errors[0].code == 1001);
        CHECK(r->errors[1] == plex_error{});
        auto bad = parse_plex_errors(R"({"errors":[{"code":1001.5}]})");
        REQUIRE_FALSE(bad.has_value());
        CHECK(bad.error().diag.server_message == "errors[0].code: expected integer");
        CHECK(parse_plex_errors(R"({"errors":[{"code":18446744073709551615}]})").error().diag.server_message ==
              "errors[0].code: expected integer");
        CHECK(parse_plex_errors(R"({"errors":[{"code":1e300}]})").error().diag.server_message ==
              "errors[0].code: expected integer");
    }
    SECTION("wrong shapes")
    {
        CHECK(parse_plex_errors(R"({"errors":{}})").error().diag.server_message == "errors: expected array");
        CHECK(parse_plex_errors(R"({"errors":[{"message":1}]})").error().diag.server_message ==
              "errors[0].message: expected string");
        CHECK(parse_plex_errors(R"({"errors":[{},{"status":"401"}]})").error().diag.server_message ==
              "errors[1].status: expected integer");
        CHECK(parse_plex_errors(R"({"errors":[1]})").error().diag.server_message == "errors[0]: expected object");
        CHECK(parse_plex_errors("{}").error().diag.server_message == R"(top level: expected key "errors")");
        CHECK(parse_plex_errors("[]").error().diag.server_message == R"(top level: expected object with key "errors")");
        CHECK(parse_plex_errors("<html>").error().diag.server_message == "invalid JSON at byte 0: syntax error");
        CHECK(parse_plex_errors(R"({"errors":[]})").value().errors.empty());
    }
    SECTION("limits apply")
    {
        json_limits limits;
        limits.max_bytes = 10;
        CHECK(parse_plex_errors(read_fixture("plex_error_401.json"), limits).error().diag.server_message ==
              "body of 84 bytes exceeds the JSON limit of 10 bytes");
    }
    SECTION("value_to<plex_error> throws naming the field")
    {
        try {
            (void)json::value_to<plex_error>(json::parse(R"({"code":"x"})"));
            FAIL("expected butler_error");
        } catch (const butler_error& e) {
            CHECK(e.diag().server_message == "code: expected integer");
        }
    }
}

TEST_CASE("raw_response status line and header lookup", "[response]")
{
    raw_response raw;
    raw.status = 200;
    raw.reason = "OK";
    raw.fields = "Content-Type: application/json\r\nX-Plex-Protocol:1.0\r\nset-cookie: a\r\nSet-Cookie: b\r\n"
                 "X-Empty:\r\nX-Padded: \t value \t\r\n";
    CHECK(raw.status_line() == "HTTP/1.1 200 OK");
    raw.version = 10;
    raw.status = 404;
    raw.reason.clear();
    CHECK(raw.status_line() == "HTTP/1.0 404");

    CHECK(raw.header("content-type") == std::optional<std::string_view>("application/json"));
    CHECK(raw.header("CONTENT-TYPE") == std::optional<std::string_view>("application/json"));
    CHECK(raw.header("x-plex-protocol") == std::optional<std::string_view>("1.0"));
    CHECK(raw.header("Set-Cookie") == std::optional<std::string_view>("a")); // the first one
    CHECK(raw.header("X-Empty") == std::optional<std::string_view>(""));
    CHECK(raw.header("X-Padded") == std::optional<std::string_view>("value"));
    CHECK_FALSE(raw.header("Content").has_value());
    CHECK_FALSE(raw.header("Content-Type-Extra").has_value());
    CHECK_FALSE(raw_response{}.header("Content-Type").has_value());

    raw.fields = "Last: no-terminator";
    CHECK(raw.header("last") == std::optional<std::string_view>("no-terminator"));
}

TEST_CASE("task outcomes have printable names", "[response]")
{
    CHECK(to_string(task_outcome::started) == "started");
    CHECK(to_string(task_outcome::already_running) == "already running");
    CHECK(to_string(task_outcome::stopped) == "stopped");
    CHECK(to_string(task_outcome::not_running) == "not running");
    CHECK(to_string(task_outcome::accepted) == "accepted");
}
