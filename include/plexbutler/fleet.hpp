#ifndef PLEXBUTLER_FLEET_HPP
#define PLEXBUTLER_FLEET_HPP

/// @file
/// @brief `plexbutler::fleet`: many Plex servers from one executor. One Butler operation on
/// every server (or a subset) with a global limit on requests in flight, and a poller that
/// refreshes every server's task list at an interval and delivers change events.

#include <plexbutler/client.hpp>
#include <plexbutler/options.hpp>
#include <plexbutler/response.hpp>
#include <plexbutler/task_name.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace plexbutler {

namespace detail {
class fleet_impl;
/// The operations `fleet::launch` runs.
enum class fleet_op : unsigned char { list, start_all, stop_all, start_task, stop_task };
} // namespace detail

/// @brief Configuration of a `fleet`. Validated once by the constructor
/// (`std::invalid_argument` on nonsense).
struct fleet_options {
    /// Upper bound on Butler requests in flight across the whole fleet: fleet operations and
    /// the poller share it. Must be at least 1.
    std::size_t max_in_flight = 256;

    /// Template for servers added with `fleet::add_server(id, url, token)`: every field but
    /// `server_url` and `token` is taken from here. The default keeps at most 2 connections
    /// per server, which is plenty for polling.
    client_options defaults = [] {
        client_options o;
        o.max_connections = 2;
        return o;
    }();

    /// Time between two polls of one server while it answers. The polls of the fleet are
    /// spread over the interval (each server has a fixed phase in it), never sent in a burst.
    /// Must be positive.
    std::chrono::milliseconds poll_interval{30000};

    /// Backoff of a server whose poll failed: the first retry comes after `backoff_initial`,
    /// each further failure multiplies the delay by 2 up to `backoff_max`, with ±20 % jitter.
    /// The first successful poll returns the server to its phase in `poll_interval`.
    std::chrono::milliseconds backoff_initial{1000};
    /// Upper bound of the per-server backoff (see `backoff_initial`).
    std::chrono::milliseconds backoff_max{300000};

    /// Whether a server's connection frees its read buffer and TLS buffers as soon as a request
    /// ends (true), rather than after `client_options::release_idle_buffers_after` of idling.
    /// A fleet uses each connection about once per sweep or poll: 10,000 HTTPS connections that
    /// keep their buffers (about 55 KiB each) between back-to-back sweeps take half a gigabyte. The
    /// price is a few allocations per request (the buffers are taken again by the next one).
    bool release_buffers_after_request = true;

    /// Change events buffered for `fleet::next_event`. When the buffer is full, the poller
    /// waits for the consumer (no event is ever dropped); polls that have no event to deliver
    /// go on. Must be at least 1.
    std::size_t event_capacity = 4096;
};

/// @brief Per-call options of a fleet operation.
struct fleet_call_options {
    /// Only these servers (by id); every server when empty. An id that is not in the fleet
    /// gets a result with `error::unknown_server`.
    std::vector<std::string> only;
    /// Passed to each server's operation (timeout, retry policy).
    call_options call;
};

/// @brief The result of one server in a fleet operation.
template <class T>
struct server_result {
    std::string server; ///< The server's id.
    result<T> value;    ///< Its response, or why it failed.
};

/// @brief Completion signature of the fleet operations with a completion token: one result per
/// server. The operation as a whole never fails, so there is no error code.
template <class Response>
using fleet_signature = void(std::vector<server_result<Response>>);

/// @brief What a change event reports.
enum class fleet_event_kind {
    reachable,    ///< A poll succeeded after the server was unknown or unreachable; `tasks` holds its task list.
    unreachable,  ///< A poll failed after the server was unknown or reachable; `error` says why.
    task_added,   ///< A task appeared in the server's list; `task` is the new task.
    task_removed, ///< A task disappeared from the server's list; `task` is the task as last seen.
    task_changed, ///< A field of a task changed; `previous` and `task` hold both, `fields` names them.
};

/// @brief The name of an event kind (`"reachable"`, `"task_changed"`, ...).
std::string_view to_string(fleet_event_kind k) noexcept;

