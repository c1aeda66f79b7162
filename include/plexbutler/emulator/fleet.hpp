#ifndef PLEXBUTLER_EMULATOR_FLEET_HPP
#define PLEXBUTLER_EMULATOR_FLEET_HPP

/// @file emulator/fleet.hpp
/// @brief Many independent emulated Plex servers in one process, on a few threads.

#include <plexbutler/emulator/scheduler.hpp>
#include <plexbutler/emulator/server.hpp>
#include <plexbutler/models.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::emulator {

namespace detail {
class engine;
}

/// @brief How the servers of a fleet are told apart by their clients.
enum class fleet_addressing {
    /// Server `i` has its own listening socket on `listen_host`: on a free port, or on
    /// `port + i` when `fleet_options::server.port` is not 0. One descriptor per server, plus one
    /// per connection.
    ports,
    /// One listening socket on `0.0.0.0:port` for the whole fleet; server `i` is the loopback
    /// address `loopback_address(i)` a connection was made to (its local address). Halves the
    /// descriptors of `ports`. Connections to any other address are closed at once.
    loopback_addresses,
};

/// @brief The largest fleet `fleet_addressing::loopback_addresses` can address (254 × 254).
inline constexpr std::size_t max_loopback_servers = 254 * 254;

/// @brief The address of server `i` in `fleet_addressing::loopback_addresses`:
/// `127.0.x.y` with `x = 1 + i / 254` and `y = 1 + i % 254` (so `.0` and `.255` never occur;
/// server 0 is `127.0.1.1`, server 254 is `127.0.2.1`).
/// @throws std::out_of_range when `i >= max_loopback_servers`.
std::string loopback_address(std::size_t i);

/// @brief The faults one emulated server shows. All zero/false: a healthy server.
struct fault_set {
    /// Down: in `ports` mode its port refuses connections (nothing listens on it, but the port
    /// stays reserved); in `loopback_addresses` mode connections to it are reset as soon as
    /// they are accepted. Its open connections are closed when it goes down.
    bool down = false;
    /// Delay added before every Butler response.
    std::chrono::milliseconds latency{0};
    /// Fraction of Butler requests answered 503 (with `Retry-After: 1`), in [0, 1].
    double fail_rate = 0.0;
    /// Close each connection after this many responses; 0 = never.
    unsigned close_after = 0;
    /// Answer every request 401, as if its token were wrong.
    bool unauthorized = false;

    /// @brief Field-wise equality.
    friend bool operator==(const fault_set&, const fault_set&) = default;
};

/// @brief Configuration of a `fleet`. Validated by the constructor (`std::invalid_argument`).
struct fleet_options {
    /// Number of servers, at least 1 (at most `max_loopback_servers` with loopback addresses,
    /// and as many as there are ports after `server.port` with a base port).
    std::size_t servers = 1;
    /// How servers are addressed (see `fleet_addressing`).
    fleet_addressing addressing = fleet_addressing::ports;
    /// What every server is, as for a single `server`. Its fields mean:
    /// - `listen_host`: the address of the ports (`ports`; ignored with loopback addresses,
    ///   which listen on 0.0.0.0);
    /// - `port`: 0 = free ports chosen by the system; otherwise the base port (`ports`: server
    ///   `i` on `port + i`) or the one port (`loopback_addresses`);
    /// - `token`: one token shared by every server (see also `token_pattern` and `tokens`);
    /// - `threads`: threads running the whole fleet (default 1);
    /// - `latency`, `fail_rate`, `close_after`: the faults of the servers `fault_fraction` does
    ///   not choose;
    /// - `seed`: server `i` uses `seed ^ (i * 0x9e3779b97f4a7c15)` (0 = random);
    /// - TLS: one context for the whole fleet. With `tls_self_signed_name`, `ports` present one
    ///   certificate for that name; `loopback_addresses` present, whatever the name, one
    ///   certificate per server naming its address only, all issued by one certificate authority
    ///   made at start-up, which `tls_write_ca_file` receives (load it as the clients' CA file).
    /// - the rest (catalogue, window, durations, timeouts, `quiet`) as for `server`.
    server_options server;
    /// When not empty, server `i` requires this token with every `{i}` replaced by `i`
    /// (e.g. `"fleet-token-{i}"`). Exclusive with `server.token` and `tokens`.
    std::string token_pattern;
    /// When not empty, server `i` requires `tokens[i]` (exactly `servers` non-empty tokens).
    /// Exclusive with `server.token` and `token_pattern`.
    std::vector<std::string> tokens;
    /// The faults of the servers chosen by `fault_fraction` (replacing `server.latency`,
    /// `fail_rate` and `close_after` for them).
    fault_set faults;
    /// Fraction of the servers that get `faults`, in [0, 1]: exactly `round(fraction × servers)`
    /// of them, chosen at random from `fault_seed` (see `fleet::faulted`).
    double fault_fraction = 0.0;
    /// Seed of that choice; 0 = `server.seed` (so random when that is 0 too).
    std::uint64_t fault_seed = 0;
};

