// The pinning options of the plexbutler CLI, without I/O: --pinned-pubkey and the pin command.
#include "cli/args.hpp"
#include "cli/commands.hpp"

#include <catch2/catch.hpp>

using namespace plexbutler;
using namespace plexbutler::cli;

namespace {

env_lookup pin_units_env()
{
    return [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
}

// Two well-formed pins (any 32 bytes are a key digest).
const std::string pin_a = "sha256//KfyeEVFC5w8ADe3z2ni86IHj5FhzJg5a1ui4+DjCgFQ=";
const std::string pin_b = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

std::string pin_usage_error(const std::vector<std::string>& args)
{
    try {
        parse_args(args, pin_units_env());
    } catch (const usage_error& e) {
        return e.what();
    }
    return "(accepted)";
}

} // namespace

TEST_CASE("parse_args: --pinned-pubkey takes pins separated by semicolons and may be repeated", "[cli][args][pinning]")
{
    auto inv = parse_args({"--pinned-pubkey", pin_a + ";" + pin_b, "list"}, pin_units_env());
    CHECK(inv.pinned_pubkeys == std::vector<std::string>{pin_a, pin_b});
    inv = parse_args({"--pinned-pubkey=" + pin_a, "list", "--pinned-pubkey", pin_b}, pin_units_env());
    CHECK(inv.pinned_pubkeys == std::vector<std::string>{pin_a, pin_b});
    CHECK(make_client_options(inv, {}).pinned_public_keys == inv.pinned_pubkeys);
    CHECK(parse_args({"list"}, pin_units_env()).pinned_pubkeys.empty());
}

TEST_CASE("parse_args: a malformed pin is a usage error that quotes it", "[cli][args][pinning]")
{
    CHECK(pin_usage_error({"--pinned-pubkey", "sha256//abc", "list"}) ==
          "--pinned-pubkey: 'sha256//abc' is not a pin: expected sha256// and 44 base64 characters ending in '=' "
          "(plexbutler pin prints one)");
    CHECK(pin_usage_error({"--pinned-pubkey", pin_a + ";", "list"}).starts_with("--pinned-pubkey: '' is not a pin"));
    CHECK(pin_usage_error({"--pinned-pubkey", pin_a + ";sha1//x", "list"})
              .starts_with("--pinned-pubkey: 'sha1//x' is not a pin"));
    CHECK(pin_usage_error({"--pinned-pubkey", pin_a.substr(8), "list"}).find("is not a pin") != std::string::npos);
    CHECK(pin_usage_error({"list", "--pinned-pubkey"}) == "--pinned-pubkey needs a value");
}

TEST_CASE("parse_args: the pin command", "[cli][args][pinning]")
{
    auto inv = parse_args({"--server", "https://127.0.0.1:32400", "pin"}, pin_units_env());
    CHECK(inv.cmd == command::pin);
    CHECK(pin_usage_error({"pin", "extra"}) == "unexpected argument 'extra'");
    CHECK(pin_usage_error({"--servers", "f", "pin"}).starts_with("pin cannot be used with --servers"));
    CHECK(pin_usage_error({"pin", "--json"}).starts_with("--json is only valid"));
}

TEST_CASE("usage text documents --pinned-pubkey and the pin command", "[cli][args][pinning]")
{
    const auto text = usage_text();
    CHECK(text.find("--pinned-pubkey PIN[;PIN...]") != std::string::npos);
    CHECK(text.find("\n  pin ") != std::string::npos);
    CHECK(text.find("without\n                    --insecure") != std::string::npos);
}
