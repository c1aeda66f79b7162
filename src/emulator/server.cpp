#include <plexbutler/emulator/scheduler.hpp>
#include <plexbutler/emulator/server.hpp>
#include <plexbutler/emulator/tls.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace plexbutler::emulator {
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

// ---- rendering ---------------------------------------------------------------------------------

std::string format_number(double d) {
    if (d == static_cast<double>(static_cast<long long>(d))) return std::to_string(static_cast<long long>(d));
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, d); // shortest round-trip form, e.g. 0.5
    return std::string(buf, r.ptr);
}

void append_xml_attribute(std::string& out, std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "=\"";
    for (char c : value) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        case '\n': out += "&#10;"; break;
        case '\r': out += "&#13;"; break;
        case '\t': out += "&#9;"; break;
        default: out += c; break;
        }
    }
    out += '"';
}

std::string render_xml(const std::vector<butler_task>& tasks) {
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ButlerTasks>";
    for (const auto& t : tasks) {
        out += "<ButlerTask";
        if (t.name) append_xml_attribute(out, "name", *t.name);
        if (t.interval) append_xml_attribute(out, "interval", format_number(*t.interval));
        if (t.schedule_randomized) append_xml_attribute(out, "scheduleRandomized", *t.schedule_randomized ? "1" : "0");
        if (t.enabled) append_xml_attribute(out, "enabled", *t.enabled ? "1" : "0");
        if (t.title) append_xml_attribute(out, "title", *t.title);
        if (t.description) append_xml_attribute(out, "description", *t.description);
        out += "/>";
    }
    out += "</ButlerTasks>\n";
    return out;
}

std::string render_json(const std::vector<butler_task>& tasks) {
    // Built by hand (not value_from) to fix the key order PMS uses.
    boost::json::array list;
    for (const auto& t : tasks) {
        boost::json::object o;
        if (t.name) o["name"] = *t.name;
        if (t.interval) {
            if (*t.interval == static_cast<double>(static_cast<long long>(*t.interval)))
                o["interval"] = static_cast<long long>(*t.interval);
            else
                o["interval"] = *t.interval;
        }
        if (t.schedule_randomized) o["scheduleRandomized"] = *t.schedule_randomized;
        if (t.enabled) o["enabled"] = *t.enabled;
        if (t.title) o["title"] = *t.title;
        if (t.description) o["description"] = *t.description;
        list.push_back(std::move(o));
    }
    boost::json::object inner;
    inner["ButlerTask"] = std::move(list);
    boost::json::object outer;
    outer["ButlerTasks"] = std::move(inner);
    return boost::json::serialize(outer);
}

std::string_view reason(unsigned status) {
    switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

void render_response(std::string& out, unsigned status, std::string_view content_type, std::string_view body,
                     bool close, std::string_view extra_headers = {}) {
    out.clear();
    out += "HTTP/1.1 ";
    out += std::to_string(status);
    out += ' ';
    out += reason(status);
    out += "\r\nServer: plexbutler-emulator\r\nX-Plex-Protocol: 1.0\r\n";
    if (!content_type.empty()) {
        out += "Content-Type: ";
        out += content_type;
        out += "\r\n";
    }
    out += "Content-Length: ";
    out += std::to_string(body.size());
    out += close ? "\r\nConnection: close\r\n" : "\r\nConnection: keep-alive\r\n";
    out += extra_headers;
    out += "\r\n";
    out += body;
}

/// A response rendered once, in its keep-alive and close variants.
struct canned {
    std::string keep_alive;
    std::string close;
    unsigned status = 0;

    canned() = default;
    canned(unsigned s, std::string_view content_type, std::string_view body, std::string_view extra = {}) : status(s) {
        render_response(keep_alive, s, content_type, body, false, extra);
        render_response(close, s, content_type, body, true, extra);
    }
    const std::string& get(bool must_close) const noexcept { return must_close ? close : keep_alive; }
};

constexpr std::string_view json_type = "application/json";
constexpr std::string_view xml_type = "application/xml";
constexpr std::string_view html_type = "text/html";

std::string plex_error_body(int code, std::string_view message, unsigned status) {
    boost::json::object e;
    e["code"] = code;
    e["message"] = message;
    e["status"] = status;
    boost::json::array a;
    a.push_back(std::move(e));
    boost::json::object o;
    o["errors"] = std::move(a);
    return boost::json::serialize(o);
}

std::string html_page(unsigned status) {
    std::string r{reason(status)};
    return "<html><head><title>" + r + "</title></head><body><h1>" + std::to_string(status) + " " + r +
           "</h1></body></html>";
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// Quality of `type` in an Accept header value: -1 when not listed.
double accept_quality(std::string_view header, std::string_view type) {
    double best = -1;
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        const auto semi = item.find(';');
        const std::string_view media = trim(item.substr(0, semi));
        if (!iequals(media, type)) continue;
        double q = 1.0;
        std::string_view params = semi == std::string_view::npos ? std::string_view{} : item.substr(semi + 1);
        while (!params.empty()) {
            const auto next = params.find(';');
            const std::string_view p = trim(params.substr(0, next));
            params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
            if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                try {
                    q = std::stod(std::string{p.substr(2)});
                } catch (const std::exception&) {
                    q = 0;
                }
            }
        }
        best = std::max(best, q);
    }
    return best;
}

