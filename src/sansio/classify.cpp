#include "sansio/classify.hpp"
#include "util/ascii.hpp"
#include "util/escape.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace plexbutler::detail {

interim_action classify_interim(unsigned status, unsigned interim_seen) noexcept
{
    if (status < 100 || status >= 200)
        return interim_action::final_response;
    if (status == 101)
        return interim_action::switching_protocols;
    return interim_seen < max_interim_responses ? interim_action::skip : interim_action::too_many;
}

status_class classify_status(operation_kind op, unsigned status) noexcept
{
    status_class c;
    if (status >= 200 && status < 300) {
        c.success = true;
        switch (op) {
        case operation_kind::list_tasks:
            c.outcome = task_outcome::accepted; // the list content is what matters
            break;
        case operation_kind::start_all:
            c.outcome = status == 200 ? task_outcome::started : task_outcome::accepted;
            break;
        case operation_kind::stop_all:
        case operation_kind::stop_task:
            c.outcome = status == 200 ? task_outcome::stopped : task_outcome::accepted;
            break;
        case operation_kind::start_task:
            c.outcome = status == 200   ? task_outcome::started
                        : status == 202 ? task_outcome::already_running
                                        : task_outcome::accepted;
            break;
        }
        return c;
    }
    if (status == 404 && op == operation_kind::stop_task) {
        c.success = true;
        c.outcome = task_outcome::not_running;
        return c;
    }
    if (status >= 300 && status < 400)
        c.err = error::redirect_not_followed;
    else if (status == 400)
        c.err = error::bad_request;
    else if (status == 401 || status == 403)
        c.err = error::unauthorized;
    else if (status == 404)
        c.err = error::not_found;
    else if (status >= 500 && status < 600)
        c.err = error::server_error;
    else
        c.err = error::unexpected_status;
    return c;
}

bool is_json_content_type(std::string_view content_type) noexcept
{
    auto media = trim_ows(content_type.substr(0, content_type.find(';')));
    return iequals(media, "application/json");
}

bool is_identity_encoding(std::string_view content_encoding) noexcept
{
    auto v = trim_ows(content_encoding);
    return v.empty() || iequals(v, "identity");
}

std::string location_without_query(std::string_view location)
{
    auto end = location.find_first_of("?#");
    return printable(trim_ows(location.substr(0, end)));
}

std::string redirect_message(unsigned status, std::string_view location)
{
    std::string msg = "HTTP " + std::to_string(status) + " redirect";
    if (!location.empty())
        msg += " to " + location_without_query(location);
    msg += " not followed";
    return msg;
}

error map_transport_error(const boost::system::error_code& ec) noexcept
{
    namespace http = boost::beast::http;
    namespace asio = boost::asio;
    if (ec.category() == butler_category())
        return static_cast<error>(ec.value());
    if (ec == boost::beast::error::timeout || ec == asio::error::timed_out)
        return error::timeout;
    if (ec == asio::error::operation_aborted)
        return error::cancelled;
    if (ec == http::error::header_limit)
        return error::header_too_large;
    if (ec == http::error::body_limit || ec == http::error::buffer_overflow)
        return error::body_too_large;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
        ec == asio::error::broken_pipe || ec == asio::error::not_connected || ec == asio::ssl::error::stream_truncated)
        return error::connection_closed;
    if (ec.category() == boost::system::error_code(http::error::bad_target).category()) // any other parse error
        return error::malformed_http;
    if (ec == asio::error::connection_refused || ec == asio::error::host_unreachable ||
        ec == asio::error::network_unreachable || ec == asio::error::host_not_found ||
        ec == asio::error::host_not_found_try_again)
        return error::connect_failed;
    return error::connection_closed;
}

bool is_stale_connection_error(const boost::system::error_code& ec) noexcept
{
    namespace asio = boost::asio;
    return ec == boost::beast::http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::connection_aborted ||
           ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

std::string printable(std::string_view text, std::size_t max) { return ascii_escaped(text, max); }

} // namespace plexbutler::detail
