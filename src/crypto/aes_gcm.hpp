#pragma once
// Session mode's second cipher (docs/protocol.md, "Ciphers"): AES-256-GCM,
// a third of the cost of XChaCha20-Poly1305 on CPUs with AES instructions.
// Its 96-bit nonce cannot hold a session id and a counter, so every session
// has keys of its own (derived from a direction's master key and the session
// id) and the nonce is the counter alone. The keys are derived with
// libsodium. The AEAD runs in two libraries, the same AES-256-GCM on the
// wire: OpenSSL's libcrypto, whose stitched AES-NI/PCLMUL code is the faster
// from kLibcryptoFrom bytes up, and libsodium below that, where libcrypto's
// per-call cost dominates (docs/design.md, "Two crypto libraries"). On arm64
// libsodium 1.0.18 has no AES-GCM: libcrypto does every size.

#include <openssl/evp.h>
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "crypto/session_crypto.hpp"

namespace porthop::crypto {

// True when this CPU has AES instructions and a carry-less multiply (x86-64:
// AES-NI and PCLMUL, libsodium's test; arm64: the ARMv8 crypto extensions,
// AES and PMULL) and the environment variable PORTHOP_NO_AESGCM is unset or
// empty: the one place that reads it, so tests can play a relay without
// AES-GCM (a router CPU without them). Call after init().
bool aes_gcm_available();

// Payloads of this many bytes and more go through libcrypto where libsodium
// could do them too: the crossover measured on the bench machine (seal +
// open of 768 bytes about equal, 1200 bytes 1.4-1.8 µs in libcrypto against
// 1.9-2.0 in libsodium, 64 bytes 0.6-1.0 against 0.4).
inline constexpr size_t kLibcryptoFrom = 768;

// The expanded key of one session and direction: an OpenSSL cipher context
// keyed once and re-armed with a nonce per datagram (no allocation then),
// and on x86-64 libsodium's precomputed state (512 bytes) beside it. Both
// are wiped on destruction. Movable, not copyable.
class AesGcmKey {
public:
    AesGcmKey() = default;
    AesGcmKey(AesGcmKey&&) = default;
    AesGcmKey& operator=(AesGcmKey&&) = default;
    ~AesGcmKey() { sodium_memzero(&sodium_, sizeof sodium_); }

    // Key = crypto_kdf_derive_from_key(master, subkey id = session id,
    // context "porthgcm"). Allocates the OpenSSL context the first time.
    void derive(const Key& master, uint64_t session_id);

    // As Cipher::seal / Cipher::open, nonce = 4 zero bytes || counter (big
    // endian). `version` is written as the header's first byte. Only after
    // derive().
    std::span<std::byte> seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                              uint8_t version) const;
    std::optional<std::span<std::byte>> open(std::span<std::byte> datagram, const Header& h) const;

private:
    struct Free {
        void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
    };
    bool short_in_libsodium(size_t len) const { return sodium_ready_ && len < kLibcryptoFrom; }

    std::unique_ptr<EVP_CIPHER_CTX, Free> ctx_;
    crypto_aead_aes256gcm_state sodium_{};
    bool sodium_ready_ = false;
};

}  // namespace porthop::crypto
