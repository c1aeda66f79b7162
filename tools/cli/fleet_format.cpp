// What the fleet commands and watch print (I/O-free).
#include "fleet_format.hpp"

#include "args.hpp"
#include "format.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <cstdio>
#include <ctime>

namespace plexbutler::cli {

namespace {

std::string redacted_message(const failure& f, std::string_view token)
{
    std::string message = f.message();
    return token.empty() ? message : redact(std::move(message), token);
}

boost::json::object error_json(const failure& f, std::string_view token)
{
    boost::json::object e;
    e["code"] = error_name(f.code);
    e["message"] = redacted_message(f, token);
    if (f.diag.http_status != 0)
        e["status"] = f.diag.http_status;
    return e;
}

std::string_view outcome_name(task_outcome o) noexcept
{
    switch (o) {
    case task_outcome::started: return "started";
    case task_outcome::already_running: return "already_running";
    case task_outcome::stopped: return "stopped";
    case task_outcome::not_running: return "not_running";
    case task_outcome::accepted: return "accepted";
    }
    return "accepted";
}

std::string json_text(const boost::json::value& v) { return escape_json_controls(boost::json::serialize(v)); }

template <class T>
boost::json::object server_json(std::string_view id, const result<T>& r, std::string_view token)
{
    boost::json::object o;
    o["id"] = id;
    o["ok"] = r.has_value();
    if (!r)
        o["error"] = error_json(r.error(), token);
    return o;
}

std::string yes_no(const std::optional<bool>& b) { return b ? (*b ? "yes" : "no") : "-"; }

std::string text_or_dash(const std::optional<std::string>& s) { return s ? escape_for_terminal(*s) : "-"; }

// A task field by its JSON name, as the table prints it.
std::string field_text(const butler_task& t, std::string_view field)
{
    if (field == "name")
        return text_or_dash(t.name);
    if (field == "interval")
        return t.interval ? format_interval(*t.interval) : "-";
    if (field == "scheduleRandomized")
        return yes_no(t.schedule_randomized);
    if (field == "enabled")
        return yes_no(t.enabled);
    if (field == "title")
        return text_or_dash(t.title);
    if (field == "description")
        return text_or_dash(t.description);
    return "?";
}

} // namespace

std::string error_name(boost::system::error_code ec)
{
    if (ec.category() != butler_category())
        return std::string(ec.category().name()) + ":" + std::to_string(ec.value());
    switch (static_cast<error>(ec.value())) {
    case error::connect_failed: return "connect_failed";
    case error::tls_handshake_failed: return "tls_handshake_failed";
    case error::certificate_verification_failed: return "certificate_verification_failed";
    case error::timeout: return "timeout";
    case error::connection_closed: return "connection_closed";
    case error::malformed_http: return "malformed_http";
    case error::header_too_large: return "header_too_large";
    case error::body_too_large: return "body_too_large";
    case error::unsupported_content_encoding: return "unsupported_content_encoding";
    case error::unexpected_content_type: return "unexpected_content_type";
    case error::json_decode_failed: return "json_decode_failed";
    case error::invalid_task_name: return "invalid_task_name";
    case error::invalid_header_value: return "invalid_header_value";
    case error::invalid_server_url: return "invalid_server_url";
    case error::unauthorized: return "unauthorized";
    case error::not_found: return "not_found";
    case error::bad_request: return "bad_request";
    case error::server_error: return "server_error";
    case error::unexpected_status: return "unexpected_status";
    case error::redirect_not_followed: return "redirect_not_followed";
    case error::cancelled: return "cancelled";
    case error::too_many_waiters: return "too_many_waiters";
    case error::client_shut_down: return "client_shut_down";
    case error::unknown_server: return "unknown_server";
    case error::invalid_options: return "invalid_options";
    }
    return "plexbutler:" + std::to_string(ec.value());
}

std::string_view failure_kind(int exit_code) noexcept
{
    switch (exit_code) {
    case exit_code::usage: return "usage";
    case exit_code::not_found: return "not found";
    case exit_code::unauthorized: return "unauthorized";
    case exit_code::network: return "unreachable";
    case exit_code::protocol: return "protocol";
    default: return "other";
    }
}

void fleet_tally::add_failure(boost::system::error_code ec) noexcept
{
    int code = exit_code_for(ec);
    if (code < exit_code::failure || code >= static_cast<int>(by_code_.size()))
        code = exit_code::failure;
    ++failed_;
    ++by_code_[static_cast<std::size_t>(code)];
    worst_ = worse_exit_code(worst_, code);
}

std::size_t fleet_tally::failed_with(int exit_code) const noexcept
{
    if (exit_code < 0 || exit_code >= static_cast<int>(by_code_.size()))
        return 0;
    return by_code_[static_cast<std::size_t>(exit_code)];
}

std::string fleet_tally::summary() const
{
    std::string s = std::to_string(total_) + (total_ == 1 ? " server: " : " servers: ") + std::to_string(ok_) +
                    " ok, " + std::to_string(failed_) + " failed";
    std::string kinds;
    for (int code = static_cast<int>(by_code_.size()) - 1; code >= exit_code::failure; --code) {
        const std::size_t n = by_code_[static_cast<std::size_t>(code)];
        if (n == 0)
            continue;
        if (!kinds.empty())
            kinds += ", ";
        kinds += std::to_string(n) + " " + std::string(failure_kind(code));
    }
    if (!kinds.empty())
        s += " (" + kinds + ")";
    return s;
}

std::string progress_line(const fleet_tally& t, std::size_t bar_width)
{
    const std::size_t done = t.done();
    const std::size_t total = t.total();
    std::string bar = "[";
    if (done >= total) {
        bar.append(bar_width, '=');
    } else if (bar_width > 0) {
        const std::size_t filled = done * bar_width / total;
        bar.append(filled, '=');
        bar += '>';
        bar.append(bar_width - filled - 1, ' ');
    }
    bar += "] ";
    return bar + std::to_string(done) + "/" + std::to_string(total) + " ok " + std::to_string(t.ok()) + " failed " +
           std::to_string(t.failed());
}

bool redraw_throttle::due(clock::time_point now) noexcept
{
    if (last_ && now - *last_ < min_gap_)
        return false;
    last_ = now;
    return true;
}

std::string format_list_block(std::string_view id, const result<tasks_response>& r, std::string_view token)
{
    std::string out = escape_for_terminal(id) + "\n";
    if (!r)
        return out + "  error: " + escape_for_terminal(redacted_message(r.error(), token)) + "\n";
    const std::string table = format_task_table(r->content.tasks);
    std::size_t start = 0;
    while (start < table.size()) {
        std::size_t end = table.find('\n', start);
        if (end == std::string::npos)
            end = table.size();
        out += "  ";
        out.append(table, start, end - start);
        out += '\n';
        start = end + 1;
    }
    return out;
}

std::string format_outcome_line(std::string_view id, std::size_t id_width, const result<task_response>& r,
                                std::string_view task, std::string_view token)
{
    std::string out = escape_for_terminal(id);
    const std::size_t width = display_width(out);
    out.append((id_width > width ? id_width - width : 0) + 2, ' ');
    if (r)
        out += outcome_line(r->content, task, r->status);
    else
        out += "error: " + escape_for_terminal(redacted_message(r.error(), token));
    return out + "\n";
}

std::string json_list_line(std::string_view id, const result<tasks_response>& r, std::string_view token)
{
    boost::json::object o = server_json(id, r, token);
    if (r)
        o["result"] = boost::json::value_from(r->content.tasks);
    return json_text(o) + "\n";
}

namespace {

boost::json::object outcome_object(const task_response& r, std::string_view task)
{
    boost::json::object res;
    res["outcome"] = outcome_name(r.content);
    res["status"] = r.status;
    if (!task.empty())
        res["task"] = task;
    return res;
}

} // namespace

std::string json_outcome_line(std::string_view id, const result<task_response>& r, std::string_view task,
                              std::string_view token)
{
    boost::json::object o = server_json(id, r, token);
    if (r)
        o["result"] = outcome_object(*r, task);
    return json_text(o) + "\n";
}

std::string json_outcome(const task_response& r, std::string_view task)
{
    return json_text(outcome_object(r, task)) + "\n";
}

std::string format_utc(std::chrono::system_clock::time_point t)
{
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(t);
    const auto s = floor<seconds>(ms);
    const std::time_t tt = system_clock::to_time_t(time_point_cast<system_clock::duration>(s));
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>((ms - s).count()));
    return buf;
}