/// JSON only when asked for explicitly (as PMS: `*/*` gets XML).
bool wants_json(std::string_view accept, std::string_view accepts) {
    for (std::string_view h : {accept, accepts}) {
        if (h.empty()) continue;
        const double j = accept_quality(h, json_type);
        if (j > 0 && j >= accept_quality(h, xml_type)) return true;
    }
    return false;
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

boost::json::value opt_ms(const std::optional<std::chrono::system_clock::time_point>& t) {
    if (!t) return nullptr;
    return epoch_ms(*t);
}

std::string hhmm(unsigned minute) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02u:%02u", (minute / 60) % 100, minute % 60);
    return buf;
}

std::chrono::seconds system_utc_offset(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    if (localtime_r(&tt, &tm) == nullptr) return std::chrono::seconds{0};
    return std::chrono::seconds{tm.tm_gmtoff};
}

/// splitmix64: a reproducible, lock-free random draw per request index.
std::uint64_t mix(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// ---- request head parser -----------------------------------------------------------------------

/// A Beast parser that keeps only what the emulator needs, in reused strings:
/// no per-request allocation once the strings have grown.
class request_reader final : public http::basic_parser<true> {
public:
    request_reader() {
        header_limit(max_header_bytes);
        body_limit(max_body_bytes);
    }
    void reset_fields() {
        method_ = http::verb::unknown;
        method_str_.clear();
        target_.clear();
        token_.clear();
        has_token_ = false;
        accept_.clear();
        accepts_.clear();
    }
    http::verb method() const noexcept { return method_; }
    const std::string& method_string() const noexcept { return method_str_; }
    const std::string& target() const noexcept { return target_; }
    const std::string* token() const noexcept { return has_token_ ? &token_ : nullptr; }
    const std::string& accept() const noexcept { return accept_; }
    const std::string& accepts() const noexcept { return accepts_; }

private:
    void on_request_impl(http::verb method, beast::string_view method_str, beast::string_view target, int,
                         error_code&) override {
        method_ = method;
        method_str_.assign(method_str.data(), method_str.size());
        target_.assign(target.data(), target.size());
    }
    void on_response_impl(int, beast::string_view, int, error_code& ec) override { ec = http::error::bad_method; }
    void on_field_impl(http::field f, beast::string_view name, beast::string_view value, error_code&) override {
        if (f == http::field::accept) {
            accept_.assign(value.data(), value.size());
        } else if (f == http::field::unknown) {
            const std::string_view n{name.data(), name.size()};
            if (iequals(n, "X-Plex-Token")) {
                token_.assign(value.data(), value.size());
                has_token_ = true;
            } else if (iequals(n, "accepts")) {
                accepts_.assign(value.data(), value.size());
            }
        }
    }
    void on_header_impl(error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(beast::string_view body, error_code&) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code&) override {
        return body.size();
    }
    void on_finish_impl(error_code&) override {}

    http::verb method_ = http::verb::unknown;
    std::string method_str_;
    std::string target_;
    std::string token_;
    bool has_token_ = false;
    std::string accept_;
    std::string accepts_;
};

struct session_base {
    virtual ~session_base() = default;
    virtual void close_from_server() = 0;
};

} // namespace

