#ifndef PLEXBUTLER_HTTP_INTERPRET_HPP
#define PLEXBUTLER_HTTP_INTERPRET_HPP

// From a parsed response to the operation's result: content encoding, status, content type,
// JSON; and the failures of one request, described for diagnostics with the token redacted.

#include "http/request.hpp"
#include "http/response_parser.hpp"
#include "sansio/classify.hpp"

#include <plexbutler/client.hpp>
#include <plexbutler/models.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace plexbutler::detail {

/// What the failures of one client's requests are described with.
struct request_context {
    const client_options& opts;
    const endpoint& ep;
    const request_templates& req;

    /// A failure of `op` with `message` (redacted), the request line and the server.
    failure fail(error e, operation_kind op, std::string_view name, std::string message, unsigned status = 0) const;

    /// The message of a failed write or read that `map_transport_error` mapped to `e`.
    std::string transport_message(error e, const boost::system::error_code& ec,
                                  std::chrono::milliseconds timeout) const;
};

/// The result of `op` from the response in `s`. On success `r` is filled and moved into the
/// result (its strings and task vector reused); on failure it is left for the next attempt.
template <class Content>
result<response<Content>> interpret(const request_context& ctx, operation_kind op, std::string_view name,
                                    const response_sink& s, response<Content>& r);

extern template result<response<butler_task_list>> interpret(const request_context&, operation_kind, std::string_view,
                                                             const response_sink&, response<butler_task_list>&);
extern template result<response<task_outcome>> interpret(const request_context&, operation_kind, std::string_view,
                                                         const response_sink&, response<task_outcome>&);

} // namespace plexbutler::detail

#endif
