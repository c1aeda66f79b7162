#ifndef PLEXBUTLER_TEST_MEMORY_SERVER_HPP
#define PLEXBUTLER_TEST_MEMORY_SERVER_HPP

/// @file memory_server.hpp
/// @brief The in-memory twin of scripted_server: connections of a memory-transport client
/// (memory_transport.hpp) play scripts on the same io_context, with pauses and drips on the
/// manual clock. Single-threaded, like the tests that use it.

#include "support/memory_transport.hpp"
#include "support/scripted_server.hpp"

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace plexbutler::test {

class memory_server {
public:
    explicit memory_server(boost::asio::io_context& ctx);

    /// @brief The next accepted connection plays `s`.
    void push(script s);
    /// @brief Connections play `s` when no pushed script is left (initially: close at once).
    void set_default(script s);
    /// @brief The next `n` connects are refused (the client sees error::connect_failed).
    void refuse(std::size_t n = 1);

    /// @brief The client side of each later connection reads at most `n` bytes per read_some
    /// (Beast's test::stream::read_size; under TLS, per read of the TLS layer's next layer).
    void set_read_size(std::size_t n);

    /// @brief Every request read so far (raw bytes), in arrival order.
    std::vector<std::string> requests() const;
    /// @brief Number of connections accepted so far.
    std::size_t connections() const;
    /// @brief Number of connections whose server side still runs (the client has not dropped
    /// them, nor has their script ended).
    std::size_t open_connections() const;

    /// @brief A client of this server (the real pool client over in-memory streams). Its
    /// default server URL is `http://butler.test:32400`; with an https URL the connections are
    /// TLS, the server presenting a self-signed certificate for `butler.test` that the client
    /// trusts (through `opts.ssl_context`, unless the test sets one).
    /// `tuning`: the pool's internal choices (the fleet's), default: a plain client's.
    client make_client(client_options opts = {}, detail::pool_tuning tuning = {});

    /// @brief The fault injector consulted by every step of the connections of this server's
    /// clients: `faults().arm(fc)` makes the steps count down `fc`, `faults().disarm()` stops it.
    fault_injector& faults() noexcept;

    struct state; ///< Implementation detail.

private:
    boost::asio::io_context& ctx_;
    std::shared_ptr<state> s_;
};

/// @brief Runs every handler that is ready, and what they make ready, without waiting for time.
void drain(boost::asio::io_context& ctx);

/// @brief Drains `ctx`, moves the manual clock by `d`, then runs what became ready (expired
/// timers fire within about a millisecond of real time).
void advance_clock(boost::asio::io_context& ctx, manual_clock::duration d);

} // namespace plexbutler::test

#endif
