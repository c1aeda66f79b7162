// Unit tests of the I/O-free parts of the fleet commands: arguments, the tally with its summary
// and exit code, the progress bar and its throttle, the per-server output, and watch's event lines.
#include "cli/args.hpp"
#include "cli/fleet_format.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <map>

using namespace plexbutler;
using namespace plexbutler::cli;
using namespace std::chrono_literals;

namespace {

env_lookup fleet_units_env(std::map<std::string, std::string> vars = {})
{
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end())
            return std::nullopt;
        return it->second;
    };
}

std::string fleet_usage_error(const std::vector<std::string>& args, const env_lookup& env = fleet_units_env())
{
    try {
        parse_args(args, env);
    } catch (const usage_error& e) {
        return e.what();
    }
    return {};
}

failure fleet_units_failure(error e, unsigned status = 0, std::string server_message = {})
{
    failure f;
    f.code = make_error_code(e);
    f.diag.http_status = status;
    f.diag.server_message = std::move(server_message);
    f.diag.request_line = "GET /butler";
    f.diag.server = "127.0.0.1:1";
    return f;
}

butler_task fleet_units_task(std::string name, bool enabled, double interval)
{
    butler_task t;
    t.name = std::move(name);
    t.enabled = enabled;
    t.interval = interval;
    t.schedule_randomized = false;
    t.title = "Title";
    return t;
}

result<tasks_response> fleet_units_tasks(std::vector<butler_task> tasks)
{
    tasks_response r;
    r.status = 200;
    r.content.tasks = std::move(tasks);
    return r;
}

result<task_response> fleet_units_outcome(task_outcome o, unsigned status)
{
    task_response r;
    r.status = status;
    r.content = o;
    return r;
}

} // namespace

TEST_CASE("fleet args: --servers, --concurrency, watch --interval-ms", "[cli][args][fleet]")
{
    auto inv = parse_args({"--servers", "fleet.txt", "--concurrency", "8", "list", "--json"}, fleet_units_env());
    CHECK(inv.servers_file == "fleet.txt");
    CHECK(inv.concurrency == 8);
    CHECK(inv.json);
    CHECK(inv.fleet());
    CHECK(parse_args({"--servers=f", "start", "BackupDatabase", "--json"}, fleet_units_env()).json);
    CHECK(parse_args({"--servers=f", "stop-all"}, fleet_units_env()).concurrency == default_concurrency);

    auto watch = parse_args({"watch", "--interval-ms", "250"}, fleet_units_env());
    CHECK(watch.cmd == command::watch);
    CHECK(watch.interval == 250ms);
    CHECK(watch.fleet()); // a fleet of one
    CHECK(parse_args({"watch"}, fleet_units_env()).interval == default_watch_interval);
    CHECK(parse_args({"watch", "--json", "--concurrency", "2"}, fleet_units_env()).json);

    // The single-server commands are not fleets.
    CHECK_FALSE(parse_args({"list"}, fleet_units_env()).fleet());

    // Tokens of a fleet come from its file: --token is refused, PLEX_TOKEN and PLEX_SERVER_URL are ignored
    // (also a PLEX_TOKEN too short for a single server).
    auto env = fleet_units_env({{"PLEX_TOKEN", "Xq7"}, {"PLEX_SERVER_URL", "http://10.0.0.9:1"}});
    auto ignored = parse_args({"--servers", "f", "list"}, env);
    CHECK(ignored.token.empty());
    CHECK(ignored.server_url == "http://127.0.0.1:32400");
    CHECK(parse_args({"list"}, fleet_units_env({{"PLEX_SERVER_URL", "http://10.0.0.9:1"}})).server_url ==
          "http://10.0.0.9:1");
}

TEST_CASE("fleet args: usage errors", "[cli][args][fleet]")
{
    CHECK(fleet_usage_error({"--servers", "f", "--token", "secret-token-1", "list"}) ==
          "--token cannot be used with --servers: tokens are never given on the command line for a fleet; put "
          "env:NAME or token:VALUE in the servers file");
    CHECK(fleet_usage_error({"--servers", "f", "--token", "secret-token-1", "list"}).find("secret-token-1") ==
          std::string::npos);
    CHECK(fleet_usage_error({"--servers", "f", "--server", "http://h:1", "list"}) ==
          "--server and --servers cannot be combined");
    CHECK(fleet_usage_error({"--servers", "", "list"}) == "--servers needs a file name");
    CHECK(fleet_usage_error({"--servers", "f", "demo"}) == "demo cannot be used with --servers");
    CHECK(fleet_usage_error({"--concurrency", "4", "list"}) == "--concurrency is only valid with --servers or watch");
    CHECK(fleet_usage_error({"--servers", "f", "--concurrency", "0", "list"}) ==
          "--concurrency expects a whole number from 1 to 100000");
    CHECK(fleet_usage_error({"--interval-ms", "500", "list"}) == "--interval-ms is only valid with watch");
    CHECK(fleet_usage_error({"watch", "--interval-ms", "99"}) == "--interval-ms expects a whole number from 100 to "
                                                                 "86400000");
    CHECK(fleet_usage_error({"demo", "--json"}) == "--json is not valid with demo");
    CHECK(fleet_usage_error({"start-all", "--json"}).empty()); // one server prints one JSON object
    CHECK(fleet_usage_error({"watch", "extra"}) == "unexpected argument 'extra'");
}

