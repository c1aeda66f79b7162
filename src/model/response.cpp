#include <plexbutler/response.hpp>

#include <charconv>

namespace plexbutler {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

} // namespace

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
        if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
            return trim_ows(line.substr(colon + 1));
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
