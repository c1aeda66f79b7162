#include "support/scripted_server.hpp"
#include "support/script_player.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>

namespace plexbutler::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

script& script::read_request()
{
    steps_.push_back({script_step::kind::read_request, {}, {}, 1});
    return *this;
}
script& script::send(std::string bytes)
{
    steps_.push_back({script_step::kind::send, std::move(bytes), {}, 1});
    return *this;
}
script& script::drip(std::string bytes, std::chrono::milliseconds interval, std::size_t chunk)
{
    steps_.push_back({script_step::kind::drip, std::move(bytes), interval, chunk == 0 ? 1 : chunk});
    return *this;
}
script& script::pause(std::chrono::milliseconds d)
{
    steps_.push_back({script_step::kind::pause, {}, d, 1});
    return *this;
}
script& script::close()
{
    steps_.push_back({script_step::kind::close, {}, {}, 1});
    return *this;
}
script& script::reset()
{
    steps_.push_back({script_step::kind::reset, {}, {}, 1});
    return *this;
}
script& script::hang()
{
    steps_.push_back({script_step::kind::hang, {}, {}, 1});
    return *this;
}
script& script::repeat()
{
    steps_.push_back({script_step::kind::repeat, {}, {}, 1});
    return *this;
}

std::string http_response(unsigned status, std::string_view body, std::string_view content_type,
                          std::string_view extra_headers, std::string_view reason)
{
    std::string r = "HTTP/1.1 " + std::to_string(status) + " ";
    r += reason.empty() ? (status < 300   ? "OK"
                           : status < 400 ? "Redirect"
                           : status < 500 ? "Client Error"
                                          : "Server Error")
                        : std::string(reason);
    r += "\r\n";
    if (!content_type.empty())
        r.append("Content-Type: ").append(content_type).append("\r\n");
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    r.append(extra_headers);
    r += "\r\n";
    r.append(body);
    return r;
}

struct scripted_server::impl : std::enable_shared_from_this<impl> {
    asio::io_context ctx{1};
    tcp::acceptor acceptor{ctx};
    mutable std::mutex mu;
    mutable std::condition_variable cv;
    std::deque<script> queue;
    script fallback = script{}.close();
    std::vector<std::string> requests;
    std::size_t accepted = 0;
    std::vector<std::weak_ptr<tcp::socket>> sockets;

    script next_script()
    {
        std::lock_guard lk(mu);
        ++accepted;
        if (queue.empty())
            return fallback;
        auto s = std::move(queue.front());
        queue.pop_front();
        return s;
    }

    void record(std::string req)
    {
        {
            std::lock_guard lk(mu);
            requests.push_back(std::move(req));
        }
        cv.notify_all();
    }

    asio::awaitable<void> accept_loop()
    {
        for (;;) {
            auto sock = std::make_shared<tcp::socket>(ctx);
            error_code ec;
            co_await acceptor.async_accept(*sock, asio::redirect_error(asio::use_awaitable, ec));
            if (ec)
                co_return;
            sockets.push_back(sock);
            asio::co_spawn(ctx, play(sock, next_script()), asio::detached);
        }
    }

    asio::awaitable<void> play(std::shared_ptr<tcp::socket> sock, script sc)
    {
        asio::steady_timer timer(ctx);
        // Named, not temporaries of the co_await expression: g++ 12 copies those into the frame bytewise.
        std::function<void(std::string)> record = [this](std::string r) {
            this->record(std::move(r));
        }; // impl owns the io_context running this
        auto close = [](tcp::socket& s, bool abortive) {
            error_code ec;
            if (abortive)
                s.set_option(asio::socket_base::linger(true, 0), ec); // the peer sees a reset
            else
                s.shutdown(tcp::socket::shutdown_send, ec);
            s.close(ec);
        };
        co_await play_script(*sock, timer, sc, record, close);
    }
};

scripted_server::scripted_server(std::string_view address) : impl_(std::make_shared<impl>())
{
    const auto addr = asio::ip::make_address(std::string(address));
    host_ = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
    tcp::endpoint ep(addr, 0);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    port_ = impl_->acceptor.local_endpoint().port();
    asio::co_spawn(impl_->ctx, impl_->accept_loop(), asio::detached);
    thread_ = std::thread([i = impl_] { i->ctx.run(); });
}

scripted_server::~scripted_server() { stop(); }

void scripted_server::stop()
{
    if (!thread_.joinable())
        return;
    asio::post(impl_->ctx, [i = impl_] {
        error_code ec;
        i->acceptor.close(ec);
        for (auto& w : i->sockets)
            if (auto s = w.lock())
                s->close(ec);
        i->ctx.stop();
    });
    thread_.join();
}

void scripted_server::push(script s)
{
    std::lock_guard lk(impl_->mu);
    impl_->queue.push_back(std::move(s));
}

void scripted_server::set_default(script s)
{
    std::lock_guard lk(impl_->mu);
    impl_->fallback = std::move(s);
}

std::string scripted_server::url() const { return "http://" + host_ + ":" + std::to_string(port_); }

std::vector<std::string> scripted_server::requests() const
{
    std::lock_guard lk(impl_->mu);
    return impl_->requests;
}

std::size_t scripted_server::connections() const
{
    std::lock_guard lk(impl_->mu);
    return impl_->accepted;
}

bool scripted_server::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const
{
    std::unique_lock lk(impl_->mu);
    return impl_->cv.wait_for(lk, timeout, [&] { return impl_->requests.size() >= n; });
}

} // namespace plexbutler::test
