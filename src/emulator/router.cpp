#include "emulator/router.hpp"

#include "emulator/splitmix.hpp"
#include "util/ascii.hpp"

#include <boost/url/parse.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <exception>

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

router::router(options opts, const std::vector<butler_task>& catalogue, scheduler sched)
    : opts_(std::move(opts)), json_body_(render_task_list_json(catalogue)), xml_body_(render_task_list_xml(catalogue)),
      sched_(std::move(sched))
{
    list_json_ = canned(200, "application/json; charset=utf-8", json_body_);
    list_xml_ = canned(200, "application/xml; charset=utf-8", xml_body_);
    ok_ = canned(200, html_type, "");
    already_running_ = canned(202, html_type, "");
    not_found_ = canned(404, html_type, html_page(404));
    unauthorized_ = canned(401, json_type, plex_error_body(1001, "User could not be authenticated", 401));
    unavailable_ =
        canned(503, json_type, plex_error_body(503, "Service temporarily unavailable (emulated failure)", 503),
               "Retry-After: 1\r\n");
    bad_request_ = canned(400, html_type, html_page(400));
    too_large_ = canned(413, html_type, html_page(413));
    header_too_large_ = canned(431, html_type, html_page(431));
    allow_list_ = canned(405, html_type, html_page(405), "Allow: GET, POST, DELETE\r\n");
    allow_task_ = canned(405, html_type, html_page(405), "Allow: POST, DELETE\r\n");
    allow_state_ = canned(405, html_type, html_page(405), "Allow: GET\r\n");
}

void router::set_schedule_hook(schedule_hook hook)
{
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
}

void router::schedule_changed()
{
    if (hook_)
        hook_(sched_.next_event());
}

void router::advance(clock::time_point now)
{
    std::lock_guard lock(mutex_);
    sched_.advance(now);
    schedule_changed();
}

bool router::draw_failure() noexcept
{
    const auto n = draws_.fetch_add(1, std::memory_order_relaxed);
    const double r = static_cast<double>(splitmix64(opts_.seed ^ splitmix64(n)) >> 11) * 0x1.0p-53;
    return r < opts_.fail_rate;
}

bool router::authorised(const request_view& req, const boost::urls::url_view& u) const
{
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
    const canned& c = why == malformed::header_too_large ? header_too_large_
                      : why == malformed::body_too_large ? too_large_
                                                         : bad_request_;
    return {&c.close, c.status, false}; // sent at once: the connection is closing
}

answer router::handle(const request_view& req, bool must_close, clock::time_point now, std::string& scratch)
{
    served_.fetch_add(1, std::memory_order_relaxed);
    auto use = [&](const canned& c, bool latency = true) { return answer{&c.get(must_close), c.status, latency}; };

    const auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed)
        return use(bad_request_);
    const boost::urls::url_view& u = *parsed;

    const auto path = u.encoded_path();
    const bool is_emulator = path.starts_with("/_emulator");

    if (!is_emulator && opts_.fail_rate > 0.0 && draw_failure())
        return use(unavailable_);
    if (!authorised(req, u))
        return use(unauthorized_);

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
            return use(allow_state_, false);
        state_report state;
        {
            std::lock_guard lock(mutex_);
            sched_.advance(now);
            state.in_window = sched_.in_window(now);
            state.tasks = sched_.snapshot();
        }
        state.now = now;
        state.window = opts_.window;
        state.requests_served = requests_served();
        render_response(scratch, 200, json_type, render_state(state), must_close, "Cache-Control: no-store\r\n");
        return {&scratch, 200, false};
    }
    return use(not_found_);
}

answer router::butler(const request_view& req, std::string_view task, bool is_list, bool must_close,
                      clock::time_point now)
{
    auto use = [&](const canned& c) { return answer{&c.get(must_close), c.status, true}; };
    if (is_list) {
        switch (req.method) {
        case http::verb::get: return use(wants_json(req.accept, req.accepts) ? list_json_ : list_xml_);
        case http::verb::post: {
            std::lock_guard lock(mutex_);
            sched_.start_all(now);
            schedule_changed();
            return use(ok_);
        }
        case http::verb::delete_: {
            std::lock_guard lock(mutex_);
            sched_.stop_all(now);
            schedule_changed();
            return use(ok_);
        }
        default: return use(allow_list_);
        }
    }
    switch (req.method) {
    case http::verb::post: {
        std::lock_guard lock(mutex_);
        const auto r = sched_.start(task, now);
        schedule_changed();
        if (r == start_outcome::unknown_task)
            return use(not_found_);
        if (r == start_outcome::already_running)
            return use(already_running_);
        return use(ok_);
    }
    case http::verb::delete_: {
        std::lock_guard lock(mutex_);
        const auto r = sched_.stop(task, now);
        schedule_changed();
        if (r == stop_outcome::stopped || r == stop_outcome::unscheduled)
            return use(ok_);
        return use(not_found_);
    }
    default: return use(allow_task_);
    }
}

} // namespace plexbutler::emulator::detail
