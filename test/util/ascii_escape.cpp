// The ASCII and escaping helpers every layer shares (src/util/ascii.hpp, src/util/escape.hpp).
#include "util/ascii.hpp"
#include "util/escape.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#if __has_include(<sys/mman.h>)
#include <sys/mman.h>
#include <unistd.h>
#define PLEXBUTLER_TEST_GUARD_PAGES 1
#endif

using plexbutler::detail::append_ascii_escaped;
using plexbutler::detail::append_hex_escape;
using plexbutler::detail::ascii_escaped;
using plexbutler::detail::ascii_lower;
using plexbutler::detail::escape_for_terminal;
using plexbutler::detail::iequals;
using plexbutler::detail::is_ows;
using plexbutler::detail::trim_ows;
using plexbutler::detail::utf8_sequence_length;
using namespace std::string_view_literals;

namespace {

std::string byte_string(unsigned b) { return std::string(1, static_cast<char>(b)); }

// `\xNN` with lower-case hex, written independently of the code under test.
std::string hex_escape(unsigned b)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", b);
    return buf;
}

// UTF-8 encoding of `cp` (surrogates included, as a naive encoder would write them).
std::string utf8(char32_t cp)
{
    std::string out;
    auto put = [&](unsigned v) { out += static_cast<char>(v); };
    const auto c = static_cast<unsigned>(cp);
    if (c < 0x80) {
        put(c);
    } else if (c < 0x800) {
        put(0xc0 | (c >> 6));
        put(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        put(0xe0 | (c >> 12));
        put(0x80 | ((c >> 6) & 0x3f));
        put(0x80 | (c & 0x3f));
    } else {
        put(0xf0 | (c >> 18));
        put(0x80 | ((c >> 12) & 0x3f));
        put(0x80 | ((c >> 6) & 0x3f));
        put(0x80 | (c & 0x3f));
    }
    return out;
}

#ifdef PLEXBUTLER_TEST_GUARD_PAGES
// `text` placed so that its last byte is the last readable one: the next page is PROT_NONE,
// so reading one byte past the end crashes instead of going unnoticed.
class guarded_text {
public:
    explicit guarded_text(std::string_view text)
    {
        page_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        void* p = ::mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        REQUIRE(p != MAP_FAILED);
        base_ = static_cast<char*>(p);
        REQUIRE(::mprotect(base_ + page_, page_, PROT_NONE) == 0);
        char* start = base_ + page_ - text.size();
        std::memcpy(start, text.data(), text.size());
        view_ = std::string_view(start, text.size());
    }
    ~guarded_text() { ::munmap(base_, 2 * page_); }
    guarded_text(const guarded_text&) = delete;
    guarded_text& operator=(const guarded_text&) = delete;

    std::string_view view() const { return view_; }

private:
    std::size_t page_ = 0;
    char* base_ = nullptr;
    std::string_view view_;
};
#endif

} // namespace

TEST_CASE("iequals folds A-Z and nothing else", "[util][ascii]")
{
    CHECK(iequals("Content-Type", "content-type"));
    CHECK(iequals("X-PLEX-TOKEN", "x-plex-token"));
    CHECK(iequals("", ""));
    CHECK_FALSE(iequals("abc", "abcd"));
    CHECK_FALSE(iequals("abc", "abd"));

    SECTION("bytes 0x20 apart that are not A-Z / a-z differ: punctuation, DEL, bytes >= 0x80")
    {
        const std::pair<std::string_view, std::string_view> not_case_pairs[] = {
            {"@", "`"},
            {"[", "{"},
            {"\\", "|"},
            {"]", "}"},
            {"^", "~"},
            {"_", "\x7f"},
            {"X-Plex@Token", "x-plex`token"},
            {"\xc0", "\xe0"},               // Latin-1 A-grave / a-grave
            {"Caf\xc3\x89", "caf\xc3\xa9"}, // UTF-8 E-acute / e-acute
        };
        for (const auto& [a, b] : not_case_pairs) {
            INFO(ascii_escaped(a) << " / " << ascii_escaped(b));
            CHECK_FALSE(iequals(a, b));
            CHECK_FALSE(iequals(b, a));
        }
        CHECK(iequals("Caf\xc3\xa9", "CAF\xc3\xa9"));
    }
    SECTION("every pair of single bytes")
    {
        auto upper = [](unsigned b) { return b >= 'A' && b <= 'Z'; };
        int wrong = 0;
        for (unsigned a = 0; a < 256; ++a) {
            for (unsigned b = 0; b < 256; ++b) {
                const bool want = a == b || (upper(a) && b == a + 32) || (upper(b) && a == b + 32);
                if (iequals(byte_string(a), byte_string(b)) != want) {
                    INFO("bytes " << a << " and " << b);
                    CHECK(iequals(byte_string(a), byte_string(b)) == want);
                    ++wrong;
                }
            }
        }
        CHECK(wrong == 0);
    }
    STATIC_REQUIRE(iequals("Accept", "aCCEPT"));
}

