#ifndef PLEXBUTLER_EMULATOR_RENDER_HPP
#define PLEXBUTLER_EMULATOR_RENDER_HPP

// Response bytes the emulator sends: task-list bodies, error bodies, status pages, the state
// document and whole HTTP/1.1 responses. Pure functions of their inputs: no I/O, no clock.

#include <plexbutler/emulator/maintenance_window.hpp>
#include <plexbutler/emulator/scheduler.hpp>
#include <plexbutler/models.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::emulator::detail {

inline constexpr std::string_view json_type = "application/json";
inline constexpr std::string_view xml_type = "application/xml";
inline constexpr std::string_view html_type = "text/html";

/// `GET /butler` as JSON, through the library's encoder (`value_from(butler_task_list)`).
std::string render_task_list_json(const std::vector<butler_task>& tasks);
/// `GET /butler` as XML, PMS' default representation.
std::string render_task_list_xml(const std::vector<butler_task>& tasks);
/// An interval as an XML attribute value, by the JSON encoder's rule: integral values below 2^53
/// without a fraction ("3"), others in shortest round-trip form ("0.5", "1e+300"); empty for
/// NaN and infinities, which have no number form.
std::string format_interval(double days);

/// The reason phrase of the statuses the emulator sends.
std::string_view reason(unsigned status);
/// A Plex error body `{"errors":[{"code":..,"message":..,"status":..}]}`.
std::string plex_error_body(std::int64_t code, std::string_view message, unsigned status);
/// The small HTML page PMS sends with an error status.
std::string html_page(unsigned status);

/// A complete HTTP/1.1 response into `out` (cleared first). `extra_headers` are whole
/// `Name: value\r\n` lines.
void render_response(std::string& out, unsigned status, std::string_view content_type, std::string_view body,
                     bool close, std::string_view extra_headers = {});

/// A response rendered once, in its keep-alive and close variants.
struct canned {
    std::string keep_alive;
    std::string close;
    unsigned status = 0;

    canned() = default;
    canned(unsigned s, std::string_view content_type, std::string_view body, std::string_view extra = {});
    const std::string& get(bool must_close) const noexcept { return must_close ? close : keep_alive; }
};

/// What `GET /_emulator/state` reports.
struct state_report {
    std::chrono::system_clock::time_point now;
    bool in_window = false;
    maintenance_window window;
    std::uint64_t requests_served = 0;
    std::vector<task_status> tasks;
};
/// The body of `GET /_emulator/state` (JSON; times in ms since the epoch, the window as HH:MM).
std::string render_state(const state_report& state);

/// The access-log line for one request (with its newline); an `X-Plex-Token` query value is
/// replaced by REDACTED, and a target that cannot be parsed but names the token is withheld.
/// `server` (a fleet's server id), when not empty, follows "emulator".
std::string log_line(std::string_view method, std::string_view target, unsigned status, std::string_view server = {});

} // namespace plexbutler::emulator::detail

#endif
