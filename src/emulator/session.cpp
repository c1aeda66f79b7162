#include "emulator/session.hpp"

#include "util/ascii.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <openssl/err.h>

#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace plexbutler::emulator::detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::uint32_t max_header_bytes = 16 * 1024;
constexpr std::uint64_t max_body_bytes = 64 * 1024;
constexpr std::chrono::seconds linger_time{2};

/// A Beast parser that keeps only what the emulator needs, in reused strings:
/// no per-request allocation once the strings have grown.
class request_reader final : public http::basic_parser<true> {
public:
    request_reader()
    {
        header_limit(max_header_bytes);
        body_limit(max_body_bytes);
    }
    void reset_fields()
    {
        method_ = http::verb::unknown;
        method_str_.clear();
        target_.clear();
        token_.clear();
        has_token_ = false;
        accept_.clear();
        accepts_.clear();
    }
    const std::string& method_string() const noexcept { return method_str_; }
    request_view view() const noexcept
    {
        request_view v;
        v.method = method_;
        v.target = target_;
        if (has_token_)
            v.token = token_;
        v.accept = accept_;
        v.accepts = accepts_;
        return v;
    }

private:
    void on_request_impl(http::verb method, beast::string_view method_str, beast::string_view target, int,
                         error_code&) override
    {
        method_ = method;
        method_str_.assign(method_str.data(), method_str.size());
        target_.assign(target.data(), target.size());
    }
    void on_response_impl(int, beast::string_view, int, error_code& ec) override { ec = http::error::bad_method; }
    void on_field_impl(http::field f, beast::string_view name, beast::string_view value, error_code&) override
    {
        if (f == http::field::accept) {
            accept_.assign(value.data(), value.size());
        } else if (f == http::field::unknown) {
            const std::string_view n{name.data(), name.size()};
            if (plexbutler::detail::iequals(n, "X-Plex-Token")) {
                token_.assign(value.data(), value.size());
                has_token_ = true;
            } else if (plexbutler::detail::iequals(n, "accepts")) {
                accepts_.assign(value.data(), value.size());
            }
        }
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(beast::string_view body, error_code&) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override { return body.size(); }
    void on_finish_impl(error_code&) override {}

    http::verb method_ = http::verb::unknown;
    std::string method_str_;
    std::string target_;
    std::string token_;
    bool has_token_ = false;
    std::string accept_;
    std::string accepts_;
};

template <class Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
public:
    static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

    template <class... Args>
    session(session_host& host, tcp::socket socket, Args&... args)
        : host_(host), stream_(std::move(socket), args...), deadline_timer_(stream_.get_executor()),
          latency_timer_(stream_.get_executor())
    {
    }

    /// Presents `id` instead of the context's certificate (before `run`).
    void use_identity(const tls_identity& id)
    {
        if constexpr (is_tls) {
            SSL* ssl = stream_.native_handle();
            if (SSL_use_certificate(ssl, id.certificate) != 1 || SSL_use_PrivateKey(ssl, id.key) != 1) {
                ERR_clear_error();
                closed_ = true; // `run` closes it
            }
        }
    }
    ~session() override { host_.sessions.remove(this); }

    void run()
    {
        host_.sessions.add(this, this->weak_from_this());
        if (closed_) {
            closed_ = false;
            return close();
        }
        arm(host_.request_timeout);
        watch();
        if constexpr (is_tls) {
            stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
                if (ec || self->closed_)
                    return self->close();
                self->read();
            });
        } else {
            read();
        }
    }

    /// The executor all of this connection's handlers run on.
    asio::any_io_executor get_executor() { return stream_.get_executor(); }

    void close_from_server() override
    {
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
    }

