#include <plexbutler/fleet.hpp>

#include "client/client_impl.hpp"
#include "client/idle_scheduler.hpp"
#include "fleet/poll_schedule.hpp"
#include "fleet/task_diff.hpp"
#include "util/random.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace plexbutler {

std::string_view to_string(fleet_event_kind k) noexcept
{
    switch (k) {
    case fleet_event_kind::reachable: return "reachable";
    case fleet_event_kind::unreachable: return "unreachable";
    case fleet_event_kind::task_added: return "task_added";
    case fleet_event_kind::task_removed: return "task_removed";
    case fleet_event_kind::task_changed: return "task_changed";
    }
    return "unknown";
}

namespace detail {

namespace asio = boost::asio;
using boost::system::error_code;
using slot_channel = asio::experimental::concurrent_channel<void(error_code)>;
using event_channel = asio::experimental::concurrent_channel<void(error_code, fleet_event)>;

namespace {

failure make_failure(error e, std::string_view detail_text = {})
{
    failure f;
    f.code = e;
    f.diag.server_message.assign(detail_text);
    return f;
}

// On an io_context (the common case) the strand wraps the concrete executor: a strand over
// any_io_executor is too large for any_io_executor's small buffer and converts executors on every
// hop, which costs allocations and reference counts on every completion of a fleet coroutine.
asio::any_io_executor make_fleet_strand(const asio::any_io_executor& ex)
{
    if (const auto* io = ex.target<asio::io_context::executor_type>())
        return asio::make_strand(*io);
    return asio::make_strand(ex);
}

// The idle work of the pools is run at its due time rounded up to this: the work of many pools
// then runs in one wake-up (an idle connection is evicted up to this much after idle_timeout).
constexpr std::chrono::milliseconds idle_work_granularity{250};

void validate(const fleet_options& o)
{
    if (o.max_in_flight == 0)
        throw std::invalid_argument("fleet_options::max_in_flight must be at least 1");
    if (o.poll_interval.count() <= 0)
        throw std::invalid_argument("fleet_options::poll_interval must be positive");
    if (o.backoff_initial.count() <= 0 || o.backoff_max < o.backoff_initial)
        throw std::invalid_argument("fleet_options: backoff_initial must be positive and at most backoff_max");
    if (o.event_capacity == 0)
        throw std::invalid_argument("fleet_options::event_capacity must be at least 1");
}

} // namespace

// One server of the fleet: its client, and the poller's state of it (guarded by fleet_impl::mu_).
struct fleet_server {
    fleet_server(std::string i, std::uint64_t k, const asio::any_io_executor& ex, client_options o, pool_tuning t)
        : id(std::move(i)), key(k), cl(make_client(ex, std::move(o), t))
    {
    }

    std::string id;
    std::uint64_t key;
    client cl;

    // The last successful poll (null before it): a fleet that is not polling does not carry it.
    // A poll refreshes a spare list of the fleet (fleet_impl::take_spare_list) and swaps it in.
    std::unique_ptr<tasks_response> list;
    bool polled = false;
    bool reachable = false;
    bool removed = false;
    unsigned consecutive_failures = 0;
    std::optional<failure> last_error;
    std::uint64_t polls = 0;
};

using server_ptr = std::shared_ptr<fleet_server>;

class fleet_impl : public std::enable_shared_from_this<fleet_impl> {
public:
    fleet_impl(asio::any_io_executor ex, fleet_options opts)
        : ex_(std::move(ex)), strand_(make_fleet_strand(ex_)), opts_((validate(opts), std::move(opts))),
          schedule_({opts_.poll_interval, opts_.backoff_initial, opts_.backoff_max, 0.2}, poll_schedule::clock::now()),
          slots_(ex_, opts_.max_in_flight), events_(ex_, opts_.event_capacity), idle_(ex_, 1), timer_(strand_),
          idle_scheduler_(std::make_shared<idle_scheduler>(strand_, idle_work_granularity))
    {
    }

