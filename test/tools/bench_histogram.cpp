// The latency histogram of plexbutler-bench: bucket layout and percentile accuracy.

#include "latency_histogram.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using plexbutler::bench::latency_histogram;

TEST_CASE("histogram buckets are contiguous and every value lies in its own bucket", "[bench][histogram]")
{
    std::size_t previous = 0;
    for (std::uint64_t v = 0; v <= latency_histogram::max_trackable_us; v = v < 4096 ? v + 1 : v + v / 300) {
        const std::size_t i = latency_histogram::index_of(v);
        REQUIRE(i < latency_histogram::bucket_count);
        REQUIRE(latency_histogram::lowest_of(i) <= v);
        REQUIRE(v <= latency_histogram::highest_of(i));
        REQUIRE(i >= previous);
        REQUIRE(i - previous <= 1);
        previous = i;
    }
    CHECK(latency_histogram::index_of(latency_histogram::max_trackable_us) == latency_histogram::bucket_count - 1);
    CHECK(latency_histogram::index_of(latency_histogram::max_trackable_us * 10) == latency_histogram::bucket_count - 1);
}

TEST_CASE("histogram bucket width is at most 1/128 of its value above 256 us", "[bench][histogram]")
{
    for (std::size_t i = 256; i < latency_histogram::bucket_count; ++i) {
        const auto lo = latency_histogram::lowest_of(i);
        const auto width = latency_histogram::highest_of(i) - lo + 1;
        REQUIRE(width * 128 <= lo);
        REQUIRE(latency_histogram::highest_of(i - 1) + 1 == lo);
    }
}

TEST_CASE("histogram percentiles are within 1% of the exact ones", "[bench][histogram]")
{
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> dist(7.0, 1.2); // median ~1.1 ms, long tail
    std::vector<std::uint64_t> values;
    latency_histogram h;
    for (int i = 0; i < 200000; ++i) {
        const auto v = static_cast<std::uint64_t>(dist(rng));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    REQUIRE(h.count() == values.size());
    CHECK(h.max() == values.back());
    for (const double p : {1.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
        const auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(values.size()) + 0.999999);
        const auto exact = static_cast<double>(values[std::max<std::size_t>(rank, 1) - 1]);
        const auto got = static_cast<double>(h.percentile(p));
        INFO("p" << p << ": exact " << exact << " histogram " << got);
        CHECK(got >= exact);
        CHECK(got <= exact * 1.01 + 1.0);
    }
}

TEST_CASE("histogram records from several threads without losing samples", "[bench][histogram]")
{
    latency_histogram h;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&h, t] {
            for (std::uint64_t i = 0; i < 50000; ++i)
                h.record(i % 1000 + static_cast<std::uint64_t>(t));
        });
    for (auto& t : threads)
        t.join();
    CHECK(h.count() == 200000);
    CHECK(h.max() == 1002);
    CHECK(h.percentile(0.0001) == 0);
    CHECK(latency_histogram{}.percentile(50) == 0);
}
