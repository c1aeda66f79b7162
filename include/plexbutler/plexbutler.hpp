#ifndef PLEXBUTLER_PLEXBUTLER_HPP
#define PLEXBUTLER_PLEXBUTLER_HPP

/// @file plexbutler.hpp
/// @brief Convenience header: includes the whole client API.

#include <plexbutler/client.hpp>
#include <plexbutler/error.hpp>
#include <plexbutler/fleet.hpp>
#include <plexbutler/models.hpp>
#include <plexbutler/options.hpp>
#include <plexbutler/public_key_pin.hpp>
#include <plexbutler/response.hpp>
#include <plexbutler/task_name.hpp>
#include <plexbutler/version.hpp>

#endif
