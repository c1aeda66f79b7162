// Unit tests of the I/O-free parts of the plexbutler CLI: argument parsing, exit codes, formatting.
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "cli/format.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <catch2/catch.hpp>

#include <map>

using namespace plexbutler;
using namespace plexbutler::cli;
using namespace std::chrono_literals;

namespace {

env_lookup no_env()
{
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

env_lookup env_of(std::map<std::string, std::string> vars)
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end())
            return std::nullopt;
        return it->second;
    };
}

} // namespace

TEST_CASE("parse_args: defaults and commands", "[cli][args]")
{
    auto inv = parse_args({"list"}, no_env());
    CHECK(inv.cmd == command::list);
    CHECK(inv.server_url == "http://127.0.0.1:32400");
    CHECK(inv.token.empty());
    CHECK(inv.timeout == 10000ms);
    CHECK(inv.retries == 0);
    CHECK_FALSE(inv.json);
    CHECK_FALSE(inv.insecure);

    CHECK(parse_args({"list", "--json"}, no_env()).json);
    CHECK(parse_args({"start-all"}, no_env()).cmd == command::start_all);
    CHECK(parse_args({"stop-all"}, no_env()).cmd == command::stop_all);
    CHECK(parse_args({"demo"}, no_env()).cmd == command::demo);
    auto start = parse_args({"start", "BackupDatabase"}, no_env());
    CHECK(start.cmd == command::start);
    CHECK(start.task == "BackupDatabase");
    auto stop = parse_args({"stop", "OptimizeDatabase"}, no_env());
    CHECK(stop.cmd == command::stop);
    CHECK(stop.task == "OptimizeDatabase");
}

TEST_CASE("parse_args: global options, both spellings, anywhere", "[cli][args]")
{
    auto inv =
        parse_args({"--server", "https://plex.example:32400", "--token=abc-1234", "--client-id", "me", "--timeout-ms",
                    "2500", "--retries=3", "--ca-file", "ca.pem", "--insecure", "--verbose", "list"},
                   no_env());
    CHECK(inv.server_url == "https://plex.example:32400");
    CHECK(inv.token == "abc-1234");
    CHECK(inv.client_id == "me");
    CHECK(inv.timeout == 2500ms);
    CHECK(inv.retries == 3);
    CHECK(inv.ca_file == "ca.pem");
    CHECK(inv.insecure);
    CHECK(inv.verbose);
    CHECK(parse_args({"list", "--server", "http://[::1]:1"}, no_env()).server_url == "http://[::1]:1");
    CHECK(parse_args({"--help"}, no_env()).help);
    CHECK(parse_args({"--version"}, no_env()).version);
    CHECK(parse_args({"list", "--help"}, no_env()).help);
}

TEST_CASE("parse_args: environment variables, overridden by options", "[cli][args]")
{
    auto env = env_of({{"PLEX_SERVER_URL", "http://10.0.0.2:32400"}, {"PLEX_TOKEN", "env-token"}});
    auto inv = parse_args({"list"}, env);
    CHECK(inv.server_url == "http://10.0.0.2:32400");
    CHECK(inv.token == "env-token");
    auto over = parse_args({"--server", "http://127.0.0.1:1", "--token", "opt-token", "list"}, env);
    CHECK(over.server_url == "http://127.0.0.1:1");
    CHECK(over.token == "opt-token");
    // An empty PLEX_SERVER_URL keeps the default.
    CHECK(parse_args({"list"}, env_of({{"PLEX_SERVER_URL", ""}})).server_url == "http://127.0.0.1:32400");
}

