#include "args.hpp"

#include "util/escape.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <type_traits>
#include <utility>

namespace plexbutler::tools {

std::string escaped(std::string_view word) { return plexbutler::detail::escape_for_terminal(word); }

std::string quoted(std::string_view word) { return "'" + escaped(word) + "'"; }

arg_reader::arg_reader(std::vector<std::string_view> words, bool inline_values)
    : words_(std::move(words)), inline_values_(inline_values)
{
}

arg_reader::arg_reader(int argc, const char* const* argv, bool inline_values)
    : arg_reader(argc > 1 ? std::vector<std::string_view>(argv + 1, argv + argc) : std::vector<std::string_view>{},
                 inline_values)
{
}

arg_reader::arg_reader(const std::vector<std::string>& words, bool inline_values)
    : arg_reader(std::vector<std::string_view>(words.begin(), words.end()), inline_values)
{
}

std::string_view arg_reader::next()
{
    std::string_view word = words_.at(next_++);
    inline_value_.reset();
    if (inline_values_ && word.starts_with("--")) {
        if (const auto eq = word.find('='); eq != std::string_view::npos) {
            inline_value_ = word.substr(eq + 1);
            word = word.substr(0, eq);
        }
    }
    last_ = word;
    return word;
}

std::vector<std::string_view> arg_reader::rest()
{
    std::vector<std::string_view> left(words_.begin() + static_cast<std::ptrdiff_t>(next_), words_.end());
    next_ = words_.size();
    inline_value_.reset();
    return left;
}

std::optional<std::string_view> arg_reader::value()
{
    if (inline_value_)
        return std::exchange(inline_value_, std::nullopt);
    if (!more())
        return std::nullopt;
    return words_[next_++];
}

std::string_view arg_reader::required_value()
{
    if (const auto v = value())
        return *v;
    throw usage_error((last_.starts_with("--") ? escaped(last_) : "argument " + quoted(last_)) + ": missing value");
}

std::optional<double> parse_decimal(std::string_view text, double min, double max)
{
    // strtod needs a terminator; a std::string gives one (and stops at an embedded NUL, which
    // then fails the whole-text check).
    const std::string s(text);
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(value) || value < min ||
        value > max)
        return std::nullopt;
    return value;
}

std::optional<std::chrono::milliseconds> parse_milliseconds(std::string_view text, std::chrono::milliseconds min,
                                                            std::chrono::milliseconds max) noexcept
{
    using rep = std::make_unsigned_t<std::chrono::milliseconds::rep>;
    if (min.count() < 0 || max < min)
        return std::nullopt;
    const auto n = parse_whole<rep>(text, static_cast<rep>(min.count()), static_cast<rep>(max.count()));
    if (!n)
        return std::nullopt;
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(*n));
}

std::optional<std::chrono::duration<double>> parse_seconds(std::string_view text, std::chrono::duration<double> min,
                                                           std::chrono::duration<double> max)
{
    const auto s = parse_decimal(text, min.count(), max.count());
    if (!s)
        return std::nullopt;
    return std::chrono::duration<double>(*s);
}

} // namespace plexbutler::tools
