#include "emulator/engine.hpp"

#include "emulator/fleet_plan.hpp"
#include "emulator/named_tls.hpp"
#include "emulator/splitmix.hpp"

#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <ctime>
#include <exception>
#include <fstream>
#include <future>
#include <random>
#include <stdexcept>
#include <thread>

namespace plexbutler::emulator::detail {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

std::chrono::seconds system_utc_offset(std::chrono::system_clock::time_point t)
{
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    if (localtime_r(&tt, &tm) == nullptr)
        return std::chrono::seconds{0};
    return std::chrono::seconds{tm.tm_gmtoff};
}

void check_faults(const fault_set& f, const char* what)
{
    if (!(f.fail_rate >= 0.0 && f.fail_rate <= 1.0))
        throw std::invalid_argument(std::string(what) + ".fail_rate must be within [0, 1]");
    if (f.latency.count() < 0)
        throw std::invalid_argument(std::string(what) + ".latency must not be negative");
}

/// Throws std::invalid_argument on options that cannot work; returns them with a seed chosen.
fleet_options validated(fleet_options o)
{
    auto& s = o.server;
    if (s.threads == 0)
        throw std::invalid_argument("server_options.threads must be at least 1");
    check_faults({false, s.latency, s.fail_rate, s.close_after, false}, "server_options");
    if (s.request_timeout.count() <= 0)
        throw std::invalid_argument("server_options.request_timeout must be positive");
    if (s.token && !valid_token(*s.token))
        throw std::invalid_argument(
            "server_options.token must be 1 to 4096 visible ASCII characters (no space or control character)");
    // Checked before any certificate is made or file read.
    const bool files = !s.tls_cert_file.empty() || !s.tls_key_file.empty();
    if (files && !s.tls_self_signed_name.empty())
        throw std::invalid_argument("use either TLS certificate files or a self-signed certificate, not both");
    if (files && (s.tls_cert_file.empty() || s.tls_key_file.empty()))
        throw std::invalid_argument("HTTPS needs both a certificate file and a key file");
    check_named_tls(s);

    if (o.servers == 0)
        throw std::invalid_argument("fleet_options.servers must be at least 1");
    if (o.addressing == fleet_addressing::loopback_addresses && o.servers > max_loopback_servers)
        throw std::invalid_argument("fleet_options.servers: loopback addresses reach at most " +
                                    std::to_string(max_loopback_servers) + " servers");
    if (o.addressing == fleet_addressing::ports && s.port != 0 && s.port + (o.servers - 1) > 65535)
        throw std::invalid_argument("fleet_options.servers: the ports from " + std::to_string(s.port) +
                                    " do not reach " + std::to_string(o.servers) + " servers");
    const int token_sources = (s.token ? 1 : 0) + (o.token_pattern.empty() ? 0 : 1) + (o.tokens.empty() ? 0 : 1);
    if (token_sources > 1)
        throw std::invalid_argument("use one of server_options.token, fleet_options.token_pattern and "
                                    "fleet_options.tokens");
    if (!o.token_pattern.empty() &&
        (o.token_pattern.find("{i}") == std::string::npos || !valid_token(expand_token_pattern(o.token_pattern, 0))))
        throw std::invalid_argument("fleet_options.token_pattern must contain {i} and make visible ASCII tokens");
    if (!o.tokens.empty()) {
        if (o.tokens.size() != o.servers)
            throw std::invalid_argument("fleet_options.tokens must hold one token per server");
        for (const auto& t : o.tokens)
            if (!valid_token(t))
                throw std::invalid_argument(
                    "fleet_options.tokens must be 1 to 4096 visible ASCII characters (no space or control character)");
    }
    check_faults(o.faults, "fleet_options.faults");
    if (!(o.fault_fraction >= 0.0 && o.fault_fraction <= 1.0))
        throw std::invalid_argument("fleet_options.fault_fraction must be within [0, 1]");

    if (s.seed == 0)
        s.seed = std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32);
    if (o.fault_seed == 0)
        o.fault_seed = s.seed;
    return o;
}

/// The address the servers listen on (`ports`), from `listen_host`.
asio::ip::address listen_address(const server_options& s)
{
    std::string host = s.listen_host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host == "localhost")
        host = "127.0.0.1";
    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec)
        throw std::invalid_argument("listen address is not an IP literal: " + s.listen_host);
    return address;
}

