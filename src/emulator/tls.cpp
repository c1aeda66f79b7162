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

// issuer == nullptr: the certificate itself (self-signed), so key identifiers resolve.
void add_extension(X509* cert, X509* issuer, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer != nullptr ? issuer : cert, cert, nullptr, nullptr, 0);
    ext_ptr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str())};
    if (!ext)
        fail("X509V3_EXT_conf_nid");
    check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

bio_ptr memory_bio(const std::string& pem)
{
    bio_ptr bio{BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))};
    if (!bio)
        fail("BIO_new_mem_buf");
    return bio;
}

pkey_ptr read_key(const std::string& pem, const char* what)
{
    auto bio = memory_bio(pem);
    pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
    if (!key) {
        ERR_clear_error();
        throw std::invalid_argument(std::string("certificate: unreadable ") + what);
    }
    return key;
}

x509_ptr read_certificate(const std::string& pem)
{
    auto bio = memory_bio(pem);
    x509_ptr cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
    if (!cert) {
        ERR_clear_error();
        throw std::invalid_argument("certificate: unreadable issuer certificate");
    }
    return cert;
}

// "IP:a.b.c.d,DNS:name,..." for subjectAltName; the first name (unbracketed, normalised) in *first.
std::string alt_names_of(const std::vector<std::string>& names, std::string* first)
{
    std::string alt_names;
    for (const auto& host_name : names) {
        if (host_name.empty())
            throw std::invalid_argument("certificate: empty host name");
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
        if (first->empty())
            *first = n;
    }
    return alt_names;
}

std::string pem_of(X509* cert)
{
    bio_ptr bio{BIO_new(BIO_s_mem())};
    if (!bio)
        fail("BIO_new");
    check(PEM_write_bio_X509(bio.get(), cert), "PEM_write_bio_X509");
    return bio_to_string(bio.get());
}

std::string pem_of(EVP_PKEY* key)
{
    bio_ptr bio{BIO_new(BIO_s_mem())};
    if (!bio)
        fail("BIO_new");
    check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM_write_bio_PrivateKey");
    return bio_to_string(bio.get());
}

// self_signed_ca: the historical self-signed form (CA:TRUE and serverAuth in one certificate,
// so a client can trust the server certificate directly).
certificate_pair make(const certificate_spec& spec, const certificate_pair* issuer, bool self_signed_ca)
{
    if (spec.names.empty() && !spec.is_ca)
        throw std::invalid_argument("certificate: no host name");
    if (spec.not_after <= spec.not_before)
        throw std::invalid_argument("certificate: not_after must be after not_before");

    std::string first;
    const std::string alt_names = alt_names_of(spec.names, &first);
    std::string cn = spec.common_name;
    if (cn.empty())
        cn = first.empty() ? std::string("plexbutler emulator CA") : first;
    // A CN longer than 64 bytes is not allowed by X.520; the SAN carries the real name anyway.
    if (cn.size() > 64)
        cn = cn.substr(0, 64);

    x509_ptr issuer_cert;
    pkey_ptr issuer_key;
    if (issuer != nullptr) {
        issuer_cert = read_certificate(issuer->cert_pem);
        issuer_key = read_key(issuer->key_pem, "issuer key");
        if (X509_check_ca(issuer_cert.get()) == 0)
            throw std::invalid_argument("certificate: the issuer is not a certificate authority");
    }

    pkey_ptr key;
    if (!spec.key_pem.empty()) {
        key = read_key(spec.key_pem, "key_pem");
    } else {
        key.reset(EVP_EC_gen("P-256"));
        if (!key)
            fail("EVP_EC_gen(P-256)");
    }

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

    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(spec.not_before.count())) == nullptr)
        fail("X509_gmtime_adj(notBefore)");
    if (X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.not_after.count())) == nullptr)
        fail("X509_gmtime_adj(notAfter)");
    check(X509_set_pubkey(cert.get(), key.get()), "X509_set_pubkey");

    X509_NAME* subject = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("plexbutler emulator"), -1, -1, 0),
          "X509_NAME_add_entry_by_txt(O)");
    check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                     -1, -1, 0),
          "X509_NAME_add_entry_by_txt(CN)");
    check(X509_set_issuer_name(cert.get(), issuer_cert ? X509_get_subject_name(issuer_cert.get()) : subject),
          "X509_set_issuer_name");

    X509* signer = issuer_cert.get();
    if (self_signed_ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyCertSign");
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    } else if (spec.is_ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    }
    add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
    if (issuer_cert)
        add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
    if (!alt_names.empty())
        add_extension(cert.get(), signer, NID_subject_alt_name, alt_names);

    if (X509_sign(cert.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) == 0)
        fail("X509_sign");

    return certificate_pair{pem_of(cert.get()), pem_of(key.get())};
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
    certificate_spec spec;
    spec.names = host_names;
    spec.not_after = validity;
    return make(spec, nullptr, true);
}

certificate_pair make_certificate(const certificate_spec& spec, const certificate_pair* issuer)
{
    return make(spec, issuer, false);
}

certificate_pair make_certificate_authority(std::string_view common_name, std::chrono::hours validity)
{
    if (validity.count() <= 0)
        throw std::invalid_argument("certificate authority: validity must be positive");
    certificate_spec spec;
    spec.common_name = std::string(common_name);
    spec.is_ca = true;
    spec.not_after = validity;
    return make(spec, nullptr, false);
}

} // namespace plexbutler::emulator
