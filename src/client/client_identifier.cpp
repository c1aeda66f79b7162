#include <plexbutler/client.hpp>

#include <openssl/evp.h>

#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace plexbutler {

std::string default_client_identifier(std::string_view product)
{
    std::string seed;
    {
        std::ifstream in("/etc/machine-id");
        std::getline(in, seed);
    }
    while (!seed.empty() && (seed.back() == '\n' || seed.back() == ' ' || seed.back() == '\r'))
        seed.pop_back();
    if (seed.empty()) {
        char host[256] = {};
        if (::gethostname(host, sizeof host - 1) == 0)
            seed = host;
    }
    seed += '\n';
    seed.append(product);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(seed.data(), seed.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len < 16)
        throw std::runtime_error("SHA-256 is not available");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out.push_back('-');
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0x0f]);
    }
    return out;
}

} // namespace plexbutler