TEST_CASE("usage text documents the fleet commands and options", "[cli][args][fleet]")
{
    auto text = usage_text();
    for (auto word : {"--servers FILE", "--concurrency N", "watch", "--interval-ms N", "env:NAME", "token:VALUE",
                      "chmod 600", "highest exit code", "SIGINT"})
        CHECK(text.find(word) != std::string::npos);
}

TEST_CASE("fleet tally: summary line grouped by kind, worst exit code", "[cli][fleet][exit]")
{
    fleet_tally t(7);
    CHECK(t.exit_code() == 0);
    CHECK(t.summary() == "7 servers: 0 ok, 0 failed");
    t.add_ok();
    t.add_ok();
    CHECK(t.exit_code() == 0);
    t.add_failure(error::unauthorized);
    CHECK(t.exit_code() == 4);
    t.add_failure(error::connect_failed);
    t.add_failure(error::timeout);
    CHECK(t.exit_code() == 5);
    t.add_failure(error::server_error); // 1 does not lower the worst
    CHECK(t.exit_code() == 5);
    CHECK(t.done() == 6);
    CHECK(t.summary() == "7 servers: 2 ok, 4 failed (2 unreachable, 1 unauthorized, 1 other)");
    t.add_failure(error::json_decode_failed);
    CHECK(t.exit_code() == 6);
    CHECK(t.failed_with(5) == 2);
    CHECK(t.failed_with(6) == 1);
    CHECK(t.summary() == "7 servers: 2 ok, 5 failed (1 protocol, 2 unreachable, 1 unauthorized, 1 other)");

    fleet_tally one(1);
    one.add_failure(error::not_found);
    CHECK(one.summary() == "1 server: 0 ok, 1 failed (1 not found)");
    CHECK(one.exit_code() == 3);
    fleet_tally foreign(1);
    foreign.add_failure(make_error_code(std::errc::io_error));
    CHECK(foreign.exit_code() == 1);
    CHECK(foreign.summary() == "1 server: 0 ok, 1 failed (1 other)");
}

TEST_CASE("fleet exit code: the highest code of any server, whatever the order", "[cli][fleet][exit]")
{
    CHECK(worse_exit_code(0, 0) == 0);
    CHECK(worse_exit_code(0, 1) == 1);
    CHECK(worse_exit_code(5, 4) == 5);
    CHECK(worse_exit_code(2, 6) == 6);
    const std::vector<error> errors = {error::server_error, error::invalid_task_name, error::not_found,
                                       error::unauthorized, error::connect_failed,    error::malformed_http};
    // Each prefix of the list ends with the worst code so far, forwards and backwards.
    for (int reverse = 0; reverse < 2; ++reverse) {
        fleet_tally t(errors.size());
        int expected = 0;
        for (std::size_t k = 0; k < errors.size(); ++k) {
            const error e = reverse ? errors[errors.size() - 1 - k] : errors[k];
            t.add_failure(e);
            expected = std::max(expected, exit_code_for(e));
            CHECK(t.exit_code() == expected);
        }
        CHECK(t.exit_code() == 6);
    }
}