// ---- server state ------------------------------------------------------------------------------

/// The server's shared state; `server::impl` is this (sessions need a non-private name).
struct server_core {
    explicit server_core(server_options o);
    ~server_core();

    void start_accept();
    void on_accept(error_code ec, tcp::socket socket);
    void stop();

    struct answer {
        const std::string* bytes;
        unsigned status;
        bool latency_applies;
    };
    /// Decides the response to one request. `scratch` holds dynamic responses.
    answer handle(const request_reader& req, bool must_close, std::string& scratch);
    answer butler(const request_reader& req, std::string_view task, bool is_list, bool must_close,
                  std::string& scratch);
    std::string state_json();
    void reschedule_tick();
    void log(const request_reader& req, unsigned status) const;

    void add_session(session_base* s, std::weak_ptr<session_base> w) {
        std::lock_guard lock(sessions_mutex_);
        sessions_.emplace(s, std::move(w));
        ++live_sessions_;
    }
    void remove_session(session_base* s) {
        std::lock_guard lock(sessions_mutex_);
        sessions_.erase(s);
        --live_sessions_;
    }

    server_options opts_;
    std::string token_;
    bool has_token_ = false;
    std::string json_body_;
    std::string xml_body_;
    canned list_json_, list_xml_, ok_, already_running_, not_found_, unauthorized_, unavailable_;
    canned bad_request_, too_large_, header_too_large_;
    canned allow_list_, allow_task_, allow_state_;
    std::atomic<std::uint64_t> served_{0};
    std::atomic<std::uint64_t> draws_{0};
    std::uint64_t seed_ = 0;

    std::mutex sched_mutex_;
    std::unique_ptr<scheduler> sched_;

    std::mutex sessions_mutex_;
    std::unordered_map<session_base*, std::weak_ptr<session_base>> sessions_;
    std::atomic<int> live_sessions_{0};

    std::optional<ssl::context> ssl_;
    asio::io_context ioc_;
    asio::strand<asio::io_context::executor_type> accept_strand_;
    tcp::acceptor acceptor_;
    asio::system_timer tick_;
    std::vector<std::thread> threads_;
    std::uint16_t port_ = 0;
    std::string url_;
    std::atomic<bool> stopping_{false};
    std::mutex stop_mutex_;
    bool stopped_ = false;
};

namespace {

// ---- connection --------------------------------------------------------------------------------

template <class Stream>
class session final : public session_base, public std::enable_shared_from_this<session<Stream>> {
public:
    static constexpr bool is_tls = !std::is_same_v<Stream, tcp::socket>;

    template <class... Args>
    session(server_core& srv, tcp::socket socket, Args&... args)
        : srv_(srv), stream_(std::move(socket), args...), deadline_timer_(stream_.get_executor()),
          latency_timer_(stream_.get_executor()) {
        buffer_.reserve(4096);
        out_.reserve(1024);
    }
    ~session() override { srv_.remove_session(this); }

    void run() {
        srv_.add_session(this, this->weak_from_this());
        arm(srv_.opts_.request_timeout);
        watch();
        if constexpr (is_tls) {
            stream_.async_handshake(ssl::stream_base::server,
                                    [self = this->shared_from_this()](error_code ec) {
                                        if (ec || self->closed_) return self->close();
                                        self->read();
                                    });
        } else {
            read();
        }
    }

    /// @brief The executor all of this connection's handlers run on.
    asio::any_io_executor get_executor() { return stream_.get_executor(); }

    void close_from_server() override {
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
    }

private:
    tcp::socket& socket() noexcept { return beast::get_lowest_layer(stream_); }

    void arm(std::chrono::steady_clock::duration d) { deadline_ = std::chrono::steady_clock::now() + d; }

    /// One lazily re-armed timer per connection: progress only moves `deadline_`.
    void watch() {
        deadline_timer_.expires_at(deadline_);
        deadline_timer_.async_wait([self = this->shared_from_this()](error_code ec) {
            if (ec || self->closed_) return;
            if (std::chrono::steady_clock::now() >= self->deadline_) return self->close();
            self->watch();
        });
    }

