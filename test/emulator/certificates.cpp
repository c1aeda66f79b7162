// The emulator's certificate maker, checked with OpenSSL's own chain and name verification.

#include <plexbutler/emulator/tls.hpp>

#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using plexbutler::emulator::certificate_pair;
using plexbutler::emulator::certificate_spec;
using plexbutler::emulator::make_certificate;
using plexbutler::emulator::make_certificate_authority;

struct x509_free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
using x509_ptr = std::unique_ptr<X509, x509_free>;

x509_ptr parse(const std::string& pem)
{
    std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
    REQUIRE(bio);
    x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    REQUIRE(cert);
    return cert;
}

// X509_V_OK or the verification error of `leaf`, with `anchors` trusted and `untrusted`
// offered as intermediates; host-name check against `host` when not empty.
int verify(const std::string& leaf_pem, const std::vector<std::string>& anchors,
           const std::vector<std::string>& untrusted = {}, const std::string& host = {})
{
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store{X509_STORE_new(), &X509_STORE_free};
    for (const auto& a : anchors) {
        auto cert = parse(a);
        REQUIRE(X509_STORE_add_cert(store.get(), cert.get()) == 1);
    }
    std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> chain{
        sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }};
    for (const auto& u : untrusted)
        sk_X509_push(chain.get(), parse(u).release());
    auto leaf = parse(leaf_pem);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx{X509_STORE_CTX_new(), &X509_STORE_CTX_free};
    REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), chain.get()) == 1);
    X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx.get()), X509_PURPOSE_SSL_SERVER);
    if (!host.empty())
        REQUIRE(X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), host.c_str(), host.size()) == 1);
    X509_verify_cert(ctx.get());
    return X509_STORE_CTX_get_error(ctx.get());
}

std::string public_key_der(const std::string& cert_pem)
{
    auto cert = parse(cert_pem);
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
    REQUIRE(len > 0);
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

} // namespace

TEST_CASE("a leaf issued by a CA verifies against the CA and names its host", "[emulator][certificates]")
{
    const certificate_pair ca = make_certificate_authority("test root");
    certificate_spec spec;
    spec.names = {"*.0123456789abcdef.plex.direct", "127.0.0.1"};
    const certificate_pair leaf = make_certificate(spec, &ca);

    CHECK(verify(leaf.cert_pem, {ca.cert_pem}, {}, "127-0-0-1.0123456789abcdef.plex.direct") == X509_V_OK);
    CHECK(verify(leaf.cert_pem, {ca.cert_pem}, {}, "127-0-0-1.fedcba9876543210.plex.direct") ==
          X509_V_ERR_HOSTNAME_MISMATCH);
    // Not trusted on its own: it is no CA and not self-signed.
    CHECK(verify(leaf.cert_pem, {leaf.cert_pem}) != X509_V_OK);
    // Another CA does not vouch for it.
    CHECK(verify(leaf.cert_pem, {make_certificate_authority().cert_pem}) ==
          X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);

    auto cert = parse(leaf.cert_pem);
    CHECK(X509_check_ca(cert.get()) == 0);
    CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
}

TEST_CASE("an intermediate CA makes a chain that needs the intermediate", "[emulator][certificates]")
{
    const certificate_pair root = make_certificate_authority("test root");
    certificate_spec inter_spec;
    inter_spec.common_name = "test intermediate";
    inter_spec.is_ca = true;
    const certificate_pair intermediate = make_certificate(inter_spec, &root);
    certificate_spec spec;
    spec.names = {"localhost"};
    const certificate_pair leaf = make_certificate(spec, &intermediate);

    CHECK(verify(leaf.cert_pem, {root.cert_pem}, {intermediate.cert_pem}, "localhost") == X509_V_OK);
    CHECK(verify(leaf.cert_pem, {root.cert_pem}, {}, "localhost") == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
}

TEST_CASE("validity offsets make expired and not-yet-valid certificates", "[emulator][certificates]")
{
    const certificate_pair ca = make_certificate_authority();
    certificate_spec spec;
    spec.names = {"localhost"};
    spec.not_before = -48h;
    spec.not_after = -24h;
    CHECK(verify(make_certificate(spec, &ca).cert_pem, {ca.cert_pem}) == X509_V_ERR_CERT_HAS_EXPIRED);
    spec.not_before = 24h;
    spec.not_after = 48h;
    CHECK(verify(make_certificate(spec, &ca).cert_pem, {ca.cert_pem}) == X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST_CASE("certificates can share one key", "[emulator][certificates]")
{
    const certificate_pair ca = make_certificate_authority();
    certificate_spec spec;
    spec.names = {"127.0.0.2"};
    const certificate_pair first = make_certificate(spec, &ca);
    spec.names = {"127.0.0.3"};
    spec.key_pem = first.key_pem;
    const certificate_pair second = make_certificate(spec, &ca);
    CHECK(public_key_der(first.cert_pem) == public_key_der(second.cert_pem));
    CHECK(second.key_pem == first.key_pem);
    CHECK(verify(second.cert_pem, {ca.cert_pem}) == X509_V_OK);

    spec.key_pem.clear();
    CHECK(public_key_der(make_certificate(spec, &ca).cert_pem) != public_key_der(first.cert_pem));
}

TEST_CASE("a self-signed server certificate is trusted only as itself", "[emulator][certificates]")
{
    certificate_spec spec;
    spec.names = {"localhost"};
    const certificate_pair self = make_certificate(spec);
    auto cert = parse(self.cert_pem);
    CHECK(X509_check_ca(cert.get()) == 0);
    // OpenSSL accepts a self-signed end-entity certificate placed in the trust store itself.
    CHECK(verify(self.cert_pem, {self.cert_pem}, {}, "localhost") == X509_V_OK);
    CHECK(verify(self.cert_pem, {make_certificate_authority().cert_pem}) == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    const certificate_pair anchor = plexbutler::emulator::make_self_signed_certificate("localhost");
    CHECK(verify(anchor.cert_pem, {anchor.cert_pem}, {}, "localhost") == X509_V_OK);
}

TEST_CASE("certificate specs that make no sense are refused", "[emulator][certificates]")
{
    const certificate_pair ca = make_certificate_authority();
    certificate_spec spec;
    CHECK_THROWS_AS(make_certificate(spec, &ca), std::invalid_argument); // a server certificate needs a name
    spec.names = {""};
    CHECK_THROWS_AS(make_certificate(spec, &ca), std::invalid_argument);
    spec.names = {"localhost"};
    spec.not_before = 10s;
    spec.not_after = 10s;
    CHECK_THROWS_AS(make_certificate(spec, &ca), std::invalid_argument);
    spec.not_before = -60s;
    spec.not_after = 1h;
    spec.key_pem = "not a key";
    CHECK_THROWS_AS(make_certificate(spec, &ca), std::invalid_argument);
    spec.key_pem.clear();
    const certificate_pair leaf = make_certificate(spec, &ca);
    CHECK_THROWS_AS(make_certificate(spec, &leaf), std::invalid_argument); // a leaf cannot issue
    CHECK_THROWS_AS(make_certificate_authority("x", std::chrono::hours{0}), std::invalid_argument);
}
