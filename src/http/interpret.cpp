#include "http/interpret.hpp"

namespace plexbutler::detail {

namespace {

long long to_ms(std::chrono::milliseconds d) { return static_cast<long long>(d.count()); }

} // namespace

failure request_context::fail(error e, operation_kind op, std::string_view name, std::string message,
                              unsigned status) const
{
    failure f;
    f.code = e;
    f.diag.http_status = status;
    f.diag.server_message = redact(std::move(message), opts.token);
    f.diag.request_line = req.request_line(op, name);
    f.diag.server = ep.server;
    return f;
}

std::string request_context::transport_message(error e, const boost::system::error_code& ec,
                                               std::chrono::milliseconds timeout) const
{
    switch (e) {
    case error::timeout:
        return "after " + std::to_string(to_ms(timeout)) + " ms waiting for response from " + ep.server;
    case error::cancelled: return "while waiting for response from " + ep.server;
    case error::header_too_large: return "response header exceeds " + std::to_string(opts.max_header_bytes) + " bytes";
    case error::body_too_large: return "response body exceeds " + std::to_string(opts.max_body_bytes) + " bytes";
    default: return printable(ec.message());
    }
}

template <class Content>
result<response<Content>> interpret(const request_context& ctx, operation_kind op, std::string_view name,
                                    const response_sink& s, response<Content>& r)
{
    const auto& opts = ctx.opts;
    const json_limits limits{opts.max_json_depth, opts.max_body_bytes};
    if (!is_identity_encoding(s.content_encoding))
        return ctx.fail(error::unsupported_content_encoding, op, name,
                        "Content-Encoding: " + printable(s.content_encoding, 64), s.status);
    auto cls = classify_status(op, s.status);
    if (!cls.success) {
        // describe() already prints the status: the message is the reason phrase, and nothing
        // when the body carries Plex errors (they say more than the phrase).
        auto f = ctx.fail(cls.err, op, name,
                          cls.err == error::redirect_not_followed ? redirect_message(s.status, s.location)
                                                                  : printable(s.reason, 100),
                          s.status);
        if (is_json_content_type(s.content_type) && !s.body.empty()) {
            if (auto pe = parse_plex_errors(s.body, limits); pe && !pe->errors.empty()) {
                f.diag.plex_errors = std::move(pe->errors);
                // A server may echo the token in its error text: it reaches what() and logs.
                for (auto& e : f.diag.plex_errors)
                    if (e.message)
                        e.message = redact(std::move(*e.message), opts.token);
                if (cls.err != error::redirect_not_followed)
                    f.diag.server_message.clear();
            }
        }
        return f;
    }
    if constexpr (std::is_same_v<Content, butler_task_list>) {
        if (!is_json_content_type(s.content_type))
            return ctx.fail(error::unexpected_content_type, op, name,
                            "expected application/json, got '" + printable(s.content_type, 100) + "'", s.status);
        auto decoded = parse_task_list_into(s.body, r.content, limits);
        if (!decoded) {
            auto f = ctx.fail(error::json_decode_failed, op, name, decoded.error().diag.server_message, s.status);
            f.code = decoded.error().code;
            return f;
        }
    } else {
        r.content = cls.outcome;
    }
    // assign, not operator= from a copy: the strings keep the capacity of a reused response
    r.status = s.status;
    r.content_type.assign(s.content_type);
    r.raw.version = s.version;
    r.raw.status = s.status;
    r.raw.reason.assign(s.reason);
    r.raw.fields.assign(s.fields);
    return std::move(r);
}

template result<response<butler_task_list>> interpret(const request_context&, operation_kind, std::string_view,
                                                      const response_sink&, response<butler_task_list>&);
template result<response<task_outcome>> interpret(const request_context&, operation_kind, std::string_view,
                                                  const response_sink&, response<task_outcome>&);

} // namespace plexbutler::detail
