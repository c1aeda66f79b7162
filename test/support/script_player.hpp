#ifndef PLEXBUTLER_TEST_SCRIPT_PLAYER_HPP
#define PLEXBUTLER_TEST_SCRIPT_PLAYER_HPP

/// @file script_player.hpp
/// @brief Plays a connection script (scripted_server.hpp) on the server side of any stream:
/// a loopback socket (scripted_server) or an in-memory test stream (memory_server).

#include "support/scripted_server.hpp"

#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <string>

namespace plexbutler::test {

/// @brief Reads one request: head up to CRLFCRLF, then a Content-Length body if any.
template <class Stream>
boost::asio::awaitable<bool> read_one_request(Stream& s, std::string& buf, std::string& out)
{
    namespace asio = boost::asio;
    boost::system::error_code ec;
    auto n = co_await asio::async_read_until(s, asio::dynamic_buffer(buf), "\r\n\r\n",
                                             asio::redirect_error(asio::use_awaitable, ec));
    if (ec)
        co_return false;
    std::string lower = buf.substr(0, n);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::size_t length = 0;
    if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos)
        length = std::stoul(lower.substr(p + 17));
    if (buf.size() < n + length) {
        std::string more(n + length - buf.size(), '\0');
        co_await asio::async_read(s, asio::buffer(more), asio::redirect_error(asio::use_awaitable, ec));
        if (ec)
            co_return false;
        buf += more;
    }
    out = buf.substr(0, n + length);
    buf.erase(0, n + length);
    co_return true;
}

/// @brief Plays `sc` on `s`, waiting on `timer` for pauses and drips, handing each request read
/// to `record`. `close(s, abortive)` ends the connection the way the stream type can.
template <class Stream, class Timer, class Close>
boost::asio::awaitable<void> play_script(Stream& s, Timer& timer, const script& sc,
                                         std::function<void(std::string)> record, Close close)
{
    namespace asio = boost::asio;
    std::string buf;
    boost::system::error_code ec;
    const auto& steps = sc.steps();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const auto& st = steps[i];
        switch (st.what) {
        case script_step::kind::read_request: {
            std::string req;
            if (!co_await read_one_request(s, buf, req))
                co_return;
            record(std::move(req));
            break;
        }
        case script_step::kind::send:
            co_await asio::async_write(s, asio::buffer(st.bytes), asio::redirect_error(asio::use_awaitable, ec));
            if (ec)
                co_return;
            break;
        case script_step::kind::drip:
            for (std::size_t off = 0; off < st.bytes.size(); off += st.chunk) {
                timer.expires_after(st.delay);
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                if (ec)
                    co_return;
                auto piece = std::string_view(st.bytes).substr(off, st.chunk);
                co_await asio::async_write(s, asio::buffer(piece), asio::redirect_error(asio::use_awaitable, ec));
                if (ec)
                    co_return;
            }
            break;
        case script_step::kind::pause:
            timer.expires_after(st.delay);
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (ec)
                co_return;
            break;
        case script_step::kind::close: close(s, false); co_return;
        case script_step::kind::reset: close(s, true); co_return;
        case script_step::kind::hang: {
            char sink[1024];
            for (;;) {
                co_await s.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
                if (ec)
                    co_return;
            }
        }
        case script_step::kind::repeat:
            i = static_cast<std::size_t>(-1); // the loop increment wraps to 0
            break;
        }
    }
}

} // namespace plexbutler::test

#endif
