#include <plexbutler/emulator/fleet.hpp>

#include "emulator/engine.hpp"

#include <algorithm>
#include <stdexcept>

namespace plexbutler::emulator {

fleet::fleet(fleet_options opts) : engine_(std::make_unique<detail::engine>(std::move(opts))) {}
fleet::~fleet() = default;

std::size_t fleet::size() const noexcept { return engine_->size(); }
bool fleet::tls() const noexcept { return engine_->tls(); }
std::string fleet::url(std::size_t i) const { return engine_->url(i); }

std::vector<std::string> fleet::urls() const
{
    std::vector<std::string> out;
    out.reserve(size());
    for (std::size_t i = 0; i < size(); ++i)
        out.push_back(url(i));
    return out;
}

std::string fleet::id(std::size_t i) const
{
    (void)engine_->at(i);
    return "emu-" + std::to_string(i);
}

std::uint16_t fleet::port(std::size_t i) const { return engine_->port(i); }
std::optional<std::string> fleet::token(std::size_t i) const { return engine_->token(i); }
std::vector<std::size_t> fleet::faulted() const { return engine_->faulted(); }
fault_set fleet::faults(std::size_t i) const { return engine_->faults(i); }
void fleet::set_faults(std::size_t i, const fault_set& f) { engine_->set_faults(i, f); }
void fleet::set_down(std::size_t i, bool down) { engine_->set_down(i, down); }
bool fleet::is_down(std::size_t i) const { return engine_->at(i).host.down.load(); }
std::uint64_t fleet::requests_served(std::size_t i) const { return engine_->at(i).routes.requests_served(); }

std::uint64_t fleet::requests_served() const
{
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < size(); ++i)
        n += engine_->at(i).routes.requests_served();
    return n;
}

std::vector<butler_task> fleet::tasks(std::size_t i) const { return engine_->at(i).routes.tasks(); }

void fleet::modify_tasks(std::size_t i, const std::function<void(std::vector<butler_task>&)>& edit)
{
    engine_->at(i).routes.modify_tasks([&edit](std::vector<butler_task>& tasks) {
        edit(tasks);
        return true;
    });
}

void fleet::add_task(std::size_t i, butler_task task)
{
    engine_->at(i).routes.modify_tasks([&task](std::vector<butler_task>& tasks) {
        tasks.push_back(std::move(task));
        return true;
    });
}

namespace {

std::vector<butler_task>::iterator find_task(std::vector<butler_task>& tasks, std::string_view name)
{
    return std::find_if(tasks.begin(), tasks.end(), [name](const butler_task& t) { return t.name == name; });
}

} // namespace

bool fleet::remove_task(std::size_t i, std::string_view name)
{
    return engine_->at(i).routes.modify_tasks([name](std::vector<butler_task>& tasks) {
        const auto it = find_task(tasks, name);
        if (it == tasks.end())
            return false;
        tasks.erase(it);
        return true;
    });
}

bool fleet::set_task_enabled(std::size_t i, std::string_view name, bool enabled)
{
    return engine_->at(i).routes.modify_tasks([name, enabled](std::vector<butler_task>& tasks) {
        const auto it = find_task(tasks, name);
        if (it == tasks.end())
            return false;
        it->enabled = enabled;
        return true;
    });
}

std::vector<task_status> fleet::task_states(std::size_t i) const
{
    return engine_->at(i).routes.task_states(std::chrono::system_clock::now());
}

void fleet::stop() { engine_->stop(); }

} // namespace plexbutler::emulator
