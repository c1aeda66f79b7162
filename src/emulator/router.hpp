#ifndef PLEXBUTLER_EMULATOR_ROUTER_HPP
#define PLEXBUTLER_EMULATOR_ROUTER_HPP

// Request -> response for the emulator: authentication, the emulated failure rate, content
// negotiation and the Butler semantics. No sockets and no clock: the session hands in the
// parsed request and the time, and gets back bytes to write. Unit-tested without I/O.
//
// One router is one emulated server's state. What does not depend on that state is shared by
// every router of a process: the constant responses (`canned_set`) and, until a server's task
// list is changed, the rendered catalogue (`catalogue_bodies`). A fleet of 10,000 routers so
// holds one copy of the bodies, and a router builds its scheduler only when a request needs it.

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
#include <memory>
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
    bool latency_applies = true;      ///< False for the emulator's own endpoints and for 405s on them.
    std::shared_ptr<const void> keep; ///< Keeps `bytes` alive until written (the catalogue may change meanwhile).
};

/// Why a request could not be parsed.
enum class malformed { bad_request, body_too_large, header_too_large };

/// Quality of `type` in an Accept header value: -1 when not listed.
double accept_quality(std::string_view header, std::string_view type);
/// JSON only when asked for explicitly in `Accept` or `accepts` (as PMS: `*/*` gets XML).
bool wants_json(std::string_view accept, std::string_view accepts);

/// The responses that are the same for every emulated server.
struct canned_set {
    canned_set();
    canned ok, already_running, not_found, unauthorized, unavailable;
    canned bad_request, too_large, header_too_large;
    canned allow_list, allow_task, allow_state;
};
/// The process' one `canned_set`, made on first use.
std::shared_ptr<const canned_set> shared_canned_set();

/// A task catalogue and its `GET /butler` responses, rendered once.
struct catalogue_bodies {
    explicit catalogue_bodies(std::vector<butler_task> catalogue);
    std::vector<butler_task> tasks;
    std::string json_body;
    std::string xml_body;
    canned list_json, list_xml;
};

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
    /// Shares `catalogue` and `responses`; the scheduler is built from `sched` on first need.
    router(options opts, std::shared_ptr<const catalogue_bodies> catalogue, std::shared_ptr<const canned_set> responses,
           scheduler::options sched);

    /// The response to `req` at `now`. Dynamic bodies are rendered into `scratch`.
    answer handle(const request_view& req, bool must_close, clock::time_point now, std::string& scratch);
    /// The response to a request that could not be parsed (always the close variant).
    answer reject(malformed why);

    /// Moves the scheduler to `now` (its timer fired) and reports the next event.
    void advance(clock::time_point now);
    /// Replaces the hook; an empty hook detaches it (when this returns, the old one is not running).
    void set_schedule_hook(schedule_hook hook);

    /// Answers that fraction of Butler requests 503 from now on.
    void set_fail_rate(double rate) noexcept { fail_rate_.store(rate, std::memory_order_relaxed); }
    double fail_rate() const noexcept { return fail_rate_.load(std::memory_order_relaxed); }
    /// While set, every request is answered 401 as if its token were wrong.
    void set_refuse_all(bool refuse) noexcept { refuse_all_.store(refuse, std::memory_order_relaxed); }
    bool refuse_all() const noexcept { return refuse_all_.load(std::memory_order_relaxed); }

    /// The token every request needs, if any.
    const std::optional<std::string>& token() const noexcept { return opts_.token; }
    /// The current catalogue.
    std::vector<butler_task> tasks() const;
    /// Lets `edit` change a copy of the catalogue, then serves it: tasks that keep their name keep
    /// their state. When `edit` returns false nothing changes (and false is returned). Throws
    /// std::invalid_argument (and changes nothing) on a task without a name or a duplicate name;
    /// whatever `edit` throws propagates, also without a change. `edit` runs with the lock held.
    bool modify_tasks(const std::function<bool(std::vector<butler_task>&)>& edit);
    /// The state of every task at `now`.
    std::vector<task_status> task_states(clock::time_point now);

    std::uint64_t requests_served() const noexcept { return served_.load(std::memory_order_relaxed); }
    /// The bodies of the catalogue served when the router was made or last changed (valid until it changes).
    const std::string& json_body() const { return bodies()->json_body; }
    const std::string& xml_body() const { return bodies()->xml_body; }

private:
    answer butler(const request_view& req, std::string_view task, bool is_list, bool must_close, clock::time_point now);
    bool authorised(const request_view& req, const boost::urls::url_view& u) const;
    bool draw_failure() noexcept;
    scheduler& sched();      // with mutex_ held: built on first use
    void schedule_changed(); // with mutex_ held

    options opts_;
    std::shared_ptr<const canned_set> canned_;
    std::atomic<std::uint64_t> served_{0};
    std::atomic<std::uint64_t> draws_{0};
    std::atomic<double> fail_rate_;
    std::atomic<bool> refuse_all_{false};

    std::shared_ptr<const catalogue_bodies> bodies() const; // a copy of catalogue_, taken with mutex_ held

    // Not std::atomic<std::shared_ptr>: libstdc++ 12 releases its lock with a relaxed store in
    // load(), a data race ThreadSanitizer reports.
    mutable std::mutex mutex_; // guards catalogue_, sched_, sched_options_ and hook_
    std::shared_ptr<const catalogue_bodies> catalogue_;
    std::optional<scheduler> sched_;
    scheduler::options sched_options_;
    schedule_hook hook_;
};

} // namespace plexbutler::emulator::detail

#endif
