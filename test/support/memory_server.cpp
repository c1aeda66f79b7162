#include "support/memory_server.hpp"
#include "support/script_player.hpp"

#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <deque>
#include <type_traits>

namespace plexbutler::test {

namespace asio = boost::asio;

struct memory_server::state {
    std::deque<script> queue;
    script fallback = script{}.close();
    std::size_t refused = 0;
    std::vector<std::string> requests;
    std::size_t accepted = 0;
    std::size_t read_size = 0; // 0: no limit
    std::size_t serving = 0;   // server sides still running
    std::shared_ptr<fault_injector> faults = std::make_shared<fault_injector>();
    std::shared_ptr<asio::ssl::context> server_tls; // made on the first https client
    std::string cert_pem;                           // its certificate: the trust anchor of the clients
};

namespace {

using tls_peer = asio::ssl::stream<boost::beast::test::stream>;

// A named function, not a coroutine lambda, and no temporaries in the co_await expression:
// g++ 12 copies those into the frame bytewise (a shared_ptr copied so is released twice).
template <class Peer>
asio::awaitable<void> serve(std::shared_ptr<Peer> peer, script sc, std::shared_ptr<memory_server::state> s)
{
    ++s->serving;
    struct done {
        memory_server::state& s;
        ~done() { --s.serving; } // also when the io_context destroys the unfinished coroutine
    } guard{*s};
    if constexpr (std::is_same_v<Peer, tls_peer>) {
        boost::system::error_code ec;
        co_await peer->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return; // the client gave up (or failed) its handshake
    }
    manual_timer timer(co_await asio::this_coro::executor);
    std::function<void(std::string)> record = [s](std::string r) { s->requests.push_back(std::move(r)); };
    auto close = [](Peer& st, bool abortive) {
        if (abortive)
            return; // dropping the stream when the script ends makes the peer's writes fail (reset)
        if constexpr (std::is_same_v<Peer, tls_peer>)
            st.next_layer().close(); // the peer reads EOF without close_notify
        else
            st.close(); // the peer reads EOF
    };
    co_await play_script(*peer, timer, sc, record, close);
}

void make_tls_material(memory_server::state& s)
{
    if (s.server_tls)
        return;
    auto pair = emulator::make_self_signed_certificate("butler.test");
    s.server_tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    s.server_tls->use_certificate_chain(asio::buffer(pair.cert_pem));
    s.server_tls->use_private_key(asio::buffer(pair.key_pem), asio::ssl::context::pem);
    s.cert_pem = std::move(pair.cert_pem);
}

} // namespace

memory_server::memory_server(asio::io_context& ctx) : ctx_(ctx), s_(std::make_shared<state>()) {}

void memory_server::push(script s) { s_->queue.push_back(std::move(s)); }

void memory_server::set_default(script s) { s_->fallback = std::move(s); }

void memory_server::refuse(std::size_t n) { s_->refused += n; }

void memory_server::set_read_size(std::size_t n) { s_->read_size = n; }

std::vector<std::string> memory_server::requests() const { return s_->requests; }

std::size_t memory_server::connections() const { return s_->accepted; }

std::size_t memory_server::open_connections() const { return s_->serving; }

fault_injector& memory_server::faults() noexcept { return *s_->faults; }

client memory_server::make_client(client_options opts, detail::pool_tuning tuning)
{
    if (opts.server_url.empty())
        opts.server_url = "http://butler.test:32400";
    if (opts.token.empty())
        opts.token = "memory-token";
    if (opts.server_url.starts_with("https:")) {
        make_tls_material(*s_);
        if (!opts.ssl_context) {
            opts.ssl_context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
            opts.ssl_context->add_certificate_authority(asio::buffer(s_->cert_pem));
        }
    }
    return make_memory_client(
        ctx_, std::move(opts),
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
            if (s->read_size > 0)
                c.raw().read_size(s->read_size);
            if (c.tls()) {
                auto peer = std::make_shared<tls_peer>(ctx, *s->server_tls);
                c.raw().connect(peer->next_layer());
                asio::co_spawn(ctx, serve(std::move(peer), std::move(sc), s), asio::detached);
            } else {
                auto peer = std::make_shared<boost::beast::test::stream>(ctx);
                c.raw().connect(*peer);
                asio::co_spawn(ctx, serve(std::move(peer), std::move(sc), s), asio::detached);
            }
            return {};
        },
        s_->faults, tuning);
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
