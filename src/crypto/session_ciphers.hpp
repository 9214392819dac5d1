#pragma once
// Session mode's two ciphers behind one interface (docs/protocol.md,
// "Ciphers"): the relays, and anything else that seals or opens a session's
// datagrams, ask "seal / open for this session" and never learn which
// cipher the session uses. XChaCha20-Poly1305 (version 1) works everywhere
// under one key per direction; AES-256-GCM (version 3) where the CPU has
// AES-NI and PCLMUL, under keys of each session's own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "crypto/aes_gcm.hpp"
#include "crypto/session_crypto.hpp"

namespace porthop::crypto {

// The version byte of a suite's datagrams.
enum class Suite : uint8_t { xchacha20 = kVersion, aes256gcm = kAesGcmVersion };

// What one session needs to seal and open: its suite and, for AES-256-GCM,
// its own expanded keys (2 x 512 bytes; sizeof(SessionKeys) is 1040).
struct SessionKeys {
    Suite suite = Suite::xchacha20;
    bool tx_ready = false;
    bool rx_ready = false;
    AesGcmKey tx;
    AesGcmKey rx;
};

// The header of a relay datagram of either suite (version 1 or 3), else
// nullopt (as parse_header).
std::optional<Header> parse_session_header(std::span<const std::byte> datagram);

// One relay's keys: the direction keys of both suites and the notice key.
class SessionCiphers {
public:
    // `tx`: the direction this relay sends (client: upstream). `aes_gcm`:
    // this relay may use AES-256-GCM (aes_gcm_available()).
    SessionCiphers(const Key& psk, Direction tx, bool aes_gcm);

    bool aes_gcm() const { return aes_gcm_; }
    // Selects AES-256-GCM for session `id`, deriving its keys (both
    // directions; only those not derived yet).
    void use_aes_gcm(SessionKeys& keys, uint64_t id) const;
    // Derives only the receiving key (a server checking the first datagram
    // of a session it does not know yet).
    void derive_rx(SessionKeys& keys, uint64_t id) const;

    // Seals in place in the session's suite (as Cipher::seal); `flags` is
    // OR-ed into the version byte (0x80 marks a fragment).
    std::span<std::byte> seal(const SessionKeys& keys, std::byte* payload, size_t len, uint64_t id, uint64_t counter,
                              uint8_t flags = 0) const {
        auto version = static_cast<uint8_t>(static_cast<uint8_t>(keys.suite) | flags);
        if (keys.suite == Suite::aes256gcm) return keys.tx.seal(payload, len, id, counter, version);
        return tx_.seal(payload, len, id, counter, version);
    }
    // Opens in place in the suite the header names (its version without the
    // 0x80 bit), whatever the session's current suite; nullopt when the tag
    // does not verify, or for AES-256-GCM when `keys` has no receiving key.
    std::optional<std::span<std::byte>> open(const SessionKeys& keys, std::span<std::byte> datagram,
                                             const Header& h) const {
        if ((h.version & 0x7f) == kAesGcmVersion) {
            if (!keys.rx_ready) return std::nullopt;
            return keys.rx.open(datagram, h);
        }
        return rx_.open(datagram, h);
    }

    // The server relay's answer to a version-3 datagram it cannot open
    // (`aes_gcm` false): a version-4 datagram for session `id` whose one
    // plaintext byte is the refused version, sealed with XChaCha20-Poly1305
    // under the notice key, counter random (the server keeps no state for
    // it). `payload` needs kHeaderSize bytes before it and kNoticePayload +
    // kTagSize after.
    static constexpr size_t kNoticePayload = 1;
    std::span<std::byte> seal_notice(std::byte* payload, uint64_t id) const;
    // The client relay's side: true when `datagram` is a valid notice for
    // session `id` that refuses version 3.
    bool is_aes_gcm_refusal(std::span<std::byte> datagram, uint64_t id) const;

private:
    bool aes_gcm_;
    Cipher tx_;
    Cipher rx_;
    Cipher notice_;
    Key aes_tx_master_;
    Key aes_rx_master_;
};

}  // namespace porthop::crypto