#ifdef PLEXBUTLER_TEST_GUARD_PAGES
TEST_CASE("iequals reads nothing past the end of its arguments", "[util][ascii]")
{
    // The last bytes differ only in case: the comparison that finds them equal must stop there.
    const guarded_text a("Content-Type");
    const guarded_text b("content-typE");
    CHECK(iequals(a.view(), b.view()));
    const guarded_text c("x");
    const guarded_text d("X");
    CHECK(iequals(c.view(), d.view()));
}
#endif

TEST_CASE("ascii_lower and is_ows", "[util][ascii]")
{
    for (unsigned b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        const char want = b >= 'A' && b <= 'Z' ? static_cast<char>(b + 32) : c;
        INFO("byte " << b);
        CHECK(ascii_lower(c) == want);
        CHECK(is_ows(c) == (b == ' ' || b == '\t'));
    }
}

TEST_CASE("trim_ows removes SP and HTAB at both ends only", "[util][ascii]")
{
    CHECK(trim_ows(" \t application/json \t ") == "application/json");
    CHECK(trim_ows("value") == "value");
    CHECK(trim_ows("a \t b") == "a \t b");
    CHECK(trim_ows("") == "");
    CHECK(trim_ows(" \t \t") == "");
    // Not optional whitespace (RFC 9110): CR, LF, VT, FF, NBSP stay.
    CHECK(trim_ows("\r\nx\v\f") == "\r\nx\v\f");
    CHECK(trim_ows("\xc2\xa0x\xa0") == "\xc2\xa0x\xa0");
    // A view into the argument, not a copy.
    const std::string_view s = "  abc ";
    CHECK(trim_ows(s).data() == s.data() + 2);
    STATIC_REQUIRE(trim_ows("\t x \t") == "x");
}

TEST_CASE("append_hex_escape writes backslash-x and two lower-case hex digits", "[util][escape]")
{
    for (unsigned b = 0; b < 256; ++b) {
        std::string out = "pre";
        append_hex_escape(out, static_cast<unsigned char>(b));
        CHECK(out == "pre" + hex_escape(b));
    }
}

TEST_CASE("append_ascii_escaped escapes everything outside printable ASCII", "[util][escape]")
{
    SECTION("every byte")
    {
        for (unsigned b = 0; b < 256; ++b) {
            std::string out;
            append_ascii_escaped(out, byte_string(b));
            INFO("byte " << b);
            CHECK(out == (b >= 0x20 && b < 0x7f ? byte_string(b) : hex_escape(b)));
        }
    }
    SECTION("C0 controls, DEL and non-ASCII in context")
    {
        std::string out = "kept: ";
        append_ascii_escaped(out, "a\0b\r\n\t\x1b[2J\x7f"
                                  "Caf\xc3\xa9 ~"sv);
        CHECK(out == "kept: a\\x00b\\x0d\\x0a\\x09\\x1b[2J\\x7fCaf\\xc3\\xa9 ~");
    }
    SECTION("the `also` set")
    {
        std::string out;
        append_ascii_escaped(out, R"(say "hi" \o/)", "\"\\");
        CHECK(out == R"(say \x22hi\x22 \x5co/)");
        // A byte in `also` that is escaped anyway is escaped once.
        out.clear();
        append_ascii_escaped(out, "a\nb", "\n");
        CHECK(out == "a\\x0ab");
        // Without `also`, quotes and backslashes are printable and stay.
        out.clear();
        append_ascii_escaped(out, R"("\")");
        CHECK(out == R"("\")");
    }
}

TEST_CASE("ascii_escaped bounds its input", "[util][escape]")
{
    CHECK(ascii_escaped("abcdef") == "abcdef");
    CHECK(ascii_escaped("abcdef", 3) == "abc");
    CHECK(ascii_escaped("abc", 10) == "abc");
    CHECK(ascii_escaped("abc", 0) == "");
    // `max` counts input bytes; each escaped byte still shows whole.
    CHECK(ascii_escaped("\n\n\n", 2) == "\\x0a\\x0a");
    CHECK(ascii_escaped("ab\xc3\xa9", 3) == "ab\\xc3");
}

