// The attempt state machine of one operation, fed events without I/O: checkout, connect,
// idle check, exchange, interpret, backoff; stale keep-alive retries, releases, retry policy.
#include "sansio/attempt.hpp"

#include <plexbutler/error.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <catch2/catch.hpp>

using namespace plexbutler;
using namespace plexbutler::detail;
using namespace std::chrono_literals;
using boost::system::error_code;

namespace {

double half() noexcept { return 0.5; } // no jitter: the backoff is its base

const attempt_time start_time = attempt_time{} + 1h;

exchange_outcome ok_exchange()
{
    exchange_outcome o;
    o.keep_alive = true;
    o.version = 11;
    return o;
}

exchange_outcome failed_exchange(error_code ec, bool got_some = false)
{
    exchange_outcome o;
    o.ec = ec;
    o.got_some = got_some;
    return o;
}

retry_policy retries(unsigned attempts)
{
    retry_policy p;
    p.max_attempts = attempts;
    p.initial_interval = 100ms;
    p.max_interval = 5000ms;
    p.jitter = 0;
    return p;
}

} // namespace

TEST_CASE("attempt: a new connection goes checkout, connect, exchange, interpret, complete", "[attempt]")
{
    retry_policy p;
    attempt_fsm fsm(p, 10s, &half);
    auto a = fsm.start(start_time);
    CHECK(a.step == attempt_step::checkout);
    CHECK(a.deadline == start_time + 10s);
    CHECK(a.release == slot_release::none);
    CHECK_FALSE(a.counts_as_retry);
    a = fsm.on_checkout({}, true, false, start_time);
    CHECK(a.step == attempt_step::connect);
    CHECK(a.deadline == start_time + 10s);
    CHECK_FALSE(fsm.reused());
    a = fsm.on_connect({}, false, start_time + 1ms);
    CHECK(a.step == attempt_step::exchange);
    CHECK(a.deadline == start_time + 10s); // one deadline for the whole attempt
    a = fsm.on_exchange(ok_exchange(), false, false, start_time + 2ms);
    CHECK(a.step == attempt_step::interpret);
    CHECK(a.release == slot_release::none); // the response still lives in the connection
    a = fsm.on_interpret({}, 200, std::nullopt, start_time + 3ms);
    CHECK(a.step == attempt_step::complete);
    CHECK(a.end == attempt_end::success);
    CHECK(a.release == slot_release::reuse);
    CHECK(fsm.attempts() == 1);
}

TEST_CASE("attempt: a timeout of 0 sets no deadline", "[attempt]")
{
    retry_policy p;
    attempt_fsm fsm(p, 0ms, &half);
    CHECK(fsm.start(start_time).deadline == attempt_time::max());
    CHECK(fsm.on_checkout({}, true, false, start_time).deadline == attempt_time::max());
    CHECK(fsm.on_connect({}, false, start_time).deadline == attempt_time::max());
}

TEST_CASE("attempt: a pooled connection is checked for unsolicited bytes before it is used", "[attempt]")
{
    retry_policy p;
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    auto a = fsm.on_checkout({}, false, false, start_time);
    CHECK(a.step == attempt_step::check_idle);
    CHECK(fsm.reused());
    SECTION("quiet: exchange on it") { CHECK(fsm.on_idle_check(false, start_time).step == attempt_step::exchange); }
    SECTION("bytes waiting: close it and check out again, in the same attempt")
    {
        a = fsm.on_idle_check(true, start_time);
        CHECK(a.step == attempt_step::checkout);
        CHECK(a.release == slot_release::close);
        CHECK(a.note == attempt_note::unsolicited_bytes);
        CHECK_FALSE(a.counts_as_retry);
        CHECK(a.deadline == start_time + 10s);
        CHECK(fsm.attempts() == 1);
    }
}

TEST_CASE("attempt: a reused connection closed before any byte is retried once on a new one", "[attempt]")
{
    retry_policy p; // no retries: the stale retry is independent of the policy
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    fsm.on_checkout({}, false, false, start_time);
    fsm.on_idle_check(false, start_time);
    auto a = fsm.on_exchange(failed_exchange(boost::asio::error::eof), false, false, start_time);
    CHECK(a.step == attempt_step::checkout);
    CHECK(a.release == slot_release::close);
    CHECK(a.note == attempt_note::stale_connection);
    CHECK(a.counts_as_retry);
    CHECK(fsm.attempts() == 1);
    SECTION("a second stale connection in the same attempt fails it")
    {
        fsm.on_checkout({}, false, false, start_time);
        fsm.on_idle_check(false, start_time);
        a = fsm.on_exchange(failed_exchange(boost::asio::error::connection_reset), false, false, start_time);
        CHECK(a.step == attempt_step::complete);
        CHECK(a.end == attempt_end::last_failure);
        CHECK(a.release == slot_release::close);
    }
    SECTION("the new connection then works")
    {
        CHECK(fsm.on_checkout({}, true, false, start_time).step == attempt_step::connect);
        CHECK(fsm.on_connect({}, false, start_time).step == attempt_step::exchange);
        CHECK(fsm.on_exchange(ok_exchange(), false, false, start_time).step == attempt_step::interpret);
        CHECK(fsm.on_interpret({}, 200, std::nullopt, start_time).end == attempt_end::success);
    }
}

