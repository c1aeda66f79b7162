// The error category, diagnostics::describe, butler_error and redact (error.hpp).
#include <plexbutler/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/result.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace plexbutler;

namespace {

constexpr int first_error = static_cast<int>(error::connect_failed);
constexpr int last_error = static_cast<int>(error::invalid_options);

} // namespace

TEST_CASE("the category has a name and a distinct message for every value", "[error]")
{
    CHECK(std::string(butler_category().name()) == "plexbutler");
    std::set<std::string> messages;
    for (int ev = first_error; ev <= last_error; ++ev) {
        const std::string message = butler_category().message(ev);
        INFO("value " << ev << ": " << message);
        CHECK_FALSE(message.empty());
        CHECK(message != "unknown plexbutler error");
        messages.insert(message);
        // The non-allocating overload agrees with the allocating one.
        char buffer[128];
        CHECK(std::string(butler_category().message(ev, buffer, sizeof buffer)) == message);
    }
    CHECK(messages.size() == static_cast<std::size_t>(last_error - first_error + 1));
    CHECK(butler_category().message(last_error + 1) == "unknown plexbutler error");
    CHECK(butler_category().message(0) == "success");

    SECTION("precise messages for the transport failures")
    {
        CHECK(make_error_code(error::timeout).message() == "timeout");
        CHECK(make_error_code(error::connection_closed).message() ==
              "connection closed by server before a complete response");
        CHECK(make_error_code(error::json_decode_failed).message() == "JSON decode failed");
        CHECK(make_error_code(error::invalid_task_name).message() == "invalid task name");
    }
    SECTION("a short buffer truncates and terminates")
    {
        char buffer[8];
        CHECK(std::string(butler_category().message(static_cast<int>(error::connection_closed), buffer,
                                                    sizeof buffer)) == "connect");
    }
}

TEST_CASE("the enum converts to error_code", "[error]")
{
    const boost::system::error_code ec = error::unauthorized; // implicit: is_error_code_enum
    CHECK(ec.failed());
    CHECK(ec.value() == static_cast<int>(error::unauthorized));
    CHECK(&ec.category() == &butler_category());
    CHECK(ec == error::unauthorized);
    CHECK(ec != error::not_found);
    CHECK(ec != boost::asio::error::operation_aborted);
    CHECK_FALSE(boost::system::error_code{}.failed());
}

TEST_CASE("diagnostics::describe formats one line", "[error]")
{
    diagnostics d;
    SECTION("code only") { CHECK(d.describe(error::timeout) == "timeout"); }
    SECTION("all parts in order")
    {
        d.server_message = "after 2000 ms waiting for response from 127.0.0.1:32400";
        d.http_status = 401;
        d.plex_errors.push_back({1001, "User could not be authenticated", 401});
        d.plex_errors.push_back({1002, "second entry is not shown", 401});
        d.request_line = "POST /butler/BackupDatabase";
        CHECK(d.describe(error::unauthorized) ==
              "unauthorized after 2000 ms waiting for response from 127.0.0.1:32400 (HTTP 401): "
              "User could not be authenticated (code 1001) [POST /butler/BackupDatabase]");
    }
    SECTION("timeout with server message")
    {
        d.server_message = "after 2000 ms waiting for response from 127.0.0.1:32400";
        CHECK(d.describe(error::timeout) == "timeout after 2000 ms waiting for response from 127.0.0.1:32400");
    }
    SECTION("status and request line without a server message")
    {
        d.http_status = 503;
        d.request_line = "GET /butler";
        CHECK(d.describe(error::server_error) == "server error (HTTP 503) [GET /butler]");
    }
    SECTION("Plex error with only a message or only a code")
    {
        d.plex_errors.push_back({std::nullopt, "Forbidden", std::nullopt});
        CHECK(d.describe(error::unauthorized) == "unauthorized: Forbidden");
        d.plex_errors[0] = {1001, std::nullopt, std::nullopt};
        CHECK(d.describe(error::unauthorized) == "unauthorized: Plex error code 1001");
        d.plex_errors[0] = {};
        CHECK(d.describe(error::unauthorized) == "unauthorized");
    }
    SECTION("codes from other categories use their own message")
    {
        d.request_line = "GET /butler";
        const boost::system::error_code aborted = boost::asio::error::operation_aborted;
        CHECK(d.describe(aborted) == aborted.message() + " [GET /butler]");
    }
    SECTION("control and non-ASCII bytes are escaped")
    {
        d.server_message = "line1\r\nline2\t\x7f\xC3\xA9";
        d.plex_errors.push_back({1, std::string("a\0b", 3), std::nullopt});
        const std::string text = d.describe(error::malformed_http);
        CHECK(text == "malformed HTTP response line1\\x0d\\x0aline2\\x09\\x7f\\xc3\\xa9: a\\x00b (code 1)");
        for (const char ch : text) {
            const auto byte = static_cast<unsigned char>(ch);
            CHECK((byte >= 0x20 && byte < 0x7f));
        }
    }
    SECTION("bounded to 512 bytes")
    {
        d.server_message = std::string(2000, 'x');
        d.request_line = "GET /butler";
        const std::string text = d.describe(error::malformed_http);
        CHECK(text.size() == 512);
        CHECK(text.substr(text.size() - 3) == "...");
        CHECK(text.rfind("malformed HTTP response xxx", 0) == 0);
    }
}

