#ifndef PLEXBUTLER_CLIENT_HPP
#define PLEXBUTLER_CLIENT_HPP

/// @file client.hpp
/// @brief `plexbutler::client`: the five Butler operations as C++20 coroutines.

#include <plexbutler/error.hpp>
#include <plexbutler/options.hpp>
#include <plexbutler/response.hpp>
#include <plexbutler/task_name.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace boost::asio {
class io_context;
}

namespace plexbutler {

/// @brief Result of the non-throwing operations: the response, or a `failure`
/// (error code + diagnostics). `value()` on a failure throws `butler_error`.
template <class T>
using result = boost::system::result<T, failure>;

/// @brief Completion signature of `client::async_get_butler_tasks`.
using tasks_signature = void(boost::system::error_code, tasks_response);
/// @brief Completion signature of `client::async_refresh_butler_tasks`.
using refresh_signature = void(boost::system::error_code);
/// @brief Completion signature of the start and stop operations (`client::async_start_task`, ...).
using outcome_signature = void(boost::system::error_code, task_response);

namespace detail {
class client_impl;
struct client_access;

/// The operations `client::launch_outcome` runs (no path segment for the `_all` ones).
enum class outcome_op : unsigned char { start_all, stop_all, start_task, stop_task };

/// True for the default token, `use_awaitable` on `any_io_executor`: the `async_*` functions then
/// return the coroutine of the plain operation, which throws `butler_error` with diagnostics.
template <class Token>
inline constexpr bool is_default_awaitable = std::is_same_v<std::remove_cvref_t<Token>, boost::asio::use_awaitable_t<>>;
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
/// **Completion tokens:** every operation also exists as an `async_*` initiating
/// function taking any Asio completion token (a callback, `use_future`, `deferred`,
/// `as_tuple(use_awaitable)`, ...) with the signature `void(error_code, Response)`
/// (`void(error_code)` for `async_refresh_butler_tasks`). With the default token,
/// `use_awaitable`, `co_await c.async_get_butler_tasks()` is `co_await c.get_butler_tasks()`:
/// the same coroutine, which throws `butler_error` (a `system_error`) with diagnostics.
/// With any other token the code alone reaches the handler; set
/// `call_options::diag` to receive the diagnostics too. The handler is invoked through
/// its associated executor (by default the client's executor) and never inside the
/// initiating function. The `try_` forms stay: they are the non-throwing awaitable
/// path with no extra coroutine (as fast as the plain one), and their `failure`
/// carries the code and the diagnostics in one value, which a handler signature
/// cannot; `as_tuple(use_awaitable)` runs the operation in a coroutine of its own
/// (`co_spawn`) on the client's executor.
///
/// **Creation without exceptions:** `client::create` returns `result<client>`, with
/// `error::invalid_server_url`, `error::invalid_header_value` or `error::invalid_options`
/// (and the reason in `diag.server_message`) instead of throwing `std::invalid_argument`.
///
/// **Cancellation:** operations honour terminal cancellation through the
/// cancellation slot of the awaiting coroutine (for the `async_*` forms, of the
/// handler): the connection in use is closed (the pool stays healthy) and the
/// operation fails with `error::cancelled`. Partial and total cancellation promise
/// no side effect, which a request already sent cannot keep: the exchange ignores
/// them; only a wait for a connection or a retry backoff ends on them, when the
/// awaiting coroutine's cancellation state lets them through.
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

    /// @brief Creates a client whose I/O runs on `ex`, without throwing for invalid options.
    /// @param ex the executor of the client's I/O.
    /// @param opts the configuration, validated as by the constructor.
    /// @return the client, or a `failure`: `error::invalid_server_url` (the URL or the
    /// templated host, port and protocol), `error::invalid_header_value` (a control
    /// character in the token or another header value; the value is never quoted) or
    /// `error::invalid_options` (anything else, e.g. a zero pool size), with the reason in
    /// `diag.server_message`. Only `std::bad_alloc` can still escape.
    static result<client> create(boost::asio::any_io_executor ex, client_options opts);
    /// @brief Creates a client whose I/O runs on `ctx`, without throwing for invalid options.
    /// @param ctx the `io_context` of the client's I/O.
    /// @param opts the configuration.
    /// @return the client or the failure, as `create(any_io_executor, client_options)`.
    static result<client> create(boost::asio::io_context& ctx, client_options opts);

