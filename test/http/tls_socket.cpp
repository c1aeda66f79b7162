// The client's TLS stream (http/tls_socket.hpp, used by tcp_or_tls_stream): OpenSSL over the
// socket's descriptor, against Asio's ssl::stream as the server, over real loopback sockets.
#include "http/tcp_transport.hpp"

#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <optional>
#include <string>
#include <vector>

using namespace plexbutler::detail;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

/// A connected pair: the client's tcp_or_tls_stream and an Asio TLS server stream, handshaken.
struct tls_pair {
    asio::io_context ioc;
    ssl::context server_ctx{ssl::context::tls_server};
    ssl::context client_ctx{ssl::context::tls_client}; // verifies nothing: the stream is tested here
    tcp_or_tls_stream client{ioc.get_executor(), &client_ctx};
    std::optional<ssl::stream<tcp::socket>> server;

    tls_pair()
    {
        auto pair = plexbutler::emulator::make_self_signed_certificate("127.0.0.1");
        server_ctx.use_certificate_chain(asio::buffer(pair.cert_pem));
        server_ctx.use_private_key(asio::buffer(pair.key_pem), ssl::context::pem);
        tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        client.tcp().connect(acceptor.local_endpoint());
        server.emplace(acceptor.accept(), server_ctx);
        REQUIRE(client.tls() != nullptr);
        error_code client_ec = asio::error::would_block, server_ec = asio::error::would_block;
        client.async_handshake([&](error_code ec, std::size_t) { client_ec = ec; });
        server->async_handshake(ssl::stream_base::server, [&](error_code ec) { server_ec = ec; });
        ioc.run();
        ioc.restart();
        REQUIRE_FALSE(client_ec);
        REQUIRE_FALSE(server_ec);
    }

    /// The server writes each of `messages` with its own write (one TLS record or more each).
    void server_writes(const std::vector<std::string>& messages)
    {
        for (const auto& m : messages) {
            asio::write(*server, asio::buffer(m));
        }
    }

    /// One read_some of the client into `capacity` bytes, run to completion.
    std::pair<error_code, std::string> client_read_some(std::size_t capacity)
    {
        std::string buf(capacity, '\0');
        error_code got = asio::error::would_block;
        std::size_t n = 0;
        client.async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t k) {
            got = ec;
            n = k;
        });
        ioc.run();
        ioc.restart();
        buf.resize(n);
        return {got, buf};
    }
};

} // namespace

TEST_CASE("tls socket: a read returns every record that arrived, in one read", "[http][tls_socket]")
{
    tls_pair p;
    p.server_writes({std::string(1000, 'a'), std::string(1000, 'b'), std::string(1000, 'c')});
    // The three records are on the client's socket: one recv takes them (read-ahead), one read
    // returns them all.
    auto [ec, data] = p.client_read_some(8192);
    REQUIRE_FALSE(ec);
    CHECK(data == std::string(1000, 'a') + std::string(1000, 'b') + std::string(1000, 'c'));
    CHECK_FALSE(p.client.has_unsolicited_bytes());
}

TEST_CASE("tls socket: a message of many records read in small pieces arrives whole", "[http][tls_socket]")
{
    tls_pair p;
    std::string sent(100 * 1024, '\0');
    for (std::size_t i = 0; i < sent.size(); ++i)
        sent[i] = static_cast<char>('a' + i % 26);
    std::string got(sent.size(), '\0');
    error_code read_ec = asio::error::would_block;
    error_code write_ec = asio::error::would_block;
    // Both sides at once: 100 KiB does not fit the socket buffers while nobody reads.
    asio::async_write(*p.server, asio::buffer(sent), [&](error_code ec, std::size_t) { write_ec = ec; });
    asio::async_read(p.client, asio::buffer(got), asio::transfer_exactly(got.size()),
                     [&](error_code ec, std::size_t) { read_ec = ec; });
    p.ioc.run();
    REQUIRE_FALSE(write_ec);
    REQUIRE_FALSE(read_ec);
    CHECK(got == sent);
}

TEST_CASE("tls socket: a request written by the client reaches the server", "[http][tls_socket]")
{
    tls_pair p;
    const std::string request = "GET /butler HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    bool called = false;
    error_code write_ec = asio::error::would_block;
    asio::async_write(p.client, asio::buffer(request), [&](error_code ec, std::size_t) {
        called = true;
        write_ec = ec;
    });
    // A write that completes at once is still not run inside the initiating function.
    CHECK_FALSE(called);
    p.ioc.run();
    p.ioc.restart();
    CHECK(called);
    REQUIRE_FALSE(write_ec);
    std::string got(request.size(), '\0');
    asio::read(*p.server, asio::buffer(got));
    CHECK(got == request);
}

