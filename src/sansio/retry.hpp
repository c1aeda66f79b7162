#ifndef PLEXBUTLER_SANSIO_RETRY_HPP
#define PLEXBUTLER_SANSIO_RETRY_HPP

// I/O-free retry decisions: exponential backoff with jitter, Retry-After, limits.

#include <plexbutler/options.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace plexbutler::detail {

/// What one failed attempt produced.
struct attempt_result {
    boost::system::error_code ec;                    ///< The plexbutler error of the attempt.
    unsigned http_status = 0;                        ///< Status when a response was read, else 0.
    std::optional<std::chrono::seconds> retry_after; ///< Parsed `Retry-After`, if any.
};

/// Whether to try again, and after how long.
struct retry_decision {
    bool retry = false;                 ///< True: sleep `delay` then start another attempt.
    std::chrono::milliseconds delay{0}; ///< Backoff before the next attempt.
};

/// True when `policy` considers `r` worth another attempt (ignoring attempt and time limits).
bool is_retryable(const retry_policy& policy, const attempt_result& r) noexcept;

/// The backoff before attempt `attempts_made + 1`, with `random_unit` in [0, 1) picking the jitter.
std::chrono::milliseconds backoff(const retry_policy& policy, unsigned attempts_made, double random_unit) noexcept;

/// Decides whether to retry after `attempts_made` attempts took `elapsed` in total and the last produced `r`.
/// `random_unit` in [0, 1) is the injected random source for the jitter.
retry_decision decide_retry(const retry_policy& policy, unsigned attempts_made, std::chrono::milliseconds elapsed,
                            const attempt_result& r, double random_unit) noexcept;

/// Parses `Retry-After` in its delta-seconds form; HTTP dates and garbage give nullopt.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) noexcept;

/// Validates a policy; returns a message naming the problem, or nullptr.
const char* validate_retry_policy(const retry_policy& policy) noexcept;

} // namespace plexbutler::detail

#endif
