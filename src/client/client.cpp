#include <plexbutler/client.hpp>

#include "client/client_impl.hpp"
#include "client/pool_client.hpp"
#include "http/tcp_transport.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace plexbutler {

namespace detail {

namespace {

namespace asio = boost::asio;

// On an io_context (the common case) the pool strand wraps the concrete executor: a strand over
// any_io_executor converts executors through heap-allocated wrappers on every strand hop
// (Asio's prefer(blocking.possibly) on the type-erased inner executor), 2-3 per request.
std::shared_ptr<client_impl> make_client_impl(asio::any_io_executor ex, client_options opts, pool_tuning tuning = {})
{
    auto make_tcp = [](const client_options& o, const endpoint& ep) { return tcp_transport(o, ep); };
    using io_strand = asio::strand<asio::io_context::executor_type>;
    if (const auto* shared = tuning.pool_strand.target<io_strand>()) {
        return std::make_shared<pool_client<io_strand, tcp_transport>>(std::move(ex), *shared, std::move(opts),
                                                                       make_tcp, tuning);
    }
    if (const auto* io = ex.target<asio::io_context::executor_type>()) {
        auto strand = asio::make_strand(*io);
        return std::make_shared<pool_client<asio::strand<asio::io_context::executor_type>, tcp_transport>>(
            std::move(ex), std::move(strand), std::move(opts), make_tcp, tuning);
    }
    auto strand = asio::make_strand(ex);
    return std::make_shared<pool_client<asio::strand<asio::any_io_executor>, tcp_transport>>(
        std::move(ex), std::move(strand), std::move(opts), make_tcp, tuning);
}

} // namespace

client make_client(asio::any_io_executor ex, client_options opts, pool_tuning tuning)
{
    return client_access::make(make_client_impl(std::move(ex), std::move(opts), tuning));
}

} // namespace detail

namespace asio = boost::asio;

client::client(asio::any_io_executor ex, client_options opts)
    : impl_(detail::make_client_impl(std::move(ex), std::move(opts)))
{
}

client::client(asio::io_context& ctx, client_options opts) : client(ctx.get_executor(), std::move(opts)) {}

client::~client()
{
    if (impl_)
        impl_->shutdown();
}