/// @brief One change seen by the poller.
struct fleet_event {
    fleet_event_kind kind{};                    ///< What changed.
    std::string server;                         ///< The server's id.
    std::chrono::system_clock::time_point at{}; ///< When the poll that saw it completed.
    std::optional<butler_task> task;            ///< The task (task events).
    std::optional<butler_task> previous;        ///< The task before the change (`task_changed`).
    std::vector<std::string> fields;            ///< Changed field names, JSON spelling (`task_changed`).
    std::optional<butler_task_list> tasks;      ///< The whole list (`reachable`).
    std::optional<failure> error;               ///< Why the poll failed (`unreachable`).
};

/// @brief The poller's view of one server (see `fleet::status`).
struct server_status {
    std::string server;                ///< The server's id.
    std::string origin;                ///< Its origin, e.g. `127.0.0.1:32400`.
    bool reachable = false;            ///< The last poll succeeded.
    bool polled = false;               ///< At least one poll completed.
    unsigned consecutive_failures = 0; ///< Failed polls since the last success.
    std::optional<failure> last_error; ///< The last failure, if the last poll failed.
    std::size_t tasks = 0;             ///< Tasks in the last successful poll.
    std::uint64_t polls = 0;           ///< Polls completed (success or failure).
};

/// @brief Counters of a fleet.
struct fleet_stats {
    std::size_t servers = 0;         ///< Servers in the fleet.
    std::size_t in_flight = 0;       ///< Requests in flight now.
    std::uint64_t polls = 0;         ///< Polls completed.
    std::uint64_t poll_failures = 0; ///< Polls that failed.
    std::uint64_t events = 0;        ///< Events delivered to the buffer.
    /// Connections open across the servers' pools, in use or idle (`pool_stats::open` summed:
    /// the call visits every server).
    std::size_t connections = 0;
};

/// @brief Many Plex servers driven from one executor.
///
/// Each server has its own `client` (its own connection pool); all of them share the
/// fleet's executor, the TLS contexts of equal TLS configurations, and the fleet's limit on
/// requests in flight. A fleet operation runs one Butler operation on every server and
/// returns one `server_result` per server: one server's failure never fails the operation.
///
/// **Thread safety:** every member function may be called from any thread; the fleet's
/// state is serialised on its own strand.
///
/// **Lifetime:** the destructor shuts the fleet down (`shutdown()`); operations in flight end
/// with `error::cancelled` / `error::client_shut_down` results.
class fleet {
public:
    /// @brief A fleet whose I/O runs on `ex`. @throws std::invalid_argument on invalid options.
    fleet(boost::asio::any_io_executor ex, fleet_options opts = {});
    /// @brief A fleet whose I/O runs on `ctx`.
    fleet(boost::asio::io_context& ctx, fleet_options opts = {});
    /// @brief Shuts the fleet down (see `shutdown`).
    ~fleet();

    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    /// @brief Adds a server with complete client options.
    /// @param id a unique, non-empty name for the server (its URL is a good choice).
    /// @param opts the server's client options, as for `client`'s constructor.
    /// @throws std::invalid_argument if the id is empty or taken, or the options are invalid
    /// (the same checks as `client`'s constructor).
    void add_server(std::string id, client_options opts);
    /// @brief Adds a server with `fleet_options::defaults`, this URL and this token.
    void add_server(std::string id, std::string server_url, std::string token);
    /// @brief Removes a server: its in-flight requests are cancelled, it is polled no more.
    /// @return false if no server has this id.
    bool remove_server(std::string_view id);
    /// @brief The ids of the servers, in the order they were added.
    std::vector<std::string> servers() const;
    /// @brief The number of servers.
    std::size_t size() const;

    /// @name Fleet operations
    /// Each runs the `client` operation of the same name on every server (or on
    /// `fleet_call_options::only`), at most `max_in_flight` at a time across the fleet, and
    /// returns one result per server, in the order of `servers()` (or of `only`).
    /// **Cancellation:** when the awaiting coroutine is cancelled, requests in flight are
    /// cancelled and servers not yet done report `error::cancelled`; the call still returns.
    /// @{

