// libFuzzer target: arbitrary bytes as a server's response, read exactly the way
// src/client.cpp reads one (Beast's read loop over a stream into detail::sink_parser
// with the client's header/body limits, into the connection's flat_buffer), then
// classified the way the client's interpret step does (encoding, status, content
// type, JSON). The in-memory Beast test stream hands the bytes over in pieces of
// a fuzzed size, as TCP would.
//
// Input layout: byte 0 = operation (mod 5), byte 1 = read piece size (1..256),
// byte 2 = limit variant (client defaults or tight limits); the rest is the server's bytes.

// Boost 1.81's basic_parser asserts `n >= 5` when an empty chunked body's "0\r\n" is followed
// by a single byte in the next read (boostorg/beast#2861, fixed in Boost 1.86): the assertion
// is too strict and the code after it handles the case (need_more). Only that assertion is
// tolerated here; any other Boost assertion still aborts.
#define BOOST_ENABLE_ASSERT_HANDLER

#include <cstdlib>
#include <cstring>

namespace boost {
void assertion_failed(char const* expr, char const*, char const* file, long)
{
    if (std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "beast/http/impl/basic_parser.ipp") != nullptr)
        return;
    std::abort();
}
void assertion_failed_msg(char const*, char const*, char const*, char const*, long) { std::abort(); }
} // namespace boost

#include "sansio/classify.hpp"
#include "http/connection.hpp"

#include <plexbutler/models.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/http/read.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using plexbutler::detail::operation_kind;

struct limits {
    std::size_t header;
    std::size_t body;
    std::size_t depth;
};

// The client's defaults (client_options) and a tight set so limit paths are reached.
constexpr limits variants[] = {{64 * 1024, 1024 * 1024, 32}, {256, 512, 4}};

// Mirrors client_impl::interpret: returns without crashing; the value is irrelevant.
void interpret(operation_kind op, const plexbutler::detail::response_sink& s, const limits& lim)
{
    using namespace plexbutler::detail;
    const plexbutler::json_limits jl{lim.depth, lim.body};
    (void)printable(s.reason, 100);
    if (!is_identity_encoding(s.content_encoding)) {
        (void)printable(s.content_encoding, 64);
        return;
    }
    auto cls = classify_status(op, s.status);
    if (!cls.success) {
        if (cls.err == plexbutler::error::redirect_not_followed) {
            (void)redirect_message(s.status, s.location);
            // Query strings and fragments of a Location may carry tokens: never echoed.
            // (printable() turns other bytes into '?', so compare lengths, not characters.)
            const auto loc = location_without_query(s.location);
            const auto cut = s.location.find_first_of("?#");
            if (cut != std::string::npos && loc.size() > cut)
                __builtin_trap();
        }
        if (is_json_content_type(s.content_type) && !s.body.empty())
            (void)plexbutler::parse_plex_errors(s.body, jl);
        return;
    }
    if (op == operation_kind::list_tasks) {
        if (!is_json_content_type(s.content_type))
            return;
        (void)plexbutler::parse_task_list(s.body, jl);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 3)
        return 0;
    const auto op = static_cast<operation_kind>(data[0] % 5);
    const std::size_t piece = std::size_t{data[1]} + 1;
    const limits& lim = variants[data[2] % 2];
    const std::string_view wire(reinterpret_cast<const char*>(data + 3), size - 3);

    boost::asio::io_context ctx;
    beast::test::stream client(ctx), server(ctx);
    client.connect(server);
    client.read_size(piece);
    server.write_size(wire.size() + 1);
    if (!wire.empty())
        server.write_some(boost::asio::buffer(wire.data(), wire.size()));
    server.close(); // the server closes after its bytes: EOF ends any open-ended body

    plexbutler::detail::response_sink sink;
    beast::flat_buffer buffer;
    plexbutler::detail::sink_parser parser(sink, lim.body);
    parser.header_limit(static_cast<std::uint32_t>(lim.header));
    parser.body_limit(lim.body);
    beast::error_code ec;
    http::read(client, buffer, parser, ec);

    // The limits hold whatever the server sent: nothing beyond them is ever kept.
    if (sink.body.size() > lim.body)
        __builtin_trap();
    if (sink.fields.size() > lim.header + lim.header) // "Name: value\r\n" re-rendered: at most the raw header size
        __builtin_trap();
    if (sink.body.capacity() > lim.body + 4096 && sink.body.capacity() > 2 * lim.body)
        __builtin_trap(); // reserve() from Content-Length must respect body_limit
    if (ec) {
        (void)plexbutler::detail::map_transport_error(ec);
        (void)plexbutler::detail::is_stale_connection_error(ec);
        return 0;
    }
    if (!parser.is_done())
        __builtin_trap(); // a successful read is a complete message
    // A complete message always carries a three-digit status (Beast accepts 000-999;
    // classify_status maps anything outside 2xx-5xx to unexpected_status).
    if (sink.status > 999)
        __builtin_trap();
    interpret(op, sink, lim);
    return 0;
}
