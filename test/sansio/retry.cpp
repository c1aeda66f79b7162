// Unit tests of the I/O-free retry decisions; the random source is injected.
#include "sansio/retry.hpp"

#include <plexbutler/error.hpp>

#include <catch2/catch.hpp>

using namespace plexbutler;
using namespace plexbutler::detail;
using namespace std::chrono_literals;

namespace {
retry_policy enabled()
{
    retry_policy p;
    p.max_attempts = 5;
    p.initial_interval = 100ms;
    p.max_interval = 1000ms;
    p.multiplier = 2.0;
    p.jitter = 0.0;
    p.max_elapsed = 10s;
    return p;
}
} // namespace

TEST_CASE("retry is off by default", "[retry]")
{
    retry_policy p;
    attempt_result r{make_error_code(error::connection_closed), 0, {}};
    CHECK_FALSE(decide_retry(p, 1, 0ms, r, 0.5).retry);
}

TEST_CASE("retry backoff grows exponentially and is capped", "[retry]")
{
    auto p = enabled();
    CHECK(backoff(p, 1, 0.5) == 100ms);
    CHECK(backoff(p, 2, 0.5) == 200ms);
    CHECK(backoff(p, 3, 0.5) == 400ms);
    CHECK(backoff(p, 4, 0.5) == 800ms);
    CHECK(backoff(p, 5, 0.5) == 1000ms);
    CHECK(backoff(p, 40, 0.5) == 1000ms);
}

TEST_CASE("retry jitter uses the injected random value", "[retry]")
{
    auto p = enabled();
    p.jitter = 0.2;
    CHECK(backoff(p, 1, 0.0) == 80ms);
    CHECK(backoff(p, 1, 0.5) == 100ms);
    CHECK(backoff(p, 1, 1.0) == 120ms);
    p.jitter = 1.0;
    CHECK(backoff(p, 1, 0.0) == 0ms);
    CHECK(backoff(p, 5, 1.0) == 1000ms); // never above max_interval
}

TEST_CASE("retry decides on connection errors and listed statuses only", "[retry]")
{
    auto p = enabled();
    CHECK(decide_retry(p, 1, 0ms, {make_error_code(error::connect_failed), 0, {}}, 0.5).retry);
    CHECK(decide_retry(p, 1, 0ms, {make_error_code(error::timeout), 0, {}}, 0.5).retry);
    CHECK(decide_retry(p, 1, 0ms, {make_error_code(error::connection_closed), 0, {}}, 0.5).retry);
    CHECK_FALSE(decide_retry(p, 1, 0ms, {make_error_code(error::cancelled), 0, {}}, 0.5).retry);
    CHECK_FALSE(decide_retry(p, 1, 0ms, {make_error_code(error::certificate_verification_failed), 0, {}}, 0.5).retry);
    CHECK_FALSE(decide_retry(p, 1, 0ms, {make_error_code(error::json_decode_failed), 200, {}}, 0.5).retry);
    CHECK(decide_retry(p, 1, 0ms, {make_error_code(error::server_error), 503, {}}, 0.5).retry);
    CHECK(decide_retry(p, 1, 0ms, {make_error_code(error::unexpected_status), 429, {}}, 0.5).retry);
    CHECK_FALSE(decide_retry(p, 1, 0ms, {make_error_code(error::server_error), 500, {}}, 0.5).retry);
    CHECK_FALSE(decide_retry(p, 1, 0ms, {make_error_code(error::unauthorized), 401, {}}, 0.5).retry);
    p.retry_connection_errors = false;
    CHECK_FALSE(decide_retry(p, 1, 0ms, {make_error_code(error::connect_failed), 0, {}}, 0.5).retry);
}

TEST_CASE("retry stops at max_attempts and max_elapsed", "[retry]")
{
    auto p = enabled();
    attempt_result r{make_error_code(error::server_error), 503, {}};
    CHECK(decide_retry(p, 4, 0ms, r, 0.5).retry);
    CHECK_FALSE(decide_retry(p, 5, 0ms, r, 0.5).retry);
    CHECK(decide_retry(p, 1, 9900ms, r, 0.5).retry);       // 9900 + 100 <= 10000
    CHECK_FALSE(decide_retry(p, 1, 9901ms, r, 0.5).retry); // would start after max_elapsed
}

TEST_CASE("retry honours Retry-After capped by max_interval", "[retry]")
{
    auto p = enabled();
    attempt_result r{make_error_code(error::server_error), 503, std::chrono::seconds{0}};
    CHECK(decide_retry(p, 1, 0ms, r, 0.5).delay == 100ms); // never shorter than the backoff
    r.retry_after = 1s;
    p.max_interval = 5000ms;
    CHECK(decide_retry(p, 1, 0ms, r, 0.5).delay == 1000ms);
    r.retry_after = 3600s;
    CHECK(decide_retry(p, 1, 0ms, r, 0.5).delay == 5000ms);
}

TEST_CASE("Retry-After parsing", "[retry]")
{
    CHECK(parse_retry_after("120") == std::chrono::seconds{120});
    CHECK(parse_retry_after(" 0 ") == std::chrono::seconds{0});
    CHECK_FALSE(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"));
    CHECK_FALSE(parse_retry_after("-1"));
    CHECK_FALSE(parse_retry_after(""));
    CHECK_FALSE(parse_retry_after("99999999999999"));
}

TEST_CASE("retry policy validation", "[retry]")
{
    retry_policy p;
    CHECK(validate_retry_policy(p) == nullptr);
    p.max_attempts = 0;
    CHECK(validate_retry_policy(p) != nullptr);
    p = {};
    p.multiplier = 0.5;
    CHECK(validate_retry_policy(p) != nullptr);
    p = {};
    p.jitter = 1.5;
    CHECK(validate_retry_policy(p) != nullptr);
}
