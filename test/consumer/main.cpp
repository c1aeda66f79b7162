// Builds against the installed plexbutler package: decodes a task list and validates a name.
#include <plexbutler/models.hpp>
#include <plexbutler/task_name.hpp>
#include <plexbutler/version.hpp>

#include <iostream>

int main()
{
    const auto list = plexbutler::parse_task_list(
        R"({"ButlerTasks":{"ButlerTask":[{"name":"BackupDatabase","interval":3,"enabled":true}]}})");
    if (!list || list->tasks.size() != 1) {
        std::cerr << "consumer: decoding failed\n";
        return 1;
    }
    const plexbutler::task_name name{plexbutler::tasks::backup_database};
    if (!name.is_documented() || list->find(name.view()) == nullptr) {
        std::cerr << "consumer: task name lookup failed\n";
        return 1;
    }
    std::cout << "plexbutler " << plexbutler::version_string << ": " << name.str() << " every "
              << list->tasks.front().interval.value_or(0) << " days\n";
    return 0;
}
