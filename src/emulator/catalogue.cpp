#include <plexbutler/emulator/server.hpp>
#include <plexbutler/task_name.hpp>

namespace plexbutler::emulator {
namespace {

butler_task make(std::string_view name, double interval, bool randomized, bool enabled, const char* title,
                 const char* description)
{
    butler_task t;
    t.name = std::string{name};
    t.interval = interval;
    t.schedule_randomized = randomized;
    t.enabled = enabled;
    t.title = title;
    t.description = description;
    return t;
}

} // namespace

std::vector<butler_task> default_catalogue()
{
    namespace n = plexbutler::tasks;
    // Every documented name, so any client call with a documented name finds its task.
    // Two tasks are disabled, as on a typical server (no Gracenote, no automatic updates).
    return {
        make(n::automatic_updates, 1, false, false, "Install Automatic Updates",
             "Download and install server updates when they become available"),
        make(n::backup_database, 3, false, true, "Backup Database",
             "Create a backup copy of the server's database in the configured backup directory"),
        make(n::build_gracenote_collections, 7, true, false, "Build Gracenote Collections",
             "Build collections of movies from Gracenote metadata"),
        make(n::butler_task_generate_ad_markers, 1, true, true, "Generate Ad Markers",
             "Detect commercials in recorded TV and mark them so they can be skipped"),
        make(n::butler_task_generate_credits_markers, 1, true, true, "Generate Credits Markers",
             "Detect end credits in movies and episodes so players can skip them"),
        make(n::butler_task_generate_intro_markers, 1, true, true, "Generate Intro Markers",
             "Detect the opening theme of TV episodes so players can skip it"),
        make(n::butler_task_generate_voice_activity, 1, true, true, "Generate Voice Activity",
             "Analyse speech in audio tracks to improve subtitle synchronisation"),
        make(n::check_for_updates, 1, false, true, "Check For Updates",
             "Ask plex.tv whether a newer version of the server is available"),
        make(n::clean_old_bundles, 7, false, true, "Clean Old Bundles",
             "Remove metadata bundles that no library item refers to any more"),
        make(n::clean_old_cache_files, 7, false, true, "Clean Old Cache Files",
             "Delete transcoder and photo cache files older than a week"),
        make(n::deep_media_analysis, 1, true, true, "Perform extensive media analysis",
             "Measure the bitrate of media files over their whole length to improve streaming decisions"),
        make(n::garbage_collect_blobs, 7, false, true, "Garbage Collect Blobs",
             "Delete stored blobs (artwork, subtitles) that are no longer referenced"),
        make(n::garbage_collect_library_media, 7, false, true, "Garbage Collect Library Media",
             "Remove media items whose files have been deleted from disk for a while"),
        make(n::generate_auto_tags, 1, true, true, "Generate Auto Tags", "Tag photos automatically by what they show"),
        make(n::generate_blur_hashes, 1, true, true, "Generate Blur Hashes",
             "Compute compact blurred placeholders for posters and artwork"),
        make(n::generate_chapter_thumbs, 1, true, true, "Generate Chapter Thumbnails",
             "Extract a thumbnail image for each chapter of video files"),
        make(n::generate_media_index_files, 1, true, true, "Generate Video Preview Thumbnails",
             "Create the preview images shown while seeking in a video"),
        make(n::loudness_analysis, 1, true, true, "Perform Loudness Analysis",
             "Measure audio loudness so tracks can be levelled during playback"),
        make(n::music_analysis, 1, true, true, "Perform Sonic Analysis",
             "Analyse music tracks to find sonically similar tracks and albums"),
        make(n::optimize_database, 7, false, true, "Optimize Database",
             "Rebuild indexes and compact the server's database"),
        make(n::refresh_epg_guides, 1, false, true, "Refresh Program Guide",
             "Download the latest electronic programme guide for Live TV & DVR"),
        make(n::refresh_libraries, 1, false, true, "Refresh Libraries",
             "Scan every library for added, changed and removed files"),
        make(n::refresh_local_media, 3, false, true, "Refresh Local Media Assets",
             "Pick up posters, subtitles and other assets stored next to media files"),
        make(n::refresh_periodic_metadata, 3, true, true, "Refresh Metadata Periodically",
             "Update metadata of library items from online agents"),
        make(n::upgrade_media_analysis, 1, true, true, "Upgrade Media Analysis",
             "Re-analyse media that was analysed by an older version of the server"),
    };
}

} // namespace plexbutler::emulator
