#ifndef PLEXBUTLER_HTTP_TLS_CONTEXT_CACHE_HPP
#define PLEXBUTLER_HTTP_TLS_CONTEXT_CACHE_HPP

// One client TLS context per distinct TLS configuration, shared by every client of the process
// that has it: the system CA store is loaded once, not once per client (about 860 KiB and 39 ms
// of CPU each). A context lives as long as a client uses it; the cache only holds weak pointers.

#include <plexbutler/options.hpp>

#include <boost/asio/ssl/context.hpp>

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace plexbutler::detail {

/// What a context the library builds depends on. Verification (on or off, the host name) is set
/// per connection, so clients that differ only there share a context. The paths are compared as
/// given: the files are read when the context is built, not again while it is shared.
struct tls_context_key {
    std::string ca_file;
    std::string ca_path;

    friend auto operator<=>(const tls_context_key&, const tls_context_key&) = default;
};

/// The key of the context `opts` ask for (`opts.ssl_context` aside: the caller's is used as is).
inline tls_context_key tls_context_key_of(const client_options& opts) { return {opts.ca_file, opts.ca_path}; }

/// Shared contexts by key. Thread-safe; I/O-free apart from what `make` does.
class tls_context_cache {
public:
    using context_ptr = std::shared_ptr<boost::asio::ssl::context>;

    /// The live context of `key`, or the one `make(key)` builds (then kept for later callers
    /// while anyone holds it). `make` runs under the cache's lock, so a context is built once
    /// even when clients of one configuration are made on several threads at once. When `make`
    /// throws, nothing is cached and the exception propagates.
    template <class Make>
    context_ptr get(const tls_context_key& key, Make&& make)
    {
        std::lock_guard lk(mu_);
        if (const auto it = entries_.find(key); it != entries_.end()) {
            if (auto live = it->second.lock())
                return live;
        }
        context_ptr made = std::forward<Make>(make)(key);
        std::erase_if(entries_, [](const auto& e) { return e.second.expired(); }); // bounded by the live ones
        entries_.insert_or_assign(key, made);
        return made;
    }

    /// Entries held, live or not yet pruned (for tests).
    std::size_t size() const
    {
        std::lock_guard lk(mu_);
        return entries_.size();
    }

private:
    mutable std::mutex mu_;
    std::map<tls_context_key, std::weak_ptr<boost::asio::ssl::context>> entries_;
};

/// A new client context: TLS 1.2 at least, the system CA store plus `key`'s CA file and path.
/// @throws std::invalid_argument when the CA file or path is unusable.
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(const tls_context_key& key);

/// The context clients with `opts` use: `opts.ssl_context` when set, else the process-wide
/// shared one of their key (built on first use). @throws std::invalid_argument as above.
std::shared_ptr<boost::asio::ssl::context> client_tls_context(const client_options& opts);

} // namespace plexbutler::detail

#endif
