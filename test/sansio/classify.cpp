// Unit tests of the I/O-free status and transport-error classifier.
#include "sansio/classify.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <catch2/catch.hpp>

using namespace plexbutler;
using namespace plexbutler::detail;
namespace http = boost::beast::http;

TEST_CASE("classify: documented statuses of each operation", "[classify]")
{
    auto ok = [](operation_kind op, unsigned st, task_outcome o) {
        auto c = classify_status(op, st);
        CHECK(c.success);
        CHECK(c.outcome == o);
    };
    auto bad = [](operation_kind op, unsigned st, error e) {
        auto c = classify_status(op, st);
        CHECK_FALSE(c.success);
        CHECK(c.err == e);
    };
    CHECK(classify_status(operation_kind::list_tasks, 200).success);
    ok(operation_kind::start_all, 200, task_outcome::started);
    ok(operation_kind::stop_all, 200, task_outcome::stopped);
    ok(operation_kind::start_task, 200, task_outcome::started);
    ok(operation_kind::start_task, 202, task_outcome::already_running);
    ok(operation_kind::stop_task, 200, task_outcome::stopped);
    ok(operation_kind::stop_task, 404, task_outcome::not_running);
    ok(operation_kind::start_all, 204, task_outcome::accepted);
    ok(operation_kind::stop_task, 202, task_outcome::accepted);
    bad(operation_kind::start_task, 404, error::not_found);
    bad(operation_kind::list_tasks, 404, error::not_found);
    bad(operation_kind::start_all, 404, error::not_found);
    bad(operation_kind::list_tasks, 400, error::bad_request);
    bad(operation_kind::list_tasks, 401, error::unauthorized);
    bad(operation_kind::stop_task, 403, error::unauthorized);
    bad(operation_kind::list_tasks, 301, error::redirect_not_followed);
    bad(operation_kind::start_task, 307, error::redirect_not_followed);
    bad(operation_kind::list_tasks, 500, error::server_error);
    bad(operation_kind::list_tasks, 503, error::server_error);
    bad(operation_kind::list_tasks, 418, error::unexpected_status);
    bad(operation_kind::list_tasks, 100, error::unexpected_status);
    bad(operation_kind::list_tasks, 600, error::unexpected_status);
}

TEST_CASE("classify: content type and encoding", "[classify]")
{
    CHECK(is_json_content_type("application/json"));
    CHECK(is_json_content_type("Application/JSON; charset=utf-8"));
    CHECK(is_json_content_type(" application/json ;charset=utf-8"));
    CHECK_FALSE(is_json_content_type("text/html"));
    CHECK_FALSE(is_json_content_type("application/xml"));
    CHECK_FALSE(is_json_content_type(""));
    CHECK_FALSE(is_json_content_type("application/jsonp"));
    CHECK(is_identity_encoding(""));
    CHECK(is_identity_encoding("identity"));
    CHECK(is_identity_encoding(" IDENTITY "));
    CHECK_FALSE(is_identity_encoding("gzip"));
    CHECK_FALSE(is_identity_encoding("identity,gzip"));
}

TEST_CASE("classify: redirect message drops the query", "[classify]")
{
    auto m = redirect_message(302, "https://plex.example/login?X-Plex-Token=secret#x");
    CHECK(m == "HTTP 302 redirect to https://plex.example/login not followed");
    CHECK(m.find("secret") == std::string::npos);
    CHECK(redirect_message(301, "") == "HTTP 301 redirect not followed");
    CHECK(location_without_query("/a\r\nb?c") == "/a\\x0d\\x0ab");
}

TEST_CASE("classify: transport errors", "[classify]")
{
    namespace asio = boost::asio;
    CHECK(map_transport_error(boost::beast::error::timeout) == error::timeout);
    CHECK(map_transport_error(asio::error::operation_aborted) == error::cancelled);
    CHECK(map_transport_error(http::error::header_limit) == error::header_too_large);
    CHECK(map_transport_error(http::error::body_limit) == error::body_too_large);
    CHECK(map_transport_error(http::error::end_of_stream) == error::connection_closed);
    CHECK(map_transport_error(http::error::partial_message) == error::connection_closed);
    CHECK(map_transport_error(asio::error::connection_reset) == error::connection_closed);
    CHECK(map_transport_error(asio::error::broken_pipe) == error::connection_closed);
    CHECK(map_transport_error(asio::ssl::error::stream_truncated) == error::connection_closed);
    CHECK(map_transport_error(http::error::bad_version) == error::malformed_http);
    CHECK(map_transport_error(http::error::bad_status) == error::malformed_http);
    CHECK(map_transport_error(http::error::bad_chunk) == error::malformed_http);
    CHECK(map_transport_error(http::error::bad_field) == error::malformed_http);
    CHECK(map_transport_error(http::error::bad_content_length) == error::malformed_http);
    CHECK(map_transport_error(asio::error::connection_refused) == error::connect_failed);
    CHECK(is_stale_connection_error(http::error::end_of_stream));
    CHECK(is_stale_connection_error(asio::error::connection_reset));
    CHECK(is_stale_connection_error(asio::error::broken_pipe));
    CHECK_FALSE(is_stale_connection_error(boost::beast::error::timeout));
    CHECK_FALSE(is_stale_connection_error(http::error::bad_version));
}

TEST_CASE("classify: interim responses are skipped up to a bound, 101 ends the exchange", "[classify]")
{
    for (unsigned status : {100u, 102u, 103u, 199u})
        CHECK(classify_interim(status, 0) == interim_action::skip);
    CHECK(classify_interim(100, max_interim_responses - 1) == interim_action::skip);
    CHECK(classify_interim(103, max_interim_responses) == interim_action::too_many);
    CHECK(classify_interim(101, 0) == interim_action::switching_protocols);
    for (unsigned status : {200u, 204u, 304u, 404u, 599u, 99u})
        CHECK(classify_interim(status, max_interim_responses) == interim_action::final_response);
    // The driver's own verdict on an exchange passes through the transport-error mapping.
    CHECK(map_transport_error(error::unexpected_status) == error::unexpected_status);
}

TEST_CASE("classify: printable keeps diagnostics printable and bounded", "[classify]")
{
    CHECK(printable("ok\x01\x7f\xff") == "ok\\x01\\x7f\\xff");
    CHECK(printable(std::string(500, 'a'), 10).size() == 10);
}
