#include <plexbutler/emulator/scheduler.hpp>
#include <plexbutler/emulator/server.hpp>
#include <plexbutler/emulator/tls.hpp>

#include "emulator/router.hpp"
#include "emulator/session.hpp"
#include "emulator/splitmix.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_timer.hpp>

#include <atomic>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace plexbutler::emulator {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::chrono::seconds system_utc_offset(std::chrono::system_clock::time_point t)
{
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    if (localtime_r(&tt, &tm) == nullptr)
        return std::chrono::seconds{0};
    return std::chrono::seconds{tm.tm_gmtoff};
}

/// Throws std::invalid_argument on options that cannot work; returns them unchanged.
server_options validated(server_options o)
{
    if (o.threads == 0)
        throw std::invalid_argument("server_options.threads must be at least 1");
    if (!(o.fail_rate >= 0.0 && o.fail_rate <= 1.0))
        throw std::invalid_argument("server_options.fail_rate must be within [0, 1]");
    if (o.latency.count() < 0)
        throw std::invalid_argument("server_options.latency must not be negative");
    if (o.request_timeout.count() <= 0)
        throw std::invalid_argument("server_options.request_timeout must be positive");
    if (o.token && o.token->empty())
        throw std::invalid_argument("server_options.token must not be empty when set");
    // Checked before any certificate is made or file read.
    const bool files = !o.tls_cert_file.empty() || !o.tls_key_file.empty();
    if (files && !o.tls_self_signed_name.empty())
        throw std::invalid_argument("use either TLS certificate files or a self-signed certificate, not both");
    if (files && (o.tls_cert_file.empty() || o.tls_key_file.empty()))
        throw std::invalid_argument("HTTPS needs both a certificate file and a key file");
    return o;
}

std::uint64_t effective_seed(const server_options& o)
{
    return o.seed != 0 ? o.seed : std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32);
}

/// The scheduler over the configured catalogue, its local time and random source.
scheduler make_scheduler(const server_options& o, const std::vector<butler_task>& tasks, std::uint64_t seed)
{
    scheduler::options so;
    so.window = o.window;
    so.task_duration = o.task_duration;
    if (o.utc_offset) {
        const auto off = std::chrono::duration_cast<std::chrono::seconds>(*o.utc_offset);
        so.utc_offset = [off](scheduler::time_point) { return off; };
    } else {
        so.utc_offset = system_utc_offset;
    }
    auto engine = std::make_shared<std::mt19937_64>(detail::splitmix64(seed));
    so.random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
    return scheduler(tasks, std::move(so));
}

detail::router make_router(const server_options& o, std::uint64_t seed)
{
    const std::vector<butler_task> tasks = o.tasks ? *o.tasks : default_catalogue();
    detail::router::options ro;
    ro.token = o.token;
    ro.fail_rate = o.fail_rate;
    ro.seed = seed;
    ro.window = o.window;
    return detail::router(std::move(ro), tasks, make_scheduler(o, tasks, seed));
}

/// The TLS context the options ask for, or nullopt for plain HTTP (options already validated).
std::optional<ssl::context> make_tls_context(const server_options& o)
{
    std::optional<ssl::context> ctx;
    if (!o.tls_cert_file.empty()) {
        ctx.emplace(ssl::context::tls_server);
        try {
            ctx->use_certificate_chain_file(o.tls_cert_file);
            ctx->use_private_key_file(o.tls_key_file, ssl::context::pem);
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("cannot load TLS certificate/key (" + o.tls_cert_file + ", " + o.tls_key_file +
                                     "): " + e.code().message());
        }
    } else if (!o.tls_self_signed_name.empty()) {
        const auto pair = make_self_signed_certificate(o.tls_self_signed_name);
        ctx.emplace(ssl::context::tls_server);
        ctx->use_certificate_chain(asio::buffer(pair.cert_pem));
        ctx->use_private_key(asio::buffer(pair.key_pem), ssl::context::pem);
        if (!o.tls_write_ca_file.empty()) {
            std::ofstream f(o.tls_write_ca_file, std::ios::binary | std::ios::trunc);
            f << pair.cert_pem;
            f.close();
            if (!f)
                throw std::runtime_error("cannot write the CA file " + o.tls_write_ca_file);
        }
    }
    if (ctx) {
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    }
    return ctx;
}

detail::session_settings session_settings_of(const server_options& o)
{
    detail::session_settings s;
    s.request_timeout = o.request_timeout;
    s.latency = o.latency;
    s.close_after = o.close_after;
    s.quiet = o.quiet;
    return s;
}

} // namespace

struct server::impl {
    explicit impl(server_options o);
    ~impl() { stop(); }