TEST_CASE("utf8_sequence_length accepts exactly well-formed UTF-8", "[util][escape]")
{
    CHECK(utf8_sequence_length("") == 0);
    CHECK(utf8_sequence_length("ab") == 1);
    CHECK(utf8_sequence_length("\xc3\xa9z") == 2);
    SECTION("boundaries")
    {
        CHECK(utf8_sequence_length("\xc2\x80") == 2);         // U+0080
        CHECK(utf8_sequence_length("\xdf\xbf") == 2);         // U+07FF
        CHECK(utf8_sequence_length("\xe0\xa0\x80") == 3);     // U+0800
        CHECK(utf8_sequence_length("\xed\x9f\xbf") == 3);     // U+D7FF
        CHECK(utf8_sequence_length("\xee\x80\x80") == 3);     // U+E000
        CHECK(utf8_sequence_length("\xef\xbf\xbf") == 3);     // U+FFFF
        CHECK(utf8_sequence_length("\xf0\x90\x80\x80") == 4); // U+10000
        CHECK(utf8_sequence_length("\xf4\x8f\xbf\xbf") == 4); // U+10FFFF
    }
    SECTION("ill-formed")
    {
        CHECK(utf8_sequence_length("\x80") == 0);             // lone continuation
        CHECK(utf8_sequence_length("\xc0\x80") == 0);         // overlong NUL
        CHECK(utf8_sequence_length("\xc1\xbf") == 0);         // overlong U+007F
        CHECK(utf8_sequence_length("\xe0\x9f\xbf") == 0);     // overlong U+07FF
        CHECK(utf8_sequence_length("\xf0\x8f\xbf\xbf") == 0); // overlong U+FFFF
        CHECK(utf8_sequence_length("\xed\xa0\x80") == 0);     // surrogate U+D800
        CHECK(utf8_sequence_length("\xed\xbf\xbf") == 0);     // surrogate U+DFFF
        CHECK(utf8_sequence_length("\xf4\x90\x80\x80") == 0); // U+110000
        CHECK(utf8_sequence_length("\xf5\x80\x80\x80") == 0);
        CHECK(utf8_sequence_length("\xff") == 0);
        CHECK(utf8_sequence_length("\xe2\x82") == 0); // truncated
        CHECK(utf8_sequence_length("\xc3(") == 0);    // bad continuation
    }
    SECTION("every code point")
    {
        int wrong = 0;
        for (char32_t cp = 0; cp <= 0x10ffff; ++cp) {
            const std::string s = utf8(cp);
            const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
            const std::size_t want = surrogate ? 0 : s.size();
            if (utf8_sequence_length(s) != want) {
                INFO("U+" << static_cast<unsigned long>(cp));
                CHECK(utf8_sequence_length(s) == want);
                if (++wrong > 10)
                    break;
            }
        }
        CHECK(wrong == 0);
    }
}

TEST_CASE("escape_for_terminal keeps text and escapes what a terminal would act on", "[util][escape]")
{
    SECTION("well-formed UTF-8 passes through")
    {
        const std::string text = "Caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0 ~";
        CHECK(escape_for_terminal(text) == text);
        CHECK(escape_for_terminal("") == "");
    }
    SECTION("C0 controls and DEL")
    {
        CHECK(escape_for_terminal("a\x1b[31mred") == "a\\x1b[31mred");
        CHECK(escape_for_terminal("line\r\n\t") == "line\\x0d\\x0a\\x09");
        CHECK(escape_for_terminal("nul\0x"sv) == "nul\\x00x");
        CHECK(escape_for_terminal("del\x7f") == "del\\x7f");
    }
    SECTION("C1 controls (U+0080-U+009F) are escaped, U+00A0 is not")
    {
        for (char32_t cp = 0x80; cp <= 0xff; ++cp) {
            const std::string s = utf8(cp);
            const auto b0 = static_cast<unsigned char>(s[0]);
            const auto b1 = static_cast<unsigned char>(s[1]);
            INFO("U+" << static_cast<unsigned long>(cp));
            CHECK(escape_for_terminal(s) == (cp <= 0x9f ? hex_escape(b0) + hex_escape(b1) : s));
        }
        CHECK(escape_for_terminal("\xc2\x9b"
                                  "2J") == "\\xc2\\x9b2J"); // CSI
    }
    SECTION("overlongs, surrogates and stray bytes are escaped byte by byte")
    {
        CHECK(escape_for_terminal("\xc0\x9b[2J") == "\\xc0\\x9b[2J");    // overlong ESC
        CHECK(escape_for_terminal("\xe0\x80\xaf") == "\\xe0\\x80\\xaf"); // overlong '/'
        CHECK(escape_for_terminal("\xed\xa0\x80") == "\\xed\\xa0\\x80"); // U+D800
        CHECK(escape_for_terminal("\xed\xbf\xbf") == "\\xed\\xbf\\xbf"); // U+DFFF
        CHECK(escape_for_terminal("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");
        CHECK(escape_for_terminal("a\x80z") == "a\\x80z");
        CHECK(escape_for_terminal("abc\xe2\x82") == "abc\\xe2\\x82"); // truncated at the end
        // After a bad lead byte the next sequence is read afresh.
        CHECK(escape_for_terminal("\xe2(\xc3\xa9") == "\\xe2(\xc3\xa9");
    }
    SECTION("no control byte survives any two-byte input")
    {
        int wrong = 0;
        for (unsigned a = 0; a < 256; ++a) {
            for (unsigned b = 0; b < 256; ++b) {
                const std::string out = escape_for_terminal(byte_string(a) + byte_string(b));
                bool bad = false;
                for (std::size_t i = 0; i < out.size(); ++i) {
                    const auto c = static_cast<unsigned char>(out[i]);
                    const auto next = i + 1 < out.size() ? static_cast<unsigned char>(out[i + 1]) : 0u;
                    bad = bad || c < 0x20 || c == 0x7f || (c == 0xc2 && next >= 0x80 && next <= 0x9f);
                }
                if (bad) {
                    INFO("bytes " << a << " " << b);
                    CHECK_FALSE(bad);
                    if (++wrong > 10)
                        break;
                }
            }
        }
        CHECK(wrong == 0);
    }
}
