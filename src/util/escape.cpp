#include "util/escape.hpp"

namespace plexbutler::detail {

void append_hex_escape(std::string& out, unsigned char byte)
{
    static constexpr char hex[] = "0123456789abcdef";
    const char e[4] = {'\\', 'x', hex[byte >> 4], hex[byte & 0x0f]};
    out.append(e, sizeof e);
}

void append_ascii_escaped(std::string& out, std::string_view text, std::string_view also)
{
    for (const char ch : text) {
        const auto byte = static_cast<unsigned char>(ch);
        if (byte < 0x20 || byte >= 0x7f || also.find(ch) != std::string_view::npos)
            append_hex_escape(out, byte);
        else
            out += ch;
    }
}

std::string ascii_escaped(std::string_view text, std::size_t max)
{
    std::string out;
    text = text.substr(0, max);
    out.reserve(text.size());
    append_ascii_escaped(out, text);
    return out;
}

std::size_t utf8_sequence_length(std::string_view s) noexcept
{
    if (s.empty())
        return 0;
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    auto cont = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xc0) == 0x80; };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80)
        return 1;
    if (b0 >= 0xc2 && b0 <= 0xdf)
        return cont(1) ? 2 : 0;
    if (b0 >= 0xe0 && b0 <= 0xef) {
        if (!cont(1) || !cont(2))
            return 0;
        const unsigned char b1 = byte(1);
        if ((b0 == 0xe0 && b1 < 0xa0) || (b0 == 0xed && b1 > 0x9f))
            return 0;
        return 3;
    }
    if (b0 >= 0xf0 && b0 <= 0xf4) {
        if (!cont(1) || !cont(2) || !cont(3))
            return 0;
        const unsigned char b1 = byte(1);
        if ((b0 == 0xf0 && b1 < 0x90) || (b0 == 0xf4 && b1 > 0x8f))
            return 0;
        return 4;
    }
    return 0;
}

std::string escape_for_terminal(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const std::size_t len = utf8_sequence_length(text);
        const auto b0 = static_cast<unsigned char>(text[0]);
        if (len == 0) {
            append_hex_escape(out, b0);
            text.remove_prefix(1);
            continue;
        }
        const bool control = (len == 1 && (b0 < 0x20 || b0 == 0x7f)) ||
                             (len == 2 && b0 == 0xc2 && static_cast<unsigned char>(text[1]) <= 0x9f);
        if (control) {
            for (std::size_t i = 0; i < len; ++i)
                append_hex_escape(out, static_cast<unsigned char>(text[i]));
        } else {
            out.append(text.substr(0, len));
        }
        text.remove_prefix(len);
    }
    return out;
}

} // namespace plexbutler::detail
