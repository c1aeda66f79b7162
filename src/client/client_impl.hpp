#ifndef PLEXBUTLER_CLIENT_CLIENT_IMPL_HPP
#define PLEXBUTLER_CLIENT_CLIENT_IMPL_HPP

// What a `client` holds: the pool client behind a small virtual interface, so that the public
// class does not depend on the strand, the stream or the clock the pool runs with.

#include "sansio/classify.hpp"

#include <plexbutler/client.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace plexbutler::detail {

class client_impl {
public:
    virtual ~client_impl() = default;
    // `previous` (may be null) must live until the operation completes; it is moved from.
    virtual boost::asio::awaitable<result<tasks_response>> run_list(call_options co, tasks_response* previous) = 0;
    virtual boost::asio::awaitable<result<task_response>> run_outcome(operation_kind op, std::string_view name,
                                                                      call_options co) = 0;
    virtual pool_stats stats() const = 0;
    virtual void shutdown() = 0;
    virtual boost::asio::awaitable<void> async_shutdown(std::chrono::milliseconds drain) = 0;
    virtual const boost::asio::any_io_executor& executor() const noexcept = 0;
    virtual const std::string& origin() const noexcept = 0;
};

class idle_scheduler;

/// Internal choices of a pool that are not client options (the fleet's).
struct pool_tuning {
    /// A connection that goes back to the pool idle frees its buffers at once, not after
    /// `client_options::release_idle_buffers_after`: for connections used once per sweep or poll.
    bool release_buffers_at_once = false;
    /// A strand of an io_context's executor (`strand<io_context::executor_type>`) that the pool
    /// serialises on instead of a strand of its own: the fleet's, shared by its clients, so that
    /// a fleet coroutine reaches the pool's state without a hop. Anything else: a strand of its own.
    boost::asio::any_io_executor pool_strand;
    /// The first connection object is made, and its socket opened, with the pool. What a
    /// connection keeps for its life (the object, Asio's descriptor state) is then allocated with
    /// the client instead of among the responses of a fleet's first sweep, whose pages it would
    /// pin once they are freed (docs/performance.md, "Idle memory"). Costs one descriptor per
    /// client from its construction: for a fleet, whose clients all connect.
    bool prepare_first_connection = false;
    /// The idle work (evictions, buffer releases) of pools that share `pool_strand`, on one
    /// timer instead of one per pool (a fleet's; it runs on that strand). Null: a timer of the pool's own.
    std::shared_ptr<idle_scheduler> idle_work;
};

/// A production client (TCP/TLS transport) with these pool choices.
client make_client(boost::asio::any_io_executor ex, client_options opts, pool_tuning tuning);

/// Builds a `client` around any implementation (tests: a pool over in-memory streams).
struct client_access {
    static client make(std::shared_ptr<client_impl> impl) { return client(std::move(impl)); }
};

} // namespace plexbutler::detail

#endif