    client(const client&) = delete;
    client& operator=(const client&) = delete;
    /// @brief Moves the client: `other` may then only be destroyed or assigned to.
    /// @param other the client whose pool this one takes over.
    client(client&& other) noexcept = default;
    /// @brief Shuts this client down (unless it was moved from) and takes over `other`'s pool.
    /// @param other the client whose pool this one takes over; it may then only be destroyed or assigned to.
    /// @return `*this`.
    client& operator=(client&& other) noexcept;

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
    ///
    /// **What `started` means:** the server accepted the request (HTTP 200), not that the
    /// task is running now. PMS answers 200 as well when it only scheduled the task for a
    /// random time later in the maintenance window, when the task was already scheduled,
    /// when it is not due today (its interval has not elapsed), and when it is disabled;
    /// the Butler emulator does the same (its `GET /_emulator/state` tells which). Whether
    /// a task runs is only visible in a later task list or in the server's activity.
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
    /// @brief Non-throwing `start_task`; an invalid `name` is the failure `error::invalid_task_name`.
    /// @param name the task, copied when called and validated before any I/O.
    /// @param opts per-call options.
    /// @return the response, or the failure.
    boost::asio::awaitable<result<task_response>> try_start_task(std::string_view name, call_options opts = {});
    /// @brief Non-throwing `start_task` of a validated name.
    /// @param name the task, copied when called.
    /// @param opts per-call options.
    /// @return the response, or the failure.
    boost::asio::awaitable<result<task_response>> try_start_task(const task_name& name, call_options opts = {});
    /// @brief Non-throwing `stop_task`; an invalid `name` is the failure `error::invalid_task_name`.
    /// @param name the task, copied when called and validated before any I/O.
    /// @param opts per-call options.
    /// @return the response, or the failure.
    boost::asio::awaitable<result<task_response>> try_stop_task(std::string_view name, call_options opts = {});
    /// @brief Non-throwing `stop_task` of a validated name.
    /// @param name the task, copied when called.
    /// @param opts per-call options.
    /// @return the response, or the failure.
    boost::asio::awaitable<result<task_response>> try_stop_task(const task_name& name, call_options opts = {});

    /// @name Operations with any completion token
    /// Each `async_*` function starts the operation of the same name and completes with
    /// `void(error_code, Response)` (`void(error_code)` for `async_refresh_butler_tasks`):
    /// a default `Response` and the failure's code (`error::unauthorized`,
    /// `error::invalid_task_name`, `error::cancelled`, ...) on failure, as the `try_` form
    /// would return it. The completion token decides how the result is delivered:
    /// @code
    /// c.async_start_task("BackupDatabase", [](boost::system::error_code ec, plexbutler::task_response r) { ... });
    /// std::future<plexbutler::tasks_response> f = c.async_get_butler_tasks(boost::asio::use_future);
    /// auto [ec, r] = co_await c.async_get_butler_tasks(boost::asio::as_tuple(boost::asio::use_awaitable));
    /// plexbutler::diagnostics diag;
    /// plexbutler::call_options opts;
    /// opts.diag = &diag;
    /// auto op = c.async_stop_all_tasks(opts, boost::asio::deferred); // starts when op(token) is called
    /// @endcode
    ///
    /// **Default token:** `use_awaitable` returns the plain operation's coroutine itself:
    /// `co_await c.async_start_task(name)` is `co_await c.start_task(name)`, with the same cost
    /// and the same `butler_error` (which is a `boost::system::system_error`).
    ///
    /// **Other tokens:** the operation runs in a coroutine `co_spawn`ed on the client's
    /// executor; the handler is invoked through its associated executor (the client's when
    /// it has none), never from inside the initiating function. Its arguments are copied when
    /// the function is called, so temporaries may be passed (only the response
    /// `async_refresh_butler_tasks` refills, and `call_options::diag`, are referred to); with
    /// `deferred`, the operation starts when the deferred operation is launched.
    ///
    /// **Cancellation:** the handler's associated cancellation slot (`bind_cancellation_slot`)
    /// is honoured as by an awaiting coroutine that lets every type through: terminal
    /// cancellation closes the connection in use and completes with `error::cancelled`;
    /// partial and total cancellation only end a wait for a connection or a retry backoff.
    ///
    /// **Errors before I/O:** invalid `call_options` (a retry policy with zero attempts, ...)
    /// throw `std::invalid_argument` from the initiation, as the awaitable forms do.
    ///
    /// **Thread safety:** as every member function: any thread, concurrently.
    /// @{

