// Unit tests of the emulator's router: request -> response without sockets, time injected.

#include "emulator/router.hpp"

#include <plexbutler/emulator/scheduler.hpp>
#include <plexbutler/models.hpp>

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace http = boost::beast::http;
using plexbutler::butler_task;
using plexbutler::emulator::scheduler;
using namespace plexbutler::emulator::detail;

namespace {

// 2026-03-10 12:00:00 UTC: a fixed instant, so nothing depends on the machine's clock.
const router::clock::time_point noon =
    router::clock::time_point{std::chrono::sys_days{std::chrono::year{2026} / 3 / 10}} + 12h;

butler_task task(std::string name, bool enabled = true)
{
    butler_task t;
    t.name = std::move(name);
    t.interval = 1;
    t.schedule_randomized = false;
    t.enabled = enabled;
    return t;
}

struct router_fixture {
    std::vector<butler_task> tasks{task("BackupDatabase"), task("CleanOldBundles"), task("Disabled", false)};
    std::vector<std::optional<router::clock::time_point>> hook_calls;
    std::string scratch;

    std::vector<std::unique_ptr<router>> routers; // a router is not movable (its mutex)

    router& make(std::optional<std::string> token = "secret", double fail_rate = 0.0)
    {
        router::options ro;
        ro.token = std::move(token);
        ro.fail_rate = fail_rate;
        ro.seed = 42;
        ro.window = {0, 0};
        scheduler::options so;
        so.window = {0, 0}; // empty window: every start is immediate
        so.task_duration = 60s;
        auto& r =
            *routers.emplace_back(std::make_unique<router>(std::move(ro), tasks, scheduler(tasks, std::move(so))));
        r.set_schedule_hook([this](std::optional<router::clock::time_point> next) { hook_calls.push_back(next); });
        return r;
    }

    answer send(router& r, http::verb method, std::string_view target, std::string_view accept = {},
                std::optional<std::string_view> token = "secret", bool must_close = false,
                router::clock::time_point now = noon)
    {
        request_view req;
        req.method = method;
        req.target = target;
        req.token = token;
        req.accept = accept;
        return r.handle(req, must_close, now, scratch);
    }
};

std::string body_of(const answer& a)
{
    const auto& bytes = *a.bytes;
    const auto end_of_head = bytes.find("\r\n\r\n");
    REQUIRE(end_of_head != std::string::npos);
    return bytes.substr(end_of_head + 4);
}

bool has_header(const answer& a, std::string_view line)
{
    return a.bytes->find(std::string("\r\n").append(line).append("\r\n")) != std::string::npos;
}

} // namespace

TEST_CASE("router: GET /butler negotiates JSON or XML", "[emulator][router]")
{
    router_fixture f;
    auto& r = f.make();
    SECTION("JSON only when asked for")
    {
        const auto a = f.send(r, http::verb::get, "/butler", "application/json");
        CHECK(a.status == 200);
        CHECK(has_header(a, "Content-Type: application/json; charset=utf-8"));
        CHECK(body_of(a) == r.json_body());
        const auto parsed = plexbutler::parse_task_list(body_of(a));
        REQUIRE(parsed.has_value());
        CHECK(parsed->tasks == f.tasks);
    }
    SECTION("XML by default, for */* and when XML is preferred")
    {
        for (std::string_view accept : {"", "*/*", "application/xml, application/json;q=0.5", "application/json;q=0"}) {
            const auto a = f.send(r, http::verb::get, "/butler", accept);
            CHECK(has_header(a, "Content-Type: application/xml; charset=utf-8"));
            CHECK(body_of(a) == r.xml_body());
        }
    }
    SECTION("media types compare case-insensitively, and only letters fold")
    {
        CHECK(wants_json("APPLICATION/Json", ""));
        CHECK(wants_json("", " application/json ; q=0.9"));
        // The emulator's old compare folded with `c | 0x20`, so 0x0F matched '/' and CR matched '-'.
        CHECK_FALSE(wants_json("application\x0fjson", ""));
        CHECK(accept_quality("application\x0fjson", "application/json") == -1);
        CHECK(accept_quality("application/x\rjson", "application/x-json") == -1);
        const auto a = f.send(r, http::verb::get, "/butler", "application\x0fjson");
        CHECK(body_of(a) == r.xml_body());
    }
}

