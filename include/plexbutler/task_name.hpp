#ifndef PLEXBUTLER_TASK_NAME_HPP
#define PLEXBUTLER_TASK_NAME_HPP

/// @file task_name.hpp
/// @brief `task_name`: an open, validated name of a Butler task, with the documented names as constants.

#include <plexbutler/error.hpp>

#include <boost/system/result.hpp>

#include <compare>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace plexbutler {

/// @brief The name of a Butler task, guaranteed to be one safe URL path segment.
///
/// An open type: any name a server reports can be held and started, not only
/// the documented ones. A valid name is 1 to 128 bytes of printable ASCII
/// without space, `/`, `?`, `#`, `%`, `\`, or any of `"<>^`{|}` (so it needs no
/// escaping and can never change the request line), and not the dot-segments
/// `.` or `..` (which URL normalisation would resolve). Value semantics; not
/// synchronised (like `std::string`).
class task_name {
public:
    /// @brief Validates and stores `name`.
    /// @throws butler_error with `error::invalid_task_name` naming the offending byte.
    explicit task_name(std::string_view name);

    /// @brief Validates `name` without throwing.
    /// @return the name, or `error::invalid_task_name` with a message naming the offending byte.
    static boost::system::result<task_name, failure> parse(std::string_view name);

    /// @brief Returns true when `name` is a valid task name.
    static bool is_valid(std::string_view name) noexcept;

    /// @brief The name as sent on the wire.
    const std::string& str() const noexcept { return name_; }
    /// @brief The name as a view.
    std::string_view view() const noexcept { return name_; }

    /// @brief True when the name is one of those in either OpenAPI document.
    bool is_documented() const noexcept;

    /// @brief Byte-wise equality of the names (task names are case-sensitive).
    friend bool operator==(const task_name&, const task_name&) = default;
    /// @brief Byte-wise ordering of the names.
    friend auto operator<=>(const task_name&, const task_name&) = default;

private:
    struct trusted {};
    task_name(trusted, std::string name) : name_(std::move(name)) {}
    std::string name_;
};

/// @brief Prints the name as sent on the wire (always printable ASCII).
/// @param os the stream. @param name the name. @return `os`.
std::ostream& operator<<(std::ostream& os, const task_name& name);

/// @brief Every task name that appears in either OpenAPI document (0.0.3 and 1.1.1), sorted.
std::span<const std::string_view> documented_task_names() noexcept;

/// @brief Names of the documented Butler tasks (spelt as on the wire).
///
/// Use them as `task_name{tasks::backup_database}`, or pass them directly to
/// the client operations that take a `std::string_view`.
namespace tasks {
// In both documents.
/// Back up the database.
inline constexpr std::string_view backup_database = "BackupDatabase";
/// Remove unused bundles.
inline constexpr std::string_view clean_old_bundles = "CleanOldBundles";
/// Remove old cache files.
inline constexpr std::string_view clean_old_cache_files = "CleanOldCacheFiles";
/// Deep analysis of media files.
inline constexpr std::string_view deep_media_analysis = "DeepMediaAnalysis";
/// Chapter thumbnails.
inline constexpr std::string_view generate_chapter_thumbs = "GenerateChapterThumbs";
/// Seek-preview index files.
inline constexpr std::string_view generate_media_index_files = "GenerateMediaIndexFiles";
/// Optimise the database.
inline constexpr std::string_view optimize_database = "OptimizeDatabase";
/// Scan libraries.
inline constexpr std::string_view refresh_libraries = "RefreshLibraries";
/// Refresh local media assets.
inline constexpr std::string_view refresh_local_media = "RefreshLocalMedia";
/// Refresh metadata periodically.
inline constexpr std::string_view refresh_periodic_metadata = "RefreshPeriodicMetadata";
/// Upgrade old media analysis.
inline constexpr std::string_view upgrade_media_analysis = "UpgradeMediaAnalysis";
// Only in the 0.0.3 document.
/// Gracenote collections.
inline constexpr std::string_view build_gracenote_collections = "BuildGracenoteCollections";
/// Check for server updates.
inline constexpr std::string_view check_for_updates = "CheckForUpdates";
/// Automatic photo tags.
inline constexpr std::string_view generate_auto_tags = "GenerateAutoTags";
// Only in the 1.1.1 document.
/// Install updates.
inline constexpr std::string_view automatic_updates = "AutomaticUpdates";
/// Ad markers.
inline constexpr std::string_view butler_task_generate_ad_markers = "ButlerTaskGenerateAdMarkers";
/// Credits markers.
inline constexpr std::string_view butler_task_generate_credits_markers = "ButlerTaskGenerateCreditsMarkers";
/// Intro markers.
inline constexpr std::string_view butler_task_generate_intro_markers = "ButlerTaskGenerateIntroMarkers";
/// Voice activity.
inline constexpr std::string_view butler_task_generate_voice_activity = "ButlerTaskGenerateVoiceActivity";
/// Unused blobs.
inline constexpr std::string_view garbage_collect_blobs = "GarbageCollectBlobs";
/// Orphaned media.
inline constexpr std::string_view garbage_collect_library_media = "GarbageCollectLibraryMedia";
/// Artwork blur hashes.
inline constexpr std::string_view generate_blur_hashes = "GenerateBlurHashes";
/// Audio loudness.
inline constexpr std::string_view loudness_analysis = "LoudnessAnalysis";
/// Sonic analysis.
inline constexpr std::string_view music_analysis = "MusicAnalysis";
/// Live TV guides.
inline constexpr std::string_view refresh_epg_guides = "RefreshEpgGuides";
} // namespace tasks

} // namespace plexbutler

#endif
