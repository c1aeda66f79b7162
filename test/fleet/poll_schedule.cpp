// When each server of a fleet is polled (I/O-free, time given by the test).

#include "fleet/poll_schedule.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using plexbutler::detail::poll_schedule;
using namespace std::chrono_literals;

namespace {

poll_schedule::options schedule_options()
{
    poll_schedule::options o;
    o.interval = 10s;
    o.backoff_initial = 1s;
    o.backoff_max = 60s;
    o.jitter = 0.2;
    return o;
}

const poll_schedule::time_point schedule_t0{std::chrono::hours{1000}};

} // namespace

TEST_CASE("poll schedule: the first polls of many servers are spread evenly over the interval", "[fleet][schedule]")
{
    for (std::uint64_t n : {7u, 100u, 1000u}) {
        poll_schedule s(schedule_options(), schedule_t0);
        for (std::uint64_t k = 0; k < n; ++k)
            s.add(k, schedule_t0);
        // Ten equal bins of the interval each get n/10 first polls, give or take a few.
        std::vector<std::size_t> bins(10);
        std::vector<std::uint64_t> due;
        s.take_due(schedule_t0 + 10s, due);
        CHECK(due.empty() == false);
        CHECK(due.size() == n);
        poll_schedule s2(schedule_options(), schedule_t0);
        for (std::uint64_t k = 0; k < n; ++k)
            s2.add(k, schedule_t0);
        for (int b = 0; b < 10; ++b) {
            std::vector<std::uint64_t> in_bin;
            s2.take_due(schedule_t0 + std::chrono::seconds{b + 1} - 1ns, in_bin);
            bins[static_cast<std::size_t>(b)] = in_bin.size();
        }
        auto [lo, hi] = std::minmax_element(bins.begin(), bins.end());
        INFO("n = " << n);
        if (n >= 100) {
            CHECK(*lo >= n / 10 - 3);
            CHECK(*hi <= n / 10 + 3);
        } else {
            CHECK(*hi <= 2);
        }
    }
}

TEST_CASE("poll schedule: a server that answers is polled again at its phase, one interval later", "[fleet][schedule]")
{
    poll_schedule s(schedule_options(), schedule_t0);
    s.add(1, schedule_t0);
    s.add(2, schedule_t0);
    auto phase2 = s.phase(1);
    CHECK(s.phase(0) == poll_schedule::duration{0});
    CHECK(phase2 > 5s);
    CHECK(phase2 < 7s);

    std::vector<std::uint64_t> due;
    s.take_due(schedule_t0, due);
    CHECK(due == std::vector<std::uint64_t>{1});
    REQUIRE(s.next_due());
    CHECK(*s.next_due() == schedule_t0 + phase2);

    // Completed 300 ms late: due again at t0 + 10 s, not at +10.3 s; no drift.
    CHECK(s.on_success(1, schedule_t0 + 300ms) == schedule_t0 + 10s);
    // A poll that took longer than the interval skips the missed slot instead of bursting.
    due.clear();
    s.take_due(schedule_t0 + phase2, due);
    CHECK(due == std::vector<std::uint64_t>{2});
    CHECK(s.on_success(2, schedule_t0 + phase2 + 12s) == schedule_t0 + phase2 + 20s);
    CHECK(s.size() == 2);
}

TEST_CASE("poll schedule: a failing server backs off exponentially with jitter, up to the maximum", "[fleet][schedule]")
{
    poll_schedule s(schedule_options(), schedule_t0);
    CHECK(s.backoff(1, 0.5) == 1s);
    CHECK(s.backoff(2, 0.5) == 2s);
    CHECK(s.backoff(3, 0.5) == 4s);
    CHECK(s.backoff(7, 0.5) == 60s);
    CHECK(s.backoff(60, 0.5) == 60s);
    CHECK(s.backoff(1, 0.0) == 800ms);
    CHECK(s.backoff(1, 0.999999) > 1199ms);
    CHECK(s.backoff(1, 0.999999) <= 1200ms);

    s.add(5, schedule_t0);
    std::vector<std::uint64_t> due;
    s.take_due(schedule_t0, due);
    REQUIRE(due.size() == 1);
    auto t = schedule_t0;
    std::vector<poll_schedule::duration> delays;
    for (int i = 0; i < 4; ++i) {
        auto next = s.on_failure(5, t, 0.5);
        REQUIRE(next);
        delays.push_back(*next - t);
        t = *next;
        due.clear();
        s.take_due(t, due);
        REQUIRE(due.size() == 1);
    }
    CHECK(delays == std::vector<poll_schedule::duration>{1s, 2s, 4s, 8s});
    // Recovery: back on its phase, and the next failure starts the backoff from the beginning.
    auto back = s.on_success(5, t);
    REQUIRE(back);
    CHECK((*back - schedule_t0) % 10s == poll_schedule::duration{0});
    due.clear();
    s.take_due(*back, due);
    CHECK(s.on_failure(5, *back, 0.5) == *back + 1s);
}

TEST_CASE("poll schedule: removal, unknown keys and realignment after a pause", "[fleet][schedule]")
{
    poll_schedule s(schedule_options(), schedule_t0);
    for (std::uint64_t k = 0; k < 10; ++k)
        s.add(k, schedule_t0);
    s.add(3, schedule_t0); // no-op
    CHECK(s.size() == 10);
    s.remove(3);
    s.remove(42);
    CHECK(s.size() == 9);
    CHECK_FALSE(s.contains(3));
    CHECK_FALSE(s.on_success(3, schedule_t0));
    CHECK_FALSE(s.on_failure(3, schedule_t0, 0.5));

    // A pause of a minute: without realignment every server would be due at once.
    auto later = schedule_t0 + 60s + 1ms;
    s.realign(later);
    std::vector<std::uint64_t> due;
    s.take_due(later, due);
    CHECK(due.size() <= 1);
    due.clear();
    s.take_due(later + 10s, due);
    CHECK(due.size() + 0 >= 8);
}
