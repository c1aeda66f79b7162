#ifndef PLEXBUTLER_TEST_SUPPORT_TLS_FILES_HPP
#define PLEXBUTLER_TEST_SUPPORT_TLS_FILES_HPP

/// @file tls_files.hpp
/// @brief Certificates as files for TLS tests: a temporary directory of PEM files, and the in-process
/// emulator serving a given certificate chain (expired, for another name, issued by an intermediate...).

#include "support/process.hpp"

#include <plexbutler/emulator/server.hpp>
#include <plexbutler/emulator/tls.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace plexbutler::test {

/// @brief A fresh temporary directory, removed with its files at scope exit.
class pem_directory {
public:
    pem_directory() : dir_(std::filesystem::temp_directory_path() / ("plexbutler-pem-" + random_hex(16)))
    {
        std::filesystem::create_directories(dir_);
    }
    ~pem_directory()
    {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    pem_directory(const pem_directory&) = delete;
    pem_directory& operator=(const pem_directory&) = delete;

    /// @brief Writes `content` to `name` in the directory; returns its path.
    std::string write(const std::string& name, const std::string& content) const
    {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
        return path.string();
    }

private:
    std::filesystem::path dir_;
};

/// @brief The in-process emulator on 127.0.0.1 presenting `leaf` followed by `chain_rest` (PEM
/// certificates the server sends after its own, e.g. an intermediate), and the files it uses.
struct certificate_server {
    certificate_server(const emulator::certificate_pair& leaf, const std::string& chain_rest = {})
        : cert_file(files.write("chain.pem", leaf.cert_pem + chain_rest)),
          key_file(files.write("key.pem", leaf.key_pem)), srv(options(cert_file, key_file))
    {
    }

    static emulator::server_options options(const std::string& cert, const std::string& key)
    {
        emulator::server_options o;
        o.tls_cert_file = cert;
        o.tls_key_file = key;
        return o;
    }

    /// @brief `https://<host>:<port>`.
    std::string url(const std::string& host = "127.0.0.1") const
    {
        return "https://" + host + ":" + std::to_string(srv.port());
    }

    pem_directory files;
    std::string cert_file;
    std::string key_file;
    emulator::server srv;
};

} // namespace plexbutler::test

#endif
