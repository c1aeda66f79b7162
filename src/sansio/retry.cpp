#include "sansio/retry.hpp"
#include "util/ascii.hpp"

#include <plexbutler/error.hpp>

#include <algorithm>
#include <cmath>

namespace plexbutler::detail {

bool is_retryable(const retry_policy& policy, const attempt_result& r) noexcept
{
    if (r.http_status != 0)
        return std::find(policy.retry_statuses.begin(), policy.retry_statuses.end(), r.http_status) !=
               policy.retry_statuses.end();
    if (!policy.retry_connection_errors || r.ec.category() != butler_category())
        return false;
    auto e = static_cast<error>(r.ec.value());
    return e == error::connect_failed || e == error::connection_closed || e == error::timeout;
}

std::chrono::milliseconds backoff(const retry_policy& policy, unsigned attempts_made, double random_unit) noexcept
{
    const double cap = static_cast<double>(policy.max_interval.count());
    double base = static_cast<double>(policy.initial_interval.count());
    for (unsigned i = 1; i < attempts_made && base < cap; ++i)
        base *= policy.multiplier;
    base = std::min(base, cap);
    const double r = std::clamp(random_unit, 0.0, 1.0);
    double d = base * (1.0 + policy.jitter * (2.0 * r - 1.0));
    d = std::clamp(d, 0.0, cap);
    return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(d))};
}

retry_decision decide_retry(const retry_policy& policy, unsigned attempts_made, std::chrono::milliseconds elapsed,
                            const attempt_result& r, double random_unit) noexcept
{
    retry_decision d;
    if (attempts_made >= policy.max_attempts || !is_retryable(policy, r))
        return d;
    d.delay = backoff(policy, attempts_made, random_unit);
    if (r.retry_after) {
        auto ra = std::chrono::duration_cast<std::chrono::milliseconds>(*r.retry_after);
        d.delay = std::min(std::max(ra, d.delay), policy.max_interval);
    }
    if (elapsed + d.delay > policy.max_elapsed)
        return retry_decision{};
    d.retry = true;
    return d;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) noexcept
{
    value = trim_ows(value);
    if (value.empty() || value.size() > 9)
        return std::nullopt;
    std::int64_t n = 0;
    for (char ch : value) {
        if (ch < '0' || ch > '9')
            return std::nullopt;
        n = n * 10 + (ch - '0');
    }
    return std::chrono::seconds{n};
}

const char* validate_retry_policy(const retry_policy& policy) noexcept
{
    if (policy.max_attempts == 0)
        return "retry_policy.max_attempts must be at least 1";
    if (!(policy.multiplier >= 1.0) || !std::isfinite(policy.multiplier))
        return "retry_policy.multiplier must be a finite number >= 1";
    if (!(policy.jitter >= 0.0 && policy.jitter <= 1.0))
        return "retry_policy.jitter must be in [0, 1]";
    if (policy.initial_interval.count() < 0 || policy.max_interval.count() < 0 || policy.max_elapsed.count() < 0)
        return "retry_policy intervals must not be negative";
    return nullptr;
}

} // namespace plexbutler::detail
