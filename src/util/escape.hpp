#ifndef PLEXBUTLER_UTIL_ESCAPE_HPP
#define PLEXBUTLER_UTIL_ESCAPE_HPP

// Byte escaping for text that came from outside (servers, users) before it reaches a message,
// a log line or a terminal: the only copies in the tree. Escapes are `\xNN`, lower-case hex.

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace plexbutler::detail {

/// Appends `\xNN` for `byte`.
void append_hex_escape(std::string& out, unsigned char byte);

/// Appends `text` with every byte outside printable ASCII (0x20-0x7e), and every byte listed in
/// `also`, escaped as `\xNN`.
void append_ascii_escaped(std::string& out, std::string_view text, std::string_view also = {});

/// `text`, cut to its first `max` bytes, with bytes outside printable ASCII escaped as `\xNN`.
std::string ascii_escaped(std::string_view text, std::size_t max = std::numeric_limits<std::size_t>::max());

/// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF), or 0 when it is not well-formed or `s` is empty.
std::size_t utf8_sequence_length(std::string_view s) noexcept;

/// Text safe to print on a terminal: C0 controls, DEL and the C1 controls U+0080-U+009F are
/// escaped byte by byte as `\xNN`, and so is every byte that is not part of well-formed UTF-8.
/// Well-formed UTF-8 passes through intact.
std::string escape_for_terminal(std::string_view text);

} // namespace plexbutler::detail

#endif
