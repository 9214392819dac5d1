#pragma once
// Session mode's second cipher (docs/protocol.md, "Ciphers"): AES-256-GCM,
// a fraction of the cost of XChaCha20-Poly1305 on CPUs with AES
// instructions. Its 96-bit nonce cannot hold a session id and a counter, so
// every session has keys of its own (derived from a direction's master key
// and the session id, with libsodium) and the nonce is the counter alone.
// The AEAD itself runs in libgcrypt, whose AES-NI/VAES and PCLMUL code (ARMv8
// crypto extensions on arm64) seals and opens a 1200-byte datagram in about
// half the time of libsodium 1.0.18's AES-GCM, with a small cost per call
// (docs/design.md, "Two crypto libraries").

#include <gcrypt.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>

#include "crypto/session_crypto.hpp"

namespace porthop::crypto {

// True when this CPU has AES instructions and a carry-less multiply (x86-64:
// AES-NI and PCLMUL, libsodium's test; arm64: the ARMv8 crypto extensions,
// AES and PMULL) and the environment variable PORTHOP_NO_AESGCM is unset or
// empty: the one place that reads it, so tests can play a relay without
// AES-GCM (a router CPU without them). Call after init().
bool aes_gcm_available();

// The expanded key of one session and direction: a libgcrypt cipher handle
// keyed once and re-armed with a nonce per datagram (no allocation then);
// libgcrypt wipes it when it is closed. Movable, not copyable.
class AesGcmKey {
public:
    // Key = crypto_kdf_derive_from_key(master, subkey id = session id,
    // context "porthgcm"). Opens the handle the first time; after that,
    // re-keys it in place.
    void derive(const Key& master, uint64_t session_id);

    // As Cipher::seal / Cipher::open, nonce = 4 zero bytes || counter (big
    // endian). `version` is written as the header's first byte. Only after
    // derive().
    std::span<std::byte> seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                              uint8_t version) const;
    std::optional<std::span<std::byte>> open(std::span<std::byte> datagram, const Header& h) const;

private:
    struct Close {
        void operator()(gcry_cipher_hd_t h) const { gcry_cipher_close(h); }
    };
    std::unique_ptr<std::remove_pointer_t<gcry_cipher_hd_t>, Close> hd_;
};

}  // namespace porthop::crypto
