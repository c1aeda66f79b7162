// The client's TLS 1.2 minimum (SSL_CTX_set_min_proto_version in http/tcp_transport.cpp), tested
// where nothing else would refuse an older protocol: OpenSSL 3 refuses TLS 1.0/1.1 at its default
// security level 1 by itself, so this binary loads an OpenSSL configuration at security level 0
// with no minimum protocol (fixtures/openssl_seclevel0.cnf) before any TLS context exists. The
// control test proves that a client context without its own minimum completes a TLS 1.1
// handshake here; the client, with its default context, must still refuse.
#include "support/client_fixture.hpp"
#include "support/process.hpp"

#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

namespace {

// OpenSSL reads its configuration once, at its first initialisation: this must run before any
// TLS context exists, so it runs during static initialisation (nothing earlier touches OpenSSL).
const bool seclevel0_config_loaded = [] {
    OPENSSL_INIT_SETTINGS* settings = OPENSSL_INIT_new();
    OPENSSL_INIT_set_config_filename(settings, PLEXBUTLER_TEST_FIXTURES "/openssl_seclevel0.cnf");
    const bool ok = OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, settings) == 1;
    OPENSSL_INIT_free(settings);
    return ok;
}();

/// A one-shot HTTPS server on 127.0.0.1 whose protocol versions are pinned, answering
/// each completed handshake with the sample task list. Runs on its own thread.
class pinned_tls_server {
public:
    pinned_tls_server(int min_version, int max_version)
        : ctx_(ssl::context::tls_server), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0))
    {
        auto pair = emulator::make_self_signed_certificate("127.0.0.1");
        ca_pem_ = pair.cert_pem;
        ctx_.use_certificate_chain(asio::buffer(pair.cert_pem));
        ctx_.use_private_key(asio::buffer(pair.key_pem), ssl::context::pem);
        SSL_CTX_set_min_proto_version(ctx_.native_handle(), min_version);
        SSL_CTX_set_max_proto_version(ctx_.native_handle(), max_version);
        // OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above; level 0 lets the server
        // really offer them.
        SSL_CTX_set_security_level(ctx_.native_handle(), 0);
        SSL_CTX_set_cipher_list(ctx_.native_handle(), "DEFAULT:@SECLEVEL=0");
        port_ = acceptor_.local_endpoint().port();
        thread_ = std::thread([this] { serve(); });
    }
    ~pinned_tls_server()
    {
        // The server thread blocks in accept(): wake it with one last connection.
        stop_ = true;
        boost::system::error_code ec;
        asio::io_context wake_io;
        tcp::socket wake(wake_io);
        wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    const std::string& ca_pem() const { return ca_pem_; }
    int handshakes_completed() const { return completed_.load(); }

private:
    void serve()
    {
        for (;;) {
            tcp::socket sock(io_);
            boost::system::error_code ec;
            acceptor_.accept(sock, ec);
            if (ec || stop_)
                return;
            ssl::stream<tcp::socket> s(std::move(sock), ctx_);
            s.handshake(ssl::stream_base::server, ec);
            if (ec)
                continue;
            ++completed_;
            std::string buf;
            asio::read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n", ec);
            if (!ec)
                asio::write(s, asio::buffer(tasks_ok()), ec);
            s.shutdown(ec);
        }
    }

    asio::io_context io_;
    ssl::context ctx_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::string ca_pem_;
    std::atomic<int> completed_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// A temporary file removed at scope exit.
struct temp_file {
    fs::path path;
    explicit temp_file(const std::string& content)
    {
        path = fs::temp_directory_path() / ("plexbutler-sec-" + random_hex(16) + ".pem");
        std::ofstream(path) << content;
    }
    ~temp_file()
    {
        std::error_code ec;
        fs::remove(path, ec);
    }
};

/// What the client, with the context it builds itself, made of a server pinned to
/// [min_version, max_version]: verifying against the server's CA, or not verifying at all.
struct listing {
    result<tasks_response> r;
    int handshakes_completed = 0;
};

listing list_tasks_of(int min_version, int max_version, bool verify = true)
{
    pinned_tls_server server(min_version, max_version);
    temp_file ca(server.ca_pem());
    client_options o;
    o.server_url = "https://127.0.0.1:" + std::to_string(server.port());
    if (verify)
        o.ca_file = ca.path.string();
    o.tls_verify = verify;
    o.request_timeout = 5000ms;
    o.connect_timeout = 3000ms;
    asio::io_context ctx;
    client c(ctx, o);
    auto r = run_on(ctx, c.try_get_butler_tasks());
    return {std::move(r), server.handshakes_completed()};
}

} // namespace

TEST_CASE("tls policy: here a context without a minimum accepts TLS 1.1 (control for the client tests)",
          "[tls][policy]")
{
    REQUIRE(seclevel0_config_loaded);
    pinned_tls_server server(TLS1_VERSION, TLS1_1_VERSION);
    asio::io_context io;
    ssl::context ctx(ssl::context::tls_client); // what the client builds, without its minimum
    ctx.set_verify_mode(ssl::verify_none);
    ssl::stream<tcp::socket> s(io, ctx);
    s.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()));
    boost::system::error_code ec;
    s.handshake(ssl::stream_base::client, ec);
    INFO(ec.message());
    REQUIRE_FALSE(ec);
    CHECK(SSL_version(s.native_handle()) == TLS1_1_VERSION);
    s.shutdown(ec);
}

TEST_CASE("tls policy: TLS 1.2 server is accepted (control for the version tests)", "[tls][policy]")
{
    auto l = list_tasks_of(TLS1_2_VERSION, TLS1_2_VERSION);
    REQUIRE(l.r.has_value());
    CHECK(l.r->content.tasks.size() == 2);
}

TEST_CASE("tls policy: a server limited to TLS 1.0/1.1 is refused with tls_handshake_failed", "[tls][policy]")
{
    auto l = list_tasks_of(TLS1_VERSION, TLS1_1_VERSION);
    REQUIRE_FALSE(l.r.has_value());
    CHECK(l.r.error().code == error::tls_handshake_failed);
    CHECK(l.handshakes_completed == 0);
    // The error names the cause (docs/tls.md, "TLS errors").
    INFO(l.r.error().message());
    CHECK(l.r.error().diag.server_message.find(
              ": protocol version: the server does not offer TLS 1.2 or 1.3, the versions this client accepts (") !=
          std::string::npos);
}

TEST_CASE("tls policy: tls_verify=false still refuses TLS 1.1", "[tls][policy]")
{
    auto l = list_tasks_of(TLS1_1_VERSION, TLS1_1_VERSION, false);
    REQUIRE_FALSE(l.r.has_value());
    CHECK(l.r.error().code == error::tls_handshake_failed);
    CHECK(l.r.error().diag.server_message.find("protocol version") != std::string::npos);
    CHECK(l.handshakes_completed == 0);
}
