// The CLI and the emulator executable with plex.direct names and --resolve: `plexbutler` against
// `plexbutler-emulator --tls-plex-direct HASH` / `--tls-name NAME`, over real TLS, with no DNS.
#include "cli/args.hpp"
#include "cli/commands.hpp"
#include "support/emulator_process.hpp"
#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;

namespace {

const std::string tn_cli_exe = PLEXBUTLER_BINARY_DIR "/bin/plexbutler";
const std::string tn_emulator_exe = PLEXBUTLER_BINARY_DIR "/bin/plexbutler-emulator";
const std::string tn_hash = PLEXBUTLER_TEST_PLEX_DIRECT_HASH;

process_result tn_run(const std::string& exe, const std::vector<std::string>& args,
                      std::vector<std::pair<std::string, std::string>> env = {})
{
    process_options opts;
    opts.unset_env = {"PLEX_TOKEN", "PLEX_SERVER_URL"};
    opts.env = std::move(env);
    auto r = run_process(exe, args, opts, 60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE_FALSE(r.timed_out);
    return r;
}

// A file in the temporary directory, removed at scope exit.
struct tn_temp_file {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("plexbutler-tls-names-" + random_hex(12) + ".pem");
    ~tn_temp_file()
    {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
};

bool tn_resolves(const std::string& host)
{
    boost::asio::io_context ctx;
    boost::asio::ip::tcp::resolver r(ctx);
    boost::system::error_code ec;
    const auto results = r.resolve(host, "443", ec);
    return !ec && !results.empty();
}

std::string tn_port(const std::string& url) { return url.substr(url.rfind(':') + 1); }

cli::env_lookup tn_no_env()
{
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

std::size_t tn_lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

} // namespace

TEST_CASE("parse_args: --resolve is repeatable and becomes the client's address overrides", "[cli][args][resolve]")
{
    auto inv = cli::parse_args(
        {"--resolve", "butler.test:32400:127.0.0.1", "--resolve=nas.test:443:[::1],10.0.0.2", "list"}, tn_no_env());
    REQUIRE(inv.resolve.size() == 2);
    CHECK(inv.resolve[1] == "nas.test:443:[::1],10.0.0.2");
    CHECK(cli::make_client_options(inv, {}).address_overrides == inv.resolve);
    CHECK(cli::parse_args({"list"}, tn_no_env()).resolve.empty());

    for (const char* bad : {"butler.test", "butler.test:0:127.0.0.1", "butler.test:443:localhost",
                            "butler.test:443:::1", "*:443:127.0.0.1"}) {
        INFO(bad);
        CHECK_THROWS_WITH(cli::parse_args({"--resolve", bad, "list"}, tn_no_env()),
                          Catch::StartsWith(std::string("--resolve: address override \"") + bad + "\""));
    }
    CHECK_THROWS_AS(cli::parse_args({"--resolve", "a.test:443:127.0.0.1", "--resolve", "a.test:443:127.0.0.2", "list"},
                                    tn_no_env()),
                    cli::usage_error);
    CHECK_THROWS_AS(cli::parse_args({"list", "--resolve"}, tn_no_env()), cli::usage_error);
}

TEST_CASE("CLI: plex.direct end to end, with no DNS", "[cli][tls][plex_direct][no_plex_direct_dns]")
{
    tn_temp_file ca;
    emulator_process e({"--tls-plex-direct", tn_hash, "--tls-write-ca", ca.path.string()});
    const std::string host = "127-0-0-1." + tn_hash + ".plex.direct";
    REQUIRE(e.url == "https://" + host + ":" + tn_port(e.url));
    REQUIRE_FALSE(tn_resolves(host)); // so the CLI cannot have asked DNS

    auto ok = tn_run(tn_cli_exe, {"--server", e.url, "--token", e.token, "--ca-file", ca.path.string(), "list"});
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Catch::Contains("BackupDatabase"));
    CHECK(ok.err.empty());

    auto started = tn_run(tn_cli_exe, {"--server", e.url, "--ca-file", ca.path.string(), "start", "BackupDatabase"},
                          {{"PLEX_TOKEN", e.token}});
    CHECK(started.exit_code == 0);
    CHECK(started.out == "started BackupDatabase\n");

    // Without the CA the certificate is refused: the name skips DNS, never the verification.
    auto refused = tn_run(tn_cli_exe, {"--server", e.url, "--token", e.token, "list"});
    CHECK(refused.exit_code == 5);
    CHECK(refused.out.empty());
    CHECK_THAT(refused.err, Catch::StartsWith("error: server certificate verification failed"));
    CHECK(tn_lines(refused.err) == 1);

    // A name with another machine hash reaches the same address, and its certificate does not match.
    const std::string other = "https://127-0-0-1.00112233445566778899aabbccddeeff.plex.direct:" + tn_port(e.url);
    auto wrong_hash =
        tn_run(tn_cli_exe, {"--server", other, "--token", e.token, "--ca-file", ca.path.string(), "list"});
    CHECK(wrong_hash.exit_code == 5);
    CHECK_THAT(wrong_hash.err, Catch::StartsWith("error: server certificate verification failed"));
}

TEST_CASE("CLI: plex.direct over IPv6", "[cli][tls][plex_direct][ipv6]")
{
    tn_temp_file ca;
    emulator_process e({"--listen", "[::1]:0", "--tls-plex-direct", tn_hash, "--tls-write-ca", ca.path.string()});
    REQUIRE(e.url.rfind("https://0000-0000-0000-0000-0000-0000-0000-0001." + tn_hash + ".plex.direct:", 0) == 0);
    auto ok = tn_run(tn_cli_exe, {"--server", e.url, "--token", e.token, "--ca-file", ca.path.string(), "list"});
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Catch::Contains("BackupDatabase"));
}

TEST_CASE("CLI: --resolve connects a made-up name to the emulator and verifies that name", "[cli][tls][resolve]")
{
    tn_temp_file ca;
    emulator_process e({"--tls-name", "butler.test", "--tls-write-ca", ca.path.string()});
    const std::string port = tn_port(e.url);
    const std::string url = "https://butler.test:" + port; // .test never resolves (RFC 6761)
    const std::vector<std::string> base = {"--server", url, "--token", e.token, "--ca-file", ca.path.string()};
    auto with = [&](std::vector<std::string> more) {
        auto args = base;
        args.insert(args.end(), more.begin(), more.end());
        return tn_run(tn_cli_exe, args);
    };

    auto ok = with({"--resolve", "butler.test:" + port + ":127.0.0.1", "list"});
    CHECK(ok.exit_code == 0);
    CHECK_THAT(ok.out, Catch::Contains("BackupDatabase"));

    auto no_override = with({"list"});
    CHECK(no_override.exit_code == 5);
    CHECK_THAT(no_override.err, Catch::StartsWith("error: connect failed resolving butler.test"));

    const std::string other_port = port == "65535" ? "1" : std::to_string(std::stoi(port) + 1);
    auto another_port = with({"--resolve", "butler.test:" + other_port + ":127.0.0.1", "list"});
    CHECK(another_port.exit_code == 5);
    CHECK_THAT(another_port.err, Catch::StartsWith("error: connect failed resolving butler.test"));

    // The certificate is for butler.test: a URL naming the address is refused even with the CA.
    auto by_address =
        tn_run(tn_cli_exe, {"--server", e.url, "--token", e.token, "--ca-file", ca.path.string(), "list"});
    CHECK(by_address.exit_code == 5);
    CHECK_THAT(by_address.err, Catch::StartsWith("error: server certificate verification failed"));

    auto bad = with({"--resolve", "butler.test:" + port + ":not-an-address", "list"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.out.empty());
    CHECK_THAT(bad.err, Catch::StartsWith("error: --resolve: address override"));
    CHECK(bad.err.find(e.token) == std::string::npos);
}

TEST_CASE("CLI: --resolve applies to the servers of --servers", "[cli][tls][resolve][fleet]")
{
    tn_temp_file ca;
    emulator_process e({"--tls-name", "butler.test", "--tls-write-ca", ca.path.string()});
    const std::string port = tn_port(e.url);
    tn_temp_file servers;
    std::ofstream(servers.path) << "https://butler.test:" << port << " env:TN_TOKEN named\n"
                                << e.url << " env:TN_TOKEN by-address\n";
    auto r = tn_run(tn_cli_exe,
                    {"--servers", servers.path.string(), "--ca-file", ca.path.string(), "--resolve",
                     "butler.test:" + port + ":127.0.0.1", "start", "BackupDatabase"},
                    {{"TN_TOKEN", e.token}});
    CHECK(r.exit_code == 5); // the second server's certificate does not name its address
    CHECK_THAT(r.out, Catch::Contains("named"));
    CHECK_THAT(r.out, Catch::Contains("started BackupDatabase"));
    CHECK_THAT(r.out, Catch::Contains("certificate verification failed"));
}

TEST_CASE("emulator executable: TLS name options are checked", "[emulator][executable][plex_direct]")
{
    auto expect_usage = [](std::vector<std::string> args, const std::string& says) {
        args.insert(args.begin(), {"--listen", "127.0.0.1:0"});
        auto r = tn_run(tn_emulator_exe, args);
        INFO("stderr: " << r.err);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.err, Catch::Contains(says));
    };
    expect_usage({"--tls-plex-direct", "0123"}, "32 lower-case hexadecimal digits");
    expect_usage({"--tls-plex-direct", "0123456789ABCDEF0123456789ABCDEF"}, "32 lower-case hexadecimal digits");
    expect_usage({"--tls-plex-direct", tn_hash, "--fleet", "2"}, "not with --fleet");
    expect_usage({"--tls-name", "a.test", "--tls-self-signed", "a.test"}, "exclusive");
    expect_usage({"--tls-name", ""}, "must not be empty");
    expect_usage({"--tls-write-ca", "x.pem"}, "--tls-write-ca needs");
}