    void read() {
        parser_.emplace();
        parser_->reset_fields();
        arm(srv_.opts_.request_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(error_code ec) {
        if (closed_) return;
        if (ec) {
            static const auto& http_category = http::make_error_code(http::error::bad_target).category();
            if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
                ec.category() != http_category)
                return close();
            const canned* c = ec == http::error::header_limit ? &srv_.header_too_large_
                              : ec == http::error::body_limit ? &srv_.too_large_
                                                              : &srv_.bad_request_;
            srv_.served_.fetch_add(1, std::memory_order_relaxed);
            if (!srv_.opts_.quiet) {
                std::string line = "emulator: malformed request (" + ec.message() + ") -> " +
                                   std::to_string(c->status) + "\n";
                std::fputs(line.c_str(), stderr);
            }
            return write(c->close, true);
        }
        ++responses_;
        const bool must_close = !parser_->keep_alive() || srv_.stopping_.load(std::memory_order_relaxed) ||
                                (srv_.opts_.close_after != 0 && responses_ >= srv_.opts_.close_after);
        const auto a = srv_.handle(*parser_, must_close, out_);
        if (a.latency_applies && srv_.opts_.latency.count() > 0) {
            arm(srv_.opts_.latency + srv_.opts_.request_timeout);
            latency_timer_.expires_after(srv_.opts_.latency);
            latency_timer_.async_wait([self = this->shared_from_this(), bytes = a.bytes, must_close](error_code e) {
                if (e || self->closed_) return self->close();
                self->write(*bytes, must_close);
            });
            return;
        }
        write(*a.bytes, must_close);
    }

    void write(const std::string& bytes, bool then_close) {
        arm(srv_.opts_.request_timeout);
        asio::async_write(stream_, asio::buffer(bytes),
                          [self = this->shared_from_this(), then_close](error_code ec, std::size_t) {
                              if (ec || self->closed_) return self->close();
                              if (then_close) return self->graceful_close();
                              self->read();
                          });
    }

    /// Half-close and drain what the peer still sends, so unread input does not turn our
    /// last response into a TCP reset before the peer has read it.
    void graceful_close() {
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

    void drain() {
        socket().async_read_some(asio::buffer(drain_buf_), [self = this->shared_from_this()](error_code ec, std::size_t) {
            if (ec || self->closed_) return self->close();
            self->drain();
        });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        error_code ignored;
        socket().shutdown(tcp::socket::shutdown_both, ignored);
        socket().close(ignored);
        deadline_timer_.cancel();
        latency_timer_.cancel();
    }

    server_core& srv_;
    Stream stream_;
    asio::steady_timer deadline_timer_;
    asio::steady_timer latency_timer_;
    std::chrono::steady_clock::time_point deadline_{};
    beast::flat_buffer buffer_{64 * 1024 + 16 * 1024};
    std::optional<request_reader> parser_;
    std::string out_;
    std::array<char, 4096> drain_buf_{};
    unsigned responses_ = 0;
    bool closed_ = false;
};

} // namespace

server_core::server_core(server_options o)
    : opts_(std::move(o)), ioc_(static_cast<int>(std::max(1u, opts_.threads))), accept_strand_(ioc_.get_executor()),
      acceptor_(accept_strand_), tick_(ioc_) {
    if (opts_.threads == 0) throw std::invalid_argument("server_options.threads must be at least 1");
    if (!(opts_.fail_rate >= 0.0 && opts_.fail_rate <= 1.0))
        throw std::invalid_argument("server_options.fail_rate must be within [0, 1]");
    if (opts_.latency.count() < 0) throw std::invalid_argument("server_options.latency must not be negative");
    if (opts_.request_timeout.count() <= 0) throw std::invalid_argument("server_options.request_timeout must be positive");
    if (opts_.token) {
        if (opts_.token->empty()) throw std::invalid_argument("server_options.token must not be empty when set");
        token_ = *opts_.token;
        has_token_ = true;
    }
    seed_ = opts_.seed != 0 ? opts_.seed : std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32);

    std::vector<butler_task> tasks = opts_.tasks ? *opts_.tasks : default_catalogue();
    scheduler::options so;
    so.window = opts_.window;
    so.task_duration = opts_.task_duration;
    if (opts_.utc_offset) {
        const auto off = std::chrono::duration_cast<std::chrono::seconds>(*opts_.utc_offset);
        so.utc_offset = [off](scheduler::time_point) { return off; };
    } else {
        so.utc_offset = system_utc_offset;
    }
    auto engine = std::make_shared<std::mt19937_64>(mix(seed_));
    so.random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
    sched_ = std::make_unique<scheduler>(tasks, std::move(so));

