#ifndef PLEXBUTLER_CLIENT_POOL_CLIENT_HPP
#define PLEXBUTLER_CLIENT_POOL_CLIENT_HPP

// The pooled client: one coroutine per operation drives the attempt state machine
// (sansio/attempt.hpp) and does only the I/O it asks for; the pool's bookkeeping
// (sansio/pool_state.hpp) runs on the pool strand.
//
// `Strand` serialises the pool state. `Transport` supplies the connections, the clock and the
// timers: http/tcp_transport.hpp in production, in-memory streams with a manual clock in tests.

#include "client/client_impl.hpp"
#include "client/idle_scheduler.hpp"
#include "http/connection.hpp"
#include "http/interpret.hpp"
#include "http/request.hpp"
#include "sansio/attempt.hpp"
#include "sansio/classify.hpp"
#include "sansio/pool_state.hpp"
#include "sansio/retry.hpp"
#include "util/handler_arena.hpp"
#include "util/random.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/models.hpp>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace plexbutler::detail {

template <class Strand, class Transport>
class pool_client final : public client_impl,
                          public idle_work,
                          public std::enable_shared_from_this<pool_client<Strand, Transport>> {
public:
    using clock_type = typename Transport::clock_type;
    using timer_type = typename Transport::timer_type;
    using connection_type = typename Transport::connection_type;

    /// @param make_transport called once with the validated options and endpoint.
    template <class MakeTransport>
    pool_client(boost::asio::any_io_executor ex, Strand strand, client_options opts, MakeTransport&& make_transport,
                pool_tuning tuning = {})
        : ex_(std::move(ex)), strand_(std::move(strand)), opts_(validated(std::move(opts))),
          release_buffers_at_once_(tuning.release_buffers_at_once), ep_(parse_endpoint(opts_)), req_(opts_, ep_),
          transport_(make_transport(opts_, ep_)), state_(opts_.max_connections, opts_.max_waiters, opts_.idle_timeout),
          conns_(opts_.max_connections), guards_(opts_.max_connections), release_at_(opts_.max_connections, never),
          idle_released_(opts_.max_connections, false), idle_timer_(strand_), idle_scheduler_(tuning.idle_work)
    {
        if (tuning.prepare_first_connection) {
            conns_[0] = transport_.make_connection(ex_, read_limit_);
            if constexpr (requires { conns_[0]->stream.open_ahead(); })
                conns_[0]->stream.open_ahead();
        }
        if (ep_.https && !opts_.tls_verify && opts_.pinned_public_keys.empty()) // pins still prove the server
            log(log_level::warning, "TLS certificate verification is disabled (tls_verify=false): insecure");
    }

    // Not coroutines: they return run's awaitable, so an operation is still one frame here.
    boost::asio::awaitable<result<tasks_response>> run_list(call_options co, tasks_response* previous) override
    {
        return run<butler_task_list>(operation_kind::list_tasks, {}, std::move(co), previous);
    }
    boost::asio::awaitable<result<task_response>> run_outcome(operation_kind op, std::string_view name,
                                                              call_options co) override
    {
        return run<task_outcome>(op, name, std::move(co), nullptr);
    }

    pool_stats stats() const override
    {
        pool_stats s;
        {
            std::lock_guard lk(stats_mu_);
            s = stats_;
        }
        s.connections_created = created_.load(std::memory_order_relaxed);
        s.requests_served = served_.load(std::memory_order_relaxed);
        s.requests_retried = retried_.load(std::memory_order_relaxed);
        if constexpr (requires { transport_.tls_handshakes(); }) {
            s.tls_handshakes = transport_.tls_handshakes();
            s.tls_resumed = transport_.tls_resumed();
        }
        return s;
    }

    void shutdown() override
    {
        shut_down_.store(true);
        boost::asio::dispatch(strand_, [self = this->shared_from_this()] {
            self->do_shutdown();
            self->abort_in_flight();
        });
    }

    boost::asio::awaitable<void> async_shutdown(std::chrono::milliseconds drain) override
    {
        namespace asio = boost::asio;
        shut_down_.store(true);
        co_await asio::dispatch(asio::bind_executor(strand_, asio::use_awaitable));
        do_shutdown();
        if (drain.count() > 0 && state_.busy() > 0) {
            // Operations in flight may finish until the drain deadline; the last release wakes us.
            timer_type t(ex_);
            t.expires_after(drain);
            drains_.push_back(&t);
            boost::system::error_code ec;
            co_await t.async_wait(asio::bind_executor(strand_, asio::redirect_error(asio::use_awaitable, ec)));
            std::erase(drains_, &t);
        }
        abort_in_flight();
        co_await asio::post(asio::use_awaitable); // leave the strand before resuming the caller
    }

    const boost::asio::any_io_executor& executor() const noexcept override { return ex_; }
    const std::string& origin() const noexcept override { return ep_.origin; }

private:
    /// A queued checkout; lives in the waiting coroutine's frame (as `std::optional<waiter>`,
    /// whose address is the waiter id), touched only on the pool strand.
    struct waiter {
        // The timer runs on the plain executor (no type-erased strand to copy); its wait completes
        // through the pool strand (bind_executor) and it is only touched there.
        explicit waiter(const boost::asio::any_io_executor& ex) : timer(ex) {}
        timer_type timer; // expiry = the attempt deadline; cancelled to wake the waiter
        std::optional<grant> granted;
        bool shut_down = false;
    };

    /// Result of a checkout.
    struct lease {
        boost::system::error_code ec;
        std::size_t slot = 0;
        bool needs_connect = false;
    };

    static client_options validated(client_options o)
    {
        if (o.max_connections == 0)
            throw std::invalid_argument("client_options.max_connections must be at least 1");
        if (o.connect_timeout.count() < 0 || o.request_timeout.count() < 0 || o.idle_timeout.count() < 0 ||
            o.release_idle_buffers_after.count() < 0)
            throw std::invalid_argument("client_options timeouts must not be negative");
        if (o.max_header_bytes == 0 || o.max_body_bytes == 0 || o.max_json_depth == 0)
            throw std::invalid_argument("client_options limits must be positive");
        if (auto* msg = validate_retry_policy(o.retry))
            throw std::invalid_argument(std::string("client_options.") + msg);
        return o;
    }

    static long long to_ms(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

    static bool is_cancelled(const boost::asio::cancellation_state& st)
    {
        return st.cancelled() != boost::asio::cancellation_type::none;
    }

    // One coroutine frame for the whole operation: nested frames would defeat Asio's frame
    // recycling. It performs what the attempt state machine asks and feeds back the outcome.
    // `previous` (a caller's earlier response, or null) becomes the response decoded into: on
    // success it is moved into the result, so its strings and task vector are reused, not allocated.
    // (A pointer, not a by-value parameter: g++ 12 copies temporaries of a co_await expression
    // into the coroutine frame bytewise, which breaks std::string's small-buffer pointer.)
    template <class Content>
    boost::asio::awaitable<result<response<Content>>> run(operation_kind op, std::string_view name, call_options co,
                                                          response<Content>* previous)
    {
        namespace asio = boost::asio;
        namespace http = boost::beast::http;
        using boost::system::error_code;

        co_await asio::this_coro::throw_if_cancelled(false);
        const retry_policy& policy = co.retry ? *co.retry : opts_.retry;
        if (co.retry) {
            if (auto* msg = validate_retry_policy(policy))
                throw std::invalid_argument(std::string("call_options.") + msg);
        }
        response<Content> reuse; // taken only once nothing can throw: an invalid call leaves it alone
        if (previous != nullptr)
            reuse = std::move(*previous);
        const auto timeout = co.timeout ? *co.timeout : opts_.request_timeout;
        const request_context ctx{opts_, ep_, req_};
        std::optional<waiter> w; // its address is this operation's waiter id in the pool queue
        const auto waiter_id = reinterpret_cast<std::uintptr_t>(&w);
        attempt_fsm fsm(policy, timeout, &random_unit);
        std::optional<result<response<Content>>> out; // the result, or the last attempt's failure
        lease l;

        for (auto a = fsm.start(clock_type::now());;) {
            if (a.release != slot_release::none)
                release(l.slot, a.release == slot_release::reuse); // may destroy the connection
            if (a.counts_as_retry)
                retried_.fetch_add(1, std::memory_order_relaxed);
            switch (a.step) {
            case attempt_step::checkout: {
                if (a.note == attempt_note::unsolicited_bytes)
                    log(log_level::debug,
                        "idle connection to " + ep_.server + " received unsolicited bytes; discarded");
                else if (a.note == attempt_note::stale_connection)
                    log(log_level::debug, "reused connection to " + ep_.server + " was closed; retrying on a new one");
                l = lease{};
                if (shut_down_.load(std::memory_order_relaxed)) {
                    l.ec = error::client_shut_down;
                } else {
                    co_await asio::dispatch(asio::bind_executor(strand_, asio::use_awaitable));
                    auto d = state_.checkout(waiter_id, clock_type::now());
                    using k = checkout_decision::kind;
                    if (d.what == k::use_idle)
                        mark_released(d.slot, false);
                    publish_stats();
                    switch (d.what) {
                    case k::use_idle: l = lease{{}, d.slot, false}; break;
                    case k::open_new: l = lease{{}, d.slot, true}; break;
                    case k::too_many_waiters: l.ec = error::too_many_waiters; break;
                    case k::shut_down: l.ec = error::client_shut_down; break;
                    case k::wait: {
                        w.emplace(ex_);
                        w->timer.expires_at(a.deadline);
                        error_code ec;
                        co_await w->timer.async_wait(
                            asio::bind_executor(strand_, asio::redirect_error(asio::use_awaitable, ec)));
                        // Back on the strand: a grant wins over a concurrent expiry or cancellation.
                        if (w->granted) {
                            l = lease{{}, w->granted->slot, w->granted->needs_connect};
                        } else if (w->shut_down) {
                            l.ec = error::cancelled;
                        } else {
                            state_.cancel_waiter(waiter_id);
                            publish_stats();
                            l.ec = ec ? error_code(error::cancelled) : error_code(error::timeout);
                        }
                        w.reset();
                        break;
                    }
                    }
                    if (l.ec)
                        co_await asio::post(asio::use_awaitable); // leave the strand before resuming the caller
                }
                bool cancelled = false;
                if (l.ec) {
                    std::string msg = l.ec == error::timeout ? "after " + std::to_string(to_ms(timeout)) +
                                                                   " ms waiting for a connection to " + ep_.server
                                      : l.ec == error::too_many_waiters ? "too many operations waiting for a connection"
                                      : l.ec == error::client_shut_down ? "client shut down"
                                                                        : "while waiting for a connection";
                    out = ctx.fail(static_cast<error>(l.ec.value()), op, name, std::move(msg));
                } else {
                    cancelled = is_cancelled(co_await asio::this_coro::cancellation_state);
                }
                a = fsm.on_checkout(l.ec, l.needs_connect, cancelled, clock_type::now());
                break;
            }
            case attempt_step::connect: {
                if (!conns_[l.slot]) // else made ahead (pool_tuning::prepare_first_connection)
                    conns_[l.slot] = transport_.make_connection(ex_, read_limit_);
                created_.fetch_add(1, std::memory_order_relaxed);
                std::string msg;
                auto ec = co_await transport_.connect(conns_[l.slot]->stream, a.deadline, msg);
                if (ec)
                    out = ctx.fail(static_cast<error>(ec.value()), op, name, std::move(msg));
                else
                    publish_aborter(l.slot, conns_[l.slot]->stream.make_aborter());
                a = fsm.on_connect(ec, shut_down_.load(), clock_type::now());
                break;
            }
            case attempt_step::check_idle: {
                connection_type& c = *conns_[l.slot];
                a = fsm.on_idle_check(c.stream.has_unsolicited_bytes(), clock_type::now());
                break;
            }
            case attempt_step::exchange: {
                connection_type& c = *conns_[l.slot];
                c.wake(); // its buffers: not yet allocated (new), or released while it idled
                const std::string* bytes = &req_.list(); // the poll: sent as is
                if (op != operation_kind::list_tasks) {
                    req_.render(c.request, op, name);
                    bytes = &c.request;
                }
                if (opts_.logger)
                    log(log_level::debug, "-> " + req_.request_line(op, name) + " (" + ep_.server + ")");
                // One deadline for the write and every read: a dripping server is cut. Past it, the
                // pool aborts the connection's I/O (exchange_deadline_passed).
                std::optional<timer_type> deadline;
                std::uint64_t exchange_id = 0;
                if (a.deadline != attempt_time::max()) {
                    exchange_id = begin_exchange(l.slot);
                    deadline.emplace(ex_);
                    deadline->expires_at(a.deadline);
                    deadline->async_wait(
                        [self = this->shared_from_this(), slot = l.slot, exchange_id](boost::system::error_code ec) {
                            if (!ec)
                                self->exchange_deadline_passed(slot, exchange_id);
                        });
                }
                exchange_outcome x;
                co_await asio::async_write(c.stream, asio::buffer(*bytes),
                                           asio::redirect_error(asio::use_awaitable, x.ec));
                // Interim (1xx) responses may precede the final one (RFC 9110 §15.2): each is read
                // with a fresh parser (re-emplaced, no heap), its fields dropped, within the same
                // deadline. Their number is bounded; a 101 means the connection left HTTP.
                unsigned interim = 0;
                std::string interim_error;
                while (!x.ec) {
                    c.sink.clear();
                    c.parser.emplace(c.sink, opts_.max_body_bytes);
                    c.parser->header_limit(
                        static_cast<std::uint32_t>(std::min<std::size_t>(opts_.max_header_bytes, UINT32_MAX)));
                    co_await http::async_read(c.stream, c.buffer, *c.parser,
                                              asio::redirect_error(asio::use_awaitable, x.ec));
                    if (x.ec)
                        break;
                    const auto next = classify_interim(c.sink.status, interim);
                    if (next == interim_action::final_response)
                        break;
                    if (next == interim_action::skip) {
                        ++interim;
                        continue;
                    }
                    if (next == interim_action::switching_protocols) {
                        x.ec = error::unexpected_status;
                        interim_error = "HTTP 101 Switching Protocols without an Upgrade request";
                    } else {
                        x.ec = error::malformed_http;
                        interim_error = "more than " + std::to_string(max_interim_responses) + " interim responses";
                    }
                }
                if (deadline) {
                    deadline->cancel();
                    if (end_exchange(l.slot)) { // the deadline passed: the I/O was aborted
                        if (x.ec)
                            x.ec = boost::beast::error::timeout;
                        else
                            x.keep_alive = false; // complete, but its socket is shut down
                    }
                }
                bool cancelled = false;
                if (x.ec) {
                    x.got_some = interim > 0 || (c.parser && c.parser->got_some());
                    cancelled = is_cancelled(co_await asio::this_coro::cancellation_state);
                    const auto e = map_transport_error(x.ec);
                    out = ctx.fail(e, op, name,
                                   interim_error.empty() ? ctx.transport_message(e, x.ec, timeout)
                                                         : std::move(interim_error),
                                   c.sink.status);
                } else {
                    x.keep_alive = c.parser->keep_alive();
                    x.version = c.sink.version;
                    x.leftover = c.buffer.size();
                    if (++c.served == 1) {
                        if constexpr (requires { transport_.first_response_read(c.stream); })
                            transport_.first_response_read(c.stream); // TLS 1.3 tickets have arrived by now
                    }
                    served_.fetch_add(1, std::memory_order_relaxed);
                }
                c.parser.reset();
                a = fsm.on_exchange(x, cancelled, shut_down_.load(), clock_type::now());
                break;
            }
            case attempt_step::interpret: {
                const connection_type& c = *conns_[l.slot];
                if (opts_.logger)
                    log(log_level::debug, "<- HTTP/" + std::to_string(c.sink.version / 10) + "." +
                                              std::to_string(c.sink.version % 10) + " " +
                                              std::to_string(c.sink.status) + " " + printable(c.sink.reason) + " (" +
                                              req_.request_line(op, name) + ")");
                out = interpret<Content>(ctx, op, name, c.sink, reuse);
                std::optional<std::chrono::seconds> retry_after;
                if (!c.sink.retry_after.empty())
                    retry_after = parse_retry_after(c.sink.retry_after);
                a = fsm.on_interpret(*out ? error_code{} : out->error().code, c.sink.status, retry_after,
                                     clock_type::now());
                break;
            }
            case attempt_step::backoff: {
                log(log_level::info, "retrying " + out->error().diag.request_line + " in " +
                                         std::to_string(a.delay.count()) + " ms after: " + out->error().message());
                // The wait starts and ends on the pool strand, where a shutdown can cancel it.
                co_await asio::dispatch(asio::bind_executor(strand_, asio::use_awaitable));
                error_code ec;
                if (!state_.is_shut_down()) {
                    timer_type t(ex_);
                    t.expires_after(a.delay);
                    backoffs_.push_back(&t);
                    co_await t.async_wait(asio::bind_executor(strand_, asio::redirect_error(asio::use_awaitable, ec)));
                    std::erase(backoffs_, &t);
                }
                const bool shut_down = state_.is_shut_down();
                co_await asio::post(asio::use_awaitable); // leave the strand before resuming the caller
                const bool cancelled = is_cancelled(co_await asio::this_coro::cancellation_state) || (ec && !shut_down);
                a = fsm.on_backoff(cancelled, shut_down, clock_type::now());
                break;
            }
            case attempt_step::complete:
                switch (a.end) {
                case attempt_end::success:
                case attempt_end::last_failure: break;
                case attempt_end::cancelled:
                    co_await asio::post(asio::use_awaitable); // leave the strand before resuming the caller
                    out = ctx.fail(error::cancelled, op, name, "cancelled");
                    break;
                case attempt_end::backoff_cancelled:
                    out = ctx.fail(error::cancelled, op, name, "cancelled during retry backoff");
                    break;
                case attempt_end::shut_down:
                    out = ctx.fail(error::client_shut_down, op, name, "client shut down");
                    break;
                }
                if (co.diag != nullptr && !*out)
                    *co.diag = out->error().diag; // for token users: their signature has only the code
                co_return std::move(*out);
            }
        }
    }

    void log(log_level level, std::string_view msg) const
    {
        if (opts_.logger)
            opts_.logger(level, redact(std::string(msg), opts_.token));
    }

    void publish_stats()
    {
        std::lock_guard lk(stats_mu_);
        stats_.open = state_.open();
        stats_.idle = state_.idle();
        stats_.busy = state_.busy();
        stats_.waiting = state_.waiting();
        stats_.idle_released = released_count_;
    }

    // ---- pool (strand) -------------------------------------------------------------------------

    void release(std::size_t slot, bool reusable)
    {
        boost::asio::dispatch(strand_,
                              [self = this->shared_from_this(), slot, reusable] { self->do_release(slot, reusable); });
    }

    void do_release(std::size_t slot, bool reusable)
    {
        const auto now = clock_type::now();
        auto d = state_.release(slot, reusable, now);
        if (d.close)
            close_slot(slot);
        if (d.handoff) {
            wake(*d.handoff);
        } else if (state_.state_of(slot) == slot_state::idle) {
            if (release_buffers_at_once_) {
                conns_[slot]->release_buffers();
                mark_released(slot, true);
            } else if (opts_.release_idle_buffers_after.count() > 0) {
                release_at_[slot] = now + opts_.release_idle_buffers_after; // not before: it may be used again at once
            }
        }
        arm_idle_timer();
        publish_stats();
        if (!drains_.empty() && state_.busy() == 0)
            for (auto* t : drains_)
                t->cancel(); // drained: the shutdown need not wait any longer
    }

    void wake(const grant& g)
    {
        mark_released(g.slot, false);
        auto& w = *reinterpret_cast<std::optional<waiter>*>(g.waiter);
        w->granted = g;
        w->timer.cancel();
    }

    // When an idle connection is next due to be evicted or to release its buffers.
    std::optional<typename clock_type::time_point> next_idle_work() const
    {
        auto when = state_.next_idle_expiry();
        for (std::size_t i = 0; i < release_at_.size(); ++i) {
            if (release_at_[i] != never && state_.state_of(i) == slot_state::idle && (!when || release_at_[i] < *when))
                when = release_at_[i];
        }
        return when;
    }

    // One timer for the idle connections (a fleet's pools share the fleet's idle_scheduler
    // instead). Armed for the earliest work; a release due before the armed time re-arms it (the
    // superseded wait completes and is ignored). The pending wait lives in idle_wait_arena_ (a
    // superseded one not yet completed pushes the next to the heap), not in a block of Asio's
    // recycling cache held for as long as the connection idles.
    void arm_idle_timer()
    {
        const auto when = next_idle_work();
        if (!when || (idle_timer_armed_ && idle_timer_due_ <= *when))
            return;
        idle_timer_armed_ = true;
        idle_timer_due_ = *when;
        const auto generation = ++idle_timer_generation_;
        if constexpr (std::is_same_v<clock_type, idle_scheduler::clock>) {
            if (idle_scheduler_) { // a fleet's: one timer for the idle work of all its pools
                idle_scheduler_->schedule(*when, this->weak_from_this(), generation);
                return;
            }
        }
        idle_timer_.expires_at(*when);
        auto on_wait = [self = this->shared_from_this(), generation](boost::system::error_code ec) {
            if (!ec)
                self->run_idle_work(generation);
            else if (generation == self->idle_timer_generation_)
                self->idle_timer_armed_ = false;
        };
        idle_timer_.async_wait(boost::asio::bind_allocator(idle_wait_allocator(idle_wait_arena_), std::move(on_wait)));
    }

    // The idle work due (on the strand): evictions and buffer releases, then the next wait.
    void run_idle_work(std::uint64_t generation) override
    {
        if (generation != idle_timer_generation_)
            return; // superseded by an earlier wait
        idle_timer_armed_ = false;
        if (state_.is_shut_down())
            return;
        const auto now = clock_type::now();
        for (auto slot : state_.expire_idle(now))
            close_slot(slot);
        release_idle_buffers(now);
        publish_stats();
        arm_idle_timer();
    }

    // Idle connections unused since their release time free their buffers.
    void release_idle_buffers(typename clock_type::time_point now)
    {
        for (std::size_t i = 0; i < release_at_.size(); ++i) {
            if (release_at_[i] > now || state_.state_of(i) != slot_state::idle)
                continue;
            release_at_[i] = never;
            conns_[i]->release_buffers();
            mark_released(i, true);
        }
    }

    // Whether the idle connection of `slot` has released its buffers, for pool_stats::idle_released.
    void mark_released(std::size_t slot, bool released)
    {
        if (idle_released_[slot] == released)
            return;
        idle_released_[slot] = released;
        released ? ++released_count_ : --released_count_;
    }

    // Fails the waiters, closes the idle connections, ends the retry backoffs; new operations
    // fail with client_shut_down. Operations in flight go on until abort_in_flight().
    void do_shutdown()
    {
        auto a = state_.shutdown();
        for (auto id : a.failed_waiters) {
            auto& w = *reinterpret_cast<std::optional<waiter>*>(id);
            w->shut_down = true;
            w->timer.cancel();
        }
        for (auto slot : a.closed_slots)
            close_slot(slot);
        for (auto* t : backoffs_)
            t->cancel();
        idle_timer_.cancel();
        publish_stats();
    }

    // Makes the I/O of every connection in use fail at once: its operation ends with
    // client_shut_down (the attempt machine knows the shutdown caused the failure).
    void abort_in_flight()
    {
        std::lock_guard lk(abort_mu_);
        for (auto& g : guards_)
            g.abort();
    }

    // The connection of `slot` is connected: from now on a shutdown can abort its I/O. Called by
    // the operation that holds the slot, off the strand: hence the lock (only on connect and close).
    void publish_aborter(std::size_t slot, typename Transport::aborter_type abort)
    {
        std::lock_guard lk(abort_mu_);
        guards_[slot].abort = std::move(abort);
        if (shut_down_.load()) // the shutdown may have looked at this slot before it was published
            guards_[slot].abort();
    }

    // An exchange with a deadline starts on the connection of `slot`: returns its id.
    std::uint64_t begin_exchange(std::size_t slot)
    {
        std::lock_guard lk(abort_mu_);
        auto& g = guards_[slot];
        g.timed_out = false;
        return ++g.exchange;
    }

    // The exchange of `slot` is over (its I/O completed): a later expiry of its deadline finds
    // another id and does nothing. Returns whether the deadline passed (and aborted the I/O).
    bool end_exchange(std::size_t slot)
    {
        std::lock_guard lk(abort_mu_);
        auto& g = guards_[slot];
        ++g.exchange;
        return std::exchange(g.timed_out, false);
    }

    // The deadline of exchange `id` on `slot` passed (any thread): if that exchange is still
    // going on, its connection's I/O fails now. The connection is not reused.
    void exchange_deadline_passed(std::size_t slot, std::uint64_t id)
    {
        std::lock_guard lk(abort_mu_);
        auto& g = guards_[slot];
        if (g.exchange != id)
            return;
        g.timed_out = true;
        g.abort();
    }

    // The aborter is forgotten before the connection (and its socket) is destroyed: the
    // production aborter names the socket's descriptor, which may be reused once it is closed.
    void close_slot(std::size_t slot)
    {
        mark_released(slot, false);
        {
            std::lock_guard lk(abort_mu_);
            guards_[slot].abort.reset();
        }
        conns_[slot].reset();
    }

    boost::asio::any_io_executor ex_;
    Strand strand_;
    client_options opts_;
    bool release_buffers_at_once_; // pool_tuning
    endpoint ep_;
    request_templates req_;
    Transport transport_;
    pool_state state_;                                    // strand only
    std::vector<std::unique_ptr<connection_type>> conns_; // a slot's object belongs to whoever holds the slot
    /// What aborts the I/O of one slot's connection, and the deadline of its exchange.
    struct slot_guard {
        typename Transport::aborter_type abort; // once connected
        std::uint64_t exchange = 0;             // bumped when an exchange with a deadline starts and ends
        bool timed_out = false;                 // its deadline passed and aborted it
    };
    std::mutex abort_mu_;               // guards guards_
    std::vector<slot_guard> guards_;    // per slot
    std::vector<timer_type*> backoffs_; // strand only: retry backoffs waiting
    std::vector<timer_type*> drains_;   // strand only: async_shutdown drains waiting
    static constexpr auto never = clock_type::time_point::max();
    std::vector<typename clock_type::time_point> release_at_; // strand only: per idle slot, when to release
    std::vector<bool> idle_released_;                         // strand only: per slot, idle and released
    std::size_t released_count_ = 0;                          // strand only
    timer_type idle_timer_;                                   // strand only
    std::shared_ptr<idle_scheduler> idle_scheduler_;          // pool_tuning: a fleet's, instead of idle_timer_
    bool idle_timer_armed_ = false;                           // strand only
    typename clock_type::time_point idle_timer_due_{};        // strand only: while armed
    std::uint64_t idle_timer_generation_ = 0;                 // strand only: of the current wait
    // Room for the idle timer's pending wait (Asio's wait_handler with this handler: 200 bytes with
    // Boost 1.81 and g++ 12). A larger operation still works, from the heap.
    static constexpr std::size_t idle_wait_bytes = 208;
    using idle_wait_allocator = arena_allocator<void, idle_wait_bytes>;
    handler_arena<idle_wait_bytes> idle_wait_arena_; // allocated on the strand, freed on any thread
    mutable std::mutex stats_mu_;
    pool_stats stats_;
    std::atomic<std::uint64_t> created_{0}, served_{0}, retried_{0};
    std::atomic<bool> shut_down_{false};
    // Header + body limits, saturated: what one response can occupy in the read buffer.
    std::size_t read_limit_ = opts_.max_header_bytes > SIZE_MAX - opts_.max_body_bytes
                                  ? SIZE_MAX
                                  : opts_.max_header_bytes + opts_.max_body_bytes;
};

} // namespace plexbutler::detail

#endif