TEST_CASE("attempt: no stale retry on a new connection, after response bytes, or when cancelled", "[attempt]")
{
    retry_policy p;
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    attempt_action a;
    SECTION("new connection")
    {
        fsm.on_checkout({}, true, false, start_time);
        fsm.on_connect({}, false, start_time);
        a = fsm.on_exchange(failed_exchange(boost::asio::error::eof), false, false, start_time);
    }
    SECTION("some bytes were read")
    {
        fsm.on_checkout({}, false, false, start_time);
        fsm.on_idle_check(false, start_time);
        a = fsm.on_exchange(failed_exchange(boost::beast::http::error::partial_message, true), false, false,
                            start_time);
    }
    SECTION("the caller cancelled")
    {
        fsm.on_checkout({}, false, false, start_time);
        fsm.on_idle_check(false, start_time);
        a = fsm.on_exchange(failed_exchange(boost::asio::error::eof), true, false, start_time);
    }
    SECTION("not a stale-connection error")
    {
        fsm.on_checkout({}, false, false, start_time);
        fsm.on_idle_check(false, start_time);
        a = fsm.on_exchange(failed_exchange(boost::beast::error::timeout), false, false, start_time);
    }
    CHECK(a.step == attempt_step::complete);
    CHECK(a.end == attempt_end::last_failure);
    CHECK(a.release == slot_release::close);
}

TEST_CASE("attempt: the connection is kept only after a clean HTTP/1.1 keep-alive exchange", "[attempt]")
{
    retry_policy p;
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    fsm.on_checkout({}, true, false, start_time);
    fsm.on_connect({}, false, start_time);
    auto x = ok_exchange();
    bool shut_down = false;
    slot_release expected = slot_release::close;
    const int variant = GENERATE(0, 1, 2, 3, 4);
    switch (variant) {
    case 0: expected = slot_release::reuse; break; // clean
    case 1: x.keep_alive = false; break;           // Connection: close
    case 2: x.version = 10; break;                 // HTTP/1.0
    case 3: x.leftover = 1; break;                 // bytes beyond the response
    case 4: shut_down = true; break;               // the client is shutting down
    }
    CAPTURE(variant);
    fsm.on_exchange(x, false, shut_down, start_time);
    const bool success = GENERATE(true, false);
    auto a = success ? fsm.on_interpret({}, 200, std::nullopt, start_time)
                     : fsm.on_interpret(error::server_error, 500, std::nullopt, start_time); // released the same way
    CHECK(a.end == (success ? attempt_end::success : attempt_end::last_failure));
    CHECK(a.release == expected);
}

TEST_CASE("attempt: checkout outcomes", "[attempt]")
{
    retry_policy p;
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    SECTION("the checkout failed: no slot to release")
    {
        auto a = fsm.on_checkout(error::too_many_waiters, false, false, start_time);
        CHECK(a.step == attempt_step::complete);
        CHECK(a.end == attempt_end::last_failure);
        CHECK(a.release == slot_release::none);
    }
    SECTION("cancelled with an empty slot: give it back empty")
    {
        auto a = fsm.on_checkout({}, true, true, start_time);
        CHECK(a.end == attempt_end::cancelled);
        CHECK(a.release == slot_release::close);
    }
    SECTION("cancelled with a live connection: it stays pooled")
    {
        auto a = fsm.on_checkout({}, false, true, start_time);
        CHECK(a.end == attempt_end::cancelled);
        CHECK(a.release == slot_release::reuse);
    }
    SECTION("connect failed: the slot is closed")
    {
        fsm.on_checkout({}, true, false, start_time);
        auto a = fsm.on_connect(error::connect_failed, false, start_time);
        CHECK(a.end == attempt_end::last_failure);
        CHECK(a.release == slot_release::close);
    }
}

TEST_CASE("attempt: the retry policy backs off, honours Retry-After, and starts a new attempt", "[attempt][retry]")
{
    const auto p = retries(3);
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    fsm.on_checkout({}, true, false, start_time);
    fsm.on_connect({}, false, start_time);
    fsm.on_exchange(ok_exchange(), false, false, start_time);
    auto a = fsm.on_interpret(error::server_error, 503, std::chrono::seconds{2}, start_time + 1s);
    CHECK(a.step == attempt_step::backoff);
    CHECK(a.note == attempt_note::retry_backoff);
    CHECK(a.release == slot_release::reuse);
    CHECK(a.delay == 2000ms);
    a = fsm.on_backoff(false, false, start_time + 3s);
    CHECK(a.step == attempt_step::checkout);
    CHECK(a.counts_as_retry);
    CHECK(a.deadline == start_time + 13s); // each attempt has its own deadline
    CHECK(fsm.attempts() == 2);
    fsm.on_checkout({}, false, false, start_time + 3s);
    fsm.on_idle_check(false, start_time + 3s);
    fsm.on_exchange(ok_exchange(), false, false, start_time + 3s);
    a = fsm.on_interpret(error::server_error, 503, std::nullopt, start_time + 4s);
    CHECK(a.step == attempt_step::backoff);
    CHECK(a.delay == 200ms); // 100 ms doubled
    fsm.on_backoff(false, false, start_time + 5s);
    CHECK(fsm.attempts() == 3);
    a = fsm.on_checkout(error::timeout, false, false, start_time + 15s);
    CHECK(a.step == attempt_step::complete); // three attempts made: the last failure is the result
    CHECK(a.end == attempt_end::last_failure);
    CHECK(fsm.attempts() == 3);
}

