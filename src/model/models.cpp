#include <plexbutler/models.hpp>

#include <string_view>

// Members of the value types; decoding and encoding are in json_decode.cpp, stream_decoder.cpp
// and json_encode.cpp.

namespace plexbutler {

const butler_task* butler_task_list::find(std::string_view name) const noexcept
{
    for (const butler_task& task : tasks) {
        if (task.name && *task.name == name) {
            return &task;
        }
    }
    return nullptr;
}

} // namespace plexbutler
