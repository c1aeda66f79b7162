#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/ip/address.hpp>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace plexbutler::emulator {
namespace {

template <auto Free>
struct ossl_deleter {
    template <class T>
    void operator()(T* p) const noexcept
    {
        Free(p);
    }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, ossl_deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, ossl_deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, ossl_deleter<BIO_free_all>>;
using bn_ptr = std::unique_ptr<BIGNUM, ossl_deleter<BN_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, ossl_deleter<X509_EXTENSION_free>>;

[[noreturn]] void fail(const char* step)
{
    std::string msg = "self-signed certificate: ";
    msg += step;
    msg += " failed";
    // The OpenSSL error queue says why; drain it so it does not leak into later TLS calls.
    if (unsigned long code = ERR_get_error(); code != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        msg += ": ";
        msg += buf;
    }
    ERR_clear_error();
    throw std::runtime_error(msg);
}

void check(int rc, const char* step)
{
    if (rc <= 0)
        fail(step);
}

std::string bio_to_string(BIO* bio)
{
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    if (len < 0 || data == nullptr)
        fail("BIO_get_mem_data");
    return std::string(data, static_cast<std::size_t>(len));
}

void add_extension(X509* cert, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
    if (!ext)
        fail("X509V3_EXT_conf_nid");
    check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

} // namespace

certificate_pair make_self_signed_certificate(std::string_view host_name, std::chrono::hours validity)
{
    return make_self_signed_certificate(std::vector<std::string>{std::string(host_name)}, validity);
}

certificate_pair make_self_signed_certificate(const std::vector<std::string>& host_names, std::chrono::hours validity)
{
    if (host_names.empty())
        throw std::invalid_argument("self-signed certificate: no host name");
    if (validity.count() <= 0)
        throw std::invalid_argument("self-signed certificate: validity must be positive");

    std::string name;      // the first name: the CN
    std::string alt_names; // every name: the subjectAltName
    for (const auto& host_name : host_names) {
        if (host_name.empty())
            throw std::invalid_argument("self-signed certificate: empty host name");
        std::string n{host_name};
        if (n.size() > 2 && n.front() == '[' && n.back() == ']')
            n = n.substr(1, n.size() - 2);
        boost::system::error_code ec;
        const auto address = boost::asio::ip::make_address(n, ec);
        const bool is_ip = !ec;
        // Normalised spelling of an IP literal, so "::0001" and "::1" give the same SAN.
        if (is_ip)
            n = address.to_string();
        alt_names += (alt_names.empty() ? "" : ",") + std::string(is_ip ? "IP:" : "DNS:") + n;
        if (name.empty())
            name = n;
    }

    pkey_ptr key{EVP_EC_gen("P-256")};
    if (!key)
        fail("EVP_EC_gen(P-256)");

    x509_ptr cert{X509_new()};
    if (!cert)
        fail("X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

    // RFC 5280: positive serial of at most 20 bytes; 127 random bits keeps the top bit clear.
    bn_ptr serial{BN_new()};
    if (!serial)
        fail("BN_new");
    check(BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
    if (BN_is_zero(serial.get()))
        check(BN_set_word(serial.get(), 1), "BN_set_word");
    if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
        fail("BN_to_ASN1_INTEGER");

    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60) == nullptr)
        fail("X509_gmtime_adj(notBefore)");
    const long seconds = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(validity).count());
    if (X509_gmtime_adj(X509_getm_notAfter(cert.get()), seconds) == nullptr)
        fail("X509_gmtime_adj(notAfter)");
    check(X509_set_pubkey(cert.get(), key.get()), "X509_set_pubkey");

    X509_NAME* subject = X509_get_subject_name(cert.get());
    // A CN longer than 64 bytes is not allowed by X.520; the SAN carries the real name anyway.
    const std::string cn = name.size() > 64 ? name.substr(0, 64) : name;
    check(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("plexbutler emulator"), -1, -1, 0),
          "X509_NAME_add_entry_by_txt(O)");
    check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                     -1, -1, 0),
          "X509_NAME_add_entry_by_txt(CN)");
    check(X509_set_issuer_name(cert.get(), subject), "X509_set_issuer_name");

    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), NID_subject_alt_name, alt_names);

    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        fail("X509_sign");

    certificate_pair out;
    {
        bio_ptr bio{BIO_new(BIO_s_mem())};
        if (!bio)
            fail("BIO_new");
        check(PEM_write_bio_X509(bio.get(), cert.get()), "PEM_write_bio_X509");
        out.cert_pem = bio_to_string(bio.get());
    }
    {
        bio_ptr bio{BIO_new(BIO_s_mem())};
        if (!bio)
            fail("BIO_new");
        check(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
              "PEM_write_bio_PrivateKey");
        out.key_pem = bio_to_string(bio.get());
    }
    return out;
}

} // namespace plexbutler::emulator