    /// @brief `client::get_butler_tasks` on every server: one task list (or failure) per server.
    boost::asio::awaitable<std::vector<server_result<tasks_response>>> get_butler_tasks(fleet_call_options opts = {});
    /// @brief `client::start_all_tasks` on every server.
    boost::asio::awaitable<std::vector<server_result<task_response>>> start_all_tasks(fleet_call_options opts = {});
    /// @brief `client::stop_all_tasks` on every server.
    boost::asio::awaitable<std::vector<server_result<task_response>>> stop_all_tasks(fleet_call_options opts = {});
    /// @brief `client::start_task` on every server: an unknown task is that server's `error::not_found`.
    boost::asio::awaitable<std::vector<server_result<task_response>>> start_task(task_name name,
                                                                                 fleet_call_options opts = {});
    /// @brief `client::stop_task` on every server.
    boost::asio::awaitable<std::vector<server_result<task_response>>> stop_task(task_name name,
                                                                                fleet_call_options opts = {});
    /// @}

    /// @name Fleet operations with any completion token
    /// The operations above as initiating functions that take any Asio completion token, with
    /// the signature `void(std::vector<server_result<Response>>)` (`fleet_signature`): the
    /// operation never fails as a whole, each server's failure is in its `server_result`.
    /// With the default token, `use_awaitable`, each returns the awaitable operation of the same
    /// name (same cost); with any other token (a callback, `use_future`, `deferred`,
    /// `as_tuple(use_awaitable)`) the operation runs in a coroutine `co_spawn`ed on the fleet's
    /// executor and the handler is invoked through its associated executor, never from inside
    /// the initiating function. The servers are those of the fleet when the operation is
    /// initiated (for `deferred`, when it is launched).
    /// **Cancellation:** the handler's cancellation slot (`bind_cancellation_slot`) is honoured
    /// as by an awaiting coroutine: requests in flight are cancelled and the servers not yet
    /// done report `error::cancelled`; the handler still receives every server's result.
    /// **Thread safety:** any thread, concurrently.
    /// @{

    /// @brief `get_butler_tasks` on every server with any completion token.
    /// @param opts which servers, and the per-server call options.
    /// @param token the completion token; signature `void(std::vector<server_result<tasks_response>>)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(fleet_signature<tasks_response>)
                  CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_get_butler_tasks(fleet_call_options opts = {}, CompletionToken&& token = {})
    {
        if constexpr (std::is_same_v<std::remove_cvref_t<CompletionToken>, boost::asio::use_awaitable_t<>>)
            return get_butler_tasks(std::move(opts));
        else
            return boost::asio::async_initiate<CompletionToken, fleet_signature<tasks_response>>(
                [](auto handler, std::shared_ptr<detail::fleet_impl> impl, fleet_call_options o) {
                    launch_list(std::move(impl), std::move(o), std::move(handler));
                },
                token, impl_, std::move(opts));
    }
    /// @brief `start_all_tasks` on every server with any completion token.
    /// @param opts which servers, and the per-server call options.
    /// @param token the completion token; signature `void(std::vector<server_result<task_response>>)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(fleet_signature<task_response>)
                  CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_start_all_tasks(fleet_call_options opts = {}, CompletionToken&& token = {})
    {
        return initiate_outcome(detail::fleet_op::start_all, std::nullopt, std::move(opts),
                                std::forward<CompletionToken>(token));
    }
    /// @brief `stop_all_tasks` on every server with any completion token.
    /// @param opts which servers, and the per-server call options.
    /// @param token the completion token; signature `void(std::vector<server_result<task_response>>)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(fleet_signature<task_response>)
                  CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_stop_all_tasks(fleet_call_options opts = {}, CompletionToken&& token = {})
    {
        return initiate_outcome(detail::fleet_op::stop_all, std::nullopt, std::move(opts),
                                std::forward<CompletionToken>(token));
    }
    /// @brief `start_task` on every server with any completion token.
    /// @param name the task.
    /// @param opts which servers, and the per-server call options.
    /// @param token the completion token; signature `void(std::vector<server_result<task_response>>)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(fleet_signature<task_response>)
                  CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_start_task(task_name name, fleet_call_options opts = {}, CompletionToken&& token = {})
    {
        return initiate_outcome(detail::fleet_op::start_task, std::move(name), std::move(opts),
                                std::forward<CompletionToken>(token));
    }
    /// @brief `stop_task` on every server with any completion token.
    /// @param name the task.
    /// @param opts which servers, and the per-server call options.
    /// @param token the completion token; signature `void(std::vector<server_result<task_response>>)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(fleet_signature<task_response>)
                  CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_stop_task(task_name name, fleet_call_options opts = {}, CompletionToken&& token = {})
    {
        return initiate_outcome(detail::fleet_op::stop_task, std::move(name), std::move(opts),
                                std::forward<CompletionToken>(token));
    }
    /// @}