TEST_CASE("butler_error carries the code, the diagnostics and a described what()", "[error]")
{
    diagnostics d;
    d.http_status = 404;
    d.request_line = "POST /butler/NoSuchTask";
    const butler_error e(error::not_found, d);
    CHECK(e.code() == error::not_found);
    CHECK(e.diag().http_status == 404);
    CHECK(std::string(e.what()) == "not found (HTTP 404) [POST /butler/NoSuchTask]");

    // Catchable as the standard base classes.
    try {
        throw butler_error(failure{error::timeout, {}});
    } catch (const boost::system::system_error& se) {
        CHECK(se.code() == error::timeout);
        CHECK(std::string(se.what()) == "timeout");
    }

    const failure f{error::bad_request, d};
    CHECK(f.message() == "bad request (HTTP 404) [POST /butler/NoSuchTask]");
    const butler_error from_failure(f);
    CHECK(std::string(from_failure.what()) == f.message());

    // Copies keep their own message alive.
    const butler_error copy = e;
    CHECK(std::string(copy.what()) == std::string(e.what()));
}

TEST_CASE("result<T, failure>::value() throws butler_error", "[error]")
{
    diagnostics d;
    d.server_message = "ButlerTasks: expected object";
    boost::system::result<int, failure> bad = failure{error::json_decode_failed, d};
    REQUIRE_FALSE(bad.has_value());
    try {
        (void)bad.value();
        FAIL("value() did not throw");
    } catch (const butler_error& e) {
        CHECK(e.code() == error::json_decode_failed);
        CHECK(e.diag().server_message == "ButlerTasks: expected object");
        CHECK(std::string(e.what()) == "JSON decode failed ButlerTasks: expected object");
    }
    CHECK_THROWS_AS(bad.value(), boost::system::system_error);

    boost::system::result<int, failure> good = 7;
    CHECK(good.value() == 7);
}

TEST_CASE("redact: a token of 8 or more characters is redacted wherever it occurs", "[error][redact]")
{
    const std::string token = "Qx9-z_Ab12cD";
    CHECK(redact("GET /butler?X-Plex-Token=" + token + " token " + token, token) ==
          "GET /butler?X-Plex-Token=<redacted> token <redacted>");
    CHECK(redact("nothing here", token) == "nothing here");
    CHECK(redact("", token).empty());
    // Also inside a longer word or at the end of a sentence: a real token never leaks.
    CHECK(redact("echo:x" + token + "x.", token) == "echo:x<redacted>x.");
    CHECK(redact(token + ".", token) == "<redacted>.");
    CHECK(redact(token, token) == "<redacted>");
    // The shortest length redacted anywhere.
    CHECK(redact("xabcdefghx", "abcdefgh") == "x<redacted>x");
    CHECK(redact("xabcdefgx", "abcdefg") == "xabcdefgx");
}