    // Keeps the count of the fleet's running coroutines, for async_shutdown.
    class activity {
    public:
        explicit activity(std::shared_ptr<fleet_impl> f) : f_(std::move(f)) { ++f_->active_; }
        activity(const activity&) = delete;
        activity& operator=(const activity&) = delete;
        ~activity()
        {
            if (--f_->active_ == 0 && f_->shut_down_.load())
                f_->idle_.try_send(error_code{});
        }

    private:
        std::shared_ptr<fleet_impl> f_;
    };

    void add_server(std::string id, client_options opts)
    {
        if (id.empty())
            throw std::invalid_argument("fleet::add_server: the server id is empty");
        std::unique_lock lock(mu_);
        if (shut_down_)
            throw std::invalid_argument("fleet::add_server: the fleet is shut down");
        if (by_id_.count(id))
            throw std::invalid_argument("fleet::add_server: a server with this id exists already");
        auto key = next_key_++;
        lock.unlock();
        // The client validates the options (and may load a TLS context): outside the lock.
        auto s = std::make_shared<fleet_server>(
            id, key, ex_, std::move(opts),
            pool_tuning{opts_.release_buffers_after_request, strand_, true, idle_scheduler_});
        lock.lock();
        if (by_id_.count(id))
            throw std::invalid_argument("fleet::add_server: a server with this id exists already");
        by_id_.emplace(s->id, s);
        by_key_.emplace(key, s);
        order_.push_back(s);
        if (polling_) {
            schedule_.add(key, poll_schedule::clock::now());
            wake_poller_locked();
        }
    }

    bool remove_server(std::string_view id)
    {
        server_ptr s;
        {
            std::lock_guard lock(mu_);
            auto it = by_id_.find(id);
            if (it == by_id_.end())
                return false;
            s = it->second;
            by_id_.erase(it);
            by_key_.erase(s->key);
            order_.erase(std::find(order_.begin(), order_.end(), s));
            schedule_.remove(s->key);
            s->removed = true;
        }
        s->cl.shutdown();
        return true;
    }

    std::vector<std::string> servers() const
    {
        std::lock_guard lock(mu_);
        std::vector<std::string> ids;
        ids.reserve(order_.size());
        for (const auto& s : order_)
            ids.push_back(s->id);
        return ids;
    }

    std::size_t size() const
    {
        std::lock_guard lock(mu_);
        return order_.size();
    }

    std::vector<server_status> status() const
    {
        std::lock_guard lock(mu_);
        std::vector<server_status> out;
        out.reserve(order_.size());
        for (const auto& s : order_) {
            server_status st;
            st.server = s->id;
            st.origin = s->cl.origin();
            st.reachable = s->reachable;
            st.polled = s->polled;
            st.consecutive_failures = s->consecutive_failures;
            st.last_error = s->last_error;
            st.tasks = s->list ? s->list->content.tasks.size() : 0;
            st.polls = s->polls;
            out.push_back(std::move(st));
        }
        return out;
    }

    fleet_stats stats() const
    {
        std::lock_guard lock(mu_);
        fleet_stats st = counters_;
        st.servers = order_.size();
        st.in_flight = in_flight_.load();
        for (const auto& s : order_)
            st.connections += s->cl.stats().open;
        return st;
    }

    // The servers a fleet operation runs on: nullptr for an id that is not in the fleet.
    std::vector<server_ptr> targets(const std::vector<std::string>& only) const
    {
        std::lock_guard lock(mu_);
        if (only.empty())
            return order_;
        std::vector<server_ptr> out;
        out.reserve(only.size());
        for (const auto& id : only) {
            auto it = by_id_.find(id);
            out.push_back(it == by_id_.end() ? nullptr : it->second);
        }
        return out;
    }

    void start_polling()
    {
        {
            std::lock_guard lock(mu_);
            if (shut_down_ || polling_)
                return;
            polling_ = true;
            auto now = poll_schedule::clock::now();
            for (const auto& s : order_)
                schedule_.add(s->key, now);
            schedule_.realign(now);
            if (loop_running_) {
                wake_poller_locked();
                return;
            }
            loop_running_ = true;
        }
        // Outside the lock: co_spawn may start the loop inline, and the loop takes the lock.
        asio::co_spawn(strand_, poll_loop(shared_from_this()), asio::detached);
    }