    /// @brief Starts the poller (idempotent). Each server is polled once per
    /// `poll_interval` at its own phase; servers added later join the schedule.
    void start_polling();
    /// @brief Stops the poller (idempotent). Polls in flight complete; their events are kept.
    void stop_polling();

    /// @brief The next change event, waiting for one if none is buffered.
    /// @throws butler_error with `error::client_shut_down` once the fleet is shut down and
    /// the buffer is empty; `error::cancelled` if the awaiting coroutine is cancelled (no
    /// event is lost: it stays buffered).
    boost::asio::awaitable<fleet_event> next_event();
    /// @brief Non-throwing `next_event`.
    boost::asio::awaitable<result<fleet_event>> try_next_event();

    /// @brief The poller's view of every server, in the order of `servers()`.
    std::vector<server_status> status() const;
    /// @brief Counters.
    fleet_stats stats() const;

    /// @brief Stops the poller, cancels all requests, and closes every connection. Waits for
    /// the fleet's coroutines to finish. Idempotent.
    boost::asio::awaitable<void> async_shutdown();
    /// @brief Starts a shutdown without waiting. Idempotent.
    void shutdown();

    /// @brief The executor the fleet's I/O runs on.
    boost::asio::any_io_executor get_executor() const;

private:
    // The token path, compiled once in the library: co_spawns the operation on the fleet's executor.
    static void launch_list(std::shared_ptr<detail::fleet_impl> impl, fleet_call_options opts,
                            boost::asio::any_completion_handler<fleet_signature<tasks_response>> handler);
    static void launch_outcome(std::shared_ptr<detail::fleet_impl> impl, detail::fleet_op op,
                               std::optional<task_name> name, fleet_call_options opts,
                               boost::asio::any_completion_handler<fleet_signature<task_response>> handler);

    template <class CompletionToken>
    auto initiate_outcome(detail::fleet_op op, std::optional<task_name> name, fleet_call_options opts,
                          CompletionToken&& token)
    {
        if constexpr (std::is_same_v<std::remove_cvref_t<CompletionToken>, boost::asio::use_awaitable_t<>>) {
            switch (op) {
            case detail::fleet_op::start_task: return start_task(std::move(*name), std::move(opts));
            case detail::fleet_op::stop_task: return stop_task(std::move(*name), std::move(opts));
            case detail::fleet_op::stop_all: return stop_all_tasks(std::move(opts));
            default: return start_all_tasks(std::move(opts));
            }
        } else {
            return boost::asio::async_initiate<CompletionToken, fleet_signature<task_response>>(
                [](auto handler, std::shared_ptr<detail::fleet_impl> impl, detail::fleet_op o,
                   std::optional<task_name> n, fleet_call_options co) {
                    launch_outcome(std::move(impl), o, std::move(n), std::move(co), std::move(handler));
                },
                token, impl_, op, std::move(name), std::move(opts));
        }
    }

    std::shared_ptr<detail::fleet_impl> impl_;
};

} // namespace plexbutler

#endif