    /// @brief `get_butler_tasks` with any completion token.
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code, tasks_response)`.
    /// @return whatever the token makes of the operation (`awaitable<tasks_response>` for `use_awaitable`).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(tasks_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_get_butler_tasks(call_options opts = {}, CompletionToken&& token = {})
    {
        if constexpr (detail::is_default_awaitable<CompletionToken>) {
            return get_butler_tasks(std::move(opts));
        } else {
            return boost::asio::async_initiate<CompletionToken, tasks_signature>(
                [](auto handler, std::shared_ptr<detail::client_impl> impl, call_options o) {
                    launch_list(std::move(impl), std::move(o), std::move(handler));
                },
                token, impl_, std::move(opts));
        }
    }
    /// @brief `get_butler_tasks` with any completion token and default call options.
    /// @param token the completion token; signature `void(error_code, tasks_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(tasks_signature) CompletionToken>
    auto async_get_butler_tasks(CompletionToken&& token)
    {
        return async_get_butler_tasks(call_options{}, std::forward<CompletionToken>(token));
    }

    /// @brief `refresh_butler_tasks` with any completion token: refills `tasks` in place.
    /// @param tasks the response to refill; it must outlive the operation and not be touched meanwhile.
    /// On failure it is reset to an empty `tasks_response`.
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code)`.
    /// @return whatever the token makes of the operation (`awaitable<void>` for `use_awaitable`).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(refresh_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_refresh_butler_tasks(tasks_response& tasks, call_options opts = {}, CompletionToken&& token = {})
    {
        if constexpr (detail::is_default_awaitable<CompletionToken>) {
            return refresh_butler_tasks(tasks, std::move(opts));
        } else {
            return boost::asio::async_initiate<CompletionToken, refresh_signature>(
                [](auto handler, std::shared_ptr<detail::client_impl> impl, tasks_response* t, call_options o) {
                    launch_refresh(std::move(impl), t, std::move(o), std::move(handler));
                },
                token, impl_, &tasks, std::move(opts));
        }
    }
    /// @brief `refresh_butler_tasks` with any completion token and default call options.
    /// @param tasks the response to refill; it must outlive the operation.
    /// @param token the completion token; signature `void(error_code)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(refresh_signature) CompletionToken>
    auto async_refresh_butler_tasks(tasks_response& tasks, CompletionToken&& token)
    {
        return async_refresh_butler_tasks(tasks, call_options{}, std::forward<CompletionToken>(token));
    }

    /// @brief `start_all_tasks` with any completion token.
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation (`awaitable<task_response>` for `use_awaitable`).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_start_all_tasks(call_options opts = {}, CompletionToken&& token = {})
    {
        if constexpr (detail::is_default_awaitable<CompletionToken>)
            return start_all_tasks(std::move(opts));
        else
            return initiate_outcome(detail::outcome_op::start_all, {}, std::move(opts),
                                    std::forward<CompletionToken>(token));
    }
    /// @brief `start_all_tasks` with any completion token and default call options.
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken>
    auto async_start_all_tasks(CompletionToken&& token)
    {
        return async_start_all_tasks(call_options{}, std::forward<CompletionToken>(token));
    }

    /// @brief `stop_all_tasks` with any completion token.
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation (`awaitable<task_response>` for `use_awaitable`).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_stop_all_tasks(call_options opts = {}, CompletionToken&& token = {})
    {
        if constexpr (detail::is_default_awaitable<CompletionToken>)
            return stop_all_tasks(std::move(opts));
        else
            return initiate_outcome(detail::outcome_op::stop_all, {}, std::move(opts),
                                    std::forward<CompletionToken>(token));
    }
    /// @brief `stop_all_tasks` with any completion token and default call options.
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken>
    auto async_stop_all_tasks(CompletionToken&& token)
    {
        return async_stop_all_tasks(call_options{}, std::forward<CompletionToken>(token));
    }

