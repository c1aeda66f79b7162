// Validation of task names and the documented constants (task_name.hpp).
#include <plexbutler/task_name.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

using namespace plexbutler;

namespace {

// The message of task_name::parse for an invalid name (fails the test when it is valid).
std::string problem_of(std::string_view name)
{
    auto r = task_name::parse(name);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::invalid_task_name);
    CHECK_FALSE(task_name::is_valid(name));
    CHECK_THROWS_AS(task_name{name}, butler_error);
    return r.error().message();
}

} // namespace

TEST_CASE("valid task names", "[task_name]")
{
    for (const std::string_view name :
         {std::string_view("BackupDatabase"), std::string_view("a"), std::string_view("Task-1_2.3~x"),
          std::string_view("...") /* not a dot-segment */, std::string_view("A:B@C!$&'()*+,;="),
          std::string_view("[v6]")}) {
        INFO(name);
        CHECK(task_name::is_valid(name));
        auto r = task_name::parse(name);
        REQUIRE(r.has_value());
        CHECK(r->str() == name);
        CHECK(r->view() == name);
        CHECK(task_name{name}.str() == name);
    }
    const std::string longest(128, 'x');
    CHECK(task_name::is_valid(longest));
    CHECK(task_name{longest}.str().size() == 128);
}

TEST_CASE("unknown names are valid but not documented", "[task_name]")
{
    const task_name future{"ButlerTaskDoSomethingNew"};
    CHECK_FALSE(future.is_documented());
    CHECK(task_name{tasks::backup_database}.is_documented());
    CHECK_FALSE(task_name{"backupdatabase"}.is_documented()); // names are case-sensitive
}

TEST_CASE("invalid task names name the offending byte and position", "[task_name]")
{
    SECTION("path syntax")
    {
        CHECK(problem_of("Foo/Bar") ==
              R"(invalid task name "Foo/Bar": '/' at position 3 is not allowed in a path segment)");
        CHECK(problem_of("Backup?x=1") ==
              R"(invalid task name "Backup?x=1": '?' at position 6 is not allowed in a path segment)");
        CHECK(problem_of("#frag") ==
              R"(invalid task name "#frag": '#' at position 0 is not allowed in a path segment)");
        CHECK(problem_of("a%2Fb") ==
              R"(invalid task name "a%2Fb": '%' at position 1 is not allowed in a path segment)");
        CHECK(problem_of("a b") == R"(invalid task name "a b": ' ' at position 1 is not allowed in a path segment)");
    }
    SECTION("every other forbidden printable byte")
    {
        for (const char ch : std::string_view("\\\"<>^`{|}")) {
            const std::string name = std::string("ab") + ch;
            INFO(name);
            CHECK(problem_of(name).find(std::string("at position 2 is not allowed in a path segment")) !=
                  std::string::npos);
        }
        // Quotes and backslashes are escaped in the quoted name.
        CHECK(problem_of("a\"b") ==
              R"(invalid task name "a\x22b": '"' at position 1 is not allowed in a path segment)");
        CHECK(problem_of("a\\b") ==
              R"(invalid task name "a\x5cb": '\' at position 1 is not allowed in a path segment)");
    }
    SECTION("control characters, including CR/LF and NUL")
    {
        CHECK(problem_of("Backup\r\nHost: evil") ==
              R"(invalid task name "Backup\x0d\x0aHost: evil": '\x0d' at position 6 is a control character)");
        CHECK(problem_of(std::string_view("a\0b", 3)) ==
              R"(invalid task name "a\x00b": '\x00' at position 1 is a control character)");
        CHECK(problem_of("\t") == R"(invalid task name "\x09": '\x09' at position 0 is a control character)");
        CHECK(problem_of("a\x7f") == R"(invalid task name "a\x7f": '\x7f' at position 1 is a control character)");
    }
    SECTION("non-ASCII bytes")
    {
        CHECK(problem_of("Caf\xC3\xA9") == R"(invalid task name "Caf\xc3\xa9": '\xc3' at position 3 is not ASCII)");
    }
    SECTION("length")
    {
        CHECK(problem_of("") == R"(invalid task name "": a task name must not be empty)");
        const std::string too_long(129, 'y');
        CHECK(problem_of(too_long) ==
              "invalid task name \"" + std::string(64, 'y') + "\"...: 129 bytes, longer than the limit of 128");
    }
    SECTION("dot-segments")
    {
        CHECK(problem_of(".") == R"(invalid task name ".": a dot-segment is not a task name)");
        CHECK(problem_of("..") == R"(invalid task name "..": a dot-segment is not a task name)");
    }
    SECTION("the exception carries the same message")
    {
        try {
            task_name bad{"Foo/Bar"};
            FAIL("no exception");
        } catch (const butler_error& e) {
            CHECK(e.code() == error::invalid_task_name);
            CHECK(std::string(e.what()) ==
                  R"(invalid task name "Foo/Bar": '/' at position 3 is not allowed in a path segment)");
        }
    }
}

TEST_CASE("every byte is classified as documented", "[task_name]")
{
    const std::string_view forbidden = " /?#%\\\"<>^`{|}";
    for (int b = 0; b < 256; ++b) {
        const char ch = static_cast<char>(b);
        const bool expected = b > 0x20 && b < 0x7f && forbidden.find(ch) == std::string_view::npos;
        INFO("byte " << b);
        CHECK(task_name::is_valid(std::string("x") + ch) == expected);
    }
}

TEST_CASE("task names compare and order like strings", "[task_name]")
{
    const task_name a{"Alpha"};
    const task_name b{"Beta"};
    CHECK(a == task_name{"Alpha"});
    CHECK(a != b);
    CHECK(a < b);
    const bool greater = (b <=> a) > 0;
    CHECK(greater);
}

TEST_CASE("documented task names", "[task_name]")
{
    const auto names = documented_task_names();
    // 14 names in pms-spec-0.0.3, 22 in pms-spec-1.1.1, 11 in both.
    CHECK(names.size() == 25);
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());

    const std::set<std::string_view> constants = {tasks::backup_database,
                                                  tasks::clean_old_bundles,
                                                  tasks::clean_old_cache_files,
                                                  tasks::deep_media_analysis,
                                                  tasks::generate_chapter_thumbs,
                                                  tasks::generate_media_index_files,
                                                  tasks::optimize_database,
                                                  tasks::refresh_libraries,
                                                  tasks::refresh_local_media,
                                                  tasks::refresh_periodic_metadata,
                                                  tasks::upgrade_media_analysis,
                                                  tasks::build_gracenote_collections,
                                                  tasks::check_for_updates,
                                                  tasks::generate_auto_tags,
                                                  tasks::automatic_updates,
                                                  tasks::butler_task_generate_ad_markers,
                                                  tasks::butler_task_generate_credits_markers,
                                                  tasks::butler_task_generate_intro_markers,
                                                  tasks::butler_task_generate_voice_activity,
                                                  tasks::garbage_collect_blobs,
                                                  tasks::garbage_collect_library_media,
                                                  tasks::generate_blur_hashes,
                                                  tasks::loudness_analysis,
                                                  tasks::music_analysis,
                                                  tasks::refresh_epg_guides};
    CHECK(constants.size() == 25);
    CHECK(std::set<std::string_view>(names.begin(), names.end()) == constants);

    for (const std::string_view name : names) {
        INFO(name);
        CHECK(task_name::is_valid(name));
        CHECK(task_name{name}.is_documented());
    }
    CHECK(tasks::butler_task_generate_credits_markers == "ButlerTaskGenerateCreditsMarkers");
    CHECK(tasks::refresh_epg_guides == "RefreshEpgGuides");
}
