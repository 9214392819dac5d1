#include "crypto/session_crypto.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gcrypt.h>

#include <cerrno>
#include <cstring>

namespace porthop::crypto {

namespace {

constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "porthop1";
static_assert(crypto_kdf_KEYBYTES == kKeySize);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kKeySize);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24);

void put_be64(std::byte* p, uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<std::byte>(v & 0xff);
        v >>= 8;
    }
}

uint64_t get_be64(const std::byte* p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | std::to_integer<uint64_t>(p[i]);
    return v;
}

// nonce = session id (8) || counter (8) || 8 zero bytes
std::array<unsigned char, 24> make_nonce(uint64_t session_id, uint64_t counter) {
    std::array<unsigned char, 24> n{};
    put_be64(reinterpret_cast<std::byte*>(n.data()), session_id);
    put_be64(reinterpret_cast<std::byte*>(n.data() + 8), counter);
    return n;
}

unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

}  // namespace

void init() {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    // libgcrypt (AES-256-GCM) wants its version checked before first use; no
    // secure-memory pool: its keys live in ordinary memory, as libsodium's.
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P) == 0) {
        if (gcry_check_version(GCRYPT_VERSION) == nullptr) {
            throw std::runtime_error("libgcrypt is older than the one porthop was built with: reinstall porthop");
        }
        gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
}

Key generate_key() {
    Key k;
    randombytes_buf(k.bytes.data(), k.bytes.size());
    return k;
}

std::string encode_key(const Key& key) {
    constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;
    std::array<char, sodium_base64_ENCODED_LEN(kKeySize, kVariant)> out{};
    sodium_bin2base64(out.data(), out.size(), key.bytes.data(), key.bytes.size(), kVariant);
    return std::string(out.data());
}

std::optional<Key> decode_key(std::string_view text) {
    auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    if (text.size() != sodium_base64_ENCODED_LEN(kKeySize, sodium_base64_VARIANT_ORIGINAL) - 1) return std::nullopt;
    Key k;
    size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(k.bytes.data(), k.bytes.size(), text.data(), text.size(), nullptr, &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != kKeySize || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return k;
}

Key load_key_file(const std::string& path) {
    const std::string name = "--psk-file \"" + path + "\"";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) throw KeyError(name + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw KeyError(name + ": not a regular file; give the key file made with porthop genkey");
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        ::close(fd);
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        throw KeyError(name + ": group or others may access the key (mode " + mode + "); run chmod 600 " + path);
    }
    std::array<char, 256> buf{};
    ssize_t n = ::read(fd, buf.data(), buf.size());
    ::close(fd);
    std::optional<Key> key;
    if (n > 0 && static_cast<size_t>(n) < buf.size())
        key = decode_key(std::string_view(buf.data(), static_cast<size_t>(n)));
    sodium_memzero(buf.data(), buf.size());
    if (!key) {
        throw KeyError(name + ": not a key: expected 32 bytes in base64 on one line; make one with porthop genkey");
    }
    return *key;
}

std::optional<Header> parse_header(std::span<const std::byte> datagram, uint8_t version) {
    if (datagram.size() < kOverhead || std::to_integer<uint8_t>(datagram[0]) != version) return std::nullopt;
    return Header{get_be64(datagram.data() + 1), get_be64(datagram.data() + 9), version};
}

void put_header(std::byte* at, uint8_t version, uint64_t session_id, uint64_t counter) {
    at[0] = std::byte{version};
    put_be64(at + 1, session_id);
    put_be64(at + 9, counter);
}

Key derive_key(const Key& psk, Direction direction, Purpose purpose) {
    Key key;
    uint64_t subkey = 1 + static_cast<uint64_t>(direction) + 2 * static_cast<uint64_t>(purpose);
    crypto_kdf_derive_from_key(key.bytes.data(), key.bytes.size(), subkey, kKdfContext, psk.bytes.data());
    return key;
}

Cipher::Cipher(const Key& psk, Direction direction, Purpose purpose) : key_(derive_key(psk, direction, purpose)) {}

std::span<std::byte> Cipher::seal(std::byte* payload, size_t len, uint64_t session_id, uint64_t counter,
                                  uint8_t version) const {
    std::byte* header = payload - kHeaderSize;
    put_header(header, version, session_id, counter);
    auto nonce = make_nonce(session_id, counter);
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(uc(payload), uc(payload + len), nullptr, uc(payload), len,
                                                        uc(header), kHeaderSize, nullptr, nonce.data(),
                                                        key_.bytes.data());
    return {header, len + kOverhead};
}

std::optional<std::span<std::byte>> Cipher::open(std::span<std::byte> datagram, const Header& h) const {
    if (datagram.size() < kOverhead) return std::nullopt;
    std::byte* body = datagram.data() + kHeaderSize;
    size_t len = datagram.size() - kOverhead;
    auto nonce = make_nonce(h.session_id, h.counter);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(uc(body), nullptr, uc(body), len, uc(body + len),
                                                            uc(datagram.data()), kHeaderSize, nonce.data(),
                                                            key_.bytes.data()) != 0) {
        return std::nullopt;
    }
    return std::span<std::byte>(body, len);
}

uint64_t random_session_id() {
    uint64_t id = 0;
    randombytes_buf(&id, sizeof id);
    return id;
}

}  // namespace porthop::crypto
