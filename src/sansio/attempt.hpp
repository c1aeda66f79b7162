#ifndef PLEXBUTLER_SANSIO_ATTEMPT_HPP
#define PLEXBUTLER_SANSIO_ATTEMPT_HPP

// I/O-free state machine of one Butler operation: its attempts, and within each attempt the
// steps get a connection, maybe connect, maybe check an idle connection, exchange (write +
// read), interpret, release; then retry or finish. The driver coroutine (client/pool_client.hpp)
// performs the action it is given and feeds the outcome back; every decision is made here.

#include <plexbutler/options.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace plexbutler::detail {

/// Time points of the pool and the attempts (a manual clock in tests uses the same type).
using attempt_time = std::chrono::steady_clock::time_point;

/// What the driver does next.
enum class attempt_step : std::uint8_t {
    checkout,   ///< Get a connection from the pool by `deadline` (the pool may queue the caller).
    connect,    ///< Open the connection of the leased slot by `deadline`.
    check_idle, ///< Tell whether the reused connection received bytes while it idled.
    exchange,   ///< Write the request and read the response by `deadline` (never when `timeout` is 0).
    interpret,  ///< Turn the response into a result (status, content type, JSON).
    backoff,    ///< Sleep `delay`, then report whether the caller cancelled or the client shut down.
    complete,   ///< Finish the operation with `result`.
};

/// What the driver does with the leased slot before `step`.
enum class slot_release : std::uint8_t {
    none,  ///< Keep it (or there is none).
    reuse, ///< Give it back for reuse by the next request.
    close, ///< Give it back and close its connection.
};

/// Why the driver logs something at this step (the state machine does not log).
enum class attempt_note : std::uint8_t {
    none,
    unsolicited_bytes, ///< An idle connection received bytes nobody asked for: discarded, checkout again.
    stale_connection,  ///< A reused connection was closed by the server before any byte: retry on a new one.
    retry_backoff,     ///< The attempt failed and the policy retries after `delay`.
};

/// How the operation ends (meaningful for `attempt_step::complete`).
enum class attempt_end : std::uint8_t {
    success,           ///< The interpreted response is the result.
    last_failure,      ///< The failure the driver recorded for the last attempt is the result.
    cancelled,         ///< Cancelled by the caller after a connection was leased ("cancelled").
    backoff_cancelled, ///< Cancelled during the retry backoff.
    shut_down,         ///< The client shut down during the retry backoff.
};

/// The next action.
struct attempt_action {
    attempt_step step = attempt_step::complete;
    slot_release release = slot_release::none; ///< Done by the driver before `step`.
    attempt_note note = attempt_note::none;
    bool counts_as_retry = false;                ///< The action starts a retry (pool_stats::requests_retried).
    attempt_time deadline = attempt_time::max(); ///< checkout, connect, exchange: when the attempt times out.
    std::chrono::milliseconds delay{0};          ///< backoff: how long.
    attempt_end end = attempt_end::success;      ///< complete: how it ends.
};

/// What an exchange produced.
struct exchange_outcome {
    boost::system::error_code ec; ///< Transport or parser error of the write or the read.
    bool got_some = false;        ///< Some response bytes were parsed before `ec`.
    bool keep_alive = false;      ///< The complete response allows keep-alive.
    unsigned version = 11;        ///< HTTP version of the response (10 or 11).
    std::size_t leftover = 0;     ///< Bytes read beyond the response.
};

/// The attempts of one operation. Single-use; not synchronised (it lives in the operation's frame).
class attempt_fsm {
public:
    /// Returns a number in [0, 1): the jitter of the retry backoff.
    using random_source = double (*)() noexcept;

    /// @param policy retries (validated by the caller; must outlive the machine);
    /// @param timeout per attempt, 0 = none; @param random the backoff jitter source.
    attempt_fsm(const retry_policy& policy, std::chrono::milliseconds timeout, random_source random) noexcept
        : policy_(&policy), timeout_(timeout), random_(random)
    {
    }

    /// The first action (a checkout).
    attempt_action start(attempt_time now) noexcept;

    /// The checkout ended: `ec` (error::timeout, cancelled, too_many_waiters, client_shut_down) or a
    /// slot that `needs_connect` (empty) or holds a reusable connection. `cancelled`: the caller's
    /// cancellation state, asked after the checkout.
    attempt_action on_checkout(boost::system::error_code ec, bool needs_connect, bool cancelled,
                               attempt_time now) noexcept;

    /// The connect step ended with `ec` (a plexbutler error) or success. `shut_down`: the client
    /// is shutting down (a failure is then its doing: no retry).
    attempt_action on_connect(boost::system::error_code ec, bool shut_down, attempt_time now) noexcept;

    /// `unsolicited`: the idle connection has bytes (or an error) waiting.
    attempt_action on_idle_check(bool unsolicited, attempt_time now) noexcept;

    /// The exchange ended. `cancelled` is the caller's cancellation state, asked when `o.ec` is set;
    /// `shut_down` whether the client is shutting down (it aborts the I/O in flight: a failure is
    /// then its doing, with no stale-connection retry and no retry).
    attempt_action on_exchange(const exchange_outcome& o, bool cancelled, bool shut_down, attempt_time now) noexcept;

    /// The response was interpreted: `ec` is empty on success. `status` is the HTTP status read,
    /// `retry_after` its parsed `Retry-After`.
    attempt_action on_interpret(boost::system::error_code ec, unsigned status,
                                std::optional<std::chrono::seconds> retry_after, attempt_time now) noexcept;

    /// The backoff sleep ended; `cancelled`: by the caller (or its timer was aborted).
    attempt_action on_backoff(bool cancelled, bool shut_down, attempt_time now) noexcept;

    /// Attempts started so far.
    unsigned attempts() const noexcept { return attempts_; }

    /// The deadline of the current attempt.
    attempt_time deadline() const noexcept { return deadline_; }

    /// True when the connection of this attempt was reused from the pool.
    bool reused() const noexcept { return reused_; }

private:
    enum class state : std::uint8_t { idle, checkout, connect, check_idle, exchange, interpret, backoff, done };

    attempt_action begin_attempt(attempt_time now, bool counts_as_retry) noexcept;
    attempt_action checkout(attempt_note note, bool counts_as_retry) noexcept;
    attempt_action exchange() noexcept;
    attempt_action finish_attempt(boost::system::error_code ec, unsigned status,
                                  std::optional<std::chrono::seconds> retry_after, slot_release release,
                                  attempt_time now) noexcept;
    attempt_action complete(attempt_end e, slot_release release) noexcept;

    const retry_policy* policy_;
    std::chrono::milliseconds timeout_;
    random_source random_;
    state state_ = state::idle;
    unsigned attempts_ = 0;
    attempt_time start_{};
    attempt_time deadline_ = attempt_time::max();
    bool reused_ = false;
    bool stale_retried_ = false;
    bool reusable_ = false;
};

} // namespace plexbutler::detail

#endif
