// libFuzzer target: arbitrary bytes as a task name, a header value (token, client
// identifier, product, device name) and a server URL path prefix, through
// task_name::parse, parse_endpoint and the request rendering of src/detail/request.hpp.
// Whatever passes validation must render exactly one valid HTTP/1.1 request whose
// target is <prefix>/butler/<one segment> and whose header set is the same as for
// a plain name and plain values: no CR/LF/NUL anywhere, no extra or missing header.

#include "http/request.hpp"

#include <plexbutler/options.hpp>
#include <plexbutler/task_name.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace http = boost::beast::http;
using plexbutler::detail::operation_kind;

// Parses `bytes` as exactly one request; returns false when Beast rejects it or bytes are left over.
bool parse_one(const std::string& bytes, http::request_parser<http::empty_body>& p)
{
    p.eager(true);
    boost::beast::error_code ec;
    std::size_t used = p.put(boost::asio::buffer(bytes), ec);
    if (ec || !p.is_done())
        return false;
    return used == bytes.size();
}

std::vector<std::string> header_names(const http::request<http::empty_body>& req)
{
    std::vector<std::string> names;
    for (const auto& f : req)
        names.emplace_back(f.name_string());
    return names;
}

bool has_ctl(std::string_view s)
{
    // RFC 9110: a field value is HTAB, SP, VCHAR and obs-text; any other control byte is invalid.
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return true;
    }
    return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    const bool stop = in.ConsumeBool();
    const std::string prefix = in.ConsumeRandomLengthString(64);
    const std::string header_value = in.ConsumeRandomLengthString(128);
    const int which_header = in.ConsumeIntegralInRange(0, 3);
    const std::string name = in.ConsumeRemainingBytesAsString();
    const auto op = stop ? operation_kind::stop_task : operation_kind::start_task;

    auto parsed = plexbutler::task_name::parse(name);
    if (!parsed) {
        if (parsed.error().code != plexbutler::error::invalid_task_name)
            __builtin_trap();
        if (plexbutler::task_name::is_valid(name))
            __builtin_trap();
        return 0;
    }

    plexbutler::client_options plain;
    plain.server_url = "http://127.0.0.1:32400" + prefix;
    plain.token = "tok";
    plain.client_identifier = "id";
    plexbutler::client_options opts = plain;
    switch (which_header) {
    case 0: opts.token = header_value; break;
    case 1: opts.client_identifier = header_value; break;
    case 2: opts.product = header_value; break;
    default: opts.device_name = header_value; break;
    }
    if (opts.token.empty())
        opts.token = "tok"; // an empty token omits its header by design; keep the header set comparable
    if (opts.client_identifier.empty())
        opts.client_identifier = "id";
    if (opts.device_name.empty())
        plain.device_name.clear();
    else
        plain.device_name = "dev";

    plexbutler::detail::endpoint ep;
    try {
        ep = plexbutler::detail::parse_endpoint(opts);
    } catch (const std::invalid_argument&) {
        return 0; // a prefix that is no valid URL path is refused at construction
    }
    std::optional<plexbutler::detail::request_templates> templates;
    try {
        templates.emplace(opts, ep);
    } catch (const std::invalid_argument&) {
        if (!has_ctl(header_value))
            __builtin_trap(); // only control characters are refused
        return 0;
    }
    if (has_ctl(header_value))
        __builtin_trap(); // a control character accepted into a header

    std::string bytes;
    templates->render(bytes, op, parsed->view());
    http::request_parser<http::empty_body> p;
    if (!parse_one(bytes, p)) {
        std::fprintf(stderr, "rendered request does not parse:\n%s\n", bytes.c_str());
        __builtin_trap();
    }
    const auto& req = p.get();
    if (req.version() != 11 || req.method() != (stop ? http::verb::delete_ : http::verb::post))
        __builtin_trap();
    if (has_ctl(std::string_view(req.target().data(), req.target().size())))
        __builtin_trap();

    // Target: <prefix>/butler/<segment>, exactly one segment after butler, decoding to the name.
    auto target = boost::urls::parse_origin_form(std::string_view(req.target().data(), req.target().size()));
    if (!target)
        __builtin_trap();
    if (target->has_query() || target->has_fragment())
        __builtin_trap();
    const std::string expected_prefix = ep.path_prefix + "/butler/";
    const std::string_view path = target->encoded_path();
    if (path.substr(0, expected_prefix.size()) != expected_prefix) {
        std::fprintf(stderr, "target %.*s does not start with %s\n", static_cast<int>(path.size()), path.data(),
                     expected_prefix.c_str());
        __builtin_trap();
    }
    const std::string_view segment = path.substr(expected_prefix.size());
    if (segment.empty() || segment.find('/') != std::string_view::npos || segment == "." || segment == "..")
        __builtin_trap();
    auto segs = target->segments();
    if (segs.empty() || segs.back() != parsed->view())
        __builtin_trap();

    // Header values: byte-identical to the configured value, no control characters.
    for (const auto& f : req) {
        if (has_ctl(std::string_view(f.value().data(), f.value().size())))
            __builtin_trap();
    }

    // Same header set as for a plain name and plain values.
    plexbutler::detail::endpoint plain_ep = plexbutler::detail::parse_endpoint(plain);
    plexbutler::detail::request_templates plain_templates(plain, plain_ep);
    std::string plain_bytes;
    plain_templates.render(plain_bytes, op, "BackupDatabase");
    http::request_parser<http::empty_body> pp;
    if (!parse_one(plain_bytes, pp))
        __builtin_trap();
    if (header_names(req) != header_names(pp.get()))
        __builtin_trap();
    return 0;
}