std::string format_event_line(const fleet_event& e, std::string_view token)
{
    std::string line = format_utc(e.at) + "  " + escape_for_terminal(e.server) + "  " + std::string(to_string(e.kind));
    std::string detail;
    switch (e.kind) {
    case fleet_event_kind::reachable:
        if (e.tasks)
            detail = std::to_string(e.tasks->tasks.size()) + (e.tasks->tasks.size() == 1 ? " task" : " tasks");
        break;
    case fleet_event_kind::unreachable:
        if (e.error)
            detail = escape_for_terminal(redacted_message(*e.error, token));
        break;
    case fleet_event_kind::task_added:
    case fleet_event_kind::task_removed:
        if (e.task)
            detail = text_or_dash(e.task->name);
        break;
    case fleet_event_kind::task_changed:
        if (e.task) {
            detail = text_or_dash(e.task->name);
            std::string changes;
            for (const std::string& field : e.fields) {
                if (!changes.empty())
                    changes += ", ";
                changes += escape_for_terminal(field) + ": " + (e.previous ? field_text(*e.previous, field) : "?") +
                           " -> " + field_text(*e.task, field);
            }
            if (!changes.empty())
                detail += "  " + changes;
        }
        break;
    }
    if (!detail.empty())
        line += "  " + detail;
    return line;
}

std::string format_event_json(const fleet_event& e, std::string_view token)
{
    boost::json::object o;
    o["at"] = format_utc(e.at);
    o["server"] = e.server;
    o["kind"] = to_string(e.kind);
    if (e.task)
        o["task"] = boost::json::value_from(*e.task);
    if (e.previous)
        o["previous"] = boost::json::value_from(*e.previous);
    if (e.kind == fleet_event_kind::task_changed || !e.fields.empty()) {
        boost::json::array fields;
        for (const std::string& f : e.fields)
            fields.emplace_back(f);
        o["fields"] = std::move(fields);
    }
    if (e.tasks)
        o["tasks"] = boost::json::value_from(e.tasks->tasks);
    if (e.error)
        o["error"] = error_json(*e.error, token);
    return json_text(o);
}

} // namespace plexbutler::cli
