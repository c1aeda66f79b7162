// The plexbutler-emulator executable: start-up line, serving, signals, exit codes.

#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using plexbutler::test::child_process;
using plexbutler::test::run_process;

namespace {

const std::string emulator = std::string(PLEXBUTLER_BINARY_DIR) + "/bin/plexbutler-emulator";

http::response<http::string_body> get(const std::string& url, const std::string& target, const std::string& token)
{
    const auto u = boost::urls::parse_absolute_uri(url);
    REQUIRE(u.has_value());
    asio::io_context ioc;
    asio::ip::tcp::socket s(ioc);
    std::string host(u->host_address());
    if (host.size() > 2 && host.front() == '[')
        host = host.substr(1, host.size() - 2);
    s.connect({asio::ip::make_address(host), static_cast<std::uint16_t>(std::stoi(std::string(u->port())))});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    if (!token.empty())
        req.set("X-Plex-Token", token);
    req.set(http::field::accept, "application/json");
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return res;
}

} // namespace

TEST_CASE("the emulator prints its URL, serves, and exits 0 on SIGTERM", "[emulator][process]")
{
    const auto token = plexbutler::test::random_hex(24);
    child_process p(emulator, {"--listen", "127.0.0.1:0", "--token", token, "--quiet"});
    const auto url = plexbutler::test::wait_for_listening(p);
    REQUIRE(url.starts_with("http://127.0.0.1:"));
    CHECK(p.out().starts_with("listening on http://127.0.0.1:"));

    const auto ok = get(url, "/butler", token);
    CHECK(ok.result_int() == 200);
    CHECK(ok.body().starts_with("{\"ButlerTasks\":{\"ButlerTask\":["));
    CHECK(get(url, "/butler", "").result_int() == 401);

    p.signal(SIGTERM);
    CHECK(p.wait(10s) == 0);
    CHECK(p.err().find(token) == std::string::npos);
}

TEST_CASE("without --quiet requests are logged with the token redacted, SIGINT exits 0", "[emulator][process]")
{
    const auto token = plexbutler::test::random_hex(24);
    child_process p(emulator, {"--listen", "127.0.0.1:0", "--token", token});
    const auto url = plexbutler::test::wait_for_listening(p);
    REQUIRE_FALSE(url.empty());
    CHECK(get(url, "/butler?X-Plex-Token=" + token, "").result_int() == 200);
    p.signal(SIGINT);
    CHECK(p.wait(10s) == 0);
    CHECK(p.err().find("GET /butler?X-Plex-Token=REDACTED -> 200") != std::string::npos);
    CHECK(p.err().find(token) == std::string::npos);
}

TEST_CASE("HTTPS with --tls-self-signed writes the CA and prints an https URL", "[emulator][process]")
{
    const auto ca = std::filesystem::temp_directory_path() /
                    ("plexbutler-emulator-process-ca-" + std::to_string(::getpid()) + ".pem");
    child_process p(emulator, {"--listen", "127.0.0.1:0", "--tls-self-signed", "localhost", "--tls-write-ca",
                               ca.string(), "--quiet"});
    const auto url = plexbutler::test::wait_for_listening(p);
    CHECK(url.starts_with("https://127.0.0.1:"));
    std::ifstream f(ca);
    std::string first;
    std::getline(f, first);
    CHECK(first == "-----BEGIN CERTIFICATE-----");
    p.signal(SIGTERM);
    CHECK(p.wait(10s) == 0);
    std::filesystem::remove(ca);
}

