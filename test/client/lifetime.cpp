// Operations own their arguments: an awaitable may start long after the call that made it
// (co_spawn, a stored awaitable, `||`), when the caller's temporaries are gone. Run under ASan
// in CI; the request bytes the server records show what the operation sent.
#include "support/client_fixture.hpp"
#include "support/memory_server.hpp"

#include <boost/asio/co_spawn.hpp>

using namespace plexbutler;
using namespace plexbutler::test;
namespace asio = boost::asio;

namespace {

// Longer than std::string's inline buffer: the characters live on the heap and die with it.
std::string long_name(int i) { return "GenerateMediaIndexFiles" + std::string(static_cast<std::size_t>(i), 'X'); }

std::string request_line(const std::string& request) { return request.substr(0, request.find("\r\n")); }

} // namespace

TEST_CASE("lifetime: operations co_spawned with temporary names send those names", "[client][lifetime]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(http_response(200, "")).repeat());
    client c = server.make_client();
    int done = 0;
    auto count = [&](std::exception_ptr e, auto r) {
        CHECK_FALSE(e);
        CHECK(r.has_value());
        ++done;
    };
    auto count_throwing = [&](std::exception_ptr e, task_response) {
        CHECK_FALSE(e);
        ++done;
    };
    // Every argument is a temporary that dies before the operation starts.
    asio::co_spawn(ctx, c.try_start_task(long_name(1)), count);
    asio::co_spawn(ctx, c.try_stop_task(long_name(2)), count);
    asio::co_spawn(ctx, c.start_task(std::string_view(long_name(3))), count_throwing);
    asio::co_spawn(ctx, c.stop_task(std::string_view(long_name(4))), count_throwing);
    asio::co_spawn(ctx, c.start_task(task_name::parse(long_name(5)).value()), count_throwing);
    asio::co_spawn(ctx, c.stop_task(task_name::parse(long_name(6)).value()), count_throwing);
    REQUIRE(settle(ctx, [&] { return done == 6; }));
    std::vector<std::string> lines;
    for (const auto& r : server.requests())
        lines.push_back(request_line(r));
    std::sort(lines.begin(), lines.end());
    CHECK(lines == std::vector<std::string>{
                       "DELETE /butler/" + long_name(2) + " HTTP/1.1",
                       "DELETE /butler/" + long_name(4) + " HTTP/1.1",
                       "DELETE /butler/" + long_name(6) + " HTTP/1.1",
                       "POST /butler/" + long_name(1) + " HTTP/1.1",
                       "POST /butler/" + long_name(3) + " HTTP/1.1",
                       "POST /butler/" + long_name(5) + " HTTP/1.1",
                   });
}

TEST_CASE("lifetime: stored awaitables run after their arguments and their client are gone", "[client][lifetime]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    server.set_default(script{}.respond(http_response(200, "")).repeat());
    std::optional<asio::awaitable<result<task_response>>> stored;
    std::optional<asio::awaitable<result<task_response>>> orphan;
    {
        client c = server.make_client();
        stored.emplace(c.try_start_task(long_name(7)));
        auto r = run_on(ctx, std::move(*stored)); // the name's string died at the end of the statement
        REQUIRE(r.has_value());
        CHECK(request_line(server.requests().back()) == "POST /butler/" + long_name(7) + " HTTP/1.1");
        orphan.emplace(c.try_stop_task(long_name(8)));
    } // the client is destroyed (and shut down) before the orphan starts
    auto r = run_on(ctx, std::move(*orphan));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::client_shut_down);
}

TEST_CASE("lifetime: an invalid temporary name fails the operation with its text intact", "[client][lifetime]")
{
    asio::io_context ctx;
    memory_server server(ctx);
    client c = server.make_client();
    auto a = c.try_start_task(std::string("Bad/Name") + std::string(20, 'Y'));
    auto r = run_on(ctx, std::move(a));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == error::invalid_task_name);
    CHECK(r.error().message().find("Bad/Name" + std::string(20, 'Y')) != std::string::npos);
    CHECK(server.requests().empty());
}