scheduler::options scheduler_options(const server_options& s, std::uint64_t seed)
{
    scheduler::options so;
    so.window = s.window;
    so.task_duration = s.task_duration;
    if (s.utc_offset) {
        const auto off = std::chrono::duration_cast<std::chrono::seconds>(*s.utc_offset);
        so.utc_offset = [off](scheduler::time_point) { return off; };
    } else {
        so.utc_offset = system_utc_offset;
    }
    // A splitmix64 stream: 8 bytes of state inside the std::function, where an mt19937_64 would
    // allocate 2.5 KiB per server.
    so.random = [state = splitmix64(seed)]() mutable {
        state += 0x9e3779b97f4a7c15ULL;
        return static_cast<double>(splitmix64(state) >> 11) * 0x1.0p-53;
    };
    return so;
}

void apply_common_tls_settings(ssl::context& ctx)
{
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    // An idle keep-alive connection gives its read and write buffers back (about 34 KiB each).
    SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
}

void write_file(const std::string& path, const std::string& content)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << content;
    f.close();
    if (!f)
        throw std::runtime_error("cannot write the CA file " + path);
}

/// Every fault but `down`.
void apply_knobs(instance& in, const fault_set& f)
{
    in.host.latency_ms = f.latency.count();
    in.host.close_after = f.close_after;
    in.routes.set_fail_rate(f.fail_rate);
    in.routes.set_refuse_all(f.unauthorized);
}

void reset(tcp::socket& s)
{
    error_code ignored;
    s.set_option(asio::socket_base::linger(true, 0), ignored);
    s.close(ignored);
}

} // namespace

instance::instance(router::options ro, std::shared_ptr<const catalogue_bodies> bodies,
                   std::shared_ptr<const canned_set> responses, scheduler::options so,
                   const std::atomic<bool>& stopping, std::chrono::milliseconds request_timeout, bool quiet)
    : routes(std::move(ro), std::move(bodies), std::move(responses), std::move(so)), host{routes,   sessions,
                                                                                          stopping, request_timeout,
                                                                                          quiet,    0,
                                                                                          0,        false,
                                                                                          {}}
{
}

// ---- listener --------------------------------------------------------------------------------

listener::listener(engine& owner, std::optional<std::size_t> server, asio::any_io_executor exec)
    : owner_(owner), server_(server), exec_(std::move(exec)), acceptor_(exec_)
{
}

void listener::listen_on(tcp::acceptor& a, bool with_reuse_port)
{
    error_code ec;
    a.open(endpoint_.protocol(), ec);
    // Not before binding a free port: with SO_REUSEADDR, Linux takes over a millisecond to find
    // each free port once thousands are bound (10,000 listeners: 14 s instead of 0.1 s).
    if (!ec && endpoint_.port() != 0)
        a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && with_reuse_port)
        a.set_option(reuse_port(true), ec);
    if (!ec)
        a.bind(endpoint_, ec);
    // After the bind, so that its connections inherit it: their TIME_WAIT must not keep the
    // port from being listened on again when the server comes back up.
    if (!ec)
        a.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error_code ignored;
        a.close(ignored);
        throw std::runtime_error("cannot listen on " + endpoint_.address().to_string() + ":" +
                                 std::to_string(endpoint_.port()) + ": " + ec.message());
    }
}

void listener::open(const tcp::endpoint& ep)
{
    endpoint_ = ep;
    listen_on(acceptor_, false);
    port_ = acceptor_.local_endpoint().port();
    endpoint_.port(port_); // a paused listener comes back on the same port
}

void listener::start() { accept(); }

void listener::accept()
{
    if (!acceptor_.is_open())
        return;
    acceptor_.async_accept(owner_.connection_executor(),
                           asio::bind_executor(exec_, [this, g = generation_](error_code ec, tcp::socket s) {
                               on_accept(ec, std::move(s), g);
                           }));
}

