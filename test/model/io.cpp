// operator<< of the value types: what `std::cout << r->content` prints.
#include <plexbutler/client.hpp>
#include <plexbutler/error.hpp>
#include <plexbutler/models.hpp>
#include <plexbutler/response.hpp>
#include <plexbutler/task_name.hpp>

#include <catch2/catch.hpp>

#include <sstream>

using namespace plexbutler;

namespace {

template <class T>
std::string printed(const T& v)
{
    std::ostringstream os;
    os << v;
    return os.str();
}

} // namespace

TEST_CASE("io: tasks and task lists print as their JSON", "[model][io]")
{
    butler_task t;
    t.name = "BackupDatabase";
    t.interval = 3;
    t.enabled = true;
    CHECK(printed(t) == R"({"name":"BackupDatabase","interval":3,"enabled":true})");
    butler_task_list l;
    l.tasks = {t, butler_task{}};
    CHECK(printed(l) == R"({"ButlerTasks":{"ButlerTask":[{"name":"BackupDatabase","interval":3,"enabled":true},{}]}})");
    CHECK(printed(task_list_envelope::media_container) == "MediaContainer");
    CHECK(printed(task_list_envelope::butler_tasks) == "ButlerTasks");
    // Control characters from a server are escaped, never written raw.
    t.title = "bell\a";
    CHECK(printed(t).find('\a') == std::string::npos);
}

TEST_CASE("io: outcomes and responses print in one line", "[model][io]")
{
    CHECK(printed(task_outcome::started) == "started");
    CHECK(printed(task_outcome::already_running) == "already running");
    CHECK(printed(task_outcome::not_running) == "not running");
    result<task_response> r = task_response{202, "text/plain", {}, task_outcome::already_running};
    CHECK(printed(r->content) == "already running");
    CHECK(printed(*r) == "HTTP 202: already running");
    tasks_response list;
    list.status = 200;
    list.content.tasks.resize(1);
    list.content.tasks[0].name = "OptimizeDatabase";
    CHECK(printed(list.content) == R"({"ButlerTasks":{"ButlerTask":[{"name":"OptimizeDatabase"}]}})");
    CHECK(printed(list) == R"(HTTP 200: {"ButlerTasks":{"ButlerTask":[{"name":"OptimizeDatabase"}]}})");
    raw_response raw{11, 200, "OK", "Content-Type: application/json\r\nX-Odd: \x01\r\n"};
    CHECK(printed(raw) == "HTTP/1.1 200 OK\nContent-Type: application/json\nX-Odd: \\x01");
}

TEST_CASE("io: errors, failures and names print their messages", "[model][io]")
{
    CHECK(printed(error::unauthorized) == "unauthorized");
    CHECK(printed(error::invalid_options) == "invalid client options");
    failure f{error::unauthorized, {}};
    f.diag.http_status = 401;
    f.diag.request_line = "GET /butler";
    f.diag.plex_errors.push_back({1001, "User could not be authenticated", 401});
    CHECK(printed(f) == "unauthorized (HTTP 401): User could not be authenticated (code 1001) [GET /butler]");
    CHECK(printed(f.diag.plex_errors[0]) ==
          R"({"code":1001,"message":"User could not be authenticated","status":401})");
    CHECK(printed(plex_error_list{f.diag.plex_errors}) ==
          R"({"errors":[{"code":1001,"message":"User could not be authenticated","status":401}]})");
    CHECK(printed(task_name(tasks::backup_database)) == "BackupDatabase");
}