TEST_CASE("parse_args: usage errors", "[cli][args]")
{
    CHECK_THROWS_AS(parse_args({}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"frobnicate"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"start"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"stop"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"start", "A", "B"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"list", "extra"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"demo", "--json"}, no_env()), usage_error);
    // --json is valid with every other command, on one server too.
    CHECK(parse_args({"start-all", "--json"}, no_env()).json);
    CHECK(parse_args({"stop-all", "--json"}, no_env()).json);
    CHECK(parse_args({"start", "BackupDatabase", "--json"}, no_env()).json);
    CHECK(parse_args({"--json", "stop", "BackupDatabase"}, no_env()).json);
    CHECK_THROWS_AS(parse_args({"--timeout-ms", "0", "list"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"--timeout-ms", "12x", "list"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"--timeout-ms", "-5", "list"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"--retries", "101", "list"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"--server", "", "list"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"--server"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"--insecure=yes", "list"}, no_env()), usage_error);
    CHECK_THROWS_AS(parse_args({"-x", "list"}, no_env()), usage_error);
}

TEST_CASE("parse_args: a token shorter than 8 characters is a usage error that does not repeat it",
          "[cli][args][token]")
{
    // From the option and from the environment; 7 characters is the longest refused.
    for (const std::string token : {"t", "1", "abc", "7chars!"}) {
        INFO("token " << token);
        for (int from_env = 0; from_env < 2; ++from_env) {
            try {
                if (from_env)
                    parse_args({"list"}, env_of({{"PLEX_TOKEN", token}}));
                else
                    parse_args({"--token", token, "start", "BackupDatabase"}, no_env());
                FAIL("expected a usage error");
            } catch (const usage_error& e) {
                const std::string msg = e.what();
                CHECK(msg == "the token must have at least 8 characters (a Plex token has about 20)");
            }
        }
    }
    CHECK(parse_args({"--token", "8chars!!", "list"}, no_env()).token == "8chars!!");
    // No token at all is allowed (the server answers 401), and the demo uses its own tokens.
    CHECK(parse_args({"--token", "", "list"}, no_env()).token.empty());
    CHECK(parse_args({"--token", "t", "demo"}, no_env()).cmd == command::demo);
    CHECK(parse_args({"--token", "t", "--help"}, no_env()).help);
}

TEST_CASE("parse_args: a misspelt option never echoes its value", "[cli][args]")
{
    try {
        parse_args({"--tokn=s3cret-value", "list"}, no_env());
        FAIL("expected a usage error");
    } catch (const usage_error& e) {
        std::string msg = e.what();
        CHECK(msg.find("--tokn") != std::string::npos);
        CHECK(msg.find("s3cret") == std::string::npos);
    }
}

TEST_CASE("parse_args: user words in errors are escaped", "[cli][args]")
{
    try {
        parse_args({"li\x1b[2Jst"}, no_env());
        FAIL("expected a usage error");
    } catch (const usage_error& e) {
        std::string msg = e.what();
        CHECK(msg.find('\x1b') == std::string::npos);
        CHECK(msg.find("\\x1b") != std::string::npos);
    }
}

TEST_CASE("exit codes: each failure kind maps to its documented code", "[cli][exit]")
{
    CHECK(exit_code_for(error::not_found) == 3);
    CHECK(exit_code_for(error::unauthorized) == 4);
    for (auto e : {error::connect_failed, error::timeout, error::connection_closed, error::tls_handshake_failed,
                   error::certificate_verification_failed})
        CHECK(exit_code_for(e) == 5);
    for (auto e : {error::malformed_http, error::header_too_large, error::body_too_large,
                   error::unsupported_content_encoding, error::unexpected_content_type, error::json_decode_failed,
                   error::redirect_not_followed, error::unexpected_status})
        CHECK(exit_code_for(e) == 6);
    for (auto e : {error::invalid_task_name, error::invalid_header_value, error::invalid_server_url,
                   error::unknown_server, error::invalid_options})
        CHECK(exit_code_for(e) == 2);
    for (auto e :
         {error::server_error, error::bad_request, error::cancelled, error::too_many_waiters, error::client_shut_down})
        CHECK(exit_code_for(e) == 1);
    CHECK(exit_code_for(make_error_code(std::errc::io_error)) == 1);
    // Every code of the enum is mapped to one of the documented codes.
    for (int v = 1; v <= static_cast<int>(error::invalid_options); ++v) {
        int code = exit_code_for(make_error_code(static_cast<error>(v)));
        CHECK(code >= 1);
        CHECK(code <= 6);
    }
}

