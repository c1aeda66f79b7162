#ifndef PLEXBUTLER_TEST_CLIENT_FIXTURE_HPP
#define PLEXBUTLER_TEST_CLIENT_FIXTURE_HPP

/// @file client_fixture.hpp
/// @brief Helpers for client tests: run a coroutine to completion on an io_context, bounded in time.

#include "support/scripted_server.hpp"

#include <plexbutler/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace plexbutler::test {

/// @brief A typical `GET /butler` body.
inline constexpr std::string_view sample_tasks_json =
    R"({"ButlerTasks":{"ButlerTask":[{"name":"BackupDatabase","interval":3,"scheduleRandomized":false,)"
    R"("enabled":true,"title":"Backup Database","description":"Create a backup copy"},)"
    R"({"name":"OptimizeDatabase","interval":7,"scheduleRandomized":false,"enabled":true,)"
    R"("title":"Optimize Database","description":"Optimize the database"}]}})";

/// @brief 200 with the sample task list.
inline std::string tasks_ok() { return http_response(200, sample_tasks_json); }

/// @brief Runs `a` on `ctx` until it completes (at most `limit`), rethrowing its exception.
template <class T>
T run_on(boost::asio::io_context& ctx, boost::asio::awaitable<T> a,
         std::chrono::seconds limit = std::chrono::seconds{30})
{
    std::optional<T> out;
    std::exception_ptr error;
    bool done = false;
    boost::asio::co_spawn(ctx, std::move(a), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e)
            out.emplace(std::move(v));
        done = true;
    });
    ctx.restart();
    const auto stop_at = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < stop_at)
        ctx.run_one_for(std::chrono::milliseconds{50});
    if (!done)
        throw std::runtime_error("test coroutine did not complete in time");
    if (error)
        std::rethrow_exception(error);
    return std::move(*out);
}

/// @brief `run_on` for `awaitable<void>`.
inline void run_void(boost::asio::io_context& ctx, boost::asio::awaitable<void> a,
                     std::chrono::seconds limit = std::chrono::seconds{30})
{
    run_on(
        ctx,
        [](boost::asio::awaitable<void> inner) -> boost::asio::awaitable<int> {
            co_await std::move(inner);
            co_return 0;
        }(std::move(a)),
        limit);
}

/// @brief Sleeps inside a coroutine.
inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d)
{
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(boost::asio::use_awaitable);
}

/// @brief Waits (running `ctx`) until `pred()` or `limit`; returns `pred()`.
template <class Pred>
bool settle(boost::asio::io_context& ctx, Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds{2000})
{
    const auto stop_at = std::chrono::steady_clock::now() + limit;
    ctx.restart();
    while (!pred() && std::chrono::steady_clock::now() < stop_at)
        ctx.run_one_for(std::chrono::milliseconds{10});
    return pred();
}

/// @brief Options pointing at `server`, with a token and short deadlines.
inline client_options options_for(const scripted_server& server)
{
    client_options o;
    o.server_url = server.url();
    o.token = "secret-token-123";
    o.client_identifier = "test-client";
    o.request_timeout = std::chrono::milliseconds{2000};
    o.connect_timeout = std::chrono::milliseconds{1000};
    return o;
}

/// @brief Call options whose failures write their diagnostics to `d` (`call_options::diag`).
inline call_options with_diag(diagnostics& d)
{
    call_options o;
    o.diag = &d;
    return o;
}

} // namespace plexbutler::test

#endif
