// Failure injection after Beast's fail_count: for each operation, over HTTP and HTTPS, on a new
// connection and on a pooled one, the k-th I/O step (connect, TLS handshake, write, read) fails
// for k = 1, 2, ... until the operation completes without reaching k. Every failure ends in the
// error documented for its step, and the next operation on the same client succeeds.
//
// The client has no close step to fail: it drops a connection by destroying its stream (no
// TLS close_notify), so the server side seeing EOF is what is checked instead.
#include "support/client_fixture.hpp"
#include "support/memory_server.hpp"

#include "sansio/classify.hpp"

#include <boost/beast/_experimental/test/error.hpp>
#include <boost/beast/_experimental/test/fail_count.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace plexbutler;
using namespace plexbutler::test;
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

// One operation: how to run it, what a correct success looks like, and the response it gets,
// in two parts (header and body for the list; two halves of the header for the start/stop
// operations, which have no body), each read separately: a response takes at least two reads.
struct operation {
    const char* name;
    std::string request_line;
    std::string first_part;
    std::string second_part;
    std::function<asio::awaitable<result<void>>(client&)> run;
};

// Runs `call`, checks a success with `good`, and keeps only the failure, if any.
template <class Call, class Good>
std::function<asio::awaitable<result<void>>(client&)> checked(Call call, Good good)
{
    return [call, good](client& c) -> asio::awaitable<result<void>> {
        auto r = co_await call(c);
        if (!r)
            co_return r.error();
        CHECK(good(*r));
        co_return result<void>{};
    };
}

std::vector<operation> operations()
{
    const std::string list_response = tasks_ok();
    const auto list_body = list_response.find("\r\n\r\n") + 4;
    const std::string empty_200 = http_response(200, "");
    const auto half = empty_200.size() / 2;
    auto outcome_is = [](task_outcome o) { return [o](const task_response& r) { return r.content == o; }; };
    return {
        {"list", "GET /butler", list_response.substr(0, list_body), list_response.substr(list_body),
         checked([](client& c) { return c.try_get_butler_tasks(); },
                 [](const tasks_response& r) {
                     return r.content.tasks.size() == 2 && r.content.tasks[0].name == "BackupDatabase";
                 })},
        {"start all", "POST /butler", empty_200.substr(0, half), empty_200.substr(half),
         checked([](client& c) { return c.try_start_all_tasks(); }, outcome_is(task_outcome::started))},
        {"stop all", "DELETE /butler", empty_200.substr(0, half), empty_200.substr(half),
         checked([](client& c) { return c.try_stop_all_tasks(); }, outcome_is(task_outcome::stopped))},
        {"start one", "POST /butler/BackupDatabase", empty_200.substr(0, half), empty_200.substr(half),
         checked([](client& c) { return c.try_start_task("BackupDatabase"); }, outcome_is(task_outcome::started))},
        {"stop one", "DELETE /butler/BackupDatabase", empty_200.substr(0, half), empty_200.substr(half),
         checked([](client& c) { return c.try_stop_task("BackupDatabase"); }, outcome_is(task_outcome::stopped))},
    };
}

// The error each failed step must end in. An injected beast::test::error::test_failure is no error
// map_transport_error knows: it takes the fallback, connection_closed, which is also what a real
// unexpected I/O error of the socket reports.
error expected_error(io_step s)
{
    switch (s) {
    case io_step::connect: return error::connect_failed;
    case io_step::handshake: return error::tls_handshake_failed;
    case io_step::write:
    case io_step::read: return error::connection_closed;
    }
    return error::connection_closed;
}

const std::string injected_message = beast::error_code(beast::test::error::test_failure).message();

// What the loop over k saw for one operation.
struct sweep {
    std::size_t iterations = 0;
    std::map<io_step, std::size_t> failed; // how many iterations failed at each step
    bool body_read_failed = false;         // a read failed after the status was parsed
};

