#pragma once
// Session mode's second cipher (docs/protocol.md, "Ciphers"): AES-256-GCM
// (libsodium, AES-NI + PCLMUL), about half the cost of
// XChaCha20-Poly1305 on CPUs that have those instructions. Its 96-bit nonce
// cannot hold a session id and a counter, so every session has keys of its
// own (derived from a direction's master key and the session id) and the
// nonce is the counter alone.

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/session_crypto.hpp"

namespace porthop::crypto {

// True when this CPU runs libsodium's AES-256-GCM (it needs AES-NI and
// PCLMUL) and the environment variable PORTHOP_NO_AESGCM is unset or empty:
// the one place that reads it, so tests can play a relay without AES-GCM
// (an arm64 router or VPS). Call after init().
bool aes_gcm_available();

// The expanded key of one session and direction (libsodium's precomputed
// state, 512 bytes); wiped on destruction.
class AesGcmKey {
public:
    AesGcmKey() = default;
    AesGcmKey(const AesGcmKey&) = default;
    AesGcmKey& operator=(const AesGcmKey&) = default;
    ~AesGcmKey() { sodium_memzero(&state_, sizeof state_); }

    // Key = crypto_kdf_derive_from_key(master, subkey id = session id,
    // context "porthgcm").
    void derive(const Key& master, uint64_t session_id);

    // As Cipher::seal / Cipher::open, nonce = 4 zero bytes || counter (big
    // endian). `version` is written as the header's first byte.
    std::span<std::byte> seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                              uint8_t version) const;
    std::optional<std::span<std::byte>> open(std::span<std::byte> datagram, const Header& h) const;

private:
    crypto_aead_aes256gcm_state state_{};
};

}  // namespace porthop::crypto