void listener::on_accept(error_code ec, tcp::socket socket, unsigned generation)
{
    if (owner_.stopping())
        return;
    if (!ec)
        owner_.dispatch(std::move(socket), server_);
    if (generation != generation_ || ec == asio::error::operation_aborted)
        return;
    if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory ||
        ec.value() == ENFILE) {
        // Out of descriptors: try again a little later instead of spinning.
        if (!retry_)
            retry_ = std::make_unique<asio::steady_timer>(exec_);
        retry_->expires_after(std::chrono::milliseconds{50});
        retry_->async_wait([this, generation](error_code e) {
            if (!e && generation == generation_ && !owner_.stopping())
                accept();
        });
        return;
    }
    accept();
}

void listener::pause()
{
    if (!acceptor_.is_open())
        return;
    // A socket bound to the port but not listening keeps it ours while SYNs are refused; both
    // need SO_REUSEPORT to share it for that moment.
    error_code ec;
    acceptor_.set_option(reuse_port(true), ec);
    placeholder_.emplace(exec_);
    if (!ec)
        placeholder_->open(endpoint_.protocol(), ec);
    if (!ec)
        placeholder_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec)
        placeholder_->set_option(reuse_port(true), ec);
    if (!ec)
        placeholder_->bind(endpoint_, ec);
    if (ec)
        placeholder_.reset(); // still refuses; the port may be taken before `resume`
    ++generation_;
    error_code ignored;
    acceptor_.close(ignored);
    if (retry_)
        retry_->cancel();
}

void listener::resume()
{
    if (acceptor_.is_open())
        return;
    listen_on(acceptor_, placeholder_.has_value());
    placeholder_.reset();
    error_code ignored;
    acceptor_.set_option(reuse_port(false), ignored);
    ++generation_;
    accept();
}

void listener::close()
{
    ++generation_;
    error_code ignored;
    acceptor_.close(ignored);
    placeholder_.reset();
    if (retry_)
        retry_->cancel();
}

// ---- engine ----------------------------------------------------------------------------------

engine::engine(fleet_options opts) : opts_(validated(std::move(opts))), ioc_(static_cast<int>(opts_.server.threads))
{
    const server_options& s = opts_.server;
    // Rendered once for the whole fleet; also checks the catalogue and the scheduler options
    // here, not at a server's first request.
    auto bodies = std::make_shared<const catalogue_bodies>(s.tasks ? *s.tasks : default_catalogue());
    (void)scheduler(bodies->tasks, scheduler_options(s, s.seed));
    const auto responses = shared_canned_set();

    faulted_ = choose_faulted(opts_.servers, opts_.fault_fraction, opts_.fault_seed);
    for (std::size_t i = 0; i < opts_.servers; ++i) {
        router::options ro;
        if (s.token)
            ro.token = s.token;
        else if (!opts_.token_pattern.empty())
            ro.token = expand_token_pattern(opts_.token_pattern, i);
        else if (!opts_.tokens.empty())
            ro.token = opts_.tokens[i];
        const std::uint64_t seed = server_seed(s.seed, i);
        ro.seed = seed;
        ro.window = s.window;
        auto& in = instances_.emplace_back(std::move(ro), bodies, responses, scheduler_options(s, seed), stopping_,
                                           s.request_timeout, s.quiet);
        apply_knobs(in, {false, s.latency, s.fail_rate, s.close_after, false});
        if (opts_.servers > 1 && !s.quiet)
            in.host.log_label = "emu-" + std::to_string(i);
    }
    for (const std::size_t i : faulted_) {
        apply_knobs(instances_[i], opts_.faults);
        instances_[i].host.down = opts_.faults.down;
    }

    make_tls();

    const bool one_thread = s.threads == 1;
    auto listener_executor = [&]() -> asio::any_io_executor {
        if (one_thread)
            return ioc_.get_executor();
        return asio::make_strand(ioc_);
    };
    work_.emplace(ioc_.get_executor());
    if (opts_.addressing == fleet_addressing::ports) {
        const auto address = listen_address(s);
        host_shown_ = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
        for (std::size_t i = 0; i < opts_.servers; ++i) {
            const auto port = static_cast<std::uint16_t>(s.port == 0 ? 0 : s.port + i);
            listeners_.emplace_back(*this, i, listener_executor()).open(tcp::endpoint{address, port});
        }
    } else {
        listeners_.emplace_back(*this, std::nullopt, listener_executor())
            .open(tcp::endpoint{asio::ip::address_v4::any(), s.port});
    }
    if (opts_.addressing == fleet_addressing::ports && opts_.faults.down)
        for (const std::size_t i : faulted_)
            listeners_[i].pause(); // no thread runs yet
    for (auto& l : listeners_)
        asio::post(l.executor(), [&l] { l.start(); });
    threads_.reserve(s.threads);
    for (unsigned t = 0; t < s.threads; ++t)
        threads_.emplace_back([this] { ioc_.run(); });
}

