#include "http/tls_verify.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace plexbutler::detail {

namespace asio = boost::asio;

namespace {

// The verify result OpenSSL keeps for a failure the callback found (SSL_get_verify_result).
constexpr int pin_verify_error = X509_V_ERR_APPLICATION_VERIFICATION;

std::string asn1_time_text(const ASN1_TIME* t)
{
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1)
        return "(unreadable date)";
    std::array<char, 32> buf{};
    const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return std::string(buf.data(), n);
}

// `"CN=..."` when the name has a common name (what people call a certificate by), else the whole name.
std::string name_text(const X509_NAME* name)
{
    if (name == nullptr)
        return "(no name)";
    if (const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1); i >= 0) {
        const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
        std::string out(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                        static_cast<std::size_t>(ASN1_STRING_length(cn)));
        if (out.size() > 100)
            out = out.substr(0, 97) + "...";
        return "\"CN=" + out + "\"";
    }
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == nullptr)
        return "(no name)";
    std::string out;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        char* data = nullptr;
        const long len = BIO_get_mem_data(bio, &data);
        if (len > 0)
            out.assign(data, static_cast<std::size_t>(len));
    }
    BIO_free(bio);
    if (out.empty())
        return "(empty name)";
    if (out.size() > 100)
        out = out.substr(0, 97) + "...";
    return "\"" + out + "\"";
}

bool is_address(const std::string& host)
{
    boost::system::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

} // namespace

tls_verify_policy make_tls_verify_policy(bool tls_verify, bool has_ca_option, const std::string& host,
                                         const public_key_pins& pins)
{
    tls_verify_policy p;
    p.pins = &pins;
    p.host = host;
    // Pins without a CA option: the pinned key is the trust anchor (chain and name are not asked).
    const bool full = tls_verify && (pins.empty() || has_ca_option);
    p.chain = full;
    p.host_name = full;
    return p;
}

namespace {

// OpenSSL's verify callback: the connection's tls_verify_callback, when one is installed.
int verify_trampoline(int preverified, X509_STORE_CTX* ctx)
{
    if (ctx == nullptr)
        return 0;
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl == nullptr)
        return 0;
    const auto* callback = static_cast<const tls_verify_callback*>(SSL_get_app_data(ssl));
    if (callback == nullptr)
        return 0;
    asio::ssl::verify_context vctx(ctx);
    return (*callback)(preverified != 0, vctx) ? 1 : 0;
}

} // namespace

void install_tls_verify_callback(SSL* ssl, const tls_verify_callback* callback) noexcept
{
    SSL_set_app_data(ssl, const_cast<tls_verify_callback*>(callback));
    SSL_set_verify(ssl, SSL_VERIFY_PEER, verify_trampoline);
}

bool tls_verify_callback::operator()(bool preverified, asio::ssl::verify_context& vctx) const
{
    X509_STORE_CTX* ctx = vctx.native_handle();
    tls_verify_state& st = *state_;
    if (!st.failure.empty())
        return false;
    // Called for every certificate of the chain, deepest first: the leaf's key is known from the first call.
    if (!st.leaf_key)
        st.leaf_key = spki_sha256_of(X509_STORE_CTX_get0_cert(ctx));
    if (!policy_->pins->empty()) {
        if (!st.leaf_key) {
            st.failure = "public key pin not checked: the server certificate's key cannot be read";
            X509_STORE_CTX_set_error(ctx, pin_verify_error);
            return false;
        }
        if (!policy_->pins->contains(*st.leaf_key)) {
            st.failure = policy_->pins->mismatch_message(*st.leaf_key);
            X509_STORE_CTX_set_error(ctx, pin_verify_error);
            return false;
        }
    }
    if (!policy_->chain) {
        X509_STORE_CTX_set_error(ctx, X509_V_OK); // nothing but the pins is asked: not a failure
        return true;
    }
    if (!preverified) {
        const STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(ctx);
        st.failure = describe_chain_error(X509_STORE_CTX_get_error(ctx), X509_STORE_CTX_get_current_cert(ctx),
                                          sent != nullptr ? sk_X509_num(sent) : 1);
        return false;
    }
    if (policy_->host_name && X509_STORE_CTX_get_error_depth(ctx) == 0 &&
        !asio::ssl::host_name_verification(policy_->host)(true, vctx)) {
        const bool address = is_address(policy_->host);
        st.failure = std::string(address ? "IP address mismatch" : "host name mismatch") + ": the certificate is for " +
                     describe_certificate_names(X509_STORE_CTX_get_current_cert(ctx)) + ", not " + policy_->host;
        // Else OpenSSL records "unspecified certificate verification error".
        X509_STORE_CTX_set_error(ctx, address ? X509_V_ERR_IP_ADDRESS_MISMATCH : X509_V_ERR_HOSTNAME_MISMATCH);
        return false;
    }
    return true;
}

