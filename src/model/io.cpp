// operator<< of the value types (declared beside each type, with <iosfwd> only): JSON for the
// data, the existing one-line messages for outcomes and failures.
#include "util/escape.hpp"

#include <plexbutler/error.hpp>
#include <plexbutler/models.hpp>
#include <plexbutler/response.hpp>
#include <plexbutler/task_name.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>

#include <ostream>

namespace plexbutler {

namespace {

template <class T>
std::ostream& print_json(std::ostream& os, const T& v)
{
    return os << boost::json::serialize(boost::json::value_from(v));
}

} // namespace

std::ostream& operator<<(std::ostream& os, error e) { return os << make_error_code(e).message(); }

std::ostream& operator<<(std::ostream& os, const plex_error& e) { return print_json(os, e); }

std::ostream& operator<<(std::ostream& os, const plex_error_list& l) { return print_json(os, l); }

std::ostream& operator<<(std::ostream& os, const failure& f) { return os << f.message(); }

std::ostream& operator<<(std::ostream& os, const butler_task& t) { return print_json(os, t); }

std::ostream& operator<<(std::ostream& os, const butler_task_list& l) { return print_json(os, l); }

std::ostream& operator<<(std::ostream& os, task_list_envelope e)
{
    return os << (e == task_list_envelope::media_container ? "MediaContainer" : "ButlerTasks");
}

std::ostream& operator<<(std::ostream& os, task_outcome o) { return os << to_string(o); }

std::ostream& operator<<(std::ostream& os, const raw_response& r)
{
    std::string text = detail::ascii_escaped(r.status_line());
    std::string_view fields = r.fields;
    while (!fields.empty()) {
        const auto end = fields.find("\r\n");
        text += '\n';
        detail::append_ascii_escaped(text, fields.substr(0, end));
        fields.remove_prefix(end == std::string_view::npos ? fields.size() : end + 2);
    }
    return os << text;
}

std::ostream& operator<<(std::ostream& os, const tasks_response& r)
{
    return os << "HTTP " << r.status << ": " << r.content;
}

std::ostream& operator<<(std::ostream& os, const task_response& r)
{
    return os << "HTTP " << r.status << ": " << r.content;
}

std::ostream& operator<<(std::ostream& os, const task_name& name) { return os << name.view(); }

} // namespace plexbutler