TEST_CASE("usage text documents every command, option and exit code", "[cli][args]")
{
    auto text = usage_text();
    for (auto word : {"list", "--json", "start TASK", "stop TASK", "start-all", "stop-all", "demo", "--server",
                      "PLEX_SERVER_URL", "--token", "PLEX_TOKEN", "--client-id", "--timeout-ms", "--retries",
                      "--ca-file", "--insecure", "--verbose", "--help", "--version"})
        CHECK(text.find(word) != std::string::npos);
    for (auto code : {"  0  ", "  1  ", "  2  ", "  3  ", "  4  ", "  5  ", "  6  "})
        CHECK(text.find(code) != std::string::npos);
}

TEST_CASE("make_client_options carries the invocation", "[cli][args]")
{
    auto inv = parse_args({"--server", "https://h:1", "--token", "t-123456", "--client-id", "id", "--timeout-ms", "700",
                           "--retries", "2", "--ca-file", "ca.pem", "--insecure", "list"},
                          no_env());
    auto o = make_client_options(inv, {});
    CHECK(o.server_url == "https://h:1");
    CHECK(o.token == "t-123456");
    CHECK(o.client_identifier == "id");
    CHECK(o.request_timeout == 700ms);
    CHECK(o.connect_timeout == 700ms);
    CHECK(o.retry.max_attempts == 3);
    CHECK(o.ca_file == "ca.pem");
    CHECK_FALSE(o.tls_verify);
    CHECK(make_client_options(parse_args({"list"}, no_env()), {}).tls_verify);
}

TEST_CASE("escape_for_terminal: controls are escaped, UTF-8 passes", "[cli][format]")
{
    CHECK(escape_for_terminal("Backup Database") == "Backup Database");
    CHECK(escape_for_terminal("a\x1b[31mred") == "a\\x1b[31mred");
    CHECK(escape_for_terminal("line\nnext\r\t") == "line\\x0anext\\x0d\\x09");
    CHECK(escape_for_terminal(std::string("nul\0x", 5)) == "nul\\x00x");
    CHECK(escape_for_terminal("del\x7f") == "del\\x7f");
    // C1 controls U+0080..U+009F, e.g. CSI U+009B.
    CHECK(escape_for_terminal("\xc2\x9b"
                              "2J") == "\\xc2\\x9b2J");
    CHECK(escape_for_terminal("\xc2\x80\xc2\x9f") == "\\xc2\\x80\\xc2\\x9f");
    // U+00A0 and beyond are printable.
    CHECK(escape_for_terminal("\xc2\xa0") == "\xc2\xa0");
    CHECK(escape_for_terminal("Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac") ==
          "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xac");
    CHECK(escape_for_terminal("\xe6\x97\xa5\xe6\x9c\xac") == "\xe6\x97\xa5\xe6\x9c\xac");
}

