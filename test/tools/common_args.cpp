// The command-line reader shared by plexbutler, plexbutler-emulator and plexbutler-bench (tools/common).
#include "common/args.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace plexbutler::tools;
using namespace std::chrono_literals;

TEST_CASE("arg_reader: --name value, and --name=value only when asked", "[tools][args]")
{
    const std::vector<std::string> words{"--server", "http://h", "--token=t=u", "list", "--", "--json"};
    arg_reader inline_values(words, true);
    CHECK(inline_values.next() == "--server");
    CHECK_FALSE(inline_values.has_inline_value());
    CHECK(inline_values.value() == "http://h");
    CHECK(inline_values.next() == "--token");
    CHECK(inline_values.has_inline_value());
    CHECK(inline_values.value() == "t=u"); // split at the first '='
    CHECK(inline_values.next() == "list");
    CHECK(inline_values.next() == "--");
    CHECK(inline_values.rest() == std::vector<std::string_view>{"--json"});
    CHECK_FALSE(inline_values.more());
    CHECK_FALSE(inline_values.value()); // nothing left to be a value

    arg_reader whole_words(words, false);
    whole_words.next();
    whole_words.value();
    CHECK(whole_words.next() == "--token=t=u");
    CHECK_FALSE(whole_words.has_inline_value());
}

TEST_CASE("arg_reader: an empty inline value is a value, and argv skips the program name", "[tools][args]")
{
    const char* argv[] = {"prog", "--server=", "a=b"};
    arg_reader reader(3, argv, true);
    CHECK(reader.next() == "--server");
    CHECK(reader.value() == "");
    CHECK(reader.next() == "a=b"); // not an option: never split
    CHECK_FALSE(reader.has_inline_value());
    CHECK_FALSE(arg_reader(1, argv, true).more());
}

TEST_CASE("arg_reader: required_value names the option or word that lacks one", "[tools][args]")
{
    const std::vector<std::string> words{"--threads", "2", "--quiet=", "stray", "--listen"};
    arg_reader reader(words, true);
    CHECK(reader.next() == "--threads");
    CHECK(reader.required_value() == "2");
    CHECK(reader.next() == "--quiet");
    CHECK(reader.required_value().empty()); // an empty inline value is a value
    CHECK(reader.next() == "stray");
    CHECK(reader.next() == "--listen");
    CHECK_THROWS_WITH(reader.required_value(), "--listen: missing value");

    const std::vector<std::string> word{"plain"};
    arg_reader bare(word, false);
    CHECK(bare.next() == "plain");
    CHECK_THROWS_WITH(bare.required_value(), "argument 'plain': missing value");
    const std::vector<std::string> control{"--x\x1b[2J"};
    arg_reader escapes(control, false);
    CHECK(escapes.next() == "--x\x1b[2J");
    CHECK_THROWS_WITH(escapes.required_value(), "--x\\x1b[2J: missing value"); // escaped, not sent raw
}

TEST_CASE("parse_whole: digits only, within the range", "[tools][args]")
{
    CHECK(parse_whole<unsigned>("42") == 42u);
    CHECK(parse_whole<unsigned>("7", 7u, 7u) == 7u);
    CHECK(parse_whole<std::uint64_t>("18446744073709551615") == UINT64_MAX);
    for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1x", "0x10", "4294967296"})
        CHECK_FALSE(parse_whole<unsigned>(bad));
    CHECK_FALSE(parse_whole<unsigned>("0", 1u, 10u));
    CHECK_FALSE(parse_whole<unsigned>("11", 1u, 10u));
}

TEST_CASE("parse_decimal and durations: whole text, finite, within the range", "[tools][args]")
{
    CHECK(parse_decimal("0.25", 0.0, 1.0) == 0.25);
    CHECK(parse_decimal("1e-1", 0.0, 1.0) == 0.1);
    for (const char* bad : {"", "1.5", "-0.1", "0.5x", "nan", "inf", "1e-400"})
        CHECK_FALSE(parse_decimal(bad, 0.0, 1.0));
    CHECK(parse_seconds("0.5", 0s, 86400s) == std::chrono::duration<double>(0.5));
    CHECK_FALSE(parse_seconds("86401", 0s, 86400s));
    CHECK(parse_milliseconds("1500", 1ms, 3600000ms) == 1500ms);
    CHECK_FALSE(parse_milliseconds("0", 1ms, 3600000ms));
    CHECK_FALSE(parse_milliseconds("1.5", 1ms, 3600000ms));
}

TEST_CASE("quoted: a user's word cannot drive the terminal", "[tools][args]")
{
    CHECK(quoted("--bogus") == "'--bogus'");
    CHECK(quoted("a\x1b[2Jb") == "'a\\x1b[2Jb'");
    CHECK(quoted("x\xc2\x9b"
                 "2J") == "'x\\xc2\\x9b2J'");        // C1 CSI
    CHECK(quoted("caf\xc3\xa9") == "'caf\xc3\xa9'"); // UTF-8 stays readable
    CHECK(quoted("\xff") == "'\\xff'");
}