    json_body_ = render_json(tasks);
    xml_body_ = render_xml(tasks);
    list_json_ = canned(200, "application/json; charset=utf-8", json_body_);
    list_xml_ = canned(200, "application/xml; charset=utf-8", xml_body_);
    ok_ = canned(200, html_type, "");
    already_running_ = canned(202, html_type, "");
    not_found_ = canned(404, html_type, html_page(404));
    unauthorized_ = canned(401, json_type, plex_error_body(1001, "User could not be authenticated", 401));
    unavailable_ = canned(503, json_type, plex_error_body(503, "Service temporarily unavailable (emulated failure)", 503),
                          "Retry-After: 1\r\n");
    bad_request_ = canned(400, html_type, html_page(400));
    too_large_ = canned(413, html_type, html_page(413));
    header_too_large_ = canned(431, html_type, html_page(431));
    allow_list_ = canned(405, html_type, html_page(405), "Allow: GET, POST, DELETE\r\n");
    allow_task_ = canned(405, html_type, html_page(405), "Allow: POST, DELETE\r\n");
    allow_state_ = canned(405, html_type, html_page(405), "Allow: GET\r\n");

    // TLS.
    const bool files = !opts_.tls_cert_file.empty() || !opts_.tls_key_file.empty();
    if (files && !opts_.tls_self_signed_name.empty())
        throw std::invalid_argument("use either TLS certificate files or a self-signed certificate, not both");
    if (files) {
        if (opts_.tls_cert_file.empty() || opts_.tls_key_file.empty())
            throw std::invalid_argument("HTTPS needs both a certificate file and a key file");
        ssl_.emplace(ssl::context::tls_server);
        try {
            ssl_->use_certificate_chain_file(opts_.tls_cert_file);
            ssl_->use_private_key_file(opts_.tls_key_file, ssl::context::pem);
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("cannot load TLS certificate/key (" + opts_.tls_cert_file + ", " +
                                     opts_.tls_key_file + "): " + e.code().message());
        }
    } else if (!opts_.tls_self_signed_name.empty()) {
        const auto pair = make_self_signed_certificate(opts_.tls_self_signed_name);
        ssl_.emplace(ssl::context::tls_server);
        ssl_->use_certificate_chain(asio::buffer(pair.cert_pem));
        ssl_->use_private_key(asio::buffer(pair.key_pem), ssl::context::pem);
        if (!opts_.tls_write_ca_file.empty()) {
            std::ofstream f(opts_.tls_write_ca_file, std::ios::binary | std::ios::trunc);
            f << pair.cert_pem;
            f.close();
            if (!f) throw std::runtime_error("cannot write the CA file " + opts_.tls_write_ca_file);
        }
    }
    if (ssl_) {
        ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    }

