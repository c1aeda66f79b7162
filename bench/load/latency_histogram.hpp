#ifndef PLEXBUTLER_BENCH_LATENCY_HISTOGRAM_HPP
#define PLEXBUTLER_BENCH_LATENCY_HISTOGRAM_HPP

/// @file latency_histogram.hpp
/// @brief A fixed-size, lock-free, log-linear latency histogram (HDR-histogram style).

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace plexbutler::bench {

/// @brief Records latencies in microseconds into 128 linear sub-buckets per power of two.
///
/// Values below 256 µs are exact (1 µs buckets); above, a bucket spans at most
/// 1/128 of its value, so every reported percentile is within 0.8% of the true
/// one. Values from 0 to 2^26 µs (about 67 s) are distinguished; larger ones land in
/// the last bucket (the exact maximum is kept separately). Memory is fixed
/// (about 20 KiB), whatever the number of samples.
///
/// **Thread safety:** `record` may be called concurrently from any number of
/// threads (relaxed atomics); the read functions give a consistent result once
/// the recording threads have been joined or synchronised with.
class latency_histogram {
public:
    /// @brief Linear sub-buckets per power of two: the relative precision is 1/half_count.
    static constexpr unsigned sub_bucket_bits = 8;
    /// @brief Number of values below which buckets are 1 µs wide.
    static constexpr std::uint64_t sub_bucket_count = std::uint64_t{1} << sub_bucket_bits;
    /// @brief Half of `sub_bucket_count`: the sub-buckets of each higher power of two.
    static constexpr std::uint64_t half_count = sub_bucket_count / 2;
    /// @brief Largest distinguished value in µs.
    static constexpr std::uint64_t max_trackable_us = (std::uint64_t{1} << 26) - 1;
    /// @brief Number of buckets.
    static constexpr std::size_t bucket_count =
        static_cast<std::size_t>(half_count * (std::bit_width(max_trackable_us) - sub_bucket_bits + 1) + half_count);

    /// @brief The bucket index of a value in µs (values above the range are clamped).
    static constexpr std::size_t index_of(std::uint64_t us) noexcept
    {
        if (us > max_trackable_us)
            us = max_trackable_us;
        if (us < sub_bucket_count)
            return static_cast<std::size_t>(us);
        const unsigned shift = static_cast<unsigned>(std::bit_width(us)) - sub_bucket_bits;
        return static_cast<std::size_t>(half_count * shift + (us >> shift));
    }

    /// @brief The smallest value in µs that falls into bucket `index`.
    static constexpr std::uint64_t lowest_of(std::size_t index) noexcept
    {
        if (index < sub_bucket_count)
            return index;
        const std::uint64_t shift = index / half_count - 1;
        const std::uint64_t sub = index % half_count + half_count;
        return sub << shift;
    }

    /// @brief The largest value in µs that falls into bucket `index`.
    static constexpr std::uint64_t highest_of(std::size_t index) noexcept
    {
        if (index < sub_bucket_count)
            return index;
        const std::uint64_t shift = index / half_count - 1;
        return lowest_of(index) + (std::uint64_t{1} << shift) - 1;
    }

    /// @brief Records one latency in µs.
    void record(std::uint64_t us) noexcept
    {
        buckets_[index_of(us)].fetch_add(1, std::memory_order_relaxed);
        std::uint64_t seen = max_.load(std::memory_order_relaxed);
        while (us > seen && !max_.compare_exchange_weak(seen, us, std::memory_order_relaxed)) {
        }
    }

    /// @brief Number of recorded values.
    std::uint64_t count() const noexcept
    {
        std::uint64_t n = 0;
        for (const auto& b : buckets_)
            n += b.load(std::memory_order_relaxed);
        return n;
    }

    /// @brief The exact largest recorded value in µs (0 when empty).
    std::uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }

    /// @brief The value at `percentile` (0..100] in µs: the highest value of the
    /// bucket holding the ceil(p% * count)-th smallest sample, capped by `max()`. 0 when empty.
    std::uint64_t percentile(double p) const noexcept
    {
        const std::uint64_t total = count();
        if (total == 0)
            return 0;
        auto rank = static_cast<std::uint64_t>(p / 100.0 * static_cast<double>(total) + 0.999999);
        if (rank < 1)
            rank = 1;
        if (rank > total)
            rank = total;
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets_.size(); ++i) {
            seen += buckets_[i].load(std::memory_order_relaxed);
            if (seen >= rank) {
                const std::uint64_t hi = highest_of(i);
                return hi < max() ? hi : max();
            }
        }
        return max();
    }

private:
    std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
    std::atomic<std::uint64_t> max_{0};
};

} // namespace plexbutler::bench

#endif
