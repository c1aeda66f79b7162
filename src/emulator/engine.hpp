#ifndef PLEXBUTLER_EMULATOR_ENGINE_HPP
#define PLEXBUTLER_EMULATOR_ENGINE_HPP

// What serves emulated servers: one io_context and its threads, the listening sockets, the TLS
// context, and one `instance` per emulated server. `emulator::server` is an engine of one server
// in `ports` mode, `emulator::fleet` an engine of many: both run exactly this code.

#include "emulator/router.hpp"
#include "emulator/session.hpp"

#include <plexbutler/emulator/fleet.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace plexbutler::emulator::detail {

/// One emulated server: its state (the router, which owns the scheduler), its live connections
/// and the fault knobs its sessions read. No socket, timer or thread of its own.
struct instance {
    instance(router::options ro, std::shared_ptr<const catalogue_bodies> bodies,
             std::shared_ptr<const canned_set> responses, scheduler::options so, const std::atomic<bool>& stopping,
             std::chrono::milliseconds request_timeout, bool quiet);

    router routes;
    session_registry sessions;
    session_host host;
};

class engine;

/// One listening socket: for one server (`ports`), or for all of them (`loopback_addresses`).
/// Its members run on its executor.
class listener {
public:
    listener(engine& owner, std::optional<std::size_t> server, boost::asio::any_io_executor exec);

    /// Binds `ep` and listens (throws std::runtime_error when it cannot); `start` then accepts.
    void open(const boost::asio::ip::tcp::endpoint& ep);
    void start();
    /// Stops listening while the port stays reserved (connections are refused); `resume` listens again.
    void pause();
    void resume();
    void close();

    const boost::asio::any_io_executor& executor() const noexcept { return exec_; }
    std::uint16_t port() const noexcept { return port_; }

private:
    void accept();
    void on_accept(boost::system::error_code ec, boost::asio::ip::tcp::socket socket, unsigned generation);
    void listen_on(boost::asio::ip::tcp::acceptor& a, bool reuse_port);

    engine& owner_;
    std::optional<std::size_t> server_;
    boost::asio::any_io_executor exec_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::optional<boost::asio::ip::tcp::socket> placeholder_; // holds the port while paused
    std::unique_ptr<boost::asio::steady_timer> retry_;        // after running out of descriptors
    boost::asio::ip::tcp::endpoint endpoint_;
    std::uint16_t port_ = 0;
    unsigned generation_ = 0; // accepts of an older acceptor do not start new ones
};

/// Serves `fleet_options::servers` instances. Thread-safe as `emulator::fleet`.
class engine {
public:
    explicit engine(fleet_options opts);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    std::size_t size() const noexcept { return instances_.size(); }
    bool tls() const noexcept { return ssl_.has_value(); }
    std::string url(std::size_t i) const;
    std::uint16_t port(std::size_t i) const;
    const std::optional<std::string>& token(std::size_t i) const { return instances_.at(i).routes.token(); }
    const std::vector<std::size_t>& faulted() const noexcept { return faulted_; }

    fault_set faults(std::size_t i) const;
    void set_faults(std::size_t i, const fault_set& f);
    void set_down(std::size_t i, bool down);

    instance& at(std::size_t i) { return instances_.at(i); }
    const instance& at(std::size_t i) const { return instances_.at(i); }

    void stop();

    /// Called by a listener with an accepted connection: for `server`, or by its local address.
    void dispatch(boost::asio::ip::tcp::socket socket, std::optional<std::size_t> server);
    /// The executor new connections get (a strand each with several threads).
    boost::asio::any_io_executor connection_executor();
    boost::asio::io_context& context() noexcept { return ioc_; }
    bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

private:
    void set_down_locked(std::size_t i, bool down);
    void make_tls();

    const fleet_options opts_;
    std::atomic<bool> stopping_{false};
    std::vector<std::size_t> faulted_;
    // Declared before the io_context: sessions destroyed with it still reach their instance.
    std::deque<instance> instances_;
    std::optional<boost::asio::ssl::context> ssl_;
    std::vector<std::shared_ptr<void>> tls_owned_; // the certificates and keys `identities_` point to
    std::vector<tls_identity> identities_;         // loopback addresses: one per server
    std::string host_shown_;                       // ports: the listen address as in a URL

    boost::asio::io_context ioc_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::deque<listener> listeners_; // ports: one per server; loopback addresses: one
    std::vector<std::thread> threads_;
    mutable std::mutex control_; // serialises set_faults/set_down/stop
    bool stopped_ = false;
};

} // namespace plexbutler::emulator::detail

#endif