engine::~engine() { stop(); }

void engine::make_tls()
{
    const server_options& s = opts_.server;
    if (!s.tls_cert_file.empty()) {
        ssl_.emplace(ssl::context::tls_server);
        try {
            ssl_->use_certificate_chain_file(s.tls_cert_file);
            ssl_->use_private_key_file(s.tls_key_file, ssl::context::pem);
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("cannot load TLS certificate/key (" + s.tls_cert_file + ", " + s.tls_key_file +
                                     "): " + e.code().message());
        }
    } else if (wants_named_tls(s)) {
        const named_identity id = make_named_identity(s); // tls_names, tls_plex_direct_hash
        ssl_.emplace(ssl::context::tls_server);
        ssl_->use_certificate_chain(asio::buffer(id.chain_pem));
        ssl_->use_private_key(asio::buffer(id.key_pem), ssl::context::pem);
        if (!s.tls_write_ca_file.empty())
            write_file(s.tls_write_ca_file, id.ca_pem);
    } else if (!s.tls_self_signed_name.empty() && opts_.addressing == fleet_addressing::ports) {
        const certificate_pair pair = make_self_signed_certificate(s.tls_self_signed_name);
        ssl_.emplace(ssl::context::tls_server);
        ssl_->use_certificate_chain(asio::buffer(pair.cert_pem));
        ssl_->use_private_key(asio::buffer(pair.key_pem), ssl::context::pem);
        if (!s.tls_write_ca_file.empty())
            write_file(s.tls_write_ca_file, pair.cert_pem);
    } else if (!s.tls_self_signed_name.empty()) {
        // Loopback addresses: one certificate per server naming its address only, as a real server
        // has, issued by one CA (the file clients trust). A certificate naming many addresses would
        // be parsed and kept, whole, by every client connection. The leaves share one key: issuing
        // 10,000 of them takes a signature each, not a key generation.
        const certificate_pair ca = make_certificate_authority("plexbutler emulator fleet CA");
        const std::size_t n = opts_.servers;
        auto issue = [&ca](std::size_t i, const std::string& key_pem) {
            certificate_spec spec;
            spec.names = {loopback_address(i)};
            spec.key_pem = key_pem;
            return make_certificate(spec, &ca);
        };
        const certificate_pair first = issue(0, {});
        // The others on every core (OpenSSL 3 decodes the CA key and the shared key for each one:
        // milliseconds a certificate, a minute for 10,000 on one core).
        std::vector<std::string> pems(n);
        pems[0] = first.cert_pem;
        const std::size_t workers = std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, 8);
        std::vector<std::future<void>> jobs;
        for (std::size_t w = 0; w < workers; ++w)
            jobs.push_back(std::async(std::launch::async, [&, w] {
                for (std::size_t i = 1 + w; i < n; i += workers)
                    pems[i] = issue(i, first.key_pem).cert_pem;
            }));
        std::exception_ptr failed;
        for (auto& job : jobs) {
            try {
                job.get();
            } catch (...) {
                failed = std::current_exception();
            }
        }
        if (failed)
            std::rethrow_exception(failed);
        ssl_.emplace(ssl::context::tls_server);
        ssl_->use_certificate_chain(asio::buffer(first.cert_pem));
        ssl_->use_private_key(asio::buffer(first.key_pem), ssl::context::pem);
        std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new_mem_buf(first.key_pem.data(), -1), BIO_free);
        EVP_PKEY* key = key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr;
        if (key == nullptr) {
            ERR_clear_error();
            throw std::runtime_error("cannot read back the key of the fleet's certificates");
        }
        tls_owned_.emplace_back(key, EVP_PKEY_free);
        for (const auto& pem : pems) {
            std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new_mem_buf(pem.data(), -1), BIO_free);
            X509* cert = cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr) : nullptr;
            if (cert == nullptr) {
                ERR_clear_error();
                throw std::runtime_error("cannot read back an issued certificate");
            }
            tls_owned_.emplace_back(cert, X509_free);
            identities_.push_back({cert, key});
        }
        if (!s.tls_write_ca_file.empty())
            write_file(s.tls_write_ca_file, ca.cert_pem);
    }
    if (ssl_)
        apply_common_tls_settings(*ssl_);
}