    // Listen.
    std::string host = opts_.listen_host;
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "localhost") host = "127.0.0.1";
    error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) throw std::invalid_argument("listen address is not an IP literal: " + opts_.listen_host);
    const tcp::endpoint ep{address, opts_.port};
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error("cannot listen on " + opts_.listen_host + ":" + std::to_string(opts_.port) + ": " +
                                 ec.message());
    port_ = acceptor_.local_endpoint().port();
    const std::string shown = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    url_ = std::string(ssl_ ? "https://" : "http://") + shown + ":" + std::to_string(port_);

    start_accept();
    threads_.reserve(opts_.threads);
    for (unsigned i = 0; i < opts_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

server_core::~server_core() { stop(); }

void server_core::start_accept() {
    // One thread: no strand anywhere; several: each connection serialises on its own strand.
    auto exec = opts_.threads == 1 ? asio::any_io_executor(ioc_.get_executor())
                                   : asio::any_io_executor(asio::make_strand(ioc_));
    acceptor_.async_accept(exec, asio::bind_executor(accept_strand_, [this](error_code ec, tcp::socket s) {
                               on_accept(ec, std::move(s));
                           }));
}

namespace {
template <class Session>
void start_session(std::shared_ptr<Session> s) {
    // Start on the connection's own executor (its strand with several threads), not the acceptor's.
    auto ex = s->get_executor();
    asio::dispatch(ex, [s = std::move(s)] { s->run(); });
}
} // namespace

void server_core::on_accept(error_code ec, tcp::socket socket) {
    if (stopping_) return;
    if (!ec) {
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (ssl_) {
            start_session(std::make_shared<session<ssl::stream<tcp::socket>>>(*this, std::move(socket), *ssl_));
        } else {
            start_session(std::make_shared<session<tcp::socket>>(*this, std::move(socket)));
        }
    } else if (ec == asio::error::operation_aborted || !acceptor_.is_open()) {
        return;
    }
    start_accept();
}

void server_core::stop() {
    std::lock_guard stop_lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    asio::post(accept_strand_, [this] {
        error_code ignored;
        acceptor_.close(ignored);
    });
    {
        std::lock_guard lock(sched_mutex_);
        tick_.cancel();
    }
    std::vector<std::shared_ptr<session_base>> live;
    {
        std::lock_guard lock(sessions_mutex_);
        for (auto& [p, w] : sessions_)
            if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->close_from_server();
    live.clear();
    // Let the closes run; then stop whatever is left (e.g. a TLS peer that never answers).
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{2};
    while (live_sessions_.load() > 0 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    ioc_.stop();
    for (auto& t : threads_)
        if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    threads_.clear();
}

void server_core::reschedule_tick() {
    // Called with sched_mutex_ held.
    if (stopping_) return;
    const auto next = sched_->next_event();
    if (!next) {
        tick_.cancel();
        return;
    }
    tick_.expires_at(*next);
    tick_.async_wait([this](error_code ec) {
        if (ec) return;
        std::lock_guard lock(sched_mutex_);
        sched_->advance(std::chrono::system_clock::now());
        reschedule_tick();
    });
}

std::string server_core::state_json() {
    const auto now = std::chrono::system_clock::now();
    std::lock_guard lock(sched_mutex_);
    sched_->advance(now);
    boost::json::array tasks;
    for (const auto& t : sched_->snapshot()) {
        boost::json::object o;
        o["name"] = t.name;
        o["enabled"] = t.enabled;
        o["scheduleRandomized"] = t.randomized;
        o["interval"] = t.interval_days;
        o["state"] = to_string(t.state);
        o["dueAt"] = opt_ms(t.due);
        o["startedAt"] = opt_ms(t.started_at);
        o["finishesAt"] = opt_ms(t.finishes_at);
        o["lastRun"] = opt_ms(t.last_run);
        o["lastStart"] = t.last_start ? boost::json::value(to_string(*t.last_start)) : boost::json::value(nullptr);
        o["completedRuns"] = t.completed_runs;
        tasks.push_back(std::move(o));
    }
    boost::json::object root;
    root["now"] = epoch_ms(now);
    root["inWindow"] = sched_->in_window(now);
    root["window"] = {{"start", hhmm(opts_.window.start_minute)}, {"end", hhmm(opts_.window.end_minute)}};
    root["requestsServed"] = served_.load();
    root["tasks"] = std::move(tasks);
    return boost::json::serialize(root);
}

void server_core::log(const request_reader& req, unsigned status) const {
    std::string target = req.target();
    // Never log the token: rewrite the query parameter when present.
    if (auto u = boost::urls::parse_origin_form(target); u && u->has_query()) {
        boost::urls::url copy(*u);
        bool had = false;
        for (auto it = copy.params().begin(); it != copy.params().end(); ++it)
            if ((*it).key == "X-Plex-Token") had = true;
        if (had) {
            copy.params().set("X-Plex-Token", "REDACTED");
            target = std::string(copy.buffer());
        }
    } else if (!u && target.find("X-Plex-Token") != std::string::npos) {
        target = "(unparsable target withheld)";
    }
    std::string line = "emulator: " + req.method_string() + " " + target + " -> " + std::to_string(status) + "\n";
    std::fputs(line.c_str(), stderr);
}

server_core::answer server_core::handle(const request_reader& req, bool must_close, std::string& scratch) {
    served_.fetch_add(1, std::memory_order_relaxed);
    auto finish = [&](answer a) {
        if (!opts_.quiet) log(req, a.status);
        return a;
    };
    auto use = [&](const canned& c, bool latency = true) { return finish({&c.get(must_close), c.status, latency}); };

    const auto parsed = boost::urls::parse_origin_form(req.target());
    if (!parsed) return use(bad_request_);
    const boost::urls::url_view& u = *parsed;

    const auto path = u.encoded_path();
    const bool is_emulator = path.starts_with("/_emulator");

    if (!is_emulator && opts_.fail_rate > 0.0) {
        const auto n = draws_.fetch_add(1, std::memory_order_relaxed);
        const double r = static_cast<double>(mix(seed_ ^ mix(n)) >> 11) * 0x1.0p-53;
        if (r < opts_.fail_rate) return use(unavailable_);
    }

    if (has_token_) {
        bool ok = false;
        auto matches = [this](std::string_view given) {
            // Constant time in the token's content; only its length can leak.
            return given.size() == token_.size() && CRYPTO_memcmp(given.data(), token_.data(), token_.size()) == 0;
        };
        if (const std::string* t = req.token()) ok = matches(*t);
        if (!ok && u.has_query()) {
            for (auto p : u.params())
                if (p.key == "X-Plex-Token" && matches(p.value)) ok = true;
        }
        if (!ok) return use(unauthorized_);
    }

    if (path == "/butler" || path == "/butler/") return finish(butler(req, {}, true, must_close, scratch));

    // Split into decoded segments, ignoring one trailing slash.
    const auto segs = u.encoded_segments();
    std::vector<std::string> parts;
    for (auto s : segs) parts.push_back(s.decode());
    if (!parts.empty() && parts.back().empty() && parts.size() > 1) parts.pop_back();

    if (parts.size() == 2 && parts[0] == "butler" && !parts[1].empty())
        return finish(butler(req, parts[1], false, must_close, scratch));
    if (parts.size() == 2 && parts[0] == "_emulator" && parts[1] == "state") {
        if (req.method() != http::verb::get) return use(allow_state_, false);
        render_response(scratch, 200, json_type, state_json(), must_close, "Cache-Control: no-store\r\n");
        return finish({&scratch, 200, false});
    }
    return use(not_found_);
}

server_core::answer server_core::butler(const request_reader& req, std::string_view task, bool is_list,
                                          bool must_close, std::string&) {
    auto use = [&](const canned& c) { return answer{&c.get(must_close), c.status, true}; };
    const auto now = std::chrono::system_clock::now();
    if (is_list) {
        switch (req.method()) {
        case http::verb::get:
            return use(wants_json(req.accept(), req.accepts()) ? list_json_ : list_xml_);
        case http::verb::post: {
            std::lock_guard lock(sched_mutex_);
            sched_->start_all(now);
            reschedule_tick();
            return use(ok_);
        }
        case http::verb::delete_: {
            std::lock_guard lock(sched_mutex_);
            sched_->stop_all(now);
            reschedule_tick();
            return use(ok_);
        }
        default: return use(allow_list_);
        }
    }
    switch (req.method()) {
    case http::verb::post: {
        std::lock_guard lock(sched_mutex_);
        const auto r = sched_->start(task, now);
        reschedule_tick();
        if (r == start_outcome::unknown_task) return use(not_found_);
        if (r == start_outcome::already_running) return use(already_running_);
        return use(ok_);
    }
    case http::verb::delete_: {
        std::lock_guard lock(sched_mutex_);
        const auto r = sched_->stop(task, now);
        reschedule_tick();
        if (r == stop_outcome::stopped || r == stop_outcome::unscheduled) return use(ok_);
        return use(not_found_);
    }
    default: return use(allow_task_);
    }
}

struct server::impl : server_core {
    using server_core::server_core;
};

// ---- public API --------------------------------------------------------------------------------

server::server(server_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
server::~server() = default;
std::uint16_t server::port() const noexcept { return impl_->port_; }
std::string server::url() const { return impl_->url_; }
void server::stop() { impl_->stop(); }
std::uint64_t server::requests_served() const noexcept { return impl_->served_.load(); }
const std::string& server::json_body() const noexcept { return impl_->json_body_; }
const std::string& server::xml_body() const noexcept { return impl_->xml_body_; }

} // namespace plexbutler::emulator
