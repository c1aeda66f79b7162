#include <plexbutler/task_name.hpp>

#include "util/escape.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

namespace plexbutler {

namespace {

constexpr std::size_t max_task_name_bytes = 128;
// How much of an invalid name is quoted back in the error message.
constexpr std::size_t max_quoted_bytes = 64;

// The union of the enums of both OpenAPI documents, in byte order (binary-searched).
constexpr std::array<std::string_view, 25> documented = {
    tasks::automatic_updates,
    tasks::backup_database,
    tasks::build_gracenote_collections,
    tasks::butler_task_generate_ad_markers,
    tasks::butler_task_generate_credits_markers,
    tasks::butler_task_generate_intro_markers,
    tasks::butler_task_generate_voice_activity,
    tasks::check_for_updates,
    tasks::clean_old_bundles,
    tasks::clean_old_cache_files,
    tasks::deep_media_analysis,
    tasks::garbage_collect_blobs,
    tasks::garbage_collect_library_media,
    tasks::generate_auto_tags,
    tasks::generate_blur_hashes,
    tasks::generate_chapter_thumbs,
    tasks::generate_media_index_files,
    tasks::loudness_analysis,
    tasks::music_analysis,
    tasks::optimize_database,
    tasks::refresh_epg_guides,
    tasks::refresh_libraries,
    tasks::refresh_local_media,
    tasks::refresh_periodic_metadata,
    tasks::upgrade_media_analysis,
};
static_assert(std::is_sorted(documented.begin(), documented.end()));

// Why a byte cannot appear in a task name, or nullptr when it can.
constexpr const char* byte_problem(unsigned char byte) noexcept
{
    if (byte < 0x20 || byte == 0x7f) {
        return "is a control character";
    }
    if (byte >= 0x80) {
        return "is not ASCII";
    }
    switch (byte) {
    case ' ':
    case '/':
    case '?':
    case '#':
    case '%':
    case '\\':
    case '"':
    case '<':
    case '>':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}': return "is not allowed in a path segment";
    default: return nullptr;
    }
}

// The name in double quotes, escaped so the message stays printable and unambiguous.
std::string quote(std::string_view name)
{
    std::string out = "\"";
    const std::string_view shown = name.substr(0, max_quoted_bytes);
    detail::append_ascii_escaped(out, shown, "\"\\");
    out += '"';
    if (shown.size() < name.size()) {
        out += "...";
    }
    return out;
}

// Empty when `name` is valid; otherwise the reason, starting with the quoted name.
std::string validation_problem(std::string_view name)
{
    if (name.empty()) {
        return "\"\": a task name must not be empty";
    }
    if (name.size() > max_task_name_bytes) {
        std::string out = quote(name);
        out += ": ";
        char buf[24];
        out.append(buf, std::to_chars(buf, buf + sizeof buf, name.size()).ptr);
        out += " bytes, longer than the limit of 128";
        return out;
    }
    for (std::size_t i = 0; i < name.size(); ++i) {
        const auto byte = static_cast<unsigned char>(name[i]);
        if (const char* problem = byte_problem(byte)) {
            std::string out = quote(name);
            out += ": '";
            detail::append_ascii_escaped(out, name.substr(i, 1));
            out += "' at position ";
            char buf[24];
            out.append(buf, std::to_chars(buf, buf + sizeof buf, i).ptr);
            out += ' ';
            out += problem;
            return out;
        }
    }
    // Dot-segments would be removed or resolved by URL normalisation, changing the path.
    if (name == "." || name == "..") {
        return quote(name) + ": a dot-segment is not a task name";
    }
    return {};
}

} // namespace

task_name::task_name(std::string_view name) : name_(name)
{
    if (std::string problem = validation_problem(name); !problem.empty()) {
        diagnostics diag;
        diag.server_message = std::move(problem);
        throw butler_error(error::invalid_task_name, std::move(diag));
    }
}

boost::system::result<task_name, failure> task_name::parse(std::string_view name)
{
    if (std::string problem = validation_problem(name); !problem.empty()) {
        failure f{error::invalid_task_name, {}};
        f.diag.server_message = std::move(problem);
        return f;
    }
    return task_name{trusted{}, std::string(name)};
}

bool task_name::is_valid(std::string_view name) noexcept
{
    if (name.empty() || name.size() > max_task_name_bytes || name == "." || name == "..") {
        return false;
    }
    return std::none_of(name.begin(), name.end(),
                        [](char ch) { return byte_problem(static_cast<unsigned char>(ch)) != nullptr; });
}

bool task_name::is_documented() const noexcept
{
    return std::binary_search(documented.begin(), documented.end(), std::string_view{name_});
}

std::span<const std::string_view> documented_task_names() noexcept { return documented; }

} // namespace plexbutler