namespace {

using impl_ptr = std::shared_ptr<detail::client_impl>;
using detail::operation_kind;

template <class T>
T value_or_throw(result<T>&& r)
{
    if (!r)
        throw butler_error(std::move(r).error());
    return std::move(*r);
}

// The operations are lazily started coroutines: an awaitable may run long after the call that
// made it (co_spawn, a stored awaitable, `||`). So the public functions are not coroutines
// themselves: they copy what the operation needs (the pool, the task name) into the arguments
// of these coroutines, whose frames own them. Each is one frame around `pool_client::run`.

asio::awaitable<result<tasks_response>> try_list(impl_ptr impl, call_options opts)
{
    co_return co_await impl->run_list(std::move(opts), nullptr);
}

asio::awaitable<tasks_response> list(impl_ptr impl, call_options opts)
{
    co_return value_or_throw(co_await impl->run_list(std::move(opts), nullptr));
}

// g++ 12 at -O1 with sanitizers warns that the unused failure of a successful result<void> "may be
// used uninitialized" while the coroutine moves it (variant2's storage): a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
asio::awaitable<result<void>> try_refresh(impl_ptr impl, tasks_response& tasks, call_options opts)
{
    auto r = co_await impl->run_list(std::move(opts), &tasks); // moves the storage out of `tasks`
    if (r) {
        tasks = std::move(*r); // and back, refilled
        co_return result<void>(boost::system::in_place_value);
    }
    tasks = tasks_response{};
    co_return result<void>(boost::system::in_place_error, std::move(r).error());
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

asio::awaitable<void> refresh(impl_ptr impl, tasks_response& tasks, call_options opts)
{
    auto r = co_await impl->run_list(std::move(opts), &tasks);
    if (!r) {
        tasks = tasks_response{};
        throw butler_error(std::move(r).error());
    }
    tasks = std::move(*r);
}

asio::awaitable<result<task_response>> try_outcome(impl_ptr impl, operation_kind op, call_options opts)
{
    co_return co_await impl->run_outcome(op, {}, std::move(opts));
}

asio::awaitable<task_response> outcome(impl_ptr impl, operation_kind op, call_options opts)
{
    co_return value_or_throw(co_await impl->run_outcome(op, {}, std::move(opts)));
}

// `name` is the caller's copy (names up to 15 bytes fit std::string's inline buffer); validated
// when the operation runs, so that an invalid name fails the operation, not the call.
asio::awaitable<result<task_response>> try_named(impl_ptr impl, operation_kind op, std::string name, call_options opts)
{
    if (!task_name::is_valid(name))
        co_return task_name::parse(name).error();
    co_return co_await impl->run_outcome(op, name, std::move(opts));
}

asio::awaitable<task_response> named(impl_ptr impl, operation_kind op, std::string name, call_options opts)
{
    if (!task_name::is_valid(name))
        throw butler_error(task_name::parse(name).error());
    co_return value_or_throw(co_await impl->run_outcome(op, name, std::move(opts)));
}

} // namespace

asio::awaitable<result<tasks_response>> client::try_get_butler_tasks(call_options opts)
{
    return try_list(impl_, std::move(opts));
}

asio::awaitable<result<void>> client::try_refresh_butler_tasks(tasks_response& tasks, call_options opts)
{
    return try_refresh(impl_, tasks, std::move(opts));
}

asio::awaitable<result<task_response>> client::try_start_all_tasks(call_options opts)
{
    return try_outcome(impl_, operation_kind::start_all, std::move(opts));
}

asio::awaitable<result<task_response>> client::try_stop_all_tasks(call_options opts)
{
    return try_outcome(impl_, operation_kind::stop_all, std::move(opts));
}

asio::awaitable<result<task_response>> client::try_start_task(std::string_view name, call_options opts)
{
    return try_named(impl_, operation_kind::start_task, std::string(name), std::move(opts));
}

asio::awaitable<result<task_response>> client::try_stop_task(std::string_view name, call_options opts)
{
    return try_named(impl_, operation_kind::stop_task, std::string(name), std::move(opts));
}

asio::awaitable<tasks_response> client::get_butler_tasks(call_options opts) { return list(impl_, std::move(opts)); }

asio::awaitable<void> client::refresh_butler_tasks(tasks_response& tasks, call_options opts)
{
    return refresh(impl_, tasks, std::move(opts));
}

asio::awaitable<task_response> client::start_all_tasks(call_options opts)
{
    return outcome(impl_, operation_kind::start_all, std::move(opts));
}

asio::awaitable<task_response> client::stop_all_tasks(call_options opts)
{
    return outcome(impl_, operation_kind::stop_all, std::move(opts));
}

asio::awaitable<task_response> client::start_task(const task_name& name, call_options opts)
{
    return named(impl_, operation_kind::start_task, std::string(name.view()), std::move(opts));
}

asio::awaitable<task_response> client::start_task(std::string_view name, call_options opts)
{
    return named(impl_, operation_kind::start_task, std::string(name), std::move(opts));
}

asio::awaitable<task_response> client::stop_task(const task_name& name, call_options opts)
{
    return named(impl_, operation_kind::stop_task, std::string(name.view()), std::move(opts));
}

asio::awaitable<task_response> client::stop_task(std::string_view name, call_options opts)
{
    return named(impl_, operation_kind::stop_task, std::string(name), std::move(opts));
}

pool_stats client::stats() const { return impl_->stats(); }

namespace {

asio::awaitable<void> shut_down(impl_ptr impl, std::chrono::milliseconds drain)
{
    co_await impl->async_shutdown(drain);
}

} // namespace

asio::awaitable<void> client::async_shutdown() { return shut_down(impl_, std::chrono::milliseconds{0}); }

asio::awaitable<void> client::async_shutdown(std::chrono::milliseconds drain) { return shut_down(impl_, drain); }

void client::shutdown() { impl_->shutdown(); }

asio::any_io_executor client::get_executor() const { return impl_->executor(); }

const std::string& client::origin() const noexcept { return impl_->origin(); }

} // namespace plexbutler
