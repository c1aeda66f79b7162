// Pins (sha256//BASE64) and the descriptions of certificate failures, without I/O: a known answer
// computed with the openssl command line, strict parsing, and the one-line descriptions.
#include "http/public_key_pins.hpp"
#include "http/tls_verify.hpp"

#include <plexbutler/public_key_pin.hpp>

#include <catch2/catch.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <stdexcept>

using namespace plexbutler;
using namespace plexbutler::detail;

namespace {

// openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj /CN=pin.example
//   -addext subjectAltName=DNS:pin.example,IP:10.1.2.3,IP:2001:db8::1 -days 3650
constexpr const char* kat_certificate = R"(-----BEGIN CERTIFICATE-----
MIIBszCCAVmgAwIBAgIURsRZ2HtxOxF9Hay0zMxlv71EYr4wCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLcGluLmV4YW1wbGUwHhcNMjYxMTMwMDgwMDE4WhcNMzYxMTI3
MDgwMDE4WjAWMRQwEgYDVQQDDAtwaW4uZXhhbXBsZTBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABHK+Q3mpWQ+SMZU7uSBmwqNjskMiifY5WtEw5fg8o7ZGPMuKarzH
gHBFWuSVM/xH85jnHx1PCcKTKl98ozSN2hyjgYQwgYEwHQYDVR0OBBYEFF2eDLKY
7H6lWb+BSwIG/E319TYqMB8GA1UdIwQYMBaAFF2eDLKY7H6lWb+BSwIG/E319TYq
MA8GA1UdEwEB/wQFMAMBAf8wLgYDVR0RBCcwJYILcGluLmV4YW1wbGWHBAoBAgOH
ECABDbgAAAAAAAAAAAAAAAEwCgYIKoZIzj0EAwIDSAAwRQIhAIvje5Dyt+Mzxryz
zYdxibW9SkpyAGnxXRkivRQ3MKeAAiB32hJJzDffh4fP5/8HtrVtQuPWiwXUOW/v
yLOyNsteJg==
-----END CERTIFICATE-----
)";
// openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
constexpr const char* kat_pin = "sha256//KfyeEVFC5w8ADe3z2ni86IHj5FhzJg5a1ui4+DjCgFQ=";

struct x509_free_fn {
    void operator()(X509* x) const noexcept { X509_free(x); }
};

std::unique_ptr<X509, x509_free_fn> kat_x509()
{
    BIO* bio = BIO_new_mem_buf(kat_certificate, -1);
    X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    REQUIRE(x != nullptr);
    return std::unique_ptr<X509, x509_free_fn>(x);
}

} // namespace

TEST_CASE("pins: the pin of a certificate is the one the openssl command line computes", "[http][pinning]")
{
    CHECK(public_key_pin(kat_certificate) == kat_pin);
    const auto x = kat_x509();
    const auto key = spki_sha256_of(x.get());
    REQUIRE(key);
    CHECK(pin_string(*key) == kat_pin);
    CHECK(parse_pin(kat_pin) == key);
    CHECK_FALSE(spki_sha256_of(nullptr));
}

TEST_CASE("pins: parsing is strict", "[http][pinning]")
{
    const std::string pin = kat_pin;
    CHECK(parse_pin(pin));
    CHECK_FALSE(parse_pin(""));
    CHECK_FALSE(parse_pin("sha256//"));
    CHECK_FALSE(parse_pin("SHA256//" + pin.substr(8)));
    CHECK_FALSE(parse_pin(pin.substr(8)));
    CHECK_FALSE(parse_pin(pin + " "));
    CHECK_FALSE(parse_pin(pin.substr(0, pin.size() - 1)));                             // no padding
    CHECK_FALSE(parse_pin(pin.substr(0, pin.size() - 2) + "h="));                      // unused bits set
    CHECK_FALSE(parse_pin(pin.substr(0, pin.size() - 2) + "=="));                      // 31 bytes
    CHECK_FALSE(parse_pin(pin.substr(0, 20) + "-" + pin.substr(21)));                  // base64url
    CHECK_FALSE(parse_pin(pin.substr(0, 20) + std::string(1, '\0') + pin.substr(21))); // NUL
    CHECK_THROWS_AS(public_key_pins({pin, "sha256//nope"}), std::invalid_argument);
    const public_key_pins two({pin, pin});
    CHECK(two.size() == 1); // duplicates count once
}

TEST_CASE("pins: a mismatch lists at most three of the pins expected", "[http][pinning]")
{
    spki_sha256 a{}, b{}, c{}, d{}, found{};
    b[0] = 1;
    c[0] = 2;
    d[0] = 3;
    found[0] = 4;
    const public_key_pins one({pin_string(a)});
    CHECK(one.mismatch_message(found) ==
          "public key pin mismatch: the server's key is " + pin_string(found) + ", expected " + pin_string(a));
    const public_key_pins four({pin_string(a), pin_string(b), pin_string(c), pin_string(d)});
    CHECK(four.mismatch_message(found).ends_with(pin_string(c) + " or 1 more"));
    CHECK(four.contains(d));
    CHECK_FALSE(four.contains(found));
}

TEST_CASE("tls descriptions: the names of a certificate, IP addresses included, cut after five", "[http][tls-errors]")
{
    const auto x = kat_x509();
    CHECK(describe_certificate_names(x.get()) == "pin.example, 10.1.2.3, 2001:db8::1");
    CHECK(describe_certificate_names(x.get(), 1) == "pin.example and 2 more");
    CHECK(describe_certificate_names(nullptr) == "(no certificate)");
    CHECK(describe_subject(x.get()) == "\"CN=pin.example\"");
}

TEST_CASE("tls descriptions: chain errors name the dates, the issuer, what is missing", "[http][tls-errors]")
{
    const auto x = kat_x509();
    CHECK(describe_chain_error(X509_V_ERR_CERT_HAS_EXPIRED, x.get(), 1) ==
          "certificate expired: \"CN=pin.example\" was valid until 2036-11-27 08:00:18 UTC");
    CHECK(describe_chain_error(X509_V_ERR_CERT_NOT_YET_VALID, x.get(), 1) ==
          "certificate not yet valid: \"CN=pin.example\" is valid from 2026-11-30 08:00:18 UTC");
    CHECK(describe_chain_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, x.get(), 1)
              .starts_with("missing intermediate or unknown CA: the issuer \"CN=pin.example\""));
    CHECK(describe_chain_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, x.get(), 2)
              .starts_with("untrusted issuer: \"CN=pin.example\""));
    CHECK(describe_chain_error(X509_V_ERR_CERT_REVOKED, x.get(), 1) == "certificate revoked (\"CN=pin.example\")");
}

TEST_CASE("tls policy: pins without a CA option make the key the whole proof", "[http][pinning]")
{
    const public_key_pins none;
    const public_key_pins pins({kat_pin});
    auto p = make_tls_verify_policy(true, false, "h", none);
    CHECK((p.chain && p.host_name));
    p = make_tls_verify_policy(true, false, "h", pins);
    CHECK_FALSE((p.chain || p.host_name));
    p = make_tls_verify_policy(true, true, "h", pins);
    CHECK((p.chain && p.host_name));
    CHECK(p.pins == &pins);
    p = make_tls_verify_policy(false, true, "h", pins);
    CHECK_FALSE((p.chain || p.host_name));
}
