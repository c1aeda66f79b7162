#include "http/public_key_pins.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

namespace plexbutler::detail {

namespace {

constexpr std::string_view pin_prefix = "sha256//";
constexpr std::size_t base64_of_32 = 44; // 4 * ceil(32 / 3)

} // namespace

std::string pin_string(const spki_sha256& key)
{
    std::array<unsigned char, base64_of_32 + 1> b64{}; // EVP_EncodeBlock writes a NUL
    const int n = EVP_EncodeBlock(b64.data(), key.data(), static_cast<int>(key.size()));
    std::string out(pin_prefix);
    out.append(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n));
    return out;
}

std::optional<spki_sha256> parse_pin(std::string_view pin)
{
    if (!pin.starts_with(pin_prefix))
        return std::nullopt;
    const std::string_view b64 = pin.substr(pin_prefix.size());
    if (b64.size() != base64_of_32)
        return std::nullopt;
    // EVP_DecodeBlock skips surrounding blanks and decodes padding as zero bytes: decode, then
    // insist that encoding the 32 bytes gives back exactly the text (canonical base64 only).
    std::array<unsigned char, 33> raw{}; // 44 characters decode to 33 bytes, the last from the padding
    if (EVP_DecodeBlock(raw.data(), reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size())) !=
        static_cast<int>(raw.size()))
        return std::nullopt;
    spki_sha256 key{};
    std::copy_n(raw.begin(), key.size(), key.begin());
    if (pin_string(key) != pin)
        return std::nullopt;
    return key;
}

std::optional<spki_sha256> spki_sha256_of(X509* cert)
{
    if (cert == nullptr)
        return std::nullopt;
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (len <= 0)
        return std::nullopt;
    const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(der,
                                                                         [](unsigned char* p) { OPENSSL_free(p); });
    spki_sha256 out{};
    unsigned int out_len = 0;
    if (EVP_Digest(der, static_cast<std::size_t>(len), out.data(), &out_len, EVP_sha256(), nullptr) != 1 ||
        out_len != out.size())
        return std::nullopt;
    return out;
}

public_key_pins::public_key_pins(const std::vector<std::string>& pins)
{
    pins_.reserve(pins.size());
    for (std::size_t i = 0; i < pins.size(); ++i) {
        const auto key = parse_pin(pins[i]);
        if (!key) {
            std::string shown = pins[i].substr(0, 80);
            for (char& ch : shown) {
                if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
                    ch = '?';
            }
            throw std::invalid_argument("client_options.pinned_public_keys[" + std::to_string(i) + "] \"" + shown +
                                        "\" is not a pin: expected sha256// followed by the base64 of a SHA-256 "
                                        "digest (44 characters ending in '=')");
        }
        if (!contains(*key))
            pins_.push_back(*key);
    }
}

bool public_key_pins::contains(const spki_sha256& key) const noexcept
{
    return std::find(pins_.begin(), pins_.end(), key) != pins_.end();
}

std::string public_key_pins::mismatch_message(const spki_sha256& found) const
{
    constexpr std::size_t shown = 3;
    std::string msg = "public key pin mismatch: the server's key is " + pin_string(found) + ", expected ";
    for (std::size_t i = 0; i < pins_.size() && i < shown; ++i) {
        if (i > 0)
            msg += " or ";
        msg += pin_string(pins_[i]);
    }
    if (pins_.size() > shown)
        msg += " or " + std::to_string(pins_.size() - shown) + " more";
    return msg;
}

pin_check check_pins_after_handshake(const public_key_pins& pins, bool resumed,
                                     const std::optional<spki_sha256>& from_certificate,
                                     const std::optional<spki_sha256>& from_session)
{
    pin_check out;
    out.key = resumed ? from_session : from_certificate;
    if (pins.empty())
        return out;
    if (!out.key) {
        out.failure = resumed ? "public key pin not checked: the resumed TLS session has no verified key"
                              : "public key pin not checked: the server's certificate key is unknown";
        return out;
    }
    if (!pins.contains(*out.key))
        out.failure = pins.mismatch_message(*out.key);
    return out;
}

} // namespace plexbutler::detail
