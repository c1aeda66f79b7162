#include <plexbutler/emulator/fleet.hpp>
#include <plexbutler/emulator/server.hpp>

#include "emulator/engine.hpp"
#include "emulator/named_tls.hpp"

namespace plexbutler::emulator {
namespace {

fleet_options fleet_of_one(server_options opts)
{
    fleet_options f;
    f.servers = 1;
    f.addressing = fleet_addressing::ports;
    f.server = std::move(opts);
    return f;
}

} // namespace

// A server is a fleet of one server on its own port: the same engine, sessions and router.
struct server::impl {
    explicit impl(server_options o)
        : listen_host(o.listen_host), plex_direct_hash(o.tls_plex_direct_hash), engine(fleet_of_one(std::move(o))),
          url(plex_direct_hash.empty() ? engine.url(0)
                                       : detail::plex_direct_url(listen_host, plex_direct_hash, engine.port(0)))
    {
    }
    const std::string listen_host, plex_direct_hash; // before the engine, which takes the options
    detail::engine engine;
    const std::string url;
};

server::server(server_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
server::~server() = default;
std::uint16_t server::port() const noexcept { return impl_->engine.port(0); }
std::string server::url() const { return impl_->url; }
void server::stop() { impl_->engine.stop(); }
std::uint64_t server::requests_served() const noexcept { return impl_->engine.at(0).routes.requests_served(); }
const std::string& server::json_body() const noexcept { return impl_->engine.at(0).routes.json_body(); }
const std::string& server::xml_body() const noexcept { return impl_->engine.at(0).routes.xml_body(); }

} // namespace plexbutler::emulator