    /// @brief `start_task` with any completion token.
    /// @param name the task; copied at initiation and validated when the operation runs (an invalid
    /// name completes with `error::invalid_task_name`, before any I/O).
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation (`awaitable<task_response>` for `use_awaitable`).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_start_task(std::string_view name, call_options opts = {}, CompletionToken&& token = {})
    {
        if constexpr (detail::is_default_awaitable<CompletionToken>)
            return start_task(name, std::move(opts));
        else
            return initiate_outcome(detail::outcome_op::start_task, std::string(name), std::move(opts),
                                    std::forward<CompletionToken>(token));
    }
    /// @brief `start_task` with any completion token and default call options.
    /// @param name the task (see above).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken>
    auto async_start_task(std::string_view name, CompletionToken&& token)
    {
        return async_start_task(name, call_options{}, std::forward<CompletionToken>(token));
    }
    /// @brief `start_task` of a validated name with any completion token.
    /// @param name the task.
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_start_task(const task_name& name, call_options opts = {}, CompletionToken&& token = {})
    {
        return async_start_task(name.view(), std::move(opts), std::forward<CompletionToken>(token));
    }
    /// @brief `start_task` of a validated name with any completion token and default call options.
    /// @param name the task.
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken>
    auto async_start_task(const task_name& name, CompletionToken&& token)
    {
        return async_start_task(name.view(), call_options{}, std::forward<CompletionToken>(token));
    }

    /// @brief `stop_task` with any completion token.
    /// @param name the task; copied at initiation and validated when the operation runs (an invalid
    /// name completes with `error::invalid_task_name`, before any I/O).
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation (`awaitable<task_response>` for `use_awaitable`).
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_stop_task(std::string_view name, call_options opts = {}, CompletionToken&& token = {})
    {
        if constexpr (detail::is_default_awaitable<CompletionToken>)
            return stop_task(name, std::move(opts));
        else
            return initiate_outcome(detail::outcome_op::stop_task, std::string(name), std::move(opts),
                                    std::forward<CompletionToken>(token));
    }
    /// @brief `stop_task` with any completion token and default call options.
    /// @param name the task (see above).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken>
    auto async_stop_task(std::string_view name, CompletionToken&& token)
    {
        return async_stop_task(name, call_options{}, std::forward<CompletionToken>(token));
    }
    /// @brief `stop_task` of a validated name with any completion token.
    /// @param name the task.
    /// @param opts per-call options (`diag` receives the diagnostics of a failure).
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken = boost::asio::use_awaitable_t<>>
    auto async_stop_task(const task_name& name, call_options opts = {}, CompletionToken&& token = {})
    {
        return async_stop_task(name.view(), std::move(opts), std::forward<CompletionToken>(token));
    }
    /// @brief `stop_task` of a validated name with any completion token and default call options.
    /// @param name the task.
    /// @param token the completion token; signature `void(error_code, task_response)`.
    /// @return whatever the token makes of the operation.
    template <BOOST_ASIO_COMPLETION_TOKEN_FOR(outcome_signature) CompletionToken>
    auto async_stop_task(const task_name& name, CompletionToken&& token)
    {
        return async_stop_task(name.view(), call_options{}, std::forward<CompletionToken>(token));
    }
    /// @}

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

    // The token path, compiled once in the library: each co_spawns the operation on the client's
    // executor and completes `handler` with its result. They validate `opts` first (throwing
    // std::invalid_argument, as the awaitable forms do) and never invoke `handler` inline.
    static void launch_list(std::shared_ptr<detail::client_impl> impl, call_options opts,
                            boost::asio::any_completion_handler<tasks_signature> handler);
    static void launch_refresh(std::shared_ptr<detail::client_impl> impl, tasks_response* tasks, call_options opts,
                               boost::asio::any_completion_handler<refresh_signature> handler);
    static void launch_outcome(std::shared_ptr<detail::client_impl> impl, detail::outcome_op op, std::string name,
                               call_options opts, boost::asio::any_completion_handler<outcome_signature> handler);

    template <class CompletionToken>
    auto initiate_outcome(detail::outcome_op op, std::string name, call_options opts, CompletionToken&& token)
    {
        return boost::asio::async_initiate<CompletionToken, outcome_signature>(
            [](auto handler, std::shared_ptr<detail::client_impl> impl, detail::outcome_op o, std::string n,
               call_options co) {
                launch_outcome(std::move(impl), o, std::move(n), std::move(co), std::move(handler));
            },
            token, impl_, op, std::move(name), std::move(opts));
    }

    std::shared_ptr<detail::client_impl> impl_;
};

/// @brief The stable default `X-Plex-Client-Identifier` for `product` on this machine.
///
/// Derived from the machine id (`/etc/machine-id`, else the host name) and the
/// product name, so it is the same on every run and never random.
std::string default_client_identifier(std::string_view product);

} // namespace plexbutler

#endif