std::string engine::url(std::size_t i) const
{
    (void)instances_.at(i);
    const char* scheme = ssl_ ? "https://" : "http://";
    if (opts_.addressing == fleet_addressing::ports)
        return scheme + host_shown_ + ":" + std::to_string(listeners_[i].port());
    return scheme + loopback_address(i) + ":" + std::to_string(listeners_.front().port());
}

std::uint16_t engine::port(std::size_t i) const
{
    (void)instances_.at(i);
    return opts_.addressing == fleet_addressing::ports ? listeners_[i].port() : listeners_.front().port();
}

asio::any_io_executor engine::connection_executor()
{
    // One thread: no strand anywhere; several: each connection serialises on its own strand.
    if (opts_.server.threads == 1)
        return ioc_.get_executor();
    return asio::make_strand(ioc_);
}

void engine::dispatch(tcp::socket socket, std::optional<std::size_t> server)
{
    if (!server) {
        error_code ec;
        const auto local = socket.local_endpoint(ec);
        if (!ec && local.address().is_v4())
            server = loopback_index(local.address().to_v4().to_bytes(), instances_.size());
        if (!server)
            return reset(socket); // not one of ours (another interface or address)
    }
    instance& in = instances_[*server];
    if (in.host.down.load(std::memory_order_relaxed))
        return reset(socket);
    const tls_identity* identity = nullptr;
    if (!identities_.empty())
        identity = &identities_[*server];
    start_session(in.host, std::move(socket), ssl_ ? &*ssl_ : nullptr, identity);
}

fault_set engine::faults(std::size_t i) const
{
    const instance& in = instances_.at(i);
    fault_set f;
    f.down = in.host.down.load();
    f.latency = in.host.latency();
    f.fail_rate = in.routes.fail_rate();
    f.close_after = in.host.close_after.load();
    f.unauthorized = in.routes.refuse_all();
    return f;
}

void engine::set_faults(std::size_t i, const fault_set& f)
{
    check_faults(f, "fault_set");
    instance& in = instances_.at(i);
    std::lock_guard lock(control_);
    apply_knobs(in, f);
    set_down_locked(i, f.down);
}

void engine::set_down(std::size_t i, bool down)
{
    (void)instances_.at(i);
    std::lock_guard lock(control_);
    set_down_locked(i, down);
}

void engine::set_down_locked(std::size_t i, bool down)
{
    if (stopped_)
        return;
    if (ioc_.get_executor().running_in_this_thread())
        throw std::logic_error("emulator fleet: set_down must not be called from the fleet's own threads");
    instance& in = instances_[i];
    in.host.down = down;
    if (down)
        in.sessions.close_all();
    if (opts_.addressing != fleet_addressing::ports)
        return; // the shared listener resets its connections
    // Wait until the listener has changed, so a client that connects next sees it.
    listener& l = listeners_[i];
    std::promise<void> done;
    auto changed = done.get_future();
    asio::post(l.executor(), [&l, &done, down] {
        try {
            if (down)
                l.pause();
            else
                l.resume();
            done.set_value();
        } catch (...) {
            done.set_exception(std::current_exception());
        }
    });
    changed.get();
}

void engine::stop()
{
    std::lock_guard lock(control_);
    if (stopped_)
        return;
    stopped_ = true;
    stopping_ = true;
    for (auto& l : listeners_)
        asio::post(l.executor(), [&l] { l.close(); });
    for (auto& in : instances_)
        in.sessions.close_all();
    // Let the closes run; then stop whatever is left (e.g. a TLS peer that never answers).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{2};
    auto live = [this] {
        for (const auto& in : instances_)
            if (in.sessions.live() > 0)
                return true;
        return false;
    };
    while (live() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_)
        if (t.joinable() && t.get_id() != std::this_thread::get_id())
            t.join();
    threads_.clear();
}

} // namespace plexbutler::emulator::detail