TEST_CASE("escape_for_terminal: invalid UTF-8 bytes are escaped", "[cli][format]")
{
    CHECK(escape_for_terminal("\xff") == "\\xff");
    CHECK(escape_for_terminal("a\x80z") == "a\\x80z"); // lone continuation byte
    CHECK(escape_for_terminal("\xc3") == "\\xc3");     // truncated sequence
    CHECK(escape_for_terminal("\xc3(") == "\\xc3(");
    CHECK(escape_for_terminal("\xc0\xaf") == "\\xc0\\xaf");                   // overlong '/'
    CHECK(escape_for_terminal("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");          // overlong
    CHECK(escape_for_terminal("\xed\xa0\x80") == "\\xed\\xa0\\x80");          // surrogate U+D800
    CHECK(escape_for_terminal("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80"); // above U+10FFFF
    CHECK(escape_for_terminal("\xf5\x80") == "\\xf5\\x80");
    // A C1 control hidden in an overlong form is still escaped.
    CHECK(escape_for_terminal("\xe0\x82\x9b") == "\\xe0\\x82\\x9b");
}

TEST_CASE("escape_for_terminal: output never contains a control byte", "[cli][format]")
{
    std::string all;
    for (int b = 0; b < 256; ++b)
        all += static_cast<char>(b);
    auto out = escape_for_terminal(all);
    for (char c : out) {
        auto u = static_cast<unsigned char>(c);
        CHECK_FALSE((u < 0x20 || u == 0x7f));
        CHECK(u < 0x80); // every high byte alone is invalid UTF-8
    }
}

TEST_CASE("escape_json_controls keeps the JSON document equal", "[cli][format]")
{
    boost::json::value v = boost::json::parse("{\"t\":\"a\\u001bb\\u007fc\\u009bd\\u00e9e\"}");
    std::string raw = boost::json::serialize(v);
    CHECK(raw.find('\x7f') != std::string::npos); // Boost.JSON leaves DEL and C1 raw
    std::string safe = escape_json_controls(raw);
    CHECK(safe.find('\x7f') == std::string::npos);
    CHECK(safe.find("\xc2\x9b") == std::string::npos);
    CHECK(safe.find("\\u007f") != std::string::npos);
    CHECK(safe.find("\\u009b") != std::string::npos);
    CHECK(safe.find("\xc3\xa9") != std::string::npos); // printable non-ASCII stays
    CHECK(boost::json::parse(safe) == v);
}

TEST_CASE("format_interval and format_ms", "[cli][format]")
{
    CHECK(format_interval(7) == "7");
    CHECK(format_interval(0.5) == "0.5");
    CHECK(format_interval(1.25) == "1.25");
    CHECK(format_ms(1234567ns) == "1.23 ms");
    CHECK(format_ms(0ns) == "0.00 ms");
    CHECK(format_ms(25ms) == "25.00 ms");
}

TEST_CASE("format_task_table aligns columns and escapes server text", "[cli][format]")
{
    std::vector<butler_task> tasks(3);
    tasks[0].name = "BackupDatabase";
    tasks[0].enabled = true;
    tasks[0].interval = 3;
    tasks[0].schedule_randomized = false;
    tasks[0].title = "Back up database";
    tasks[1].name = "X";
    tasks[1].enabled = false;
    tasks[1].interval = 0.5;
    tasks[1].schedule_randomized = true;
    tasks[1].title = "Caf\xc3\xa9 \x1b]0;pwned\x07";
    // tasks[2] has no fields at all.
    auto table = format_task_table(tasks);
    CHECK(table == "NAME            ENABLED  INTERVAL  RANDOMISED  TITLE\n"
                   "BackupDatabase  yes      3         no          Back up database\n"
                   "X               no       0.5       yes         Caf\xc3\xa9 \\x1b]0;pwned\\x07\n"
                   "-               -        -         -           -\n");
    CHECK(table.find('\x1b') == std::string::npos);

    // A multi-byte name is aligned by code points, not bytes.
    std::vector<butler_task> utf(2);
    utf[0].name = "\xc3\xa9\xc3\xa9";
    utf[1].name = "abc";
    auto t2 = format_task_table(utf);
    CHECK(t2.find("\xc3\xa9\xc3\xa9  ") != std::string::npos);
    CHECK(t2.find("\nabc   ") != std::string::npos);
}

TEST_CASE("format_task_table of no tasks is just the header", "[cli][format]")
{
    CHECK(format_task_table({}) == "NAME  ENABLED  INTERVAL  RANDOMISED  TITLE\n");
}
