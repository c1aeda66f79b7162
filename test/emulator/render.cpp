// The emulator's response bodies: the task list as the library encodes it, and intervals that
// are NaN, infinite or too large for an integer.

#include "emulator/render.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/models.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

using plexbutler::butler_task;
using namespace plexbutler::emulator::detail;

namespace {

butler_task with_interval(std::string name, double interval)
{
    butler_task t;
    t.name = std::move(name);
    t.interval = interval;
    return t;
}

constexpr double not_a_number = std::numeric_limits<double>::quiet_NaN();
constexpr double infinity = std::numeric_limits<double>::infinity();

} // namespace

TEST_CASE("the JSON task list is the library's encoding", "[emulator][render]")
{
    const auto catalogue = plexbutler::emulator::default_catalogue();
    plexbutler::butler_task_list list;
    list.tasks = catalogue;
    CHECK(render_task_list_json(catalogue) == boost::json::serialize(boost::json::value_from(list)));
    // PMS' key order and integral intervals as integers.
    CHECK(render_task_list_json({with_interval("A", 3), with_interval("B", 0.5)}) ==
          R"({"ButlerTasks":{"ButlerTask":[{"name":"A","interval":3},{"name":"B","interval":5E-1}]}})");
}

TEST_CASE("XML intervals: integers, fractions, huge values, and no number for NaN or infinity", "[emulator][render]")
{
    CHECK(format_interval(3) == "3");
    CHECK(format_interval(0) == "0");
    CHECK(format_interval(-0.0) == "0");
    CHECK(format_interval(-1) == "-1");
    CHECK(format_interval(0.5) == "0.5");
    CHECK(format_interval(1e15) == "1000000000000000");
    // Beyond the range of long long: the old check cast these (undefined behaviour).
    CHECK(format_interval(1e300) == "1e+300");
    CHECK(format_interval(-1e300) == "-1e+300");
    CHECK(format_interval(9.3e18) == "9.3e+18");
    CHECK(format_interval(not_a_number).empty());
    CHECK(format_interval(infinity).empty());
    CHECK(format_interval(-infinity).empty());
}

TEST_CASE("a server with NaN, infinite and huge intervals serves bodies a client decodes", "[emulator][render]")
{
    plexbutler::emulator::server_options o;
    o.tasks = std::vector{with_interval("Nan", not_a_number), with_interval("Inf", infinity),
                          with_interval("NegInf", -infinity), with_interval("Huge", 1e300), with_interval("Three", 3)};
    plexbutler::emulator::server srv(o);

    // JSON cannot represent NaN or infinity: null, which reads back as absent.
    CHECK(srv.json_body() == R"({"ButlerTasks":{"ButlerTask":[{"name":"Nan","interval":null},)"
                             R"({"name":"Inf","interval":null},{"name":"NegInf","interval":null},)"
                             R"({"name":"Huge","interval":1E300},{"name":"Three","interval":3}]}})");
    const auto parsed = plexbutler::parse_task_list(srv.json_body());
    REQUIRE(parsed.has_value());
    REQUIRE(parsed->tasks.size() == 5);
    CHECK_FALSE(parsed->tasks[0].interval);
    CHECK_FALSE(parsed->tasks[1].interval);
    CHECK(parsed->tasks[3].interval == 1e300);

    // XML leaves the attribute out in the same cases.
    CHECK(srv.xml_body() == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ButlerTasks>"
                            "<ButlerTask name=\"Nan\"/><ButlerTask name=\"Inf\"/><ButlerTask name=\"NegInf\"/>"
                            "<ButlerTask name=\"Huge\" interval=\"1e+300\"/><ButlerTask name=\"Three\" interval=\"3\"/>"
                            "</ButlerTasks>\n");
}
