// The real `plexbutler` against the real emulator executable over HTTPS: the pin command (trust on
// first use, no --insecure needed), --pinned-pubkey, and the TLS errors a user sees, one line each.
#include "support/emulator_process.hpp"
#include "support/process.hpp"
#include "support/tls_files.hpp"

#include <plexbutler/emulator/tls.hpp>
#include <plexbutler/public_key_pin.hpp>

#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>

using namespace std::chrono_literals;
using namespace plexbutler::test;
namespace emu = plexbutler::emulator;

namespace {

const std::string tls_cli_exe = PLEXBUTLER_BINARY_DIR "/bin/plexbutler";

process_result tls_cli(const emulator_process& e, std::vector<std::string> args)
{
    std::vector<std::string> all = {"--server", e.url, "--token", e.token};
    all.insert(all.end(), args.begin(), args.end());
    process_options opts;
    opts.unset_env = {"PLEX_TOKEN", "PLEX_SERVER_URL"};
    auto r = run_process(tls_cli_exe, all, opts, 60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE_FALSE(r.timed_out);
    return r;
}

/// The emulator executable presenting `leaf` (+ `chain_rest`) from files in `dir`.
std::unique_ptr<emulator_process> serving(const pem_directory& dir, const emu::certificate_pair& leaf,
                                          const std::string& chain_rest = {})
{
    return std::make_unique<emulator_process>(
        std::vector<std::string>{"--tls-cert", dir.write("chain.pem", leaf.cert_pem + chain_rest), "--tls-key",
                                 dir.write("key.pem", leaf.key_pem)});
}

emu::certificate_pair cli_leaf(std::vector<std::string> names, const emu::certificate_pair* issuer,
                               std::chrono::seconds not_before = -60s, std::chrono::seconds not_after = 24h)
{
    emu::certificate_spec s;
    s.names = std::move(names);
    s.not_before = not_before;
    s.not_after = not_after;
    return emu::make_certificate(s, issuer);
}

void check_single_error(const process_result& r, const std::string& must_contain)
{
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.exit_code == 5);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(must_contain) != std::string::npos);
}

} // namespace

TEST_CASE("plexbutler pin prints the key of a self-signed server without --insecure, and it works as a pin",
          "[cli][tls][pinning]")
{
    pem_directory dir;
    const auto ca = dir.write("self.pem", "");
    emulator_process e({"--tls-self-signed", "127.0.0.1", "--tls-write-ca", ca});
    REQUIRE(e.url.rfind("https://", 0) == 0);
    std::ifstream in(ca);
    const std::string cert((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto expected = plexbutler::public_key_pin(cert);

    auto pin = tls_cli(e, {"pin"});
    CHECK(pin.exit_code == 0);
    CHECK(pin.out == expected + "\n");
    CHECK(pin.err.empty());

    auto pinned = tls_cli(e, {"--pinned-pubkey", expected, "list"});
    CHECK(pinned.exit_code == 0);
    CHECK(pinned.out.find("BackupDatabase") != std::string::npos);
    CHECK(pinned.err.empty());

    const auto other = plexbutler::public_key_pin(emu::make_self_signed_certificate("other.example").cert_pem);
    auto either = tls_cli(e, {"--pinned-pubkey", other + ";" + expected, "start", "BackupDatabase"});
    CHECK(either.exit_code == 0);
    CHECK(either.out == "started BackupDatabase\n");

    auto mismatch = tls_cli(e, {"--pinned-pubkey", other, "list"});
    check_single_error(mismatch, "public key pin mismatch: the server's key is " + expected + ", expected " + other);

    // --insecure does not lift the pin, and with a pin it warns of nothing.
    auto insecure = tls_cli(e, {"--insecure", "--pinned-pubkey", other, "list"});
    check_single_error(insecure, "public key pin mismatch");
    auto insecure_ok = tls_cli(e, {"--insecure", "--pinned-pubkey", expected, "list"});
    CHECK(insecure_ok.exit_code == 0);
    CHECK(insecure_ok.err.empty());

    auto bad = tls_cli(e, {"--pinned-pubkey", "sha256//tooshort", "list"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("'sha256//tooshort' is not a pin") != std::string::npos);
}

TEST_CASE("plexbutler pin: an http:// server is a usage error, a closed port a network error", "[cli][tls][pinning]")
{
    emulator_process plain;
    auto r = tls_cli(plain, {"pin"});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("needs an https:// server URL") != std::string::npos);

    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    const auto port = a.local_endpoint().port();
    a.close();
    process_options opts;
    opts.unset_env = {"PLEX_TOKEN", "PLEX_SERVER_URL"};
    auto closed = run_process(tls_cli_exe, {"--server", "https://127.0.0.1:" + std::to_string(port), "pin"}, opts, 60s);
    CHECK(closed.exit_code == 5);
    CHECK(closed.err.rfind("error: connect failed", 0) == 0);
}

TEST_CASE("plexbutler names the TLS failure in one line", "[cli][tls][tls-errors]")
{
    const auto ca = emu::make_certificate_authority("CLI Test CA");
    pem_directory dir;
    const auto ca_file = dir.write("ca.pem", ca.cert_pem);

    SECTION("a name the certificate does not hold")
    {
        auto e = serving(dir, cli_leaf({"other.example", "www.other.example"}, &ca));
        check_single_error(
            tls_cli(*e, {"--ca-file", ca_file, "list"}),
            "IP address mismatch: the certificate is for other.example, www.other.example, not 127.0.0.1");
    }
    SECTION("expired")
    {
        auto e = serving(dir, cli_leaf({"127.0.0.1"}, &ca, -48h, -24h));
        check_single_error(tls_cli(*e, {"--ca-file", ca_file, "list"}),
                           "certificate expired: \"CN=127.0.0.1\" was valid until ");
    }
    SECTION("not yet valid")
    {
        auto e = serving(dir, cli_leaf({"127.0.0.1"}, &ca, 24h, 48h));
        check_single_error(tls_cli(*e, {"--ca-file", ca_file, "list"}),
                           "certificate not yet valid: \"CN=127.0.0.1\" is valid from ");
    }
    SECTION("self-signed, not trusted")
    {
        auto e = serving(dir, cli_leaf({"127.0.0.1"}, nullptr));
        check_single_error(tls_cli(*e, {"list"}), "untrusted certificate: \"CN=127.0.0.1\" is self-signed");
    }
    SECTION("a missing intermediate")
    {
        emu::certificate_spec is;
        is.is_ca = true;
        is.common_name = "CLI Intermediate CA";
        const auto intermediate = emu::make_certificate(is, &ca);
        auto e = serving(dir, cli_leaf({"127.0.0.1"}, &intermediate));
        check_single_error(tls_cli(*e, {"--ca-file", ca_file, "list"}),
                           "missing intermediate or unknown CA: the issuer \"CN=CLI Intermediate CA\"");
    }
}
