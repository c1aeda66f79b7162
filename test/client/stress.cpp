// Concurrency: thousands of operations over a small pool, on one thread and on four.
#include "support/client_fixture.hpp"

#include <atomic>
#include <thread>

using namespace plexbutler;
using namespace plexbutler::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

struct tally {
    std::atomic<int> ok{0}, failed{0}, done{0};
};

void run_many(int threads, int operations)
{
    scripted_server server;
    server.set_default(script{}.respond(tasks_ok()).repeat());
    asio::io_context ctx(threads);
    auto o = options_for(server);
    o.request_timeout = 20000ms; // queueing 2,000 calls behind 8 connections takes a while under sanitizers
    client c(ctx, o);
    tally t;
    for (int i = 0; i < operations; ++i) {
        // Captureless with parameters: a coroutine lambda's captures live in the lambda object, which
        // is gone when the coroutine runs (ASan: stack-use-after-scope); parameters are copied into the frame.
        auto op = [](client& cl, int n) -> asio::awaitable<bool> {
            // Mix the operations; the scripted server answers 200 with a task list to all of them.
            if (n % 3 == 0) {
                auto r = co_await cl.try_get_butler_tasks();
                co_return r.has_value() && r->content.tasks.size() == 2;
            }
            auto r = co_await cl.try_start_task("BackupDatabase");
            co_return r.has_value() && r->content == task_outcome::started;
        };
        asio::co_spawn(ctx, op(c, i), [&t, &c, operations](std::exception_ptr e, bool good) {
            (good && !e ? t.ok : t.failed).fetch_add(1);
            if (t.done.fetch_add(1) + 1 == operations)
                c.shutdown(); // lets run() return: no idle timer, no connections
        });
    }
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i)
        pool.emplace_back([&ctx] { ctx.run(); });
    ctx.run();
    for (auto& th : pool)
        th.join();
    CHECK(t.ok == operations);
    CHECK(t.failed == 0);
    auto s = c.stats();
    CHECK(s.connections_created <= 8);
    CHECK(s.connections_created >= 1);
    CHECK(s.requests_served == static_cast<std::uint64_t>(operations));
    CHECK(s.requests_retried == 0);
    CHECK(s.busy == 0);
    CHECK(s.waiting == 0);
    CHECK(s.open == 0);
    CHECK(server.requests().size() == static_cast<std::size_t>(operations));
    CHECK(server.connections() <= 8);
}

} // namespace

TEST_CASE("stress: 2,000 concurrent operations over 8 connections, one thread", "[client][stress]")
{
    run_many(1, 2000);
}

TEST_CASE("stress: 2,000 concurrent operations over 8 connections, io_context run by 4 threads", "[client][stress]")
{
    run_many(4, 2000);
}
