// plexbutler pin: the pin of the server's public key, for --pinned-pubkey (trust on first use).
#include "commands.hpp"
#include "format.hpp"

#include <plexbutler/public_key_pin.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <iostream>

namespace plexbutler::cli {

int run_pin(const invocation& inv)
{
    boost::asio::io_context ioc;
    std::string pin;
    std::exception_ptr failed;
    boost::asio::co_spawn(ioc, fetch_public_key_pin(make_client_options(inv, {})),
                          [&](std::exception_ptr e, std::string p) {
                              failed = e;
                              pin = std::move(p);
                          });
    ioc.run();
    if (!failed) {
        std::cout << pin << '\n' << std::flush;
        return exit_code::success;
    }
    try {
        std::rethrow_exception(failed);
    } catch (const butler_error& err) {
        std::cerr << "error: " << escape_for_terminal(redact(err.what(), inv.token)) << '\n';
        return exit_code_for(err.code());
    } catch (const std::invalid_argument& err) { // an http:// server, an unusable URL
        std::cerr << "error: " << escape_for_terminal(redact(err.what(), inv.token)) << '\n';
        return exit_code::usage;
    } catch (const std::exception& err) {
        std::cerr << "error: " << escape_for_terminal(redact(err.what(), inv.token)) << '\n';
        return exit_code::failure;
    }
}

} // namespace plexbutler::cli