    void stop_polling()
    {
        std::lock_guard lock(mu_);
        polling_ = false;
        wake_poller_locked();
    }

    void shutdown()
    {
        std::vector<server_ptr> all;
        {
            std::lock_guard lock(mu_);
            if (shut_down_)
                return;
            shut_down_ = true;
            polling_ = false;
            all = order_;
            wake_poller_locked();
        }
        for (const auto& s : all)
            s->cl.shutdown();
        asio::dispatch(strand_, [sch = idle_scheduler_] { sch->shutdown(); });
        slots_.cancel();
        events_.close();
        if (active_.load() == 0)
            idle_.try_send(error_code{});
    }

    bool is_shut_down() const noexcept { return shut_down_.load(); }

    // A task list for a poll to refresh: a spare one (another server's previous list: its strings
    // and task vector are decoded into again, so a poll allocates nothing), else a new one.
    std::unique_ptr<tasks_response> take_spare_list()
    {
        std::lock_guard lock(mu_);
        if (spare_lists_.empty())
            return std::make_unique<tasks_response>();
        auto l = std::move(spare_lists_.back());
        spare_lists_.pop_back();
        return l;
    }

    // Back to the spares: as many as polls can be in flight, so one list per server plus at most
    // max_in_flight, not two per server.
    void put_spare_list_locked(std::unique_ptr<tasks_response> l)
    {
        if (l && spare_lists_.size() < opts_.max_in_flight)
            spare_lists_.push_back(std::move(l));
    }

    // A slot of the fleet's limit on requests in flight if one is free now (no coroutine, no
    // suspension: the common case). Callers then fall back on acquire().
    bool try_acquire()
    {
        if (shut_down_ || !slots_.try_send(error_code{}))
            return false;
        ++in_flight_;
        return true;
    }

