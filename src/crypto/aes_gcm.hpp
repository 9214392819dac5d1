#pragma once
// Session mode's second cipher (docs/protocol.md, "Ciphers"): AES-256-GCM,
// about half the cost of XChaCha20-Poly1305 on CPUs with AES instructions.
// Its 96-bit nonce cannot hold a session id and a counter, so every session
// has keys of its own (derived from a direction's master key and the session
// id) and the nonce is the counter alone. The keys are derived with
// libsodium; the AEAD itself runs in OpenSSL's libcrypto, whose stitched
// AES-NI/PCLMUL code seals a 1200-byte datagram in about 0.6 µs against
// libsodium 1.0.18's 0.8 µs (docs/bench.md, "AES-GCM in OpenSSL").

#include <openssl/evp.h>

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

// The expanded key of one session and direction: an OpenSSL cipher context
// keyed once, re-armed with a nonce per datagram (no allocation then).
// OpenSSL wipes it when it is freed. Movable, not copyable.
class AesGcmKey {
public:
    // Key = crypto_kdf_derive_from_key(master, subkey id = session id,
    // context "porthgcm"). Allocates the context the first time.
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
    std::unique_ptr<EVP_CIPHER_CTX, Free> ctx_;
};

}  // namespace porthop::crypto
