#include "emulator/render.hpp"

#include <plexbutler/error.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <charconv>
#include <cstdio>

namespace plexbutler::emulator::detail {
namespace {

void append_xml_attribute(std::string& out, std::string_view name, std::string_view value)
{
    out += ' ';
    out += name;
    out += "=\"";
    for (char c : value) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        case '\n': out += "&#10;"; break;
        case '\r': out += "&#13;"; break;
        case '\t': out += "&#9;"; break;
        default: out += c; break;
        }
    }
    out += '"';
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point t)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

boost::json::value opt_ms(const std::optional<std::chrono::system_clock::time_point>& t)
{
    if (!t)
        return nullptr;
    return epoch_ms(*t);
}

std::string hhmm(unsigned minute)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02u:%02u", (minute / 60) % 100, minute % 60);
    return buf;
}

} // namespace

std::string format_interval(double days)
{
    // The library's encoder decides integer, fraction or nothing, so the XML and JSON bodies agree.
    butler_task only_interval;
    only_interval.interval = days;
    const boost::json::value encoded = boost::json::value_from(only_interval);
    const boost::json::value& number = encoded.as_object().at("interval");
    char buf[32];
    std::to_chars_result r{};
    if (number.is_int64())
        r = std::to_chars(buf, buf + sizeof buf, number.get_int64());
    else if (number.is_double())
        r = std::to_chars(buf, buf + sizeof buf, number.get_double()); // shortest round-trip form, e.g. 0.5
    else
        return {};
    return std::string(buf, r.ptr);
}

std::string render_task_list_json(const std::vector<butler_task>& tasks)
{
    butler_task_list list;
    list.tasks = tasks;
    return boost::json::serialize(boost::json::value_from(list));
}

std::string render_task_list_xml(const std::vector<butler_task>& tasks)
{
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ButlerTasks>";
    for (const auto& t : tasks) {
        out += "<ButlerTask";
        if (t.name)
            append_xml_attribute(out, "name", *t.name);
        if (t.interval) {
            // A non-finite interval is left out, as the JSON encoder's null reads back as absent.
            if (const auto v = format_interval(*t.interval); !v.empty())
                append_xml_attribute(out, "interval", v);
        }
        if (t.schedule_randomized)
            append_xml_attribute(out, "scheduleRandomized", *t.schedule_randomized ? "1" : "0");
        if (t.enabled)
            append_xml_attribute(out, "enabled", *t.enabled ? "1" : "0");
        if (t.title)
            append_xml_attribute(out, "title", *t.title);
        if (t.description)
            append_xml_attribute(out, "description", *t.description);
        out += "/>";
    }
    out += "</ButlerTasks>\n";
    return out;
}

std::string_view reason(unsigned status)
{
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

std::string plex_error_body(std::int64_t code, std::string_view message, unsigned status)
{
    plex_error e;
    e.code = code;
    e.message = std::string(message);
    e.status = status;
    plex_error_list list;
    list.errors.push_back(std::move(e));
    return boost::json::serialize(boost::json::value_from(list));
}

std::string html_page(unsigned status)
{
    std::string r{reason(status)};
    return "<html><head><title>" + r + "</title></head><body><h1>" + std::to_string(status) + " " + r +
           "</h1></body></html>";
}

void render_response(std::string& out, unsigned status, std::string_view content_type, std::string_view body,
                     bool close, std::string_view extra_headers)
{
    out.clear();
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason(status);
    out += "\r\nServer: plexbutler-emulator\r\nX-Plex-Protocol: 1.0\r\n";
    if (!content_type.empty()) {
        out += "Content-Type: ";
        out += content_type;
        out += "\r\n";
    }
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += close ? "\r\nConnection: close\r\n" : "\r\nConnection: keep-alive\r\n";
    out += extra_headers;
    out += "\r\n";
    out += body;
}

canned::canned(unsigned s, std::string_view content_type, std::string_view body, std::string_view extra) : status(s)
{
    render_response(keep_alive, s, content_type, body, false, extra);
    render_response(close, s, content_type, body, true, extra);
}

std::string render_state(const state_report& state)
{
    boost::json::array tasks;
    for (const auto& t : state.tasks) {
        boost::json::object o;
        o["name"] = t.name;
        o["enabled"] = t.enabled;
        o["scheduleRandomized"] = t.randomized;
        o["interval"] = t.interval_days;
        o["state"] = to_string(t.state);
        o["dueAt"] = opt_ms(t.due);
        o["startedAt"] = opt_ms(t.started_at);
        o["finishesAt"] = opt_ms(t.finishes_at);
        o["lastRun"] = opt_ms(t.last_run);
        o["lastStart"] = t.last_start ? boost::json::value(to_string(*t.last_start)) : boost::json::value(nullptr);
        o["completedRuns"] = t.completed_runs;
        tasks.push_back(std::move(o));
    }
    boost::json::object root;
    root["now"] = epoch_ms(state.now);
    root["inWindow"] = state.in_window;
    root["window"] = {{"start", hhmm(state.window.start_minute)}, {"end", hhmm(state.window.end_minute)}};
    root["requestsServed"] = state.requests_served;
    root["tasks"] = std::move(tasks);
    return boost::json::serialize(root);
}

std::string log_line(std::string_view method, std::string_view target, unsigned status, std::string_view server)
{
    std::string shown(target);
    // Never log the token: rewrite the query parameter when present.
    if (auto u = boost::urls::parse_origin_form(target); u && u->has_query()) {
        boost::urls::url copy(*u);
        bool had = false;
        for (auto it = copy.params().begin(); it != copy.params().end(); ++it)
            if ((*it).key == "X-Plex-Token")
                had = true;
        if (had) {
            copy.params().set("X-Plex-Token", "REDACTED");
            shown = std::string(copy.buffer());
        }
    } else if (!u && target.find("X-Plex-Token") != std::string_view::npos) {
        shown = "(unparsable target withheld)";
    }
    std::string prefix = "emulator";
    if (!server.empty())
        prefix.append(" ").append(server);
    return prefix + ": " + std::string(method) + " " + shown + " -> " + std::to_string(status) + "\n";
}

} // namespace plexbutler::emulator::detail
