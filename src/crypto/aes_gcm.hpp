#pragma once
// Session mode's second cipher (docs/protocol.md, "Ciphers"): AES-256-GCM,
// a fraction of the cost of XChaCha20-Poly1305 on CPUs with AES
// instructions. Its 96-bit nonce cannot hold a session id and a counter, so
// every session has keys of its own (derived from a direction's master key
// and the session id, with libsodium) and the nonce is the counter alone.
// The AEAD itself runs in libgcrypt, whose AES-NI/VAES and PCLMUL code (ARMv8
// crypto extensions on arm64) seals and opens a 1200-byte datagram in about
// half the time of libsodium 1.0.18's AES-GCM while its caches are warm; a
// datagram that comes alone, after the relay slept, goes through libsodium's,
// which then takes a quarter of libgcrypt's time (docs/design.md, "Two crypto
// libraries").

#include <gcrypt.h>
#include <sodium.h>

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

// How a datagram comes: alone (the relay woke up for it: cold caches) or in
// a burst (a batch of several, or a GRO run). It picks the implementation,
// never the bytes on the wire.
enum class Pace : bool { burst, lone };

// The expanded key of one session and direction: a libgcrypt cipher handle
// keyed once and re-armed with a nonce per datagram (no allocation then),
// and on x86-64 libsodium's expanded key beside it (512 bytes) for lone
// datagrams; both are wiped when the key goes. Movable, not copyable.
class AesGcmKey {
public:
    // Key = crypto_kdf_derive_from_key(master, subkey id = session id,
    // context "porthgcm"). Opens the handle the first time; after that,
    // re-keys it in place. `lone`: also for lone datagrams (false for a key
    // that only checks a stranger's first datagram: half the cost; its lone
    // datagrams go through libgcrypt).
    void derive(const Key& master, uint64_t session_id, bool lone = true);
    // Derived without `lone` where lone datagrams have a faster path.
    bool lacks_lone() const { return !lone_ && crypto_aead_aes256gcm_is_available() == 1; }

    // As Cipher::seal / Cipher::open, nonce = 4 zero bytes || counter (big
    // endian). `version` is written as the header's first byte. Only after
    // derive().
    std::span<std::byte> seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter, uint8_t version,
                              Pace pace = Pace::burst) const;
    std::optional<std::span<std::byte>> open(std::span<std::byte> datagram, const Header& h,
                                             Pace pace = Pace::burst) const;

private:
    // libsodium's AES-GCM reads a handful of cache lines and only 128-bit
    // registers; libgcrypt's path reads many more, and its VAES code wakes
    // the wide vector units: 4.1 us against 1.1 us to seal 64 bytes after a
    // 1 ms sleep, 0.13 against 0.19 us in a loop (docs/design.md).
    struct SodiumState {
        crypto_aead_aes256gcm_state st;
        SodiumState() = default;
        SodiumState(const SodiumState&) = delete;
        SodiumState& operator=(const SodiumState&) = delete;
        ~SodiumState() { sodium_memzero(&st, sizeof st); }
    };
    std::unique_ptr<SodiumState> lone_;  // null where libsodium has no AES-GCM (arm64)

    struct Close {
        void operator()(gcry_cipher_hd_t h) const { gcry_cipher_close(h); }
    };
    std::unique_ptr<std::remove_pointer_t<gcry_cipher_hd_t>, Close> hd_;
};

}  // namespace porthop::crypto
