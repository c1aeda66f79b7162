// The servers file of plexbutler --servers: parsing (I/O-free) and loading with the permission check.
#include "servers_file.hpp"

#include "util/escape.hpp"

#include <plexbutler/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

namespace plexbutler::cli {

namespace {

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// The words of one line, up to a word that starts with '#'.
std::vector<std::string_view> split_words(std::string_view line)
{
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i]))
            ++i;
        if (i == line.size() || line[i] == '#')
            break;
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i]))
            ++i;
        words.push_back(line.substr(start, i - start));
    }
    return words;
}

bool valid_env_name(std::string_view name) noexcept
{
    if (name.empty() || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (char c : name)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

// Printable ASCII without space: what a token can be sent as in a header and redacted as.
bool printable_token(std::string_view token) noexcept
{
    for (char c : token)
        if (c <= ' ' || c > '~')
            return false;
    return true;
}

class line_error {
public:
    line_error(std::string_view file, std::size_t line)
        : prefix_(tools::escaped(file) + ":" + std::to_string(line) + ": ")
    {
    }
    [[noreturn]] void raise(const std::string& message) const { throw servers_file_error(prefix_ + message); }

private:
    std::string prefix_;
};

} // namespace

server_list parse_servers(std::string_view text, std::string_view file_name, const env_lookup& env)
{
    server_list list;
    std::map<std::string, std::size_t, std::less<>> id_lines;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        const auto words = split_words(line);
        if (words.empty())
            continue;
        const line_error err(file_name, line_no);
        // The second word may be a token written without its prefix: never quote it.
        if (words.size() < 2)
            err.raise("expected URL TOKEN-SOURCE [ID] (TOKEN-SOURCE is env:NAME, token:VALUE or -)");
        if (words.size() > 3)
            err.raise("expected URL TOKEN-SOURCE [ID], found more than 3 fields");

        // Ids and URLs are printed and written into JSON: printable, well-formed UTF-8 only.
        for (std::size_t w = 0; w < words.size(); w += 2)
            if (plexbutler::detail::escape_for_terminal(words[w]) != words[w])
                err.raise(std::string(w == 0 ? "the URL" : "the id") + " " + tools::quoted(words[w]) +
                          " contains a control character or a byte that is not UTF-8");
        server_entry e;
        e.line = line_no;
        e.url = words[0];
        e.id = words.size() == 3 ? std::string(words[2]) : e.url;
        const std::string_view source = words[1];
        std::string what; // how messages name the token's source
        if (source == "-") {
            // No token.
        } else if (source.starts_with("env:")) {
            const std::string_view name = source.substr(4);
            if (!valid_env_name(name))
                err.raise("env: needs the name of an environment variable (letters, digits and _), found " +
                          tools::quoted(name));
            std::optional<std::string> value = env ? env(name) : std::nullopt;
            if (!value)
                err.raise("environment variable " + std::string(name) + " is not set");
            if (value->empty())
                err.raise("environment variable " + std::string(name) + " is empty");
            e.token = std::move(*value);
            what = "the token in environment variable " + std::string(name);
        } else if (source.starts_with("token:")) {
            e.token = source.substr(6);
            e.inline_token = true;
            if (e.token.empty())
                err.raise("token: needs a value (or use - for no token)");
            what = "the inline token";
            if (list.first_inline_token_line == 0)
                list.first_inline_token_line = line_no;
        } else {
            err.raise("the second field must be env:NAME, token:VALUE or - (a token is written token:VALUE)");
        }
        if (!e.token.empty()) {
            if (!printable_token(e.token))
                err.raise(what + " contains a space, a control character or a non-ASCII byte");
            // The same rule as --token: redact() removes a shorter token only where it stands alone.
            if (e.token.size() < redact_anywhere_length)
                err.raise(what + " must have at least " + std::to_string(redact_anywhere_length) +
                          " characters (a Plex token has about 20)");
        }
        if (auto [it, fresh] = id_lines.try_emplace(e.id, line_no); !fresh)
            err.raise("duplicate server id " + tools::quoted(e.id) + " (first on line " + std::to_string(it->second) +
                      ")");
        list.servers.push_back(std::move(e));
    }
    if (list.servers.empty())
        throw servers_file_error(tools::escaped(file_name) + ": no servers (one a line: URL TOKEN-SOURCE [ID])");
    return list;
}

server_list load_servers_file(const std::string& path, const env_lookup& env)
{
    const std::string name = tools::escaped(path);
    auto fail_errno = [&](const char* what) {
        throw servers_file_error(name + ": cannot " + what + ": " + std::strerror(errno));
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        fail_errno("open");
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_fd{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0)
        fail_errno("stat");
    if (S_ISDIR(st.st_mode))
        throw servers_file_error(name + ": is a directory");

    std::string text;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail_errno("read");
        }
        if (n == 0)
            break;
        if (text.size() + static_cast<std::size_t>(n) > max_servers_file_bytes)
            throw servers_file_error(name + ": larger than " + std::to_string(max_servers_file_bytes >> 20) + " MiB");
        text.append(buf, static_cast<std::size_t>(n));
    }

    server_list list = parse_servers(text, path, env);
    const auto mode = static_cast<unsigned>(st.st_mode & 07777);
    if (list.first_inline_token_line != 0 && !private_mode(mode)) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", mode);
        throw servers_file_error(name + ": holds a token (line " + std::to_string(list.first_inline_token_line) +
                                 ") but group or others can access it (mode " + octal + "); run chmod 600 " + name +
                                 ", or use env:NAME instead of token:VALUE");
    }
    return list;
}

} // namespace plexbutler::cli