TEST_CASE("attempt: what the policy does not retry completes at once", "[attempt][retry]")
{
    auto p = retries(5);
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    SECTION("a status not in retry_statuses")
    {
        fsm.on_checkout({}, true, false, start_time);
        fsm.on_connect({}, false, start_time);
        fsm.on_exchange(ok_exchange(), false, false, start_time);
        CHECK(fsm.on_interpret(error::unauthorized, 401, std::nullopt, start_time).end == attempt_end::last_failure);
    }
    SECTION("connection errors when retry_connection_errors is off")
    {
        p.retry_connection_errors = false;
        fsm.on_checkout({}, true, false, start_time);
        CHECK(fsm.on_connect(error::connect_failed, false, start_time).end == attempt_end::last_failure);
    }
    SECTION("a backoff that would pass max_elapsed")
    {
        p.max_elapsed = 1s;
        fsm.on_checkout({}, true, false, start_time);
        CHECK(fsm.on_connect(error::connect_failed, false, start_time + 950ms).end == attempt_end::last_failure);
    }
    SECTION("a timeout of the read is retried like a connection error")
    {
        fsm.on_checkout({}, true, false, start_time);
        fsm.on_connect({}, false, start_time);
        auto a = fsm.on_exchange(failed_exchange(boost::beast::error::timeout), false, false, start_time);
        CHECK(a.step == attempt_step::backoff);
        CHECK(a.release == slot_release::close);
    }
}

TEST_CASE("attempt: cancellation or shutdown during the backoff ends the operation", "[attempt][retry]")
{
    const auto p = retries(3);
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    fsm.on_checkout({}, true, false, start_time);
    REQUIRE(fsm.on_connect(error::connect_failed, false, start_time).step == attempt_step::backoff);
    SECTION("cancelled")
    {
        auto a = fsm.on_backoff(true, false, start_time);
        CHECK(a.end == attempt_end::backoff_cancelled);
        CHECK(a.release == slot_release::none);
    }
    SECTION("shut down") { CHECK(fsm.on_backoff(false, true, start_time).end == attempt_end::shut_down); }
    CHECK(fsm.attempts() == 1);
}

TEST_CASE("attempt: the jitter comes from the injected source", "[attempt][retry]")
{
    auto p = retries(2);
    p.jitter = 0.5;
    attempt_fsm low(p, 0ms, []() noexcept { return 0.0; });
    low.start(start_time);
    low.on_checkout({}, true, false, start_time);
    CHECK(low.on_connect(error::connect_failed, false, start_time).delay == 50ms);
    attempt_fsm high(p, 0ms, []() noexcept { return 0.999999; });
    high.start(start_time);
    high.on_checkout({}, true, false, start_time);
    CHECK(high.on_connect(error::connect_failed, false, start_time).delay == 150ms);
}

TEST_CASE("attempt: a shutdown that aborts the connect or the exchange ends the operation", "[attempt][shutdown]")
{
    const auto p = retries(3); // retries are on: the shutdown still ends it
    attempt_fsm fsm(p, 10s, &half);
    fsm.start(start_time);
    SECTION("connect")
    {
        fsm.on_checkout({}, true, false, start_time);
        auto a = fsm.on_connect(error::connect_failed, true, start_time);
        CHECK(a.step == attempt_step::complete);
        CHECK(a.end == attempt_end::shut_down);
        CHECK(a.release == slot_release::close);
    }
    SECTION("exchange on a reused connection: no stale-connection retry")
    {
        fsm.on_checkout({}, false, false, start_time);
        fsm.on_idle_check(false, start_time);
        auto a = fsm.on_exchange(failed_exchange(boost::asio::error::eof), false, true, start_time);
        CHECK(a.step == attempt_step::complete);
        CHECK(a.end == attempt_end::shut_down);
        CHECK(a.release == slot_release::close);
    }
    SECTION("a complete exchange during the shutdown is still the result")
    {
        fsm.on_checkout({}, true, false, start_time);
        fsm.on_connect({}, true, start_time);
        CHECK(fsm.on_exchange(ok_exchange(), false, true, start_time).step == attempt_step::interpret);
        auto a = fsm.on_interpret({}, 200, std::nullopt, start_time);
        CHECK(a.end == attempt_end::success);
        CHECK(a.release == slot_release::close); // not kept: the pool is shutting down
    }
}