TEST_CASE("tls socket: the end of the stream is told apart", "[http][tls_socket]")
{
    SECTION("a close_notify, then the end: eof")
    {
        tls_pair p;
        // The server sends its close_notify and waits for the client's, which never comes: the
        // server's socket is closed once the client has read the end.
        p.server->async_shutdown([](error_code) {});
        std::string buf(100, '\0');
        error_code got = asio::error::would_block;
        std::size_t n = 1;
        p.client.async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t k) {
            got = ec;
            n = k;
            p.server->next_layer().close();
        });
        p.ioc.run();
        CHECK(got == asio::error::eof);
        CHECK(n == 0);
    }
    SECTION("the end without a close_notify: stream_truncated")
    {
        tls_pair p;
        p.server->next_layer().close();
        auto [ec, data] = p.client_read_some(100);
        CHECK(ec == ssl::error::stream_truncated);
        CHECK(data.empty());
    }
    SECTION("the aborter's shutdown fails a pending read")
    {
        tls_pair p;
        std::string buf(100, '\0');
        error_code got = asio::error::would_block;
        p.client.async_read_some(asio::buffer(buf), [&](error_code ec, std::size_t) { got = ec; });
        p.ioc.poll();
        CHECK(got == asio::error::would_block); // waiting for the server
        p.client.make_aborter()();
        p.ioc.run();
        CHECK(got == ssl::error::stream_truncated);
    }
}

TEST_CASE("tls socket: writing to a peer that is gone fails without SIGPIPE", "[http][tls_socket]")
{
    // Default SIGPIPE disposition for this test (a parent that ignores it would hide a raised one):
    // a write through write(2) to a reset connection kills the process here.
    auto* previous = std::signal(SIGPIPE, SIG_DFL);
    {
        tls_pair p;
        // Reset: the server closes with unread data (the client's first write), so the kernel
        // answers the client's next segments with RST.
        asio::write(p.client.tcp(), asio::buffer(std::string("unread")));
        p.server->next_layer().close();
        const std::string chunk(16 * 1024, 'x');
        error_code ec;
        for (int i = 0; i < 100 && !ec; ++i) {
            asio::async_write(p.client, asio::buffer(chunk), [&](error_code e, std::size_t) { ec = e; });
            p.ioc.run();
            p.ioc.restart();
        }
        CHECK((ec == asio::error::broken_pipe || ec == asio::error::connection_reset));
    }
    std::signal(SIGPIPE, previous);
}

TEST_CASE("tls socket: park frees the record buffers only when nothing is buffered", "[http][tls_socket]")
{
    tls_pair p;
    p.server_writes({std::string(2000, 'a')});
    auto [ec, first] = p.client_read_some(500);
    REQUIRE_FALSE(ec);
    CHECK(first == std::string(500, 'a'));
    // 1,500 bytes of the record are still inside OpenSSL: parking would lose them.
    CHECK(p.client.has_unsolicited_bytes());
    CHECK_FALSE(p.client.park());
    CHECK_FALSE(p.client.parked());
    auto [ec2, rest] = p.client_read_some(4000);
    REQUIRE_FALSE(ec2);
    CHECK(rest == std::string(1500, 'a'));
    CHECK(p.client.park());
    CHECK(p.client.parked());
    // Parked, the connection goes on: the next records are read into new buffers.
    p.client.unpark();
    CHECK_FALSE(p.client.parked());
    p.server_writes({"after the park"});
    auto [ec3, after] = p.client_read_some(100);
    REQUIRE_FALSE(ec3);
    CHECK(after == "after the park");
}

TEST_CASE("tls socket: a waiting read is cancelled by its cancellation slot", "[http][tls_socket]")
{
    tls_pair p;
    asio::cancellation_signal signal;
    std::string buf(100, '\0');
    error_code got = asio::error::would_block;
    p.client.async_read_some(
        asio::buffer(buf), asio::bind_cancellation_slot(signal.slot(), [&](error_code ec, std::size_t) { got = ec; }));
    p.ioc.poll();
    CHECK(got == asio::error::would_block);
    signal.emit(asio::cancellation_type::terminal);
    p.ioc.run();
    CHECK(got == asio::error::operation_aborted);
}
