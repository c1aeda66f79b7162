// One TLS context per TLS configuration, shared by the clients of the process: the cache alone
// (a counting factory, no TLS I/O), and the process-wide contexts the clients get.

#include "http/tls_context_cache.hpp"

#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/ssl/context.hpp>

#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using plexbutler::detail::tls_context_cache;
using plexbutler::detail::tls_context_key;
namespace ssl = boost::asio::ssl;

namespace {

/// A factory that counts what it builds (contexts without any CA: cheap).
struct counting_factory {
    std::atomic<int>* made;
    std::shared_ptr<ssl::context> operator()(const tls_context_key&) const
    {
        ++*made;
        return std::make_shared<ssl::context>(ssl::context::tls_client);
    }
};

/// A PEM file holding a fresh self-signed certificate, removed with the object.
struct ctx_cache_ca_file {
    explicit ctx_cache_ca_file(const char* tag)
        : path(std::filesystem::temp_directory_path() /
               ("plexbutler-ctx-cache-" + std::string(tag) + "-" + std::to_string(::getpid()) + ".pem"))
    {
        std::ofstream(path) << pem;
    }
    ~ctx_cache_ca_file() { std::filesystem::remove(path); }
    std::string pem = plexbutler::emulator::make_self_signed_certificate("butler.test").cert_pem;
    std::filesystem::path path;
};

} // namespace

TEST_CASE("tls_context_cache builds one context per key while it is in use", "[http][tls][context_cache]")
{
    tls_context_cache cache;
    std::atomic<int> made{0};
    const counting_factory make{&made};
    const tls_context_key a{"a.pem", ""};
    const tls_context_key b{"b.pem", ""};
    const tls_context_key a_dir{"a.pem", "/certs"};

    auto first = cache.get(a, make);
    auto again = cache.get(a, make);
    CHECK(first == again);
    CHECK(made == 1);

    // Any part of the key makes another context.
    auto other = cache.get(b, make);
    auto with_dir = cache.get(a_dir, make);
    CHECK(other != first);
    CHECK(with_dir != first);
    CHECK(with_dir != other);
    CHECK(made == 3);
    CHECK(cache.size() == 3);
}

TEST_CASE("tls_context_cache holds no context nobody uses", "[http][tls][context_cache]")
{
    tls_context_cache cache;
    std::atomic<int> made{0};
    const counting_factory make{&made};
    std::weak_ptr<ssl::context> gone;
    {
        auto ctx = cache.get({"a.pem", ""}, make);
        gone = ctx;
    }
    CHECK(gone.expired()); // the cache did not keep it alive
    auto rebuilt = cache.get({"a.pem", ""}, make);
    CHECK(made == 2);

    // Expired entries are pruned when a context is built: the cache stays as large as what is in use.
    for (int i = 0; i < 10; ++i)
        cache.get({"tmp" + std::to_string(i) + ".pem", ""}, make);
    CHECK(cache.size() <= 2);
    CHECK(cache.get({"a.pem", ""}, make) == rebuilt);
}

TEST_CASE("tls_context_cache caches nothing when building fails", "[http][tls][context_cache]")
{
    tls_context_cache cache;
    std::atomic<int> made{0};
    auto failing = [&](const tls_context_key&) -> std::shared_ptr<ssl::context> {
        ++made;
        throw std::invalid_argument("cannot load");
    };
    CHECK_THROWS_AS(cache.get({"bad.pem", ""}, failing), std::invalid_argument);
    CHECK_THROWS_AS(cache.get({"bad.pem", ""}, failing), std::invalid_argument);
    CHECK(made == 2);
    CHECK(cache.size() == 0);
}

TEST_CASE("tls_context_cache builds a context once for clients made on many threads", "[http][tls][context_cache]")
{
    tls_context_cache cache;
    std::atomic<int> made{0};
    const counting_factory make{&made};
    std::vector<std::shared_ptr<ssl::context>> got(8);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i)
        threads.emplace_back([&, i] { got[i] = cache.get({"a.pem", ""}, make); });
    for (auto& t : threads)
        t.join();
    CHECK(made == 1);
    for (const auto& c : got)
        CHECK(c == got[0]);
}

TEST_CASE("clients of one TLS configuration share the process-wide context", "[http][tls][context_cache]")
{
    const ctx_cache_ca_file ca("shared");
    plexbutler::client_options a;
    a.ca_file = ca.path.string();
    auto b = a;
    b.tls_verify = false; // set per connection: the same context

    const auto ctx_a = plexbutler::detail::client_tls_context(a);
    const auto ctx_b = plexbutler::detail::client_tls_context(b);
    CHECK(ctx_a == ctx_b);
    // The CA file was loaded into it.
    std::unique_ptr<BIO, decltype(&BIO_free)> pem(BIO_new_mem_buf(ca.pem.data(), static_cast<int>(ca.pem.size())),
                                                  &BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(pem.get(), nullptr, nullptr, nullptr),
                                                     &X509_free);
    REQUIRE(cert);
    CHECK(X509_OBJECT_retrieve_by_subject(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx_a->native_handle())),
                                          X509_LU_X509, X509_get_subject_name(cert.get())) != nullptr);

    plexbutler::client_options no_ca;
    CHECK(plexbutler::detail::client_tls_context(no_ca) != ctx_a);
}

TEST_CASE("a caller's ssl_context is used as it is", "[http][tls][context_cache]")
{
    plexbutler::client_options o;
    o.ssl_context = std::make_shared<ssl::context>(ssl::context::tls_client);
    CHECK(plexbutler::detail::client_tls_context(o) == o.ssl_context);
    auto p = o;
    p.ssl_context = std::make_shared<ssl::context>(ssl::context::tls_client);
    CHECK(plexbutler::detail::client_tls_context(p) == p.ssl_context);
}

TEST_CASE("an unusable CA file fails every client that names it", "[http][tls][context_cache]")
{
    plexbutler::client_options o;
    o.ca_file = (std::filesystem::temp_directory_path() / "plexbutler-no-such-ca-file.pem").string();
    CHECK_THROWS_AS(plexbutler::detail::client_tls_context(o), std::invalid_argument);
    CHECK_THROWS_AS(plexbutler::detail::client_tls_context(o), std::invalid_argument);
}
