#include "emulator/router.hpp"

#include "emulator/splitmix.hpp"
#include "util/ascii.hpp"

#include <boost/url/parse.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <exception>
#include <stdexcept>

namespace plexbutler::emulator::detail {

namespace http = boost::beast::http;

double accept_quality(std::string_view header, std::string_view type)
{
    double best = -1;
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        const auto semi = item.find(';');
        const std::string_view media = plexbutler::detail::trim_ows(item.substr(0, semi));
        if (!plexbutler::detail::iequals(media, type))
            continue;
        double q = 1.0;
        std::string_view params = semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
        while (!params.empty()) {
            const auto next = params.find(';');
            const std::string_view p = plexbutler::detail::trim_ows(params.substr(0, next));
            params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
            if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                // from_chars, not stod: the decimal point must not depend on the locale
                const auto v = p.substr(2);
                double parsed = 0;
                const auto res = std::from_chars(v.data(), v.data() + v.size(), parsed);
                q = res.ec == std::errc{} ? parsed : 0;
            }
        }
        best = std::max(best, q);
    }
    return best;
}

bool wants_json(std::string_view accept, std::string_view accepts)
{
    for (std::string_view h : {accept, accepts}) {
        if (h.empty())
            continue;
        const double j = accept_quality(h, json_type);
        if (j > 0 && j >= accept_quality(h, xml_type))
            return true;
    }
    return false;
}

canned_set::canned_set()
    : ok(200, html_type, ""), already_running(202, html_type, ""), not_found(404, html_type, html_page(404)),
      unauthorized(401, json_type, plex_error_body(1001, "User could not be authenticated", 401)),
      unavailable(503, json_type, plex_error_body(503, "Service temporarily unavailable (emulated failure)", 503),
                  "Retry-After: 1\r\n"),
      bad_request(400, html_type, html_page(400)), too_large(413, html_type, html_page(413)),
      header_too_large(431, html_type, html_page(431)),
      allow_list(405, html_type, html_page(405), "Allow: GET, POST, DELETE\r\n"),
      allow_task(405, html_type, html_page(405), "Allow: POST, DELETE\r\n"),
      allow_state(405, html_type, html_page(405), "Allow: GET\r\n")
{
}

std::shared_ptr<const canned_set> shared_canned_set()
{
    static const auto set = std::make_shared<const canned_set>();
    return set;
}

catalogue_bodies::catalogue_bodies(std::vector<butler_task> catalogue)
    : tasks(std::move(catalogue)), json_body(render_task_list_json(tasks)), xml_body(render_task_list_xml(tasks)),
      list_json(200, "application/json; charset=utf-8", json_body),
      list_xml(200, "application/xml; charset=utf-8", xml_body)
{
}

router::router(options opts, const std::vector<butler_task>& catalogue, scheduler sched)
    : router(std::move(opts), std::make_shared<const catalogue_bodies>(catalogue), shared_canned_set(), {})
{
    sched_.emplace(std::move(sched));
}

router::router(options opts, std::shared_ptr<const catalogue_bodies> catalogue,
               std::shared_ptr<const canned_set> responses, scheduler::options sched)
    : opts_(std::move(opts)), canned_(std::move(responses)), fail_rate_(opts_.fail_rate),
      catalogue_(std::move(catalogue)), sched_options_(std::move(sched))
{
}

scheduler& router::sched()
{
    if (!sched_)
        sched_.emplace(catalogue_->tasks, sched_options_);
    return *sched_;
}

std::shared_ptr<const catalogue_bodies> router::bodies() const
{
    std::lock_guard lock(mutex_);
    return catalogue_;
}

std::vector<butler_task> router::tasks() const { return bodies()->tasks; }

bool router::modify_tasks(const std::function<bool(std::vector<butler_task>&)>& edit)
{
    std::lock_guard lock(mutex_);
    auto next = catalogue_->tasks;
    if (!edit(next))
        return false;
    for (auto it = next.begin(); it != next.end(); ++it) {
        if (!it->name || it->name->empty())
            throw std::invalid_argument("every task in the catalogue needs a name");
        if (std::any_of(next.begin(), it, [&](const butler_task& t) { return t.name == it->name; }))
            throw std::invalid_argument("duplicate task name in the catalogue: " + *it->name);
    }
    auto fresh = std::make_shared<const catalogue_bodies>(std::move(next));
    if (sched_)
        sched_->set_tasks(fresh->tasks);
    catalogue_ = std::move(fresh);
    schedule_changed();
    return true;
}

std::vector<task_status> router::task_states(clock::time_point now)
{
    std::lock_guard lock(mutex_);
    auto& s = sched();
    s.advance(now);
    schedule_changed();
    return s.snapshot();
}

void router::set_schedule_hook(schedule_hook hook)
{
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
}

void router::schedule_changed()
{
    if (hook_ && sched_)
        hook_(sched_->next_event());
}

