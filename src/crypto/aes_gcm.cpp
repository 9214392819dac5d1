#include "crypto/aes_gcm.hpp"

#include <array>
#include <cstdlib>

namespace porthop::crypto {

namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "porthgcm";
static_assert(crypto_aead_aes256gcm_KEYBYTES == kKeySize);
static_assert(crypto_aead_aes256gcm_NPUBBYTES == 12);
static_assert(crypto_aead_aes256gcm_ABYTES == kTagSize);

// nonce = 4 zero bytes || counter (big endian): unique because the key is
// the session's own and its counter never repeats.
std::array<unsigned char, 12> make_nonce(uint64_t counter) {
    std::array<unsigned char, 12> n{};
    for (int i = 11; i >= 4; --i) {
        n[static_cast<size_t>(i)] = static_cast<unsigned char>(counter & 0xff);
        counter >>= 8;
    }
    return n;
}

unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

}  // namespace

bool aes_gcm_available() {
    const char* off = std::getenv("PORTHOP_NO_AESGCM");
    if (off != nullptr && *off != '\0') return false;
    return crypto_aead_aes256gcm_is_available() == 1;
}

void AesGcmKey::derive(const Key& master, uint64_t session_id) {
    Key key;
    crypto_kdf_derive_from_key(key.bytes.data(), key.bytes.size(), session_id, kKdfContext, master.bytes.data());
    crypto_aead_aes256gcm_beforenm(&state_, key.bytes.data());
}

std::span<std::byte> AesGcmKey::seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                                     uint8_t version) const {
    std::byte* header = payload - kHeaderSize;
    put_header(header, version, session_id, counter);
    auto nonce = make_nonce(counter);
    crypto_aead_aes256gcm_encrypt_detached_afternm(uc(payload), uc(payload + len), nullptr, uc(payload), len,
                                                   uc(header), kHeaderSize, nullptr, nonce.data(), &state_);
    return {header, len + kOverhead};
}

std::optional<std::span<std::byte>> AesGcmKey::open(std::span<std::byte> datagram, const Header& h) const {
    if (datagram.size() < kOverhead) return std::nullopt;
    std::byte* body = datagram.data() + kHeaderSize;
    size_t len = datagram.size() - kOverhead;
    auto nonce = make_nonce(h.counter);
    if (crypto_aead_aes256gcm_decrypt_detached_afternm(uc(body), nullptr, uc(body), len, uc(body + len),
                                                       uc(datagram.data()), kHeaderSize, nonce.data(), &state_) != 0) {
        return std::nullopt;
    }
    return std::span<std::byte>(body, len);
}

}  // namespace porthop::crypto