// Runs `op` with the k-th step failing, for k = 1, 2, ... until it succeeds without reaching k.
// `warm`: the client first completes one operation, so the injected one runs on a pooled connection.
sweep run_sweep(const operation& op, bool https, bool warm)
{
    sweep out;
    for (std::size_t k = 1;; ++k) {
        INFO(op.name << (https ? " over https" : " over http") << (warm ? " (pooled connection)" : "")
                     << ", failing step " << k);
        REQUIRE(k < 40); // an operation takes a handful of steps: a runaway loop is a defect
        asio::io_context ctx;
        memory_server server(ctx);
        server.set_default(script{}.read_request().send(op.first_part).send(op.second_part).repeat());
        // Both parts may be waiting when the client reads: a read takes at most the first part.
        server.set_read_size(op.first_part.size());
        client_options o;
        o.server_url = https ? "https://butler.test:32400" : "http://butler.test:32400";
        client c = server.make_client(o);
        if (warm)
            REQUIRE(run_on(ctx, op.run(c)).has_value());
        const auto requests_before = server.requests().size();
        const auto connections_before = server.connections();

        beast::test::fail_count fc(k);
        server.faults().arm(fc);
        auto r = run_on(ctx, op.run(c));
        server.faults().disarm();
        const auto& f = server.faults();
        ++out.iterations;

        if (!f.failed) {
            // k is past the last step: the operation ran every step and succeeded.
            REQUIRE(r.has_value());
            REQUIRE(f.steps.size() == k - 1);
            CHECK(server.requests().size() == requests_before + 1);
            // A pooled connection is reused: no connect, no handshake.
            CHECK(f.steps.front() == (warm ? io_step::write : io_step::connect));
            c.shutdown();
            drain(ctx);
            return out;
        }
        // The k-th step failed; fail_count fails every step after it too, so none may follow.
        REQUIRE(*f.failed == k - 1);
        REQUIRE(f.steps.size() == k);
        const io_step step = f.steps.back();
        INFO("failed step: " << to_string(step));
        ++out.failed[step];
        REQUIRE_FALSE(r.has_value());
        const failure& e = r.error();
        CHECK(e.code == expected_error(step));
        CHECK(e.diag.request_line == op.request_line);
        CHECK(e.diag.server == "butler.test:32400");
        switch (step) {
        case io_step::connect:
            CHECK(e.diag.server_message == "to the memory server: " + injected_message);
            CHECK(server.connections() == connections_before); // the server never saw it
            break;
        case io_step::handshake:
            CHECK(e.diag.server_message == "with the memory server: " + injected_message);
            CHECK(server.connections() == connections_before + 1);
            break;
        case io_step::write:
        case io_step::read:
            CHECK(e.diag.server_message == detail::printable(injected_message));
            CHECK((e.diag.http_status == 0 || e.diag.http_status == 200));
            if (e.diag.http_status == 200)
                out.body_read_failed = true;
            break;
        }
        // Sent at most once: no retry of the (non-idempotent) request, and nothing when the write failed.
        CHECK(server.requests().size() == requests_before + (step == io_step::read ? 1 : 0));

        // The failed connection is dropped, not pooled: the server side reads EOF and ends.
        CHECK(settle(ctx, [&] { return c.stats().open == 0 && server.open_connections() == 0; }));
        // And the same client recovers.
        auto again = run_on(ctx, op.run(c));
        CHECK(again.has_value());
        CHECK(settle(ctx, [&] { return c.stats().busy == 0 && c.stats().open == 1; }));
        c.shutdown();
        drain(ctx);
    }
}

void check_operation(const operation& op, bool https, bool warm)
{
    const auto s = run_sweep(op, https, warm);
    INFO(op.name << (https ? " over https" : " over http") << (warm ? " (pooled connection)" : "") << ": "
                 << s.iterations << " iterations");
    // k walked through every step of the operation.
    CHECK(s.failed.count(io_step::connect) == (warm ? 0 : 1));
    CHECK(s.failed.count(io_step::handshake) == (https && !warm ? 1 : 0));
    CHECK(s.failed.count(io_step::write) == 1);
    CHECK(s.failed.count(io_step::read) == 1);
    CHECK(s.failed.at(io_step::read) >= 2); // the response takes at least two reads
    if (std::string_view(op.name) == "list")
        CHECK(s.body_read_failed);
}

} // namespace

TEST_CASE("fail injection: every step of every operation fails cleanly over http", "[client][failure][inject]")
{
    for (const auto& op : operations()) {
        check_operation(op, false, false);
        check_operation(op, false, true);
    }
}

TEST_CASE("fail injection: every step of every operation fails cleanly over https", "[client][failure][inject]")
{
    for (const auto& op : operations()) {
        check_operation(op, true, false);
        check_operation(op, true, true);
    }
}