TEST_CASE("router: the token is required, in the header or the query", "[emulator][router]")
{
    router_fixture f;
    auto& r = f.make();
    const auto denied = f.send(r, http::verb::get, "/butler", {}, std::nullopt);
    CHECK(denied.status == 401);
    CHECK(has_header(denied, "Content-Type: application/json"));
    CHECK(body_of(denied) == R"({"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]})");
    CHECK(f.send(r, http::verb::get, "/butler", {}, "secreT").status == 401);
    CHECK(f.send(r, http::verb::get, "/butler", {}, "secret2").status == 401);
    CHECK(f.send(r, http::verb::get, "/butler?X-Plex-Token=secret", {}, std::nullopt).status == 200);
    CHECK(f.send(r, http::verb::get, "/butler?X-Plex-Token=nope", {}, std::nullopt).status == 401);
    CHECK(f.send(r, http::verb::get, "/_emulator/state", {}, std::nullopt).status == 401);

    auto& open = f.make(std::nullopt);
    CHECK(f.send(open, http::verb::get, "/butler", {}, std::nullopt).status == 200);
}

TEST_CASE("router: start and stop follow the Butler semantics and report the next event", "[emulator][router]")
{
    router_fixture f;
    auto& r = f.make();
    CHECK(f.send(r, http::verb::post, "/butler/BackupDatabase").status == 200);
    REQUIRE(f.hook_calls.size() == 1);
    CHECK(f.hook_calls.back() == noon + 60s); // the run's end
    CHECK(f.send(r, http::verb::post, "/butler/BackupDatabase").status == 202);
    CHECK(f.send(r, http::verb::post, "/butler/NoSuchTask").status == 404);
    CHECK(f.send(r, http::verb::post, "/butler/Disabled").status == 200);
    CHECK(f.send(r, http::verb::delete_, "/butler/BackupDatabase").status == 200);
    CHECK(f.hook_calls.back() == std::nullopt);
    CHECK(f.send(r, http::verb::delete_, "/butler/BackupDatabase").status == 404);

    CHECK(f.send(r, http::verb::post, "/butler").status == 200);
    CHECK(f.hook_calls.back() == noon + 60s);
    r.advance(noon + 60s);
    CHECK(f.hook_calls.back() == std::nullopt);

    const auto state = f.send(r, http::verb::get, "/_emulator/state", {}, "secret", false, noon + 61s);
    CHECK(state.status == 200);
    CHECK_FALSE(state.latency_applies);
    CHECK(has_header(state, "Cache-Control: no-store"));
    const auto doc = boost::json::parse(body_of(state));
    CHECK(doc.at("now").as_int64() ==
          std::chrono::duration_cast<std::chrono::milliseconds>((noon + 61s).time_since_epoch()).count());
    for (const auto& t : doc.at("tasks").as_array()) {
        CHECK(t.at("state").as_string() == "idle");
        CHECK(t.at("completedRuns").as_int64() == (t.at("name").as_string() == "Disabled" ? 0 : 1));
    }
}

TEST_CASE("router: other methods get 405 with Allow, unknown paths 404", "[emulator][router]")
{
    router_fixture f;
    auto& r = f.make();
    const auto list = f.send(r, http::verb::put, "/butler");
    CHECK(list.status == 405);
    CHECK(has_header(list, "Allow: GET, POST, DELETE"));
    const auto one = f.send(r, http::verb::get, "/butler/BackupDatabase");
    CHECK(one.status == 405);
    CHECK(has_header(one, "Allow: POST, DELETE"));
    const auto state = f.send(r, http::verb::post, "/_emulator/state");
    CHECK(state.status == 405);
    CHECK(has_header(state, "Allow: GET"));
    CHECK_FALSE(state.latency_applies);
    CHECK(f.send(r, http::verb::get, "/butlers").status == 404);
    CHECK(f.send(r, http::verb::post, "/butler/BackupDatabase/extra").status == 404);
    CHECK(f.send(r, http::verb::get, "no-slash").status == 400);
    CHECK(f.hook_calls.empty());
}

TEST_CASE("router: keep-alive and close variants, malformed requests, the served count", "[emulator][router]")
{
    router_fixture f;
    auto& r = f.make();
    CHECK(has_header(f.send(r, http::verb::get, "/butler", {}, "secret", false), "Connection: keep-alive"));
    CHECK(has_header(f.send(r, http::verb::get, "/butler", {}, "secret", true), "Connection: close"));
    const auto big = r.reject(malformed::header_too_large);
    CHECK(big.status == 431);
    CHECK(has_header(big, "Connection: close"));
    CHECK(r.reject(malformed::body_too_large).status == 413);
    CHECK(r.reject(malformed::bad_request).status == 400);
    CHECK(r.requests_served() == 5);
}

TEST_CASE("router: fail_rate answers 503 to Butler requests only", "[emulator][router]")
{
    router_fixture f;
    auto& r = f.make("secret", 1.0);
    const auto a = f.send(r, http::verb::get, "/butler");
    CHECK(a.status == 503);
    CHECK(has_header(a, "Retry-After: 1"));
    CHECK(body_of(a) ==
          R"x({"errors":[{"code":503,"message":"Service temporarily unavailable (emulated failure)","status":503}]})x");
    CHECK(f.send(r, http::verb::get, "/_emulator/state").status == 200);
}
