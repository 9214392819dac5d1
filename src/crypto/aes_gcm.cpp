#include "crypto/aes_gcm.hpp"

#include <sodium.h>

#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#include <array>
#include <cstdlib>
#include <stdexcept>
#include <string>

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

void check(gcry_error_t err, const char* what) {
    if (err != 0) throw std::runtime_error(std::string("libgcrypt: ") + what + ": " + gcry_strerror(err));
}

}  // namespace

bool aes_gcm_available() {
    const char* off = std::getenv("PORTHOP_NO_AESGCM");
    if (off != nullptr && *off != '\0') return false;
#if defined(__aarch64__)
    // ARMv8's crypto extensions, which libgcrypt uses; without them (a
    // Cortex-A72 router, say) its table-based AES is slower than XChaCha20
    // and not constant-time.
    const unsigned long hw = getauxval(AT_HWCAP);
    return (hw & HWCAP_AES) != 0 && (hw & HWCAP_PMULL) != 0;
#else
    return crypto_aead_aes256gcm_is_available() == 1;  // AES-NI and PCLMUL
#endif
}

void AesGcmKey::derive(const Key& master, uint64_t session_id) {
    if (!hd_) {
        gcry_cipher_hd_t h = nullptr;
        check(gcry_cipher_open(&h, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0), "opening AES-256-GCM");
        hd_.reset(h);
    }
    Key key;
    crypto_kdf_derive_from_key(key.bytes.data(), key.bytes.size(), session_id, kKdfContext, master.bytes.data());
    check(gcry_cipher_setkey(hd_.get(), key.bytes.data(), key.bytes.size()), "setting an AES-256-GCM key");
}

// The calls below fail only on misuse (no key, a wrong nonce or tag
// length), which the relays never do: their results are not checked on the
// hot path except the tag's. gcry_cipher_final before the one en/decrypt
// call marks it as the message's last, so GCM takes a length not a multiple
// of 16.
std::span<std::byte> AesGcmKey::seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                                     uint8_t version) const {
    std::byte* header = payload - kHeaderSize;
    put_header(header, version, session_id, counter);
    auto nonce = make_nonce(counter);
    gcry_cipher_hd_t h = hd_.get();
    gcry_cipher_setiv(h, nonce.data(), nonce.size());
    gcry_cipher_authenticate(h, header, kHeaderSize);
    gcry_cipher_final(h);
    gcry_cipher_encrypt(h, payload, len, nullptr, 0);
    gcry_cipher_gettag(h, payload + len, kTagSize);
    return {header, len + kOverhead};
}

std::optional<std::span<std::byte>> AesGcmKey::open(std::span<std::byte> datagram, const Header& h) const {
    if (datagram.size() < kOverhead || !hd_) return std::nullopt;
    std::byte* body = datagram.data() + kHeaderSize;
    size_t len = datagram.size() - kOverhead;
    auto nonce = make_nonce(h.counter);
    gcry_cipher_hd_t c = hd_.get();
    gcry_cipher_setiv(c, nonce.data(), nonce.size());
    gcry_cipher_authenticate(c, datagram.data(), kHeaderSize);
    gcry_cipher_final(c);
    // Decrypted in place before the tag is checked: on a bad tag the caller
    // drops the datagram, plaintext and all.
    gcry_cipher_decrypt(c, body, len, nullptr, 0);
    if (gcry_cipher_checktag(c, body + len, kTagSize) != 0) return std::nullopt;
    return std::span<std::byte>(body, len);
}

}  // namespace porthop::crypto
