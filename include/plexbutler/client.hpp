#ifndef PLEXBUTLER_CLIENT_HPP
#define PLEXBUTLER_CLIENT_HPP

/// @file client.hpp
/// @brief `plexbutler::client`: the five Butler operations as C++20 coroutines.

#include <plexbutler/error.hpp>
#include <plexbutler/options.hpp>
#include <plexbutler/response.hpp>
#include <plexbutler/task_name.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace plexbutler {

/// @brief Result of the non-throwing operations: the response, or a `failure`
/// (error code + diagnostics). `value()` on a failure throws `butler_error`.
template <class T>
using result = boost::system::result<T, failure>;

namespace detail {
class client_impl;
struct client_access;
} // namespace detail

/// @brief An asynchronous client of the Butler API of one Plex Media Server.
///
/// Owns a pool of keep-alive HTTP/1.1 (or HTTPS) connections whose state is
/// serialised on an internal strand. Every operation is a coroutine returning
/// `boost::asio::awaitable`; it resumes on the executor of the awaiting coroutine.
///
/// **Thread safety:** all member functions may be called concurrently, from
/// many coroutines and from several threads running the client's executor.
/// The destructor must not run concurrently with its own member calls; it shuts
/// the client down (`shutdown()`): operations in flight fail with
/// `error::client_shut_down`.
///
/// **Errors:** the plain operations throw `butler_error` (a
/// `boost::system::system_error`); the `try_` forms return `result<Response>`
/// holding a `failure` instead and never throw for request failures.
///
/// **Cancellation:** operations honour the cancellation slot of the awaiting
/// coroutine (terminal, partial and total cancellation all close the connection
/// in use; the pool stays healthy); they then fail with `error::cancelled`.
///
/// **Lifetimes:** an operation's awaitable may start long after the call that
/// made it (`co_spawn`, a stored awaitable, `||`). Each operation therefore copies
/// what it needs when it is called: the task name (a `std::string_view` or a
/// `task_name` may refer to a temporary) and the call options, and it keeps the
/// client's pool alive, so it may even outlive the `client` (it then fails with
/// `error::client_shut_down`). The one exception is the response that
/// `refresh_butler_tasks` refills: it is the caller's and must outlive the operation.
class client {
public:
    /// @brief Creates a client whose I/O runs on `ex`.
    /// @throws std::invalid_argument when `opts` is invalid (bad URL, zero pool size, CR/LF in a header value).
    client(boost::asio::any_io_executor ex, client_options opts);
    /// @brief Creates a client whose I/O runs on `ctx`.
    client(boost::asio::io_context& ctx, client_options opts);
    /// @brief Shuts the client down (`shutdown()`) and releases it; operations still
    /// in flight keep the pool alive until they have failed with `error::client_shut_down`.
    ~client();

    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// @brief `GET /butler`: lists the Butler tasks.
    ///
    /// Sends `Accept: application/json`. Returns the decoded task list.
    /// @throws butler_error on transport failure, timeout, non-2xx status
    /// (401 `unauthorized`, 404 `not_found`, 5xx `server_error`, ...), non-JSON
    /// content type, or a body that does not decode.
    boost::asio::awaitable<tasks_response> get_butler_tasks(call_options opts = {});

    /// @brief `GET /butler` into `tasks`, reusing its storage: for pollers.
    ///
    /// On success `tasks` holds what `get_butler_tasks()` would return, but in the task vector
    /// and strings it already had, refilled: a poller that refreshes the same response decodes
    /// without heap allocations once the server's list is stable. On failure `tasks` is reset to
    /// an empty `tasks_response` (invalid `opts`, which throw `std::invalid_argument`, leave it
    /// unchanged). `tasks` must outlive the operation and not be touched meanwhile.
    /// @code
    /// plexbutler::tasks_response tasks;
    /// for (;;) {
    ///     co_await client.refresh_butler_tasks(tasks);
    ///     // ... use tasks.content ...
    /// }
    /// @endcode
    /// @throws butler_error as `get_butler_tasks`.
    boost::asio::awaitable<void> refresh_butler_tasks(tasks_response& tasks, call_options opts = {});

    /// @brief `POST /butler`: starts all enabled tasks (outcome `started`).
    boost::asio::awaitable<task_response> start_all_tasks(call_options opts = {});

