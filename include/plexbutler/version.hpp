#ifndef PLEXBUTLER_VERSION_HPP
#define PLEXBUTLER_VERSION_HPP

/// @file version.hpp
/// @brief The library version.

/// @brief Major version.
#define PLEXBUTLER_VERSION_MAJOR 0
/// @brief Minor version.
#define PLEXBUTLER_VERSION_MINOR 1
/// @brief Patch version.
#define PLEXBUTLER_VERSION_PATCH 0
/// @brief The version as a string literal.
#define PLEXBUTLER_VERSION_STRING "0.1.0"

namespace plexbutler {
/// @brief The library version, e.g. `"0.1.0"`.
inline constexpr const char* version_string = PLEXBUTLER_VERSION_STRING;
} // namespace plexbutler

#endif
