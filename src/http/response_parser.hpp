#ifndef PLEXBUTLER_HTTP_RESPONSE_PARSER_HPP
#define PLEXBUTLER_HTTP_RESPONSE_PARSER_HPP

// The client's HTTP/1.1 response parser: Beast's basic_parser writing into a reusable
// response_sink (no allocation per header field). Beast enforces the header and body limits.

#include "util/ascii.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <iterator>

#include <cstdint>
#include <string>

namespace plexbutler::detail {

/// What the client keeps of a response; its strings keep their capacity across requests.
struct response_sink {
    unsigned version = 0;
    unsigned status = 0;
    std::string reason;
    std::string fields; ///< `Name: value\r\n` per field, in received order.
    std::string content_type;
    std::string content_encoding;
    std::string location;
    std::string retry_after;
    std::string body;

    void clear() noexcept
    {
        version = status = 0;
        reason.clear();
        fields.clear();
        content_type.clear();
        content_encoding.clear();
        location.clear();
        retry_after.clear();
        body.clear();
    }

    /// Clears and frees every string (an idle connection keeps no response).
    void release() noexcept
    {
        version = status = 0;
        for (auto* s : {&reason, &fields, &content_type, &content_encoding, &location, &retry_after, &body})
            std::string().swap(*s);
    }
};

/// A Beast response parser writing into a `response_sink` instead of allocating
/// a `basic_fields` node per header field. Beast enforces the header and body limits.
class sink_parser final : public boost::beast::http::basic_parser<false> {
public:
    /// `body_limit` is also the budget of chunked framing (chunk headers and extensions), which
    /// Beast does not bound on its own: an endless stream of tiny chunks fails as body_limit.
    sink_parser(response_sink& sink, std::uint64_t body_limit) noexcept : sink_(sink), budget_(body_limit)
    {
        this->body_limit(body_limit);
    }

private:
    using error_code = boost::beast::error_code;
    using string_view = boost::beast::string_view;
    using field = boost::beast::http::field;

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code& ec) override
    {
        ec = boost::beast::http::error::bad_method; // unreachable for a response parser
    }
    void on_response_impl(int code, string_view reason, int version, error_code&) override
    {
        sink_.status = static_cast<unsigned>(code);
        sink_.version = static_cast<unsigned>(version);
        sink_.reason.assign(reason.data(), reason.size());
    }
    void on_field_impl(field name, string_view name_string, string_view value, error_code&) override
    {
        // Beast reports trailer fields here too. They may be discarded (RFC 9112 §7.1.2) and must
        // not be merged into the header (RFC 9110 §6.5.1): a trailer is no Content-Type or Retry-After.
        if (this->is_header_done())
            return;
        if (name == field::transfer_encoding) {
            // The client sends no TE field, so chunked is the only acceptable coding (RFC 9110
            // §10.1.4). Beast would frame `gzip` alone by Content-Length or by close and hand over
            // the coded bytes as the body: refused in on_header_impl instead.
            const boost::beast::http::token_list codings{value};
            if (std::distance(codings.begin(), codings.end()) != 1 || !iequals(*codings.begin(), "chunked"))
                foreign_coding_ = true;
        }
        sink_.fields.append(name_string.data(), name_string.size())
            .append(": ")
            .append(value.data(), value.size())
            .append("\r\n");
        auto keep_first = [&](std::string& slot) {
            if (slot.empty())
                slot.assign(value.data(), value.size());
        };
        switch (name) {
        case field::content_type: keep_first(sink_.content_type); break;
        case field::location: keep_first(sink_.location); break;
        case field::retry_after: keep_first(sink_.retry_after); break;
        case field::content_encoding:
            // Several Content-Encoding fields stack; any non-identity one is rejected later.
            if (!sink_.content_encoding.empty())
                sink_.content_encoding.append(",");
            sink_.content_encoding.append(value.data(), value.size());
            break;
        default: break;
        }
    }
    void on_header_impl(error_code& ec) override
    {
        if (foreign_coding_)
            ec = boost::beast::http::error::bad_transfer_encoding;
    }
    void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override
    {
        if (length)
            sink_.body.reserve(static_cast<std::size_t>(*length)); // Beast already checked it against body_limit
    }
    std::size_t on_body_impl(string_view body, error_code&) override
    {
        sink_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view extensions, error_code& ec) override
    {
        framing_ += extensions.size() + 8; // size line and CRLFs, roughly
        if (framing_ + sink_.body.size() > budget_)
            ec = boost::beast::http::error::body_limit;
    }
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override
    {
        sink_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(error_code&) override {}

    response_sink& sink_;
    std::uint64_t budget_;
    std::uint64_t framing_ = 0;
    bool foreign_coding_ = false; // a Transfer-Encoding other than exactly `chunked`
};

} // namespace plexbutler::detail

#endif