void router::advance(clock::time_point now)
{
    std::lock_guard lock(mutex_);
    sched().advance(now);
    schedule_changed();
}

bool router::draw_failure() noexcept
{
    const auto n = draws_.fetch_add(1, std::memory_order_relaxed);
    const double r = static_cast<double>(splitmix64(opts_.seed ^ splitmix64(n)) >> 11) * 0x1.0p-53;
    return r < fail_rate_.load(std::memory_order_relaxed);
}

bool router::authorised(const request_view& req, const boost::urls::url_view& u) const
{
    if (refuse_all())
        return false;
    if (!opts_.token)
        return true;
    const std::string& token = *opts_.token;
    auto matches = [&token](std::string_view given) {
        // Constant time in the token's content; only its length can leak.
        return given.size() == token.size() && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
    };
    if (req.token && matches(*req.token))
        return true;
    if (u.has_query()) {
        for (auto p : u.params())
            if (p.key == "X-Plex-Token" && matches(p.value))
                return true;
    }
    return false;
}

answer router::reject(malformed why)
{
    served_.fetch_add(1, std::memory_order_relaxed);
    const canned& c = why == malformed::header_too_large ? canned_->header_too_large
                      : why == malformed::body_too_large ? canned_->too_large
                                                         : canned_->bad_request;
    return {&c.close, c.status, false, {}}; // sent at once: the connection is closing
}

answer router::handle(const request_view& req, bool must_close, clock::time_point now, std::string& scratch)
{
    served_.fetch_add(1, std::memory_order_relaxed);
    auto use = [&](const canned& c, bool latency = true) { return answer{&c.get(must_close), c.status, latency, {}}; };

    const auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed)
        return use(canned_->bad_request);
    const boost::urls::url_view& u = *parsed;

    const auto path = u.encoded_path();
    const bool is_emulator = path.starts_with("/_emulator");

    if (!is_emulator && fail_rate() > 0.0 && draw_failure())
        return use(canned_->unavailable);
    if (!authorised(req, u))
        return use(canned_->unauthorized);

    if (path == "/butler" || path == "/butler/")
        return butler(req, {}, true, must_close, now);

    // Split into decoded segments, ignoring one trailing slash.
    std::vector<std::string> parts;
    for (auto s : u.encoded_segments())
        parts.push_back(s.decode());
    if (!parts.empty() && parts.back().empty() && parts.size() > 1)
        parts.pop_back();

    if (parts.size() == 2 && parts[0] == "butler" && !parts[1].empty())
        return butler(req, parts[1], false, must_close, now);
    if (parts.size() == 2 && parts[0] == "_emulator" && parts[1] == "state") {
        if (req.method != http::verb::get)
            return use(canned_->allow_state, false);
        state_report state;
        {
            std::lock_guard lock(mutex_);
            auto& s = sched();
            s.advance(now);
            state.in_window = s.in_window(now);
            state.tasks = s.snapshot();
        }
        state.now = now;
        state.window = opts_.window;
        state.requests_served = requests_served();
        render_response(scratch, 200, json_type, render_state(state), must_close, "Cache-Control: no-store\r\n");
        return {&scratch, 200, false, {}};
    }
    return use(canned_->not_found);
}

answer router::butler(const request_view& req, std::string_view task, bool is_list, bool must_close,
                      clock::time_point now)
{
    const canned_set& c = *canned_;
    auto use = [&](const canned& r) { return answer{&r.get(must_close), r.status, true, {}}; };
    if (is_list) {
        switch (req.method) {
        case http::verb::get: {
            auto current = bodies();
            const canned& r = wants_json(req.accept, req.accepts) ? current->list_json : current->list_xml;
            return answer{&r.get(must_close), r.status, true, std::move(current)};
        }
        case http::verb::post: {
            std::lock_guard lock(mutex_);
            sched().start_all(now);
            schedule_changed();
            return use(c.ok);
        }
        case http::verb::delete_: {
            std::lock_guard lock(mutex_);
            sched().stop_all(now);
            schedule_changed();
            return use(c.ok);
        }
        default: return use(c.allow_list);
        }
    }
    switch (req.method) {
    case http::verb::post: {
        std::lock_guard lock(mutex_);
        const auto r = sched().start(task, now);
        schedule_changed();
        if (r == start_outcome::unknown_task)
            return use(c.not_found);
        if (r == start_outcome::already_running)
            return use(c.already_running);
        return use(c.ok);
    }
    case http::verb::delete_: {
        std::lock_guard lock(mutex_);
        const auto r = sched().stop(task, now);
        schedule_changed();
        if (r == stop_outcome::stopped || r == stop_outcome::unscheduled)
            return use(c.ok);
        return use(c.not_found);
    }
    default: return use(c.allow_task);
    }
}

} // namespace plexbutler::emulator::detail
