#ifndef PLEXBUTLER_TOOLS_CLI_FORMAT_HPP
#define PLEXBUTLER_TOOLS_CLI_FORMAT_HPP

/// @file format.hpp
/// @brief Output formatting of `plexbutler`, without I/O (header-only so tests can include it).

#include "util/escape.hpp"

#include <plexbutler/models.hpp>
#include <plexbutler/response.hpp>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::cli {

/// @brief Makes text from a server safe to print on a terminal: the project's one escaper
/// (src/util/escape.hpp), so the CLI escapes exactly like the library's messages.
using plexbutler::detail::escape_for_terminal;

/// @brief Number of terminal columns `text` (already escaped) takes, counting one per code point.
inline std::size_t display_width(std::string_view text) noexcept
{
    std::size_t width = 0;
    for (char c : text)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80)
            ++width;
    return width;
}

/// @brief Escapes DEL and C1 controls in serialized JSON as `\u007f` / `\u0080`-`\u009f`.
///
/// Boost.JSON already escapes C0 controls; DEL and C1 controls only ever occur inside
/// strings, where `\uXXXX` is a valid JSON escape, so the document stays equal.
/// Expects valid UTF-8 (Boost.JSON validates strings on parse).
inline std::string escape_json_controls(std::string_view json)
{
    std::string out;
    out.reserve(json.size());
    static constexpr char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < json.size(); ++i) {
        auto b = static_cast<unsigned char>(json[i]);
        unsigned code = 0;
        if (b == 0x7f)
            code = 0x7f;
        else if (b == 0xc2 && i + 1 < json.size() && static_cast<unsigned char>(json[i + 1]) >= 0x80 &&
                 static_cast<unsigned char>(json[i + 1]) <= 0x9f)
            code = static_cast<unsigned char>(json[++i]);
        if (code == 0) {
            out += json[i];
            continue;
        }
        out += "\\u00";
        out += hex[code >> 4];
        out += hex[code & 0xf];
    }
    return out;
}

/// @brief A number of days as written by a person: `7`, `0.5`, `1.25` (shortest round-trip form).
inline std::string format_interval(double days)
{
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, days);
    if (ec != std::errc{})
        return "?";
    return std::string(buf, end);
}

/// @brief A duration in milliseconds with two decimals, e.g. `1.27 ms`.
inline std::string format_ms(std::chrono::nanoseconds d)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.2f ms", static_cast<double>(d.count()) / 1e6);
    return buf;
}

/// @brief The task list as an aligned table with a header row, one line per task.
///
/// Columns: NAME, ENABLED (yes/no), INTERVAL (days), RANDOMISED (yes/no), TITLE.
/// Absent fields show as `-`; server text is escaped with `escape_for_terminal`.
inline std::string format_task_table(const std::vector<butler_task>& tasks)
{
    auto yes_no = [](const std::optional<bool>& b) -> std::string { return b ? (*b ? "yes" : "no") : "-"; };
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"NAME", "ENABLED", "INTERVAL", "RANDOMISED", "TITLE"});
    for (const auto& t : tasks)
        rows.push_back({t.name ? escape_for_terminal(*t.name) : "-", yes_no(t.enabled),
                        t.interval ? format_interval(*t.interval) : "-", yes_no(t.schedule_randomized),
                        t.title ? escape_for_terminal(*t.title) : "-"});
    std::vector<std::size_t> widths(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c)
            widths[c] = std::max(widths[c], display_width(row[c]));
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size())
                line.append(widths[c] - display_width(row[c]) + 2, ' ');
        }
        out += line;
        out += '\n';
    }
    return out;
}

/// @brief What a start or stop printed: `started BackupDatabase`, `not running BackupDatabase`,
/// `stopped all tasks` (empty `task`), or `accepted TASK (HTTP nnn)` for another 2xx status.
inline std::string outcome_line(task_outcome o, std::string_view task, unsigned status)
{
    std::string subject = task.empty() ? std::string("all tasks") : escape_for_terminal(task);
    if (o == task_outcome::accepted)
        return "accepted " + subject + " (HTTP " + std::to_string(status) + ")";
    return std::string(to_string(o)) + " " + subject;
}

} // namespace plexbutler::cli

#endif
