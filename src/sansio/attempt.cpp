#include "sansio/attempt.hpp"
#include "sansio/classify.hpp"
#include "sansio/retry.hpp"

#include <cassert>

namespace plexbutler::detail {

attempt_action attempt_fsm::start(attempt_time now) noexcept
{
    assert(state_ == state::idle);
    start_ = now;
    return begin_attempt(now, false);
}

attempt_action attempt_fsm::begin_attempt(attempt_time now, bool counts_as_retry) noexcept
{
    ++attempts_;
    // One deadline per attempt: checkout, connect, write and read share it.
    deadline_ = timeout_.count() > 0 ? now + timeout_ : attempt_time::max();
    stale_retried_ = false;
    return checkout(attempt_note::none, counts_as_retry);
}

attempt_action attempt_fsm::checkout(attempt_note note, bool counts_as_retry) noexcept
{
    state_ = state::checkout;
    attempt_action a;
    a.step = attempt_step::checkout;
    a.note = note;
    a.counts_as_retry = counts_as_retry;
    a.deadline = deadline_;
    return a;
}

attempt_action attempt_fsm::on_checkout(boost::system::error_code ec, bool needs_connect, bool cancelled,
                                        attempt_time now) noexcept
{
    assert(state_ == state::checkout);
    if (ec)
        return finish_attempt(ec, 0, std::nullopt, slot_release::none, now);
    if (cancelled) // an empty slot has no connection to keep; a live one stays pooled
        return complete(attempt_end::cancelled, needs_connect ? slot_release::close : slot_release::reuse);
    // Every connection in the pool has served a response: only an empty slot is new.
    reused_ = !needs_connect;
    attempt_action a;
    if (needs_connect) {
        state_ = state::connect;
        a.step = attempt_step::connect;
        a.deadline = deadline_;
    } else {
        state_ = state::check_idle;
        a.step = attempt_step::check_idle;
    }
    return a;
}

attempt_action attempt_fsm::on_connect(boost::system::error_code ec, bool shut_down, attempt_time now) noexcept
{
    assert(state_ == state::connect);
    if (ec && shut_down)
        return complete(attempt_end::shut_down, slot_release::close);
    if (ec)
        return finish_attempt(ec, 0, std::nullopt, slot_release::close, now);
    return exchange();
}

attempt_action attempt_fsm::on_idle_check(bool unsolicited, attempt_time) noexcept
{
    assert(state_ == state::check_idle);
    if (unsolicited) {
        // Out of step with the server (or closing): never read those bytes as the next response.
        auto a = checkout(attempt_note::unsolicited_bytes, false);
        a.release = slot_release::close;
        return a;
    }
    return exchange();
}

attempt_action attempt_fsm::exchange() noexcept
{
    state_ = state::exchange;
    attempt_action a;
    a.step = attempt_step::exchange;
    a.deadline = deadline_; // max() when the timeout is 0: the driver then sets no deadline
    return a;
}

attempt_action attempt_fsm::on_exchange(const exchange_outcome& o, bool cancelled, bool shut_down,
                                        attempt_time now) noexcept
{
    assert(state_ == state::exchange);
    if (o.ec && shut_down) // the shutdown aborted this exchange
        return complete(attempt_end::shut_down, slot_release::close);
    if (o.ec) {
        // A keep-alive connection the server closed while it idled fails before any byte: every
        // Butler operation is safe to repeat, so once per attempt it is retried on a new connection.
        if (reused_ && !o.got_some && is_stale_connection_error(o.ec) && !stale_retried_ && !cancelled) {
            stale_retried_ = true;
            auto a = checkout(attempt_note::stale_connection, true);
            a.release = slot_release::close;
            return a;
        }
        return finish_attempt(map_transport_error(o.ec), 0, std::nullopt, slot_release::close, now);
    }
    // Keep the connection only after a clean HTTP/1.1 keep-alive exchange.
    reusable_ = o.keep_alive && o.version == 11 && o.leftover == 0 && !shut_down;
    state_ = state::interpret;
    attempt_action a;
    a.step = attempt_step::interpret;
    return a;
}

attempt_action attempt_fsm::on_interpret(boost::system::error_code ec, unsigned status,
                                         std::optional<std::chrono::seconds> retry_after, attempt_time now) noexcept
{
    assert(state_ == state::interpret);
    // Released only now: the response being interpreted lives in the connection's buffers.
    const auto release = reusable_ ? slot_release::reuse : slot_release::close;
    if (!ec)
        return complete(attempt_end::success, release);
    return finish_attempt(ec, status, retry_after, release, now);
}

attempt_action attempt_fsm::finish_attempt(boost::system::error_code ec, unsigned status,
                                           std::optional<std::chrono::seconds> retry_after, slot_release release,
                                           attempt_time now) noexcept
{
    if (attempts_ >= policy_->max_attempts)
        return complete(attempt_end::last_failure, release);
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_);
    const auto d = decide_retry(*policy_, attempts_, elapsed, attempt_result{ec, status, retry_after}, random_());
    if (!d.retry)
        return complete(attempt_end::last_failure, release);
    state_ = state::backoff;
    attempt_action a;
    a.step = attempt_step::backoff;
    a.release = release;
    a.note = attempt_note::retry_backoff;
    a.delay = d.delay;
    return a;
}

attempt_action attempt_fsm::on_backoff(bool cancelled, bool shut_down, attempt_time now) noexcept
{
    assert(state_ == state::backoff);
    if (cancelled)
        return complete(attempt_end::backoff_cancelled, slot_release::none);
    if (shut_down)
        return complete(attempt_end::shut_down, slot_release::none);
    return begin_attempt(now, true);
}

attempt_action attempt_fsm::complete(attempt_end e, slot_release release) noexcept
{
    state_ = state::done;
    attempt_action a;
    a.step = attempt_step::complete;
    a.release = release;
    a.end = e;
    return a;
}

} // namespace plexbutler::detail