private:
    tcp::socket& socket() noexcept { return beast::get_lowest_layer(stream_); }

    void arm(std::chrono::steady_clock::duration d) { deadline_ = std::chrono::steady_clock::now() + d; }

    /// One lazily re-armed timer per connection: progress only moves `deadline_`.
    void watch()
    {
        deadline_timer_.expires_at(deadline_);
        deadline_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
            if (ec || self->closed_)
                return;
            if (std::chrono::steady_clock::now() >= self->deadline_)
                return self->close();
            self->watch();
        });
    }

    /// Waits for the next request. Over TCP it waits holding no buffer: an idle keep-alive
    /// connection costs its socket and this object only (a fleet keeps thousands of them). Over
    /// TLS it reads at once: Asio's stream may hold bytes of the next record already, where a
    /// wait on the socket would not see them.
    void read()
    {
        arm(host_.request_timeout);
        if (is_tls || buffer_.size() > 0) {
            read_request(); // TLS, or pipelined bytes that are there already
            return;
        }
        parser_.reset();
        buffer_.shrink_to_fit();
        if (out_.capacity() > 0)
            std::string().swap(out_);
        socket().async_wait(tcp::socket::wait_read, [self = this->shared_from_this()](error_code ec) {
            if (ec || self->closed_)
                return self->close();
            self->read_request();
        });
    }

    void read_request()
    {
        parser_.emplace();
        parser_->reset_fields();
        http::async_read(stream_, buffer_, *parser_,
                         [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(error_code ec)
    {
        if (closed_)
            return;
        if (ec)
            return on_read_error(ec);
        ++responses_;
        const unsigned close_after = host_.close_after.load(std::memory_order_relaxed);
        const bool must_close = !parser_->keep_alive() || host_.stopping.load(std::memory_order_relaxed) ||
                                host_.down.load(std::memory_order_relaxed) ||
                                (close_after != 0 && responses_ >= close_after);
        const request_view req = parser_->view();
        auto a = host_.routes.handle(req, must_close, std::chrono::system_clock::now(), out_);
        pinned_ = std::move(a.keep);
        if (!host_.quiet)
            std::fputs(log_line(parser_->method_string(), req.target, a.status, host_.log_label).c_str(), stderr);
        const auto latency = host_.latency();
        if (a.latency_applies && latency.count() > 0) {
            arm(latency + host_.request_timeout);
            latency_timer_.expires_after(latency);
            latency_timer_.async_wait([self = this->shared_from_this(), bytes = a.bytes, must_close](error_code e) {
                if (e || self->closed_)
                    return self->close();
                self->write(*bytes, must_close);
            });
            return;
        }
        write(*a.bytes, must_close);
    }

    /// A request Beast could not parse gets a status and a close; a broken connection just closes.
    void on_read_error(error_code ec)
    {
        static const auto& http_category = http::make_error_code(http::error::bad_target).category();
        if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec.category() != http_category)
            return close();
        const auto a = host_.routes.reject(ec == http::error::header_limit ? malformed::header_too_large
                                           : ec == http::error::body_limit ? malformed::body_too_large
                                                                           : malformed::bad_request);
        if (!host_.quiet) {
            const std::string line =
                "emulator: malformed request (" + ec.message() + ") -> " + std::to_string(a.status) + "\n";
            std::fputs(line.c_str(), stderr);
        }
        write(*a.bytes, true);
    }

    void write(const std::string& bytes, bool then_close)
    {
        arm(host_.request_timeout);
        asio::async_write(stream_, asio::buffer(bytes),
                          [self = this->shared_from_this(), then_close](error_code ec, std::size_t) {
                              self->pinned_.reset();
                              if (ec || self->closed_)
                                  return self->close();
                              if (then_close)
                                  return self->graceful_close();
                              self->read();
                          });
    }

    /// Half-close and drain what the peer still sends, so unread input does not turn our
    /// last response into a TCP reset before the peer has read it.
    void graceful_close()
    {
        arm(linger_time);
        watch(); // the pending watch may be set for a later deadline: replace it

        if constexpr (is_tls) {
            stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->close(); });
        } else {
            error_code ignored;
            socket().shutdown(tcp::socket::shutdown_send, ignored);
            drain();
        }
    }

    void drain()
    {
        if (!drain_buf_)
            drain_buf_ = std::make_unique<std::array<char, 4096>>();
        socket().async_read_some(asio::buffer(*drain_buf_),
                                 [self = this->shared_from_this()](error_code ec, std::size_t) {
                                     if (ec || self->closed_)
                                         return self->close();
                                     self->drain();
                                 });
    }

    void close()
    {
        if (closed_)
            return;
        closed_ = true;
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
        deadline_timer_.cancel();
        latency_timer_.cancel();
    }

    session_host& host_;
    Stream stream_;
    asio::steady_timer deadline_timer_;
    asio::steady_timer latency_timer_;
    std::chrono::steady_clock::time_point deadline_{};
    beast::flat_buffer buffer_{64 * 1024 + 16 * 1024};
    std::optional<request_reader> parser_;
    std::string out_;
    std::shared_ptr<const void> pinned_;                // keeps the bytes being written alive
    std::unique_ptr<std::array<char, 4096>> drain_buf_; // only while closing
    unsigned responses_ = 0;
    bool closed_ = false;
};

template <class Session>
void run_on_own_executor(std::shared_ptr<Session> s)
{
    // Start on the connection's own executor (its strand with several threads), not the acceptor's.
    auto ex = s->get_executor();
    asio::dispatch(ex, [s = std::move(s)] { s->run(); });
}

} // namespace

void session_registry::add(session_base* s, std::weak_ptr<session_base> w)
{
    std::lock_guard lock(mutex_);
    sessions_.emplace(s, std::move(w));
    ++live_;
}

void session_registry::remove(session_base* s)
{
    std::lock_guard lock(mutex_);
    sessions_.erase(s);
    --live_;
}

void session_registry::close_all()
{
    std::vector<std::shared_ptr<session_base>> live;
    {
        std::lock_guard lock(mutex_);
        for (auto& [p, w] : sessions_)
            if (auto s = w.lock())
                live.push_back(std::move(s));
    }
    for (auto& s : live)
        s->close_from_server();
}

void start_session(session_host& host, tcp::socket socket, ssl::context* tls, const tls_identity* identity)
{
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls != nullptr) {
        auto s = std::make_shared<session<ssl::stream<tcp::socket>>>(host, std::move(socket), *tls);
        if (identity != nullptr)
            s->use_identity(*identity);
        run_on_own_executor(std::move(s));
    } else
        run_on_own_executor(std::make_shared<session<tcp::socket>>(host, std::move(socket)));
}

} // namespace plexbutler::emulator::detail
