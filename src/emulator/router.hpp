#ifndef PLEXBUTLER_EMULATOR_ROUTER_HPP
#define PLEXBUTLER_EMULATOR_ROUTER_HPP

// Request -> response for the emulator: authentication, the emulated failure rate, content
// negotiation and the Butler semantics. No sockets and no clock: the session hands in the
// parsed request and the time, and gets back bytes to write. Unit-tested without I/O.

#include "emulator/render.hpp"

#include <plexbutler/emulator/maintenance_window.hpp>
#include <plexbutler/emulator/scheduler.hpp>
#include <plexbutler/models.hpp>

#include <boost/beast/http/verb.hpp>
#include <boost/url/url_view.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::emulator::detail {

/// The parts of a request the emulator looks at.
struct request_view {
    boost::beast::http::verb method = boost::beast::http::verb::unknown;
    std::string_view target;               ///< Origin-form target, with its query.
    std::optional<std::string_view> token; ///< The `X-Plex-Token` header, when sent.
    std::string_view accept;               ///< The `Accept` header ("" when absent).
    std::string_view accepts;              ///< The 1.1.1 document's `accepts` header ("" when absent).
};

/// The response to one request: bytes owned by the router (or by the caller's scratch string).
struct answer {
    const std::string* bytes = nullptr;
    unsigned status = 0;
    bool latency_applies = true; ///< False for the emulator's own endpoints and for 405s on them.
};

/// Why a request could not be parsed.
enum class malformed { bad_request, body_too_large, header_too_large };

/// Quality of `type` in an Accept header value: -1 when not listed.
double accept_quality(std::string_view header, std::string_view type);
/// JSON only when asked for explicitly in `Accept` or `accepts` (as PMS: `*/*` gets XML).
bool wants_json(std::string_view accept, std::string_view accepts);

/// Thread-safe: any number of sessions may call it at once (the scheduler is behind a mutex).
class router {
public:
    using clock = std::chrono::system_clock;
    /// Told, with the router's lock held, when the next scheduler event may have moved;
    /// nullopt when nothing is pending.
    using schedule_hook = std::function<void(std::optional<clock::time_point> next_event)>;

    struct options {
        std::optional<std::string> token; ///< When set, the token every request needs.
        double fail_rate = 0.0;           ///< Fraction of Butler requests answered 503.
        std::uint64_t seed = 0;           ///< Seed of the fail-rate draws.
        maintenance_window window;        ///< Reported by the state endpoint.
    };

    /// `catalogue` is rendered once here: the list body does not depend on task state.
    router(options opts, const std::vector<butler_task>& catalogue, scheduler sched);

    /// The response to `req` at `now`. Dynamic bodies are rendered into `scratch`.
    answer handle(const request_view& req, bool must_close, clock::time_point now, std::string& scratch);
    /// The response to a request that could not be parsed (always the close variant).
    answer reject(malformed why);

    /// Moves the scheduler to `now` (its timer fired) and reports the next event.
    void advance(clock::time_point now);
    /// Replaces the hook; an empty hook detaches it (when this returns, the old one is not running).
    void set_schedule_hook(schedule_hook hook);

    std::uint64_t requests_served() const noexcept { return served_.load(std::memory_order_relaxed); }
    const std::string& json_body() const noexcept { return json_body_; }
    const std::string& xml_body() const noexcept { return xml_body_; }

private:
    answer butler(const request_view& req, std::string_view task, bool is_list, bool must_close, clock::time_point now);
    bool authorised(const request_view& req, const boost::urls::url_view& u) const;
    bool draw_failure() noexcept;
    void schedule_changed(); // with mutex_ held

    options opts_;
    std::string json_body_;
    std::string xml_body_;
    canned list_json_, list_xml_, ok_, already_running_, not_found_, unauthorized_, unavailable_;
    canned bad_request_, too_large_, header_too_large_;
    canned allow_list_, allow_task_, allow_state_;
    std::atomic<std::uint64_t> served_{0};
    std::atomic<std::uint64_t> draws_{0};

    std::mutex mutex_; // guards sched_ and hook_
    scheduler sched_;
    schedule_hook hook_;
};

} // namespace plexbutler::emulator::detail

#endif
