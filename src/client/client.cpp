#include <plexbutler/client.hpp>

#include "client/client_impl.hpp"
#include "client/pool_client.hpp"
#include "http/request.hpp"
#include "http/tcp_transport.hpp"
#include "sansio/retry.hpp"

#include <boost/asio/associated_allocator.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <stdexcept>

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
    tuning.idle_work.reset(); // it runs on the shared strand only
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

client& client::operator=(client&& other) noexcept
{
    if (impl_ && impl_ != other.impl_)
        impl_->shutdown();
    impl_ = std::move(other.impl_);
    return *this;
}

namespace {

failure invalid(error e, const std::invalid_argument& what, const std::string& token)
{
    failure f{e, {}};
    f.diag.server_message = redact(what.what(), token);
    return f;
}

} // namespace

// The checks in the constructor's order, each with its own code; the constructor then runs them again.
result<client> client::create(asio::any_io_executor ex, client_options opts)
{
    detail::endpoint ep;
    try {
        ep = detail::parse_endpoint(opts);
    } catch (const std::invalid_argument& e) {
        return invalid(error::invalid_server_url, e, opts.token);
    }
    try {
        detail::request_templates check(opts, ep);
    } catch (const std::invalid_argument& e) {
        return invalid(error::invalid_header_value, e, opts.token);
    }
    std::string token = opts.token;
    try {
        return client(std::move(ex), std::move(opts));
    } catch (const std::invalid_argument& e) {
        return invalid(error::invalid_options, e, token);
    }
}

result<client> client::create(asio::io_context& ctx, client_options opts)
{
    return create(ctx.get_executor(), std::move(opts));
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
// The failure of an invalid name; like every failure, it is also written to `opts.diag`.
failure invalid_name(std::string_view name, const call_options& opts)
{
    failure f = task_name::parse(name).error();
    if (opts.diag != nullptr)
        *opts.diag = f.diag;
    return f;
}

asio::awaitable<result<task_response>> try_named(impl_ptr impl, operation_kind op, std::string name, call_options opts)
{
    if (!task_name::is_valid(name))
        co_return invalid_name(name, opts);
    co_return co_await impl->run_outcome(op, name, std::move(opts));
}

asio::awaitable<task_response> named(impl_ptr impl, operation_kind op, std::string name, call_options opts)
{
    if (!task_name::is_valid(name))
        throw butler_error(invalid_name(name, opts));
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

asio::awaitable<result<task_response>> client::try_start_task(const task_name& name, call_options opts)
{
    return try_named(impl_, operation_kind::start_task, name.str(), std::move(opts));
}

asio::awaitable<result<task_response>> client::try_stop_task(const task_name& name, call_options opts)
{
    return try_named(impl_, operation_kind::stop_task, name.str(), std::move(opts));
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

// ---- completion tokens ------------------------------------------------------------------------

namespace {

// What co_spawn completes: unwraps the coroutine's result<T> into the handler's (error_code, T).
// It exposes the handler's executor and cancellation slot, so co_spawn completes on that executor
// and connects that slot to the coroutine; and its allocator, for co_spawn's bookkeeping.
template <class Signature, class T>
struct token_completion {
    asio::any_completion_handler<Signature> handler;
    asio::any_completion_executor executor;

    using executor_type = asio::any_completion_executor;
    executor_type get_executor() const noexcept { return executor; }
    using cancellation_slot_type = asio::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept { return handler.get_cancellation_slot(); }
    using allocator_type = typename asio::any_completion_handler<Signature>::allocator_type;
    allocator_type get_allocator() const noexcept { return handler.get_allocator(); }

    void operator()(std::exception_ptr e, result<T> r)
    {
        if (e)
            std::rethrow_exception(e); // not a request failure (those are results): out of run()
        if constexpr (std::is_void_v<T>) {
            std::move(handler)(r ? boost::system::error_code{} : r.error().code);
        } else {
            if (r)
                std::move(handler)(boost::system::error_code{}, std::move(*r));
            else
                std::move(handler)(r.error().code, T{});
        }
    }
};

template <class Signature, class T>
token_completion<Signature, T> make_completion(asio::any_completion_handler<Signature> h,
                                               const asio::any_io_executor& fallback)
{
    auto ex = asio::get_associated_executor(h, fallback);
    return {std::move(h), std::move(ex)};
}

// As the awaitable forms: invalid call options throw before anything starts.
void check_call_options(const call_options& opts)
{
    if (opts.retry) {
        if (auto* msg = detail::validate_retry_policy(*opts.retry))
            throw std::invalid_argument(std::string("call_options.") + msg);
    }
}

// co_spawn filters cancellation down to terminal; an awaited operation takes what its awaiter's
// state lets through. Accepting every type here makes both paths react to the same requests.
asio::awaitable<result<tasks_response>> token_list(impl_ptr impl, call_options opts)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_return co_await impl->run_list(std::move(opts), nullptr);
}

asio::awaitable<result<void>> token_refresh(impl_ptr impl, tasks_response* tasks, call_options opts)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_return co_await try_refresh(std::move(impl), *tasks, std::move(opts));
}

asio::awaitable<result<task_response>> token_outcome(impl_ptr impl, operation_kind op, std::string name,
                                                     call_options opts)
{
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    if ((op == operation_kind::start_task || op == operation_kind::stop_task) && !task_name::is_valid(name))
        co_return invalid_name(name, opts);
    co_return co_await impl->run_outcome(op, name, std::move(opts));
}

operation_kind kind_of(detail::outcome_op op) noexcept
{
    switch (op) {
    case detail::outcome_op::start_all: return operation_kind::start_all;
    case detail::outcome_op::stop_all: return operation_kind::stop_all;
    case detail::outcome_op::start_task: return operation_kind::start_task;
    case detail::outcome_op::stop_task: return operation_kind::stop_task;
    }
    return operation_kind::start_all;
}

} // namespace

void client::launch_list(impl_ptr impl, call_options opts, asio::any_completion_handler<tasks_signature> handler)
{
    check_call_options(opts);
    const auto ex = impl->executor();
    auto done = make_completion<tasks_signature, tasks_response>(std::move(handler), ex);
    asio::co_spawn(ex, token_list(std::move(impl), std::move(opts)), std::move(done));
}

void client::launch_refresh(impl_ptr impl, tasks_response* tasks, call_options opts,
                            asio::any_completion_handler<refresh_signature> handler)
{
    check_call_options(opts);
    const auto ex = impl->executor();
    auto done = make_completion<refresh_signature, void>(std::move(handler), ex);
    asio::co_spawn(ex, token_refresh(std::move(impl), tasks, std::move(opts)), std::move(done));
}

void client::launch_outcome(impl_ptr impl, detail::outcome_op op, std::string name, call_options opts,
                            asio::any_completion_handler<outcome_signature> handler)
{
    check_call_options(opts);
    const auto ex = impl->executor();
    auto done = make_completion<outcome_signature, task_response>(std::move(handler), ex);
    asio::co_spawn(ex, token_outcome(std::move(impl), kind_of(op), std::move(name), std::move(opts)), std::move(done));
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