std::string describe_certificate_names(X509* cert, std::size_t shown)
{
    if (cert == nullptr)
        return "(no certificate)";
    std::vector<std::string> names;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans != nullptr) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* gen = sk_GENERAL_NAME_value(sans, i);
            if (gen->type == GEN_DNS) {
                const auto* s = gen->d.dNSName;
                names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                   static_cast<std::size_t>(ASN1_STRING_length(s)));
            } else if (gen->type == GEN_IPADD) {
                const auto* s = gen->d.iPAddress;
                const unsigned char* b = ASN1_STRING_get0_data(s);
                if (ASN1_STRING_length(s) == 4) {
                    asio::ip::address_v4::bytes_type bytes{};
                    std::copy_n(b, 4, bytes.begin());
                    names.push_back(asio::ip::address_v4(bytes).to_string());
                } else if (ASN1_STRING_length(s) == 16) {
                    asio::ip::address_v6::bytes_type bytes{};
                    std::copy_n(b, 16, bytes.begin());
                    names.push_back(asio::ip::address_v6(bytes).to_string());
                }
            }
        }
        GENERAL_NAMES_free(sans);
    }
    if (names.empty()) {
        // No subjectAltName: OpenSSL's host check falls back to the subject's CN.
        const X509_NAME* subject = X509_get_subject_name(cert);
        const int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (i < 0)
            return "no name";
        const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
        return "CN=" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                                   static_cast<std::size_t>(ASN1_STRING_length(cn)));
    }
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < shown; ++i) {
        if (i > 0)
            out += ", ";
        out += names[i].size() > 64 ? names[i].substr(0, 61) + "..." : names[i];
    }
    if (names.size() > shown)
        out += " and " + std::to_string(names.size() - shown) + " more";
    return out;
}

std::string describe_subject(X509* cert)
{
    return cert == nullptr ? "(no certificate)" : name_text(X509_get_subject_name(cert));
}

std::string describe_chain_error(int error, X509* cert, int sent)
{
    const std::string subject = describe_subject(cert);
    switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "certificate expired: " + subject + " was valid until " +
               asn1_time_text(cert ? X509_get0_notAfter(cert) : nullptr);
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "certificate not yet valid: " + subject + " is valid from " +
               asn1_time_text(cert ? X509_get0_notBefore(cert) : nullptr);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        return "untrusted certificate: " + subject +
               " is self-signed and not trusted (trust it as a CA file, or pin its public key)";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        return "untrusted issuer: the chain ends in " + subject + ", a self-signed CA that is not trusted";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
        const std::string issuer = cert ? name_text(X509_get_issuer_name(cert)) : "(unknown)";
        // A lone certificate whose issuer is unknown: either its CA is not trusted, or it was issued
        // by an intermediate the server should have sent. Nothing in the certificate tells which.
        if (sent <= 1)
            return "missing intermediate or unknown CA: the issuer " + issuer + " of " + subject +
                   " is not a trusted CA and the server sent no intermediate certificate";
        return "untrusted issuer: " + issuer + " (the issuer of " + subject + ") is not a trusted CA";
    }
    default: break;
    }
    return std::string(X509_verify_cert_error_string(error)) + " (" + subject + ")";
}

std::string describe_handshake_error(unsigned long openssl_error, const std::string& fallback)
{
    if (ERR_GET_LIB(openssl_error) == ERR_LIB_SSL) {
        switch (ERR_GET_REASON(openssl_error)) {
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        case SSL_R_UNSUPPORTED_SSL_VERSION:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
            return "protocol version: the server does not offer TLS 1.2 or 1.3, the versions this client accepts (" +
                   fallback + ")";
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_PACKET_LENGTH_TOO_LONG:
            return "the server did not answer with TLS: is it an http:// server? (" + fallback + ")";
        default: break;
        }
    }
    return fallback;
}

} // namespace plexbutler::detail