TEST_CASE("redact: a token shorter than 8 characters is redacted only as a whole value", "[error][redact]")
{
    // The message a one-character token used to garble into
    // "connec<redacted> failed <redac<redacted>ed>o 127.0.0.1:1".
    const std::string message = "connect failed <redacted> to 127.0.0.1:1: Connection refused";
    CHECK(redact(message, "t") == message);
    CHECK(redact("connect failed to 127.0.0.1", "t") == "connect failed to 127.0.0.1"); // the README's example
    // Where "1" stands as a whole value it is redacted: the function cannot tell it from the token.
    CHECK(redact(message, "1") == "connect failed <redacted> to 127.0.0.1:<redacted>: Connection refused");
    CHECK(redact(message, "0") == message);
    CHECK(redact("token 1, id 1; 1:1 (1) 1", "1") ==
          "token <redacted>, id <redacted>; <redacted>:<redacted> (<redacted>) <redacted>");
    CHECK(redact("X-Plex-Token=abc&x=abc", "abc") == "X-Plex-Token=<redacted>&x=<redacted>");
    CHECK(redact("abc", "abc") == "<redacted>");
    // '-', '.', '_', '~' can be part of a token: an occurrence next to them is part of a longer value.
    for (const std::string neighbour : {"a", "Z", "7", "-", ".", "_", "~"}) {
        INFO("neighbour " << neighbour);
        CHECK(redact(neighbour + "abc", "abc") == neighbour + "abc");
        CHECK(redact("abc" + neighbour, "abc") == "abc" + neighbour);
    }
    CHECK(redact("aaa", "aa") == "aaa");
}

TEST_CASE("redact: overlapping and adjacent occurrences become one marker", "[error][redact]")
{
    CHECK(redact("abababababab", "abababab") == "<redacted>");
    CHECK(redact("[abababababab]", "abababab") == "[<redacted>]");
    CHECK(redact("TOKEN123TOKEN123", "TOKEN123") == "<redacted>");
    CHECK(redact("TOKEN123 TOKEN123", "TOKEN123") == "<redacted> <redacted>");
    CHECK(redact("a/b a/b", "a/b") == "<redacted> <redacted>");
}

TEST_CASE("redact: the marker is never taken apart and redacting twice changes nothing", "[error][redact]")
{
    const std::string once = "GET <redacted> token <redacted>";
    // Secrets that occur inside the word of the marker.
    for (const std::string secret : {"red", "dac", "e", "redacted", "<redacted>", "redacted>", "<red"}) {
        INFO("secret " << secret);
        CHECK(redact(once, secret) == once);
    }
    // A secret equal to the word is still redacted where it stands outside a marker.
    CHECK(redact("redacted <redacted>", "redacted") == "<redacted> <redacted>");
    CHECK(redact("redacted", "redacted") == "<redacted>");
    // An occurrence that reaches beyond a marker carries text of its own: it is redacted.
    CHECK(redact("<redacted>abcdefgh", "ted>abcdefgh") == "<redac<redacted>");
    for (const std::string secret : {"1", "abc", "Qx9-z_Ab12cD", "redacted"}) {
        const std::string text = "x " + secret + " y" + secret + secret + " <redacted>" + secret + ".";
        INFO("secret " << secret);
        CHECK(redact(redact(text, secret), secret) == redact(text, secret));
    }
}

TEST_CASE("redact: a token equal to a common word is redacted where the word appears", "[error][redact]")
{
    // Documented: the function cannot tell the word from the token. Real tokens are random.
    CHECK(redact("connection closed by server", "connection") == "<redacted> closed by server");
    CHECK(redact("connect failed", "failed") == "connect <redacted>");
    CHECK(redact("the server", "the") == "<redacted> server");
    CHECK(redact("abc", "") == "abc");
}