TEST_CASE("fleet progress line and redraw throttle", "[cli][fleet][progress]")
{
    fleet_tally t(1000);
    CHECK(progress_line(t, 10) == "[>         ] 0/1000 ok 0 failed 0");
    for (int i = 0; i < 510; ++i)
        t.add_ok();
    t.add_failure(error::timeout);
    t.add_failure(error::unauthorized);
    CHECK(progress_line(t, 10) == "[=====>    ] 512/1000 ok 510 failed 2");
    while (t.done() < 999)
        t.add_ok();
    CHECK(progress_line(t, 10) == "[=========>] 999/1000 ok 997 failed 2");
    t.add_ok();
    CHECK(progress_line(t, 10) == "[==========] 1000/1000 ok 998 failed 2");
    fleet_tally none(0);
    CHECK(progress_line(none, 4) == "[====] 0/0 ok 0 failed 0");

    redraw_throttle th(100ms);
    const auto t0 = redraw_throttle::clock::time_point{} + 1h;
    CHECK(th.due(t0)); // the first draw is immediate
    CHECK_FALSE(th.due(t0 + 10ms));
    CHECK_FALSE(th.due(t0 + 99ms));
    CHECK(th.due(t0 + 100ms));
    CHECK_FALSE(th.due(t0 + 150ms)); // measured from the last redraw, not the first
    CHECK(th.due(t0 + 200ms));
    // At most 10 redraws a second however often it is asked.
    redraw_throttle per_ms;
    int draws = 0;
    for (int ms = 0; ms < 1000; ++ms)
        draws += per_ms.due(t0 + std::chrono::milliseconds(ms)) ? 1 : 0;
    CHECK(draws == 10);
}

TEST_CASE("fleet list block: the id, then the task table or the error, indented", "[cli][fleet][format]")
{
    auto ok = format_list_block("office", fleet_units_tasks({fleet_units_task("BackupDatabase", true, 3)}), "");
    CHECK(ok == "office\n"
                "  NAME            ENABLED  INTERVAL  RANDOMISED  TITLE\n"
                "  BackupDatabase  yes      3         no          Title\n");
    result<tasks_response> denied = fleet_units_failure(error::unauthorized, 401);
    CHECK(format_list_block("cellar", denied, "") == "cellar\n  error: unauthorized (HTTP 401) [GET /butler]\n");
    // Server text and ids are escaped; the token is redacted from messages.
    result<tasks_response> leaky = fleet_units_failure(error::server_error, 500, "token tok-12345678 leaked");
    auto text = format_list_block("evil\x1b[2J", leaky, "tok-12345678");
    CHECK(text.find("tok-12345678") == std::string::npos);
    CHECK(text.find("<redacted>") != std::string::npos);
    CHECK(text.starts_with("evil\\x1b[2J\n"));
}

TEST_CASE("fleet outcome lines: aligned ids, outcome or error", "[cli][fleet][format]")
{
    CHECK(format_outcome_line("a", 6, fleet_units_outcome(task_outcome::started, 200), "BackupDatabase", "") ==
          "a       started BackupDatabase\n");
    CHECK(format_outcome_line("office", 6, fleet_units_outcome(task_outcome::already_running, 202), "BackupDatabase",
                              "") == "office  already running BackupDatabase\n");
    CHECK(format_outcome_line("b", 1, fleet_units_outcome(task_outcome::stopped, 200), "", "") ==
          "b  stopped all tasks\n");
    CHECK(format_outcome_line("b", 1, fleet_units_outcome(task_outcome::accepted, 204), "", "") ==
          "b  accepted all tasks (HTTP 204)\n");
    result<task_response> down = fleet_units_failure(error::connect_failed, 0, "Connection refused");
    CHECK(format_outcome_line("\xc3\xa9t\xc3\xa9", 5, down, "X", "") ==
          "\xc3\xa9t\xc3\xa9    error: connect failed Connection refused [GET /butler]\n");
}

TEST_CASE("fleet JSON lines: id, ok, result or error {code, message}", "[cli][fleet][format]")
{
    auto list =
        boost::json::parse(json_list_line("office", fleet_units_tasks({fleet_units_task("A", false, 0.5)}), ""));
    CHECK(list.at("id").as_string() == "office");
    CHECK(list.at("ok").as_bool() == true);
    CHECK(list.at("result").at(0).at("name").as_string() == "A");
    CHECK(list.at("result").at(0).at("interval").as_double() == 0.5);
    CHECK_FALSE(list.as_object().contains("error"));

    const std::string failed_line =
        json_list_line("cellar", fleet_units_failure(error::unauthorized, 401, "tok-12345678"), "tok-12345678");
    CHECK(failed_line.ends_with("}\n"));
    CHECK(std::count(failed_line.begin(), failed_line.end(), '\n') == 1);
    CHECK(failed_line.find("tok-12345678") == std::string::npos);
    auto failed = boost::json::parse(failed_line);
    CHECK(failed.at("ok").as_bool() == false);
    CHECK(failed.at("error").at("code").as_string() == "unauthorized");
    CHECK(failed.at("error").at("status").to_number<int>() == 401);
    CHECK(failed.at("error").at("message").as_string().starts_with("unauthorized"));
    CHECK_FALSE(failed.as_object().contains("result"));

    auto started = boost::json::parse(
        json_outcome_line("a", fleet_units_outcome(task_outcome::already_running, 202), "BackupDatabase", ""));
    CHECK(started.at("result").at("outcome").as_string() == "already_running");
    CHECK(started.at("result").at("status").to_number<int>() == 202);
    CHECK(started.at("result").at("task").as_string() == "BackupDatabase");
    auto all = boost::json::parse(json_outcome_line("a", fleet_units_outcome(task_outcome::stopped, 200), "", ""));
    CHECK(all.at("result").at("outcome").as_string() == "stopped");
    CHECK_FALSE(all.at("result").as_object().contains("task"));
    auto down = boost::json::parse(json_outcome_line("a", fleet_units_failure(error::timeout), "", ""));
    CHECK(down.at("error").at("code").as_string() == "timeout");
    CHECK_FALSE(down.at("error").as_object().contains("status"));
}

