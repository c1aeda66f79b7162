// The emulator's named certificates (server_options::tls_names, tls_plex_direct_hash): the chain it
// presents, the CA it writes, its plex.direct URL, and the options it refuses.
#include <plexbutler/emulator/server.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include <catch2/catch.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using plexbutler::emulator::server;
using plexbutler::emulator::server_options;

struct named_tls_temp_file {
    std::filesystem::path path;
    named_tls_temp_file()
    {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               ("plexbutler-named-tls-" + std::to_string(rd()) + "-" + std::to_string(rd()) + ".pem");
    }
    ~named_tls_temp_file()
    {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
};

std::string subject_of(X509* cert)
{
    char buf[256] = {};
    X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
    return buf;
}

std::string issuer_of(X509* cert)
{
    char buf[256] = {};
    X509_NAME_oneline(X509_get_issuer_name(cert), buf, sizeof buf);
    return buf;
}

/// Handshakes with `port` on 127.0.0.1 trusting only `ca_file`, checking the certificate for `host`;
/// returns the handshake error and the subjects and issuers of the chain the server sent.
boost::system::error_code handshake(std::uint16_t port, const std::string& ca_file, const std::string& host,
                                    std::vector<std::pair<std::string, std::string>>* chain = nullptr)
{
    asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    ssl::stream<asio::ip::tcp::socket> s(io, ctx);
    s.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    SSL_ctrl(s.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str())); // SNI (the macro's cast trips -Wold-style-cast)
    s.set_verify_mode(ssl::verify_peer);
    s.set_verify_callback(ssl::host_name_verification(host));
    boost::system::error_code ec;
    s.handshake(ssl::stream_base::client, ec);
    if (!ec && chain != nullptr) {
        STACK_OF(X509)* certs = SSL_get_peer_cert_chain(s.native_handle());
        for (int i = 0; certs != nullptr && i < sk_X509_num(certs); ++i)
            chain->emplace_back(subject_of(sk_X509_value(certs, i)), issuer_of(sk_X509_value(certs, i)));
    }
    return ec;
}

} // namespace

TEST_CASE("named certificates: the server presents its certificate and the CA, and writes the CA",
          "[emulator][tls][named]")
{
    named_tls_temp_file ca;
    server_options o;
    o.tls_names = {"butler.test", "*.wild.test"};
    o.tls_write_ca_file = ca.path.string();
    server srv(o);
    CHECK(srv.url() == "https://127.0.0.1:" + std::to_string(srv.port()));

    std::vector<std::pair<std::string, std::string>> chain;
    REQUIRE_FALSE(handshake(srv.port(), ca.path.string(), "butler.test", &chain));
    REQUIRE(chain.size() == 2);
    CHECK_THAT(chain[0].first, Catch::Contains("CN=butler.test"));
    CHECK_THAT(chain[0].second, Catch::Contains("CN=plexbutler emulator CA"));
    CHECK(chain[1].first == chain[0].second); // the CA's own certificate follows
    CHECK_FALSE(handshake(srv.port(), ca.path.string(), "x.wild.test"));
    CHECK(handshake(srv.port(), ca.path.string(), "other.test"));    // not a name of the certificate
    CHECK(handshake(srv.port(), ca.path.string(), "a.b.wild.test")); // a wildcard covers one label
}

TEST_CASE("named certificates: a plex.direct server is named by its plex.direct URL", "[emulator][tls][named]")
{
    named_tls_temp_file ca;
    server_options o;
    o.listen_host = "localhost";
    o.tls_plex_direct_hash = "0123456789abcdef0123456789abcdef";
    o.tls_names = {"extra.test"};
    o.tls_write_ca_file = ca.path.string();
    server srv(o);
    CHECK(srv.url() == "https://127-0-0-1.0123456789abcdef0123456789abcdef.plex.direct:" + std::to_string(srv.port()));
    CHECK_FALSE(handshake(srv.port(), ca.path.string(), "127-0-0-1.0123456789abcdef0123456789abcdef.plex.direct"));
    CHECK_FALSE(handshake(srv.port(), ca.path.string(), "extra.test"));
    CHECK(handshake(srv.port(), ca.path.string(), "127-0-0-1.00000000000000000000000000000000.plex.direct"));
}

TEST_CASE("named certificates: options that make no sense are refused", "[emulator][tls][named]")
{
    auto refused = [](server_options o, const std::string& says) {
        INFO(says);
        try {
            server srv(std::move(o));
            FAIL("accepted");
        } catch (const std::invalid_argument& e) {
            CHECK_THAT(e.what(), Catch::Contains(says));
        }
    };
    server_options o;
    o.tls_plex_direct_hash = "0123";
    refused(o, "32 lower-case hexadecimal digits");
    o.tls_plex_direct_hash = "0123456789ABCDEF0123456789ABCDEF";
    refused(o, "32 lower-case hexadecimal digits");
    o.tls_plex_direct_hash = "0123456789abcdef0123456789abcdeg";
    refused(o, "32 lower-case hexadecimal digits");
    o = {};
    o.tls_names = {"a.test", ""};
    refused(o, "empty name");
    o.tls_names = {"a.test"};
    o.tls_self_signed_name = "a.test";
    refused(o, "exclusive");
    o.tls_self_signed_name.clear();
    o.tls_cert_file = "cert.pem";
    o.tls_key_file = "key.pem";
    refused(o, "exclusive");
}