    void wire_scheduler();
    void bind();
    void start_threads();
    void start_accept();
    void on_accept(error_code ec, tcp::socket socket);
    void stop();

    // Declared before the io_context: sessions destroyed with it still reach the registry.
    const server_options opts_;
    detail::router router_;
    detail::session_registry sessions_;
    std::atomic<bool> stopping_{false};
    detail::session_host host_;
    std::optional<ssl::context> ssl_;

    asio::io_context ioc_;
    asio::strand<asio::io_context::executor_type> accept_strand_;
    tcp::acceptor acceptor_;
    asio::system_timer tick_;
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    std::string url_;
    std::mutex stop_mutex_;
    bool stopped_ = false;
};

server::impl::impl(server_options o)
    : opts_(validated(std::move(o))),
      router_(make_router(opts_, effective_seed(opts_))), host_{router_, sessions_, stopping_,
                                                                session_settings_of(opts_)},
      ssl_(make_tls_context(opts_)), ioc_(static_cast<int>(opts_.threads)), accept_strand_(ioc_.get_executor()),
      acceptor_(accept_strand_), tick_(ioc_)
{
    wire_scheduler();
    bind();
    start_accept();
    start_threads();
}

/// Keeps `tick_` set for the scheduler's next event, so due tasks start and runs finish on time.
void server::impl::wire_scheduler()
{
    // The router calls the hook with its lock held, which also serialises the uses of `tick_`.
    router_.set_schedule_hook([this](std::optional<std::chrono::system_clock::time_point> next) {
        if (!next) {
            tick_.cancel();
            return;
        }
        tick_.expires_at(*next);
        tick_.async_wait([this](error_code ec) {
            if (ec)
                return;
            router_.advance(std::chrono::system_clock::now());
        });
    });
}

void server::impl::bind()
{
    std::string host = opts_.listen_host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host == "localhost")
        host = "127.0.0.1";
    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec)
        throw std::invalid_argument("listen address is not an IP literal: " + opts_.listen_host);
    const tcp::endpoint ep{address, opts_.port};
    acceptor_.open(ep.protocol(), ec);
    if (!ec)
        acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        acceptor_.bind(ep, ec);
    if (!ec)
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("cannot listen on " + opts_.listen_host + ":" + std::to_string(opts_.port) + ": " +
                                 ec.message());
    port_ = acceptor_.local_endpoint().port();
    const std::string shown = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    url_ = std::string(ssl_ ? "https://" : "http://") + shown + ":" + std::to_string(port_);
}

void server::impl::start_threads()
{
    threads_.reserve(opts_.threads);
    for (unsigned i = 0; i < opts_.threads; ++i)
        threads_.emplace_back([this] { ioc_.run(); });
}

void server::impl::start_accept()
{
    // One thread: no strand anywhere; several: each connection serialises on its own strand.
    auto exec = opts_.threads == 1 ? asio::any_io_executor(ioc_.get_executor())
                                   : asio::any_io_executor(asio::make_strand(ioc_));
    acceptor_.async_accept(exec, asio::bind_executor(accept_strand_, [this](error_code ec, tcp::socket s) {
                               on_accept(ec, std::move(s));
                           }));
}

void server::impl::on_accept(error_code ec, tcp::socket socket)
{
    if (stopping_)
        return;
    if (!ec) {
        detail::start_session(host_, std::move(socket), ssl_ ? &*ssl_ : nullptr);
    } else if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        return;
    }
    start_accept();
}

void server::impl::stop()
{
    std::lock_guard stop_lock(stop_mutex_);
    if (stopped_)
        return;
    stopped_ = true;
    stopping_ = true;
    asio::post(accept_strand_, [this] {
        error_code ignored;
        acceptor_.close(ignored);
    });
    // Once detached, no hook runs: the timer is ours alone to cancel.
    router_.set_schedule_hook({});
    tick_.cancel();
    sessions_.close_all();
    // Let the closes run; then stop whatever is left (e.g. a TLS peer that never answers).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{2};
    while (sessions_.live() > 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    ioc_.stop();
    for (auto& t : threads_)
        if (t.joinable() && t.get_id() != std::this_thread::get_id())
            t.join();
    threads_.clear();
}

// ---- public API --------------------------------------------------------------------------------

server::server(server_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
server::~server() = default;
std::uint16_t server::port() const noexcept { return impl_->port_; }
std::string server::url() const { return impl_->url_; }
void server::stop() { impl_->stop(); }
std::uint64_t server::requests_served() const noexcept { return impl_->router_.requests_served(); }
const std::string& server::json_body() const noexcept { return impl_->router_.json_body(); }
const std::string& server::xml_body() const noexcept { return impl_->router_.xml_body(); }

} // namespace plexbutler::emulator
