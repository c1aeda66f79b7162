#include <plexbutler/error.hpp>

#include "util/ascii.hpp"
#include "util/escape.hpp"

#include <boost/throw_exception.hpp>

#include <algorithm>
#include <charconv>
#include <string_view>

namespace plexbutler {

namespace {

// error_category's destructor is non-virtual by design (categories are never deleted).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class butler_category_impl final : public boost::system::error_category {
public:
    // A fixed id keeps the category unique even if the library is loaded twice.
    constexpr butler_category_impl() noexcept : error_category(0x9b1e7d4c2a853f01ULL) {}

    const char* name() const noexcept override { return "plexbutler"; }

    std::string message(int ev) const override { return describe_value(ev); }

    char const* message(int ev, char* buffer, std::size_t len) const noexcept override
    {
        const char* text = describe_value(ev);
        if (len == 0) {
            return buffer;
        }
        std::string_view sv{text};
        const std::size_t n = sv.size() < len - 1 ? sv.size() : len - 1;
        sv.copy(buffer, n);
        buffer[n] = '\0';
        return buffer;
    }

    bool failed(int ev) const noexcept override { return ev != 0; }

private:
    static const char* describe_value(int ev) noexcept
    {
        switch (static_cast<error>(ev)) {
        case error::connect_failed: return "connect failed";
        case error::tls_handshake_failed: return "TLS handshake failed";
        case error::certificate_verification_failed: return "server certificate verification failed";
        case error::timeout: return "timeout";
        case error::connection_closed: return "connection closed by server before a complete response";
        case error::malformed_http: return "malformed HTTP response";
        case error::header_too_large: return "response header too large";
        case error::body_too_large: return "response body too large";
        case error::unsupported_content_encoding: return "unsupported content encoding";
        case error::unexpected_content_type: return "unexpected content type";
        case error::json_decode_failed: return "JSON decode failed";
        case error::invalid_task_name: return "invalid task name";
        case error::invalid_header_value: return "invalid header value";
        case error::invalid_server_url: return "invalid server URL";
        case error::unauthorized: return "unauthorized";
        case error::not_found: return "not found";
        case error::bad_request: return "bad request";
        case error::server_error: return "server error";
        case error::unexpected_status: return "unexpected HTTP status";
        case error::redirect_not_followed: return "redirect not followed";
        case error::cancelled: return "operation cancelled";
        case error::too_many_waiters: return "too many waiters for a connection";
        case error::client_shut_down: return "client shut down";
        case error::unknown_server: return "unknown server";
        case error::invalid_options: return "invalid client options";
        }
        return ev == 0 ? "success" : "unknown plexbutler error";
    }
};
#pragma GCC diagnostic pop

constexpr butler_category_impl category_instance;

// Longest description; keeps exception messages and log lines bounded.
constexpr std::size_t max_description_bytes = 512;

template <class Int>
void append_number(std::string& out, Int value)
{
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, res.ptr);
}

} // namespace

const boost::system::error_category& butler_category() noexcept { return category_instance; }

std::string diagnostics::describe(boost::system::error_code ec) const
{
    std::string out;
    out.reserve(128);
    detail::append_ascii_escaped(out, ec.message());
    if (!server_message.empty()) {
        out += ' ';
        detail::append_ascii_escaped(out, server_message);
    }
    if (http_status != 0) {
        out += " (HTTP ";
        append_number(out, http_status);
        out += ')';
    }
    if (!plex_errors.empty()) {
        const plex_error& first = plex_errors.front();
        if (first.message) {
            out += ": ";
            detail::append_ascii_escaped(out, *first.message);
            if (first.code) {
                out += " (code ";
                append_number(out, *first.code);
                out += ')';
            }
        } else if (first.code) {
            out += ": Plex error code ";
            append_number(out, *first.code);
        }
    }
    if (!request_line.empty()) {
        out += " [";
        detail::append_ascii_escaped(out, request_line);
        out += ']';
    }
    if (out.size() > max_description_bytes) {
        out.resize(max_description_bytes - 3);
        out += "...";
    }
    return out;
}

butler_error::butler_error(boost::system::error_code ec, diagnostics diag)
    : boost::system::system_error(ec), diag_(std::move(diag)), what_(diag_.describe(ec))
{
}

butler_error::butler_error(failure f) : butler_error(f.code, std::move(f.diag)) {}

const char* butler_error::what() const noexcept { return what_.c_str(); }

void throw_exception_from_error(const failure& f, const boost::source_location& loc)
{
    boost::throw_with_location(butler_error(f), loc);
}

std::string redact(std::string text, std::string_view secret)
{
    if (secret.empty())
        return text;
    static constexpr std::string_view marker = "<redacted>";
    const std::string_view in = text;
    const bool anywhere = secret.size() >= redact_anywhere_length;
    // Whether the occurrence of `secret` at `at` is redacted (see the rule in error.hpp).
    auto counts = [&](std::size_t at) {
        const std::size_t end = at + secret.size();
        for (std::size_t m = end > marker.size() ? end - marker.size() : 0; m <= at; ++m)
            if (in.substr(m, marker.size()) == marker)
                return false;
        if (anywhere)
            return true;
        return (at == 0 || !detail::is_token_char(in[at - 1])) && (end == in.size() || !detail::is_token_char(in[end]));
    };
    std::string out;
    std::size_t copied = 0;
    for (std::size_t at = in.find(secret); at != std::string_view::npos; at = in.find(secret, at + 1)) {
        if (!counts(at))
            continue;
        std::size_t end = at + secret.size();
        // Overlapping and adjacent occurrences join this one.
        for (std::size_t next = in.find(secret, at + 1); next != std::string_view::npos && next <= end;
             next = in.find(secret, next + 1))
            if (counts(next))
                end = std::max(end, next + secret.size());
        out.append(in.substr(copied, at - copied)).append(marker);
        copied = end;
        at = end - 1;
    }
    if (copied == 0 && out.empty())
        return text;
    out.append(in.substr(copied));
    return out;
}

} // namespace plexbutler
