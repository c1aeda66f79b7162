#include <plexbutler/response.hpp>

#include "util/ascii.hpp"

#include <charconv>

namespace plexbutler {

std::string raw_response::status_line() const
{
    std::string out = version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    char buf[16];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, status).ptr);
    if (!reason.empty()) {
        out += ' ';
        out += reason;
    }
    return out;
}

std::optional<std::string_view> raw_response::header(std::string_view name) const noexcept
{
    std::string_view rest = fields;
    while (!rest.empty()) {
        const std::size_t eol = rest.find("\r\n");
        const std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos && detail::iequals(line.substr(0, colon), name)) {
            return detail::trim_ows(line.substr(colon + 1));
        }
    }
    return std::nullopt;
}

std::string_view to_string(task_outcome o) noexcept
{
    switch (o) {
    case task_outcome::started: return "started";
    case task_outcome::already_running: return "already running";
    case task_outcome::stopped: return "stopped";
    case task_outcome::not_running: return "not running";
    case task_outcome::accepted: return "accepted";
    }
    return "unknown";
}

} // namespace plexbutler
