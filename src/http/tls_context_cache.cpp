#include "http/tls_context_cache.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace plexbutler::detail {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_client_tls_context(const tls_context_key& key)
{
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_default_verify_paths(ec); // a missing system store is not fatal with ca_file
    if (!key.ca_file.empty()) {
        ctx->load_verify_file(key.ca_file, ec);
        if (ec)
            throw std::invalid_argument("client_options.ca_file cannot be loaded: " + ec.message());
    }
    if (!key.ca_path.empty()) {
        ctx->add_verify_path(key.ca_path, ec);
        if (ec)
            throw std::invalid_argument("client_options.ca_path cannot be used: " + ec.message());
    }
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    return ctx;
}

std::shared_ptr<ssl::context> client_tls_context(const client_options& opts)
{
    if (opts.ssl_context)
        return opts.ssl_context;
    // Process-wide and never destroyed: a client may be made or destroyed during static destruction.
    static tls_context_cache& cache = *new tls_context_cache;
    return cache.get(tls_context_key_of(opts), &make_client_tls_context);
}

} // namespace plexbutler::detail