    // A slot of the fleet's limit on requests in flight; false if the wait was cancelled or the
    // fleet shut down.
    asio::awaitable<bool> acquire()
    {
        if (shut_down_)
            co_return false;
        error_code ec;
        co_await slots_.async_send(error_code{}, asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return false;
        ++in_flight_;
        co_return true;
    }

    void release()
    {
        --in_flight_;
        slots_.try_receive([](error_code) {});
    }

    asio::awaitable<result<fleet_event>> next_event()
    {
        error_code ec;
        auto ev = co_await events_.async_receive(asio::redirect_error(asio::use_awaitable, ec));
        if (!ec)
            co_return ev;
        if (ec == asio::error::operation_aborted || ec == asio::experimental::channel_errc::channel_cancelled)
            co_return make_failure(error::cancelled);
        co_return make_failure(error::client_shut_down);
    }

    asio::awaitable<void> wait_idle()
    {
        if (active_.load() != 0) {
            error_code ec;
            co_await idle_.async_receive(asio::redirect_error(asio::use_awaitable, ec));
            // Let a concurrent async_shutdown through as well.
            idle_.try_send(error_code{});
        }
    }

    std::vector<server_ptr> all_servers() const
    {
        std::lock_guard lock(mu_);
        return order_;
    }

    const asio::any_io_executor& executor() const noexcept { return ex_; }
    const asio::any_io_executor& strand() const noexcept { return strand_; }
    const fleet_options& options() const noexcept { return opts_; }

private:
    static asio::awaitable<void> poll_loop(std::shared_ptr<fleet_impl> self);
    static asio::awaitable<void> poll_one(std::shared_ptr<fleet_impl> self, server_ptr s);

    // Called with mu_ held: make the poll loop recompute its wake-up time (on the strand).
    void wake_poller_locked()
    {
        if (!loop_running_ || wake_pending_)
            return;
        wake_pending_ = true;
        asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
    }

    asio::any_io_executor ex_;
    asio::any_io_executor strand_; // a strand
    fleet_options opts_;

    mutable std::mutex mu_;
    std::vector<server_ptr> order_;
    std::map<std::string, server_ptr, std::less<>> by_id_;
    std::unordered_map<std::uint64_t, server_ptr> by_key_;
    std::uint64_t next_key_ = 1;
    poll_schedule schedule_;
    bool polling_ = false;
    bool loop_running_ = false;
    bool wake_pending_ = false;
    fleet_stats counters_;
    std::vector<std::unique_ptr<tasks_response>> spare_lists_; // guarded by mu_: see take_spare_list

    std::atomic<bool> shut_down_{false};
    std::atomic<std::size_t> in_flight_{0};
    std::atomic<std::size_t> active_{0};
    slot_channel slots_;
    event_channel events_;
    slot_channel idle_;
    asio::steady_timer timer_; // the poll loop's wake-up; used on strand_ only
    // The idle work (evictions, buffer releases) of every server's pool, on one timer (strand_).
    std::shared_ptr<idle_scheduler> idle_scheduler_;
};

// The poll loop: takes the servers that are due, starts one poll each, sleeps until the next
// due time (or until woken by an added server, a finished poll or stop/shutdown).
asio::awaitable<void> fleet_impl::poll_loop(std::shared_ptr<fleet_impl> self)
{
    activity guard(self);
    std::vector<std::uint64_t> due;
    for (;;) {
        std::optional<poll_schedule::time_point> next;
        std::vector<server_ptr> start;
        {
            std::lock_guard lock(self->mu_);
            self->wake_pending_ = false;
            if (!self->polling_ || self->shut_down_) {
                self->loop_running_ = false;
                co_return;
            }
            due.clear();
            self->schedule_.take_due(poll_schedule::clock::now(), due);
            start.reserve(due.size());
            for (auto key : due)
                if (auto it = self->by_key_.find(key); it != self->by_key_.end())
                    start.push_back(it->second);
            next = self->schedule_.next_due();
        }
        for (auto& s : start)
            asio::co_spawn(self->strand_, poll_one(self, std::move(s)), asio::detached);
        self->timer_.expires_at(next ? *next : poll_schedule::time_point::max());
        error_code ec;
        co_await self->timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

// One poll of one server: refresh its task list into the scratch list, compare, deliver the
// events (waiting for the consumer when the buffer is full), then put the server back in the
// schedule. A server has at most one poll in flight, so its events are never interleaved.
asio::awaitable<void> fleet_impl::poll_one(std::shared_ptr<fleet_impl> self, server_ptr s)
{
    activity guard(self);
    co_await asio::this_coro::throw_if_cancelled(false);
    auto scratch = self->take_spare_list(); // this poll's alone until it goes back or is swapped in
    result<void> r = make_failure(error::client_shut_down);
    if (self->try_acquire() || co_await self->acquire()) {
        r = co_await s->cl.try_refresh_butler_tasks(*scratch);
        self->release();
    }
    auto now = poll_schedule::clock::now();
    auto at = std::chrono::system_clock::now();
    std::vector<fleet_event> events;
    {
        std::lock_guard lock(self->mu_);
        if (s->removed || self->shut_down_) {
            self->put_spare_list_locked(std::move(scratch));
            co_return;
        }
        ++s->polls;
        ++self->counters_.polls;
        if (r) {
            if (!s->reachable) {
                fleet_event e;
                e.kind = fleet_event_kind::reachable;
                e.server = s->id;
                e.at = at;
                e.tasks = scratch->content;
                events.push_back(std::move(e));
            }
            if (s->list)
                diff_task_lists(s->list->content, scratch->content, s->id, at, events);
            std::swap(s->list, scratch); // the previous list (if any) becomes a spare
            s->reachable = true;
            s->consecutive_failures = 0;
            s->last_error.reset();
        } else {
            ++self->counters_.poll_failures;
            if (s->reachable || !s->polled) {
                fleet_event e;
                e.kind = fleet_event_kind::unreachable;
                e.server = s->id;
                e.at = at;
                e.error = r.error();
                events.push_back(std::move(e));
            }
            s->reachable = false;
            ++s->consecutive_failures;
            s->last_error = r.error();
        }
        s->polled = true;
        self->put_spare_list_locked(std::move(scratch));
    }
    std::size_t delivered = 0;
    for (auto& e : events) {
        error_code ec;
        co_await self->events_.async_send(error_code{}, std::move(e), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            break;
        ++delivered;
    }
    std::lock_guard lock(self->mu_);
    self->counters_.events += delivered;
    if (s->removed || self->shut_down_)
        co_return;
    if (r)
        self->schedule_.on_success(s->key, now);
    else
        self->schedule_.on_failure(s->key, now, random_unit());
    // Wake the loop if this server is now due before the loop's wake-up time.
    auto due = self->schedule_.next_due();
    if (self->polling_ && due && *due < self->timer_.expiry())
        self->wake_poller_locked();
}

namespace {

enum class op_kind { list, start_all, stop_all, start, stop };

// The shared state of one fleet operation: the workers take servers by index.
template <class T>
struct op_state {
    explicit op_state(const asio::any_io_executor& ex) : done(ex, 1) {}

    op_kind kind = op_kind::list;
    std::optional<task_name> name;
    call_options call;
    std::vector<server_ptr> targets;
    std::vector<server_result<T>> results;
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> running{0};
    std::atomic<bool> cancelled{false};
    slot_channel done;
    std::vector<asio::cancellation_signal> signals; // one per worker, emitted on the fleet strand
};

// The client operation of one server. Not coroutines: the client's awaitable is the worker's only
// nested frame (the client copies the call options and the task name into it).
asio::awaitable<result<tasks_response>> run_one(fleet_server& s, const op_state<tasks_response>& st)
{
    return s.cl.try_get_butler_tasks(st.call);
}

asio::awaitable<result<task_response>> run_one(fleet_server& s, const op_state<task_response>& st)
{
    switch (st.kind) {
    case op_kind::stop_all: return s.cl.try_stop_all_tasks(st.call);
    case op_kind::start: return s.cl.try_start_task(st.name->view(), st.call);
    case op_kind::stop: return s.cl.try_stop_task(st.name->view(), st.call);
    case op_kind::start_all:
    case op_kind::list: break; // a list is an op_state<tasks_response>
    }
    return s.cl.try_start_all_tasks(st.call);
}

template <class T>
asio::awaitable<void> op_worker(std::shared_ptr<fleet_impl> self, std::shared_ptr<op_state<T>> st)
{
    fleet_impl::activity guard(self);
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        if (st->cancelled.load())
            break;
        auto i = st->next++;
        if (i >= st->targets.size())
            break;
        const auto& s = st->targets[i];
        if (!s)
            continue;
        if (!self->try_acquire() && !co_await self->acquire()) {
            st->results[i].value = make_failure(self->is_shut_down() ? error::client_shut_down : error::cancelled);
            continue;
        }
        auto op = run_one(*s, *st);
        st->results[i].value = co_await std::move(op);
        self->release();
    }
    if (--st->running == 0)
        st->done.try_send(error_code{});
}

template <class T>
void cancel_workers(const std::shared_ptr<fleet_impl>& self, std::shared_ptr<op_state<T>> st)
{
    st->cancelled = true;
    asio::post(self->strand(), [st] {
        for (auto& sig : st->signals)
            sig.emit(asio::cancellation_type::terminal);
    });
}

template <class T>
asio::awaitable<std::vector<server_result<T>>> run_fleet_op(std::shared_ptr<fleet_impl> self,
                                                            std::shared_ptr<op_state<T>> st)
{
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto n = st->targets.size();
    // Every server a worker takes gets its result from the worker; the others are set at the end.
    for (std::size_t i = 0; i < n; ++i) {
        if (st->targets[i])
            st->results[i].server = st->targets[i]->id;
        else
            st->results[i].value = make_failure(error::unknown_server, st->results[i].server);
    }
    if (self->is_shut_down()) {
        for (std::size_t i = 0; i < n; ++i)
            if (st->targets[i])
                st->results[i].value = make_failure(error::client_shut_down);
        co_return std::move(st->results);
    }
    auto workers = std::min(n, self->options().max_in_flight);
    if (workers == 0)
        co_return std::move(st->results);
    st->signals = std::vector<asio::cancellation_signal>(workers);
    st->running = workers;
    for (std::size_t w = 0; w < workers; ++w)
        asio::co_spawn(self->strand(), op_worker(self, st),
                       asio::bind_cancellation_slot(st->signals[w].slot(), asio::detached));
    error_code ec;
    co_await st->done.async_receive(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
        // The caller was cancelled: cancel the workers and wait for them, no longer cancellable.
        cancel_workers(self, st);
        co_await asio::this_coro::reset_cancellation_state();
        co_await st->done.async_receive(
            asio::bind_cancellation_slot(asio::cancellation_slot(), asio::redirect_error(asio::use_awaitable, ec)));
    }
    // The servers no worker took (the call was cancelled first).
    for (std::size_t i = std::min(st->next.load(), n); i < n; ++i)
        if (st->targets[i])
            st->results[i].value = make_failure(error::cancelled);
    co_return std::move(st->results);
}

} // namespace

} // namespace detail

namespace asio = boost::asio;

fleet::fleet(asio::any_io_executor ex, fleet_options opts)
    : impl_(std::make_shared<detail::fleet_impl>(std::move(ex), std::move(opts)))
{
}

fleet::fleet(asio::io_context& ctx, fleet_options opts) : fleet(ctx.get_executor(), std::move(opts)) {}

fleet::~fleet()
{
    if (impl_)
        impl_->shutdown();
}

void fleet::add_server(std::string id, client_options opts) { impl_->add_server(std::move(id), std::move(opts)); }

void fleet::add_server(std::string id, std::string server_url, std::string token)
{
    client_options o = impl_->options().defaults;
    o.server_url = std::move(server_url);
    o.token = std::move(token);
    impl_->add_server(std::move(id), std::move(o));
}

bool fleet::remove_server(std::string_view id) { return impl_->remove_server(id); }

std::vector<std::string> fleet::servers() const { return impl_->servers(); }

std::size_t fleet::size() const { return impl_->size(); }

namespace {

template <class T>
std::shared_ptr<detail::op_state<T>> make_op(const std::shared_ptr<detail::fleet_impl>& impl, detail::op_kind kind,
                                             fleet_call_options& opts)
{
    auto st = std::make_shared<detail::op_state<T>>(impl->executor());
    st->kind = kind;
    st->call = std::move(opts.call);
    st->call.diag = nullptr; // one per call, not per server: the server_results carry the failures
    st->targets = impl->targets(opts.only);
    st->results.resize(st->targets.size());
    for (std::size_t i = 0; i < st->targets.size(); ++i)
        if (!st->targets[i])
            st->results[i].server = opts.only[i];
    return st;
}

} // namespace

asio::awaitable<std::vector<server_result<tasks_response>>> fleet::get_butler_tasks(fleet_call_options opts)
{
    auto st = make_op<tasks_response>(impl_, detail::op_kind::list, opts);
    return detail::run_fleet_op(impl_, std::move(st));
}

asio::awaitable<std::vector<server_result<task_response>>> fleet::start_all_tasks(fleet_call_options opts)
{
    auto st = make_op<task_response>(impl_, detail::op_kind::start_all, opts);
    return detail::run_fleet_op(impl_, std::move(st));
}

asio::awaitable<std::vector<server_result<task_response>>> fleet::stop_all_tasks(fleet_call_options opts)
{
    auto st = make_op<task_response>(impl_, detail::op_kind::stop_all, opts);
    return detail::run_fleet_op(impl_, std::move(st));
}

asio::awaitable<std::vector<server_result<task_response>>> fleet::start_task(task_name name, fleet_call_options opts)
{
    auto st = make_op<task_response>(impl_, detail::op_kind::start, opts);
    st->name = std::move(name);
    return detail::run_fleet_op(impl_, std::move(st));
}

asio::awaitable<std::vector<server_result<task_response>>> fleet::stop_task(task_name name, fleet_call_options opts)
{
    auto st = make_op<task_response>(impl_, detail::op_kind::stop, opts);
    st->name = std::move(name);
    return detail::run_fleet_op(impl_, std::move(st));
}

namespace {

// What co_spawn completes: hands the results to the handler, through the handler's executor and
// with its cancellation slot connected to the operation (see client.cpp's token_completion).
template <class T>
struct fleet_completion {
    asio::any_completion_handler<fleet_signature<T>> handler;
    asio::any_completion_executor executor;

    using executor_type = asio::any_completion_executor;
    executor_type get_executor() const noexcept { return executor; }
    using cancellation_slot_type = asio::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept { return handler.get_cancellation_slot(); }
    using allocator_type = typename asio::any_completion_handler<fleet_signature<T>>::allocator_type;
    allocator_type get_allocator() const noexcept { return handler.get_allocator(); }

    void operator()(std::exception_ptr e, std::vector<server_result<T>> results)
    {
        if (e)
            std::rethrow_exception(e); // not a server's failure (those are results): out of run()
        std::move(handler)(std::move(results));
    }
};

template <class T>
void spawn_fleet_op(const std::shared_ptr<detail::fleet_impl>& impl, std::shared_ptr<detail::op_state<T>> st,
                    asio::any_completion_handler<fleet_signature<T>> handler)
{
    const auto& ex = impl->executor();
    auto target = asio::get_associated_executor(handler, ex);
    asio::co_spawn(
        ex,
        [](std::shared_ptr<detail::fleet_impl> self,
           std::shared_ptr<detail::op_state<T>> s) -> asio::awaitable<std::vector<server_result<T>>> {
            // As an awaiting coroutine that lets every cancellation type through.
            co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
            co_return co_await detail::run_fleet_op(std::move(self), std::move(s));
        }(impl, std::move(st)),
        fleet_completion<T>{std::move(handler), std::move(target)});
}

} // namespace

void fleet::launch_list(std::shared_ptr<detail::fleet_impl> impl, fleet_call_options opts,
                        asio::any_completion_handler<fleet_signature<tasks_response>> handler)
{
    auto st = make_op<tasks_response>(impl, detail::op_kind::list, opts);
    spawn_fleet_op(impl, std::move(st), std::move(handler));
}

void fleet::launch_outcome(std::shared_ptr<detail::fleet_impl> impl, detail::fleet_op op, std::optional<task_name> name,
                           fleet_call_options opts,
                           asio::any_completion_handler<fleet_signature<task_response>> handler)
{
    auto kind = detail::op_kind::start_all;
    switch (op) {
    case detail::fleet_op::start_all: kind = detail::op_kind::start_all; break;
    case detail::fleet_op::stop_all: kind = detail::op_kind::stop_all; break;
    case detail::fleet_op::start_task: kind = detail::op_kind::start; break;
    case detail::fleet_op::stop_task: kind = detail::op_kind::stop; break;
    case detail::fleet_op::list: break;
    }
    auto st = make_op<task_response>(impl, kind, opts);
    st->name = std::move(name);
    spawn_fleet_op(impl, std::move(st), std::move(handler));
}

void fleet::start_polling() { impl_->start_polling(); }

void fleet::stop_polling() { impl_->stop_polling(); }

namespace {

asio::awaitable<result<fleet_event>> try_next(std::shared_ptr<detail::fleet_impl> impl)
{
    co_return co_await impl->next_event();
}

asio::awaitable<fleet_event> next_or_throw(std::shared_ptr<detail::fleet_impl> impl)
{
    auto r = co_await impl->next_event();
    if (!r)
        throw butler_error(std::move(r).error());
    co_return std::move(*r);
}

asio::awaitable<void> shut_down(std::shared_ptr<detail::fleet_impl> impl)
{
    impl->shutdown();
    for (auto& s : impl->all_servers())
        co_await s->cl.async_shutdown();
    co_await impl->wait_idle();
}

} // namespace

asio::awaitable<fleet_event> fleet::next_event() { return next_or_throw(impl_); }

asio::awaitable<result<fleet_event>> fleet::try_next_event() { return try_next(impl_); }

std::vector<server_status> fleet::status() const { return impl_->status(); }

fleet_stats fleet::stats() const { return impl_->stats(); }

asio::awaitable<void> fleet::async_shutdown() { return shut_down(impl_); }

void fleet::shutdown() { impl_->shutdown(); }

asio::any_io_executor fleet::get_executor() const { return impl_->executor(); }

} // namespace plexbutler
