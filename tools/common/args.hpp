#ifndef PLEXBUTLER_TOOLS_COMMON_ARGS_HPP
#define PLEXBUTLER_TOOLS_COMMON_ARGS_HPP

/// @file args.hpp
/// @brief Command-line reading shared by `plexbutler`, `plexbutler-emulator` and `plexbutler-bench`:
/// walking the words, option values, numbers and durations, and quoting a user's word in an error.
///
/// Nothing here prints or exits: each program words its own errors and picks its exit status.

#include <charconv>
#include <chrono>
#include <concepts>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plexbutler::tools {

/// @brief A bad command line; `what()` is one line that is safe to print.
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// @brief `word` escaped so that it cannot drive a terminal: controls and bytes that are not
/// well-formed UTF-8 become `\xNN` (plexbutler::detail::escape_for_terminal).
std::string escaped(std::string_view word);

/// @brief `escaped(word)` between single quotes: how an error message shows a user's word.
std::string quoted(std::string_view word);

/// @brief Walks the words of a command line, one at a time.
///
/// An option's value is the next word (`--name value`) or, when the reader accepts inline
/// values, the part after the first `=` (`--name=value`). Not thread-safe; the words must
/// outlive the reader.
class arg_reader {
public:
    /// @brief `words` as given, without the program name. `inline_values`: split `--name=value`.
    arg_reader(std::vector<std::string_view> words, bool inline_values);

    /// @brief `argv[1]` to `argv[argc - 1]`.
    arg_reader(int argc, const char* const* argv, bool inline_values);

    /// @brief `words` as given, without the program name.
    arg_reader(const std::vector<std::string>& words, bool inline_values);

    /// @brief Whether a word is left.
    bool more() const noexcept { return next_ < words_.size(); }

    /// @brief Takes the next word. With inline values, `--name=value` gives `--name` and keeps
    /// `value` for `value()`. Precondition: `more()`.
    std::string_view next();

    /// @brief Takes every word left, none split.
    std::vector<std::string_view> rest();

    /// @brief Whether the word `next()` gave last carried an inline value.
    bool has_inline_value() const noexcept { return inline_value_.has_value(); }

    /// @brief The value of the option `next()` gave last: its inline value, else the next word
    /// (taken); empty when there is neither.
    std::optional<std::string_view> value();

    /// @brief `value()`, or a `usage_error` "--name: missing value" ("argument 'word': missing
    /// value" for a word that is not an option) when there is none.
    std::string_view required_value();

private:
    std::vector<std::string_view> words_;
    std::string_view last_; // what next() gave last
    std::size_t next_ = 0;
    bool inline_values_;
    std::optional<std::string_view> inline_value_;
};

/// @brief A whole number written in decimal digits only (no sign, space or suffix) from `min`
/// to `max`; empty otherwise.
template <std::unsigned_integral T>
std::optional<T> parse_whole(std::string_view text, T min = 0, T max = std::numeric_limits<T>::max()) noexcept
{
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < min || value > max)
        return std::nullopt;
    return value;
}

/// @brief A decimal number as `std::strtod` reads it, all of `text`, finite and within
/// [`min`, `max`]; empty otherwise (also on overflow or underflow).
std::optional<double> parse_decimal(std::string_view text, double min, double max);

/// @brief A whole number of milliseconds from `min` to `max`; empty otherwise.
std::optional<std::chrono::milliseconds> parse_milliseconds(std::string_view text, std::chrono::milliseconds min,
                                                            std::chrono::milliseconds max) noexcept;

/// @brief A decimal number of seconds (`0.5`, `10`) from `min` to `max`; empty otherwise.
std::optional<std::chrono::duration<double>> parse_seconds(std::string_view text, std::chrono::duration<double> min,
                                                           std::chrono::duration<double> max);

} // namespace plexbutler::tools

#endif
