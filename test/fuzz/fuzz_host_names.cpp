// libFuzzer target: arbitrary bytes as a host name for the plex.direct derivation
// (http/plex_direct.hpp) and as an address override entry, curl's --resolve form
// (http/address_override.hpp). Neither may crash or throw anything but std::invalid_argument;
// a derived address must format back to a name that derives the same address, and a parsed
// override must be complete and match its own host and port.

#include "http/address_override.hpp"
#include "http/plex_direct.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

void check(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_host_names: %s\n", what);
        std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    using namespace plexbutler::detail;

    if (const auto address = plex_direct_address(text)) {
        const auto name = plex_direct_name(*address, "0123456789abcdef0123456789abcdef");
        check(plex_direct_address(name) == address, "a derived address does not survive its own name");
        std::string lower(text.substr(0, text.size() - (text.ends_with('.') ? 1 : 0)));
        for (char& c : lower)
            c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        check(lower.ends_with(".plex.direct"), "a name outside plex.direct was derived");
    }

    try {
        const auto o = parse_address_override(text);
        check(!o.addresses.empty(), "an override without addresses");
        check(o.port != 0, "an override with port 0");
        check(!o.host.empty(), "an override without a host");
        check(o.matches(o.host, o.port), "an override does not match its own host and port");
        check(!o.matches(o.host, static_cast<std::uint16_t>(o.port + 1)), "an override matches another port");
    } catch (const std::invalid_argument&) {
    }
    return 0;
}
