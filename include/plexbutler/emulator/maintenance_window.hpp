#ifndef PLEXBUTLER_EMULATOR_MAINTENANCE_WINDOW_HPP
#define PLEXBUTLER_EMULATOR_MAINTENANCE_WINDOW_HPP

/// @file emulator/maintenance_window.hpp
/// @brief The Butler's daily maintenance window, shared by the scheduler and the server options.

namespace plexbutler::emulator {

/// @brief The daily maintenance window, in local time, minutes since midnight.
/// `start == end` means the window is empty; `start > end` wraps past midnight.
struct maintenance_window {
    unsigned start_minute = 2 * 60; ///< Start (default 02:00).
    unsigned end_minute = 5 * 60;   ///< End, exclusive (default 05:00).
};

} // namespace plexbutler::emulator

#endif
