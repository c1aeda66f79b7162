// The servers file of plexbutler --servers: the I/O-free parser, then loading real files with
// their permissions.
#include "cli/servers_file.hpp"

#include "support/process.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

using namespace plexbutler::cli;

namespace {

env_lookup servers_env(std::map<std::string, std::string> vars = {})
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end())
            return std::nullopt;
        return it->second;
    };
}

// The message of the servers_file_error that parsing `text` throws ("" when it parses).
std::string servers_parse_error(std::string_view text, const env_lookup& env = servers_env())
{
    try {
        parse_servers(text, "fleet.txt", env);
    } catch (const servers_file_error& e) {
        return e.what();
    }
    return {};
}

// A file in the temporary directory with this text and mode, removed at the end of the test.
struct servers_temp_file {
    servers_temp_file(const std::string& text, std::filesystem::perms mode)
        : path(std::filesystem::temp_directory_path() / ("plexbutler-servers-" + plexbutler::test::random_hex(8)))
    {
        std::ofstream(path) << text;
        std::filesystem::permissions(path, mode);
    }
    ~servers_temp_file() { std::filesystem::remove(path); }
    servers_temp_file(const servers_temp_file&) = delete;
    servers_temp_file& operator=(const servers_temp_file&) = delete;

    std::filesystem::path path;
};

constexpr auto owner_rw = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;

} // namespace

TEST_CASE("servers file: fields, token sources, comments, blank lines", "[cli][servers]")
{
    const std::string text = "# the fleet\n"
                             "\n"
                             "http://10.0.0.2:32400   env:TOKEN_A   living-room\n"
                             "   https://10.0.0.3:32400\ttoken:inline-token-1 # the office\n"
                             "http://10.0.0.4:32400 -\r\n"
                             "  # indented comment\n"
                             "http://10.0.0.5:32400 - host#5"; // '#' inside a word is not a comment; no final newline
    auto list = parse_servers(text, "fleet.txt", servers_env({{"TOKEN_A", "token-from-env"}}));
    REQUIRE(list.servers.size() == 4);
    const auto& a = list.servers[0];
    CHECK(a.url == "http://10.0.0.2:32400");
    CHECK(a.token == "token-from-env");
    CHECK(a.id == "living-room");
    CHECK(a.line == 3);
    CHECK_FALSE(a.inline_token);
    const auto& b = list.servers[1];
    CHECK(b.url == "https://10.0.0.3:32400");
    CHECK(b.token == "inline-token-1");
    CHECK(b.id == "https://10.0.0.3:32400"); // defaults to the URL
    CHECK(b.line == 4);
    CHECK(b.inline_token);
    const auto& c = list.servers[2];
    CHECK(c.token.empty());
    CHECK(c.id == "http://10.0.0.4:32400"); // the CR of a CRLF line is not part of the URL
    CHECK(list.servers[3].id == "host#5");
    CHECK(list.first_inline_token_line == 4);

    CHECK(parse_servers("http://h:1 -\n", "f", servers_env()).first_inline_token_line == 0);
}

TEST_CASE("servers file: errors name the file and the line", "[cli][servers]")
{
    CHECK(servers_parse_error("http://h:1\n") ==
          "fleet.txt:1: expected URL TOKEN-SOURCE [ID] (TOKEN-SOURCE is env:NAME, token:VALUE or -)");
    CHECK(servers_parse_error("\n\nhttp://h:1 - id extra\n") ==
          "fleet.txt:3: expected URL TOKEN-SOURCE [ID], found more than 3 fields");
    CHECK(servers_parse_error("http://h:1 env:MISSING_VAR\n") ==
          "fleet.txt:1: environment variable MISSING_VAR is not set");
    CHECK(servers_parse_error("# x\nhttp://h:1 env:EMPTY\n", servers_env({{"EMPTY", ""}})) ==
          "fleet.txt:2: environment variable EMPTY is empty");
    CHECK(servers_parse_error("http://h:1 env:\n").starts_with("fleet.txt:1: env: needs the name"));
    CHECK(servers_parse_error("http://h:1 env:1BAD\n").starts_with("fleet.txt:1: env: needs the name"));
    CHECK(servers_parse_error("http://h:1 token:\n") == "fleet.txt:1: token: needs a value (or use - for no token)");
    CHECK(servers_parse_error("http://h:1 - a\nhttp://h:2 - b\nhttp://h:3 - a\n") ==
          "fleet.txt:3: duplicate server id 'a' (first on line 1)");
    // Two lines with the same URL and no id: the default ids collide.
    CHECK(servers_parse_error("http://h:1 -\nhttp://h:1 -\n") ==
          "fleet.txt:2: duplicate server id 'http://h:1' (first on line 1)");
    CHECK(servers_parse_error("") == "fleet.txt: no servers (one a line: URL TOKEN-SOURCE [ID])");
    CHECK(servers_parse_error("# only a comment\n\n") == "fleet.txt: no servers (one a line: URL TOKEN-SOURCE [ID])");
    CHECK(servers_parse_error("http://h:1 - evil\x1b[2J\n").starts_with("fleet.txt:1: the id 'evil\\x1b[2J' contains"));
    CHECK(servers_parse_error("http://h:1\x01 -\n").starts_with("fleet.txt:1: the URL"));
}

