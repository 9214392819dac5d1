#pragma once
// Session mode's datagram protection (docs/protocol.md): a 17-byte header
// (version, session id, per-direction counter) authenticated as additional
// data, the payload encrypted with XChaCha20-Poly1305-IETF (libsodium) and a
// 16-byte tag after it. Sealing and opening work in place: the relays frame
// datagrams inside their receive buffers (net::kHeadroom / kTailroom), so
// nothing is copied or allocated per datagram.

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "net/direction.hpp"

namespace porthop::crypto {

// The first byte of a datagram says how it is sealed (docs/protocol.md):
// 1 relay data under XChaCha20-Poly1305, 3 relay data under AES-256-GCM
// (crypto/aes_gcm.hpp), 4 a server relay's "cipher unsupported" notice. The
// 0x80 bit is kept for fragments (a fragment of a version-1 datagram starts
// with 0x81).
inline constexpr uint8_t kVersion = 1;
inline constexpr uint8_t kAesGcmVersion = 3;
inline constexpr uint8_t kNoticeVersion = 4;
// Set in the version byte of a piece of a datagram cut to fit the MTU
// (relay/pieces.hpp): 0x81 and 0x83.
inline constexpr uint8_t kPieceFlag = 0x80;
// First byte of a probe datagram (`porthop probe`, docs/protocol.md "Probe"):
// same header layout, its own keys, never relayed.
inline constexpr uint8_t kProbeVersion = 2;
// Every version byte of relay data (1, 3, 0x81, 0x83), AND this mask, is
// kVersion, and no other version's is: the workers' steering program reads
// the session id of all of them (net/reuseport_steering.hpp).
inline constexpr uint8_t kRelayVersionMask = static_cast<uint8_t>(~(kPieceFlag | (kVersion ^ kAesGcmVersion)));
static_assert((kAesGcmVersion & kRelayVersionMask) == kVersion && (kProbeVersion & kRelayVersionMask) != kVersion &&
              (kNoticeVersion & kRelayVersionMask) != kVersion);
inline constexpr size_t kKeySize = 32;
inline constexpr size_t kHeaderSize = 1 + 8 + 8;  // version, session id, counter
inline constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
inline constexpr size_t kOverhead = kHeaderSize + kTagSize;  // 33 bytes per datagram
static_assert(kTagSize == 16);

// Calls sodium_init() (idempotent); throws std::runtime_error if libsodium
// cannot start (no entropy source).
void init();

// A 32-byte key (the pre-shared key, or a key derived from it); wiped on
// destruction.
struct Key {
    std::array<uint8_t, kKeySize> bytes{};
    Key() = default;
    Key(const Key&) = default;
    Key& operator=(const Key&) = default;
    ~Key() { sodium_memzero(bytes.data(), bytes.size()); }
};

struct KeyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A new random key (randombytes_buf).
Key generate_key();
// Standard base64 with padding, 44 characters, as `porthop genkey` prints it.
std::string encode_key(const Key& key);
// Accepts the encoding above with surrounding whitespace; nullopt otherwise.
std::optional<Key> decode_key(std::string_view text);
// Reads --psk-file: refuses a file that group or others may access, and
// anything but one base64 key. The KeyError message is the one line the user
// sees (it names the option, the file and the fix).
Key load_key_file(const std::string& path);

struct Header {
    uint64_t session_id = 0;
    uint64_t counter = 0;
    uint8_t version = kVersion;
};

// The header of a datagram, or nullopt when it is too short to hold a header
// and a tag, or of another version. Reads nothing outside `datagram`.
std::optional<Header> parse_header(std::span<const std::byte> datagram, uint8_t version = kVersion);
// Writes the kHeaderSize bytes of a header at `at`.
void put_header(std::byte* at, uint8_t version, uint64_t session_id, uint64_t counter);

using Direction = net::Direction;
// Each purpose has keys of its own, so a probe datagram never opens as relay
// traffic, a notice never as data, and the other way round. aes_gcm: the
// master keys the per-session AES-256-GCM keys are derived from.
enum class Purpose : uint8_t { relay, probe, notice, aes_gcm };

// The key of one direction and purpose, derived from the pre-shared key with
// crypto_kdf_derive_from_key (context "porthop1", subkey id 1 + direction +
// 2 * purpose: 1 upstream, 2 downstream, 3 and 4 the same for the probe, 5
// and 6 for notices, 7 and 8 for the AES-256-GCM masters).
Key derive_key(const Key& psk, Direction direction, Purpose purpose);

// XChaCha20-Poly1305 under the key of one direction and purpose.
class Cipher {
public:
    Cipher(const Key& psk, Direction direction, Purpose purpose = Purpose::relay);

    // Frames the `len` payload bytes at `payload` in place: writes the header
    // into the kHeaderSize bytes before it, encrypts the payload and writes
    // the tag into the kTagSize bytes after it. Returns the whole datagram.
    std::span<std::byte> seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                              uint8_t version = kVersion) const;

    // Verifies and decrypts `datagram` (whose header is `h`, from
    // parse_header) in place; returns the plaintext inside it, or nullopt
    // when the tag does not verify.
    std::optional<std::span<std::byte>> open(std::span<std::byte> datagram, const Header& h) const;

private:
    Key key_;
};

// Anti-replay sliding window (RFC 6479): the newest counter seen and a ring
// bitmap of the kWindow counters below it. Counters older than that are
// rejected; so is any counter seen before.
class ReplayWindow {
public:
    static constexpr uint64_t kWords = 32;
    static constexpr uint64_t kBits = kWords * 64;   // 2048
    static constexpr uint64_t kWindow = kBits - 64;  // 1984 counters below the newest

    // True when `counter` is new and inside the window (call before the
    // costly tag check; call accept() only once the tag verified).
    bool check(uint64_t counter) const {
        if (counter > top_) return true;
        if (top_ - counter >= kWindow) return false;
        return ((map_[(counter >> 6) % kWords] >> (counter & 63)) & 1) == 0;
    }
    void accept(uint64_t counter) {
        if (counter > top_) {
            uint64_t cur = top_ >> 6;
            uint64_t next = counter >> 6;
            uint64_t diff = next - cur;
            if (diff > kWords) diff = kWords;
            for (uint64_t i = 1; i <= diff; ++i) map_[(cur + i) % kWords] = 0;
            top_ = counter;
        }
        map_[(counter >> 6) % kWords] |= uint64_t{1} << (counter & 63);
    }
    uint64_t newest() const { return top_; }

private:
    uint64_t top_ = 0;
    std::array<uint64_t, kWords> map_{};
};

// A random 64-bit session id (randombytes_buf).
uint64_t random_session_id();

}  // namespace porthop::crypto