TEST_CASE("error_name spells every error like its enumerator", "[cli][fleet][format]")
{
    CHECK(error_name(error::connect_failed) == "connect_failed");
    CHECK(error_name(error::certificate_verification_failed) == "certificate_verification_failed");
    CHECK(error_name(error::unknown_server) == "unknown_server");
    CHECK(error_name(boost::system::error_code(5, boost::system::generic_category())) == "generic:5");
    for (int v = 1; v <= static_cast<int>(error::invalid_options); ++v) {
        const std::string name = error_name(make_error_code(static_cast<error>(v)));
        CHECK_FALSE(name.starts_with("plexbutler:"));
        CHECK(name.find(' ') == std::string::npos);
    }
}

TEST_CASE("watch event lines and JSON", "[cli][fleet][watch]")
{
    const auto at = std::chrono::sys_days{std::chrono::year{2024} / 5 / 1} + 12h + 3min + 4s + 56ms;
    CHECK(format_utc(at) == "2024-05-01T12:03:04.056Z");

    fleet_event reachable;
    reachable.kind = fleet_event_kind::reachable;
    reachable.server = "office";
    reachable.at = at;
    reachable.tasks.emplace();
    reachable.tasks->tasks = {fleet_units_task("A", true, 1), fleet_units_task("B", true, 1)};
    CHECK(format_event_line(reachable, "") == "2024-05-01T12:03:04.056Z  office  reachable  2 tasks");
    auto rj = boost::json::parse(format_event_json(reachable, ""));
    CHECK(rj.at("kind").as_string() == "reachable");
    CHECK(rj.at("server").as_string() == "office");
    CHECK(rj.at("at").as_string() == "2024-05-01T12:03:04.056Z");
    CHECK(rj.at("tasks").as_array().size() == 2);

    fleet_event down;
    down.kind = fleet_event_kind::unreachable;
    down.server = "cellar";
    down.at = at;
    down.error = fleet_units_failure(error::connect_failed, 0, "tok-12345678 Connection refused");
    const std::string line = format_event_line(down, "tok-12345678");
    CHECK(line == "2024-05-01T12:03:04.056Z  cellar  unreachable  connect failed <redacted> Connection refused [GET "
                  "/butler]");
    auto dj = boost::json::parse(format_event_json(down, "tok-12345678"));
    CHECK(dj.at("error").at("code").as_string() == "connect_failed");
    CHECK(dj.at("error").at("message").as_string().find("tok-12345678") == boost::json::string::npos);

    fleet_event added;
    added.kind = fleet_event_kind::task_added;
    added.server = "office";
    added.at = at;
    added.task = fleet_units_task("New\x1b", true, 1);
    CHECK(format_event_line(added, "") == "2024-05-01T12:03:04.056Z  office  task_added  New\\x1b");
    added.kind = fleet_event_kind::task_removed;
    CHECK(format_event_line(added, "") == "2024-05-01T12:03:04.056Z  office  task_removed  New\\x1b");

    fleet_event changed;
    changed.kind = fleet_event_kind::task_changed;
    changed.server = "office";
    changed.at = at;
    changed.previous = fleet_units_task("BackupDatabase", true, 3);
    changed.task = fleet_units_task("BackupDatabase", false, 7);
    changed.task->title.reset();
    changed.fields = {"enabled", "interval", "title"};
    CHECK(format_event_line(changed, "") == "2024-05-01T12:03:04.056Z  office  task_changed  BackupDatabase  "
                                            "enabled: yes -> no, interval: 3 -> 7, title: Title -> -");
    auto cj = boost::json::parse(format_event_json(changed, ""));
    CHECK(cj.at("kind").as_string() == "task_changed");
    CHECK(cj.at("previous").at("enabled").as_bool() == true);
    CHECK(cj.at("task").at("enabled").as_bool() == false);
    CHECK(cj.at("fields").as_array().size() == 3);
    CHECK(cj.at("fields").at(0).as_string() == "enabled");
}
