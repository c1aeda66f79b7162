#ifndef PLEXBUTLER_TOOLS_CLI_SERVERS_FILE_HPP
#define PLEXBUTLER_TOOLS_CLI_SERVERS_FILE_HPP

/// @file servers_file.hpp
/// @brief The servers file of `plexbutler --servers FILE`: one server a line, `URL TOKEN-SOURCE [ID]`.
///
/// ```
/// # URL                          TOKEN-SOURCE        ID (optional, defaults to the URL)
/// https://10.0.0.2:32400         env:PLEX_TOKEN_A    living-room
/// https://10.0.0.3:32400         token:xxxxxxxxxxxx  office
/// http://127.0.0.1:32400         -
/// ```
///
/// TOKEN-SOURCE is `env:NAME` (the token is the value of environment variable NAME),
/// `token:VALUE` (inline) or `-` (no token). Fields are separated by spaces or tabs; a word
/// that starts with `#` begins a comment that runs to the end of the line; blank lines are
/// ignored. Ids must be unique. A file that holds an inline token must not be accessible
/// by group or others (`mode & 077`).
///
/// Error messages name the file and the line (`servers.txt:3: ...`) and never contain a token.

#include "args.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace plexbutler::cli {

/// @brief A servers file that cannot be used; `what()` is one printable line without any token.
class servers_file_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// @brief One server of a servers file.
struct server_entry {
    std::string url;           ///< As written.
    std::string token;         ///< The token; empty for `-`. Never printed.
    std::string id;            ///< The third field, or the URL.
    std::size_t line = 0;      ///< 1-based line number in the file.
    bool inline_token = false; ///< The token was written in the file (`token:VALUE`).
};

/// @brief A parsed servers file.
struct server_list {
    std::vector<server_entry> servers; ///< In file order.
    /// Line of the first `token:VALUE`, 0 when the file holds no inline token.
    std::size_t first_inline_token_line = 0;
};

/// @brief Largest servers file read (bounded memory): 16 MiB, about 150,000 servers.
inline constexpr std::size_t max_servers_file_bytes = std::size_t{16} << 20;

/// @brief Parses the text of a servers file (I/O-free: the environment comes through `env`).
/// @param file_name how messages name the file.
/// @throws servers_file_error naming the file and line: a line that is not `URL TOKEN-SOURCE [ID]`, an
/// unknown token source, a missing or empty environment variable, a token shorter than 8 characters or
/// not printable ASCII, a duplicate id, or a file without servers.
server_list parse_servers(std::string_view text, std::string_view file_name, const env_lookup& env);

/// @brief Whether a file with this mode may hold inline tokens: not accessible by group or others.
inline bool private_mode(unsigned mode) noexcept { return (mode & 077u) == 0; }

/// @brief Opens, checks and parses a servers file.
///
/// The permission check uses `fstat` on the descriptor that is read (no race with a rename).
/// @throws servers_file_error when the file cannot be opened or read, is larger than
/// `max_servers_file_bytes`, fails to parse (`parse_servers`), or holds an inline token while its mode
/// lets group or others access it.
server_list load_servers_file(const std::string& path, const env_lookup& env);

} // namespace plexbutler::cli

#endif
