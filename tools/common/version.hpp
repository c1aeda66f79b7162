#ifndef PLEXBUTLER_TOOLS_COMMON_VERSION_HPP
#define PLEXBUTLER_TOOLS_COMMON_VERSION_HPP

/// @file version.hpp
/// @brief The `--version` text of the programs: their version and those of the libraries they run with.

#include <plexbutler/version.hpp>

#include <boost/version.hpp>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include <string>
#include <string_view>

namespace plexbutler::tools {

/// @brief `PROGRAM VERSION`, then the plexbutler library, Boost (the headers it was built with) and
/// OpenSSL (the library it runs with, and the headers it was built with), one a line.
inline std::string version_text(std::string_view program)
{
    std::string text(program);
    text += ' ';
    text += version_string;
    text += "\nplexbutler library ";
    text += version_string;
    text += "\nBoost ";
    text += std::to_string(BOOST_VERSION / 100000) + '.' + std::to_string(BOOST_VERSION / 100 % 1000) + '.' +
            std::to_string(BOOST_VERSION % 100);
    text += " (BOOST_LIB_VERSION " BOOST_LIB_VERSION ")\n";
    text += OpenSSL_version(OPENSSL_VERSION);
    text += " (built with " OPENSSL_VERSION_TEXT ")\n";
    return text;
}

} // namespace plexbutler::tools

#endif