TEST_CASE("bad command lines exit 2 with a message", "[emulator][process]")
{
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"--no-such-flag"},
          {"--listen"},
          {"--listen", "nonsense"},
          {"--threads", "zero"},
          {"--fail-rate", "2"},
          {"--window", "25:00-01:00"},
          {"--tls-cert", "x.pem"},
          {"--tasks", "/nonexistent/tasks.json"},
          {"--listen", "not-an-ip:0"},
          {"--fleet", "0"},
          {"--fleet", "3", "--addressing", "sideways"},
          {"--fleet", "3", "--addressing", "loopback", "--listen", "127.0.0.1:0"},
          {"--fleet", "3", "--token-pattern", "no-placeholder"},
          {"--fleet", "3", "--token-pattern", "t{i}", "--token", "x"},
          {"--fleet", "3", "--fault-down"},
          {"--fleet", "3", "--fault-fraction", "0.5"},
          {"--write-servers", "servers.txt"},
          {"--token", "two words"},
          {"--token-env", "PLEXBUTLER_SURELY_UNSET_VARIABLE"},
          {"--token-env", "not a name"}}) {
        const auto r = run_process(emulator, args, {}, 20s);
        INFO(args.front());
        CHECK(r.exit_code == 2);
        CHECK(r.err.find("plexbutler-emulator: ") != std::string::npos);
        CHECK(r.out.empty());
    }
}

TEST_CASE("a catalogue file given with --tasks is served, a malformed one is rejected", "[emulator][process]")
{
    const auto dir = std::filesystem::temp_directory_path();
    const auto good = dir / ("plexbutler-tasks-good-" + std::to_string(::getpid()) + ".json");
    const auto bad = dir / ("plexbutler-tasks-bad-" + std::to_string(::getpid()) + ".json");
    std::ofstream(good) << R"({"ButlerTasks":{"ButlerTask":[{"name":"OnlyTask","interval":2,"enabled":true}]}})";
    std::ofstream(bad) << R"({"ButlerTasks":{"ButlerTask":[{"name":"X","interval":"often"}]}})";

    const auto r = run_process(emulator, {"--tasks", bad.string()}, {}, 20s);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--tasks") != std::string::npos);

    child_process p(emulator, {"--listen", "127.0.0.1:0", "--tasks", good.string(), "--quiet"});
    const auto url = plexbutler::test::wait_for_listening(p);
    REQUIRE_FALSE(url.empty());
    const auto res = get(url, "/butler", "");
    CHECK(res.body() == R"({"ButlerTasks":{"ButlerTask":[{"name":"OnlyTask","interval":2,"enabled":true}]}})");
    p.signal(SIGTERM);
    CHECK(p.wait(10s) == 0);
    std::filesystem::remove(good);
    std::filesystem::remove(bad);
}

TEST_CASE("the help text documents every flag", "[emulator][process]")
{
    const auto r = run_process(emulator, {"--help"}, {}, 20s);
    CHECK(r.exit_code == 0);
    for (const char* flag : {"--listen",
                             "--token",
                             "--threads",
                             "--tasks",
                             "--window",
                             "--task-duration-ms",
                             "--latency-ms",
                             "--close-after",
                             "--fail-rate",
                             "--seed",
                             "--tls-cert",
                             "--tls-key",
                             "--tls-self-signed",
                             "--tls-write-ca",
                             "--quiet",
                             "--request-timeout-ms",
                             "--token-env",
                             "--fleet",
                             "--addressing",
                             "--token-pattern",
                             "--write-servers",
                             "--fault-fraction",
                             "--fault-seed",
                             "--fault-down",
                             "--fault-latency-ms",
                             "--fault-fail-rate",
                             "--fault-close-after",
                             "--fault-unauthorized"})
        CHECK(r.out.find(flag) != std::string::npos);
}

namespace {

struct emulator_servers_line {
    std::string url, token_source, id;
};

std::vector<emulator_servers_line> read_emulator_servers(const std::filesystem::path& file)
{
    std::vector<emulator_servers_line> out;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line.front() == '#')
            continue;
        std::istringstream fields(line);
        emulator_servers_line l;
        fields >> l.url >> l.token_source >> l.id;
        out.push_back(l);
    }
    return out;
}

} // namespace

