// The task names of the library against the Butler enums of the Plex OpenAPI documents, which
// live beside the project (PLEXBUTLER_OPENAPI_DIR) and are never copied into it. test/CMakeLists.txt
// builds and registers this area only where the documents exist; once registered, a missing
// document fails the test.
#include <plexbutler/task_name.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

using namespace plexbutler;

namespace {

// The enum names listed under the /butler/{...} path of one OpenAPI document (a plain text scan).
std::set<std::string> butler_enum_names(const std::filesystem::path& file)
{
    std::ifstream in(file);
    REQUIRE(in.good());
    std::set<std::string> names;
    std::string line;
    bool in_butler_path = false;
    bool in_enum = false;
    std::size_t enum_indent = 0;
    while (std::getline(in, line)) {
        const std::size_t indent = line.find_first_not_of(' ');
        if (indent == std::string::npos) {
            continue;
        }
        const std::string_view body = std::string_view(line).substr(indent);
        if (indent == 2) { // a path key under `paths:`
            in_butler_path = body.rfind("/butler/{", 0) == 0 || body.rfind("'/butler/{", 0) == 0;
            in_enum = false;
            continue;
        }
        if (indent < 2) {
            in_butler_path = false;
            continue;
        }
        if (!in_butler_path) {
            continue;
        }
        if (body == "enum:") {
            in_enum = true;
            enum_indent = indent;
            continue;
        }
        if (in_enum) {
            if (indent >= enum_indent && body.rfind("- ", 0) == 0) {
                std::string name(body.substr(2));
                while (!name.empty() && (name.back() == '\r' || name.back() == ' ')) {
                    name.pop_back();
                }
                names.insert(name);
            } else {
                in_enum = false;
            }
        }
    }
    return names;
}

} // namespace

TEST_CASE("documented_task_names matches both OpenAPI documents", "[models][reference]")
{
    const std::filesystem::path dir = PLEXBUTLER_OPENAPI_DIR;
    const auto old_doc = dir / "pms-spec-0.0.3.yaml";
    const auto new_doc = dir / "pms-spec-1.1.1.yaml";
    INFO("OpenAPI documents under " << dir.string());
    REQUIRE(std::filesystem::exists(old_doc));
    REQUIRE(std::filesystem::exists(new_doc));
    const std::set<std::string> in_old = butler_enum_names(old_doc);
    const std::set<std::string> in_new = butler_enum_names(new_doc);
    CHECK(in_old.size() == 14);
    CHECK(in_new.size() == 22);

    std::set<std::string> in_documents = in_old;
    in_documents.insert(in_new.begin(), in_new.end());
    std::set<std::string> in_library;
    for (const std::string_view name : documented_task_names()) {
        in_library.emplace(name);
    }
    CHECK(in_library.size() == documented_task_names().size()); // no duplicates
    CHECK(in_documents == in_library);
}