/// @brief N independent emulated Butler servers in one process. Starts serving in the
/// constructor, on `server.threads` threads (one `io_context` for the whole fleet).
///
/// Each server has its own catalogue, task state and scheduler, request counter, token and
/// faults; starting a task on one server changes nothing on another. An idle server costs a
/// few hundred bytes plus its listening socket: the rendered catalogue is shared until a
/// server's task list is changed, and a server's scheduler is built when it first needs it.
///
/// Thread-safe: every member function may be called from any thread, except from the fleet's
/// own threads (none of which runs user code).
class fleet {
public:
    /// @brief Binds, listens and starts serving.
    /// @throws std::invalid_argument on invalid options; std::runtime_error when it cannot
    ///         listen (address in use, out of file descriptors, bad TLS files, ...).
    explicit fleet(fleet_options opts);
    /// @brief Stops serving and joins the threads.
    ~fleet();

    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    /// @brief The number of servers.
    std::size_t size() const noexcept;
    /// @brief True when the servers speak HTTPS.
    bool tls() const noexcept;

    /// @brief The base URL of server `i`, e.g. `http://127.0.0.1:41234` or `https://127.0.1.7:41000`.
    /// @throws std::out_of_range when `i >= size()` (as every member taking `i`).
    std::string url(std::size_t i) const;
    /// @brief The URLs of all servers, in order.
    std::vector<std::string> urls() const;
    /// @brief The id of server `i`: `emu-<i>`.
    std::string id(std::size_t i) const;
    /// @brief The port of server `i` (the same for all servers with loopback addresses).
    std::uint16_t port(std::size_t i) const;
    /// @brief The token server `i` requires, if any.
    std::optional<std::string> token(std::size_t i) const;

    /// @brief The servers `fault_fraction` chose, in increasing order.
    std::vector<std::size_t> faulted() const;
    /// @brief The faults server `i` shows now.
    fault_set faults(std::size_t i) const;
    /// @brief Changes the faults of server `i` from now on (`down` as `set_down`, which may throw).
    void set_faults(std::size_t i, const fault_set& f);
    /// @brief Takes server `i` down or brings it back up. Returns once new connections see the
    /// change (when it is back up, its port accepts again).
    /// @throws std::runtime_error when the port cannot be listened on again (`ports`; the port
    ///         is held by a bound socket while the server is down, so this is unexpected).
    void set_down(std::size_t i, bool down);
    /// @brief True while server `i` is down.
    bool is_down(std::size_t i) const;

    /// @brief Requests server `i` answered since the start.
    std::uint64_t requests_served(std::size_t i) const;
    /// @brief Requests the whole fleet answered since the start.
    std::uint64_t requests_served() const;

    /// @brief The task list server `i` serves now.
    std::vector<butler_task> tasks(std::size_t i) const;
    /// @brief Lets `edit` change a copy of server `i`'s task list, then serves it.
    ///
    /// Tasks that keep their name keep their state; new tasks are idle. `edit` runs with the
    /// server's lock held: it must not call back into the fleet for the same server.
    /// @throws std::invalid_argument (nothing changes) on a task without a name or a duplicate
    ///         name; what `edit` throws propagates (nothing changes either).
    void modify_tasks(std::size_t i, const std::function<void(std::vector<butler_task>&)>& edit);
    /// @brief Adds `task` at the end of server `i`'s list (`std::invalid_argument` when its name
    /// is missing or already there).
    void add_task(std::size_t i, butler_task task);
    /// @brief Removes the task named `name` from server `i`'s list; false when there is none.
    bool remove_task(std::size_t i, std::string_view name);
    /// @brief Sets `enabled` of the task named `name` on server `i`; false when there is none.
    bool set_task_enabled(std::size_t i, std::string_view name, bool enabled);
    /// @brief The scheduling state of every task of server `i` now (which are running, ...).
    std::vector<task_status> task_states(std::size_t i) const;

    /// @brief Stops accepting, closes connections and joins the threads. Idempotent.
    ///
    /// Waits up to 2 s for connections to close, then stops the remaining work.
    void stop();

private:
    std::unique_ptr<detail::engine> engine_;
};

} // namespace plexbutler::emulator

#endif