    /// @brief `DELETE /butler`: stops all running tasks and clears the schedule (outcome `stopped`).
    boost::asio::awaitable<task_response> stop_all_tasks(call_options opts = {});

    /// @brief `POST /butler/{name}`: starts one task.
    ///
    /// Outcome `started` (200) or `already_running` (202). An unknown task
    /// (404) throws `error::not_found`.
    boost::asio::awaitable<task_response> start_task(const task_name& name, call_options opts = {});
    /// @brief Same as above; `name` is validated first (`error::invalid_task_name`, before any I/O).
    ///
    /// The operation starts when awaited and refers to `name` until it completes, so the
    /// characters must outlive it (string literals and `tasks::` constants always do).
    boost::asio::awaitable<task_response> start_task(std::string_view name, call_options opts = {});

    /// @brief `DELETE /butler/{name}`: stops one task.
    ///
    /// Outcome `stopped` (200) or `not_running` (404).
    boost::asio::awaitable<task_response> stop_task(const task_name& name, call_options opts = {});
    /// @brief Same as above; `name` is validated first (`error::invalid_task_name`, before any I/O).
    boost::asio::awaitable<task_response> stop_task(std::string_view name, call_options opts = {});

    /// @brief Non-throwing `get_butler_tasks`.
    boost::asio::awaitable<result<tasks_response>> try_get_butler_tasks(call_options opts = {});
    /// @brief Non-throwing `refresh_butler_tasks`: nothing on success (`tasks` is refilled), else the failure.
    boost::asio::awaitable<result<void>> try_refresh_butler_tasks(tasks_response& tasks, call_options opts = {});
    /// @brief Non-throwing `start_all_tasks`.
    boost::asio::awaitable<result<task_response>> try_start_all_tasks(call_options opts = {});
    /// @brief Non-throwing `stop_all_tasks`.
    boost::asio::awaitable<result<task_response>> try_stop_all_tasks(call_options opts = {});
    /// @brief Non-throwing `start_task`.
    boost::asio::awaitable<result<task_response>> try_start_task(std::string_view name, call_options opts = {});
    /// @brief Non-throwing `stop_task`.
    boost::asio::awaitable<result<task_response>> try_stop_task(std::string_view name, call_options opts = {});

    /// @brief A snapshot of the pool statistics. Thread-safe.
    pool_stats stats() const;

    /// @brief Shuts the client down at once: closes idle connections, fails queued
    /// waiters with `error::cancelled`, ends retry backoffs and aborts the I/O of
    /// operations in flight, which fail with `error::client_shut_down`; later
    /// operations fail with `error::client_shut_down` too.
    ///
    /// Completes within milliseconds, whatever the server does: an `io_context`
    /// whose only work was this client's then runs out of work. (An operation still
    /// resolving or connecting when the shutdown comes ends at its connect timeout at
    /// the latest.) An operation whose response was complete when the shutdown came
    /// still returns it.
    boost::asio::awaitable<void> async_shutdown();
    /// @brief Shuts the client down like `async_shutdown()`, but lets operations in
    /// flight finish for up to `drain` first; those still in flight then are aborted.
    /// Queued waiters are failed at once and new operations are refused at once.
    /// Completes when the last operation in flight has released its connection, or
    /// at the drain deadline.
    boost::asio::awaitable<void> async_shutdown(std::chrono::milliseconds drain);
    /// @brief Same as `async_shutdown()` without waiting; safe from any thread.
    void shutdown();

    /// @brief The executor the client's I/O runs on.
    boost::asio::any_io_executor get_executor() const;

    /// @brief The origin requests go to, e.g. `https://[::1]:32400` (never contains the token).
    const std::string& origin() const noexcept;

private:
    friend struct detail::client_access;
    explicit client(std::shared_ptr<detail::client_impl> impl) noexcept : impl_(std::move(impl)) {}

    std::shared_ptr<detail::client_impl> impl_;
};

/// @brief The stable default `X-Plex-Client-Identifier` for `product` on this machine.
///
/// Derived from the machine id (`/etc/machine-id`, else the host name) and the
/// product name, so it is the same on every run and never random.
std::string default_client_identifier(std::string_view product);

} // namespace plexbutler

#endif