TEST_CASE("the emulator with --fleet prints one URL per server, each serving on its own", "[emulator][process][fleet]")
{
    child_process p(emulator, {"--fleet", "4"});
    std::vector<std::string> urls;
    for (int i = 0; i < 4; ++i)
        urls.push_back(plexbutler::test::wait_for_listening(p));
    for (const auto& url : urls) {
        REQUIRE(url.starts_with("http://127.0.0.1:"));
        CHECK(get(url, "/butler", "").result_int() == 200);
    }
    CHECK(get(urls[2], "/butler/NoSuchTask", "").result_int() == 405);
    CHECK(std::set<std::string>(urls.begin(), urls.end()).size() == 4);
    p.signal(SIGTERM);
    CHECK(p.wait(10s) == 0);
    // The log names the server of each request.
    CHECK(p.err().find("emulator emu-2: GET /butler/NoSuchTask -> 405") != std::string::npos);
    CHECK(p.err().find("after 5 requests to 4 servers") != std::string::npos);
}

TEST_CASE("the emulator with --write-servers writes URL, token source and id, privately when it holds tokens",
          "[emulator][process][fleet]")
{
    const auto file =
        std::filesystem::temp_directory_path() / ("plexbutler-emulator-servers-" + std::to_string(::getpid()) + ".txt");
    SECTION("token:VALUE from --token-pattern, mode 0600")
    {
        child_process p(
            emulator, {"--fleet", "5", "--token-pattern", "secret-{i}-x", "--write-servers", file.string(), "--quiet"});
        const auto line = p.read_line(20s);
        REQUIRE(line.has_value());
        CHECK(*line == "fleet of 5 servers listening, servers in " + file.string());
        CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
              (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
        const auto servers = read_emulator_servers(file);
        REQUIRE(servers.size() == 5);
        for (std::size_t i = 0; i < servers.size(); ++i) {
            CHECK(servers[i].token_source == "token:secret-" + std::to_string(i) + "-x");
            CHECK(servers[i].id == "emu-" + std::to_string(i));
        }
        CHECK(get(servers[3].url, "/butler", "secret-3-x").result_int() == 200);
        CHECK(get(servers[3].url, "/butler", "secret-2-x").result_int() == 401);
        p.signal(SIGTERM);
        CHECK(p.wait(10s) == 0);
        CHECK(p.err().find("secret-") == std::string::npos);
    }
    SECTION("env:NAME from --token-env, loopback addresses, faults on a fraction")
    {
        const auto token = plexbutler::test::random_hex(24);
        plexbutler::test::process_options env;
        env.env = {{"PLEXBUTLER_FLEET_TEST_TOKEN", token}};
        child_process p(emulator,
                        {"--fleet", "300", "--addressing", "loopback", "--token-env", "PLEXBUTLER_FLEET_TEST_TOKEN",
                         "--write-servers", file.string(), "--fault-fraction", "0.1", "--fault-unauthorized",
                         "--quiet"},
                        env);
        REQUIRE(p.read_line(20s).has_value());
        const auto servers = read_emulator_servers(file);
        REQUIRE(servers.size() == 300);
        CHECK(servers[0].url.starts_with("http://127.0.1.1:"));
        CHECK(servers[299].url.starts_with("http://127.0.2.46:"));
        int unauthorized = 0;
        for (const auto& s : servers) {
            CHECK(s.token_source == "env:PLEXBUTLER_FLEET_TEST_TOKEN");
            const auto status = get(s.url, "/butler", token).result_int();
            CHECK((status == 200 || status == 401));
            unauthorized += status == 401 ? 1 : 0;
        }
        CHECK(unauthorized == 30);
        p.signal(SIGTERM);
        CHECK(p.wait(10s) == 0);
        std::ifstream in(file);
        CHECK(std::string(std::istreambuf_iterator<char>(in), {}).find(token) == std::string::npos);
    }
    SECTION("no token: -")
    {
        child_process p(emulator, {"--fleet", "2", "--write-servers", file.string(), "--quiet"});
        REQUIRE(p.read_line(20s).has_value());
        const auto servers = read_emulator_servers(file);
        REQUIRE(servers.size() == 2);
        CHECK(servers[1].token_source == "-");
        p.signal(SIGTERM);
        CHECK(p.wait(10s) == 0);
    }
    std::filesystem::remove(file);
}
