#include "support/memory_server.hpp"
#include "support/script_player.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <deque>

namespace plexbutler::test {

namespace asio = boost::asio;

struct memory_server::state {
    std::deque<script> queue;
    script fallback = script{}.close();
    std::size_t refused = 0;
    std::vector<std::string> requests;
    std::size_t accepted = 0;
};

namespace {

// A named function, not a coroutine lambda, and no temporaries in the co_await expression:
// g++ 12 copies those into the frame bytewise (a shared_ptr copied so is released twice).
asio::awaitable<void> serve(std::shared_ptr<boost::beast::test::stream> peer, script sc,
                            std::shared_ptr<memory_server::state> s)
{
    manual_timer timer(co_await asio::this_coro::executor);
    std::function<void(std::string)> record = [s](std::string r) { s->requests.push_back(std::move(r)); };
    auto close = [](boost::beast::test::stream& st, bool abortive) {
        if (!abortive)
            st.close(); // the peer reads EOF
        // abortive: dropping the stream when the script ends makes the peer's writes fail (reset)
    };
    co_await play_script(*peer, timer, sc, record, close);
}

} // namespace

memory_server::memory_server(asio::io_context& ctx) : ctx_(ctx), s_(std::make_shared<state>()) {}

void memory_server::push(script s) { s_->queue.push_back(std::move(s)); }

void memory_server::set_default(script s) { s_->fallback = std::move(s); }

void memory_server::refuse(std::size_t n) { s_->refused += n; }

std::vector<std::string> memory_server::requests() const { return s_->requests; }

std::size_t memory_server::connections() const { return s_->accepted; }

client memory_server::make_client(client_options opts)
{
    if (opts.server_url.empty())
        opts.server_url = "http://butler.test:32400";
    if (opts.token.empty())
        opts.token = "memory-token";
    return make_memory_client(ctx_, std::move(opts),
                              [&ctx = ctx_, s = s_](memory_stream& c) -> boost::system::error_code {
                                  if (s->refused > 0) {
                                      --s->refused;
                                      return asio::error::connection_refused;
                                  }
                                  ++s->accepted;
                                  script sc = s->fallback;
                                  if (!s->queue.empty()) {
                                      sc = std::move(s->queue.front());
                                      s->queue.pop_front();
                                  }
                                  auto peer = std::make_shared<boost::beast::test::stream>(ctx);
                                  c.raw().connect(*peer);
                                  asio::co_spawn(ctx, serve(std::move(peer), std::move(sc), s), asio::detached);
                                  return {};
                              });
}

void drain(asio::io_context& ctx)
{
    ctx.restart();
    while (ctx.poll() > 0) {
    }
}

void advance_clock(asio::io_context& ctx, manual_clock::duration d)
{
    drain(ctx); // whatever was started at the old time starts before the clock moves
    manual_clock::advance(d);
    ctx.restart();
    ctx.run_for(std::chrono::milliseconds(2)); // the reactor looks at the timers every millisecond
    drain(ctx);
}

} // namespace plexbutler::test