TEST_CASE("servers file: a token is never part of an error message", "[cli][servers][token]")
{
    const std::string secret = "s3cret-token-value";
    // A token written without its prefix is an unknown token source: refused without quoting it.
    for (const std::string& text : {"http://h:1 " + secret + "\n", "http://h:1 " + secret + " id\n"}) {
        const std::string msg = servers_parse_error(text);
        CHECK(msg == "fleet.txt:1: the second field must be env:NAME, token:VALUE or - (a token is written "
                     "token:VALUE)");
        CHECK(msg.find(secret) == std::string::npos);
    }
    // Too short (the rule of --token), or bytes a header cannot carry: from the file or the environment.
    CHECK(servers_parse_error("http://h:1 token:short7\n") ==
          "fleet.txt:1: the inline token must have at least 8 characters (a Plex token has about 20)");
    CHECK(servers_parse_error("http://h:1 env:T\n", servers_env({{"T", "Xq7"}})) ==
          "fleet.txt:1: the token in environment variable T must have at least 8 characters (a Plex token has about "
          "20)");
    const std::string bad_env = servers_parse_error("http://h:1 env:T\n", servers_env({{"T", "abc def\r\nX: 1"}}));
    CHECK(bad_env ==
          "fleet.txt:1: the token in environment variable T contains a space, a control character or a non-ASCII byte");
    CHECK(servers_parse_error("http://h:1 token:abc\x01"
                              "defgh\n")
              .find("abc") == std::string::npos);
    CHECK(parse_servers("http://h:1 token:12345678\n", "f", servers_env()).servers[0].token == "12345678");
}

TEST_CASE("servers file: loading checks the mode of a file with inline tokens", "[cli][servers][token]")
{
    const auto env = servers_env({{"PB_SERVERS_TOKEN", "token-from-env"}});
    SECTION("a private file with inline tokens loads")
    {
        servers_temp_file f("http://h:1 token:inline-token-1 one\nhttp://h:2 env:PB_SERVERS_TOKEN two\n", owner_rw);
        auto list = load_servers_file(f.path.string(), env);
        REQUIRE(list.servers.size() == 2);
        CHECK(list.servers[0].token == "inline-token-1");
        CHECK(list.servers[1].token == "token-from-env");
    }
    SECTION("inline tokens in a file that group or others can access are refused")
    {
        for (auto extra : {std::filesystem::perms::group_read, std::filesystem::perms::others_read,
                           std::filesystem::perms::group_write, std::filesystem::perms::others_exec}) {
            servers_temp_file f("http://h:1 -\nhttp://h:2 token:inline-token-1 two\n", owner_rw | extra);
            try {
                load_servers_file(f.path.string(), env);
                FAIL("expected a servers_file_error");
            } catch (const servers_file_error& e) {
                const std::string msg = e.what();
                INFO(msg);
                CHECK(msg.starts_with(f.path.string() + ": holds a token (line 2) but group or others can access it"));
                CHECK(msg.find("chmod 600 " + f.path.string()) != std::string::npos);
                CHECK(msg.find("inline-token-1") == std::string::npos);
            }
        }
    }
    SECTION("a readable file without inline tokens loads")
    {
        servers_temp_file f("http://h:1 env:PB_SERVERS_TOKEN\nhttp://h:2 -\n",
                            owner_rw | std::filesystem::perms::group_read | std::filesystem::perms::others_read);
        CHECK(load_servers_file(f.path.string(), env).servers.size() == 2);
    }
    SECTION("the mode is checked on the file that was read, with parse errors naming the path")
    {
        servers_temp_file f("http://h:1 -\nbroken\n", owner_rw);
        CHECK_THROWS_WITH(load_servers_file(f.path.string(), env),
                          f.path.string() + ":2: expected URL TOKEN-SOURCE [ID] (TOKEN-SOURCE is env:NAME, "
                                            "token:VALUE or -)");
    }
}

TEST_CASE("servers file: missing, directory, too large", "[cli][servers]")
{
    const auto missing =
        std::filesystem::temp_directory_path() / ("plexbutler-none-" + plexbutler::test::random_hex(8));
    CHECK_THROWS_WITH(load_servers_file(missing.string(), servers_env()),
                      missing.string() + ": cannot open: No such file or directory");
    const auto dir = std::filesystem::temp_directory_path().string();
    CHECK_THROWS_WITH(load_servers_file(dir, servers_env()), dir + ": is a directory");

    servers_temp_file big(std::string(max_servers_file_bytes + 1, '#'), owner_rw);
    CHECK_THROWS_WITH(load_servers_file(big.path.string(), servers_env()), big.path.string() + ": larger than 16 MiB");
    servers_temp_file fits("http://h:1 -\n" + std::string(max_servers_file_bytes - 13, '#'), owner_rw);
    CHECK(load_servers_file(fits.path.string(), servers_env()).servers.size() == 1);
}

TEST_CASE("servers file: private_mode is mode & 077 == 0", "[cli][servers]")
{
    CHECK(private_mode(0600));
    CHECK(private_mode(0400));
    CHECK(private_mode(0700));
    CHECK_FALSE(private_mode(0640));
    CHECK_FALSE(private_mode(0604));
    CHECK_FALSE(private_mode(0620));
    CHECK_FALSE(private_mode(0601));
}
